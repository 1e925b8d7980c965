"""BulkSheetJob (the run row of an export or an import) and the two Sponsored Products settings
a bulk sheet carries that the campaign tree had no place for: placement bid adjustments and
campaign-level negatives. Imported at the end of campaigns.models, so they are campaigns' models.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from backend.job_progress import progress_percent
from campaigns.bulksheets.choices import ApplyMode, ImportMode, JobKind, JobStatus, Placement
from campaigns.choices import EntityState, MatchType
from campaigns.limits import KEYWORD_MAX_CHARS, KEYWORD_MAX_WORDS, NEGATIVE_PHRASE_MAX_WORDS
from campaigns.querysets import TenantQuerySet

__all__ = ["BulkSheetJob", "CampaignNegativeKeyword", "CampaignNegativeTarget", "PlacementAdjustment"]

MAX_PERCENTAGE = 900


def bulk_sheet_path(job: "BulkSheetJob", filename: str) -> str:
    # Never the uploader's name in the path: it is kept in `filename` for display only.
    return f"bulksheets/{job.advertiser_id}/{uuid.uuid4().hex}.xlsx"


class BulkSheetJob(models.Model):
    """One export or import of an advertiser's Sponsored Products bulk sheet, from queued to done.

    The row is the job (Huey delivers a task at most once): a task claims it with a token and
    keeps `heartbeat_at` fresh; the reconciler re-enqueues rows whose heartbeat went stale. An
    import stops at awaiting_confirmation with its dry-run `diff`; nothing is written before a
    confirmation, which may carry an idempotency key (Stripe's rules: same key and parameters
    replay, different parameters are refused).
    """

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.CASCADE, related_name="bulk_sheet_jobs")
    kind = models.CharField(max_length=8, choices=JobKind.choices)
    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.QUEUED)
    mode = models.CharField(max_length=8, choices=ImportMode.choices, default=ImportMode.AUTO,
                            help_text="How blank-Operation rows are read (imports).")
    resolved_mode = models.CharField(max_length=8, choices=ImportMode.choices, blank=True)
    apply_mode = models.CharField(max_length=12, choices=ApplyMode.choices, blank=True)
    file = models.FileField(upload_to=bulk_sheet_path, max_length=255, blank=True,
                            help_text="The uploaded sheet (imports) or the produced one (exports).")
    filename = models.CharField(max_length=255, blank=True)
    error_file = models.FileField(upload_to=bulk_sheet_path, max_length=255, blank=True)
    metrics_start = models.DateField(null=True, blank=True,
                                     help_text="Exports: the first day whose delivery fills the performance columns.")
    metrics_end = models.DateField(null=True, blank=True, help_text="Exports: the last day (inclusive).")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    diff = models.JSONField(default=dict, blank=True, help_text="The dry run: what confirming would change.")
    plan_hash = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    idempotency_hash = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "bulk sheet job"
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="bulksheetjob_status_hb_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["advertiser", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="bulksheetjob_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return progress_percent(done=self.progress_done, total=self.progress_total,
                                succeeded=self.status == JobStatus.SUCCEEDED)

    @property
    def has_errors(self) -> bool:
        return bool(self.counts.get("errors"))

    @property
    def metrics_range(self):
        from campaigns.bulksheets.metrics import MetricsRange

        return MetricsRange.of(self.metrics_start, self.metrics_end)


class PlacementAdjustment(models.Model):
    """A campaign's bid raise for one placement (a Bidding Adjustment row): +0 to +900 %."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="placement_adjustments")
    placement = models.CharField(max_length=16, choices=Placement.choices)
    percentage = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "campaign__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["campaign_id", "placement"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "placement"], name="placementadjustment_unique"),
            models.CheckConstraint(condition=Q(percentage__lte=MAX_PERCENTAGE), name="placementadjustment_max"),
        ]

    def __str__(self) -> str:
        return f"{self.get_placement_display()} +{self.percentage}%"

    def clean(self):
        if self.percentage is not None and not 0 <= self.percentage <= MAX_PERCENTAGE:
            raise ValidationError({"percentage": [f"A whole number from 0 to {MAX_PERCENTAGE}."]})


class _CampaignChild(models.Model):
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE)
    state = models.CharField(max_length=16, choices=EntityState.choices, default=EntityState.ENABLED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "campaign__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["campaign_id", "id"]


class CampaignNegativeKeyword(_CampaignChild):
    """A negative keyword for every ad group of a campaign (Campaign Negative Keyword rows)."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="negative_keywords")
    text = models.CharField(max_length=KEYWORD_MAX_CHARS)
    match_type = models.CharField(max_length=16, choices=[(m, m) for m in sorted(MatchType.negatives())])

    def __str__(self) -> str:
        return f"NOT {self.text} [{self.match_type}]"

    def clean(self):
        text = self.text or ""
        if not text.strip() or text != text.strip():
            raise ValidationError({"text": ["Keyword text is required and cannot start or end with spaces."]})
        max_words = NEGATIVE_PHRASE_MAX_WORDS if self.match_type == MatchType.NEGATIVE_PHRASE else KEYWORD_MAX_WORDS
        if len(text.split()) > max_words:
            raise ValidationError({"text": [f"At most {max_words} words for match type {self.match_type}."]})


class CampaignNegativeTarget(_CampaignChild):
    """A product-targeting expression excluded from a whole campaign."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="negative_targets")
    expression = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"NOT {self.expression}"

    def clean(self):
        if not (self.expression or "").strip():
            raise ValidationError({"expression": ["An expression is required."]})


# Huey registers tasks when their module is imported, and only `<app>.tasks` is autodiscovered:
# importing them with the models registers them (and the reconciler) in every process.
from campaigns.bulksheets import tasks as _tasks  # noqa: E402,F401
