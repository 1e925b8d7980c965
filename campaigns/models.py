"""The account hierarchy: advertiser (tenant) → campaign → line item → keywords, product ads, targets.

One-row rules live here (clean() and state transitions); writes across rows live in services.
"""

import zoneinfo
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.choices import (
    BiddingStrategy,
    CampaignStatus,
    EntityState,
    FrequencyCapUnit,
    GoalKpi,
    LineItemFormat,
    MatchType,
    Pacing,
    Phase,
    Role,
    TargetingType,
)
from campaigns.limits import (
    AD_GROUP_NAME_MAX,
    CAMPAIGN_NAME_MAX,
    KEYWORD_MAX_CHARS,
    KEYWORD_MAX_WORDS,
    LIMITS,
    NEGATIVE_PHRASE_MAX_WORDS,
    limits_for,
)
from campaigns.querysets import AdvertiserQuerySet, TenantQuerySet

# ISO 4217 minor units for the currencies Amazon's marketplaces use.
CURRENCY_MINOR_UNITS = {
    "USD": 2, "CAD": 2, "GBP": 2, "EUR": 2, "JPY": 0, "INR": 2, "MXN": 2, "AUD": 2, "AED": 2,
    "SAR": 2, "BRL": 2, "SGD": 2, "SEK": 2, "PLN": 2, "TRY": 2, "ZAR": 2,
}
MONEY = {"max_digits": 14, "decimal_places": 2}


class ArchivedError(ValidationError):
    """Archived is final: an archived object cannot be changed or revived."""


def _finite(value) -> bool:
    """An amount the rules below can compare. NaN would raise on `<` (InvalidOperation) and
    infinities are not amounts; clean_fields() already refused both, and anything not converted."""
    return isinstance(value, Decimal) and value.is_finite()


def _check_money(value: Decimal | None, currency: str, field: str, errors: dict) -> None:
    if not _finite(value):
        return  # the field's own validation reports a missing or non-numeric value
    places = CURRENCY_MINOR_UNITS[currency]
    try:
        quantized = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        return  # too many digits to quantize: the field's max_digits check already says so
    if value != quantized:
        errors.setdefault(field, []).append(f"{currency} amounts have at most {places} decimal places.")


def _check_bid(value: Decimal | None, advertiser: "Advertiser", field: str, errors: dict) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        return
    limits = limits_for(advertiser.country)
    if not limits.bid_min <= value <= limits.bid_max:
        errors.setdefault(field, []).append(
            f"Bid must be between {limits.bid_min} and {limits.bid_max} {advertiser.currency} "
            f"in marketplace {advertiser.country}."
        )
    _check_money(value, advertiser.currency, field, errors)


def _check_name(value: str, max_length: int, field: str, errors: dict) -> None:
    if value != value.strip():
        errors.setdefault(field, []).append("Names cannot start or end with spaces.")
    if not value.strip():
        errors.setdefault(field, []).append("A name is required.")
    if len(value) > max_length:
        errors.setdefault(field, []).append(f"At most {max_length} characters.")


