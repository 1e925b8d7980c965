"""Push to the fake DSP over HTTP: creates once, updates what changed, survives faults."""

from decimal import Decimal

import pytest

from campaigns.choices import CampaignStatus, LineItemFormat
from campaigns.models import Campaign, LineItem
from integrations.models import ExternalRef, SyncStatus
from tests.integrations.payloads import ad_group_payload, campaign_payload
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    clear_faults,
    dsp_client,
    dsp_connection,
    fake_state,
    ref_of,
    remote_ad_groups,
    set_faults,
    sync,
)

pytestmark = pytest.mark.django_db


def test_a_push_creates_the_tree_once_and_activates_what_is_enabled(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=3, targets=True)

    run = sync(advertiser, client=dsp_client)

    assert (run.status, run.created, run.failed, run.progress_done) == (SyncStatus.SUCCEEDED, 1 + 3 + 6, 0, 10)
    entities = fake_state(fake_dsp)["entities"]
    assert (entities["campaigns"], entities["adGroups"], entities["targets"]) == (1, 3, 6)
    remote = {g["externalId"]: g for g in remote_ad_groups(dsp_client)}
    assert {g["state"] for g in remote.values()} == {"ACTIVE"}
    assert remote[f"adops-lineitem-{items[0].pk}"]["bid"] == {"baseBid": 1.25}
    assert ref_of(items[0]).external_id == remote[f"adops-lineitem-{items[0].pk}"]["adGroupId"]
    assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()


def test_the_requests_are_the_minimum_the_batch_limits_allow(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=250)

    run = sync(advertiser, client=dsp_client)

    # 1 token; campaign: 1 create + 1 activation; 250 ad groups: 3 creates + 3 activations.
    assert run.stats["requests"]["api"] == 8
    assert run.stats["requests"]["token"] == 1
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 250


def test_a_second_push_with_nothing_changed_sends_no_request(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=5)
    sync(advertiser, client=dsp_client)

    again = sync(advertiser, client=dsp_client)

    assert (again.status, again.created, again.updated, again.unchanged) == (SyncStatus.SUCCEEDED, 0, 0, 6)
    assert again.stats["requests"] == {}


def test_a_changed_line_item_is_read_back_and_patched(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=3)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[1].pk).update(default_bid=Decimal("2.40"), name="Renamed")

    run = sync(advertiser, client=dsp_client)

    assert (run.updated, run.unchanged) == (1, 3)
    assert run.stats["requests"] == {"api": 2}  # one list to check Amazon's side, one PATCH
    remote = next(g for g in remote_ad_groups(dsp_client) if g["externalId"] == f"adops-lineitem-{items[1].pk}")
    assert (remote["name"], remote["bid"]["baseBid"]) == ("Renamed", 2.4)


def test_drafts_and_sponsored_products_are_not_pushed(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=2, status=CampaignStatus.DRAFT)
    live = build_tree(advertiser, line_items=2)
    LineItem.objects.filter(pk=live[0].pk).update(format=LineItemFormat.SPONSORED_PRODUCTS)

    run = sync(advertiser, client=dsp_client)

    assert run.created == 2  # the live campaign and its one display line item
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 1


def test_1000_objects_under_10_percent_random_429_and_5xx_end_as_exactly_1000(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, campaigns=4, line_items=1000)
    set_faults(fake_dsp, [
        # Lost answers: the create happened, the client sees a 5xx or a dropped connection.
        {"route": "POST /dsp/v1/adGroups", "rate": 0.1, "status": [500, 504], "phase": "after"},
        {"route": "POST /dsp/v1/adGroups", "rate": 0.05, "drop": True, "phase": "after"},
        {"route": "/dsp/v1/*", "rate": 0.10, "status": [429, 429, 500, 502, 503, 504], "retry_after": 1,
         "retry_after_rate": 0.5},
        {"route": "/dsp/v1/*", "rate": 0.3, "partial": 0.1},
    ])

    run = sync(advertiser, client=dsp_client)

    state = fake_state(fake_dsp)
    assert run.status == SyncStatus.SUCCEEDED, run.error or run.errors[:3]
    assert sum(state["faults"]["fired"].values()) >= 3
    assert state["entities"]["adGroups"] == 1000
    assert state["entities"]["campaigns"] == 4
    groups = remote_ad_groups(dsp_client)
    assert len({g["externalId"] for g in groups}) == 1000
    assert {g["state"] for g in groups} == {"ACTIVE"}
    assert ExternalRef.objects.filter(external_id__isnull=False).count() == 1004


