"""List filters for /api/v1/campaigns/. Ids are bounded integers: "1.5" or an id past BIGINT is a
400, not a guess or a database error."""

from datetime import timezone as dt_timezone

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField, IsoDateTimeRangeField, RangeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from campaigns.api.scoping import PK_MAX
from campaigns.choices import (
    BiddingStrategy,
    CampaignStatus,
    EntityState,
    LineItemFormat,
    MatchType,
    Pacing,
    Phase,
    Role,
    TargetingType,
)
from campaigns.models import Advertiser, Campaign, ChangeRecord, Keyword, LineItem, Membership, ProductAd, ProductTarget


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", PK_MAX)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC.

    Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59 ("time zone displacement out
    of range", a 500), so the value goes out as UTC. And a valid string can lie outside years
    1–9999 once in UTC (0001-01-01T00:00+00:09): OverflowError, a 500 too; now a 400."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.tzinfo is not None:
            try:
                return value.astimezone(dt_timezone.utc)
            except OverflowError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return value


class UtcIsoDateTimeRangeField(IsoDateTimeRangeField):
    def __init__(self, *args, **kwargs):
        # IsoDateTimeRangeField.__init__ with our fields (RangeField marks them optional).
        RangeField.__init__(self, (UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's, refusing date-times outside UTC's range (400, not 500)."""

    field_class = UtcIsoDateTimeField


class IsoDateTimeFromToRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """django-filter's `…_after`/`…_before` pair, refusing date-times outside UTC's range."""

    field_class = UtcIsoDateTimeRangeField


def _states(choices):
    return django_filters.MultipleChoiceFilter(choices=choices)


class AdvertiserFilter(django_filters.FilterSet):
    country = django_filters.CharFilter()
    currency = django_filters.CharFilter()

    class Meta:
        model = Advertiser
        fields = ["country", "currency"]


class MembershipFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    user = IdFilter(field_name="user_id")
    role = django_filters.MultipleChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["advertiser", "user", "role"]


class CampaignFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    status = _states(CampaignStatus.choices)
    phase = _states(Phase.choices)
    bidding_strategy = django_filters.ChoiceFilter(choices=BiddingStrategy.choices)
    targeting_type = django_filters.ChoiceFilter(choices=TargetingType.choices)
    start_date = django_filters.DateFromToRangeFilter()
    end_date = django_filters.DateFromToRangeFilter()
    created = IsoDateTimeFromToRangeFilter(field_name="created_at")
    updated = IsoDateTimeFromToRangeFilter(field_name="updated_at")

    class Meta:
        model = Campaign
        fields = ["advertiser", "status", "phase", "bidding_strategy", "targeting_type"]


class LineItemFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="campaign__advertiser_id")
    campaign = IdFilter(field_name="campaign_id")
    status = _states(EntityState.choices)
    # Not "format": DRF reads ?format= as the response format.
    ad_format = django_filters.MultipleChoiceFilter(field_name="format", choices=LineItemFormat.choices)
    pacing = django_filters.ChoiceFilter(choices=Pacing.choices)
    phase = django_filters.MultipleChoiceFilter(field_name="campaign__phase", choices=Phase.choices)
    start_date = django_filters.DateFromToRangeFilter()
    end_date = django_filters.DateFromToRangeFilter()
    created = IsoDateTimeFromToRangeFilter(field_name="created_at")
    updated = IsoDateTimeFromToRangeFilter(field_name="updated_at")

    class Meta:
        model = LineItem
        fields = ["advertiser", "campaign", "status", "ad_format", "pacing", "phase"]


class _LineItemChildFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="line_item__campaign__advertiser_id")
    campaign = IdFilter(field_name="line_item__campaign_id")
    line_item = IdFilter(field_name="line_item_id")
    state = _states(EntityState.choices)
    phase = django_filters.MultipleChoiceFilter(field_name="line_item__campaign__phase", choices=Phase.choices)
    created = IsoDateTimeFromToRangeFilter(field_name="created_at")
    updated = IsoDateTimeFromToRangeFilter(field_name="updated_at")

    BASE = ["advertiser", "campaign", "line_item", "state", "phase"]


class KeywordFilter(_LineItemChildFilter):
    match_type = _states(MatchType.choices)

    class Meta:
        model = Keyword
        fields = [*_LineItemChildFilter.BASE, "match_type"]


class ProductAdFilter(_LineItemChildFilter):
    sku = django_filters.CharFilter()
    asin = django_filters.CharFilter()

    class Meta:
        model = ProductAd
        fields = [*_LineItemChildFilter.BASE, "sku", "asin"]


class ProductTargetFilter(_LineItemChildFilter):
    negative = django_filters.BooleanFilter()

    class Meta:
        model = ProductTarget
        fields = [*_LineItemChildFilter.BASE, "negative"]


class ChangeRecordFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    object_type = django_filters.ChoiceFilter(
        choices=[(m._meta.model_name, m._meta.model_name) for m in (Campaign, LineItem, Keyword, ProductTarget)]
    )
    object_id = IdFilter()
    field = django_filters.CharFilter()
    source = django_filters.CharFilter()
    changed_by = IdFilter(field_name="changed_by_id")
    changed = IsoDateTimeFromToRangeFilter(field_name="changed_at")

    class Meta:
        model = ChangeRecord
        fields = ["advertiser", "object_type", "object_id", "field", "source", "changed_by"]