class Advertiser(models.Model):
    """The tenant: every campaign, line item and keyword belongs to exactly one advertiser."""

    name = models.CharField(max_length=200, unique=True)
    currency = models.CharField(max_length=3, choices=[(c, c) for c in CURRENCY_MINOR_UNITS])
    timezone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(
        max_length=2, choices=[(c, c) for c in LIMITS], help_text="Amazon marketplace, ISO 3166 code."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AdvertiserQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.timezone not in zoneinfo.available_timezones():
            errors["timezone"] = [f"Unknown time zone {self.timezone!r}."]
        if errors:
            raise ValidationError(errors)

    def today(self):
        """Today in the advertiser's timezone: the day budgets and flights are counted in."""
        return timezone.now().astimezone(zoneinfo.ZoneInfo(self.timezone)).date()


class Membership(models.Model):
    """A user's role for one advertiser: viewer < trader < manager."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "advertiser"], name="membership_unique_user_advertiser")]
        ordering = ["advertiser__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} — {self.advertiser} ({self.role})"


class Campaign(models.Model):
    """A flight of spend for one advertiser, in one phase of the funnel."""

    advertiser = models.ForeignKey(Advertiser, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=CAMPAIGN_NAME_MAX)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.CONVERSION)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    daily_budget = models.DecimalField(**MONEY)
    total_budget = models.DecimalField(**MONEY, null=True, blank=True)
    target_roas = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True,
                                      help_text="Percent: 300 means 3:1 sales to spend.")
    bidding_strategy = models.CharField(max_length=32, choices=BiddingStrategy.choices, default=BiddingStrategy.DOWN_ONLY)
    targeting_type = models.CharField(max_length=8, choices=TargetingType.choices, default=TargetingType.MANUAL)
    goal_kpi = models.CharField(max_length=16, choices=GoalKpi.choices, default=GoalKpi.ROAS)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["advertiser", "status"], name="campaign_advertiser_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(daily_budget__gt=0), name="campaign_daily_budget_positive"),
            models.CheckConstraint(
                condition=Q(total_budget__isnull=True) | Q(total_budget__gte=models.F("daily_budget")),
                name="campaign_daily_within_total",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="campaign_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors: dict[str, list[str]] = {}
        _check_name(self.name or "", CAMPAIGN_NAME_MAX, "name", errors)
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors.setdefault("end_date", []).append("The end date cannot be before the start date.")
        if _finite(self.daily_budget):
            if self.daily_budget <= 0:
                errors.setdefault("daily_budget", []).append("The daily budget must be greater than 0.")
            elif self.advertiser_id:
                limits = limits_for(self.advertiser.country)
                if not limits.daily_budget_min <= self.daily_budget <= limits.daily_budget_max:
                    errors.setdefault("daily_budget", []).append(
                        f"The daily budget must be between {limits.daily_budget_min} and "
                        f"{limits.daily_budget_max} {self.advertiser.currency}."
                    )
        if _finite(self.total_budget):
            if self.total_budget <= 0:
                errors.setdefault("total_budget", []).append("The total budget must be greater than 0.")
            elif _finite(self.daily_budget) and self.daily_budget > self.total_budget:
                errors.setdefault("daily_budget", []).append("The daily budget cannot exceed the total budget.")
        if _finite(self.target_roas) and self.target_roas <= 0:
            errors.setdefault("target_roas", []).append("The target ROAS must be greater than 0.")
        if self.advertiser_id:
            _check_money(self.daily_budget, self.advertiser.currency, "daily_budget", errors)
            _check_money(self.total_budget, self.advertiser.currency, "total_budget", errors)
        if errors:
            raise ValidationError(errors)

    @property
    def is_archived(self) -> bool:
        return self.status == CampaignStatus.ARCHIVED

    def pause(self) -> None:
        self._leave(CampaignStatus.PAUSED)

    def enable(self) -> None:
        self._leave(CampaignStatus.ENABLED)

    def archive(self) -> None:
        self._leave(CampaignStatus.ARCHIVED)

    def _leave(self, status: str) -> None:
        if self.is_archived:
            raise ArchivedError("Archived entity cannot be modified.")
        self.status = status


class LineItem(models.Model):
    """An Amazon ad group / DSP line item: where bids, budget, pacing and frequency are set."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="line_items")
    name = models.CharField(max_length=AD_GROUP_NAME_MAX)
    format = models.CharField(max_length=32, choices=LineItemFormat.choices, default=LineItemFormat.SPONSORED_PRODUCTS)
    status = models.CharField(max_length=16, choices=EntityState.choices, default=EntityState.ENABLED)
    default_bid = models.DecimalField(**MONEY)
    budget = models.DecimalField(**MONEY, null=True, blank=True)
    pacing = models.CharField(max_length=8, choices=Pacing.choices, default=Pacing.EVEN)
    start_date = models.DateField(null=True, blank=True, help_text="Blank: the campaign's start.")
    end_date = models.DateField(null=True, blank=True, help_text="Blank: the campaign's end.")
    frequency_cap_impressions = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: uncapped.")
    frequency_cap_period = models.PositiveIntegerField(null=True, blank=True)
    frequency_cap_unit = models.CharField(max_length=8, choices=FrequencyCapUnit.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "campaign__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["campaign_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(default_bid__gt=0), name="lineitem_default_bid_positive"),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gt=0), name="lineitem_budget_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def advertiser(self) -> Advertiser:
        return self.campaign.advertiser

    @property
    def is_uncapped(self) -> bool:
        return self.frequency_cap_impressions is None

    def clean(self):
        errors: dict[str, list[str]] = {}
        _check_name(self.name or "", AD_GROUP_NAME_MAX, "name", errors)
        if self.campaign_id:
            campaign = self.campaign
            _check_bid(self.default_bid, campaign.advertiser, "default_bid", errors)
            _check_money(self.budget, campaign.advertiser.currency, "budget", errors)
            if self.start_date and self.start_date < campaign.start_date:
                errors.setdefault("start_date", []).append("A line item cannot start before its campaign.")
            if self.end_date and campaign.end_date and self.end_date > campaign.end_date:
                errors.setdefault("end_date", []).append("A line item cannot end after its campaign.")
            if _finite(self.budget) and campaign.total_budget is not None and self.budget > campaign.total_budget:
                errors.setdefault("budget", []).append("A line item's budget cannot exceed its campaign's total budget.")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors.setdefault("end_date", []).append("The end date cannot be before the start date.")
        if _finite(self.budget) and self.budget <= 0:
            errors.setdefault("budget", []).append("The budget must be greater than 0.")
        cap = (self.frequency_cap_impressions, self.frequency_cap_period, self.frequency_cap_unit or None)
        if any(v is not None for v in cap) and not all(v is not None for v in cap):
            errors.setdefault("frequency_cap_impressions", []).append(
                "A frequency cap needs impressions, a period and a unit (or none of them for uncapped)."
            )
        elif cap[0] is not None and (cap[0] < 1 or cap[1] < 1):
            errors.setdefault("frequency_cap_impressions", []).append("Cap impressions and period must be at least 1.")
        if errors:
            raise ValidationError(errors)


