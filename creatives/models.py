"""Creatives: ad specs, uploaded creatives, their per-spec verdicts and renditions, and the rows
that make processing survive lost workers (processing runs, upload batches).

One-row rules live here; the pipeline, uploads and assignments are in creatives.services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.querysets import TenantQuerySet
from creatives.choices import (
    BatchItemOutcome,
    CreativeKind,
    CreativeStatus,
    Delivery,
    Fit,
    MediaFormat,
    RunStatus,
    SpecGroup,
)

SECONDS = {"max_digits": 8, "decimal_places": 3}
RENDITION_FORMAT_CHOICES = [*MediaFormat.choices, ("tag", "Third-party tag"), ("vast", "VAST URL")]


class AdSpecQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_creative(self, creative: "Creative"):
        """The active specs a creative is checked against: its kind and delivery, and only the
        requested ones when the uploader asked for some."""
        specs = self.active().filter(kind=creative.kind, delivery=creative.delivery)
        if creative.pk and creative.requested_specs.exists():
            specs = specs.filter(pk__in=creative.requested_specs.values("pk"))
        return specs


class AdSpec(models.Model):
    """What one placement accepts: size (or aspect), weight, formats, animation, duration and
    quality floors. Seeded from the reference (IAB, Amazon DSP, Kargo); editable in the admin.
    Blank limits are not checked. Saving a changed spec reprocesses the creatives it covers."""

    code = models.SlugField(max_length=64, unique=True, help_text="Stable identifier, e.g. iab-300x250.")
    name = models.CharField(max_length=200)
    group = models.CharField(max_length=16, choices=SpecGroup.choices, default=SpecGroup.CUSTOM)
    kind = models.CharField(max_length=8, choices=CreativeKind.choices)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.FILE)
    width = models.PositiveIntegerField(null=True, blank=True, help_text="Pixels of the asset (renditions are made at this size).")
    height = models.PositiveIntegerField(null=True, blank=True)
    aspect_width = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Aspect ratio, e.g. 16 for 16:9.")
    aspect_height = models.PositiveSmallIntegerField(null=True, blank=True)
    min_width = models.PositiveIntegerField(null=True, blank=True, help_text="Minimum resolution of the source.")
    min_height = models.PositiveIntegerField(null=True, blank=True)
    max_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="File weight limit.")
    allowed_formats = models.JSONField(default=list, blank=True, help_text='e.g. ["jpeg", "png", "gif"]')
    fit = models.CharField(max_length=8, choices=Fit.choices, default=Fit.COVER)
    animation_allowed = models.BooleanField(default=False)
    max_loops = models.PositiveSmallIntegerField(null=True, blank=True)
    max_animation_seconds = models.DecimalField(**SECONDS, null=True, blank=True)
    min_duration = models.DecimalField(**SECONDS, null=True, blank=True, help_text="Seconds (video, audio).")
    max_duration = models.DecimalField(**SECONDS, null=True, blank=True)
    allowed_durations = models.JSONField(default=list, blank=True, help_text="Exact durations in seconds, e.g. [15, 30].")
    video_codecs = models.JSONField(default=list, blank=True, help_text='ffprobe names, e.g. ["h264"]')
    min_video_kbps = models.PositiveIntegerField(null=True, blank=True)
    frame_rates = models.JSONField(default=list, blank=True, help_text="Allowed frame rates, e.g. [23.976, 24, 25, 29.97].")
    audio_codecs = models.JSONField(default=list, blank=True)
    min_audio_kbps = models.PositiveIntegerField(null=True, blank=True)
    min_audio_channels = models.PositiveSmallIntegerField(null=True, blank=True)
    audio_sample_rates = models.JSONField(default=list, blank=True, help_text="e.g. [44100, 48000]")
    target_rms_dbfs = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    max_peak_dbfs = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    source_note = models.TextField(blank=True, help_text="Where the numbers come from.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AdSpecQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "group", "width", "height", "code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(width__isnull=True) & Q(height__isnull=True)) | (Q(width__gt=0) & Q(height__gt=0)),
                name="adspec_width_and_height_together",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def renders(self) -> bool:
        """Whether a rendition file is made for this spec (display files with a size)."""
        return self.kind == CreativeKind.DISPLAY and self.delivery == Delivery.FILE and bool(self.width)


class Creative(models.Model):
    """One uploaded creative (a file, or a third-party tag / VAST URL) of one advertiser.

    The format is detected from the bytes; the same bytes uploaded twice by the same advertiser
    are one creative (sha256). `status` moves pending → processing → ready | rejected; rejected
    says why in `rejection_reason` (refused file, or no spec passed)."""

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.PROTECT, related_name="creatives")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=CreativeKind.choices, blank=True)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.FILE)
    original = models.FileField(max_length=255, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    detected_format = models.CharField(max_length=8, choices=MediaFormat.choices, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.DecimalField(**SECONDS, null=True, blank=True, help_text="Seconds (video, audio, animation).")
    bitrate_kbps = models.PositiveIntegerField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    loops = models.PositiveIntegerField(null=True, blank=True, help_text="Times an animation plays.")
    media_info = models.JSONField(default=dict, blank=True, help_text="Codecs, frame rate, audio, loudness …")
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=CreativeStatus.choices, default=CreativeStatus.PENDING)
    rejection_code = models.CharField(max_length=32, blank=True)
    rejection_reason = models.TextField(blank=True)
    third_party_tag = models.TextField(blank=True, help_text="HTML/JS snippet (Kargo delivers these).")
    vast_url = models.URLField(max_length=2000, blank=True)
    thumbnail = models.FileField(max_length=255, blank=True)
    requested_specs = models.ManyToManyField(AdSpec, blank=True, related_name="+",
                                             help_text="Blank: every active spec of the creative's kind.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["advertiser", "sha256"], name="creative_unique_advertiser_sha256"),
            models.CheckConstraint(
                condition=~Q(delivery=Delivery.TAG) | ~Q(third_party_tag=""), name="creative_tag_has_snippet"
            ),
            models.CheckConstraint(condition=~Q(delivery=Delivery.VAST) | ~Q(vast_url=""), name="creative_vast_has_url"),
        ]
        indexes = [models.Index(fields=["advertiser", "status"], name="creative_advertiser_status_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_finished(self) -> bool:
        return self.status in CreativeStatus.finished()


class SpecVerdict(models.Model):
    """Whether a creative meets one spec, with every reason it does not (and notes when it does)."""

    creative = models.ForeignKey(Creative, on_delete=models.CASCADE, related_name="verdicts")
    spec = models.ForeignKey(AdSpec, on_delete=models.CASCADE, related_name="verdicts")
    passed = models.BooleanField()
    reasons = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "creative__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["creative_id", "spec__kind", "spec__width", "spec__height", "spec_id"]
        constraints = [models.UniqueConstraint(fields=["creative", "spec"], name="verdict_unique_creative_spec")]
        indexes = [models.Index(fields=["spec", "passed"], name="verdict_spec_passed_idx")]

    def __str__(self) -> str:
        return f"{self.creative} / {self.spec}: {'pass' if self.passed else 'fail'}"


class Rendition(models.Model):
    """The creative as served for one spec it passes: a re-encoded file for display sizes; for
    video and audio the original (`passthrough`), for tags the tag itself (no file)."""

    creative = models.ForeignKey(Creative, on_delete=models.CASCADE, related_name="renditions")
    spec = models.ForeignKey(AdSpec, on_delete=models.CASCADE, related_name="renditions")
    file = models.FileField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=8, choices=RENDITION_FORMAT_CHOICES)
    quality = models.PositiveSmallIntegerField(null=True, blank=True, help_text="JPEG quality used.")
    colours = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Palette size (PNG-8, GIF).")
    animated = models.BooleanField(default=False)
    passthrough = models.BooleanField(default=False, help_text="Serves the original file as is.")
    line_items = models.ManyToManyField("campaigns.LineItem", through="RenditionAssignment", related_name="renditions")
    created_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "creative__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["creative_id", "spec__width", "spec__height", "spec_id"]
        constraints = [models.UniqueConstraint(fields=["creative", "spec"], name="rendition_unique_creative_spec")]

    def __str__(self) -> str:
        size = f" {self.width}×{self.height}" if self.width else ""
        return f"{self.creative} → {self.spec.code}{size}"


class RenditionAssignment(models.Model):
    """A rendition running on a line item whose format fits it (same advertiser, same kind)."""

    rendition = models.ForeignKey(Rendition, on_delete=models.CASCADE, related_name="assignments")
    line_item = models.ForeignKey("campaigns.LineItem", on_delete=models.CASCADE, related_name="rendition_assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    TENANT_PATH = "rendition__creative__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-assigned_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rendition", "line_item"], name="assignment_unique_rendition_line_item")]

    def __str__(self) -> str:
        return f"{self.rendition} on {self.line_item}"


class UploadBatch(models.Model):
    """Many files (a zip, or several at once) uploaded together; each becomes a creative
    processed in its own task. Progress is read from its items' creatives."""

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.PROTECT, related_name="creative_batches")
    archive = models.FileField(max_length=255, blank=True, help_text="The uploaded zip, until it is expanded.")
    archive_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "upload batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.archive_name or 'files'})"


