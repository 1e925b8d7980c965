"""Deal lists from Kargo (CSV) imported through a job row, like every long piece of work.

    imp = kargo_deal_import_start(advertiser=adv, content=text, filename="deals.csv", by=user)
    kargo_deal_import_run(import_id=imp.pk)   # what the Huey task does; safe to run twice
    kargo_deal_imports_reconcile()            # re-queue imports whose worker was lost

Columns, as Kargo's deal sheets name them (case and spacing do not matter): Deal ID, Deal Name,
Deal Type (Private Auction / PMP / PA, Preferred / Preferred Deal, Programmatic Guaranteed / PG),
Floor CPM ("$4.50" or "4.50"), Currency (default USD), Start Date, End Date (YYYY-MM-DD or
MM/DD/YYYY), Formats (names separated by ";" or "|"), State (optional: enabled, paused, archived).
Every row is checked; one bad row fails the import with the report and nothing is written.
Rows update deals by Deal ID (create or update), and offer them to the import's advertiser.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.observability.context import current_request_id
from creatives.choices import RunStatus
from creatives.kargo.choices import DealState, DealType
from creatives.kargo.models import FLOOR, KargoDeal, KargoDealImport, KargoFormat
from creatives.kargo.validation import validate_currency_code, validate_deal_id

log = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_STORED_ERRORS = 500
CENT = Decimal("0.01")
FLOOR_MAX = Decimal(10) ** (FLOOR["max_digits"] - FLOOR["decimal_places"])
HEADERS = {
    "deal id": "deal_id", "dealid": "deal_id", "deal name": "name", "name": "name", "deal type": "deal_type",
    "type": "deal_type", "floor cpm": "floor_cpm", "floor": "floor_cpm", "floor price": "floor_cpm",
    "currency": "currency", "start date": "start_date", "start": "start_date", "end date": "end_date",
    "end": "end_date", "formats": "formats", "format": "formats", "state": "state", "status": "state",
}
REQUIRED = ("deal_id", "name", "deal_type", "floor_cpm", "start_date", "end_date")
DEAL_TYPES = {
    "private auction": DealType.PRIVATE_AUCTION, "pmp": DealType.PRIVATE_AUCTION, "pa": DealType.PRIVATE_AUCTION,
    "private_auction": DealType.PRIVATE_AUCTION, "preferred": DealType.PREFERRED,
    "preferred deal": DealType.PREFERRED, "pd": DealType.PREFERRED,
    "programmatic guaranteed": DealType.PROGRAMMATIC_GUARANTEED, "pg": DealType.PROGRAMMATIC_GUARANTEED,
    "programmatic_guaranteed": DealType.PROGRAMMATIC_GUARANTEED,
}


class ImportRefused(ValueError):
    """The file as a whole cannot be read (size, encoding, header)."""


@dataclass
class DealRow:
    row: int
    values: dict


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "KARGO_IMPORT_STALE_SECONDS", 600))


def _date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or MM/DD/YYYY).")


def _floor(text: str) -> Decimal:
    cleaned = text.replace("$", "").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount.") from None
    if not value.is_finite() or value < 0 or value >= FLOOR_MAX:
        raise ValueError(f"{text!r} must be an amount from 0 to {FLOOR_MAX - CENT}.")
    if value != value.quantize(CENT):
        raise ValueError(f"{text!r} has more than two decimals.")
    return value.quantize(CENT)


def parse_deal_rows(text: str) -> tuple[list[DealRow], list[dict]]:
    """Every row checked: (valid rows, errors [{row, field, message}]). Row 1 is the header."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("The file is empty.") from None
    except csv.Error as exc:
        raise ImportRefused(f"The header is not CSV: {exc}") from None
    columns = [HEADERS.get(" ".join(h.strip().lower().replace("_", " ").split())) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportRefused(f"Missing column(s): {', '.join(missing)}. Found: {', '.join(header)}.")
    formats = {f.name.lower(): f for f in KargoFormat.objects.all()}
    rows, errors, seen = [], [], {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) + len(errors) >= MAX_ROWS:
                raise ImportRefused(f"At most {MAX_ROWS:,} rows per file.")
            raw = {col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(columns) if col}
            values, problems = _check_row(raw, formats)
            deal_id = raw.get("deal_id")
            if deal_id and deal_id in seen:
                problems.append(("deal_id", f"Deal {deal_id} is already on row {seen[deal_id]}."))
            elif deal_id:
                seen[deal_id] = number
            if problems:
                errors += [{"row": number, "field": f, "message": m} for f, m in problems]
            else:
                rows.append(DealRow(number, values))
    except csv.Error as exc:
        raise ImportRefused(f"The file is not valid CSV near row {reader.line_num}: {exc}") from None
    if not rows and not errors:
        raise ImportRefused("The file has no deal rows.")
    return rows, errors


def _refused(field: str, validator, value) -> list[tuple[str, str]]:
    """The model field's validator's messages for `value`, as row problems."""
    try:
        validator(value)
    except ValidationError as exc:
        return [(field, message) for message in exc.messages]
    return []


def _check_row(raw: dict, formats: dict) -> tuple[dict, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    values: dict = {}
    for field in REQUIRED:
        if not raw.get(field):
            problems.append((field, "Required."))
    if raw.get("deal_id"):
        if len(raw["deal_id"]) > 128:
            problems.append(("deal_id", "At most 128 characters."))
        problems += _refused("deal_id", validate_deal_id, raw["deal_id"])
        values["deal_id"] = raw["deal_id"]
    if raw.get("name"):
        values["name"] = raw["name"][:255]
    if raw.get("deal_type"):
        kind = DEAL_TYPES.get(" ".join(raw["deal_type"].lower().split()))
        if kind is None:
            problems.append(("deal_type", f"{raw['deal_type']!r} is not Private Auction, Preferred or "
                                          "Programmatic Guaranteed."))
        values["deal_type"] = kind
    for field, parse in (("floor_cpm", _floor), ("start_date", _date), ("end_date", _date)):
        if raw.get(field):
            try:
                values[field] = parse(raw[field])
            except ValueError as exc:
                problems.append((field, str(exc)))
    if values.get("start_date") and values.get("end_date") and values["end_date"] < values["start_date"]:
        problems.append(("end_date", "The end date is before the start date."))
    currency = (raw.get("currency") or "USD").upper()
    problems += _refused("currency", validate_currency_code, raw.get("currency") or "USD")
    values["currency"] = currency
    state = (raw.get("state") or DealState.ENABLED).lower()
    if state not in DealState.values:
        problems.append(("state", f"{raw.get('state')!r} is not {', '.join(DealState.values)}."))
    values["state"] = state
    names = [n.strip() for n in (raw.get("formats") or "").replace("|", ";").split(";") if n.strip()]
    unknown = [n for n in names if n.lower() not in formats]
    if unknown:
        problems.append(("formats", f"Unknown Kargo format(s): {', '.join(unknown)}."))
    values["formats"] = [formats[n.lower()] for n in names if n.lower() in formats]
    return values, problems


# --- the job ------------------------------------------------------------------------------------

def _enqueue(import_id: int) -> None:
    from creatives.kargo.tasks import kargo_deal_import_task

    kargo_deal_import_task(import_id)


def kargo_deal_import_start(*, advertiser, content: str | bytes, filename: str = "", by=None) -> KargoDealImport:
    """Record a queued import and enqueue it on commit. Files that cannot be read are refused here."""
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            raise ImportRefused(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRefused("The file is not UTF-8 text.") from None
    if len(content.encode()) > MAX_BYTES:
        raise ImportRefused(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
    if "\x00" in content:
        raise ImportRefused("The file is not text.")
    with transaction.atomic():
        job = KargoDealImport.objects.create(
            advertiser=advertiser, content=content, filename=(filename or "")[-255:],
            created_by=by if getattr(by, "pk", None) else None, request_id=current_request_id() or "",
        )
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def _claim(import_id: int) -> str | None:
    now = timezone.now()
    token = uuid.uuid4().hex[:12]
    claimed = KargoDealImport.objects.filter(pk=import_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now, started_at=now,
    )  # one UPDATE is the claim: a second worker finds the row running, not queued
    return token if claimed else None


def kargo_deal_import_run(*, import_id: int) -> KargoDealImport:
    """Check every row, then (all valid) write every deal in one transaction. Idempotent: deals
    are keyed by Deal ID, so a rerun after a lost worker writes the same values."""
    if _claim(import_id) is None:
        return KargoDealImport.objects.get(pk=import_id)
    job = KargoDealImport.objects.select_related("advertiser").get(pk=import_id)
    try:
        rows, errors = parse_deal_rows(job.content)
    except ImportRefused as exc:
        return _finish(job, RunStatus.FAILED, error=str(exc))
    job.progress_total = len(rows) + len({e["row"] for e in errors})
    job.save(update_fields=["progress_total", "heartbeat_at"])
    if errors:
        job.progress_done = job.progress_total
        return _finish(job, RunStatus.FAILED, errors=errors,
                       error=f"{len({e['row'] for e in errors})} row(s) have errors; nothing was imported.")
    created = updated = 0
    with transaction.atomic():
        for n, row in enumerate(rows, start=1):
            values = dict(row.values)
            formats = values.pop("formats")
            deal, was_created = KargoDeal.objects.update_or_create(deal_id=values.pop("deal_id"), defaults=values)
            if formats:
                deal.formats.set(formats)
            deal.advertisers.add(job.advertiser)
            created += was_created
            updated += not was_created
            if n % 200 == 0:
                KargoDealImport.objects.filter(pk=job.pk).update(progress_done=n, heartbeat_at=timezone.now())
        job.progress_done, job.created, job.updated = len(rows), created, updated
        return _finish(job, RunStatus.DONE)


def _finish(job: KargoDealImport, status: str, *, error: str = "", errors=None) -> KargoDealImport:
    job.status, job.error, job.errors = status, error, (errors or [])[:MAX_STORED_ERRORS]
    job.finished_at = job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "error", "errors", "finished_at", "heartbeat_at", "progress_done",
                            "progress_total", "created", "updated"])
    log.info("kargo deal import finished", extra={"kargo_import": job.pk, "status": status})
    return job


def kargo_deal_imports_reconcile(*, now=None) -> dict[str, int]:
    """Running imports whose heartbeat went stale go back to queued and are re-sent; queued ones
    nobody picked up are re-sent. Safe at any time: only a queued row is claimed."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    requeue = []
    with transaction.atomic():
        lost = list(KargoDealImport.objects.select_for_update(skip_locked=True).filter(
            status__in=RunStatus.active(), heartbeat_at__lt=cutoff).values_list("pk", flat=True))
        KargoDealImport.objects.filter(pk__in=lost).update(status=RunStatus.QUEUED, heartbeat_at=now)
        requeue += lost
        for pk in requeue:
            transaction.on_commit(lambda pk=pk: _enqueue(pk), robust=True)
    return {"requeued": len(requeue)}
