"""Current-generation (/dsp/v1) campaign management on the fake: 207 results, inactive on create."""

import pytest

from integrations.amazon import limits
from integrations.amazon.errors import ValidationError
from tests.integrations.payloads import ad_group_payload, campaign_payload


def test_new_campaigns_and_ad_groups_start_inactive_even_if_asked_otherwise(amazon):
    campaign_id = amazon.create_campaigns([campaign_payload(state="ACTIVE")]).ids("campaignId")[0]
    ad_group_id = amazon.create_ad_groups([ad_group_payload(campaign_id, state="ACTIVE")]).ids("adGroupId")[0]
    assert [c["state"] for c in amazon.iter_campaigns()] == ["INACTIVE"]
    assert [g["state"] for g in amazon.iter_ad_groups()] == ["INACTIVE"]
    amazon.update_ad_groups([{"adGroupId": ad_group_id, "state": "ACTIVE"}])
    assert [g["state"] for g in amazon.iter_ad_groups()] == ["ACTIVE"]


def test_a_batch_answers_per_item_with_207(fake_dsp, amazon, campaign_id):
    result = amazon.create_ad_groups([
        ad_group_payload(campaign_id, name="ok"),
        ad_group_payload(campaign_id, name="too rich", bid={"baseBid": 500}),
        ad_group_payload("5800000009999", name="orphan"),
        ad_group_payload(campaign_id, name="old", inventoryType="STANDARD_DISPLAY"),
    ])
    assert [s["index"] for s in result.success] == [0]
    assert {e["index"]: e["errorCode"] for e in result.error} == {
        1: "FIELD_VALUE_IS_OUT_OF_RANGE", 2: "RESOURCE_ID_NOT_FOUND", 3: "FIELD_VALUE_IS_INVALID"}
    assert result.request_ids
    statuses = [r["status"] for r in fake_dsp.recent_requests() if r["path"] == "/dsp/v1/adGroups"]
    assert statuses == [207]


def test_the_client_chunks_a_large_batch_to_the_per_call_limit(fake_dsp, amazon, campaign_id):
    result = amazon.create_ad_groups([ad_group_payload(campaign_id, name=f"AG {n}") for n in range(250)])
    assert result.ok and sorted(result.ids("adGroupId")) == list(range(250))
    calls = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/v1/adGroups"]
    assert len(calls) == -(-250 // limits.AD_GROUPS_PER_WRITE)


def test_the_fake_refuses_a_batch_over_the_limit(amazon, campaign_id):
    items = [ad_group_payload(campaign_id, name=f"AG {n}") for n in range(limits.AD_GROUPS_PER_WRITE + 1)]
    with pytest.raises(ValidationError, match="at most"):
        amazon.post("/dsp/v1/adGroups", json={"adGroups": items})


def test_a_patch_is_partial(amazon, campaign_id):
    amazon.update_campaigns([{"campaignId": campaign_id, "name": "Renamed"}])
    campaign = next(amazon.iter_campaigns())
    assert campaign["name"] == "Renamed"
    assert campaign["flights"]["flights"][0]["budgetAmount"] == 1000
    assert campaign["goal"] == "CONSIDERATION"  # read-only, inferred from the KPI


def test_another_advertisers_objects_are_invisible(make_client, fake_dsp, amazon, campaign_id):
    other = make_client(account_id=fake_dsp.advertiser_ids()[1])
    assert list(other.iter_campaigns()) == []
    result = other.create_ad_groups([ad_group_payload(campaign_id)])
    assert result.error[0]["errorCode"] == "RESOURCE_ID_NOT_FOUND"


def test_targets_attach_to_ad_groups(amazon, campaign_id):
    ad_group_id = amazon.create_ad_groups([ad_group_payload(campaign_id)]).ids("adGroupId")[0]
    result = amazon.create_targets([
        {"adGroupId": ad_group_id, "adProduct": "AMAZON_DSP", "state": "ENABLED", "negative": False,
         "targetDetails": {"audienceTarget": {"audienceId": "123", "groupId": "1", "targetType": "AUDIENCE"}}},
        {"adGroupId": ad_group_id, "targetDetails": {}},
    ])
    assert [s["index"] for s in result.success] == [0]
    assert [t["adGroupId"] for t in amazon.iter_targets(adGroupIdFilter={"include": [ad_group_id]})] == [ad_group_id]


def test_dsp_v1_calls_carry_the_advertiser_header(fake_dsp, amazon):
    amazon.create_campaigns([campaign_payload()])
    served = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/v1/campaigns"]
    assert served[0]["account"] == amazon.account_id and served[0]["scope"] is None


def test_a_client_without_an_advertiser_cannot_call_dsp_v1(make_client):
    with pytest.raises(ValueError, match="Amazon-Ads-AccountId"):
        make_client(account_id=None).create_campaigns([campaign_payload()])
