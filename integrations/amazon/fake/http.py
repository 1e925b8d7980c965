"""Request/response types, routing and Amazon's error shapes for the fake DSP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs

JSON = "application/json"
DSP_ERROR = "application/vnd.dsperror.v1+json"


class FakeError(Exception):
    """Raised by a handler to answer with an error status and body."""

    def __init__(self, status: int, body: Any, *, headers: dict[str, str] | None = None, content_type: str = JSON):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


@dataclass
class Context:
    """What a handler sees: the request, the region it came in under, and the fake's state."""

    method: str
    path: str  # without the region prefix and query string
    raw_path: str
    query: dict[str, str]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    region: str
    request_id: str
    app: Any  # FakeDspApp
    params: dict[str, str] = field(default_factory=dict)
    partial_failure_rate: float = 0.0
    partial_rng: Any = None
    auth: Any = None  # the access-token record once authenticated

    @property
    def state(self):
        return self.app.state

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value.strip() if isinstance(value, str) else value

    def bad_request(self, message: str) -> FakeError:
        return FakeError(400, {"code": "BAD_REQUEST", "message": message, "requestId": self.request_id})

    def json(self) -> Any:
        if not self.body:
            raise self.bad_request("Request body is required")
        try:
            return json.loads(self.body)
        except ValueError:
            raise self.bad_request("Malformed JSON") from None

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise self.bad_request("Expected a JSON object")
        return body

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}


Handler = Callable[[Context], Response]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


def route(method: str, template: str, handler: Handler) -> Route:
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
    return Route(method, template, handler, re.compile(regex))


class Router:
    def __init__(self, routes: list[Route]):
        self.routes = routes

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path params, path_exists_with_other_method)."""
        other_method = False
        for candidate in self.routes:
            found = candidate.pattern.match(path)
            if found:
                if candidate.method == method:
                    return candidate, found.groupdict(), False
                other_method = True
        return None, {}, other_method


# --- Amazon's error shapes, one per API family ----------------------------------------------

def common_error(status: int, code: str, details: str) -> FakeError:
    """Profiles / sponsored-ads family: {code, details}."""
    return FakeError(status, {"code": code, "details": details})


def dsp_error(ctx: Context, status: int, message: str, errors: list[dict] | None = None) -> FakeError:
    """G1 DSP and DSP reports: {message, requestId, errors[]} as application/vnd.dsperror.v1+json."""
    body: dict[str, Any] = {"message": message, "requestId": ctx.request_id}
    if errors:
        body["errors"] = errors
    return FakeError(status, body, content_type=DSP_ERROR)


def v1_error(ctx: Context, status: int, code: str, message: str) -> FakeError:
    """G2 /dsp/v1 and asset library, non-batch: {code, message, requestId}."""
    return FakeError(status, {"code": code, "message": message, "requestId": ctx.request_id})


def s3_error(status: int, code: str, message: str) -> FakeError:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAKE</RequestId></Error>"
    )
    return FakeError(status, body, content_type="application/xml")
