"""What schemathesis (tests/fuzz) found in /api/v1/creatives/, kept as plain tests."""

from io import BytesIO

import pytest

from creatives.services import creative_create_tag, creative_upload
from tests.creatives.media import png
from tests.fuzz.openapi import assert_conforms, call

pytestmark = pytest.mark.django_db
BASE = "/api/v1/creatives"
PAST_BIGINT = str(2**70)



@pytest.fixture
def tag(advertiser):
    return creative_create_tag(advertiser=advertiser, name="Tag", width=300, height=250,
                               third_party_tag="<script src='https://ads.example.com/t.js'></script>").creative


def test_a_tag_creative_matches_the_schema(tag, token):
    # No thumbnail (null), no detected format (""), no VAST URL (""): the schema said uri/enum/string.
    detail = call("GET", f"{BASE}/creatives/{tag.pk}/", token)
    assert detail.status_code == 200
    assert (detail.json["thumbnail_url"], detail.json["detected_format"], detail.json["vast_url"]) == (None, "", "")
    assert_conforms("GET", "/api/v1/creatives/creatives/{id}/", detail)
    assert_conforms("GET", "/api/v1/creatives/creatives/", call("GET", f"{BASE}/creatives/", token))
    assert_conforms("PATCH", "/api/v1/creatives/creatives/{id}/",
                    call("PATCH", f"{BASE}/creatives/{tag.pk}/", token, json_body={"name": "Renamed"}))
    assert_conforms("POST", "/api/v1/creatives/creatives/{id}/reprocess/",
                    call("POST", f"{BASE}/creatives/{tag.pk}/reprocess/", token))


def test_an_upload_not_processed_yet_matches_the_schema(advertiser, token):
    # Before the pipeline runs (on commit), kind and detected format are still blank.
    creative = creative_upload(advertiser=advertiser, fh=BytesIO(png(300, 250)), filename="banner.png").creative
    detail = call("GET", f"{BASE}/creatives/{creative.pk}/", token)
    assert detail.status_code == 200 and detail.json["kind"] == ""
    assert_conforms("GET", "/api/v1/creatives/creatives/{id}/", detail)


@pytest.mark.parametrize("endpoint, parameter", [
    ("assignments", "creative"),
    ("assignments", "line_item"),
    ("creatives", "advertiser"),
    ("creatives", "batch"),
    ("specs", "width"),
    ("specs", "height"),
])
@pytest.mark.parametrize("value", [PAST_BIGINT, "-1e225", "1.5"])
def test_id_filters_refuse_what_cannot_be_an_id(api_for, trader, endpoint, parameter, value):
    # NumberFilters (decimals) passed numbers past BIGINT to the database: 500 on SQLite.
    response = api_for(trader).get(f"{BASE}/{endpoint}/", {parameter: value})
    assert response.status_code == 400, response.content
    assert parameter in response.json()


def test_an_action_on_a_creative_with_a_junk_filter_in_the_query_is_not_a_server_error(api_for, trader, tag):
    # get_object() applies the list filters: ?batch=<past BIGINT> made POST …/assign/ a 500.
    response = api_for(trader).post(f"{BASE}/creatives/{tag.pk}/assign/?batch={PAST_BIGINT}",
                                    {"line_items": [1]}, format="json")
    assert response.status_code == 400


def test_id_filters_still_filter(api_for, trader, tag, other_advertiser):
    client = api_for(trader)
    assert client.get(f"{BASE}/creatives/", {"advertiser": tag.advertiser_id}).json()["count"] == 1
    assert client.get(f"{BASE}/creatives/", {"advertiser": other_advertiser.pk}).json()["count"] == 0


@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+00:09", "9999-12-31T23:59:59-00:09"])
def test_a_date_time_filter_outside_utcs_range_is_a_400(api_for, trader, parameter, value):
    # Valid ISO 8601, outside year 1–9999 once in UTC: OverflowError in the database layer (500).
    response = api_for(trader).get(f"{BASE}/creatives/", {parameter: value})
    assert response.status_code == 400, response.content