class _LineItemChild(models.Model):
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE)
    state = models.CharField(max_length=16, choices=EntityState.choices, default=EntityState.ENABLED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_PATH = "line_item__campaign__advertiser"
    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["line_item_id", "id"]

    @property
    def advertiser(self) -> Advertiser:
        return self.line_item.campaign.advertiser


class Keyword(_LineItemChild):
    """A keyword under a line item; negatives carry no bid."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="keywords")
    text = models.CharField(max_length=KEYWORD_MAX_CHARS)
    match_type = models.CharField(max_length=16, choices=MatchType.choices, default=MatchType.BROAD)
    bid = models.DecimalField(**MONEY, null=True, blank=True, help_text="Blank: the line item's default bid.")

    class Meta(_LineItemChild.Meta):
        constraints = [models.CheckConstraint(condition=Q(bid__isnull=True) | Q(bid__gt=0), name="keyword_bid_positive")]

    def __str__(self) -> str:
        return f"{self.text} [{self.match_type}]"

    @property
    def is_negative(self) -> bool:
        return self.match_type in MatchType.negatives()

    def clean(self):
        errors: dict[str, list[str]] = {}
        text = self.text or ""
        if not text.strip() or text != text.strip():
            errors.setdefault("text", []).append("Keyword text is required and cannot start or end with spaces.")
        words = len(text.split())
        max_words = NEGATIVE_PHRASE_MAX_WORDS if self.match_type == MatchType.NEGATIVE_PHRASE else KEYWORD_MAX_WORDS
        if words > max_words:
            errors.setdefault("text", []).append(f"At most {max_words} words for match type {self.match_type}.")
        if self.is_negative and self.bid is not None:
            errors.setdefault("bid", []).append("Negative keywords have no bid.")
        if self.line_item_id and not self.is_negative:
            _check_bid(self.bid, self.line_item.campaign.advertiser, "bid", errors)
        if errors:
            raise ValidationError(errors)


class ProductAd(_LineItemChild):
    """A product advertised in a line item, by SKU (sellers) or ASIN (vendors)."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="product_ads")
    sku = models.CharField(max_length=80, blank=True)
    asin = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return self.sku or self.asin

    def clean(self):
        if not (self.sku or self.asin):
            raise ValidationError({"sku": ["A product ad needs a SKU or an ASIN."]})
        if self.asin and not (len(self.asin) == 10 and self.asin.isalnum() and self.asin.upper() == self.asin):
            raise ValidationError({"asin": ["An ASIN is 10 upper-case letters and digits."]})


class ProductTarget(_LineItemChild):
    """A product-targeting expression (asin="…", category="…"); negatives carry no bid."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="product_targets")
    expression = models.CharField(max_length=500)
    bid = models.DecimalField(**MONEY, null=True, blank=True)
    negative = models.BooleanField(default=False)

    class Meta(_LineItemChild.Meta):
        constraints = [models.CheckConstraint(condition=Q(bid__isnull=True) | Q(bid__gt=0), name="target_bid_positive")]

    def __str__(self) -> str:
        return ("NOT " if self.negative else "") + self.expression

    def clean(self):
        errors: dict[str, list[str]] = {}
        if not (self.expression or "").strip():
            errors.setdefault("expression", []).append("An expression is required.")
        if self.negative and self.bid is not None:
            errors.setdefault("bid", []).append("Negative targets have no bid.")
        if self.line_item_id and not self.negative:
            _check_bid(self.bid, self.line_item.campaign.advertiser, "bid", errors)
        if errors:
            raise ValidationError(errors)


class ChangeRecord(models.Model):
    """Who changed a budget or a bid, when, from what to what. Written explicitly by services,
    so bulk and .update() paths are covered too (signal-based history would miss them)."""

    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="+")
    object_type = models.CharField(max_length=32)  # campaign, lineitem, keyword, producttarget
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=32)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=32, default="console", help_text="console, api, bulk, rule, sync …")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-changed_at"], name="change_object_idx")]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}.{self.field}: {self.old_value} → {self.new_value}"


from campaigns.rules.models import *  # noqa: E402,F401,F403
from campaigns.bulksheets.models import *  # noqa: E402,F401,F403
