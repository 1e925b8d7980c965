"""The console's tenancy pages: advertisers, memberships, and the budget/bid history list."""

import pytest

from campaigns.choices import Role
from campaigns.models import Advertiser, ChangeRecord, Membership
from tests.campaigns.factories import CampaignFactory, UserFactory
from tests.campaigns.test_admin import form_data, messages_of, staff_login, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client):
    return staff_login(client)


@pytest.fixture
def their_member(other_advertiser, make_member):
    return make_member(other_advertiser, Role.TRADER, username="rita-rival")


def test_a_manager_lists_only_the_memberships_of_advertisers_they_manage(
    console, manager, trader, their_member, advertiser, other_advertiser
):
    client = console(manager)
    listed = client.get(url("membership")).context["cl"].result_list
    assert {m.user.username for m in listed} == {"maria-manager", "tina-trader"}
    theirs = Membership.objects.get(user=their_member)
    response = client.get(url("membership", "change", theirs.pk), follow=True)
    assert any("doesn’t exist" in m for m in messages_of(response))


@pytest.mark.parametrize("role_fixture", ["trader", "viewer"])
def test_traders_and_viewers_do_not_see_memberships(console, request, role_fixture):
    client = console(request.getfixturevalue(role_fixture))
    assert client.get(url("membership")).status_code == 403
    assert "Memberships" not in client.get("/admin/").content.decode()


def test_a_manager_adds_a_membership_only_to_an_advertiser_they_manage(console, manager, advertiser, other_advertiser):
    Membership.objects.create(user=manager, advertiser=other_advertiser, role=Role.TRADER)
    newcomer = UserFactory(username="nina-new")
    client = console(manager)
    form = client.get(url("membership", "add")).context["adminform"].form
    assert list(form.fields["advertiser"].queryset) == [advertiser]
    refused = client.post(
        url("membership", "add"), {"advertiser": other_advertiser.pk, "user": newcomer.pk, "role": "viewer"}
    )
    assert refused.status_code == 200 and "advertiser" in refused.context["adminform"].form.errors
    added = client.post(url("membership", "add"), {"advertiser": advertiser.pk, "user": newcomer.pk, "role": "viewer"})
    assert added.status_code == 302
    assert Membership.objects.get(user=newcomer).advertiser == advertiser


def test_a_manager_changes_others_memberships_but_not_their_own(console, manager, trader):
    client = console(manager)
    theirs = Membership.objects.get(user=trader)
    assert client.post(url("membership", "change", theirs.pk), {"role": "manager"}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.role == Role.MANAGER
    own = Membership.objects.get(user=manager)
    assert 'name="_save"' not in client.get(url("membership", "change", own.pk)).content.decode()
    assert client.post(url("membership", "change", own.pk), {"role": "viewer"}).status_code == 403
    assert client.post(url("membership", "delete", own.pk), {"post": "yes"}).status_code == 403
    own.refresh_from_db()
    assert own.role == Role.MANAGER


def test_a_manager_edits_memberships_on_the_advertiser_page_with_its_fields_read_only(
    console, manager, trader, advertiser
):
    client = console(manager)
    page = client.get(url("advertiser", "change", advertiser.pk))
    assert 'name="name"' not in page.content.decode()  # the advertiser itself: superusers only
    data = form_data(page)
    rows = {data[f"memberships-{i}-user"]: i for i in range(int(data["memberships-TOTAL_FORMS"]))}
    data[f"memberships-{rows[str(trader.pk)]}-role"] = "viewer"
    data[f"memberships-{rows[str(manager.pk)]}-role"] = "viewer"  # their own: left as it was
    response = client.post(url("advertiser", "change", advertiser.pk), data, follow=True)
    assert "Your own membership was left as it was." in messages_of(response)
    assert Membership.objects.get(user=trader).role == Role.VIEWER
    assert Membership.objects.get(user=manager).role == Role.MANAGER


def test_traders_see_their_advertiser_read_only_and_cannot_add_one(console, trader, advertiser):
    client = console(trader)
    page = client.get(url("advertiser", "change", advertiser.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "memberships-TOTAL_FORMS" not in page.content.decode()  # memberships are managers' business
    assert client.get(url("advertiser", "add")).status_code == 403


def test_superusers_create_advertisers_and_see_every_tenant(admin_client_logged_in, advertiser, other_advertiser):
    response = admin_client_logged_in.post(
        url("advertiser", "add"),
        {"name": "New Brand", "currency": "EUR", "country": "DE", "timezone": "Europe/Berlin",
         "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302
    assert Advertiser.objects.filter(name="New Brand").exists()
    CampaignFactory(advertiser=other_advertiser, name="Rival spring")
    assert "Rival spring" in admin_client_logged_in.get(url("campaign")).content.decode()


def test_the_history_list_is_read_only_for_everyone(admin_client_logged_in, advertiser):
    record = ChangeRecord.objects.create(
        advertiser=advertiser, object_type="campaign", object_id=1, field="daily_budget",
        old_value="10.00", new_value="20.00",
    )
    listing = admin_client_logged_in.get(url("changerecord")).content.decode()
    assert url("changerecord", "add") not in listing
    page = admin_client_logged_in.get(url("changerecord", "change", record.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client_logged_in.get(url("changerecord", "add")).status_code == 403


def test_the_history_list_filters_by_object(console, trader, advertiser):
    for object_id in (1, 2):
        ChangeRecord.objects.create(advertiser=advertiser, object_type="keyword", object_id=object_id, field="bid")
    page = console(trader).get(url("changerecord"), {"object_type": "keyword", "object_id": "2"})
    assert [r.object_id for r in page.context["cl"].result_list] == [2]


def test_an_advertisers_currency_and_marketplace_are_fixed_once_it_has_campaigns(admin_client_logged_in, advertiser):
    form = admin_client_logged_in.get(url("advertiser", "change", advertiser.pk)).context["adminform"].form
    assert "currency" in form.fields
    CampaignFactory(advertiser=advertiser)
    form = admin_client_logged_in.get(url("advertiser", "change", advertiser.pk)).context["adminform"].form
    assert "currency" not in form.fields and "country" not in form.fields and "name" in form.fields
