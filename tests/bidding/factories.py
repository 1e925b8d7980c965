from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from bidding.models import ProductBid
from bidding.price_helper import adjusted_cpc_decimal


class ProductBidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductBid

    product_id = factory.Sequence(lambda n: 1000 + n)
    current_cpc = Decimal("1.0000")
    target_roas = Decimal("100.0000")
    adjusted_cpc = factory.LazyAttribute(lambda bid: adjusted_cpc_decimal(bid.current_cpc, bid.target_roas))
    calculated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
