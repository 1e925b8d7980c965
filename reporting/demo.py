"""Demo delivery for the demo campaigns: 14 days of daily performance, so pacing and the
dashboards have something to show on a fresh install."""

import random
from datetime import timedelta
from decimal import Decimal

from campaigns.models import LineItem
from reporting.models import DailyPerformance
from reporting.services import performance_upsert


def seed_performance(*, days: int = 14, seed: int = 11) -> int:
    if DailyPerformance.objects.exists():
        return 0
    rng = random.Random(seed)
    rows = []
    for line_item in LineItem.objects.select_related("campaign__advertiser"):
        today = line_item.campaign.advertiser.today()
        daily = (line_item.budget or Decimal("500")) / 30
        for offset in range(1, days + 1):
            impressions = rng.randint(8_000, 40_000)
            clicks = rng.randint(impressions // 400, impressions // 100)
            spend = (daily * Decimal(rng.uniform(0.6, 1.3))).quantize(Decimal("0.01"))
            measurable = impressions - rng.randint(0, impressions // 10)
            rows.append({
                "date": (today - timedelta(days=offset)).isoformat(),
                "line_item_id": line_item.pk,
                "impressions": impressions,
                "clicks": clicks,
                "conversions": rng.randint(0, max(1, clicks // 12)),
                "spend": str(spend),
                "sales": str((spend * Decimal(rng.uniform(1.2, 5.0))).quantize(Decimal("0.01"))),
                "viewable_impressions": int(measurable * rng.uniform(0.45, 0.8)),
                "measurable_impressions": measurable,
            })
    return performance_upsert(rows=rows).created if rows else 0
