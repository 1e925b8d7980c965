"""The fake DSP's HTTP server: stdlib ThreadingHTTPServer on loopback, one app behind it.

URL layout of one server (Amazon's regional hosts become path prefixes, data is per region):

    {root}/na/... {root}/eu/... {root}/fe/...   the regional API hosts (a bare path means NA)
    {root}/auth/o2/token                         Login with Amazon (tokens are global)
    {root}/_s3/...                               presigned storage: asset uploads, report files
    {root}/_fake/...                             the control plane (control.py)
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.amazon.auth import Credentials
from integrations.amazon.fake import accounts, adsapi, auth, campaigns, control, creatives, reports
from integrations.amazon.fake.faults import Fault, FaultInjector
from integrations.amazon.fake.http import Context, FakeError, Response, Router, common_error
from integrations.amazon.fake.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    REGIONS,
    FakeState,
)

log = logging.getLogger("integrations.amazon.fake")

_FAULT_BODIES = {
    500: {"code": "INTERNAL_ERROR", "details": "Internal Server Error"},
    502: {"message": "Bad Gateway"},
    503: {"message": "Service Unavailable"},
    504: {"message": "Endpoint request timed out"},  # API Gateway's own words
    401: {"code": "UNAUTHORIZED", "details": "Not authorized to access this resource"},
}


class FakeDspApp:
    """Routing, fault injection and accounting around the resource handlers."""

    def __init__(self, *, seed: int = 0, advertisers_per_region: int = 5, config: dict | None = None):
        self.state = FakeState(seed=seed, advertisers_per_region=advertisers_per_region, config=config)
        self.faults = FaultInjector(seed)
        self.api = Router(auth.ROUTES + accounts.ROUTES + campaigns.ROUTES + adsapi.ROUTES + creatives.ROUTES
                          + reports.ROUTES)
        self.storage = Router(creatives.STORAGE_ROUTES + reports.STORAGE_ROUTES)
        self.control = Router(control.ROUTES)
        self.root_url = ""
        self.stopping = threading.Event()

    # --- python API shared with the control endpoints -----------------------------------------

    def reset(self, seed: int | None = None) -> None:
        self.state.reset(seed=seed)
        self.faults.seed = self.state.seed
        self.faults.clear()

    def register_app(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        with self.state.lock:
            self.state.apps[client_id] = client_secret
            self.state.refresh_tokens[refresh_token] = client_id

    def add_advertisers(self, region: str, advertisers: list[dict]) -> list[dict]:
        added = []
        with self.state.lock:
            existing = self.state.advertisers[region]
            for data in advertisers:
                advertiser_id = str(data.get("advertiserId") or (max(map(int, existing), default=10**12) + 1))
                defaults = next(iter(existing.values()), {})
                existing[advertiser_id] = {
                    "advertiserId": advertiser_id, "name": data.get("name", f"Advertiser {advertiser_id}"),
                    "currency": data.get("currency", defaults.get("currency", "USD")),
                    "url": data.get("url", "https://example.com"),
                    "country": data.get("country", defaults.get("country", "US")),
                    "timezone": data.get("timezone", defaults.get("timezone", "America/Los_Angeles")),
                }
                added.append(existing[advertiser_id])
        return added

    def snapshot(self, *, recent: int = 0) -> dict[str, Any]:
        state = self.state
        with state.lock:
            answer = {
                "seed": state.seed,
                "requests": state.stats_snapshot(),
                "faults": {**self.faults.describe(), "fired": dict(state.faults_fired)},
                "entities": state.entity_counts(),
                "clock": {"now": state.now(), "offset": state.time_offset},
                "config": dict(state.config),
            }
            if recent:
                answer["recent"] = list(state.recent)[-recent:]
        return answer

    # --- one request --------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> Response | None:
        """The response to send, or None to drop the connection without one."""
        started = time.perf_counter()
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        if path.startswith("/_fake/"):
            return self._run(self.control, Context(method, path, raw_path, query, headers, body, "NA", "", self))

        request_id = str(uuid.uuid4())
        generation = self.state.stats_generation
        if path.startswith(("/_s3/", "/auth/")):
            region, api_path = "NA", path
        else:
            region, api_path = _split_region(path)
        router = self.storage if path.startswith("/_s3/") else self.api
        ctx = Context(method, api_path, raw_path, query, headers, body, region, request_id, self)
        matched, _, _ = router.match(method, api_path)
        label = matched.label if matched else f"{method} <unmatched>"

        client_key = headers.get("Amazon-Advertising-API-ClientId") or headers.get("Amazon-Ads-ClientId") or "-"
        fault = self.faults.decide(method, api_path, client_key=client_key, now=time.monotonic())
        if fault is not None:
            self.state.count_fault(fault.kind)
            if fault.partial:
                ctx.partial_failure_rate, ctx.partial_rng = fault.partial, fault.partial_rng

        response: Response | None
        if fault is not None and fault.phase == "before" and (fault.status or fault.drop or fault.delay):
            self._delay(fault)
            response = None if fault.drop else (self._fault_response(fault, request_id) if fault.status else None)
            if response is None and not fault.drop:
                response = self._run(router, ctx)
        else:
            response = self._run(router, ctx)
            if fault is not None and fault.phase == "after":
                # The request took effect; only the answer is lost or replaced.
                self._delay(fault)
                if fault.drop:
                    response = None
                elif fault.status:
                    response = self._fault_response(fault, request_id)

        if response is not None:
            self._stamp(response, request_id, storage=path.startswith("/_s3/"))
        self.state.record(label, response.status if response else 0, time.perf_counter() - started, {
            "method": method, "path": api_path, "region": region, "route": label,
            "status": response.status if response else None, "authorization": bool(headers.get("Authorization")),
            "x_request_id": headers.get("X-Request-ID"), "account": headers.get("Amazon-Ads-AccountId"),
            "scope": headers.get("Amazon-Advertising-API-Scope"), "fault": fault.kind if fault else None,
            "amzn_request_id": request_id,
        }, generation=generation)
        return response

    def _run(self, router: Router, ctx: Context) -> Response:
        matched, params, other_method = router.match(ctx.method, ctx.path)
        if matched is None:
            status, code = (405, "METHOD_NOT_ALLOWED") if other_method else (404, "NOT_FOUND")
            error = common_error(status, code, f"No route for {ctx.method} {ctx.path}")
            return Response(error.status, error.body)
        ctx.params = params
        try:
            return matched.handler(ctx)
        except FakeError as exc:
            return Response(exc.status, exc.body, dict(exc.headers), exc.content_type)
        except Exception:  # a bug in the fake must show as a 500, not kill the connection
            log.exception("fake DSP handler failed: %s %s", ctx.method, ctx.path)
            return Response(500, {"code": "INTERNAL_ERROR", "details": "Fake DSP handler error"})

    def _delay(self, fault: Fault) -> None:
        if fault.delay:
            with self.state.lock:
                self.state.injected_delay_seconds += fault.delay
            self.stopping.wait(fault.delay)  # interruptible, so stop() never waits on a slow answer

    def _fault_response(self, fault: Fault, request_id: str) -> Response:
        status = fault.status
        headers: dict[str, str] = {}
        if status == 429:
            headers.update({"x-amzn-ErrorType": "AccessDeniedException", "amazon-advertising-api-throttled": "true"})
            # Seen in the wild: without Retry-After the body is the bare {"message"}.
            body: dict = {"message": "Too Many Requests"}
            if fault.retry_after is not None:
                body["requestId"] = request_id
        else:
            body = dict(_FAULT_BODIES.get(status, {"code": "ERROR", "details": f"Injected {status}"}))
        if fault.retry_after is not None:
            value = fault.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else f"{value:g}"
        return Response(status, body, headers)

    @staticmethod
    def _stamp(response: Response, request_id: str, *, storage: bool) -> None:
        if storage:
            response.headers.setdefault("x-amz-request-id", request_id.replace("-", "")[:16].upper())
            return
        response.headers.setdefault("x-amzn-RequestId", request_id)
        response.headers.setdefault("x-amz-rid", request_id.replace("-", "")[:20].upper())
        response.headers.setdefault("x-amz-apigw-id", request_id[:16])
        compact = request_id.replace("-", "")
        response.headers.setdefault("X-Amzn-Trace-Id", f"Root=1-{compact[:8]}-{compact[8:32]}")


def _split_region(path: str) -> tuple[str, str]:
    parts = path.split("/", 2)
    if len(parts) >= 2 and parts[1] in {r.lower() for r in REGIONS}:
        return parts[1].upper(), "/" + (parts[2] if len(parts) > 2 else "")
    return "NA", path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real client pool expects
    server_version = "FakeAmazonDSP/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection frees its thread after this

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle and the client's
        # delayed ACK add ~40 ms to answers, which would make the fake look slower than it is.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.app.handle(self.command, self.path, self.headers, body)
        if response is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = response.encode()
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 204:
                if payload:
                    self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        pass  # the request line carries presigned signatures; handle() logs what is useful

    def log_request(self, code="-", size="-"):
        log.debug("fake DSP %s %s -> %s", self.command, urlsplit(self.path).path, code)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, app: FakeDspApp):
        self.app = app
        super().__init__(address, _Handler)


class FakeDsp:
    """A running fake DSP. Start it on a free loopback port (port=0) in a thread:

        with FakeDsp(seed=7) as dsp:
            client = AmazonAdsClient(credentials=dsp.credentials(), base_url=dsp.base_url("NA"),
                                     token_url=dsp.token_url, profile_id=dsp.profile_id("NA"), ...)
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0, advertisers_per_region: int = 5,
                 config: dict | None = None):
        self.app = FakeDspApp(seed=seed, advertisers_per_region=advertisers_per_region, config=config)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "FakeDsp":
        if self._server is not None:
            return self
        self.app.stopping.clear()
        self._server = _Server(self._address, self.app)
        host, port = self._server.server_address[:2]
        self.app.root_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-dsp-{port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.app.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Blocking, for `manage.py run_fake_dsp`."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> "FakeDsp":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- addresses and credentials ------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.app.root_url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def base_url(self, region: str = "NA") -> str:
        return f"{self.url}/{region.lower()}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    def credentials(self) -> Credentials:
        return Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN)

    def profile_id(self, region: str = "NA") -> str:
        return str(self.app.state.agency_profile(region)["profileId"])

    def entity_id(self, region: str = "NA") -> str:
        return self.app.state.agency_profile(region)["accountInfo"]["id"]

    def advertiser_ids(self, region: str = "NA") -> list[str]:
        with self.app.state.lock:
            return list(self.app.state.advertisers[region])

    # --- control, in process (the same operations as /_fake/*) --------------------------------

    def reset(self, seed: int | None = None) -> None:
        self.app.reset(seed=seed)

    def set_faults(self, rules: list[dict], *, seed: int | None = None, append: bool = False) -> None:
        self.app.faults.configure(rules, seed=seed, append=append)

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def advance_time(self, seconds: float) -> None:
        self.app.state.advance(seconds)

    def configure(self, **settings) -> None:
        with self.app.state.lock:
            self.app.state.config.update(settings)

    def register_app(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.app.register_app(client_id, client_secret, refresh_token)

    def add_advertisers(self, region: str, advertisers: list[dict]) -> list[dict]:
        return self.app.add_advertisers(region, advertisers)

    def revoke_access_tokens(self) -> None:
        with self.app.state.lock:
            self.app.state.access_tokens.clear()

    def issued_access_tokens(self) -> list[str]:
        with self.app.state.lock:
            return list(self.app.state.access_tokens)

    def snapshot(self, *, recent: int = 0) -> dict[str, Any]:
        return self.app.snapshot(recent=recent)

    def recent_requests(self, n: int = 500) -> list[dict]:
        with self.app.state.lock:
            return list(self.app.state.recent)[-n:]
