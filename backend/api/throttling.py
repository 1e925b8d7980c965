"""Fixed-window rate throttles: one atomic counter per client and window.

DRF's stock throttles keep a timestamp per request for the whole period and rewrite that list on
every request (O(rate) work and bytes, and lost updates between workers). A counter incremented
with the cache's atomic INCR costs the same at the first request and the 100,000th.
"""

import time

from django.core.cache import cache as default_cache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


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
        # add() is a no-op when the key exists; incr() is atomic in Redis (and locked in locmem).
        self.cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr: start the window again
            self.cache.add(key, 1, timeout=self.duration + 1)
            count = 1
        self._window_end = (window + 1) * self.duration
        return count <= self.num_requests

    def wait(self):
        return max(0.0, self._window_end - self.now)


class FixedWindowUserRateThrottle(FixedWindowMixin, UserRateThrottle):
    pass


class FixedWindowAnonRateThrottle(FixedWindowMixin, AnonRateThrottle):
    pass
