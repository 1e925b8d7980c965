"""POST /api/bid/: the legacy contract, and every refusal stores nothing and is never a 500."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidding.models import ProductBid

pytestmark = pytest.mark.django_db

ALL_THREE = ["Invalid product ID", "Invalid current CPC", "Invalid target ROAS"]


def post_raw(api, body: str | bytes):
    return api.post("/api/bid/", body, content_type="application/json")


def test_the_url_name_bid_endpoint_is_kept():
    assert reverse("bid_endpoint") == "/api/bid/"


def test_it_answers_the_legacy_example(api):
    response = post_raw(api, '{"product_id": 123, "current_cpc": 1.50, "target_roas": 150.0}')
    assert response.status_code == 200
    body = json.loads(response.content, parse_float=Decimal)
    assert body == {"adjusted_cpc": Decimal("2.25"), "bid_id": ProductBid.objects.get().pk}


def test_adjusted_cpc_is_a_json_number(api):
    response = post_raw(api, '{"product_id": 1, "current_cpc": 2, "target_roas": 200}')
    assert isinstance(response.json()["adjusted_cpc"], float)
    assert response.json()["adjusted_cpc"] == 4.0


def test_it_stores_exactly_the_inputs_the_result_came_from(api):
    # The earlier port stored 1.22 (half-even) while computing from 1.225.
    response = post_raw(api, '{"product_id": 7, "current_cpc": 1.225, "target_roas": 100}')
    bid = ProductBid.objects.get(pk=response.json()["bid_id"])
    assert bid.current_cpc == Decimal("1.2250")
    assert bid.target_roas == Decimal("100")
    assert bid.adjusted_cpc == Decimal("1.23")
    assert str(response.json()["adjusted_cpc"]) == "1.23"


@pytest.mark.parametrize(
    "cpc,roas,expected",
    [("0.7", "150", "1.05"), ("1.005", "100", "1.01"), ("2.675", "100", "2.68"), ("0.005", "100", "0.01"),
     ("0.004", "100", "0.00"), ("999.99", "500", "4999.95"), ("10", "120.1", "12.01"), ("1000000", "100000", "1000000000.00")],
)
def test_it_rounds_half_away_from_zero_like_php(api, cpc, roas, expected):
    response = post_raw(api, f'{{"product_id": 1, "current_cpc": {cpc}, "target_roas": {roas}}}')
    assert response.status_code == 200
    assert json.loads(response.content, parse_float=Decimal)["adjusted_cpc"] == Decimal(expected)
    assert ProductBid.objects.get().adjusted_cpc == Decimal(expected)


def test_numeric_strings_are_accepted_as_the_legacy_helper_did(api):
    response = api.post("/api/bid/", {"product_id": "123", "current_cpc": "1.50", "target_roas": "150.0"}, format="json")
    assert response.status_code == 200
    assert response.json()["adjusted_cpc"] == 2.25


REFUSALS = [
    # body, legacy errors, fields refused
    ('{"current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": 1, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1}', ["Invalid target ROAS"], {"target_roas"}),
    ("{}", ALL_THREE, {"product_id", "current_cpc", "target_roas"}),
    ('{"product_id": null, "current_cpc": null, "target_roas": null}', ALL_THREE, {"product_id", "current_cpc", "target_roas"}),
    ('{"product_id": 1, "current_cpc": "abc", "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": "", "current_cpc": "abc", "target_roas": "0.0"}', ALL_THREE, {"product_id", "current_cpc", "target_roas"}),
    ('{"product_id": true, "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": 1, "current_cpc": false, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": true}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": NaN, "target_roas": 150}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": NaN}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": Infinity, "target_roas": 150}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": -Infinity, "target_roas": 150}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": Infinity}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": "nan", "target_roas": 150}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": "inf", "target_roas": 150}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": -1, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": -0.0001, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": 0}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": -50}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 0, "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": -3, "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": "0", "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": 1.5, "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": 99999999999999999999, "current_cpc": 1, "target_roas": 100}', ["Invalid product ID"], {"product_id"}),
    ('{"product_id": 1, "current_cpc": 1.23456, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": 100.00001}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": 1000000.0001, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1e8, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1e400, "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": "1e400", "target_roas": 100}', ["Invalid current CPC"], {"current_cpc"}),
    ('{"product_id": 1, "current_cpc": 1, "target_roas": 100000.0001}', ["Invalid target ROAS"], {"target_roas"}),
    ('{"product_id": 1, "current_cpc": [1], "target_roas": {"a": 1}}', ["Invalid current CPC", "Invalid target ROAS"], {"current_cpc", "target_roas"}),
    ('{"product_id": "0x1A", "current_cpc": "1_000", "target_roas": "$150"}', ALL_THREE, {"product_id", "current_cpc", "target_roas"}),
]


@pytest.mark.parametrize("body,errors,fields", REFUSALS)
def test_it_refuses_bad_input_with_legacy_messages_and_stores_nothing(api, body, errors, fields):
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert set(response.json()["fields"]) == fields
    assert ProductBid.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    ["[1, 2, 3]", '"a string"', "42", "null", "not json", "", "{", b"\xff\xfe", '{"a": ' * 100_000 + "1" + "}" * 100_000],
)
def test_bodies_that_are_not_json_objects_are_refused_whole(api, body):
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["errors"] == ALL_THREE
    assert list(response.json()["fields"]) == ["non_field_errors"]
    assert ProductBid.objects.count() == 0


def test_a_fifty_thousand_digit_product_id_is_refused_not_crashed_on(api):
    response = post_raw(api, '{"product_id": ' + "9" * 50_000 + ', "current_cpc": 1, "target_roas": 1}')
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid product ID"]


def test_an_oversized_body_is_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_raw(api, '{"product_id": 1, "current_cpc": 1, "target_roas": 100, "pad": "' + "x" * 2000 + '"}')
    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": ["Request body too large."]}
    assert ProductBid.objects.count() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(product_id=json_values, current_cpc=json_values, target_roas=json_values)
def test_no_input_ever_answers_500(api, product_id, current_cpc, target_roas):
    body = json.dumps({"product_id": product_id, "current_cpc": current_cpc, "target_roas": target_roas})
    response = post_raw(api, body)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        bid = ProductBid.objects.get(pk=response.json()["bid_id"])
        assert str(bid.adjusted_cpc) == str(json.loads(response.content, parse_float=Decimal)["adjusted_cpc"])
