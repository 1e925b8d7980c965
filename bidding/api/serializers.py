from decimal import Decimal

from rest_framework import serializers

from bidding.models import MAX_CURRENT_CPC, MAX_TARGET_ROAS, ProductBid
from bidding.validation import MAX_PRODUCT_ID


class ProductBidSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_PRODUCT_ID)
    current_cpc = serializers.DecimalField(
        max_digits=11, decimal_places=4, min_value=Decimal("0"), max_value=MAX_CURRENT_CPC
    )
    target_roas = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=Decimal("0.0001"), max_value=MAX_TARGET_ROAS
    )

    class Meta:
        model = ProductBid
        fields = ["id", "product_id", "current_cpc", "target_roas", "adjusted_cpc", "calculated_at"]
        read_only_fields = ["id", "adjusted_cpc", "calculated_at"]


class LegacyBidRequestSerializer(serializers.Serializer):
    """Documentation only: the legacy endpoint parses its body itself (see bidding.validation)."""

    product_id = serializers.IntegerField(min_value=1)
    current_cpc = serializers.DecimalField(max_digits=11, decimal_places=4, coerce_to_string=False)
    target_roas = serializers.DecimalField(max_digits=10, decimal_places=4, coerce_to_string=False)


class LegacyBidResponseSerializer(serializers.Serializer):
    adjusted_cpc = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    bid_id = serializers.IntegerField()


class LegacyBidErrorSerializer(serializers.Serializer):
    errors = serializers.ListField(child=serializers.CharField())
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
