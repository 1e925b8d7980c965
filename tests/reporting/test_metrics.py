"""Metrics are SQL expressions over summed columns; zero denominators give None, never errors."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reporting.metrics import metric_expressions, row_metric_expressions, sum_expressions
from reporting.models import DailyPerformance
from reporting.reports import report_for
from tests.reporting.factories import DailyPerformanceFactory, as_of

pytestmark = pytest.mark.django_db


def totals():
    return DailyPerformance.objects.aggregate(**sum_expressions(), **metric_expressions())


def test_every_metric_is_computed_from_the_summed_columns():
    DailyPerformanceFactory(
        impressions=10_000, clicks=125, conversions=5, spend=Decimal("50.00"), sales=Decimal("200.00"),
        viewable_impressions=6_000, measurable_impressions=8_000, video_starts=400, video_completions=300,
    )
    row = totals()
    assert row["ctr"] == Decimal("0.012500")
    assert row["cpc"] == Decimal("0.4000")
    assert row["cpm"] == Decimal("5.0000")
    assert row["cpa"] == Decimal("10.0000")
    assert row["roas"] == Decimal("4.0000")
    assert row["acos"] == Decimal("0.250000")
    assert row["viewability_rate"] == Decimal("0.750000")
    assert row["video_completion_rate"] == Decimal("0.750000")


def test_metrics_of_a_group_are_ratios_of_sums_not_averages_of_ratios():
    first = DailyPerformanceFactory(impressions=1_000, clicks=100, viewable_impressions=0, measurable_impressions=0)
    DailyPerformanceFactory(line_item=first.line_item, date=first.date - timedelta(days=1), impressions=9_000, clicks=0)
    assert totals()["ctr"] == Decimal("0.010000")  # 100 / 10,000, not (10 % + 0 %) / 2


def test_zero_denominators_give_none_for_every_metric():
    DailyPerformanceFactory(
        impressions=0, clicks=0, conversions=0, spend=Decimal("0"), sales=Decimal("0"),
        viewable_impressions=0, measurable_impressions=0, video_starts=0, video_completions=0,
    )
    row = totals()
    assert {name: row[name] for name in row_metric_expressions()} == dict.fromkeys(row_metric_expressions())


def test_spend_without_sales_has_a_roas_of_zero_and_no_acos():
    DailyPerformanceFactory(spend=Decimal("10.00"), sales=Decimal("0"), conversions=0)
    row = totals()
    assert row["roas"] == Decimal("0.0000")
    assert row["acos"] is None
    assert row["cpa"] is None


def test_an_empty_range_has_zero_sums_and_no_metrics():
    row = totals()
    assert row["sum_spend"] == Decimal("0.00") and row["sum_impressions"] == 0
    assert row["roas"] is None and row["ctr"] is None


def test_row_metrics_are_available_per_day():
    DailyPerformanceFactory(clicks=50, impressions=1_000, spend=Decimal("12.50"))
    row = DailyPerformance.objects.annotate(**row_metric_expressions()).get()
    assert (row.ctr, row.cpc, row.cpm) == (Decimal("0.050000"), Decimal("0.2500"), Decimal("12.5000"))


def test_a_grouped_report_gives_none_for_the_group_with_no_clicks(advertiser):
    kept = DailyPerformanceFactory(line_item__campaign__advertiser=advertiser, clicks=0, spend=Decimal("5.00"))
    day = as_of(advertiser)
    [row] = report_for(group_by=("line_item",), start=day, end=day)
    assert row["line_item_id"] == kept.line_item_id
    assert row["cpc"] is None
    assert row["cpm"] == Decimal("0.5000")
