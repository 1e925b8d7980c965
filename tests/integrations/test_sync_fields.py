"""Line item frequency caps and campaign goals (KPI and ROAS target) are synced fields: in the
create payloads, in the hash, pushed when changed here, pulled when changed on Amazon, and a
conflict when changed on both sides."""

from decimal import Decimal

import pytest

from campaigns.choices import GoalKpi
from campaigns.models import Campaign, LineItem
from integrations.models import SyncConflict, SyncDirection, SyncScope, SyncStatus
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    dsp_client,
    dsp_connection,
    ref_of,
    remote_ad_groups,
    sync,
)

pytestmark = pytest.mark.django_db
PULL = SyncDirection.PULL


def _group(client, line_item) -> dict:
    return next(g for g in remote_ad_groups(client) if g["externalId"] == f"adops-lineitem-{line_item.pk}")


def _campaign(client, campaign) -> dict:
    return next(c for c in client.iter_campaigns() if c["externalId"] == f"adops-campaign-{campaign.pk}")


def _cap(line_item, impressions, period, unit):
    LineItem.objects.filter(pk=line_item.pk).update(frequency_cap_impressions=impressions,
                                                    frequency_cap_period=period, frequency_cap_unit=unit)


def test_a_frequency_cap_goes_out_with_the_create(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=2)
    _cap(items[0], 3, 1, "days")

    sync(advertiser, client=dsp_client)

    assert _group(dsp_client, items[0])["frequencies"] == [
        {"frequencyType": "CUSTOM", "maxImpressions": 3, "timeUnitCount": 1, "timeUnit": "DAYS"}]
    assert _group(dsp_client, items[1])["frequencies"] == [{"frequencyType": "UNCAPPED"}]


def test_a_changed_cap_is_patched_and_removing_it_uncaps(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)

    _cap(items[0], 5, 12, "hours")
    capped = sync(advertiser, client=dsp_client)
    after_cap = _group(dsp_client, items[0])["frequencies"]
    _cap(items[0], None, None, "")
    uncapped = sync(advertiser, client=dsp_client)

    assert (capped.updated, capped.stats["requests"]) == (1, {"api": 2})
    assert after_cap == [{"frequencyType": "CUSTOM", "maxImpressions": 5, "timeUnitCount": 12, "timeUnit": "HOURS"}]
    assert uncapped.updated == 1
    assert _group(dsp_client, items[0])["frequencies"] == [{"frequencyType": "UNCAPPED"}]


def test_a_cap_amazon_refuses_fails_that_line_item_alone(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=2)
    _cap(items[1], 501, 1, "days")  # DSP ad groups take at most 500 impressions per period

    run = sync(advertiser, client=dsp_client)

    assert (run.created, run.failed) == (2, 1)
    assert run.errors[0]["object"] == f"lineitem:{items[1].pk}"
    assert run.errors[0]["code"] == "FIELD_VALUE_IS_OUT_OF_RANGE"


def test_a_cap_set_on_amazon_is_pulled_here(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "frequencies": [
        {"frequencyType": "CUSTOM", "maxImpressions": 4, "timeUnitCount": 2, "timeUnit": "DAYS"}]}])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    items[0].refresh_from_db()
    assert (run.status, run.updated) == (SyncStatus.SUCCEEDED, 1)
    assert (items[0].frequency_cap_impressions, items[0].frequency_cap_period, items[0].frequency_cap_unit) == (
        4, 2, "days")
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}


def test_a_cap_changed_on_both_sides_is_a_conflict(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1)
    sync(advertiser, client=dsp_client)
    _cap(items[0], 2, 1, "days")
    dsp_client.update_ad_groups([{"adGroupId": ref_of(items[0]).external_id, "frequencies": [
        {"frequencyType": "CUSTOM", "maxImpressions": 9, "timeUnitCount": 1, "timeUnit": "DAYS"}]}])

    run = sync(advertiser, client=dsp_client)

    conflict = SyncConflict.objects.get()
    assert (run.conflicts, conflict.field) == (1, "frequencyCap")
    assert (conflict.base_value, conflict.our_value, conflict.their_value) == ("UNCAPPED", "2/1/DAYS", "9/1/DAYS")
    assert _group(dsp_client, items[0])["frequencies"][0]["maxImpressions"] == 9


