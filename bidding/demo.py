"""Demo bids for a fresh install: 30 days of calculations, some far enough off to be flagged."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bidding.audit import AuditAlreadyRunning, budget_audit_run
from bidding.choices import AuditTrigger
from bidding.models import ProductBid
from bidding.price_helper import adjusted_cpc_decimal

DEMO_BIDS = 600


def seed_bids(*, count: int = DEMO_BIDS, seed: int = 7) -> int:
    """Create demo bids once; later calls add nothing. Returns how many were created."""
    if ProductBid.objects.exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    bids = []
    for _ in range(count):
        cpc = Decimal(rng.randint(5, 500)) / 100
        roas = Decimal(rng.choice([80, 90, 100, 110, 115, 120, 125, 150, 200]))
        bids.append(
            ProductBid(
                product_id=rng.randint(1000, 1200),
                current_cpc=cpc,
                target_roas=roas,
                adjusted_cpc=adjusted_cpc_decimal(cpc, roas),
                calculated_at=now - timedelta(seconds=rng.randint(0, 30 * 86400)),
            )
        )
    ProductBid.objects.bulk_create(bids, batch_size=500)
    try:
        budget_audit_run(trigger=AuditTrigger.COMMAND)
    except AuditAlreadyRunning:
        pass
    return len(bids)
