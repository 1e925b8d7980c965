"""Kargo formats, deals, line item ↔ deal targeting, third-party Kargo creatives, deal-list
imports. App label `creatives` (imported by creatives.models); see the package docstring."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.querysets import TenantQuerySet, _is_usable
from creatives.choices import RunStatus
from creatives.kargo.choices import DealState, DealType, KargoMediaType, TagType
from creatives.kargo.validation import validate_currency_code, validate_deal_id

FLOOR = {"max_digits": 12, "decimal_places": 2}


class KargoFormat(models.Model):
    """A Kargo creative format and the size it runs at in a DSP (reference §6), linked to the
    AdSpec the creatives pipeline checks its creatives against. Seeded; editable in the admin."""

    name = models.CharField(max_length=100, unique=True)
    width = models.PositiveIntegerField(null=True, blank=True, help_text="Blank for VAST formats (n/a or 1x1).")
    height = models.PositiveIntegerField(null=True, blank=True)
    media_type = models.CharField(max_length=8, choices=KargoMediaType.choices, default=KargoMediaType.DISPLAY)
    is_vast = models.BooleanField(default=False)
    ad_spec = models.ForeignKey("creatives.AdSpec", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="kargo_formats")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["media_type", "width", "height", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(width__isnull=True) & Q(height__isnull=True)) | (Q(width__gt=0) & Q(height__gt=0)),
                name="kargoformat_width_and_height_together",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def dsp_size(self) -> str:
        return f"{self.width}x{self.height}" if self.width else "n/a or 1x1"


class KargoDealQuerySet(models.QuerySet):
    def visible_to(self, user, role: str = "viewer"):
        """Deals offered to at least one advertiser the user sees (superusers: all)."""
        if not _is_usable(user):
            return self.none()
        if user.is_superuser:
            return self.all()
        from campaigns.models import Advertiser

        visible = Advertiser.objects.visible_to(user, role).values("pk")
        offered = KargoDeal.advertisers.through.objects.filter(kargodeal_id=OuterRef("pk"), advertiser_id__in=visible)
        return self.filter(Exists(offered))

    def ending_within(self, days: int, on: date | None = None):
        on = on or timezone.localdate()
        return self.filter(end_date__gte=on, end_date__lte=on + timedelta(days=days))

    def trafficked(self):
        return self.filter(Exists(KargoDealTarget.objects.filter(deal=OuterRef("pk"), trafficked_at__isnull=False)))

    def not_trafficked(self):
        return self.exclude(Exists(KargoDealTarget.objects.filter(deal=OuterRef("pk"), trafficked_at__isnull=False)))


class KargoDeal(models.Model):
    """A Kargo deal an advertiser's line items can target in Amazon DSP: private auction,
    preferred or programmatic guaranteed, with its floor CPM, flight and the formats it carries."""

    # The deal rules live on the fields, so the API, the console form and the CSV import all apply them.
    deal_id = models.CharField(max_length=128, unique=True, validators=[validate_deal_id],
                               help_text="The deal id Kargo sends (as the DSP sees it).")
    name = models.CharField(max_length=255)
    deal_type = models.CharField(max_length=32, choices=DealType.choices, default=DealType.PRIVATE_AUCTION)
    floor_cpm = models.DecimalField(**FLOOR, help_text="Floor CPM in the deal's currency.")
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency_code])
    start_date = models.DateField()
    end_date = models.DateField()
    formats = models.ManyToManyField(KargoFormat, blank=True, related_name="deals")
    advertisers = models.ManyToManyField("campaigns.Advertiser", blank=True, related_name="kargo_deals",
                                         help_text="Advertisers the deal is offered to.")
    state = models.CharField(max_length=16, choices=DealState.choices, default=DealState.ENABLED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KargoDealQuerySet.as_manager()

    class Meta:
        ordering = ["end_date", "deal_id"]
        constraints = [
            models.CheckConstraint(condition=Q(floor_cpm__gte=0), name="kargodeal_floor_not_negative"),
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                   name="kargodeal_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.deal_id})"

    def has_ended(self, on: date) -> bool:
        return self.end_date < on

    def is_offered_to(self, advertiser) -> bool:
        return self.advertisers.filter(pk=advertiser.pk).exists()

    def floor_above(self, bid: Decimal) -> bool:
        return self.floor_cpm > bid

    @property
    def is_guaranteed(self) -> bool:
        return self.deal_type == DealType.PROGRAMMATIC_GUARANTEED


class KargoDealTarget(models.Model):
    """A line item targeting a Kargo deal. It lives here, not on LineItem, so campaigns imports
    nothing; the push turns it into the ad group's deal targeting and sets `trafficked_at`."""

    deal = models.ForeignKey(KargoDeal, on_delete=models.PROTECT, related_name="targets")
    line_item = models.ForeignKey("campaigns.LineItem", on_delete=models.CASCADE, related_name="kargo_deal_targets")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    trafficked_at = models.DateTimeField(null=True, blank=True, help_text="When the push set it on the ad group.")

    TENANT_PATH = "line_item__campaign__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["line_item_id", "deal_id"]
        constraints = [models.UniqueConstraint(fields=["deal", "line_item"], name="kargodealtarget_unique")]

    def __str__(self) -> str:
        return f"{self.line_item} → {self.deal}"


class KargoCreative(models.Model):
    """A Kargo creative snippet trafficked as an Amazon DSP third-party creative: an HTML/JS tag,
    a VAST URL or inline VAST XML, for one format and one deal, with click and impression
    trackers. Tags and VAST URLs also exist as a creatives.Creative (delivery tag/vast) checked by
    the pipeline against the format's AdSpec; inline VAST is validated here only."""

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.PROTECT, related_name="kargo_creatives")
    name = models.CharField(max_length=255)
    format = models.ForeignKey(KargoFormat, on_delete=models.PROTECT, related_name="creatives")
    deal = models.ForeignKey(KargoDeal, on_delete=models.PROTECT, related_name="creatives")
    tag_type = models.CharField(max_length=8, choices=TagType.choices)
    tag = models.TextField(blank=True, help_text="HTML/JS snippet (display formats).")
    vast_url = models.URLField(max_length=2000, blank=True)
    vast_xml = models.TextField(blank=True, help_text="Inline VAST document.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    click_through_url = models.URLField(max_length=2000, blank=True)
    click_trackers = models.JSONField(default=list, blank=True)
    impression_trackers = models.JSONField(default=list, blank=True)
    creative = models.ForeignKey("creatives.Creative", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="kargo_creatives", help_text="The pipeline's record (tags, VAST URLs).")
    trafficked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return {TagType.HTML: self.tag, TagType.VAST_URL: self.vast_url, TagType.VAST_XML: self.vast_xml}[self.tag_type]


class KargoDealImport(models.Model):
    """A deal list (CSV, the way Kargo sends it) imported for one advertiser: the row is the job
    (queued → running with a heartbeat → done | failed), so the reconciler recovers lost workers.
    All or nothing: any invalid row fails the import with a per-row error report, nothing written."""

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.CASCADE, related_name="kargo_imports")
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField(help_text="The CSV as uploaded.")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Per row: {row, field, message}.")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="kargoimport_status_hb_idx")]

    def __str__(self) -> str:
        return f"Kargo deal import {self.pk} ({self.status})"


# Huey registers tasks when their module is imported; the creatives app autodiscovers only its own.
from creatives.kargo import tasks  # noqa: E402,F401
