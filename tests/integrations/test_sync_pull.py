"""Pull from the fake DSP: Amazon-side edits and statuses come back, conflicts stop both sides,
report rows land in DailyPerformance once."""

from decimal import Decimal

import pytest

from campaigns.models import ChangeRecord, LineItem
from integrations.models import ConflictResolution, SyncConflict, SyncDirection, SyncScope, SyncStatus
from integrations.sync import sync_conflict_resolve
from reporting.models import DailyPerformance
from tests.integrations.payloads import ad_group_payload
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    dsp_client,
    dsp_connection,
    fake_state,
    ref_of,
    remote_ad_groups,
    sync,
)

pytestmark = pytest.mark.django_db
PULL = SyncDirection.PULL


def _remote(client, line_item) -> dict:
    return next(g for g in remote_ad_groups(client) if g["externalId"] == f"adops-lineitem-{line_item.pk}")


def test_an_edit_made_on_amazon_is_pulled_here_with_history(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=2)
    sync(advertiser, client=dsp_client)
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 2.2},
                                  "state": "INACTIVE"}])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    items[0].refresh_from_db()
    assert (run.status, run.updated, run.conflicts) == (SyncStatus.SUCCEEDED, 1, 0)
    assert (items[0].default_bid, items[0].status) == (Decimal("2.20"), "paused")
    record = ChangeRecord.objects.get(object_type="lineitem", object_id=items[0].pk, field="default_bid")
    assert (record.old_value, record.new_value, record.source) == ("1.25", "2.20", "sync")
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}  # nothing left to push back


def test_delivery_status_is_recorded_on_the_reference(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)

    sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    assert ref_of(items[0]).delivery_status == "DELIVERING"
    assert ref_of(items[0].campaign).remote_values["state"] == "ACTIVE"


def test_a_pull_walks_every_page(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=250)
    sync(advertiser, client=dsp_client)

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    assert (run.status, run.unchanged) == (SyncStatus.SUCCEEDED, 251)
    pages = fake_state(fake_dsp)["requests"]["by_route"]["POST /dsp/v1/adGroups/list"]["count"]
    assert pages == 3  # 100 + 100 + 50


def test_a_field_changed_on_both_sides_is_a_conflict_and_neither_side_is_written(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.10"))
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 3.3}}])

    pulled = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)
    pushed = sync(advertiser, client=dsp_client)

    conflict = SyncConflict.objects.get()
    assert (conflict.field, conflict.base_value, conflict.our_value, conflict.their_value) == ("bid", "1.25", "1.10",
                                                                                              "3.30")
    assert (pulled.conflicts, pushed.conflicts, pushed.updated) == (1, 1, 0)
    items[0].refresh_from_db()
    assert items[0].default_bid == Decimal("1.10")
    assert _remote(dsp_client, items[0])["bid"]["baseBid"] == 3.3


def test_only_the_conflicting_field_is_held_back(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.10"), name="New name here")
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 3.3}}])

    run = sync(advertiser, client=dsp_client)

    remote = _remote(dsp_client, items[0])
    assert (run.updated, run.conflicts) == (1, 1)
    assert (remote["name"], remote["bid"]["baseBid"]) == ("New name here", 3.3)


@pytest.mark.parametrize("resolution, expected",
                         [(ConflictResolution.OURS, "1.10"), (ConflictResolution.THEIRS, "3.30")])
def test_the_chosen_side_wins_everywhere(fake_dsp, dsp_connection, dsp_client, advertiser, superuser, resolution,
                                         expected):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.10"))
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "bid": {"baseBid": 3.3}}])
    sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    sync_conflict_resolve(conflict=SyncConflict.objects.get(), resolution=resolution, by=superuser,
                          client=dsp_client)

    items[0].refresh_from_db()
    assert items[0].default_bid == Decimal(expected)
    assert _remote(dsp_client, items[0])["bid"]["baseBid"] == float(expected)
    conflict = SyncConflict.objects.get()
    assert (conflict.resolution, conflict.resolved_by) == (resolution, superuser)
    again = sync(advertiser, client=dsp_client)
    assert (again.conflicts, again.stats["requests"]) == (0, {})


def test_an_object_carrying_our_id_without_a_reference_is_adopted(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    extra = LineItem.objects.create(campaign=items[0].campaign, name="Made while we were blind", format="display",
                                    default_bid=Decimal("1.00"))
    campaign_id = ref_of(items[0].campaign).external_id
    dsp_client.create_ad_groups([ad_group_payload(campaign_id, name="Made while we were blind",
                                                  externalId=f"adops-lineitem-{extra.pk}")])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    assert run.stats["pull"]["adopted"] == 1
    assert ref_of(extra).external_id is not None
    sync(advertiser, client=dsp_client)
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 2


def test_report_rows_land_in_daily_performance_and_a_repull_changes_nothing(
        fake_dsp, dsp_connection, dsp_client, advertiser, settings):
    settings.SYNC_REPORT_DAYS = 3
    items = build_tree(advertiser, line_items=4)
    sync(advertiser, client=dsp_client)

    first = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.PERFORMANCE)
    rows = DailyPerformance.objects.count()
    second = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.PERFORMANCE)

    assert first.status == SyncStatus.SUCCEEDED, first.error
    assert rows >= 4 * 2 and first.created == rows  # today may still be tomorrow in UTC
    assert (second.created, second.updated, second.unchanged) == (0, 0, rows)
    assert DailyPerformance.objects.count() == rows
    day = DailyPerformance.objects.filter(line_item=items[0]).order_by("date").first()
    assert day.source == "amazon" and day.impressions > 0 and day.spend > 0
    assert day.viewable_impressions <= day.measurable_impressions <= day.impressions


def test_keywords_and_product_targets_come_back_from_one_target_listing(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=2, targets=True)
    sync(advertiser, client=dsp_client)

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    assert (run.status, run.unchanged, run.updated, run.errors) == (SyncStatus.SUCCEEDED, 1 + 2 + 4, 0, [])
    assert fake_state(fake_dsp)["requests"]["by_route"]["POST /dsp/v1/targets/list"]["count"] == 1
