"""The fake Amazon DSP checks deal targeting and third-party creatives the way Amazon does (over HTTP)."""

import pytest

from integrations.amazon.dsp import deal_target, guaranteed_deal_patch
from integrations.amazon.errors import ClientError
from tests.integrations.payloads import ad_group_payload, campaign_payload
from tests.kargo.factories import ANCHOR_TAG, VAST_XML


@pytest.fixture
def ad_group_id(amazon):
    campaign = amazon.create_campaigns([campaign_payload()]).ids("campaignId")[0]
    return amazon.create_ad_groups([ad_group_payload(campaign)]).ids("adGroupId")[0]


def _third_party(tag_type="HTML", source=ANCHOR_TAG, **props):
    body = {"adCreativeFormatType": "THIRD_PARTY", "thirdPartyTag": {"tagType": tag_type, "tagSource": source}}
    if tag_type == "HTML":
        body["creativeSizes"] = [{"width": 320, "height": 50}]
    return {"name": "Kargo", "adCreativeFormatProperties": {**body, **props}}


def test_a_deal_target_is_accepted_once_per_ad_group(amazon, ad_group_id):
    first = amazon.create_targets([deal_target(ad_group_id, "KRG-1", "preferred")])
    again = amazon.create_targets([deal_target(ad_group_id, "KRG-1", "preferred")])

    assert first.ok
    assert again.error[0]["errorCode"] == "ENTITY_ALREADY_EXISTS"


def test_a_deal_target_needs_an_id_and_a_non_guaranteed_type(amazon, ad_group_id):
    bad_id = deal_target(ad_group_id, "KRG 1", "preferred")
    guaranteed = deal_target(ad_group_id, "KRG-2", "preferred")
    guaranteed["targetDetails"]["dealTarget"]["dealType"] = "PROGRAMMATIC_GUARANTEED"

    result = amazon.create_targets([bad_id, guaranteed])

    assert [e["errorCode"] for e in result.error] == ["FIELD_VALUE_IS_INVALID", "FIELD_VALUE_IS_INVALID"]
    assert "targetedPGDealId" in result.error[1]["errorMessage"]


def test_a_guaranteed_deal_is_set_on_the_ad_group(amazon, ad_group_id):
    assert amazon.update_ad_groups([guaranteed_deal_patch(ad_group_id, "KRG-PG")]).ok
    assert not amazon.update_ad_groups([guaranteed_deal_patch(ad_group_id, "")]).ok
    [group] = list(amazon.iter_ad_groups())
    assert group["targetingSettings"] == {"targetedPGDealId": "KRG-PG"}


def test_third_party_html_and_vast_creatives_are_accepted(amazon):
    html = amazon.create_third_party_creative(_third_party())
    vast = amazon.create_third_party_creative(_third_party("VAST_XML", VAST_XML))

    experiences = {c["adCreativeId"]: c["adExperiences"] for c in amazon.iter_ad_creatives()}
    assert experiences == {html: ["THIRD_PARTY_DISPLAY"], vast: ["THIRD_PARTY_VIDEO"]}


@pytest.mark.parametrize("creative, message", [
    (_third_party(source='<div><script src="http://k.kargo.com/a.js"></script></div>'), "https"),
    (_third_party(creativeSizes=[]), "creativeSizes"),
    (_third_party("VAST_URL", "http://ads.kargo.com/v.xml"), "https VAST URL"),
    (_third_party("VAST_XML", "<VAST version='3.0'><Ad><InLine></InLine></Ad></VAST>"), "MediaFile"),
    (_third_party("VAST_XML", '<!DOCTYPE v [<!ENTITY x "y">]><VAST/>'), "not a valid VAST"),
    (_third_party("JS", "x"), "tagType"),
    (_third_party(trackingUrls=[{"type": "IMPRESSION", "url": "http://px.kargo.com/i"}]), "https URL"),
])
def test_bad_third_party_creatives_are_refused(amazon, creative, message):
    with pytest.raises(ClientError) as refused:
        amazon.create_ad_creative(creative)
    assert refused.value.status == 400 and message in str(refused.value.body)
    assert list(amazon.iter_ad_creatives()) == []
