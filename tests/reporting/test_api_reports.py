"""/api/v1/reporting/report/ and /performance/: grouped sums and metrics, filters, tenancy."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.choices import Phase
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, LineItemFactory
from tests.reporting.factories import DailyPerformanceFactory, as_of, deliver

pytestmark = pytest.mark.django_db
URL = "/api/v1/reporting/report/"


@pytest.fixture
def delivery(advertiser):
    """Two campaigns of the advertiser: "Alpha" (2 line items) and "Beta", 3 days each."""
    alpha = CampaignFactory(advertiser=advertiser, name="Alpha", phase=Phase.AWARENESS)
    beta = CampaignFactory(advertiser=advertiser, name="Beta", phase=Phase.CONVERSION)
    items = [LineItemFactory(campaign=alpha, name="A1"), LineItemFactory(campaign=alpha, name="A2"),
             LineItemFactory(campaign=beta, name="B1")]
    for item, spend, sales in zip(items, ("10.00", "20.00", "30.00"), ("50.00", "20.00", "30.00")):
        deliver(item, days=3, impressions=1000, clicks=10, conversions=2, spend=Decimal(spend), sales=Decimal(sales))
    return {"alpha": alpha, "beta": beta, "items": items, "last": as_of(advertiser)}


def params(delivery, **extra):
    last = delivery["last"]
    return {"start": (last - timedelta(days=6)).isoformat(), "end": last.isoformat(), **extra}


def get(api_for, user, **query):
    return api_for(user).get(URL, query)


def test_a_report_by_campaign_sums_and_computes_metrics_per_campaign(api_for, viewer, delivery):
    response = get(api_for, viewer, **params(delivery, group_by="campaign"))
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert [(r["campaign_name"], r["spend"], r["sales"], r["roas"], r["impressions"]) for r in rows] == [
        ("Alpha", "90.00", "210.00", "2.3333", 6000),
        ("Beta", "90.00", "90.00", "1.0000", 3000),
    ]
    assert rows[0]["ctr"] == "0.010000" and rows[0]["cpa"] == "7.5000" and rows[0]["currency"] == "USD"


def test_the_totals_cover_the_whole_range_not_only_the_page(api_for, viewer, delivery):
    body = get(api_for, viewer, **params(delivery, group_by="line_item", page_size=1)).json()
    assert len(body["results"]) == 1 and body["count"] == 3
    assert body["totals"] == [{**body["totals"][0], "currency": "USD", "spend": "180.00", "sales": "300.00", "roas": "1.6667"}]


def test_a_report_by_day_has_one_row_per_day(api_for, viewer, delivery):
    rows = get(api_for, viewer, **params(delivery, group_by="day")).json()["results"]
    last = delivery["last"]
    assert [r["date"] for r in rows] == [(last - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert {r["spend"] for r in rows} == {"60.00"}


def test_a_report_by_week_groups_days_from_monday(api_for, viewer, delivery):
    rows = get(api_for, viewer, **params(delivery, group_by="week")).json()["results"]
    last = delivery["last"]
    mondays = sorted({(last - timedelta(days=n)) - timedelta(days=(last - timedelta(days=n)).weekday()) for n in range(3)})
    assert [r["week"] for r in rows] == [m.isoformat() for m in mondays]
    assert sum(Decimal(r["spend"]) for r in rows) == Decimal("180.00")


def test_a_report_by_phase_and_campaign_and_day_groups_by_all_three(api_for, viewer, delivery):
    rows = get(api_for, viewer, **params(delivery, group_by="phase,campaign,day")).json()["results"]
    assert len(rows) == 6
    assert rows[0]["phase"] == "awareness" and rows[0]["campaign_name"] == "Alpha"


def test_filters_narrow_the_rows(api_for, viewer, delivery):
    by_campaign = get(api_for, viewer, **params(delivery, group_by="line_item", campaign=delivery["beta"].pk)).json()
    assert [r["line_item_name"] for r in by_campaign["results"]] == ["B1"]
    by_phase = get(api_for, viewer, **params(delivery, group_by="line_item", phase="awareness")).json()
    assert [r["line_item_name"] for r in by_phase["results"]] == ["A1", "A2"]
    by_item = get(api_for, viewer, **params(delivery, group_by="campaign", line_item=delivery["items"][1].pk)).json()
    assert by_item["results"][0]["spend"] == "60.00"


def test_rows_can_be_ordered_by_a_metric(api_for, viewer, delivery):
    rows = get(api_for, viewer, **params(delivery, group_by="line_item", ordering="-roas")).json()["results"]
    assert [r["line_item_name"] for r in rows] == ["A1", "A2", "B1"]  # 5.0, 1.0, 1.0 (ties by name)


def test_money_is_never_added_across_currencies(api_for, superuser, delivery):
    euro = CampaignFactory(advertiser=AdvertiserFactory(currency="EUR", country="DE", timezone="Europe/Berlin"))
    deliver(LineItemFactory(campaign=euro), days=1, last=delivery["last"], spend=Decimal("7.00"))
    body = get(api_for, superuser, **params(delivery, group_by="day")).json()
    last_day = [r for r in body["results"] if r["date"] == delivery["last"].isoformat()]
    assert {(r["currency"], r["spend"]) for r in last_day} == {("EUR", "7.00"), ("USD", "60.00")}
    assert [t["currency"] for t in body["totals"]] == ["EUR", "USD"]


@pytest.mark.parametrize("query,field", [
    ({"group_by": "campaign", "start": "2024-05-02", "end": "2024-05-01"}, "end"),
    ({"group_by": "campaign", "start": "2023-01-01", "end": "2024-05-01"}, "end"),
    ({"group_by": "country", "start": "2024-05-01", "end": "2024-05-01"}, "group_by"),
    ({"group_by": "day,day", "start": "2024-05-01", "end": "2024-05-01"}, "group_by"),
    ({"group_by": "day,week,campaign,phase", "start": "2024-05-01", "end": "2024-05-01"}, "group_by"),
    ({"start": "2024-05-01", "end": "2024-05-01"}, "group_by"),
    ({"group_by": "day", "start": "May 1", "end": "2024-05-01"}, "start"),
    ({"group_by": "day", "start": "2024-05-01", "end": "2024-05-01", "ordering": "-password"}, "ordering"),
    ({"group_by": "day", "start": "2024-05-01", "end": "2024-05-01", "campaign": "x"}, "campaign"),
    ({"group_by": "day", "start": "2024-05-01", "end": "2024-05-01", "phase": "retention"}, "phase"),
])
def test_bad_parameters_are_refused_with_the_field(api_for, viewer, query, field):
    response = get(api_for, viewer, **query)
    assert response.status_code == 400
    assert field in response.json()


# --- tenancy -------------------------------------------------------------------------------


def test_another_advertisers_rows_are_never_in_a_report(api_for, viewer, delivery, other_advertiser):
    deliver(LineItemFactory(campaign__advertiser=other_advertiser), days=3, spend=Decimal("999.00"))
    body = get(api_for, viewer, **params(delivery, group_by="advertiser")).json()
    assert [(r["advertiser_name"], r["spend"]) for r in body["results"]] == [("Acme Outdoor", "180.00")]
    assert body["totals"][0]["spend"] == "180.00"


@pytest.mark.parametrize("kind", ["advertiser", "campaign", "line_item"])
def test_filtering_by_another_advertisers_object_is_not_found(api_for, viewer, delivery, other_advertiser, kind):
    theirs = LineItemFactory(campaign__advertiser=other_advertiser)
    ids = {"advertiser": other_advertiser.pk, "campaign": theirs.campaign_id, "line_item": theirs.pk}
    response = get(api_for, viewer, **params(delivery, group_by="day", **{kind: ids[kind]}))
    missing = get(api_for, viewer, **params(delivery, group_by="day", **{kind: 10**9}))
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()


def test_a_user_without_memberships_sees_an_empty_report(api_for, delivery, make_member):
    loner = make_member(AdvertiserFactory(), "manager")
    body = get(api_for, loner, **params(delivery, group_by="campaign")).json()
    assert body["count"] == 0 and body["totals"] == []


def test_anonymous_reports_are_refused(anon_api, delivery):
    assert anon_api.get(URL, params(delivery, group_by="day")).status_code == 401


def queries_for(api, url, query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url, query).status_code == 200
    return len(captured)


def test_the_report_query_count_does_not_depend_on_the_page_size(api_for, viewer, delivery):
    api = api_for(viewer)
    small = queries_for(api, URL, params(delivery, group_by="line_item,day", page_size=1))
    large = queries_for(api, URL, params(delivery, group_by="line_item,day", page_size=500))
    assert small == large


# --- daily rows ----------------------------------------------------------------------------


def test_daily_rows_carry_their_own_metrics_and_only_the_callers(api_for, viewer, delivery, other_advertiser):
    deliver(LineItemFactory(campaign__advertiser=other_advertiser), days=1)
    body = api_for(viewer).get("/api/v1/reporting/performance/", {"campaign": delivery["alpha"].pk, "page_size": 100}).json()
    assert body["count"] == 6
    row = body["results"][0]
    assert row["campaign"] == delivery["alpha"].pk and row["currency"] == "USD"
    assert row["roas"] in ("5.0000", "1.0000") and row["ctr"] == "0.010000"
    everything = api_for(viewer).get("/api/v1/reporting/performance/", {"page_size": 100}).json()
    assert everything["count"] == 9


def test_another_advertisers_daily_row_is_not_found(api_for, viewer, other_advertiser):
    theirs = DailyPerformanceFactory(line_item__campaign__advertiser=other_advertiser)
    assert api_for(viewer).get(f"/api/v1/reporting/performance/{theirs.pk}/").status_code == 404


def test_the_daily_rows_query_count_does_not_depend_on_the_page_size(api_for, viewer, delivery):
    api = api_for(viewer)
    url = "/api/v1/reporting/performance/"
    assert queries_for(api, url, {"page_size": 1}) == queries_for(api, url, {"page_size": 500})
