"""Amazon's marketplace limits, kept as data (they move over time; see the reference, §4.5).

Keyed by the advertiser's country (marketplace). Bids apply to keywords, product targets and
line-item default bids; budgets to campaign daily budgets.
"""

from dataclasses import dataclass
from decimal import Decimal as D


@dataclass(frozen=True)
class MarketplaceLimits:
    bid_min: D
    bid_max: D
    daily_budget_min: D
    daily_budget_max: D


_EUROPE_BIDS = (D("0.02"), D("1000"))
LIMITS: dict[str, MarketplaceLimits] = {
    "US": MarketplaceLimits(D("0.02"), D("1000"), D("1"), D("1000000")),
    "CA": MarketplaceLimits(D("0.02"), D("1000"), D("1"), D("1000000")),
    "GB": MarketplaceLimits(D("0.02"), D("1000"), D("1"), D("1000000")),
    **{
        country: MarketplaceLimits(*_EUROPE_BIDS, D("1"), D("1000000"))
        for country in ("DE", "FR", "IT", "ES", "NL", "BE", "IE")
    },
    "JP": MarketplaceLimits(D("2"), D("100000"), D("100"), D("21000000")),
    "IN": MarketplaceLimits(D("1"), D("5000"), D("50"), D("21000000")),
    "MX": MarketplaceLimits(D("0.1"), D("20000"), D("1"), D("21000000")),
    "AU": MarketplaceLimits(D("0.02"), D("1410"), D("1.4"), D("1500000")),
    "AE": MarketplaceLimits(D("0.24"), D("184"), D("4"), D("3700000")),
    "SA": MarketplaceLimits(D("0.10"), D("3670"), D("4"), D("3700000")),
    "BR": MarketplaceLimits(D("0.07"), D("3700"), D("1.32"), D("5300000")),
    "SG": MarketplaceLimits(D("0.02"), D("1100"), D("1.39"), D("1300000")),
    "SE": MarketplaceLimits(D("0.18"), D("9300"), D("9"), D("9300000")),
    "PL": MarketplaceLimits(D("0.04"), D("2000"), D("2"), D("2000000")),
    "TR": MarketplaceLimits(D("0.05"), D("2500"), D("2"), D("2500000")),
    "ZA": MarketplaceLimits(D("1"), D("7000"), D("20"), D("7000000")),
}

# Name rules (reference §4.5).
CAMPAIGN_NAME_MAX = 128
AD_GROUP_NAME_MAX = 255
KEYWORD_MAX_CHARS = 80
KEYWORD_MAX_WORDS = 10
NEGATIVE_PHRASE_MAX_WORDS = 4


def limits_for(country: str) -> MarketplaceLimits:
    return LIMITS[country]
