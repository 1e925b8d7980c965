"""The console dashboards' data and charts, per advertiser and per campaign.

Each builder returns a template context: pacing rows, and the charts as SVG (reporting.charts):
cumulative spend against the pacing line, daily impressions / clicks / conversions, the
viewability trend and the best and worst line items by ROAS. The caller has already checked
that the user may see the advertiser or campaign; every query here is bounded by it.
"""

from datetime import date, timedelta
from decimal import Decimal

from campaigns.models import Advertiser, Campaign, LineItem
from reporting.charts import PALETTE, Bar, Series, bar_chart, line_chart, ranking_chart
from reporting.metrics import METRICS, metric_expressions, sum_alias, sum_expressions, summed
from reporting.models import VALUE_FIELDS, BudgetRecommendation, DailyPerformance
from reporting.selectors import (
    default_as_of,
    daily_series,
    line_items_by_roas,
    live_campaigns,
    pacing_for_campaigns,
    pacing_for_line_items,
)

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _amount(currency: str):
    return lambda value: f"{Decimal(value):,.2f} {currency}"


def _count(value) -> str:
    return f"{int(value):,}"


def _percent(value) -> str:
    return "—" if value is None else f"{Decimal(value):.1f} %"


def _roas(value) -> str:
    return "—" if value is None else f"{Decimal(value):.2f}"


