"""Pacing: the expected line per pacing mode, the status thresholds, the forecast, and the API."""

from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.choices import CampaignStatus, Pacing as Mode
from reporting.choices import PacingStatus
from reporting.pacing import DAILY, LIFETIME, Pacing, PacingPlan, pacing_evaluate
from reporting.selectors import default_as_of, live_campaigns, pacing_for_campaigns, pacing_for_line_items
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, LineItemFactory
from tests.reporting.factories import as_of, deliver

START = date(2024, 5, 1)  # a 30-day flight: May 1 to May 30
END = date(2024, 5, 30)


def paced(spent, *, mode="even", basis=LIFETIME, budget="3000.00", as_of=date(2024, 5, 10), recent=None, end=END, cap=None):
    plan = PacingPlan(mode, basis, START, end, Decimal(budget) if budget else None, cap=Decimal(cap) if cap else None)
    return pacing_evaluate(Pacing(
        level="campaign", object_id=1, name="c", advertiser_id=1, campaign_id=1, currency="USD", plan=plan,
        as_of=as_of, spent=Decimal(spent), recent_spend=Decimal(recent if recent is not None else spent),
    ))


def test_even_pacing_expects_the_budget_in_proportion_to_elapsed_days():
    pacing = paced("1000.00")
    assert (pacing.elapsed_days, pacing.expected, pacing.even_expected) == (10, Decimal("1000.00"), Decimal("1000.00"))
    assert pacing.status == PacingStatus.ON_TRACK and pacing.pace == Decimal("1.0000")


def test_front_loaded_pacing_expects_up_to_a_quarter_more_than_even():
    assert paced("1250.00", mode=Mode.ASAP).expected == Decimal("1250.00")


def test_front_loaded_pacing_never_expects_more_than_the_budget():
    assert paced("2900.00", mode=Mode.ASAP, as_of=date(2024, 5, 28)).expected == Decimal("3000.00")


@pytest.mark.parametrize("spent,status", [
    ("899.99", PacingStatus.UNDER), ("900.00", PacingStatus.ON_TRACK), ("1100.00", PacingStatus.ON_TRACK),
    ("1100.01", PacingStatus.OVER),
])
def test_even_pacing_is_on_track_within_ten_percent_of_the_line(spent, status):
    assert paced(spent).status == status


@pytest.mark.parametrize("spent,status", [
    ("899.99", PacingStatus.UNDER), ("1000.00", PacingStatus.ON_TRACK), ("1375.00", PacingStatus.ON_TRACK),
    ("1375.01", PacingStatus.OVER),
])
def test_front_loaded_pacing_is_on_track_from_even_up_to_its_own_line(spent, status):
    assert paced(spent, mode=Mode.ASAP).status == status


def test_spend_above_the_budget_is_over_whatever_the_line():
    assert paced("3000.01", as_of=date(2024, 6, 5)).status == PacingStatus.OVER


def test_a_flight_without_a_complete_day_has_not_started():
    pacing = paced("0", as_of=date(2024, 4, 30))
    assert (pacing.elapsed_days, pacing.status) == (0, PacingStatus.NOT_STARTED)


def test_a_daily_budget_expects_the_daily_amount_per_elapsed_day():
    pacing = paced("480.00", basis=DAILY, budget="50.00", end=None)
    assert pacing.expected == Decimal("500.00") and pacing.status == PacingStatus.ON_TRACK
    assert pacing.forecast is None  # open-ended: no end to forecast


def test_a_daily_budget_is_capped_by_a_total_budget():
    pacing = paced("300.00", basis=DAILY, budget="50.00", end=None, cap="400.00")
    assert pacing.expected == Decimal("400.00")


def test_no_budget_means_unpaced():
    assert paced("10.00", basis=None, budget=None).status == PacingStatus.UNPACED


def test_the_forecast_runs_the_recent_daily_rate_to_the_end_of_the_flight():
    pacing = paced("1000.00", recent="700.00")  # 100 a day over the last 7 days, 20 days to go
    assert pacing.forecast == Decimal("3000.00")


def test_the_pacing_line_lists_the_expected_cumulative_spend_per_day():
    plan = PacingPlan(Mode.EVEN, LIFETIME, START, END, Decimal("3000.00"))
    line = plan.expected_by_day(date(2024, 6, 30))
    assert line[0] == (START, Decimal("100.00")) and line[-1] == (END, Decimal("3000.00")) and len(line) == 30


# --- reading spend ---------------------------------------------------------------------------


@pytest.fixture
def flight(advertiser):
    """A live 30-day campaign, 10 complete days in, with two evenly paced line items."""
    last = as_of(advertiser)
    campaign = CampaignFactory(advertiser=advertiser, start_date=last - timedelta(days=9), end_date=last + timedelta(days=20),
                               daily_budget=Decimal("100.00"), total_budget=Decimal("3000.00"))
    items = [LineItemFactory(campaign=campaign, budget=Decimal("1500.00")) for _ in range(2)]
    return campaign, items


