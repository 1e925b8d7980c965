"""What schemathesis (tests/fuzz) found in /api/v1/reporting/, kept as plain tests."""

import pytest

pytestmark = pytest.mark.django_db
URL = "/api/v1/reporting/recommendations/"


@pytest.mark.parametrize("value", [str(2**70), "-1e225", "1.5", "x"])
def test_the_recommendation_advertiser_filter_refuses_what_cannot_be_an_id(api_for, trader, value):
    # The filter was a choice of every advertiser (filterset_fields): an id past BIGINT reached the
    # database (500 on SQLite).
    response = api_for(trader).get(URL, {"advertiser": value})
    assert response.status_code == 400, response.content
    assert "advertiser" in response.json()


def test_another_advertisers_id_filters_to_nothing_like_a_missing_one(api_for, trader, other_advertiser):
    # Not "does not exist" for one and an empty list for the other: which ids exist stays unknown.
    client = api_for(trader)
    assert client.get(URL, {"advertiser": other_advertiser.pk}).json()["count"] == 0
    assert client.get(URL, {"advertiser": other_advertiser.pk + 1000}).json()["count"] == 0
