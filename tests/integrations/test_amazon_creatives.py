"""Creative assets (upload → register → processing → active), ad creatives and associations."""

import pytest
import requests

from integrations.amazon import limits
from integrations.amazon.errors import AssetProcessingFailed, NotFound, ValidationError
from tests.integrations.payloads import ad_group_payload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _display_creative(asset, name="Spring 300x250"):
    return {
        "name": name, "language": "en", "country": "US", "adChoicesPosition": "TOP_RIGHT",
        "adCreativeFormatProperties": {
            "adCreativeFormatType": "DISPLAY", "creativeSizes": [{"width": 300, "height": 250}],
            "assets": [{"assetId": asset["assetId"], "assetVersion": asset["versionId"], "applyBorder": True}],
            "clickActions": [{"clickActionType": "URL", "urlDestination": "https://example.com"}],
        },
    }


@pytest.fixture
def active_asset(amazon):
    asset = amazon.upload_asset(file_name="spring.png", content=PNG, content_type="image/png")
    amazon.wait_for_asset(asset["assetId"], asset["versionId"], poll_interval=5)
    return asset


def test_an_uploaded_image_goes_from_processing_to_active(fake_dsp, amazon, clock):
    asset = amazon.upload_asset(file_name="spring.png", content=PNG, content_type="image/png")
    assert asset["assetId"].startswith("amzn1.assetlibrary.asset1.") and asset["versionId"] == "version_v1"
    first = amazon.get_asset(asset["assetId"], asset["versionId"])
    assert first["assetVersionList"][0]["assetStatus"] == "PROCESSING"
    done = amazon.wait_for_asset(asset["assetId"], asset["versionId"], poll_interval=5)
    assert done["assetVersionList"][0]["assetStatus"] == "ACTIVE"
    assert clock.sleeps == [5.0]
    upload = [r for r in fake_dsp.recent_requests() if r["path"].startswith("/_s3/assets/")]
    assert upload[0]["method"] == "PUT" and upload[0]["authorization"] is False


def test_a_file_that_is_not_an_image_ends_inactive(amazon):
    asset = amazon.upload_asset(file_name="broken.png", content=b"not a png at all", content_type="image/png")
    with pytest.raises(AssetProcessingFailed) as caught:
        amazon.wait_for_asset(asset["assetId"], asset["versionId"], poll_interval=1)
    assert caught.value.code == "INACTIVE"


def test_registering_an_url_nothing_was_uploaded_to_is_refused(amazon):
    upload = amazon.post("/assets/upload", json={"fileName": "empty.png"})
    with pytest.raises(ValidationError, match="Nothing was uploaded"):
        amazon.post("/assets/register", json={"url": upload["url"], "name": "x", "assetType": "IMAGE",
                                               "registrationContext": {"associatedPrograms": [
                                                   {"programName": "AMAZON_DSP",
                                                    "metadata": {"dspAdvertiserId": amazon.account_id}}]}})


def test_the_upload_url_refuses_our_authorization_header_and_expires(fake_dsp, amazon):
    url = amazon.post("/assets/upload", json={"fileName": "late.png"})["url"]
    assert requests.put(url, data=PNG, headers={"Authorization": "Bearer x"}, timeout=5).status_code == 400
    fake_dsp.advance_time(901)  # upload URLs live 15 minutes
    assert requests.put(url, data=PNG, timeout=5).status_code == 403


def test_a_creative_needs_its_assets_active(amazon):
    asset = amazon.upload_asset(file_name="spring.png", content=PNG, content_type="image/png")
    with pytest.raises(ValidationError, match="not ACTIVE"):
        amazon.create_ad_creative(_display_creative(asset))


def test_an_active_asset_becomes_a_creative_with_an_experience(amazon, active_asset):
    creative_id = amazon.create_ad_creative(_display_creative(active_asset))
    amazon.set_ad_experiences(creative_id, ["STANDARD_DISPLAY"])
    listed = list(amazon.iter_ad_creatives())
    assert [c["adCreativeId"] for c in listed] == [creative_id]
    assert listed[0]["adExperiences"] == ["STANDARD_DISPLAY"]
    with pytest.raises(ValidationError):
        amazon.set_ad_experiences(creative_id, ["STANDARD_DISPLAY", "ONLINE_VIDEO"])  # all or nothing
    assert list(amazon.iter_ad_creatives())[0]["adExperiences"] == ["STANDARD_DISPLAY"]


def test_updating_an_unknown_creative_is_not_found(amazon):
    with pytest.raises(NotFound):
        amazon.update_ad_creative("6100000000999", {"name": "x"})


@pytest.fixture
def creative_and_ad_groups(amazon, campaign_id, active_asset):
    creative_id = amazon.create_ad_creative(_display_creative(active_asset))
    ad_groups = amazon.create_ad_groups([ad_group_payload(campaign_id, name=f"AG {n}") for n in range(25)])
    return creative_id, list(ad_groups.ids("adGroupId").values())


def test_more_than_twenty_associations_in_one_call_are_refused_whole(fake_dsp, amazon, creative_and_ad_groups):
    creative_id, ad_group_ids = creative_and_ad_groups
    associations = [{"adCreativeId": creative_id, "adGroupId": g} for g in ad_group_ids[:21]]
    with pytest.raises(ValidationError) as caught:
        amazon.post("/dsp/v1/adCreatives/associations/adGroups", json={"associations": associations})
    assert caught.value.code == "TOO_MANY_ITEMS"
    assert fake_dsp.snapshot()["entities"]["associations"] == 0


def test_the_client_sends_associations_twenty_at_a_time(fake_dsp, amazon, creative_and_ad_groups):
    creative_id, ad_group_ids = creative_and_ad_groups
    result = amazon.associate_creatives([{"adCreativeId": creative_id, "adGroupId": g} for g in ad_group_ids])
    assert result.ok and len(result.success) == 25
    assert [s["index"] for s in result.success] == list(range(25))
    calls = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/v1/adCreatives/associations/adGroups"]
    assert len(calls) == -(-25 // limits.ASSOCIATIONS_PER_WRITE)
    assert len(list(amazon.iter_associations())) == 25


def test_an_association_that_exists_or_points_nowhere_fails_alone(amazon, creative_and_ad_groups):
    creative_id, ad_group_ids = creative_and_ad_groups
    amazon.associate_creatives([{"adCreativeId": creative_id, "adGroupId": ad_group_ids[0]}])
    result = amazon.associate_creatives([
        {"adCreativeId": creative_id, "adGroupId": ad_group_ids[0]},
        {"adCreativeId": creative_id, "adGroupId": "5999999999999"},
        {"adCreativeId": creative_id, "adGroupId": ad_group_ids[1]},
    ])
    assert [s["index"] for s in result.success] == [2]
    assert {e["index"]: e["code"] for e in result.error} == {0: "ENTITY_ALREADY_EXISTS", 1: "RESOURCE_ID_NOT_FOUND"}
    assert result.error[0]["adGroupId"] == ad_group_ids[0]
