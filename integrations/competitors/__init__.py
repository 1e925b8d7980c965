"""Competitor price monitor: a DummyJSON-shaped catalogue fetched periodically, price history in
CompetitorPrice, the newest prices on the Redis list `competitor_prices`, and price moves beyond a
source's threshold sent to the campaigns rules engine as events. `fake.py` serves a catalogue for
tests and the demo."""

from integrations.competitors.services import (
    DROP,
    RISE,
    CompetitorFetchFailed,
    FetchResult,
    competitor_prices_fetch,
    competitor_sources_fetch,
    fetch_catalogue,
)

__all__ = [
    "DROP",
    "RISE",
    "CompetitorFetchFailed",
    "FetchResult",
    "competitor_prices_fetch",
    "competitor_sources_fetch",
    "fetch_catalogue",
]
