"""Reads across the campaign tree and its performance, shaped for pacing, dashboards and audits.

Query counts do not grow with the number of campaigns or line items: spend is summed per object
in one grouped query per distinct "as of" day (advertisers in different time zones can have
different ones), never per object.
"""

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q
from django.utils import timezone

from campaigns.choices import CampaignStatus, EntityState
from campaigns.choices import Pacing as PacingMode
from campaigns.models import CURRENCY_MINOR_UNITS, Advertiser, Campaign, LineItem
from reporting.metrics import METRICS, metric_expressions, sum_alias, sum_expressions, summed
from reporting.models import VALUE_FIELDS, DailyPerformance
from reporting.pacing import DAILY, LIFETIME, RUN_RATE_DAYS, Pacing, PacingPlan, pacing_evaluate

ZERO = Decimal("0.00")


def local_today(tz_name: str, now=None) -> date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def default_as_of(advertiser: Advertiser, now=None) -> date:
    """The last complete day in the advertiser's time zone: yesterday there."""
    return local_today(advertiser.timezone, now) - timedelta(days=1)


def live_q(*, prefix: str = "", now=None, timezones: Iterable[str] | None = None) -> Q:
    """Campaigns enabled and inside their flight today, "today" in each advertiser's time zone.

    One condition per time zone in use, so the whole filter stays in SQL whatever the mix.
    """
    if timezones is None:
        timezones = Advertiser.objects.order_by().values_list("timezone", flat=True).distinct()
    in_flight = Q(pk__in=[])
    for tz_name in timezones:
        today = local_today(tz_name, now)
        in_flight |= Q(
            Q(**{f"{prefix}advertiser__timezone": tz_name, f"{prefix}start_date__lte": today}),
            Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": today}),
        )
    return Q(**{f"{prefix}status": CampaignStatus.ENABLED}) & in_flight


def live_campaigns(queryset=None, *, now=None):
    queryset = Campaign.objects.all() if queryset is None else queryset
    return queryset.filter(live_q(now=now))


def _places(advertiser: Advertiser) -> int:
    return CURRENCY_MINOR_UNITS.get(advertiser.currency, 2)


def _spend_by(key: str, ids_by_as_of: dict[date, list[int]]) -> dict[int, tuple[Decimal, Decimal]]:
    """{object id: (spend up to as_of, spend in the run-rate window)}: one query per as_of day."""
    result = {}
    for as_of, ids in ids_by_as_of.items():
        recent_from = as_of - timedelta(days=RUN_RATE_DAYS - 1)
        rows = (
            DailyPerformance.objects.filter(**{f"{key}__in": ids}, date__lte=as_of)
            .order_by()
            .values(key)
            .annotate(spent=summed("spend"), recent=summed("spend", filter=Q(date__gte=recent_from)))
        )
        result.update({row[key]: (row["spent"], row["recent"]) for row in rows})
    return result


def front_loaded_campaigns(campaign_ids: list[int]) -> set[int]:
    """Campaigns whose enabled line items all pace front-loaded (a mix paces at least evenly)."""
    rows = (
        LineItem.objects.filter(campaign_id__in=campaign_ids, status=EntityState.ENABLED)
        .order_by()
        .values("campaign_id")
        .annotate(total=Count("pk"), asap=Count("pk", filter=Q(pacing=PacingMode.ASAP)))
    )
    return {row["campaign_id"] for row in rows if row["total"] and row["total"] == row["asap"]}


def campaign_plan(campaign: Campaign, *, front_loaded: bool) -> PacingPlan:
    mode = PacingMode.ASAP if front_loaded else PacingMode.EVEN
    places = _places(campaign.advertiser)
    if campaign.end_date and campaign.total_budget:
        return PacingPlan(mode, LIFETIME, campaign.start_date, campaign.end_date, campaign.total_budget, places=places)
    return PacingPlan(
        mode, DAILY, campaign.start_date, campaign.end_date, campaign.daily_budget, cap=campaign.total_budget,
        places=places,
    )


def line_item_plan(line_item: LineItem) -> PacingPlan:
    campaign = line_item.campaign
    start = line_item.start_date or campaign.start_date
    end = line_item.end_date or campaign.end_date
    basis = LIFETIME if (line_item.budget and end) else None
    return PacingPlan(line_item.pacing, basis, start, end, line_item.budget, places=_places(campaign.advertiser))


