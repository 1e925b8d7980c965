"""Bad input is refused whole with 400 in DRF's shape, nothing is written, and nothing is a 500."""

import json
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductAd, ProductTarget
from tests.campaigns.factories import AdvertiserFactory, campaign_tree, member_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"
MODELS = (Campaign, LineItem, Keyword, ProductAd, ProductTarget, ChangeRecord)


def everything() -> dict:
    return {model.__name__: sorted(map(str, (model_to_dict(o) for o in model.objects.all()))) for model in MODELS}


@pytest.fixture
def tree(advertiser):
    return campaign_tree(advertiser)


@pytest.fixture
def client(api_for, advertiser):
    return api_for(member_of(advertiser, "manager"))


def post_raw(client, url, text):
    return client.post(url, text, content_type="application/json")


BAD_BIDS = [
    ("NaN", None), ("nan", None), ("Infinity", None), ("-Infinity", None), ("inf", None), ("1e400", "digits"),
    (True, None), (False, None), ([], None), ({}, None), ("abc", None), ("", None), ("0x10", None),
    ("1.255", "2 decimal places"), ("0.001", "2 decimal places"), ("0.01", "between 0.02 and 1000"),
    ("0", "between 0.02 and 1000"), ("-1", "between 0.02 and 1000"), ("1000.01", "between 0.02 and 1000"),
    ("99999999999999999", "digits"), ("1" * 5000, None),
]


@pytest.mark.parametrize("value,message", BAD_BIDS)
def test_a_bad_keyword_bid_is_refused_on_create(client, tree, value, message):
    before = everything()
    response = client.post(f"{BASE}/keywords/", {"line_item": tree.line_item.pk, "text": "tents", "bid": value},
                           format="json")
    assert response.status_code == 400
    assert "bid" in response.json()
    if message:
        assert message in " ".join(response.json()["bid"])
    assert everything() == before


