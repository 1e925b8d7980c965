from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bidding.models import ProductBid
from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/bidding/bids/"


def test_create_answers_201_with_the_full_object(api):
    response = api.post(URL, {"product_id": 5, "current_cpc": "0.7", "target_roas": "150"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["adjusted_cpc"] == "1.05"
    assert body["current_cpc"] == "0.7000" and body["target_roas"] == "150.0000"
    assert set(body) == {"id", "product_id", "current_cpc", "target_roas", "adjusted_cpc", "calculated_at"}
    assert ProductBid.objects.get(pk=body["id"]).adjusted_cpc == Decimal("1.05")


@pytest.mark.parametrize(
    "payload,field",
    [({"product_id": 0, "current_cpc": "1", "target_roas": "1"}, "product_id"),
     ({"product_id": True, "current_cpc": "1", "target_roas": "1"}, "product_id"),
     ({"product_id": 1, "current_cpc": "-1", "target_roas": "1"}, "current_cpc"),
     ({"product_id": 1, "current_cpc": "NaN", "target_roas": "1"}, "current_cpc"),
     ({"product_id": 1, "current_cpc": "Infinity", "target_roas": "1"}, "current_cpc"),
     ({"product_id": 1, "current_cpc": "1.00001", "target_roas": "1"}, "current_cpc"),
     ({"product_id": 1, "current_cpc": "1", "target_roas": "0"}, "target_roas"),
     ({"product_id": 1, "current_cpc": "1", "target_roas": "100000.0001"}, "target_roas"),
     ({"product_id": 1, "current_cpc": "1"}, "target_roas")],
)
def test_create_refuses_bad_input_in_drf_shape(api, payload, field):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert ProductBid.objects.count() == 0


def test_list_filters_by_product_and_date_range_and_paginates(api):
    now = timezone.now()
    ProductBidFactory(product_id=1, calculated_at=now - timedelta(days=10))
    recent = ProductBidFactory(product_id=1, calculated_at=now - timedelta(days=1))
    ProductBidFactory(product_id=2, calculated_at=now - timedelta(days=1))
    after = (now - timedelta(days=2)).isoformat()
    body = api.get(URL, {"product": 1, "calculated_after": after}).json()
    assert body["count"] == 1 and body["results"][0]["id"] == recent.pk
    page = api.get(URL, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_list_query_count_does_not_grow_with_page_size(api, django_assert_max_num_queries):
    ProductBidFactory.create_batch(60)
    with django_assert_max_num_queries(4):
        api.get(URL, {"page_size": 5})
    with django_assert_max_num_queries(4):
        api.get(URL, {"page_size": 60})


def test_retrieve_and_unknown_id(api):
    bid = ProductBidFactory()
    assert api.get(f"{URL}{bid.pk}/").json()["id"] == bid.pk
    assert api.get(f"{URL}{bid.pk + 999}/").status_code == 404


def test_bids_cannot_be_changed_or_deleted(api):
    bid = ProductBidFactory()
    assert api.patch(f"{URL}{bid.pk}/", {"current_cpc": "9"}, format="json").status_code == 405
    assert api.delete(f"{URL}{bid.pk}/").status_code == 405


def test_a_bad_date_filter_is_a_400_not_a_500(api):
    assert api.get(URL, {"calculated_after": "yesterday-ish"}).status_code == 400
