"""The operator's side of the sync: `manage.py sync_dsp` and the admin pages and actions."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from campaigns.models import LineItem
from integrations.models import AmazonAdvertiserLink, SyncConflict, SyncRun, SyncScope, SyncStatus
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    dsp_client,
    dsp_connection,
    fake_state,
    ref_of,
    sync,
)

pytestmark = pytest.mark.django_db


def test_sync_dsp_pushes_with_progress_and_a_summary(fake_dsp, dsp_connection, advertiser):
    build_tree(advertiser, line_items=120)
    out = StringIO()

    call_command("sync_dsp", "--advertiser", advertiser.name, "--direction", "push", stdout=out)

    text = out.getvalue()
    assert "progress 121/121" in text
    assert "succeeded" in text and "created 121" in text
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 120


def test_sync_dsp_dry_run_writes_nothing(fake_dsp, dsp_connection, advertiser):
    build_tree(advertiser, line_items=3)
    out = StringIO()

    call_command("sync_dsp", "--advertiser", str(advertiser.pk), "--direction", "push", "--dry-run", stdout=out)

    assert "(dry run) succeeded" in out.getvalue()
    assert fake_state(fake_dsp)["entities"]["campaigns"] == 0


def test_sync_dsp_exits_non_zero_when_the_run_fails(fake_dsp, dsp_connection, advertiser):
    build_tree(advertiser, line_items=1)
    AmazonAdvertiserLink.objects.filter(connection=dsp_connection).update(dsp_advertiser_id="")

    with pytest.raises(CommandError, match="no DSP advertiser id"):
        call_command("sync_dsp", "--advertiser", str(advertiser.pk), "--direction", "pull", stdout=StringIO())

    assert SyncRun.objects.get().status == SyncStatus.FAILED


def test_sync_dsp_refuses_an_unknown_advertiser(db):
    with pytest.raises(CommandError, match="No advertiser"):
        call_command("sync_dsp", "--advertiser", "nobody", "--direction", "push", stdout=StringIO())


def test_the_console_shows_a_conflict_with_both_values_and_theirs_wins_applies_it(
        fake_dsp, dsp_connection, dsp_client, advertiser, admin_client_logged_in):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.10"))
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 3.3}}])
    sync(advertiser, "pull", client=dsp_client, scope=SyncScope.ENTITIES)
    conflict = SyncConflict.objects.get()
    url = reverse("admin:integrations_syncconflict_changelist")

    page = admin_client_logged_in.get(url).content.decode()
    response = admin_client_logged_in.post(url, {"action": "theirs_wins", "_selected_action": [conflict.pk]},
                                           follow=True)

    assert "1.10" in page and "3.30" in page and "Ours wins" in page and "Theirs wins" in page
    assert "Resolved 1 conflict(s)" in response.content.decode()
    items[0].refresh_from_db()
    assert items[0].default_bid == Decimal("3.30")


def test_ours_wins_from_the_console_sends_our_value(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                    admin_client_logged_in):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(name="Ours")
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "name": "Theirs"}])
    sync(advertiser, "pull", client=dsp_client, scope=SyncScope.ENTITIES)
    conflict = SyncConflict.objects.get()

    admin_client_logged_in.post(reverse("admin:integrations_syncconflict_changelist"),
                                {"action": "ours_wins", "_selected_action": [conflict.pk]})

    remote = next(g for g in dsp_client.iter_ad_groups() if g["adGroupId"] == ref_of(items[0]).external_id)
    assert remote["name"] == "Ours"
    assert SyncConflict.objects.get().resolution == "ours"


def test_a_trader_cannot_resolve_another_advertisers_conflict(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                              client, make_member, other_advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.10"))
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 3.3}}])
    sync(advertiser, "pull", client=dsp_client, scope=SyncScope.ENTITIES)
    outsider = make_member(other_advertiser, "manager")
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)

    page = client.get(reverse("admin:integrations_syncconflict_changelist"))

    assert page.status_code == 200
    assert "3.30" not in page.content.decode()  # another tenant's conflict is not even listed


def test_the_console_pages_render_and_push_now_queues_a_run(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                             admin_client_logged_in):
    build_tree(advertiser, line_items=2)
    sync(advertiser, client=dsp_client)
    for name in ("syncrun", "externalref", "amazonsyncadvertiser", "syncconflict", "competitorsource",
                 "competitorproduct", "competitorprice"):
        assert admin_client_logged_in.get(reverse(f"admin:integrations_{name}_changelist")).status_code == 200, name
    run = SyncRun.objects.get()
    assert admin_client_logged_in.get(reverse("admin:integrations_syncrun_change", args=[run.pk])).status_code == 200

    response = admin_client_logged_in.post(reverse("admin:integrations_amazonsyncadvertiser_changelist"),
                                           {"action": "push_now", "_selected_action": [advertiser.pk]}, follow=True)

    assert "Queued 1 push run(s)" in response.content.decode()
    assert SyncRun.objects.filter(status=SyncStatus.QUEUED, trigger="admin").count() == 1