@pytest.mark.parametrize("endpoint,field", [("keywords", "bid"), ("product-targets", "bid"), ("line-items", "default_bid")])
@pytest.mark.parametrize("value,message", BAD_BIDS)
def test_a_bad_bid_is_refused_on_update(client, tree, endpoint, field, value, message):
    obj = {"keywords": tree.keyword, "product-targets": tree.product_target, "line-items": tree.line_item}[endpoint]
    before = everything()
    response = client.patch(f"{BASE}/{endpoint}/{obj.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert everything() == before


@pytest.mark.parametrize(
    "raw",
    ['{"bid": NaN}', '{"bid": Infinity}', '{"bid": -Infinity}', '{"bid": 1e400}', '{"bid": 1e999999999999999999999}',
     '{"bid": 1.255}', '{"bid": 0.01}', '{"bid": true}', '{"bid": "1.25"', "bid=1.25", '{"bid": 1.25}garbage',
     "[" * 100_000 + "]" * 100_000, '"a string"', "[1, 2]", "null"],
)
def test_a_bad_raw_json_body_is_refused(client, tree, raw):
    before = everything()
    response = post_raw(client, f"{BASE}/keywords/", raw.replace("{", '{"line_item": %d, "text": "tents", ' % tree.line_item.pk, 1)
                        if raw.startswith('{"bid"') else raw)
    assert response.status_code == 400
    assert everything() == before


def test_invalid_utf8_is_refused(client, tree):
    response = client.generic("POST", f"{BASE}/keywords/", b'{"text": "\xff\xfe"}', content_type="application/json")
    assert response.status_code == 400


def test_a_json_number_bid_is_taken_exactly(client, tree):
    raw = '{"line_item": %d, "text": "tents", "bid": 1.15}' % tree.line_item.pk
    response = post_raw(client, f"{BASE}/keywords/", raw)
    assert response.status_code == 201
    assert response.json()["bid"] == "1.15"
    assert Keyword.objects.get(pk=response.json()["id"]).bid == Decimal("1.15")


def test_the_value_stored_is_the_value_returned(client, tree):
    response = client.patch(f"{BASE}/keywords/{tree.keyword.pk}/", {"bid": "2.1"}, format="json")
    assert response.json()["bid"] == "2.10"
    assert client.get(f"{BASE}/keywords/{tree.keyword.pk}/").json()["bid"] == "2.10"


@pytest.mark.parametrize(
    "change,field",
    [({"daily_budget": "NaN"}, "daily_budget"), ({"daily_budget": "Infinity"}, "daily_budget"),
     ({"daily_budget": True}, "daily_budget"), ({"daily_budget": "10.001"}, "daily_budget"),
     ({"daily_budget": "0"}, "daily_budget"), ({"daily_budget": "-5"}, "daily_budget"),
     ({"daily_budget": "0.50"}, "daily_budget"), ({"daily_budget": "1000001"}, "daily_budget"),
     ({"daily_budget": "1e20"}, "daily_budget"), ({"daily_budget": None}, "daily_budget"),
     ({"daily_budget": "3500.00"}, "daily_budget"), ({"total_budget": "50.00"}, "daily_budget"),
     ({"total_budget": "-1"}, "total_budget"), ({"target_roas": "NaN"}, "target_roas"),
     ({"target_roas": "0"}, "target_roas"), ({"target_roas": "1.00001"}, "target_roas"),
     ({"name": ["a list"]}, "name"), ({"name": {"an": "object"}}, "name"), ({"name": "x" * 10_000}, "name"),
     ({"name": "nul\x00byte"}, "name"), ({"start_date": "2024-02-30"}, "start_date"),
     ({"start_date": "yesterday"}, "start_date"), ({"start_date": 20240101}, "start_date"),
     ({"end_date": "2000-01-01"}, "end_date"), ({"phase": "retention"}, "phase"),
     ({"bidding_strategy": True}, "bidding_strategy"), ({"advertiser": "abc"}, "advertiser")],
)
def test_a_bad_campaign_change_is_refused_in_drf_shape(client, tree, change, field):
    before = everything()
    response = client.patch(f"{BASE}/campaigns/{tree.campaign.pk}/", change, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert everything() == before


@pytest.mark.parametrize(
    "parent",
    ["abc", True, False, 1.5, "1.5", [], {}, None, -1, 0, 10**30, str(10**30), "²", "1e3"],
)
def test_a_bad_parent_id_is_refused(client, tree, parent):
    before = everything()
    response = client.post(f"{BASE}/keywords/", {"line_item": parent, "text": "tents", "bid": "0.50"}, format="json")
    assert response.status_code == 400 and "line_item" in response.json()
    assert everything() == before


def test_a_decimal_parent_id_never_rounds_to_another_row(client, tree):
    raw = '{"line_item": %s.5, "text": "tents", "bid": "0.50"}' % tree.line_item.pk
    assert post_raw(client, f"{BASE}/keywords/", raw).status_code == 400


@pytest.mark.parametrize(
    "change",
    [{"frequency_cap_impressions": 10**30, "frequency_cap_period": 1, "frequency_cap_unit": "days"},
     {"frequency_cap_impressions": -1, "frequency_cap_period": 1, "frequency_cap_unit": "days"},
     {"frequency_cap_impressions": True, "frequency_cap_period": 1, "frequency_cap_unit": "days"},
     {"frequency_cap_impressions": "many", "frequency_cap_period": 1, "frequency_cap_unit": "days"},
     {"frequency_cap_impressions": 3},
     {"frequency_cap_impressions": 0, "frequency_cap_period": 1, "frequency_cap_unit": "days"},
     {"frequency_cap_unit": "weeks"}, {"format": "hologram"}, {"start_date": "2000-01-01"},
     {"budget": "5000.00"}],
)
def test_a_bad_line_item_change_is_refused(client, tree, change):
    before = everything()
    response = client.patch(f"{BASE}/line-items/{tree.line_item.pk}/", change, format="json")
    assert response.status_code == 400, response.json()
    assert everything() == before


@pytest.mark.parametrize("endpoint,field", [("campaigns", "name"), ("line-items", "name"), ("keywords", "text")])
def test_surrounding_spaces_are_trimmed_from_names(client, tree, endpoint, field):
    obj = {"campaigns": tree.campaign, "line-items": tree.line_item, "keywords": tree.keyword}[endpoint]
    response = client.patch(f"{BASE}/{endpoint}/{obj.pk}/", {field: "  spring sale "}, format="json")
    assert response.json()[field] == "spring sale"


def test_a_frequency_cap_is_set_whole(client, tree):
    change = {"frequency_cap_impressions": 3, "frequency_cap_period": 1, "frequency_cap_unit": "days"}
    response = client.patch(f"{BASE}/line-items/{tree.line_item.pk}/", change, format="json")
    assert response.status_code == 200
    assert response.json()["frequency_cap_impressions"] == 3


@pytest.mark.parametrize(
    "endpoint,body,field",
    [("product-ads", {"sku": "", "asin": ""}, "sku"), ("product-ads", {"asin": "b0lowercase"}, "asin"),
     ("product-ads", {"asin": "B0TOOLONG123"}, "asin"), ("product-targets", {"expression": "   "}, "expression"),
     ("product-targets", {"expression": "x", "negative": True, "bid": "0.50"}, "bid"),
     ("keywords", {"text": "tents", "match_type": "negativeExact", "bid": "0.50"}, "bid"),
     ("keywords", {"text": "one two three four five six seven eight nine ten eleven", "bid": "0.50"}, "text")],
)
def test_model_rules_come_back_as_field_errors(client, tree, endpoint, body, field):
    before = everything()
    response = client.post(f"{BASE}/{endpoint}/", {"line_item": tree.line_item.pk, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert everything() == before


def test_yen_amounts_have_no_decimals(api_for):
    yen = AdvertiserFactory(currency="JPY", country="JP")
    tree = campaign_tree(yen, daily_budget=Decimal("1000"), total_budget=Decimal("30000"))
    client = api_for(member_of(yen, "manager"))
    response = client.patch(f"{BASE}/campaigns/{tree.campaign.pk}/", {"daily_budget": "1000.50"}, format="json")
    assert response.status_code == 400 and "daily_budget" in response.json()


def test_a_list_body_is_refused(client, tree):
    assert client.post(f"{BASE}/keywords/", [{"line_item": tree.line_item.pk}], format="json").status_code == 400


def test_a_form_body_is_an_unsupported_media_type(client, tree):
    response = client.post(f"{BASE}/keywords/", {"line_item": tree.line_item.pk, "text": "x", "bid": "1"})
    assert response.status_code == 415
    assert Keyword.objects.count() == 1


@pytest.mark.parametrize("pk", ["abc", "1.5", str(10**30), "-1", "0", "%00"])
@pytest.mark.parametrize("endpoint", ["advertisers", "memberships", "campaigns", "line-items", "keywords", "changes"])
def test_an_odd_id_in_the_url_is_not_found(client, tree, endpoint, pk):
    assert client.get(f"{BASE}/{endpoint}/{pk}/").status_code == 404


@pytest.mark.parametrize(
    "endpoint,params",
    [("campaigns", {"advertiser": "abc"}), ("campaigns", {"advertiser": "1.5"}), ("campaigns", {"advertiser": str(10**30)}),
     ("campaigns", {"advertiser": "-1"}), ("campaigns", {"status": "bogus"}), ("campaigns", {"phase": "x"}),
     ("campaigns", {"start_date_after": "2024-13-01"}), ("campaigns", {"created_after": "not a time"}),
     ("campaigns", {"search": "nul\x00byte"}), ("keywords", {"line_item": str(10**30)}),
     ("keywords", {"match_type": "fuzzy"}),
     ("changes", {"object_type": "advertiser"}), ("changes", {"object_id": str(2**64)}),
     ("memberships", {"role": "owner"})],
)
def test_a_bad_filter_is_a_400(client, tree, endpoint, params):
    response = client.get(f"{BASE}/{endpoint}/", params)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "params,status",
    [({"ordering": "bogus"}, 200), ({"ordering": "-daily_budget,name"}, 200), ({"page": "abc"}, 404),
     ({"page": "999"}, 404), ({"page_size": "100000"}, 200), ({"page_size": "-5"}, 200), ({"search": "x" * 5000}, 200)],
)
def test_odd_list_parameters_never_fail(client, tree, params, status):
    assert client.get(f"{BASE}/campaigns/", params).status_code == status


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | st.sampled_from(["NaN", "Infinity", "1e400", "0.02", "1.255", "-0", "1E+2"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["line_item", "text", "bid", "match_type", "state", "id"]), json_values))
def test_any_json_body_for_a_keyword_is_answered_without_a_server_error(client, tree, body):
    try:
        payload = json.dumps(body)
    except ValueError:
        return
    count = Keyword.objects.count()
    response = post_raw(client, f"{BASE}/keywords/", payload)
    assert response.status_code in (201, 400, 403, 409)
    assert Keyword.objects.count() == count + (response.status_code == 201)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(
    st.sampled_from(["daily_budget", "total_budget", "target_roas", "start_date", "end_date", "name", "advertiser"]),
    json_values,
))
def test_any_json_patch_of_a_campaign_is_answered_without_a_server_error(client, tree, body):
    response = post_raw(client, f"{BASE}/campaigns/", json.dumps(body))
    assert response.status_code in (201, 400, 403)
    response = client.generic("PATCH", f"{BASE}/campaigns/{tree.campaign.pk}/", json.dumps(body),
                              content_type="application/json")
    assert response.status_code in (200, 400, 403)


@pytest.mark.parametrize(
    "endpoint,field",
    [("campaigns", "advertiser"), ("line-items", "campaign"), ("keywords", "line_item"), ("product-ads", "line_item"),
     ("product-targets", "line_item")],
)
def test_a_row_cannot_move_to_another_parent(client, advertiser, tree, endpoint, field):
    elsewhere = campaign_tree(advertiser)
    manager = tree.advertiser.memberships.get(role="manager").user
    second = AdvertiserFactory()
    second.memberships.create(user=manager, role="manager")
    obj = {"campaigns": tree.campaign, "line-items": tree.line_item, "keywords": tree.keyword,
           "product-ads": tree.product_ad, "product-targets": tree.product_target}[endpoint]
    target = {"advertiser": second, "campaign": elsewhere.campaign, "line_item": elsewhere.line_item}[field]
    before = everything()
    response = client.patch(f"{BASE}/{endpoint}/{obj.pk}/", {field: target.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["Cannot be changed after creation."]}
    assert everything() == before


@pytest.mark.parametrize("charset", ["bogus", "utf-16", "latin-1"])
def test_an_odd_charset_is_answered_without_a_server_error(client, tree, charset):
    body = '{"line_item": %d, "text": "tents", "bid": "0.50"}' % tree.line_item.pk
    response = client.generic("POST", f"{BASE}/keywords/", body.encode(), content_type=f"application/json; charset={charset}")
    assert response.status_code in (201, 400)
