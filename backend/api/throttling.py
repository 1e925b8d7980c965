"""Fixed-window rate throttles: one atomic counter per client and window.

DRF's stock throttles keep a timestamp per request for the whole period and rewrite that list on
every request (O(rate) work and bytes, and lost updates between workers). A counter incremented
with the cache's atomic INCR costs the same at the first request and the 100,000th.

Redis away, the throttle fails open: requests pass uncounted, with a warning, for
THROTTLE_FAIL_OPEN_SECONDS before Redis is asked again. A rate limit is a guard against abuse; losing
it for the length of an outage costs less than refusing every API call because a counter cannot
be read (the database, which holds the data, is a separate matter: backend/unavailable.py).
"""

import logging
import threading
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache as default_cache
from prometheus_client import Counter
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from backend.redis_options import client_options

log = logging.getLogger(__name__)

THROTTLE_FAILED_OPEN = Counter(
    "adops_throttle_failed_open", "Requests let through unthrottled because Redis could not be reached."
)
_fail_open_until = 0.0  # time.monotonic() before which Redis is not asked (this process)
_fail_open_lock = threading.Lock()


@lru_cache(maxsize=1)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        **client_options(connect_timeout=settings.REDIS_CONNECT_TIMEOUT, socket_timeout=settings.REDIS_SOCKET_TIMEOUT),
    )


def _count_in_redis(key: str, timeout: int) -> int | None:
    """Increment the window's counter and return it: one round trip. None when Redis is away."""
    global _fail_open_until
    if time.monotonic() < _fail_open_until:
        THROTTLE_FAILED_OPEN.inc()
        return None
    try:
        pipe = _redis_client(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incr(f"throttle:{key}")
        pipe.expire(f"throttle:{key}", timeout, nx=True)
        return int(pipe.execute()[0])
    except redis.RedisError as exc:
        THROTTLE_FAILED_OPEN.inc()
        with _fail_open_lock:
            first = time.monotonic() >= _fail_open_until  # one line per pause, not one per thread
            _fail_open_until = time.monotonic() + settings.THROTTLE_FAIL_OPEN_SECONDS
        if first:
            log.warning(
                "throttle failing open: Redis unreachable",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": settings.THROTTLE_FAIL_OPEN_SECONDS},
            )
        return None


def _count(key: str, timeout: int, cache) -> int | None:
    """The window's counter after this request; None when it cannot be counted (fail open)."""
    if settings.REDIS_URL:
        return _count_in_redis(key, timeout)
    # add() is a no-op when the key exists; incr() is atomic in the local-memory cache.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: start the window again
        cache.add(key, 1, timeout=timeout)
        return 1


class FixedWindowMixin:
    cache = default_cache

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = time.time()
        window = int(self.now // self.duration)
        key = f"{self.key}:{window}"
        count = _count(key, self.duration + 1, self.cache)
        self._window_end = (window + 1) * self.duration
        return count is None or count <= self.num_requests

    def wait(self):
        return max(0.0, self._window_end - self.now)


class FixedWindowUserRateThrottle(FixedWindowMixin, UserRateThrottle):
    pass


class FixedWindowAnonRateThrottle(FixedWindowMixin, AnonRateThrottle):
    pass


def window_count(key: str) -> int:
    """The counter for one client and window (ops and tests)."""
    if settings.REDIS_URL:
        return int(_redis_client(settings.REDIS_URL).get(f"throttle:{key}") or 0)
    return int(default_cache.get(key) or 0)


def throttle_reset() -> None:
    """Forget every throttle counter (tests, and an operator lifting a block)."""
    if settings.REDIS_URL:
        client = _redis_client(settings.REDIS_URL)
        for key in client.scan_iter("throttle:*", count=1000):
            client.delete(key)
    default_cache.clear()
