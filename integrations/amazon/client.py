"""The Amazon Ads API client (DSP): one `requests.Session`, LWA tokens, headers, retries.

    client = AmazonAdsClient.for_connection(connection)
    for advertiser in client.iter_advertisers():
        ...
    result = client.create_ad_groups([...])        # 207 per-item results, chunked to the limits
    rows = client.run_report({"startDate": ..., "endDate": ..., "dimensions": ["LINE_ITEM"]})
    client.requests_made                           # HTTP requests sent, retries and tokens included

Every call goes through `request()`: it adds the headers the path's API generation needs, a
fresh access token, our request id; it retries 429, 5xx and network errors within the retry
policy, refreshes the token once on a 401, and raises a typed error (errors.py) carrying
Amazon's request id. Base and token URLs are constructor arguments, so the same code talks to
the real regional hosts or to the bundled fake without patching anything.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import requests

from backend.observability.context import current_request_id, new_request_id
from integrations.amazon.auth import DEFAULT_TOKEN_CACHE, Credentials, TokenCache, TokenManager, region as region_for
from integrations.amazon.dsp import DspMixin
from integrations.amazon.errors import (
    RETRYABLE,
    AmazonAdsError,
    AuthError,
    RequestTimeout,
    ThrottledError,
    TransportError,
    describe_body,
    error_for_status,
)
from integrations.amazon.reports import ReportsMixin
from integrations.amazon.retry import RetryPolicy, parse_retry_after

log = logging.getLogger("integrations.amazon")

JSON = "application/json"
CLIENT_ID_HEADER = "Amazon-Advertising-API-ClientId"
SCOPE_HEADER = "Amazon-Advertising-API-Scope"
ACCOUNT_HEADER = "Amazon-Ads-AccountId"
REQUEST_ID_HEADER = "X-Request-ID"
USER_AGENT = "adops-platform/1.0 (integrations.amazon)"

AUTO = "auto"  # `scope=` default: pick the header from the path's API generation


@dataclass
class ApiResponse:
    status: int
    body: Any  # parsed JSON, else text; None when empty
    headers: Mapping[str, str]
    request_id: str | None  # Amazon's x-amzn-RequestId


@dataclass
class RequestStats:
    """HTTP requests this client sent, by kind ("api", "token", "download", "upload") and by
    outcome ("retried", "throttled", "server_error", "network_error", "auth_refresh").
    The benchmark compares `total` with the minimum the batch limits allow."""

    counts: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts[k] for k in ("api", "token", "download", "upload"))

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def scope_for_path(path: str) -> str | None:
    """Which scope header a path's API generation expects: none for profiles and for DSP
    reports (the account is in the path), the DSP advertiser for /dsp/v1, /assets and
    /adsApi, and the profile for legacy /dsp/* and everything else."""
    if path.startswith("/v2/profiles") or path.startswith("/accounts/"):
        return None
    if path.startswith(("/dsp/v1/", "/assets", "/adsApi/")):
        return "account"
    return "profile"


class AmazonAdsClient(DspMixin, ReportsMixin):
    """A client for one connection (credentials + region + profile/advertiser). Thread-safe
    for concurrent calls; `stats` counts every HTTP request it made."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        region: str = "NA",
        base_url: str | None = None,
        token_url: str | None = None,
        profile_id: str | int | None = None,
        account_id: str | None = None,
        report_account_id: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        token_cache: TokenCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        hosts = region_for(region)
        self.region = hosts.code
        self.base_url = (base_url or hosts.api_url).rstrip("/")
        self.token_url = token_url or hosts.token_url
        self.client_id = credentials.client_id
        self.profile_id = str(profile_id) if profile_id not in (None, "") else None
        self.account_id = account_id or None
        self.report_account_id = report_account_id or None  # entity (ENTITY…) or advertiser in the report path
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.stats = RequestStats()
        self.tokens = TokenManager(
            credentials=credentials,
            token_url=self.token_url,
            cache=token_cache if token_cache is not None else DEFAULT_TOKEN_CACHE,
            clock=clock,
            fetch=self._fetch_token,
        )

    @classmethod
    def for_connection(cls, connection, **kwargs) -> "AmazonAdsClient":
        """A client from an `integrations.AmazonConnection` (decrypts its secrets here, and
        keeps them only inside the token manager), scoped to no DSP advertiser. Retry and
        timeout defaults come from the optional AMAZON_ADS_* settings."""
        return cls._build(connection, None, **kwargs)

    @classmethod
    def for_link(cls, link, **kwargs) -> "AmazonAdsClient":
        """A client for one of our advertisers (an `AmazonAdvertiserLink`): its link's
        connection, scoped to its DSP advertiser."""
        return cls._build(link.connection, link, **kwargs)

    @classmethod
    def _build(cls, connection, link, **kwargs) -> "AmazonAdsClient":
        kwargs.setdefault("retry", _policy_from_settings())
        kwargs.setdefault("timeout", _timeout_from_settings())
        return cls(
            credentials=Credentials(
                client_id=connection.client_id,
                client_secret=connection.client_secret,
                refresh_token=connection.refresh_token,
            ),
            region=connection.region,
            base_url=connection.base_url or None,
            token_url=connection.token_url or None,
            profile_id=connection.profile_id or None,
            account_id=(link.dsp_advertiser_id or None) if link is not None else None,
            report_account_id=(connection.dsp_account_id or (link.dsp_advertiser_id if link is not None else None)
                               or None),
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"<AmazonAdsClient {self.region} {self.base_url} profile={self.profile_id} account={self.account_id}>"

    @property
    def requests_made(self) -> int:
        return self.stats.total

    # --- public verbs -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        scope: str | None = AUTO,
        profile_id: str | int | None = None,
        account_id: str | None = None,
        accept: str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
    ) -> ApiResponse:
        """One API call, with retries. `scope` is "profile", "account", None or AUTO (by path)."""
        if not path.startswith("/"):
            raise ValueError(f"API paths start with '/': {path!r}")
        static = {CLIENT_ID_HEADER: self.client_id, "Accept": accept or JSON}
        static.update(self._scope_headers(path, scope, profile_id, account_id))
        if json is not None:
            static["Content-Type"] = content_type or JSON
        if headers:
            static.update(headers)

        def build_headers() -> dict[str, str]:
            return {**static, "Authorization": f"Bearer {self.tokens.token()}"}

        return self._send(
            "api", method, self.base_url + path, path=path, headers=build_headers, params=params, json=json,
            authenticated=True, timeout=timeout, retry=retry,
        )

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).body

    def post(self, path: str, json: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=json, **kwargs).body

    def put(self, path: str, json: Any = None, **kwargs) -> Any:
        return self.request("PUT", path, json=json, **kwargs).body

    def patch(self, path: str, json: Any = None, **kwargs) -> Any:
        return self.request("PATCH", path, json=json, **kwargs).body

    def delete(self, path: str, **kwargs) -> Any:
        return self.request("DELETE", path, **kwargs).body

    def fetch_presigned(self, url: str) -> ApiResponse:
        """GET a presigned (S3) URL: no Authorization and no Amazon headers, since S3 refuses
        a second auth mechanism next to the signature in the query string."""
        return self._send("download", "GET", url, path=_loggable(url), headers=lambda: {}, authenticated=False)

    def put_presigned(self, url: str, content: bytes, content_type: str) -> ApiResponse:
        return self._send(
            "upload", "PUT", url, path=_loggable(url), headers=lambda: {"Content-Type": content_type},
            data=content, authenticated=False,
        )

    # --- transport ----------------------------------------------------------------------------

    def _scope_headers(self, path, scope, profile_id, account_id) -> dict[str, str]:
        kind = scope_for_path(path) if scope == AUTO else scope
        if kind is None:
            return {}
        if kind == "profile":
            value = str(profile_id) if profile_id not in (None, "") else self.profile_id
            if not value:
                raise ValueError(f"{path} needs a profile id (Amazon-Advertising-API-Scope); the connection has none.")
            return {SCOPE_HEADER: value}
        if kind == "account":
            value = account_id or self.account_id
            if not value:
                raise ValueError(f"{path} needs a DSP advertiser id (Amazon-Ads-AccountId); the connection has none.")
            return {ACCOUNT_HEADER: value}
        raise ValueError(f"Unknown scope {kind!r}")

    def _fetch_token(self, token_url: str, form: dict[str, str]) -> Any:
        try:
            response = self._send(
                "token", "POST", token_url, path=_loggable(token_url),
                headers=lambda: {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8", "Accept": JSON},
                data=form, authenticated=False,
            )
        except AmazonAdsError as exc:
            if isinstance(exc, RETRYABLE) or isinstance(exc, AuthError):
                raise
            # LWA answers a bad grant with 400 invalid_grant: that is an authorisation problem.
            raise AuthError(
                exc.message, status=exc.status, request_id=exc.request_id, body=exc.body, code=exc.code,
                method=exc.method, path=exc.path,
            ) from None
        return response.body

    def _send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        path: str,
        headers: Callable[[], dict[str, str]],
        params=None,
        json=None,
        data=None,
        authenticated: bool,
        timeout=None,
        retry: RetryPolicy | None = None,
    ) -> ApiResponse:
        policy = retry or self.retry
        started = self.clock()
        our_request_id = current_request_id() or new_request_id()
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            sent_headers = headers()
            sent_headers.setdefault("User-Agent", USER_AGENT)
            sent_headers[REQUEST_ID_HEADER] = our_request_id
            self.stats.add(kind)
            t0 = time.perf_counter()
            try:
                raw = self.session.request(
                    method, url, params=params, json=json, data=data, headers=sent_headers,
                    timeout=timeout or self.timeout, allow_redirects=True,
                )
            except requests.Timeout as exc:
                error: AmazonAdsError = RequestTimeout(f"Timed out: {type(exc).__name__}", method=method, path=path)
                error.__cause__ = exc
                self.stats.add("network_error")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                error = TransportError(f"Connection failed: {type(exc).__name__}", method=method, path=path)
                error.__cause__ = exc
                self.stats.add("network_error")
            else:
                response = _parse(raw)
                self._log_attempt(kind, method, path, response.status, response.request_id, attempt, t0, our_request_id)
                if response.status < 400:
                    return response
                error = _error_from(response, method=method, path=path)
                if response.status == 401 and authenticated and not refreshed:
                    # Amazon can revoke a token before its expiry: refresh once, then believe the 401.
                    refreshed = True
                    attempt -= 1
                    self.stats.add("auth_refresh")
                    self.tokens.invalidate(sent_headers.get("Authorization", "").removeprefix("Bearer "))
                    log.info("amazon.auth_refresh", extra=_extra(method, path, our_request_id, amzn=error.request_id))
                    continue
                if isinstance(error, ThrottledError):
                    self.stats.add("throttled")
                elif response.status >= 500:
                    self.stats.add("server_error")
            if not isinstance(error, RETRYABLE):
                raise error
            delay = self._delay_before_retry(error, attempt, policy, started)
            if delay is None:
                error.attempts = attempt
                log.warning(
                    "amazon.gave_up",
                    extra={**_extra(method, path, our_request_id, amzn=error.request_id), "attempts": attempt,
                           "status": error.status, "error": type(error).__name__},
                )
                raise error
            self.stats.add("retried")
            log.info(
                "amazon.retry",
                extra={**_extra(method, path, our_request_id, amzn=error.request_id), "attempt": attempt,
                       "status": error.status, "error": type(error).__name__, "delay_s": round(delay, 3),
                       "retry_after": getattr(error, "retry_after", None)},
            )
            self.sleep(delay)

    def _delay_before_retry(self, error, attempt: int, policy: RetryPolicy, started: float) -> float | None:
        """Seconds to wait, or None to give up (attempts spent, or the wait would overrun the
        total budget: the caller, e.g. a Huey task, can then reschedule instead of blocking)."""
        if attempt >= policy.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        delay = retry_after if retry_after is not None else policy.backoff(attempt, self.rng)
        if self.clock() - started + delay > policy.max_total_seconds:
            return None
        return delay

    def _log_attempt(self, kind, method, path, status, amzn_id, attempt, t0, our_request_id) -> None:
        log.debug(
            "amazon.http",
            extra={**_extra(method, path, our_request_id, amzn=amzn_id), "kind": kind, "status": status,
                   "attempt": attempt, "duration_ms": round((time.perf_counter() - t0) * 1000, 1)},
        )


def _policy_from_settings() -> RetryPolicy:
    from django.conf import settings

    default = RetryPolicy()
    return RetryPolicy(
        max_attempts=int(getattr(settings, "AMAZON_ADS_MAX_ATTEMPTS", default.max_attempts)),
        max_total_seconds=float(getattr(settings, "AMAZON_ADS_MAX_RETRY_SECONDS", default.max_total_seconds)),
    )


def _timeout_from_settings() -> tuple[float, float]:
    from django.conf import settings

    return (
        float(getattr(settings, "AMAZON_ADS_CONNECT_TIMEOUT", 5.0)),
        float(getattr(settings, "AMAZON_ADS_READ_TIMEOUT", 30.0)),
    )


def _parse(raw: requests.Response) -> ApiResponse:
    content_type = raw.headers.get("Content-Type", "")
    body: Any = None
    if raw.content:
        if "json" in content_type:
            try:
                body = raw.json()
            except ValueError:
                body = raw.text
        elif content_type.startswith("text/") or "xml" in content_type:
            body = raw.text
        else:
            body = raw.content
    return ApiResponse(
        status=raw.status_code, body=body, headers=raw.headers,
        request_id=raw.headers.get("x-amzn-RequestId") or raw.headers.get("x-amz-request-id")
        or (body.get("requestId") if isinstance(body, dict) else None),
    )


def _error_from(response: ApiResponse, *, method: str, path: str) -> AmazonAdsError:
    code, message = describe_body(response.body)
    cls = error_for_status(response.status)
    kwargs: dict[str, Any] = dict(
        status=response.status, request_id=response.request_id, body=response.body, code=code,
        method=method, path=path,
    )
    if cls is ThrottledError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(message or f"Amazon answered {response.status}", **kwargs)


def _loggable(url: str) -> str:
    """Scheme, host and path only: presigned URLs carry their signature in the query string."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _extra(method: str, path: str, request_id: str, *, amzn: str | None) -> dict[str, Any]:
    return {"partner": "amazon", "method": method, "path": path, "request_id": request_id, "amzn_request_id": amzn}


def chunked(items: Iterable[Any], size: int):
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
