"""The budget audit's spend checks: overspend and under-delivery, from reporting's daily spend.

Findings (each for a campaign or a line item):

* overspend: everything spent up to the last complete day is above the total budget (campaign
  total_budget, line item budget);
* day_overspend: one day's spend above DAY_ALLOWANCE (1.25) × the daily budget, for evenly paced
  budgets only (front-loaded ones may legitimately run up to 25 % ahead): a campaign's
  daily_budget, or a line item's budget / its flight days;
* under_delivery: the pacing status is "under" (reporting.pacing: spend below 90 % of the even
  line), for enabled campaigns and line items whose flight overlaps the window.

The window is the last `days` complete days in each advertiser's time zone (up to yesterday
there). Overspend is reported only for objects that spent inside the window, so a flight that
ended over budget long ago is not reported by every audit again.

The sums and comparisons run in SQL; SQL only pre-selects candidates with a 1 % margin and the
exact comparison is made on the quantized Decimals, because SQLite's DECIMAL columns hold binary
floats and a spend of exactly 1.25 × budget must not be flagged.

`spend_issues` reads only; `spend_findings_record` stores the issues of an AuditRun as
SpendFinding rows. Wiring (in files this module does not own):

    # bidding/models.py, at the end: registers the model with the bidding app
    from bidding.spend_audit import SpendFinding  # noqa: E402,F401
    # bidding/audit.py, budget_audit_run, inside the atomic block after _insert_findings(run):
    spend_findings_record(run=run)
    # then: manage.py makemigrations bidding -n spend_findings

Query count: constant in the number of campaigns, line items and days (about ten queries per
time zone in use), so the audit stays set-based.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import DecimalField, ExpressionWrapper, F, Func, IntegerField, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.choices import CampaignStatus, EntityState
from campaigns.choices import Pacing as PacingMode
from campaigns.models import MONEY, Advertiser, Campaign, LineItem
from reporting.choices import PacingStatus
from reporting.metrics import summed
from reporting.models import DailyPerformance
from reporting.selectors import front_loaded_campaigns, pacing_for_campaigns, pacing_for_line_items

DAY_ALLOWANCE = Decimal("1.25")
# SQL pre-selects with this much margin below each limit; the exact test is done in Python.
_PREFILTER = Decimal("0.99")


class SpendFindingKind(models.TextChoices):
    OVERSPEND = "overspend", "Spend above budget"
    DAY_OVERSPEND = "day_overspend", "A day above 1.25 × the daily budget"
    UNDER_DELIVERY = "under_delivery", "Under-delivery"


@dataclass(frozen=True)
class SpendIssue:
    kind: str
    level: str  # "campaign" or "line_item"
    advertiser_id: int
    campaign_id: int
    line_item_id: int | None
    day: date | None  # day_overspend only
    spend: Decimal
    limit: Decimal  # the budget, the day's allowance, or the even pacing line
    detail: str


class SpendFinding(models.Model):
    """A campaign or line item that overspent or under-delivered, found by one budget audit run.

    The figures are copied so a finding still reads correctly after budgets change.
    """

    run = models.ForeignKey("bidding.AuditRun", on_delete=models.CASCADE, related_name="spend_findings")
    kind = models.CharField(max_length=16, choices=SpendFindingKind.choices)
    level = models.CharField(max_length=16)
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    day = models.DateField(null=True, blank=True)
    spend = models.DecimalField(**MONEY)
    limit = models.DecimalField(**MONEY)
    detail = models.CharField(max_length=300)

    class Meta:
        app_label = "bidding"
        ordering = ["run", "kind", "campaign_id", "line_item_id", "day"]
        indexes = [models.Index(fields=["run", "kind"], name="spend_finding_run_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"


class DaysBetween(Func):
    """Whole days from the second date to the first (PostgreSQL: date − date is an integer)."""

    output_field = IntegerField()
    template = "(%(expressions)s)"
    arg_joiner = " - "

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(", **extra_context,
        )


@dataclass(frozen=True)
class _Window:
    timezone: str
    first: date
    last: date


def _windows(days: int, now) -> list[_Window]:
    zones = Advertiser.objects.order_by().values_list("timezone", flat=True).distinct()
    windows = []
    for name in zones:
        last = now.astimezone(zoneinfo.ZoneInfo(name)).date() - timedelta(days=1)
        windows.append(_Window(name, last - timedelta(days=days - 1), last))
    return windows


def _money(value) -> str:
    return f"{value:,.2f}"


def _overspend(window: _Window, campaigns) -> list[SpendIssue]:
    rows = DailyPerformance.objects.filter(
        line_item__campaign__in=campaigns, line_item__campaign__advertiser__timezone=window.timezone,
        date__lte=window.last,
    ).order_by()
    issues = []
    levels = (
        ("campaign", "line_item__campaign", "line_item__campaign__total_budget"),
        ("line_item", "line_item", "line_item__budget"),
    )
    for level, key, budget in levels:
        candidates = (
            rows.filter(**{f"{budget}__isnull": False})
            .values(f"{key}_id", budget, "line_item__campaign_id", "line_item__campaign__advertiser_id")
            .annotate(spent=summed("spend"), in_window=summed("spend", filter=Q(date__gte=window.first)))
            .filter(in_window__gt=0, spent__gt=F(budget) * _PREFILTER)
        )
        for row in candidates:
            if row["spent"] > row[budget]:
                issues.append(SpendIssue(
                    SpendFindingKind.OVERSPEND, level, row["line_item__campaign__advertiser_id"],
                    row["line_item__campaign_id"], row[f"{key}_id"] if level == "line_item" else None, None,
                    row["spent"], row[budget],
                    f"{level.replace('_', ' ').capitalize()} {row[f'{key}_id']} spent {_money(row['spent'])} "
                    f"of a {_money(row[budget])} budget up to {window.last}.",
                ))
    return issues


def _day_overspend(window: _Window, campaigns) -> list[SpendIssue]:
    rows = DailyPerformance.objects.filter(
        line_item__campaign__in=campaigns, line_item__campaign__advertiser__timezone=window.timezone,
        date__gte=window.first, date__lte=window.last,
    ).order_by()
    issues = []
    by_campaign_day = (
        rows.values("line_item__campaign_id", "line_item__campaign__advertiser_id", "date", "line_item__campaign__daily_budget")
        .annotate(day_spend=summed("spend"))
        .filter(day_spend__gt=F("line_item__campaign__daily_budget") * DAY_ALLOWANCE * _PREFILTER)
    )
    candidates = list(by_campaign_day)
    front_loaded = front_loaded_campaigns([r["line_item__campaign_id"] for r in candidates])
    for row in candidates:
        allowance = row["line_item__campaign__daily_budget"] * DAY_ALLOWANCE
        if row["line_item__campaign_id"] not in front_loaded and row["day_spend"] > allowance:
            issues.append(SpendIssue(
                SpendFindingKind.DAY_OVERSPEND, "campaign", row["line_item__campaign__advertiser_id"],
                row["line_item__campaign_id"], None, row["date"], row["day_spend"], allowance.quantize(Decimal("0.01")),
                f"Campaign {row['line_item__campaign_id']} spent {_money(row['day_spend'])} on {row['date']}, above "
                f"1.25 × its daily budget of {_money(row['line_item__campaign__daily_budget'])}.",
            ))
    start = Coalesce("line_item__start_date", "line_item__campaign__start_date")
    end = Coalesce("line_item__end_date", "line_item__campaign__end_date")
    flight_days = ExpressionWrapper(DaysBetween(end, start) + 1, output_field=IntegerField())
    even_items = (
        rows.filter(line_item__pacing=PacingMode.EVEN, line_item__budget__isnull=False)
        .exclude(line_item__end_date__isnull=True, line_item__campaign__end_date__isnull=True)
        .annotate(flight_days=flight_days)
        .filter(spend__gt=ExpressionWrapper(
            F("line_item__budget") * DAY_ALLOWANCE * _PREFILTER / F("flight_days"), output_field=DecimalField()
        ))
        .values("line_item_id", "line_item__campaign_id", "line_item__campaign__advertiser_id", "date", "spend",
                "line_item__budget", "flight_days")
    )
    for row in even_items:
        budget, days = row["line_item__budget"], row["flight_days"]
        if row["spend"] * days > budget * DAY_ALLOWANCE:  # exact: no division, no rounding
            issues.append(SpendIssue(
                SpendFindingKind.DAY_OVERSPEND, "line_item", row["line_item__campaign__advertiser_id"],
                row["line_item__campaign_id"], row["line_item_id"], row["date"], row["spend"],
                (budget * DAY_ALLOWANCE / days).quantize(Decimal("0.01")),
                f"Line item {row['line_item_id']} spent {_money(row['spend'])} on {row['date']}, above 1.25 × its "
                f"even daily budget of {_money(budget / days)} ({_money(budget)} over {days} days).",
            ))
    return issues


def _under_delivery(window: _Window, campaigns) -> list[SpendIssue]:
    running = Q(
        Q(start_date__lte=window.last), Q(end_date__isnull=True) | Q(end_date__gte=window.first),
        status=CampaignStatus.ENABLED, advertiser__timezone=window.timezone,
    )
    in_window = list(campaigns.filter(running).select_related("advertiser").order_by("pk"))
    line_items = (
        LineItem.objects.filter(campaign__in=[c.pk for c in in_window], status=EntityState.ENABLED)
        .select_related("campaign__advertiser").order_by("pk")
    )
    issues = []
    paced = [*pacing_for_campaigns(in_window, as_of=window.last), *pacing_for_line_items(line_items, as_of=window.last)]
    for pacing in paced:
        if pacing.status == PacingStatus.UNDER:
            share = f"{pacing.spent / pacing.even_expected:.0%}" if pacing.even_expected else "n/a"
            issues.append(SpendIssue(
                SpendFindingKind.UNDER_DELIVERY, pacing.level, pacing.advertiser_id, pacing.campaign_id,
                pacing.object_id if pacing.level == "line_item" else None, None, pacing.spent, pacing.even_expected,
                f"{pacing.level.replace('_', ' ').capitalize()} {pacing.object_id} spent {_money(pacing.spent)} by "
                f"{pacing.as_of}, {share} of the {_money(pacing.even_expected)} an even pace expects.",
            ))
    return issues


def spend_issues(*, days: int = 7, now=None, campaigns=None) -> list[SpendIssue]:
    """Overspend, day overspend and under-delivery over the last `days` complete days."""
    now = now or timezone.now()
    campaigns = Campaign.objects.all() if campaigns is None else campaigns
    issues = []
    for window in _windows(days, now):
        issues += _overspend(window, campaigns)
        issues += _day_overspend(window, campaigns)
        issues += _under_delivery(window, campaigns)
    return issues


def spend_findings_record(*, run) -> int:
    """Store the spend issues of the run's window as its SpendFindings; returns how many.

    Safe to run twice for a run: its earlier spend findings are replaced.
    """
    issues = spend_issues(days=run.days, now=run.window_end)
    SpendFinding.objects.filter(run=run).delete()
    SpendFinding.objects.bulk_create(
        SpendFinding(
            run=run, kind=i.kind, level=i.level, advertiser_id=i.advertiser_id, campaign_id=i.campaign_id,
            line_item_id=i.line_item_id, day=i.day, spend=i.spend, limit=i.limit, detail=i.detail[:300],
        )
        for i in issues
    )
    return len(issues)
