"""What the fake DSP refuses, over real HTTP on loopback: campaign goals, frequency caps of the
wrong shape or type, target deletes that do not name one target, target bids out of range; and
the refusals of the `run_fake_dsp` command."""

import pytest
from django.core.management import CommandError, call_command

from integrations.models import AmazonConnection
from tests.integrations.payloads import ad_group_payload, campaign_payload

AUDIENCE = {"audienceTarget": {"audienceId": "123", "groupId": "1", "targetType": "AUDIENCE"}}


def _refusals(result) -> dict[int, tuple[str, str | None]]:
    return {e["index"]: (e["errorCode"], e.get("fieldLocation")) for e in result.error}


@pytest.fixture
def ad_group_id(amazon, campaign_id):
    return amazon.create_ad_groups([ad_group_payload(campaign_id)]).ids("adGroupId")[0]


@pytest.fixture
def target_id(amazon, ad_group_id):
    return amazon.create_targets([{"adGroupId": ad_group_id, "adProduct": "AMAZON_DSP", "state": "ENABLED",
                                   "negative": False, "targetDetails": AUDIENCE}]).ids("targetId")[0]


# --- campaign goals ----------------------------------------------------------------------------

def test_a_campaign_goal_must_name_a_known_kpi_with_a_numeric_target(amazon):
    def goal(setting):
        return campaign_payload(optimization={"bidStrategy": "SPEND_BUDGET_IN_FULL", "goalSetting": setting})

    kpi, target = "optimization.goalSetting.kpi", "optimization.goalSetting.targetKpi"
    result = amazon.create_campaigns([
        goal({"kpi": "MOST_CLICKS", "targetKpi": 0.1}),
        goal({"targetKpi": 0.1}),
        goal("CLICK_THROUGH_RATE"),
        goal({"kpi": "CLICK_THROUGH_RATE", "targetKpi": "0.1"}),
        goal({"kpi": "CLICK_THROUGH_RATE", "targetKpi": -1}),
        goal({"kpi": "CLICK_THROUGH_RATE", "targetKpi": None}),
        campaign_payload(optimization={"bidStrategy": "SPEND_BUDGET_IN_FULL"}),
    ])

    assert _refusals(result) == {
        0: ("FIELD_VALUE_IS_INVALID", kpi), 1: ("FIELD_VALUE_IS_INVALID", kpi), 2: ("FIELD_VALUE_IS_INVALID", kpi),
        3: ("FIELD_VALUE_IS_INVALID", target), 4: ("FIELD_VALUE_IS_OUT_OF_RANGE", target)}
    assert sorted(s["index"] for s in result.success) == [5, 6]  # no target, or no goal: nothing to check


def test_a_campaign_update_checks_the_goal_too(amazon, campaign_id):
    result = amazon.update_campaigns([
        {"campaignId": campaign_id, "optimization": {"goalSetting": {"kpi": "NOT_A_KPI"}}}])

    assert _refusals(result) == {0: ("FIELD_VALUE_IS_INVALID", "optimization.goalSetting.kpi")}
    assert next(amazon.iter_campaigns())["optimization"]["goalSetting"]["kpi"] == "CLICK_THROUGH_RATE"


# --- frequency caps: shape and type (out-of-range values are covered with the sync) ------------------

def test_frequency_caps_of_the_wrong_shape_or_type_are_refused(amazon, ad_group_id):
    def caps(value):
        return {"adGroupId": ad_group_id, "frequencies": value}

    custom = {"frequencyType": "CUSTOM", "maxImpressions": 3, "timeUnitCount": 1, "timeUnit": "DAYS"}
    result = amazon.update_ad_groups([
        caps({"frequencyType": "UNCAPPED"}),  # an object, not a list
        caps([]),
        caps([custom] * 4),
        caps(["UNCAPPED"]),
        caps([{"frequencyType": "DAILY"}]),
        caps([{"frequencyType": "UNCAPPED"}, custom]),
        caps([{**custom, "maxImpressions": "3"}]),
        caps([{**custom, "timeUnitCount": True}]),
        caps([{**custom, "maxImpressions": 2.5}]),
        caps([{**custom, "timeUnit": "WEEKS"}]),
        caps([custom, {**custom, "timeUnit": None}]),
        caps([custom, {**custom, "timeUnitCount": 12, "timeUnit": "HOURS"}]),
    ])

    assert _refusals(result) == {
        0: ("FIELD_VALUE_IS_INVALID", "frequencies"),
        1: ("FIELD_VALUE_IS_INVALID", "frequencies"),
        2: ("FIELD_VALUE_IS_INVALID", "frequencies"),
        3: ("FIELD_VALUE_IS_INVALID", "frequencies[0]"),
        4: ("FIELD_VALUE_IS_INVALID", "frequencies[0]"),
        5: ("FIELD_VALUE_IS_INVALID", "frequencies[0]"),
        6: ("FIELD_VALUE_IS_OUT_OF_RANGE", "frequencies[0].maxImpressions"),
        7: ("FIELD_VALUE_IS_OUT_OF_RANGE", "frequencies[0].timeUnitCount"),
        8: ("FIELD_VALUE_IS_OUT_OF_RANGE", "frequencies[0].maxImpressions"),
        9: ("FIELD_VALUE_IS_INVALID", "frequencies[0].timeUnit"),
        10: ("FIELD_VALUE_IS_INVALID", "frequencies[1].timeUnit"),
    }
    assert [s["index"] for s in result.success] == [11]
    assert len(next(amazon.iter_ad_groups())["frequencies"]) == 2  # only the valid item was applied


