"""Helpers shared by the G2 resources: 207 batch writes, nextToken lists, field checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

from integrations.amazon import limits
from integrations.amazon.fake.http import Context, Response, s3_error, v1_error
from integrations.amazon.fake.state import decode_page_token, encode_page_token, public


class ItemError(Exception):
    """One item of a batch refused; the others go on (207)."""

    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def batch_write(ctx: Context, key: str, per_call: int, apply: Callable[[int, dict], dict],
                *, error_shape: str = "g2") -> Response:
    """Run `apply(index, item)` per item under the state lock; it returns the success entry
    (without "index") or raises ItemError. Injected partial failures skip `apply` entirely, so
    a retry of those items never duplicates anything. `error_shape`: "g2" {errorCode,
    errorMessage}, "association" {code, description}, "v1" {errors: [{code, message}]}."""
    body = ctx.json_object()
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise v1_error(ctx, 400, "BAD_REQUEST", f"'{key}' must be a non-empty array")
    if len(items) > per_call:
        raise v1_error(ctx, 400, "TOO_MANY_ITEMS",
                       f"'{key}' accepts at most {per_call} items per request, got {len(items)}")
    success, error = [], []
    with ctx.state.lock:
        for index, item in enumerate(items):
            try:
                if ctx.partial_failure_rate and ctx.partial_rng.random() < ctx.partial_failure_rate:
                    raise ItemError("INTERNAL_ERROR", "Internal error, please retry")
                if not isinstance(item, dict):
                    raise ItemError("FIELD_VALUE_IS_INVALID", "Each item must be an object")
                success.append({"index": index, **apply(index, item)})
            except ItemError as exc:
                if error_shape == "association":
                    error.append({"index": index, "code": exc.code, "description": exc.message, **exc.extra})
                elif error_shape == "v1":  # Ads API v1: a list of errors per item
                    error.append({"index": index, "errors": [{"code": exc.code, "message": exc.message, **exc.extra}]})
                else:
                    error.append({"index": index, "errorCode": exc.code, "errorMessage": exc.message, **exc.extra})
    answer: dict[str, Any] = {}
    if success:  # Amazon omits empty arrays
        answer["success"] = success
    if error:
        answer["error"] = error
    answer["requestId"] = ctx.request_id
    return Response(207, answer)


def list_page(ctx: Context, entities: Iterable[dict], items_key: str, filters: dict[str, str],
              *, default_page: int = limits.LIST_PAGE_MAX, with_total: bool = False) -> Response:
    """POST .../list: `{<filter>: {"include": [...]}, maxResults, nextToken}`. `filters` maps a
    filter name to the entity field it matches."""
    body = ctx.json_object() if ctx.body else {}
    max_results = body.get("maxResults", default_page)
    if not isinstance(max_results, int) or not 1 <= max_results <= limits.LIST_PAGE_MAX:
        raise v1_error(ctx, 400, "BAD_REQUEST", f"maxResults must be between 1 and {limits.LIST_PAGE_MAX}")
    query = {k: v for k, v in body.items() if k not in ("maxResults", "nextToken")}
    unknown = set(query) - set(filters)
    if unknown:
        raise v1_error(ctx, 400, "BAD_REQUEST", f"Unknown filter(s): {', '.join(sorted(unknown))}")
    offset = decode_page_token(body.get("nextToken"), query)
    if offset is None:
        raise v1_error(ctx, 400, "BAD_REQUEST", "Invalid nextToken")
    with ctx.state.lock:
        rows = [e for e in entities if _passes(e, query, filters)]
        page = [public(e) for e in rows[offset:offset + max_results]]
    answer: dict[str, Any] = {items_key: page}
    end = offset + len(page)
    answer["nextToken"] = encode_page_token(end, query) if end < len(rows) else None
    if with_total:
        answer["totalResults"] = len(rows)
    return Response(200, answer)


def _passes(entity: dict, query: dict, filters: dict[str, str]) -> bool:
    for name, condition in query.items():
        include = condition.get("include") if isinstance(condition, dict) else None
        if include is None:
            continue
        if str(entity.get(filters[name])) not in {str(v) for v in include}:
            return False
    return True


def deep_merge(stored: dict, changes: dict) -> None:
    """A PATCH's partial update: objects are merged key by key, anything else (lists included)
    replaces what was stored; a null stores null."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(stored.get(key), dict):
            deep_merge(stored[key], value)
        else:
            stored[key] = value


def parse_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def require_text(item: dict, field: str, max_length: int = 255) -> str:
    value = item.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ItemError("FIELD_VALUE_IS_NULL", f"{field} is required", fieldLocation=field)
    if not isinstance(value, str) or len(value) > max_length or value != value.strip():
        raise ItemError("FIELD_VALUE_IS_INVALID", f"{field} must be text of at most {max_length} characters "
                        "without leading or trailing spaces", fieldLocation=field)
    return value


def require_number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ItemError("FIELD_VALUE_IS_INVALID", f"{field} must be a number", fieldLocation=field)
    if not low <= value <= high:
        raise ItemError("FIELD_VALUE_IS_OUT_OF_RANGE", f"{field} must be between {low} and {high}", fieldLocation=field)
    return float(value)


def check_presigned(ctx: Context, store: dict, key: str) -> dict:
    """S3's rules for a presigned URL: no second auth mechanism, a valid signature, not expired."""
    if ctx.header("Authorization"):
        with ctx.state.lock:
            ctx.state.presigned_auth_rejected += 1
        raise s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                       "parameter, Signature query string parameter or the Authorization header should be specified")
    with ctx.state.lock:
        record = store.get(key)
        if record is None or ctx.query.get("X-Amz-Signature") != ctx.state.signature(key):
            raise s3_error(403, "AccessDenied", "Access Denied")
        if ctx.state.now() > record["expires_at"]:
            raise s3_error(403, "AccessDenied", "Request has expired")
    return record