def pacing_for_campaigns(campaigns: Iterable[Campaign], *, as_of: date | None = None, now=None) -> list[Pacing]:
    """Pacing of each campaign (advertiser loaded with it), in the order given."""
    campaigns = list(campaigns)
    if not campaigns:
        return []
    days = {c.pk: as_of or default_as_of(c.advertiser, now) for c in campaigns}
    by_day = defaultdict(list)
    for campaign_id, day in days.items():
        by_day[day].append(campaign_id)
    spend = _spend_by("line_item__campaign_id", by_day)
    front_loaded = front_loaded_campaigns([c.pk for c in campaigns])
    result = []
    for campaign in campaigns:
        spent, recent = spend.get(campaign.pk, (ZERO, ZERO))
        result.append(pacing_evaluate(Pacing(
            level="campaign", object_id=campaign.pk, name=campaign.name, advertiser_id=campaign.advertiser_id,
            campaign_id=campaign.pk, currency=campaign.advertiser.currency,
            plan=campaign_plan(campaign, front_loaded=campaign.pk in front_loaded),
            as_of=days[campaign.pk], spent=spent, recent_spend=recent,
        )))
    return result


def pacing_for_line_items(line_items: Iterable[LineItem], *, as_of: date | None = None, now=None) -> list[Pacing]:
    """Pacing of each line item (campaign and advertiser loaded with it), in the order given."""
    line_items = list(line_items)
    days = {li.pk: as_of or default_as_of(li.campaign.advertiser, now) for li in line_items}
    by_day = defaultdict(list)
    for line_item_id, day in days.items():
        by_day[day].append(line_item_id)
    spend = _spend_by("line_item_id", by_day)
    result = []
    for line_item in line_items:
        spent, recent = spend.get(line_item.pk, (ZERO, ZERO))
        result.append(pacing_evaluate(Pacing(
            level="line_item", object_id=line_item.pk, name=line_item.name,
            advertiser_id=line_item.campaign.advertiser_id, campaign_id=line_item.campaign_id,
            currency=line_item.campaign.advertiser.currency, plan=line_item_plan(line_item),
            as_of=days[line_item.pk], spent=spent, recent_spend=recent,
        )))
    return result


def campaign_pacing(*, campaign: Campaign, as_of: date | None = None) -> Pacing:
    return pacing_for_campaigns([campaign], as_of=as_of)[0]


def live_line_items(queryset=None, *, now=None):
    """Enabled line items of live campaigns (their own dates, when set, inside today too)."""
    queryset = LineItem.objects.all() if queryset is None else queryset
    return queryset.filter(live_q(prefix="campaign__", now=now), status=EntityState.ENABLED)


# --- series and rankings for the dashboards --------------------------------------------------


def daily_series(*, performance, start: date, end: date) -> list[dict]:
    """One dict per day from start to end (days without rows are zeros, their metrics None):
    the summed columns under their own names, and every metric."""
    rows = {
        row["date"]: row
        for row in performance.between(start, end).order_by().values("date")
        .annotate(**sum_expressions(), **metric_expressions())
    }
    series = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        row = rows.get(day)
        values = {f: (row[sum_alias(f)] if row else (ZERO if f in ("spend", "sales") else 0)) for f in VALUE_FIELDS}
        metrics = {name: (row[name] if row else None) for name in METRICS}
        series.append({"date": day, **values, **metrics})
    return series


def line_items_by_roas(*, line_items, start: date, end: date, limit: int = 5) -> tuple[list, list]:
    """The best and the worst line items by ROAS over the days (only those that spent)."""
    window = Q(daily_performance__date__gte=start, daily_performance__date__lte=end)
    ranked = (
        line_items.annotate(
            **sum_expressions(prefix="daily_performance__", filter=window, fields=("spend", "sales", "impressions")),
            **metric_expressions(prefix="daily_performance__", filter=window, names=("roas",)),
        )
        .filter(**{f"{sum_alias('spend')}__gt": 0})
        .select_related("campaign")
    )
    top = list(ranked.order_by(F("roas").desc(nulls_last=True), "pk")[:limit])
    bottom = list(ranked.order_by(F("roas").asc(nulls_first=True), "pk")[:limit])
    return top, bottom


def spend_by_campaign(*, campaign_ids: list[int], start: date | None = None, end: date) -> dict[int, dict]:
    """{campaign id: {"spend": …, "sales": …}} over the days (all days up to `end` without a start)."""
    rows = DailyPerformance.objects.filter(line_item__campaign_id__in=campaign_ids, date__lte=end)
    if start is not None:
        rows = rows.filter(date__gte=start)
    return {
        row["line_item__campaign_id"]: {"spend": row["spend"], "sales": row["sales"]}
        for row in rows.order_by().values("line_item__campaign_id").annotate(
            spend=summed("spend"), sales=summed("sales")
        )
    }
