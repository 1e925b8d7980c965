import django_filters

from bidding.models import ProductBid


class ProductBidFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id")
    calculated_after = django_filters.IsoDateTimeFilter(field_name="calculated_at", lookup_expr="gte")
    calculated_before = django_filters.IsoDateTimeFilter(field_name="calculated_at", lookup_expr="lte")

    class Meta:
        model = ProductBid
        fields = ["product", "calculated_after", "calculated_before"]
