"""Canonical values both sides of the sync compare exactly (strings or None): money as "12.30",
plain ratios without trailing zeros, days in the advertiser's time zone, frequency caps as
"3/1/DAYS"; and reading a failed item out of any of Amazon's batch answers."""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


class NotApplicable(ValueError):
    """Their value cannot be written onto our object (e.g. a state change of an archived one)."""


def error_code(entry: dict) -> str:
    """The code of one failed item, in any of Amazon's batch shapes: G2 {errorCode}, associations
    {code}, Ads API v1 {errors: [{code}]}."""
    nested = (entry.get("errors") or [{}])[0] if isinstance(entry.get("errors"), list) else {}
    return str(entry.get("errorCode") or entry.get("code") or nested.get("code") or "ERROR")


def error_message(entry: dict) -> str:
    nested = (entry.get("errors") or [{}])[0] if isinstance(entry.get("errors"), list) else {}
    return str(entry.get("errorMessage") or entry.get("description") or entry.get("message")
               or nested.get("message") or "")


def ratio(value) -> str | None:
    """A plain decimal as text without trailing zeros ("3", "0.125"), for exact comparison."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return format(number.normalize(), "f")


def values_hash(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def external_id_for(kind: str, pk: int) -> str:
    """Our id as Amazon's externalId: how a create whose answer was lost is found again."""
    return f"adops-{kind}-{pk}"


def money(value) -> str | None:
    if value is None:
        return None
    try:
        return str(Decimal(str(value)).quantize(CENT))
    except InvalidOperation:
        return None


def _tz(advertiser) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(advertiser.timezone or "UTC")


def day_start(day: date, tz) -> str:
    return datetime.combine(day, time(0, 0), tz).isoformat()


def day_end(day: date, tz) -> str:
    return datetime.combine(day, time(23, 59, 59), tz).isoformat()


def local_day(value: Any, tz) -> str | None:
    """The advertiser-local day of an RFC 3339 date-time from Amazon."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    return parsed.astimezone(tz).date().isoformat()
