"""Login with Amazon: regional hosts, the refresh-token grant, and the access-token cache.

Access tokens live an hour and are global (any region's token works everywhere), so one cached
token per credential set serves every client built for that connection in this process.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from integrations.amazon.errors import AuthError

# Refresh this long before Amazon's expiry so a token never dies between our check and its use.
REFRESH_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Region:
    code: str
    api_url: str
    token_url: str


REGIONS = {
    "NA": Region("NA", "https://advertising-api.amazon.com", "https://api.amazon.com/auth/o2/token"),
    "EU": Region("EU", "https://advertising-api-eu.amazon.com", "https://api.amazon.co.uk/auth/o2/token"),
    "FE": Region("FE", "https://advertising-api-fe.amazon.com", "https://api.amazon.co.jp/auth/o2/token"),
}


def region(code: str) -> Region:
    try:
        return REGIONS[code.upper()]
    except KeyError:
        raise ValueError(f"Unknown Amazon Ads region {code!r}; expected one of {', '.join(REGIONS)}.") from None


@dataclass(frozen=True, repr=False)
class Credentials:
    """What a connection authenticates with. The secrets never appear in repr or str."""

    client_id: str
    client_secret: str
    refresh_token: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret=<redacted>, refresh_token=<redacted>)"

    __str__ = __repr__

    def cache_key(self, token_url: str) -> str:
        # A digest, so the cache (and anything that dumps it) never holds the refresh token.
        raw = "\x00".join([token_url, self.client_id, self.client_secret, self.refresh_token])
        return hashlib.sha256(raw.encode()).hexdigest()

    def refresh_form(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }


@dataclass(repr=False)
class AccessToken:
    value: str
    expires_at: float  # on the clock of the client that fetched it
    lifetime: float = 3600.0

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at:.0f})"

    def fresh_at(self, now: float) -> bool:
        # Half the lifetime when a token lives under two minutes, so it is still used at all.
        margin = min(REFRESH_MARGIN_SECONDS, self.lifetime / 2)
        return now < self.expires_at - margin


@dataclass
class TokenCache:
    """Access tokens by credential digest, shared by threads; one refresh at a time per key."""

    _tokens: dict[str, AccessToken] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str) -> AccessToken | None:
        return self._tokens.get(key)

    def put(self, key: str, token: AccessToken) -> None:
        self._tokens[key] = token

    def discard(self, key: str, value: str | None = None) -> None:
        """Forget the token; with `value`, only if it is still that one (another thread may
        already have replaced the token that just got a 401)."""
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and (value is None or current.value == value):
                del self._tokens[key]

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()


# Process-wide: Huey tasks build a client per run, and should not each pay a token request.
DEFAULT_TOKEN_CACHE = TokenCache()


class TokenManager:
    """Hands out a valid access token for one credential set, refreshing through `fetch`
    (the client's retrying POST to the token URL) when the cached one is near expiry."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        token_url: str,
        cache: TokenCache,
        clock: Callable[[], float],
        fetch: Callable[[str, dict[str, str]], Any],
    ):
        self.credentials = credentials
        self.token_url = token_url
        self.cache = cache
        self.clock = clock
        self._fetch = fetch
        self._key = credentials.cache_key(token_url)

    def token(self) -> str:
        cached = self.cache.get(self._key)
        if cached is not None and cached.fresh_at(self.clock()):
            return cached.value
        with self.cache.lock_for(self._key):
            cached = self.cache.get(self._key)  # another thread may have refreshed meanwhile
            if cached is not None and cached.fresh_at(self.clock()):
                return cached.value
            return self._refresh().value

    def invalidate(self, value: str) -> None:
        self.cache.discard(self._key, value)

    def _refresh(self) -> AccessToken:
        started = self.clock()
        body = self._fetch(self.token_url, self.credentials.refresh_form())
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError("The token endpoint answered without an access_token", body=_safe_token_body(body))
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        token = AccessToken(value=str(body["access_token"]), expires_at=started + expires_in, lifetime=expires_in)
        self.cache.put(self._key, token)
        return token


def _safe_token_body(body: Any) -> Any:
    """A token response with the tokens taken out, fit for an exception or a log line."""
    if isinstance(body, dict):
        return {k: ("<redacted>" if "token" in k.lower() else v) for k, v in body.items()}
    return None