def test_the_campaign_goal_and_roas_target_go_out_with_the_create(fake_dsp, dsp_connection, dsp_client, advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    Campaign.objects.filter(pk=campaign.pk).update(goal_kpi=GoalKpi.ROAS, target_roas=Decimal("350"))

    sync(advertiser, client=dsp_client)

    remote = _campaign(dsp_client, campaign)
    assert remote["optimization"]["goalSetting"] == {"kpi": "RETURN_ON_AD_SPEND", "targetKpi": 3.5}
    assert remote["goal"] == "CONVERSIONS"


def test_a_new_goal_is_patched_and_amazon_keeps_the_rest_of_the_optimization(fake_dsp, dsp_connection, dsp_client,
                                                                              advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    Campaign.objects.filter(pk=campaign.pk).update(target_roas=Decimal("250"))
    sync(advertiser, client=dsp_client)
    Campaign.objects.filter(pk=campaign.pk).update(goal_kpi=GoalKpi.CTR)

    run = sync(advertiser, client=dsp_client)

    remote = _campaign(dsp_client, campaign)
    assert run.updated == 1
    assert remote["optimization"] == {"bidStrategy": "SPEND_BUDGET_IN_FULL",
                                      "goalSetting": {"kpi": "CLICK_THROUGH_RATE", "targetKpi": None}}
    assert remote["goal"] == "CONSIDERATION"


def test_a_roas_target_changed_on_amazon_is_pulled_as_a_percent(fake_dsp, dsp_connection, dsp_client, advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    Campaign.objects.filter(pk=campaign.pk).update(target_roas=Decimal("300"))
    sync(advertiser, client=dsp_client)
    dsp_client.update_campaigns([{"campaignId": ref_of(campaign).external_id, "optimization": {
        "goalSetting": {"kpi": "RETURN_ON_AD_SPEND", "targetKpi": 4.25}}}])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    campaign.refresh_from_db()
    assert (run.status, run.updated, campaign.target_roas) == (SyncStatus.SUCCEEDED, 1, Decimal("425"))
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}


def test_a_kpi_we_have_no_word_for_is_reported_not_applied(fake_dsp, dsp_connection, dsp_client, advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    sync(advertiser, client=dsp_client)
    dsp_client.update_campaigns([{"campaignId": ref_of(campaign).external_id, "optimization": {
        "goalSetting": {"kpi": "COST_PER_INSTALL"}}}])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    campaign.refresh_from_db()
    assert campaign.goal_kpi == GoalKpi.ROAS
    assert [e["code"] for e in run.errors] == ["NOT_APPLIED_HERE"]
    assert "COST_PER_INSTALL" in run.errors[0]["message"]


def test_a_goal_changed_on_both_sides_is_a_conflict_and_neither_is_written(fake_dsp, dsp_connection, dsp_client,
                                                                          advertiser):
    campaign = build_tree(advertiser, line_items=1)[0].campaign
    sync(advertiser, client=dsp_client)
    Campaign.objects.filter(pk=campaign.pk).update(goal_kpi=GoalKpi.CPC)
    dsp_client.update_campaigns([{"campaignId": ref_of(campaign).external_id, "optimization": {
        "goalSetting": {"kpi": "REACH"}}}])

    run = sync(advertiser, PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    conflict = SyncConflict.objects.get()
    assert (run.conflicts, conflict.field, conflict.our_value, conflict.their_value) == (
        1, "goalKpi", "COST_PER_CLICK", "REACH")
    campaign.refresh_from_db()
    assert campaign.goal_kpi == GoalKpi.CPC
    assert _campaign(dsp_client, campaign)["optimization"]["goalSetting"]["kpi"] == "REACH"


def test_refs_synced_before_these_fields_existed_settle_with_one_read(fake_dsp, dsp_connection, dsp_client,
                                                                      advertiser):
    items = build_tree(advertiser, line_items=3)
    sync(advertiser, client=dsp_client)
    for ref in [ref_of(items[0].campaign)] + [ref_of(li) for li in items]:  # as an older version stored them
        for name in ("frequencyCap", "goalKpi", "targetKpi"):
            ref.synced_values.pop(name, None)
        ref.synced_hash = "older"
        ref.save()

    first = sync(advertiser, client=dsp_client)
    second = sync(advertiser, client=dsp_client)

    assert (first.updated, first.conflicts, first.unchanged) == (0, 0, 4)
    assert first.stats["requests"] == {"api": 2}  # one campaign list, one ad group list: no write
    assert second.stats["requests"] == {}
