"""Changelist filters and search answer account managers' questions."""

from datetime import timedelta

import pytest

from campaigns.admin_console import access
from campaigns.choices import CampaignStatus, EntityState, Role
from campaigns.models import Campaign, Membership
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, KeywordFactory, LineItemFactory
from tests.campaigns.test_admin import staff_login, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client):
    return staff_login(client)


def names(page) -> set[str]:
    return {str(obj) for obj in page.context["cl"].result_list}


def test_ending_in_7_days_counts_days_in_each_advertisers_time_zone(console, trader, advertiser):
    today = advertiser.today()
    CampaignFactory(advertiser=advertiser, name="Ends today", end_date=today)
    CampaignFactory(advertiser=advertiser, name="Ends in a week", end_date=today + timedelta(days=7))
    CampaignFactory(advertiser=advertiser, name="Ends later", end_date=today + timedelta(days=8))
    CampaignFactory(advertiser=advertiser, name="Open-ended", end_date=None)
    CampaignFactory(advertiser=advertiser, name="Ended", start_date=today - timedelta(days=30),
                    end_date=today - timedelta(days=1))
    CampaignFactory(advertiser=advertiser, name="Archived soon", end_date=today, status=CampaignStatus.ARCHIVED)
    tokyo = AdvertiserFactory(timezone="Asia/Tokyo")
    Membership.objects.create(user=trader, advertiser=tokyo, role=Role.VIEWER)
    CampaignFactory(advertiser=tokyo, name="Tokyo ends today", end_date=tokyo.today(),
                    start_date=tokyo.today() - timedelta(days=3))
    client = console(trader)
    assert names(client.get(url("campaign"), {"ending": "7d"})) == {"Ends today", "Ends in a week", "Tokyo ends today"}
    assert names(client.get(url("campaign"), {"ending": "ended"})) == {"Ended"}


def test_no_active_line_items_finds_campaigns_that_cannot_spend(console, trader, advertiser):
    LineItemFactory(campaign__advertiser=advertiser, campaign__name="Spending")
    LineItemFactory(campaign__advertiser=advertiser, campaign__name="All paused", status=EntityState.PAUSED)
    CampaignFactory(advertiser=advertiser, name="Empty")
    client = console(trader)
    assert names(client.get(url("campaign"), {"line_items": "no_active"})) == {"All paused", "Empty"}
    assert names(client.get(url("campaign"), {"line_items": "none"})) == {"Empty"}


def test_the_advertiser_filter_offers_only_visible_advertisers(console, trader, advertiser, other_advertiser):
    page = console(trader).get(url("keyword"))
    spec = next(f for f in page.context["cl"].filter_specs if f.parameter_name == "advertiser")
    assert [label for _, label in spec.lookup_choices] == ["Acme Outdoor"]
    assert "Rival Goods" not in page.content.decode()


def test_filtering_by_another_advertiser_shows_nothing(console, trader, other_advertiser):
    KeywordFactory(line_item__campaign__advertiser=other_advertiser)
    page = console(trader).get(url("keyword"), {"advertiser": other_advertiser.pk})
    assert page.status_code == 200 and list(page.context["cl"].result_list) == []


def test_line_items_filter_by_format_and_campaign_status(console, trader, advertiser):
    LineItemFactory(campaign__advertiser=advertiser, name="Video live", format="video")
    LineItemFactory(campaign__advertiser=advertiser, name="Display paused", format="display",
                    campaign__status=CampaignStatus.PAUSED)
    client = console(trader)
    assert names(client.get(url("lineitem"), {"format__exact": "video"})) == {"Video live"}
    assert names(client.get(url("lineitem"), {"campaign__status__exact": "paused"})) == {"Display paused"}


def test_keywords_filter_by_match_type_and_own_bid(console, trader, advertiser):
    line_item = LineItemFactory(campaign__advertiser=advertiser)
    KeywordFactory(line_item=line_item, text="trail shoes", match_type="exact", bid="0.40")
    KeywordFactory(line_item=line_item, text="running", match_type="broad", bid=None)
    client = console(trader)
    assert {k.text for k in client.get(url("keyword"), {"match_type__exact": "broad"}).context["cl"].result_list} == {
        "running"
    }
    assert {k.text for k in client.get(url("keyword"), {"bid": "own"}).context["cl"].result_list} == {"trail shoes"}


def test_search_by_name_and_through_the_external_id_hook(console, trader, advertiser, other_advertiser):
    wanted = CampaignFactory(advertiser=advertiser, name="Holiday push")
    CampaignFactory(advertiser=advertiser, name="Spring")
    rival = CampaignFactory(advertiser=other_advertiser, name="Rival")
    client = console(trader)
    assert names(client.get(url("campaign"), {"q": "holiday"})) == {"Holiday push"}

    def by_external_id(*, model, term):
        # What integrations will register: its refs say which objects carry this external id.
        return [wanted.pk, rival.pk] if model is Campaign and term == "AMZN-123" else None

    access.register_external_id_search(by_external_id)
    try:
        assert names(client.get(url("campaign"), {"q": "AMZN-123"})) == {"Holiday push"}  # never the rival's
    finally:
        access.EXTERNAL_ID_SEARCHES.remove(by_external_id)
