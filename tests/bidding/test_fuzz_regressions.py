"""What schemathesis (tests/fuzz) found in /api/v1/bidding/, kept as plain tests."""

import pytest

from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [str(2**70), "-1e225", "1.5"])
def test_the_product_filter_refuses_what_cannot_be_a_product_id(api, value):
    # A NumberFilter (decimal) passed a number past BIGINT to the database: 500 on SQLite.
    response = api.get("/api/v1/bidding/bids/", {"product": value})
    assert response.status_code == 400, response.content
    assert "product" in response.json()


def test_the_product_filter_still_filters(api):
    bid = ProductBidFactory(product_id=4242)
    ProductBidFactory(product_id=4243)
    response = api.get("/api/v1/bidding/bids/", {"product": 4242})
    assert [row["id"] for row in response.json()["results"]] == [bid.pk]


@pytest.mark.parametrize("parameter", ["calculated_after", "calculated_before"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+00:09", "9999-12-31T23:59:59-00:09"])
def test_a_date_time_filter_outside_utcs_range_is_a_400(api, parameter, value):
    # Valid ISO 8601, outside year 1–9999 once in UTC: OverflowError in the database layer (500).
    response = api.get("/api/v1/bidding/bids/", {parameter: value})
    assert response.status_code == 400, response.content
    assert parameter in response.json()