def _cumulative(points: list[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    total, out = Decimal("0.00"), []
    for day, value in points:
        total += value
        out.append((day, total))
    return out


def _delivery_charts(series: list[dict], currency: str, prefix: str) -> dict:
    def bars(key, label):
        return bar_chart(
            name=f"{prefix}-{key}", title=f"Daily {label}", fmt=_count,
            series=Series(key, [(row["date"], row[key]) for row in series], PALETTE[key], label=label),
        )

    viewability = [
        (row["date"], None if row["viewability_rate"] is None else (row["viewability_rate"] * 100).quantize(Decimal("0.1")))
        for row in series
    ]
    return {
        "impressions_chart": bars("impressions", "impressions"),
        "clicks_chart": bars("clicks", "clicks"),
        "conversions_chart": bars("conversions", "conversions"),
        "viewability_chart": line_chart(
            name=f"{prefix}-viewability", title="Viewability rate (viewable / measurable impressions)",
            series=[Series("viewability", viewability, PALETTE["viewability"], label="viewability %")],
            fmt=_percent, axis_fmt=lambda v: f"{v:.0f} %", y_max=100,
        ),
    }


def _roas_charts(line_items, start: date, end: date, prefix: str) -> dict:
    top, bottom = line_items_by_roas(line_items=line_items, start=start, end=end)

    def bars(items):
        return [
            Bar(str(li.pk), f"{li.name}", li.roas, note=f"(spend {li.sum_spend:,.2f}, sales {li.sum_sales:,.2f})")
            for li in items
        ]

    return {
        "top_roas_chart": ranking_chart(name=f"{prefix}-top-roas", title="Top line items by ROAS", bars=bars(top), color=PALETTE["good"], fmt=_roas),
        "bottom_roas_chart": ranking_chart(name=f"{prefix}-bottom-roas", title="Bottom line items by ROAS", bars=bars(bottom), color=PALETTE["bad"], fmt=_roas),
    }


def _range(as_of: date, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or as_of
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        start, end = end, start
    return max(start, end - timedelta(days=MAX_DAYS - 1)), end


def advertiser_dashboard(*, advertiser: Advertiser, start: date | None = None, end: date | None = None) -> dict:
    as_of = default_as_of(advertiser)
    start, end = _range(as_of, start, end)
    campaigns = list(live_campaigns(Campaign.objects.filter(advertiser=advertiser)).select_related("advertiser").order_by("name", "pk"))
    pacing = pacing_for_campaigns(campaigns)
    performance = DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser)
    series = daily_series(performance=performance, start=start, end=end)
    currency = advertiser.currency

    # Spend of the live campaigns against the sum of their pacing lines, both from `start`.
    live_spend = daily_series(performance=performance.filter(line_item__campaign__in=campaigns), start=start, end=end)
    actual = _cumulative([(row["date"], row["spend"]) for row in live_spend])
    expected = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        total = Decimal("0.00")
        for row in pacing:
            plan = row.plan
            if plan.basis is None:
                continue
            total += plan.expected_line(plan.elapsed_days(day)) - plan.expected_line(plan.elapsed_days(start - timedelta(days=1)))
        expected.append((day, total))
    spend_chart = line_chart(
        name="advertiser-spend-pacing", title=f"Live campaigns: cumulative spend vs pacing line since {start:%b} {start.day}",
        series=[
            Series("spend", actual, PALETTE["spend"], label="spend"),
            Series("pacing", expected, PALETTE["plan"], label="pacing line", dashed=True, markers=True),
        ],
        fmt=_amount(currency),
    )
    return {
        "advertiser": advertiser,
        "currency": currency,
        "start": start,
        "end": end,
        "as_of": as_of,
        "pacing": pacing,
        "totals": _totals(performance, start, end),
        "spend_chart": spend_chart,
        **_delivery_charts(series, currency, "advertiser"),
        **_roas_charts(LineItem.objects.filter(campaign__advertiser=advertiser), start, end, "advertiser"),
        "recommendation": BudgetRecommendation.objects.filter(advertiser=advertiser).first(),
    }


def campaign_dashboard(*, campaign: Campaign, start: date | None = None, end: date | None = None) -> dict:
    advertiser = campaign.advertiser
    pacing = pacing_for_campaigns([campaign])[0]
    as_of = pacing.as_of
    plan = pacing.plan
    flight_end = min(as_of, plan.end) if plan.end else as_of
    # By default the delivery charts start with the flight (at most DEFAULT_DAYS back).
    start, end = _range(flight_end, start or max(plan.start, flight_end - timedelta(days=DEFAULT_DAYS - 1)), end)
    performance = DailyPerformance.objects.filter(line_item__campaign=campaign)
    series = daily_series(performance=performance, start=start, end=end)
    currency = advertiser.currency

    # Over the flight: cumulative spend up to as_of, the pacing line to the end, the budget, and
    # the forecast from as_of to the end at the recent run rate.
    chart_end = plan.end or as_of
    flight_from = plan.start if (chart_end - plan.start).days < MAX_DAYS else chart_end - timedelta(days=MAX_DAYS - 1)
    flight = daily_series(performance=performance, start=flight_from, end=min(as_of, chart_end)) if as_of >= flight_from else []
    # A flight longer than the chart starts its line at what was spent before the chart's first day.
    spent_before = performance.filter(date__lt=flight_from).aggregate(spent=summed("spend"))["spent"]
    actual = [(d, v + spent_before) for d, v in _cumulative([(row["date"], row["spend"]) for row in flight])]
    lines = [Series("spend", actual, PALETTE["spend"], label="spend")]
    planned = [(d, v) for d, v in plan.expected_by_day(chart_end) if d >= flight_from]
    if planned:
        lines.append(Series("pacing", planned, PALETTE["plan"], label="pacing line", dashed=True))
    if plan.planned_total is not None and planned:
        lines.append(Series("budget", [(planned[0][0], plan.planned_total), (planned[-1][0], plan.planned_total)], PALETTE["budget"], label="budget", dashed=True, markers=False))
    if pacing.forecast is not None and plan.end and as_of < plan.end and actual:
        lines.append(Series("forecast", [(actual[-1][0], actual[-1][1]), (plan.end, pacing.forecast)], PALETTE["forecast"], label="forecast", dashed=True))
    spend_chart = line_chart(
        name="campaign-spend-pacing", title="Cumulative spend vs pacing line over the flight", series=lines,
        fmt=_amount(currency),
    )
    line_items = LineItem.objects.filter(campaign=campaign).select_related("campaign__advertiser").order_by("name", "pk")
    return {
        "advertiser": advertiser,
        "campaign": campaign,
        "currency": currency,
        "start": start,
        "end": end,
        "as_of": as_of,
        "pacing": pacing,
        "line_item_pacing": pacing_for_line_items(line_items, as_of=as_of),
        "totals": _totals(performance, start, end),
        "spend_chart": spend_chart,
        **_delivery_charts(series, currency, "campaign"),
        **_roas_charts(LineItem.objects.filter(campaign=campaign), plan.start, as_of, "campaign"),
    }


def _totals(performance, start: date, end: date) -> dict:
    """The period's sums and metrics, in one aggregate query."""
    row = performance.between(start, end).aggregate(**sum_expressions(), **metric_expressions())
    totals = {field: row[sum_alias(field)] for field in VALUE_FIELDS}
    totals.update({name: row[name] for name in METRICS})
    totals["viewability_percent"] = None if row["viewability_rate"] is None else row["viewability_rate"] * 100
    totals["display"] = {
        **{key: _count(totals[key]) for key in ("impressions", "clicks", "conversions")},
        "spend": f"{totals['spend']:,.2f}",
        "sales": f"{totals['sales']:,.2f}",
        "roas": _roas(totals["roas"]),
        "viewability": _percent(totals["viewability_percent"]),
    }
    return totals
