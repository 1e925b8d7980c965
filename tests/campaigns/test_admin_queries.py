"""The console's pages cost a few queries whatever their size: changelists, change pages with
inlines, and the campaign tree view."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import ChangeRecord
from tests.campaigns.factories import (
    CampaignFactory,
    KeywordFactory,
    LineItemFactory,
    ProductAdFactory,
    ProductTargetFactory,
)
from tests.campaigns.test_admin import url

pytestmark = pytest.mark.django_db

# Measured (a staff trader, SQLite and PostgreSQL alike): 9 queries for the campaign list with 5
# rows or 60: session, user, the user's roles, the advertiser filter's choices, two counts, the
# rows, and two of Django's permission look-ups for other apps' sidebar entries. The bound is
# loose on purpose (other apps' admins join the sidebar); the point is that 60 rows cost 5 rows'.
PAGE_MAX_QUERIES = 30


def grow(advertiser, model: str, rows: int) -> None:
    """`rows` objects of `model` for `advertiser`, spread over campaigns and line items."""
    campaigns = [CampaignFactory(advertiser=advertiser) for _ in range(max(1, rows // 10))]
    line_items = [LineItemFactory(campaign=c) for c in campaigns]
    for i in range(rows):
        line_item = line_items[i % len(line_items)]
        if model == "campaign":
            LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
        elif model == "lineitem":
            KeywordFactory(line_item=LineItemFactory(campaign=campaigns[i % len(campaigns)]))
        elif model == "keyword":
            KeywordFactory(line_item=line_item)
        elif model == "productad":
            ProductAdFactory(line_item=line_item)
        elif model == "producttarget":
            ProductTargetFactory(line_item=line_item)
        elif model == "changerecord":
            ChangeRecord.objects.create(
                advertiser=advertiser, object_type="keyword", object_id=i + 1, field="bid",
                old_value="0.50", new_value="0.60",
            )


@pytest.fixture
def staff_trader(client, trader):
    trader.is_staff = True
    trader.save(update_fields=["is_staff"])
    client.force_login(trader)
    return client


def count_queries(client, path, params=None) -> int:
    client.get(path, params)  # warm-up: the first request of a session fills caches (content types …)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("model", ["campaign", "lineitem", "keyword", "productad", "producttarget", "changerecord"])
def test_a_changelists_query_count_does_not_grow_with_its_rows(
    staff_trader, advertiser, model, django_assert_max_num_queries
):
    grow(advertiser, model, 5)
    baseline = count_queries(staff_trader, url(model))
    assert baseline <= PAGE_MAX_QUERIES
    grow(advertiser, model, 55)
    with django_assert_max_num_queries(baseline):
        page = staff_trader.get(url(model))
    assert page.context["cl"].result_count >= 60


@pytest.mark.parametrize(
    "params", [{"ending": "7d"}, {"line_items": "no_active"}, {"advertiser": "mine"}, {"q": "Campaign"}],
    ids=["ending", "no-active-line-items", "advertiser", "search"],
)
def test_campaign_filters_cost_no_query_per_row(staff_trader, advertiser, params, django_assert_max_num_queries):
    params = {k: (str(advertiser.pk) if v == "mine" else v) for k, v in params.items()}
    grow(advertiser, "campaign", 5)
    baseline = count_queries(staff_trader, url("campaign"), params)
    grow(advertiser, "campaign", 55)
    with django_assert_max_num_queries(baseline):
        page = staff_trader.get(url("campaign"), params)
    assert page.status_code == 200


def test_the_campaign_page_and_its_tree_cost_the_same_for_2_or_20_line_items(staff_trader, advertiser):
    small, large = CampaignFactory(advertiser=advertiser), CampaignFactory(advertiser=advertiser)
    for campaign, size in ((small, 2), (large, 20)):
        for _ in range(size):
            line_item = LineItemFactory(campaign=campaign)
            KeywordFactory.create_batch(3, line_item=line_item)
            ProductAdFactory(line_item=line_item)
            ProductTargetFactory(line_item=line_item)
    for suffix in ("change", "tree"):
        counts = [count_queries(staff_trader, url("campaign", suffix, c.pk)) for c in (small, large)]
        assert counts[0] == counts[1], (suffix, counts)


def test_the_line_item_page_costs_the_same_for_2_or_50_keywords(staff_trader, advertiser):
    small, large = LineItemFactory(campaign__advertiser=advertiser), LineItemFactory(campaign__advertiser=advertiser)
    KeywordFactory.create_batch(2, line_item=small)
    KeywordFactory.create_batch(50, line_item=large)
    counts = [count_queries(staff_trader, url("lineitem", "change", li.pk)) for li in (small, large)]
    assert counts[0] == counts[1]


def test_the_tree_view_shows_the_whole_tree(staff_trader, advertiser):
    line_item = LineItemFactory(campaign__advertiser=advertiser, name="Video prospecting")
    KeywordFactory(line_item=line_item, text="trail running shoes")
    ProductAdFactory(line_item=line_item, sku="SKU-TRAIL-1")
    ProductTargetFactory(line_item=line_item, expression='category="Running"')
    page = staff_trader.get(url("campaign", "tree", line_item.campaign.pk)).content.decode()
    for text in ("Video prospecting", "trail running shoes", "SKU-TRAIL-1", "category=&quot;Running&quot;"):
        assert text in page
    assert "1 line item, 1 keyword, 1 product ad, 1 product target." in " ".join(page.split())


def test_the_campaign_page_links_to_its_tree(staff_trader, advertiser):
    campaign = CampaignFactory(advertiser=advertiser)
    page = staff_trader.get(url("campaign", "change", campaign.pk)).content.decode()
    assert url("campaign", "tree", campaign.pk) in page
