"""Shapes in and out of /api/v1/campaigns/. Serializers check shape; the model rules run in
campaigns.services (entity_save and friends), which every write goes through.

Statuses and states are read-only here: they change through the pause/enable/archive actions,
so a row can never be put back to draft (and deleted) or archived without its cascade.
"""

from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.api.scoping import PK_MAX, ScopedPrimaryKeyRelatedField, StrictPrimaryKeyRelatedField
from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import (
    Advertiser,
    Campaign,
    ChangeRecord,
    Keyword,
    LineItem,
    Membership,
    ProductAd,
    ProductTarget,
)
from campaigns.services import advertiser_save, entity_save, membership_save

MAX_BULK_BIDS = 1000
_TIMESTAMPS = ["created_at", "updated_at"]


# Statuses are documented as inline enums (wrapped, so spectacular does not hoist them into named
# components): campaigns' and line items' "status" hold different choice sets and would collide.
# ENUM_NAME_OVERRIDES in settings would be the alternative.
@extend_schema_field({"allOf": [{"type": "string", "enum": CampaignStatus.values}]})
class CampaignStatusField(serializers.CharField):
    """Read-only: changed through the pause, enable and archive actions."""


@extend_schema_field({"allOf": [{"type": "string", "enum": EntityState.values}]})
class EntityStateField(serializers.CharField):
    """Read-only: changed through the pause, enable and archive actions."""


class StrictDecimalField(serializers.DecimalField):
    """A decimal that refuses "" instead of reading it as null: an empty cell must not clear a bid."""

    def validate_empty_values(self, data):
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return serializers.Field.validate_empty_values(self, data)


def _user(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class ServiceModelSerializer(serializers.ModelSerializer):
    """Saves through a service and keeps the parent fixed once created (moving a row to another
    parent would move it between budgets, or between advertisers)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: StrictDecimalField,
    }
    parent_field: str | None = None

    def validate(self, attrs):
        attrs = super().validate(attrs)
        parent = attrs.get(self.parent_field) if self.parent_field else None
        moved = parent is not None and parent.pk != getattr(self.instance, f"{self.parent_field}_id", parent.pk)
        if self.instance is not None and moved:
            raise serializers.ValidationError({self.parent_field: ["Cannot be changed after creation."]})
        return attrs

    def save_object(self, obj):
        return entity_save(obj=obj, by=_user(self), source="api")

    def create(self, validated_data):
        return self.save_object(self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self.save_object(instance)


class AdvertiserSerializer(ServiceModelSerializer):
    """An advertiser (the tenant): currency and marketplace fix the money rules of everything under it."""

    class Meta:
        model = Advertiser
        fields = ["id", "name", "currency", "timezone", "country", "created_at"]
        read_only_fields = ["id", "created_at"]

    def save_object(self, obj):
        return advertiser_save(advertiser=obj, by=_user(self))


class MembershipSerializer(ServiceModelSerializer):
    """A user's role on one advertiser: viewer < trader < manager."""

    parent_field = "advertiser"
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    user = StrictPrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "advertiser", "role"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs.get("user")
        if self.instance is not None and user is not None and user.pk != self.instance.user_id:
            raise serializers.ValidationError({"user": ["Cannot be changed after creation."]})
        return attrs

    def save_object(self, obj):
        return membership_save(membership=obj, by=_user(self))


class CampaignSerializer(ServiceModelSerializer):
    """A campaign. Budgets need the manager role; status changes through the actions."""

    parent_field = "advertiser"
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    status = CampaignStatusField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id", "advertiser", "name", "phase", "status", "start_date", "end_date", "daily_budget",
            "total_budget", "target_roas", "bidding_strategy", "targeting_type", "goal_kpi", *_TIMESTAMPS,
        ]
        read_only_fields = ["id", "status", *_TIMESTAMPS]


class CampaignDuplicateSerializer(serializers.Serializer):
    """Optional name for the copy (default: the original's name + " (copy)")."""

    name = serializers.CharField(required=False, max_length=Campaign._meta.get_field("name").max_length)


class LineItemSerializer(ServiceModelSerializer):
    """A line item (Amazon ad group). Its budget needs the manager role."""

    parent_field = "campaign"
    campaign = ScopedPrimaryKeyRelatedField(queryset=Campaign.objects.select_related("advertiser"))
    advertiser = serializers.IntegerField(source="campaign.advertiser_id", read_only=True)
    status = EntityStateField(read_only=True)

    class Meta:
        model = LineItem
        fields = [
            "id", "campaign", "advertiser", "name", "format", "status", "default_bid", "budget", "pacing",
            "start_date", "end_date", "frequency_cap_impressions", "frequency_cap_period",
            "frequency_cap_unit", *_TIMESTAMPS,
        ]
        read_only_fields = ["id", "status", *_TIMESTAMPS]