def test_a_run_stopped_after_three_batches_then_run_again_creates_nothing_twice(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=1000)
    stopped = []

    def stop_amazon_after_three_batches(run):
        if run.progress_done >= 1 + 300 and not stopped:  # the campaign, then 3 ad group batches
            # From now on every request takes effect but its answer is lost, like a worker dying.
            set_faults(fake_dsp, [{"route": "*", "drop": True, "phase": "after"}])
            stopped.append(run.progress_done)

    first = sync(advertiser, client=dsp_client, on_progress=stop_amazon_after_three_batches)
    assert first.status == SyncStatus.FAILED
    assert ExternalRef.objects.filter(pending_since__isnull=False).exists()
    created_while_blind = fake_state(fake_dsp)["entities"]["adGroups"]
    clear_faults(fake_dsp)

    second = sync(advertiser, client=dsp_client)

    assert second.status == SyncStatus.SUCCEEDED, second.error
    assert 300 < created_while_blind < 1000
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 1000
    assert len({g["externalId"] for g in remote_ad_groups(dsp_client)}) == 1000
    assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()


def test_a_create_in_doubt_from_a_dead_worker_is_adopted_not_repeated(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=2)
    sync(advertiser, client=dsp_client)
    extra = LineItem.objects.create(campaign=items[0].campaign, name="Late", format=LineItemFormat.DISPLAY,
                                    default_bid=Decimal("1.00"))
    # The dead worker's trace: the journal says "sent", Amazon has it, nobody recorded the answer.
    campaign_id = ref_of(items[0].campaign).external_id
    dsp_client.create_ad_groups([ad_group_payload(campaign_id, name="Late", externalId=f"adops-lineitem-{extra.pk}")])
    from django.utils import timezone

    from integrations.sync.merge import content_type
    from integrations.sync.mapping import LINE_ITEM

    ExternalRef.objects.create(content_type=content_type(LINE_ITEM), object_id=extra.pk, advertiser=advertiser,
                               pending_since=timezone.now())

    run = sync(advertiser, client=dsp_client)

    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 1)
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 3
    assert ref_of(extra).pending_since is None
    late = next(g for g in remote_ad_groups(dsp_client) if g["name"] == "Late")
    assert (late["state"], late["bid"]["baseBid"]) == ("ACTIVE", 1.0)


def test_a_create_in_doubt_without_our_external_id_is_found_by_name(fake_dsp, dsp_connection, dsp_client, advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    Campaign.objects.filter(pk=campaign.pk).update(name="Only one like me")
    dsp_client.create_campaigns([campaign_payload(name="Only one like me")])
    from django.utils import timezone

    from integrations.sync.merge import content_type
    from integrations.sync.mapping import CAMPAIGN

    ExternalRef.objects.create(content_type=content_type(CAMPAIGN), object_id=campaign.pk, advertiser=advertiser,
                               pending_since=timezone.now())

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED
    assert fake_state(fake_dsp)["entities"]["campaigns"] == 1


def test_a_refused_object_fails_alone_and_leaves_no_journal_entry(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=3)
    LineItem.objects.filter(pk=items[2].pk).update(default_bid=Decimal("45.00"))  # above DSP display's 39.99

    run = sync(advertiser, client=dsp_client)

    assert (run.status, run.created, run.failed) == (SyncStatus.FAILED, 3, 1)
    assert run.errors[0]["object"] == f"lineitem:{items[2].pk}"
    assert run.errors[0]["code"] == "FIELD_VALUE_IS_OUT_OF_RANGE"
    assert not ExternalRef.objects.filter(object_id=items[2].pk, content_type__model="lineitem").exists()


def test_a_dry_run_counts_what_would_happen_and_writes_nothing(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=4, targets=True)

    run = sync(advertiser, client=dsp_client, dry_run=True)

    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 1 + 4 + 8)
    assert fake_state(fake_dsp)["entities"]["campaigns"] == 0
    assert not ExternalRef.objects.exists()


def test_a_changed_target_is_reported_as_not_updatable(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    items[0].keywords.update(text="changed words")

    run = sync(advertiser, client=dsp_client)

    assert [e["code"] for e in run.errors] == ["NOT_UPDATABLE"]
    assert fake_state(fake_dsp)["entities"]["targets"] == 2
