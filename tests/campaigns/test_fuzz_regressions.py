"""What schemathesis (tests/fuzz) found in /api/v1/campaigns/, kept as plain tests."""

import pytest

from tests.campaigns.factories import ChangeRecordFactory, campaign_tree
from tests.fuzz.openapi import assert_conforms, call

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"
PAST_BIGINT = str(2**70)



def test_a_change_made_by_no_user_reads_as_a_null_username_as_documented(advertiser, token):
    # A sync or a rule changes budgets with changed_by=None: the username is null, and the schema says so.
    ChangeRecordFactory(advertiser=advertiser, changed_by=None)
    listed = call("GET", f"{BASE}/changes/", token)
    assert listed.status_code == 200
    assert listed.json["results"][0]["changed_by_username"] is None
    assert_conforms("GET", "/api/v1/campaigns/changes/", listed)
    one = call("GET", f"{BASE}/changes/{listed.json['results'][0]['id']}/", token)
    assert_conforms("GET", "/api/v1/campaigns/changes/{id}/", one)


@pytest.mark.parametrize("body", [{"items": []}, {"items": "1"}, {}, [1, 2]])
def test_a_bulk_bids_body_of_the_wrong_shape_gets_a_documented_400(token, body):
    response = call("POST", f"{BASE}/keywords/bulk-bids/", token, json_body=body)
    assert response.status_code == 400
    assert "errors" not in response.json
    assert_conforms("POST", "/api/v1/campaigns/keywords/bulk-bids/", response)


def test_per_item_bulk_bid_errors_still_match_the_schema(advertiser, token):
    tree = campaign_tree(advertiser)
    response = call("POST", f"{BASE}/keywords/bulk-bids/", token,
                    json_body={"items": [{"keyword_id": tree.keyword.pk, "bid": "-1"}]})
    assert response.status_code == 400 and response.json["errors"][0]["index"] == 0
    assert_conforms("POST", "/api/v1/campaigns/keywords/bulk-bids/", response)


@pytest.mark.parametrize("endpoint, parameter", [
    ("events", "advertiser"),
    ("rules", "advertiser"),
    ("rule-matches", "advertiser"),
    ("rule-matches", "event"),
    ("rule-matches", "rule"),
    ("rule-matches", "target_id"),
])
@pytest.mark.parametrize("value", [PAST_BIGINT, "-1e225", "1.5"])
def test_rules_engine_id_filters_refuse_what_cannot_be_an_id(api_for, trader, endpoint, parameter, value):
    # These were NumberFilters (decimals): an id past BIGINT reached the database and answered 500.
    response = api_for(trader).get(f"{BASE}/{endpoint}/", {parameter: value})
    assert response.status_code == 400, response.content
    assert parameter in response.json()


def test_rules_engine_id_filters_still_filter(api_for, trader, advertiser, other_advertiser):
    from campaigns.rules.models import Rule

    Rule.objects.create(advertiser=advertiser, name="Mine", event_type="stock.low", conditions=[], actions=[])
    client = api_for(trader)
    assert client.get(f"{BASE}/rules/", {"advertiser": advertiser.pk}).json()["count"] == 1
    assert client.get(f"{BASE}/rules/", {"advertiser": other_advertiser.pk}).json()["count"] == 0


OUT_OF_UTC = ["0001-01-01T00:00:00+00:09", "9999-12-31T23:59:59-00:09"]


@pytest.mark.parametrize("endpoint, parameter", [
    ("campaigns", "created_after"),
    ("line-items", "updated_before"),
    ("keywords", "created_after"),
    ("product-ads", "updated_after"),
    ("product-targets", "updated_after"),
    ("changes", "changed_before"),
    ("events", "received_after"),
    ("events", "received_before"),
])
@pytest.mark.parametrize("value", OUT_OF_UTC)
def test_a_date_time_filter_outside_utcs_range_is_a_400(api_for, trader, endpoint, parameter, value):
    # Valid ISO 8601, but before year 1 or after 9999 once in UTC: the database conversion raised
    # OverflowError (500).
    response = api_for(trader).get(f"{BASE}/{endpoint}/", {parameter: value})
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("value", ["2026-01-20T10:08:52+22:29", "0502-05-16T22:55:22-17:32"])
def test_a_date_time_filter_with_an_offset_postgresql_has_not_is_not_a_server_error(api_for, trader, value):
    # Python takes offsets up to ±23:59, PostgreSQL up to ±15:59: the filter now sends UTC.
    response = api_for(trader).get(f"{BASE}/campaigns/", {"created_after": value, "updated_before": value})
    assert response.status_code == 200, response.content


def test_date_time_filters_still_filter(api_for, trader, advertiser):
    tree = campaign_tree(advertiser)
    client = api_for(trader)
    response = client.get(f"{BASE}/campaigns/", {"created_after": "2000-01-01T00:00:00+01:00"})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1, response.json()
    assert client.get(f"{BASE}/campaigns/", {"created_before": "2000-01-01T00:00:00Z"}).json()["count"] == 0
    assert tree.campaign.pk
