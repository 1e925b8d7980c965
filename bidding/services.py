"""Bid calculation: the one place a ProductBid is written."""

from decimal import Decimal

from django.utils import timezone

from bidding import metrics
from bidding.models import ProductBid
from bidding.price_helper import adjusted_cpc_decimal


def bid_calculate(*, product_id: int, current_cpc: Decimal, target_roas: Decimal, source: str = "api") -> ProductBid:
    """Compute the adjusted CPC exactly and store it with the very inputs it came from.

    Inputs are validated at the edge (bidding.validation); the price helper still refuses a
    negative CPC or a non-positive ROAS with the legacy messages (ValueError).
    """
    adjusted = adjusted_cpc_decimal(current_cpc, target_roas)
    bid = ProductBid.objects.create(
        product_id=product_id,
        current_cpc=current_cpc,
        target_roas=target_roas,
        adjusted_cpc=adjusted,
        calculated_at=timezone.now(),
    )
    metrics.BIDS_CALCULATED.labels(source=source).inc()
    return bid
