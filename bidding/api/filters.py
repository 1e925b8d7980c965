import django_filters

from bidding.models import ProductBid
from campaigns.api.filters import IdFilter, IsoDateTimeFilter


class ProductBidFilter(django_filters.FilterSet):
    # A bounded integer: "1.5" or a number past BIGINT is a 400, not a database error.
    product = IdFilter(field_name="product_id")
    calculated_after = IsoDateTimeFilter(field_name="calculated_at", lookup_expr="gte")
    calculated_before = IsoDateTimeFilter(field_name="calculated_at", lookup_expr="lte")

    class Meta:
        model = ProductBid
        fields = ["product", "calculated_after", "calculated_before"]