class BatchItem(models.Model):
    """One file of a batch and the creative it became (new, or the one it duplicates)."""

    batch = models.ForeignKey(UploadBatch, on_delete=models.CASCADE, related_name="items")
    filename = models.CharField(max_length=255)
    creative = models.ForeignKey(Creative, null=True, on_delete=models.SET_NULL, related_name="batch_items")
    outcome = models.CharField(max_length=12, choices=BatchItemOutcome.choices)
    size_bytes = models.PositiveBigIntegerField(default=0)

    TENANT_PATH = "batch__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["batch_id", "id"]

    def __str__(self) -> str:
        return self.filename


class ProcessingRun(models.Model):
    """One request to process a creative: a row before any work (queued → running with a
    heartbeat → done | failed), so a worker lost mid-task leaves a row the reconciler re-enqueues.
    At most one active (queued or running) run per creative."""

    creative = models.ForeignKey(Creative, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    step = models.CharField(max_length=32, blank=True, help_text="The step running or last reached.")
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=64, blank=True, help_text="upload, reprocess, spec change …")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    TENANT_PATH = "creative__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creative"], condition=Q(status__in=["queued", "running"]), name="run_one_active_per_creative"
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx")]

    def __str__(self) -> str:
        return f"Run {self.pk} of creative {self.creative_id} ({self.status})"


# Kargo inventory lives in creatives.kargo; imported here so Django registers its models in this app.
from creatives.kargo.models import (  # noqa: E402,F401
    KargoCreative,
    KargoDeal,
    KargoDealImport,
    KargoDealTarget,
    KargoFormat,
)
