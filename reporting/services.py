"""Writes performance: validated, all or nothing, idempotent.

`performance_upsert` is the one way rows get into DailyPerformance: CSV/XLSX uploads (API and
console) and the Amazon DSP sync (integrations) all call it. Re-importing a day replaces it, so
a repeated import changes nothing and a corrected one overwrites.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from campaigns.models import CURRENCY_MINOR_UNITS, LineItem
from reporting.choices import PerformanceSource
from reporting.models import MONEY_FIELDS, VALUE_FIELDS, DailyPerformance
from reporting.selectors import local_today

COLUMNS = ("date", "line_item_id", *VALUE_FIELDS)
REQUIRED_COLUMNS = ("date", "line_item_id", "impressions", "clicks", "spend")
MAX_COUNT = 2**63 - 1
MAX_MONEY = Decimal("1e12")  # the columns hold 14 digits, 2 of them decimals
EARLIEST_DATE = date(2000, 1, 1)
MAX_REPORTED_ERRORS = 100
_PK_MAX = 2**63 - 1
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPACT_DATE = re.compile(r"\d{8}")  # Amazon's bulk-sheet yyyyMMdd


class ImportRefused(Exception):
    """Nothing was written. `errors` lists the failing rows as {"row": n, "errors": {field: [..]}}
    (the first MAX_REPORTED_ERRORS of `error_count`)."""

    def __init__(self, errors: list[dict], error_count: int | None = None):
        super().__init__(f"{error_count or len(errors)} row(s) refused")
        self.errors = errors
        self.error_count = error_count if error_count is not None else len(errors)


@dataclass(frozen=True)
class UpsertResult:
    rows: int
    created: int
    updated: int
    unchanged: int


class _Invalid(ValueError):
    pass


def _reject_formula(value: str) -> None:
    if value.startswith("="):
        raise _Invalid("Formulas are not accepted; enter the value.")


def parse_count(value) -> int:
    if isinstance(value, bool):
        raise _Invalid("Expected a whole number, got true/false.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, Decimal, str)):
        if isinstance(value, str):
            value = value.strip()
            _reject_formula(value)
        try:
            exact = Decimal(str(value)) if not isinstance(value, float) else Decimal(repr(value))
        except InvalidOperation:
            raise _Invalid(f"{value!r} is not a number.") from None
        if not exact.is_finite():
            raise _Invalid("Expected a finite number (NaN and infinity are refused).")
        if exact != exact.to_integral_value():
            raise _Invalid("Expected a whole number.")
        number = int(exact)
    else:
        raise _Invalid(f"Expected a whole number, got {type(value).__name__}.")
    if number < 0:
        raise _Invalid("Cannot be negative.")
    if number > MAX_COUNT:
        raise _Invalid("Too large.")
    return number


def parse_money(value) -> Decimal:
    """The exact amount (quantized later, once, to the currency's minor unit: see quantize_money)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise _Invalid(f"Expected an amount, got {type(value).__name__}.")
    if isinstance(value, str):
        value = value.strip()
        _reject_formula(value)
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise _Invalid(f"{value!r} is not an amount.") from None
    if not amount.is_finite():
        raise _Invalid("Expected a finite amount (NaN and infinity are refused).")
    if amount < 0:
        raise _Invalid("Cannot be negative.")
    if amount >= MAX_MONEY:
        raise _Invalid("Too large.")
    return amount


def quantize_money(amount: Decimal, places: int) -> Decimal:
    # Amazon reports cost with sub-cent precision; money is kept in the currency's minor unit,
    # rounded once (rounding twice, e.g. to 12 places then 2, can round 0.00499… up to 0.01).
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_date(value) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise _Invalid("Expected a date without a time of day.")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _ISO_DATE.fullmatch(text):
                return date.fromisoformat(text)
            if _COMPACT_DATE.fullmatch(text):
                return datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            raise _Invalid(f"{text!r} is not a real date.") from None
        raise _Invalid(f"{text!r} is not a date; use YYYY-MM-DD.")
    raise _Invalid(f"Expected a date, got {type(value).__name__}.")


def parse_pk(value) -> int:
    number = parse_count(value)
    if not 1 <= number <= _PK_MAX:
        raise _Invalid("Not a line item id.")
    return number


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_row(raw: Mapping) -> tuple[dict, dict]:
    """The row's typed values (money still unquantized) and its errors."""
    values, errors = {}, {}
    for column in COLUMNS:
        value = raw.get(column)
        if _blank(value):
            if column in REQUIRED_COLUMNS:
                errors[column] = ["This value is required."]
            else:
                values[column] = Decimal(0) if column in MONEY_FIELDS else 0
            continue
        try:
            if column == "date":
                values[column] = parse_date(value)
            elif column == "line_item_id":
                values[column] = parse_pk(value)
            elif column in MONEY_FIELDS:
                values[column] = parse_money(value)  # quantized once the currency is known
            else:
                values[column] = parse_count(value)
        except _Invalid as exc:
            errors[column] = [str(exc)]
    unknown = sorted(set(raw) - set(COLUMNS))
    if unknown:
        errors["non_field_errors"] = [f"Unknown column(s): {', '.join(unknown)}."]
    return values, errors


def _consistency_errors(values: dict) -> dict:
    errors = {}
    pairs = [
        ("viewable_impressions", "measurable_impressions", "Viewable impressions cannot exceed measurable ones."),
        ("measurable_impressions", "impressions", "Measurable impressions cannot exceed impressions."),
        ("video_starts", "impressions", "Video starts cannot exceed impressions."),
        ("video_completions", "video_starts", "Video completions cannot exceed video starts."),
    ]
    for part, whole, message in pairs:
        if part in values and whole in values and values[part] > values[whole]:
            errors[part] = [message]
    return errors


PROGRESS_EVERY = 1000


def performance_rows_clean(
    *, rows: Sequence[Mapping], line_items=None, visible=None, row_numbers: Sequence[int] | None = None, now=None,
    progress=None,
) -> list[DailyPerformance]:
    """Validate every row; return unsaved DailyPerformance objects or raise ImportRefused.

    `line_items` are the line items the caller may write (default: all). A row naming any other
    line item is refused as "does not exist", exactly like an id that does not exist, unless it
    is in `visible` (the caller can see it): then the message says the role is missing.
    `progress(done, total)` is called every PROGRESS_EVERY rows checked.
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    parsed = [_parse_row(raw) for raw in rows]
    ids = {values["line_item_id"] for values, _ in parsed if "line_item_id" in values}
    writable = (LineItem.objects.all() if line_items is None else line_items).filter(pk__in=ids)
    found = {li.pk: li for li in writable.select_related("campaign__advertiser")}
    readable = set()
    if visible is not None and ids - set(found):
        readable = set(visible.filter(pk__in=ids - set(found)).values_list("pk", flat=True))
    todays: dict[str, date] = {}
    seen: dict[tuple, int] = {}
    objects, failures = [], []
    total = len(parsed)
    for index, (number, (values, errors)) in enumerate(zip(numbers, parsed), start=1):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, total)
        line_item = found.get(values.get("line_item_id"))
        if "line_item_id" in values and line_item is None:
            pk = values["line_item_id"]
            errors["line_item_id"] = [
                f"You need the trader role on line item {pk}'s advertiser to import its performance."
                if pk in readable else f"Line item {pk} does not exist."
            ]
        if line_item is not None:
            advertiser = line_item.campaign.advertiser
            places = CURRENCY_MINOR_UNITS.get(advertiser.currency, 2)
            for column in MONEY_FIELDS:
                if column in values:
                    values[column] = quantize_money(values[column], places)
            today = todays.setdefault(advertiser.timezone, local_today(advertiser.timezone, now))
            day = values.get("date")
            if day is not None and day > today:
                errors["date"] = [f"{day} is in the future for {advertiser} (time zone {advertiser.timezone})."]
        if values.get("date") is not None and values["date"] < EARLIEST_DATE:
            errors["date"] = [f"Dates before {EARLIEST_DATE} are not accepted."]
        for column, messages in _consistency_errors(values).items():
            errors.setdefault(column, []).extend(messages)
        key = (values.get("line_item_id"), values.get("date"))
        if None not in key:
            if key in seen:
                errors.setdefault("non_field_errors", []).append(
                    f"Line item {key[0]} on {key[1]} is already in row {seen[key]}."
                )
            else:
                seen[key] = number
        if errors:
            failures.append({"row": number, "errors": errors})
        else:
            objects.append(DailyPerformance(line_item=line_item, **{c: values[c] for c in COLUMNS if c != "line_item_id"}))
    if failures:
        raise ImportRefused(failures[:MAX_REPORTED_ERRORS], len(failures))
    return objects


def _existing(objects: list[DailyPerformance]) -> dict[tuple, dict]:
    if not objects:
        return {}
    keys = {(o.line_item_id, o.date) for o in objects}
    line_item_ids = {k[0] for k in keys}
    first, last = min(k[1] for k in keys), max(k[1] for k in keys)
    rows = DailyPerformance.objects.filter(line_item_id__in=line_item_ids, date__gte=first, date__lte=last).values(
        "line_item_id", "date", *VALUE_FIELDS
    )
    return {(r["line_item_id"], r["date"]): r for r in rows if (r["line_item_id"], r["date"]) in keys}


def performance_rows_write(*, objects: list[DailyPerformance], source: str, batch_size: int = 2000) -> UpsertResult:
    """Insert new days and replace changed ones (objects from performance_rows_clean), in one
    transaction (the caller's, if it holds one). Rows equal to the stored day are left alone."""
    with transaction.atomic():
        existing = _existing(objects)
        changed, created = [], 0
        for obj in objects:
            stored = existing.get((obj.line_item_id, obj.date))
            if stored is None:
                created += 1
            elif all(stored[f] == getattr(obj, f) for f in VALUE_FIELDS):
                continue
            obj.source = source
            changed.append(obj)
        # ON CONFLICT DO UPDATE: a concurrent import of the same day cannot fail this one.
        DailyPerformance.objects.bulk_create(
            changed,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["line_item", "date"],
            update_fields=[*VALUE_FIELDS, "source", "updated_at"],
        )
    return UpsertResult(
        rows=len(objects), created=created, updated=len(changed) - created, unchanged=len(objects) - len(changed)
    )


def performance_upsert(
    *,
    rows: Sequence[Mapping],
    source: str = PerformanceSource.API,
    line_items=None,
    visible=None,
    row_numbers: Sequence[int] | None = None,
    now=None,
    batch_size: int = 2000,
) -> UpsertResult:
    """Validate all rows, then insert new days and replace changed ones in one transaction.

    Rows are mappings with the keys of COLUMNS (date, line_item_id, impressions, …); optional
    counters default to 0. Raises ImportRefused (nothing written) when any row is invalid.
    Idempotent: the same rows again report them unchanged and write nothing.
    """
    objects = performance_rows_clean(rows=rows, line_items=line_items, visible=visible, row_numbers=row_numbers, now=now)
    return performance_rows_write(objects=objects, source=source, batch_size=batch_size)


__all__ = [
    "COLUMNS",
    "ImportRefused",
    "REQUIRED_COLUMNS",
    "UpsertResult",
    "performance_rows_clean",
    "performance_rows_write",
    "performance_upsert",
]