@pytest.mark.django_db
def test_campaign_pacing_sums_the_spend_of_its_line_items(flight):
    campaign, items = flight
    deliver(items[0], days=10, spend=Decimal("60.00"))
    deliver(items[1], days=10, spend=Decimal("40.00"))
    [pacing] = pacing_for_campaigns([campaign])
    assert (pacing.spent, pacing.expected, pacing.status) == (Decimal("1000.00"), Decimal("1000.00"), PacingStatus.ON_TRACK)
    assert pacing.forecast == Decimal("3000.00")
    by_item = pacing_for_line_items(items)
    assert [(p.spent, p.status) for p in by_item] == [(Decimal("600.00"), PacingStatus.OVER), (Decimal("400.00"), PacingStatus.UNDER)]


@pytest.mark.django_db
def test_a_campaign_whose_line_items_all_front_load_paces_front_loaded(flight):
    campaign, items = flight
    for item in items:
        item.pacing = Mode.ASAP
        item.save()
    deliver(items[0], days=10, spend=Decimal("125.00"))
    [pacing] = pacing_for_campaigns([campaign])
    assert (pacing.plan.mode, pacing.expected, pacing.status) == (Mode.ASAP, Decimal("1250.00"), PacingStatus.ON_TRACK)


@pytest.mark.django_db
def test_spend_after_the_as_of_day_is_not_counted(flight):
    campaign, items = flight
    deliver(items[0], days=1, last=as_of(campaign.advertiser) + timedelta(days=1), spend=Decimal("999.00"))
    assert pacing_for_campaigns([campaign])[0].spent == Decimal("0.00")


@pytest.mark.django_db
def test_each_advertiser_is_paced_as_of_its_own_yesterday():
    now = datetime(2024, 5, 10, 12, 0, tzinfo=dt_timezone.utc)
    kiribati = AdvertiserFactory(timezone="Pacific/Kiritimati")  # UTC+14: already May 11
    samoa = AdvertiserFactory(timezone="Pacific/Pago_Pago")  # UTC−11: still May 10 (01:00)
    assert default_as_of(kiribati, now) == date(2024, 5, 10)
    assert default_as_of(samoa, now) == date(2024, 5, 9)


@pytest.mark.django_db
def test_live_campaigns_are_enabled_and_inside_their_flight_today(advertiser):
    today = as_of(advertiser) + timedelta(days=1)
    live = CampaignFactory(advertiser=advertiser, start_date=today, end_date=today)
    CampaignFactory(advertiser=advertiser, start_date=today + timedelta(days=1), end_date=today + timedelta(days=5))
    CampaignFactory(advertiser=advertiser, start_date=today - timedelta(days=5), end_date=today - timedelta(days=1))
    CampaignFactory(advertiser=advertiser, status=CampaignStatus.PAUSED)
    open_ended = CampaignFactory(advertiser=advertiser, start_date=today - timedelta(days=100), end_date=None, total_budget=None)
    assert set(live_campaigns()) == {live, open_ended}


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pacing_list_shows_the_callers_live_campaigns(api_for, viewer, flight, other_advertiser):
    campaign, items = flight
    deliver(items[0], days=10, spend=Decimal("100.00"))
    CampaignFactory(advertiser=other_advertiser)
    body = api_for(viewer).get("/api/v1/reporting/pacing/campaigns/").json()
    assert [(r["id"], r["spent"], r["expected"], r["status"], r["pacing"]) for r in body["results"]] == [
        (campaign.pk, "1000.00", "1000.00", "on_track", "even")
    ]
    assert body["results"][0]["forecast"] == "3000.00" and body["results"][0]["budget_basis"] == "lifetime"


@pytest.mark.django_db
def test_a_campaigns_pacing_includes_its_line_items(api_for, viewer, flight):
    campaign, items = flight
    deliver(items[0], days=10, spend=Decimal("30.00"))
    body = api_for(viewer).get(f"/api/v1/reporting/pacing/campaigns/{campaign.pk}/").json()
    assert body["status"] == "under"
    assert [(li["id"], li["spent"], li["status"]) for li in body["line_items"]] == [
        (items[0].pk, "300.00", "under"), (items[1].pk, "0.00", "under"),
    ]


@pytest.mark.django_db
def test_another_advertisers_campaign_pacing_is_not_found(api_for, viewer, other_advertiser):
    theirs = CampaignFactory(advertiser=other_advertiser)
    assert api_for(viewer).get(f"/api/v1/reporting/pacing/campaigns/{theirs.pk}/").status_code == 404
    item = LineItemFactory(campaign=theirs)
    assert api_for(viewer).get(f"/api/v1/reporting/pacing/line-items/{item.pk}/").status_code == 404


@pytest.mark.django_db
def test_line_item_pacing_lists_enabled_line_items_of_live_campaigns(api_for, viewer, flight):
    campaign, items = flight
    body = api_for(viewer).get("/api/v1/reporting/pacing/line-items/", {"campaign": campaign.pk}).json()
    assert [r["id"] for r in body["results"]] == [i.pk for i in items]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/reporting/pacing/campaigns/", "/api/v1/reporting/pacing/line-items/"])
def test_pacing_list_query_counts_do_not_depend_on_the_page_size(api_for, viewer, advertiser, url):
    for _ in range(4):
        campaign = CampaignFactory(advertiser=advertiser)
        deliver(LineItemFactory(campaign=campaign), days=2)
    api = api_for(viewer)

    def count(page_size):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url, {"page_size": page_size}).status_code == 200
        return len(captured)

    assert count(1) == count(100)
