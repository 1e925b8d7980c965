"""List endpoints: filters, search, ordering, pagination, and a query count that does not grow
with the page size."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from campaigns.choices import CampaignStatus, EntityState, Phase
from campaigns.models import ChangeRecord, Membership
from tests.campaigns.factories import (
    AdvertiserFactory,
    CampaignFactory,
    ChangeRecordFactory,
    KeywordFactory,
    LineItemFactory,
    ProductAdFactory,
    ProductTargetFactory,
    UserFactory,
    campaign_tree,
    member_of,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"


@pytest.fixture
def manager_user(advertiser):
    return member_of(advertiser, "manager")


@pytest.fixture
def client(api_for, manager_user):
    return api_for(manager_user)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- Query counts ---------------------------------------------------------------------------

ROWS = 55


def many_rows(endpoint, advertiser, member):
    """ROWS rows for `endpoint`, spread over several parents, all visible to `member`."""
    if endpoint == "advertisers":
        for _ in range(ROWS):
            Membership.objects.create(user=member, advertiser=AdvertiserFactory(), role="viewer")
    elif endpoint == "memberships":
        for _ in range(ROWS):
            Membership.objects.create(user=UserFactory(password=None), advertiser=advertiser, role="viewer")
    elif endpoint == "campaigns":
        CampaignFactory.create_batch(ROWS, advertiser=advertiser)
    elif endpoint == "line-items":
        for _ in range(ROWS):
            LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
    elif endpoint == "changes":
        ChangeRecordFactory.create_batch(ROWS, advertiser=advertiser, changed_by=UserFactory(password=None))
    else:
        factory = {"keywords": KeywordFactory, "product-ads": ProductAdFactory, "product-targets": ProductTargetFactory}
        for _ in range(ROWS // 5 + 1):
            line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
            factory[endpoint].create_batch(5, line_item=line_item)


LIST_ENDPOINTS = ["advertisers", "memberships", "campaigns", "line-items", "keywords", "product-ads",
                  "product-targets", "changes"]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_a_list_costs_the_same_queries_for_5_or_50_rows(
    client, manager_user, advertiser, endpoint, django_assert_max_num_queries
):
    many_rows(endpoint, advertiser, manager_user)
    # token, count, page: the tenancy scope is a subquery, parents come with select_related.
    with django_assert_max_num_queries(3):
        small = client.get(f"{BASE}/{endpoint}/", {"page_size": 5})
    with django_assert_max_num_queries(3):
        large = client.get(f"{BASE}/{endpoint}/", {"page_size": 50})
    assert len(small.json()["results"]) == 5 and len(large.json()["results"]) == 50


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_a_superusers_list_costs_the_same_queries_for_5_or_50_rows(
    api_for, superuser, advertiser, manager_user, endpoint, django_assert_max_num_queries
):
    many_rows(endpoint, advertiser, manager_user)
    client = api_for(superuser)
    with django_assert_max_num_queries(3):
        client.get(f"{BASE}/{endpoint}/", {"page_size": 5})
    with django_assert_max_num_queries(3):
        client.get(f"{BASE}/{endpoint}/", {"page_size": 50})


# --- Filters, search, ordering --------------------------------------------------------------


def test_campaigns_filter_by_status_phase_advertiser_and_dates(client, manager_user, advertiser):
    second = AdvertiserFactory()
    Membership.objects.create(user=manager_user, advertiser=second, role="viewer")
    today = date.today()
    enabled = CampaignFactory(advertiser=advertiser, status=CampaignStatus.ENABLED, phase=Phase.AWARENESS,
                              start_date=today - timedelta(days=30))
    paused = CampaignFactory(advertiser=advertiser, status=CampaignStatus.PAUSED, phase=Phase.CONVERSION,
                             start_date=today - timedelta(days=5))
    elsewhere = CampaignFactory(advertiser=second, status=CampaignStatus.DRAFT, start_date=today)
    url = f"{BASE}/campaigns/"
    assert ids(client.get(url, {"status": "paused"})) == [paused.pk]
    assert sorted(ids(client.get(url, {"status": ["paused", "enabled"]}))) == sorted([enabled.pk, paused.pk])
    assert ids(client.get(url, {"phase": "awareness"})) == [enabled.pk]
    assert ids(client.get(url, {"advertiser": second.pk})) == [elsewhere.pk]
    after = (today - timedelta(days=10)).isoformat()
    assert sorted(ids(client.get(url, {"start_date_after": after}))) == sorted([paused.pk, elsewhere.pk])
    assert ids(client.get(url, {"start_date_before": after})) == [enabled.pk]


def test_campaigns_search_by_name_and_order_by_budget(client, advertiser):
    small = CampaignFactory(advertiser=advertiser, name="Spring tents", daily_budget=Decimal("10.00"))
    large = CampaignFactory(advertiser=advertiser, name="Spring boots", daily_budget=Decimal("90.00"))
    CampaignFactory(advertiser=advertiser, name="Winter coats")
    url = f"{BASE}/campaigns/"
    assert ids(client.get(url, {"search": "spring", "ordering": "daily_budget"})) == [small.pk, large.pk]
    assert ids(client.get(url, {"search": "spring", "ordering": "-daily_budget"})) == [large.pk, small.pk]


def test_line_items_filter_by_campaign_status_format_and_phase(client, advertiser):
    tree = campaign_tree(advertiser, phase=Phase.AWARENESS)
    video = LineItemFactory(campaign=tree.campaign, name="Outstream prospecting", format="video", status=EntityState.PAUSED)
    other = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser, phase=Phase.CONVERSION))
    url = f"{BASE}/line-items/"
    assert sorted(ids(client.get(url, {"campaign": tree.campaign.pk}))) == sorted([tree.line_item.pk, video.pk])
    assert ids(client.get(url, {"ad_format": "video"})) == [video.pk]
    assert ids(client.get(url, {"status": "paused"})) == [video.pk]
    assert ids(client.get(url, {"phase": "conversion"})) == [other.pk]
    assert ids(client.get(url, {"search": video.name})) == [video.pk]


def test_keywords_filter_search_and_order(client, advertiser):
    tree = campaign_tree(advertiser)
    cheap = KeywordFactory(line_item=tree.line_item, text="cheap tents", bid=Decimal("0.20"), match_type="broad")
    dear = KeywordFactory(line_item=tree.line_item, text="luxury tents", bid=Decimal("5.00"), state=EntityState.PAUSED)
    elsewhere = campaign_tree(advertiser).keyword
    url = f"{BASE}/keywords/"
    assert ids(client.get(url, {"search": "tents", "ordering": "-bid"})) == [dear.pk, cheap.pk]
    assert ids(client.get(url, {"match_type": "broad"})) == [cheap.pk]
    assert ids(client.get(url, {"state": "paused"})) == [dear.pk]
    assert ids(client.get(url, {"line_item": elsewhere.line_item_id})) == [elsewhere.pk]
    assert ids(client.get(url, {"campaign": elsewhere.line_item.campaign_id})) == [elsewhere.pk]
    assert len(ids(client.get(url, {"advertiser": advertiser.pk}))) == 4


def test_product_ads_search_by_sku_and_asin(client, advertiser):
    tree = campaign_tree(advertiser)
    ad = ProductAdFactory(line_item=tree.line_item, sku="TENT-2P-GREEN", asin="B0TENT0001")
    url = f"{BASE}/product-ads/"
    assert ids(client.get(url, {"search": "tent-2p"})) == [ad.pk]
    assert ids(client.get(url, {"search": "B0TENT"})) == [ad.pk]
    assert ids(client.get(url, {"asin": "B0TENT0001"})) == [ad.pk]


def test_product_targets_filter_by_negative_and_search_expression(client, advertiser):
    tree = campaign_tree(advertiser)
    negative = ProductTargetFactory(line_item=tree.line_item, expression='category="Tents"', negative=True, bid=None)
    url = f"{BASE}/product-targets/"
    assert ids(client.get(url, {"negative": "true"})) == [negative.pk]
    assert ids(client.get(url, {"search": "tents"})) == [negative.pk]


def test_the_history_lists_a_keywords_bid_changes_newest_first(client, advertiser):
    keyword = campaign_tree(advertiser).keyword
    for bid in ("0.60", "0.70"):
        assert client.patch(f"{BASE}/keywords/{keyword.pk}/", {"bid": bid}, format="json").status_code == 200
    ChangeRecordFactory(advertiser=advertiser, object_type="campaign", object_id=keyword.pk)
    body = client.get(f"{BASE}/changes/", {"object_type": "keyword", "object_id": keyword.pk}).json()
    assert [(r["old_value"], r["new_value"], r["source"]) for r in body["results"]] == [
        ("0.60", "0.70", "api"), ("0.50", "0.60", "api")]


def test_the_history_is_read_only(client, advertiser):
    record = ChangeRecordFactory(advertiser=advertiser)
    url = f"{BASE}/changes/{record.pk}/"
    assert client.get(url).json()["new_value"] == "150.00"
    assert client.patch(url, {"new_value": "1"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert client.post(f"{BASE}/changes/", {}, format="json").status_code == 405
    assert ChangeRecord.objects.get(pk=record.pk).new_value == "150.00"


def test_advertisers_search_and_filter(api_for, superuser):
    AdvertiserFactory(name="Acme Outdoor", country="US")
    berlin = AdvertiserFactory(name="Berlin Bikes", country="DE", currency="EUR")
    client = api_for(superuser)
    assert ids(client.get(f"{BASE}/advertisers/", {"country": "DE"})) == [berlin.pk]
    assert ids(client.get(f"{BASE}/advertisers/", {"search": "bikes"})) == [berlin.pk]


def test_memberships_filter_by_role(client, advertiser):
    trader = member_of(advertiser, "trader")
    rows = client.get(f"{BASE}/memberships/", {"role": "trader"}).json()["results"]
    assert [row["user"] for row in rows] == [trader.pk]


def test_pages_follow_the_settings_and_the_page_size_parameter(client, advertiser):
    CampaignFactory.create_batch(7, advertiser=advertiser)
    body = client.get(f"{BASE}/campaigns/", {"page_size": 3, "page": 3}).json()
    assert body["count"] == 7 and len(body["results"]) == 1 and body["next"] is None


def test_list_rows_carry_their_parents_ids(client, advertiser):
    tree = campaign_tree(advertiser)
    row = client.get(f"{BASE}/product-targets/").json()["results"][0]
    assert (row["line_item"], row["campaign"], row["advertiser"]) == (tree.line_item.pk, tree.campaign.pk, advertiser.pk)
    assert row["bid"] == "0.60"

