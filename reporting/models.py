"""Performance and pacing: daily delivery per line item, and what is computed from it.

Metrics (CTR, ROAS, …) are never stored: they are SQL expressions over the summed columns
(reporting.metrics), so a report over any grouping is one query and always agrees with the rows.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.job_progress import progress_percent
from campaigns.models import MONEY, Advertiser, Campaign, LineItem
from campaigns.querysets import TenantQuerySet
from reporting.choices import ImportStatus, PerformanceSource, RecommendationStatus

# Delivery counters of a day, and its two money columns (both in the advertiser's currency).
COUNT_FIELDS = (
    "impressions",
    "clicks",
    "conversions",
    "viewable_impressions",
    "measurable_impressions",
    "video_starts",
    "video_completions",
)
MONEY_FIELDS = ("spend", "sales")
VALUE_FIELDS = COUNT_FIELDS + MONEY_FIELDS


class PerformanceQuerySet(TenantQuerySet):
    def between(self, start, end):
        """Days from `start` to `end`, both inclusive (advertiser-local dates)."""
        return self.filter(date__gte=start, date__lte=end)


class DailyPerformance(models.Model):
    """One line item's delivery on one day, the day counted in its advertiser's time zone.

    Written only by reporting.services.performance_upsert (uploads, the Amazon sync): a second
    import of the same (date, line item) replaces the row, so imports are safe to repeat.
    """

    date = models.DateField(help_text="The day in the advertiser's time zone.")
    # No index of its own: the unique (line_item, date) index serves lookups by line item.
    line_item = models.ForeignKey(
        LineItem, on_delete=models.PROTECT, related_name="daily_performance", db_index=False
    )
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    conversions = models.PositiveBigIntegerField(default=0)
    spend = models.DecimalField(**MONEY, default=0)
    sales = models.DecimalField(**MONEY, default=0)
    viewable_impressions = models.PositiveBigIntegerField(default=0)
    measurable_impressions = models.PositiveBigIntegerField(default=0)
    video_starts = models.PositiveBigIntegerField(default=0)
    video_completions = models.PositiveBigIntegerField(default=0)
    source = models.CharField(max_length=16, choices=PerformanceSource.choices, default=PerformanceSource.UPLOAD)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "line_item__campaign__advertiser"
    objects = PerformanceQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "line_item_id"]
        verbose_name = "daily performance"
        verbose_name_plural = "daily performance"
        indexes = [models.Index(fields=["date"], name="performance_date_idx")]
        constraints = [
            models.UniqueConstraint(fields=["line_item", "date"], name="performance_unique_line_item_date"),
            models.CheckConstraint(condition=Q(spend__gte=0), name="performance_spend_non_negative"),
            models.CheckConstraint(condition=Q(sales__gte=0), name="performance_sales_non_negative"),
            # Amazon's definitions: only measured impressions can be judged viewable, and both
            # are subsets of the impressions served; a completion needs a start.
            models.CheckConstraint(
                condition=Q(viewable_impressions__lte=F("measurable_impressions")),
                name="performance_viewable_within_measurable",
            ),
            models.CheckConstraint(
                condition=Q(measurable_impressions__lte=F("impressions")),
                name="performance_measurable_within_impressions",
            ),
            models.CheckConstraint(
                condition=Q(video_starts__lte=F("impressions")), name="performance_starts_within_impressions"
            ),
            models.CheckConstraint(
                condition=Q(video_completions__lte=F("video_starts")), name="performance_completions_within_starts"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} · line item {self.line_item_id}: {self.spend} spent"


class BudgetRecommendation(models.Model):
    """A proposed reallocation of an advertiser's remaining campaign budgets by recent ROAS.

    Nothing changes until a manager accepts it; accepting writes every campaign's new total
    budget through campaigns.services.entity_save (source "recommendation"), so the budget
    history records it. A proposal whose budgets changed in the meantime is superseded, never
    applied over the newer figures.
    """

    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="budget_recommendations")
    status = models.CharField(
        max_length=16, choices=RecommendationStatus.choices, default=RecommendationStatus.PROPOSED
    )
    as_of = models.DateField(help_text="Spend counted up to and including this day (advertiser's time zone).")
    lookback_days = models.PositiveIntegerField(help_text="ROAS measured over this many complete days before as_of.")
    min_share = models.DecimalField(max_digits=5, decimal_places=4)
    max_share = models.DecimalField(max_digits=5, decimal_places=4)
    total_remaining = models.DecimalField(**MONEY, help_text="Remaining budget shared out; the sum is kept to the cent.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    TENANT_PATH = "advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open proposal per advertiser: proposing again supersedes the previous one.
            models.UniqueConstraint(
                fields=["advertiser"], condition=Q(status="proposed"), name="recommendation_one_open_per_advertiser"
            ),
            models.CheckConstraint(
                condition=Q(min_share__gte=0) & Q(max_share__lte=1) & Q(min_share__lte=F("max_share")),
                name="recommendation_shares_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Budget recommendation {self.pk} for {self.advertiser} ({self.status})"


class BudgetRecommendationLine(models.Model):
    """One campaign in a recommendation: its figures when proposed, and the proposed budget."""

    recommendation = models.ForeignKey(BudgetRecommendation, on_delete=models.CASCADE, related_name="lines")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    total_budget = models.DecimalField(**MONEY, help_text="The campaign's total budget when proposed.")
    spent = models.DecimalField(**MONEY)
    remaining = models.DecimalField(**MONEY)
    recent_spend = models.DecimalField(**MONEY)
    recent_sales = models.DecimalField(**MONEY)
    roas = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    proposed_remaining = models.DecimalField(**MONEY)
    proposed_total_budget = models.DecimalField(**MONEY)

    TENANT_PATH = "recommendation__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["recommendation_id", "campaign_id"]
        constraints = [
            models.UniqueConstraint(fields=["recommendation", "campaign"], name="recommendation_line_unique_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.total_budget} → {self.proposed_total_budget}"

    @property
    def change(self):
        return self.proposed_total_budget - self.total_budget


class AdvertiserDashboard(Advertiser):
    """The console's "Dashboards" entry: advertisers, each opening its performance dashboard."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboards"


