"""When to retry a call to Amazon, and how long to wait first.

Amazon's guidance: retry 429 and 5xx, never other 4xx; honour Retry-After; otherwise back off
exponentially up to a maximum delay and a maximum number of tries. Real 429s sometimes come
without Retry-After, so the fallback is exercised in practice, not just in theory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # the first try included
    max_total_seconds: float = 120.0  # elapsed across all tries and waits, measured on the client's clock
    base_delay: float = 1.0  # Amazon's example backs off 2 s, 4 s, 8 s...: base 1 s doubling from the 2nd try
    max_delay: float = 30.0  # cap on one computed backoff (a larger Retry-After is still honoured)

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Delay before retry `retry_number` (1 for the first retry): exponential with equal
        jitter, so concurrent workers spread out yet never hammer back immediately."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** retry_number))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


NO_RETRIES = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or
    unreadable, in which case the caller falls back to its own backoff."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
