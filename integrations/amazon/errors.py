"""Typed errors for the Amazon Ads API, each carrying Amazon's request id and the error body.

Callers branch on the class (retry later, fix the input, re-authorise) and quote `request_id`
when they open a case with Amazon; the body is kept as parsed so nothing Amazon said is lost.
"""

from __future__ import annotations

from typing import Any


class AmazonAdsError(Exception):
    """Base class. `status` is None when no HTTP response arrived (network errors)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body = body
        self.code = code
        self.method = method
        self.path = path
        self.attempts = 1  # set by the client once retries are spent

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.request_id:
            parts.append(f"amzn-request-id={self.request_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " | ".join(parts)


class AuthError(AmazonAdsError):
    """401/403 from the API, or a refused token request (invalid_grant, invalid_client):
    the connection needs new credentials or consent, retrying will not help."""


class ForbiddenError(AuthError):
    """403: authenticated, but this client may not touch that profile or account."""


class ClientError(AmazonAdsError):
    """A 4xx other than 401/403/429: our request is wrong and is never retried."""


class ValidationError(ClientError):
    """400 or 422: the body or a parameter was refused."""


class NotFound(ClientError):
    """404."""


class ConflictError(ClientError):
    """409, or 425 (an identical report request is still running)."""


class MediaTypeError(ClientError):
    """406/415: the Accept or Content-Type header is not one this endpoint version serves."""


class ThrottledError(AmazonAdsError):
    """429. `retry_after` is Amazon's Retry-After in seconds, None when it sent none."""

    def __init__(self, *args, retry_after: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(AmazonAdsError):
    """5xx from Amazon."""


class TransportError(AmazonAdsError):
    """No usable HTTP response: connection refused or reset, DNS, TLS."""


class RequestTimeout(TransportError):
    """The connect or read timeout expired."""


class ReportFailed(AmazonAdsError):
    """The report finished with status FAILURE."""


class ReportTimeout(AmazonAdsError):
    """The report was still in progress when our polling budget ran out."""


class AssetProcessingFailed(AmazonAdsError):
    """The creative asset ended INACTIVE (transcoding or spec checks failed)."""


RETRYABLE = (ThrottledError, ServerError, TransportError)


def error_for_status(status: int) -> type[AmazonAdsError]:
    if status == 401:
        return AuthError
    if status == 403:
        return ForbiddenError
    if status == 429:
        return ThrottledError
    if status >= 500:
        return ServerError
    if status in (400, 422):
        return ValidationError
    if status == 404:
        return NotFound
    if status in (409, 425):
        return ConflictError
    if status in (406, 415):
        return MediaTypeError
    return ClientError


def describe_body(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from any of Amazon's error shapes: `{code, details}` (profiles, sponsored
    ads), `{message, requestId, errors[]}` (G1 DSP), `{code, message}` (v1), LWA's `{error,
    error_description}`, API Gateway's `{message}`."""
    if not isinstance(body, dict):
        return None, (body[:300] if isinstance(body, str) and body else None)
    code = body.get("code") or body.get("error") or body.get("errorCode")
    message = body.get("details") or body.get("error_description") or body.get("message") or body.get("errorMessage")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = code or first.get("errorType") or first.get("code")
        detail = first.get("message")
        if detail and detail != message:
            message = f"{message}: {detail}" if message else detail
    return (str(code) if code else None), (str(message) if message else None)
