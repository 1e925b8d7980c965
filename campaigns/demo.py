"""Demo advertisers and campaign trees for a fresh install (`manage.py seed_demo`)."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from campaigns.choices import CampaignStatus, LineItemFormat, MatchType, Phase, Role
from campaigns.models import Advertiser, Campaign, Keyword, LineItem, Membership, ProductAd, ProductTarget

DEMO_PASSWORD_NOTE = "the demo trader's password is printed by seed_demo"

_TREES = [
    ("Acme Outdoor", "USD", "America/New_York", "US", [
        ("Trail shoes — conversion", Phase.CONVERSION, "150.00", "4500.00", LineItemFormat.SPONSORED_PRODUCTS),
        ("Tents — consideration", Phase.CONSIDERATION, "80.00", "2400.00", LineItemFormat.DISPLAY),
        ("Brand video — awareness", Phase.AWARENESS, "200.00", "6000.00", LineItemFormat.VIDEO),
    ]),
    ("Nordlicht Küchen", "EUR", "Europe/Berlin", "DE", [
        ("Messer — Conversion", Phase.CONVERSION, "60.00", "1800.00", LineItemFormat.SPONSORED_PRODUCTS),
        ("Töpfe — Consideration", Phase.CONSIDERATION, "40.00", "1200.00", LineItemFormat.DISPLAY),
    ]),
]


def seed_campaigns(*, password: str) -> tuple[int, str]:
    """Create the demo tree once; returns (campaigns created, the demo trader's username)."""
    User = get_user_model()
    trader, _ = User.objects.get_or_create(username="trader", defaults={"email": "trader@example.com"})
    trader.is_staff = True
    trader.set_password(password)
    trader.save()
    created = 0
    for name, currency, tz, country, campaigns in _TREES:
        advertiser, new = Advertiser.objects.get_or_create(
            name=name, defaults={"currency": currency, "timezone": tz, "country": country}
        )
        Membership.objects.get_or_create(user=trader, advertiser=advertiser, defaults={"role": Role.TRADER})
        if not new:
            continue
        today = advertiser.today()
        for index, (title, phase, daily, total, fmt) in enumerate(campaigns):
            campaign = Campaign.objects.create(
                advertiser=advertiser, name=title, phase=phase, status=CampaignStatus.ENABLED,
                start_date=today - timedelta(days=14), end_date=today + timedelta(days=16),
                daily_budget=Decimal(daily), total_budget=Decimal(total), target_roas=Decimal("300"),
            )
            created += 1
            for li in range(2):
                line_item = LineItem.objects.create(
                    campaign=campaign, name=f"{title} · group {li + 1}", format=fmt,
                    default_bid=Decimal("0.75") + li, budget=(Decimal(total) / 2).quantize(Decimal("0.01")),
                )
                if fmt != LineItemFormat.SPONSORED_PRODUCTS:
                    continue
                for k, word in enumerate(["running shoes", "trail runner", "waterproof hiking shoe"]):
                    Keyword.objects.create(line_item=line_item, text=word, match_type=MatchType.EXACT,
                                           bid=Decimal("0.60") + Decimal(k) / 10)
                Keyword.objects.create(line_item=line_item, text="cheap", match_type=MatchType.NEGATIVE_EXACT)
                ProductAd.objects.create(line_item=line_item, sku=f"SKU-{index}{li}", asin=f"B0DEMO{index}{li}000"[:10])
                ProductTarget.objects.create(line_item=line_item, expression=f'asin="B0RIVAL{index}{li}00"'[:500],
                                             bid=Decimal("0.90"))
    return created, trader.username