class _LineItemChildSerializer(ServiceModelSerializer):
    parent_field = "line_item"
    line_item = ScopedPrimaryKeyRelatedField(queryset=LineItem.objects.select_related("campaign__advertiser"))
    campaign = serializers.IntegerField(source="line_item.campaign_id", read_only=True)
    advertiser = serializers.IntegerField(source="line_item.campaign.advertiser_id", read_only=True)
    state = EntityStateField(read_only=True)

    PARENT_FIELDS = ["id", "line_item", "campaign", "advertiser"]
    READ_ONLY = ["id", "state", *_TIMESTAMPS]


class KeywordSerializer(_LineItemChildSerializer):
    """A keyword under a line item; negatives carry no bid, a blank bid uses the line item's."""

    class Meta:
        model = Keyword
        fields = [*_LineItemChildSerializer.PARENT_FIELDS, "text", "match_type", "bid", "state", *_TIMESTAMPS]
        read_only_fields = _LineItemChildSerializer.READ_ONLY


class ProductAdSerializer(_LineItemChildSerializer):
    """A product advertised in a line item, by SKU or ASIN."""

    class Meta:
        model = ProductAd
        fields = [*_LineItemChildSerializer.PARENT_FIELDS, "sku", "asin", "state", *_TIMESTAMPS]
        read_only_fields = _LineItemChildSerializer.READ_ONLY


class ProductTargetSerializer(_LineItemChildSerializer):
    """A product-targeting expression; negatives carry no bid."""

    class Meta:
        model = ProductTarget
        fields = [*_LineItemChildSerializer.PARENT_FIELDS, "expression", "negative", "bid", "state", *_TIMESTAMPS]
        read_only_fields = _LineItemChildSerializer.READ_ONLY


class ChangeRecordSerializer(serializers.ModelSerializer):
    """One change to a budget or a bid: who, when, old → new."""

    # null when the change came from the system (a sync, a rule, the console's own jobs), like changed_by.
    changed_by_username = serializers.CharField(
        source="changed_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ChangeRecord
        fields = [
            "id", "advertiser", "object_type", "object_id", "field", "old_value", "new_value",
            "changed_by", "changed_by_username", "changed_at", "source",
        ]
        read_only_fields = fields


class BulkBidItemSerializer(serializers.Serializer):
    """One bid: a keyword id and an exact decimal (a string such as "1.25", or a JSON number)."""

    keyword_id = serializers.IntegerField(min_value=1, max_value=PK_MAX)
    bid = StrictDecimalField(max_digits=14, decimal_places=2)


class _AnyItem(serializers.Field):
    """Takes an item as sent; BulkBidItemSerializer checks it, so its error lands in the item list."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class BulkBidsSerializer(serializers.Serializer):
    """{"items": [{"keyword_id": 1, "bid": "1.25"}, …]}: items are checked one by one in the view,
    so each failing item gets its own entry in the error list."""

    items = serializers.ListField(
        child=_AnyItem(), allow_empty=False, max_length=MAX_BULK_BIDS,
        help_text=f"At most {MAX_BULK_BIDS} items of {{keyword_id, bid}}.",
    )


class BulkBidsRequestSerializer(serializers.Serializer):
    """Up to 1,000 keyword bids, applied all or nothing."""

    items = BulkBidItemSerializer(many=True, max_length=MAX_BULK_BIDS)


class BulkBidItemErrorSerializer(serializers.Serializer):
    """Why one item was refused; `index` is its position in `items`."""

    index = serializers.IntegerField()
    keyword_id = serializers.JSONField(allow_null=True)
    errors = serializers.ListField(child=serializers.CharField())


class BulkBidsErrorSerializer(serializers.Serializer):
    """Nothing was written. Per-item refusals come in `errors`; a body of the wrong shape (not an
    object, `items` missing, empty, too long or not a list) gets DRF's field errors instead, in
    `items` or `non_field_errors`, and a body that is not JSON a `detail`."""

    errors = BulkBidItemErrorSerializer(many=True, required=False)
    items = serializers.ListField(child=serializers.CharField(), required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False, help_text="The body is not JSON.")


class DetailSerializer(serializers.Serializer):
    """An error message."""

    detail = serializers.CharField()