def performance_import_path(job: "PerformanceImport", filename: str) -> str:
    # Never the uploader's name in the path: it is kept in `filename` for display only.
    suffix = ".xlsx" if str(filename).lower().endswith(".xlsx") else ".csv"
    return f"reporting/imports/{uuid.uuid4().hex}{suffix}"


class PerformanceImportQuerySet(models.QuerySet):
    def visible_to(self, user, role=None):
        """An upload may name line items of several advertisers, so it belongs to its uploader:
        each user sees their own; superusers see all."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(requested_by=user)


class PerformanceImport(models.Model):
    """One CSV/XLSX performance upload, read, checked and written by a worker: every row, or none.

    The row is the job (Huey delivers a task at most once): the task claims it with a token and
    keeps `heartbeat_at` fresh while it checks rows; the reconciler re-enqueues rows whose
    heartbeat went stale. The write and the "succeeded" mark commit together, so a job is never
    half written, and writing it again would change nothing (performance_upsert is idempotent).
    The line items it may write are those where the uploader is a trader when the job runs.
    """

    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    file = models.FileField(upload_to=performance_import_path, max_length=255)
    filename = models.CharField(max_length=255, help_text="The uploaded file's own name (display only).")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="rows, created, updated, unchanged.")
    errors = models.JSONField(
        default=list, blank=True, help_text='The first failing rows: [{"row": n, "errors": {column: [messages]}}].'
    )
    error_count = models.PositiveIntegerField(default=0, help_text="How many rows failed (all of them, not only those listed).")
    error = models.TextField(blank=True, help_text="Why nothing was imported.")
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PerformanceImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "performance import"
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="perfimport_status_hb_idx")]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        return progress_percent(done=self.progress_done, total=self.progress_total,
                                succeeded=self.status == ImportStatus.SUCCEEDED)