# --- deleting targets by what they are ---------------------------------------------------------------

def test_a_target_delete_must_name_exactly_one_target_type(amazon, ad_group_id, target_id):
    def delete(details, **extra):
        return {"adGroupId": ad_group_id, "adProduct": "AMAZON_DSP", "negative": False, **extra,
                **({} if details is ... else {"targetDetails": details})}

    result = amazon.delete_targets([
        delete(...),
        delete({}),
        delete("audienceTarget"),
        delete({**AUDIENCE, "keywordTarget": {"keyword": "shoes", "matchType": "BROAD"}}),
        delete(AUDIENCE, negative=True),  # the same details, but no negative target of them
        delete({"audienceTarget": {**AUDIENCE["audienceTarget"], "audienceId": "999"}}),
    ])

    invalid = ("FIELD_VALUE_IS_INVALID", "targetDetails")
    missing = ("RESOURCE_ID_NOT_FOUND", "targetDetails")
    assert _refusals(result) == {0: invalid, 1: invalid, 2: invalid, 3: invalid, 4: missing, 5: missing}
    assert [t["targetId"] for t in amazon.iter_targets()] == [target_id]  # nothing was removed

    assert amazon.delete_targets([delete(AUDIENCE)]).ids("targetId") == {0: target_id}
    assert list(amazon.iter_targets()) == []


# --- the Ads API v1 target update: bids ---------------------------------------------------------------

def test_a_target_bid_must_be_a_number_within_amazons_range(amazon, target_id):
    result = amazon.update_targets([
        {"targetId": target_id, "bid": 2.5},  # not {"bid": ...}
        {"targetId": target_id, "bid": {"bid": "2.5"}},
        {"targetId": target_id, "bid": {"bid": True}},
        {"targetId": target_id, "bid": {}},
        {"targetId": target_id, "bid": {"bid": 0}},
        {"targetId": target_id, "bid": {"bid": 1000.01}},
        {"targetId": target_id, "bid": {"bid": 0.01}},
    ])

    located = {e["index"]: (e["errorCode"], e["errors"][0]["fieldLocation"]) for e in result.error}
    invalid, out_of_range = ("FIELD_VALUE_IS_INVALID", "bid.bid"), ("FIELD_VALUE_IS_OUT_OF_RANGE", "bid.bid")
    assert located == {0: invalid, 1: invalid, 2: invalid, 3: invalid, 4: out_of_range, 5: out_of_range}
    assert [s["index"] for s in result.success] == [6]
    assert next(amazon.iter_targets())["bid"] == {"bid": 0.01}


# --- the run_fake_dsp command's refusals -------------------------------------------------------------

def _run_fake_dsp(*args):
    # Port 0: a free loopback port; every case below is refused before the fake would serve.
    call_command("run_fake_dsp", "--port", "0", *args)


def test_the_command_refuses_links_without_a_connection(db):
    with pytest.raises(CommandError, match="--link needs --connection"):
        _run_fake_dsp("--link", "Anyone")


def test_the_command_refuses_an_unknown_advertiser(db, encryption_key):
    with pytest.raises(CommandError, match="No advertiser with id or name 'Nobody'"):
        _run_fake_dsp("--connection", "Fake", "--link", "Nobody")
    with pytest.raises(CommandError, match="No advertiser with id or name '987654'"):
        _run_fake_dsp("--connection", "Fake", "--link", "987654")
    assert not AmazonConnection.objects.exists()


def test_the_command_refuses_more_links_than_the_fake_has_advertisers(db, encryption_key, advertiser,
                                                                      other_advertiser):
    with pytest.raises(CommandError, match="The fake has 1 DSP advertisers in EU; start it with --advertisers 2"):
        _run_fake_dsp("--advertisers", "1", "--region", "EU", "--connection", "Fake",
                      "--link", advertiser.name, "--link", str(other_advertiser.pk))
    assert not AmazonConnection.objects.exists()
