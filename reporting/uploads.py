"""Reading performance uploads (CSV or XLSX) into rows for reporting.services.performance_upsert.

Two steps, because the reading runs in a worker (reporting.imports) and the request should not:

* `check_upload`, at upload time: the name must be .csv or .xlsx, the size under the limit, the
  first bytes those of the format the name claims. Cheap, nothing is parsed.
* `read_upload_file`, in the job: the whole file. A CSV must be UTF-8 text; an XLSX goes through
  the bulk sheets' guard (campaigns.bulksheets.safety.check_workbook) before openpyxl sees it:
  zip bombs judged from the directory and then by inflating every part (an entry whose directory
  lies about its size is caught), DTDs and entities, other encodings, and formula cells (never
  evaluated: the file is refused with the cell's reference).

Limits are settings, read when used: REPORTING_UPLOAD_MAX_BYTES, REPORTING_UPLOAD_MAX_ROWS,
REPORTING_UPLOAD_MAX_UNPACKED_BYTES.
"""

import csv
import io
import re
from dataclasses import dataclass

from django.conf import settings

from campaigns.bulksheets.safety import SheetRefused, check_workbook
from reporting.services import COLUMNS, REQUIRED_COLUMNS

_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF_BYTES = 64 * 1024


def max_upload_bytes() -> int:
    return getattr(settings, "REPORTING_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)


def max_rows() -> int:
    return getattr(settings, "REPORTING_UPLOAD_MAX_ROWS", 100_000)


def max_unpacked_bytes() -> int:
    return getattr(settings, "REPORTING_UPLOAD_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)


# Header spellings accepted for each column (compared after lower-casing and folding spaces,
# hyphens and dots to "_"): ours, and the names Amazon's DSP and bulk-sheet reports use.
ALIASES = {
    "date": ("date", "day", "report_date"),
    "line_item_id": ("line_item_id", "line_item", "lineitemid", "line_item_(id)"),
    "impressions": ("impressions",),
    "clicks": ("clicks", "click_throughs", "clickthroughs"),
    "conversions": ("conversions", "purchases", "orders", "total_purchases"),
    "spend": ("spend", "cost", "total_cost", "totalcost"),
    "sales": ("sales", "total_sales", "product_sales"),
    "viewable_impressions": ("viewable_impressions", "viewableimpressions"),
    "measurable_impressions": ("measurable_impressions", "measurableimpressions"),
    "video_starts": ("video_starts", "videostart", "video_start"),
    "video_completions": ("video_completions", "videocomplete", "video_complete"),
}
_HEADER = {alias: column for column, aliases in ALIASES.items() for alias in aliases}
assert set(ALIASES) == set(COLUMNS)


class UploadRefused(ValueError):
    """The file as a whole is refused (nothing read, nothing written)."""


@dataclass
class Upload:
    rows: list[dict]
    row_numbers: list[int]  # the spreadsheet's own row numbers (the header is row 1)


def _fold(header) -> str:
    return re.sub(r"[\s\-.]+", "_", str(header or "").strip().lower())


def _columns(headers: list) -> list[str | None]:
    names, unknown, seen = [], [], set()
    for header in headers:
        if header is None or not str(header).strip():
            names.append(None)  # an unlabelled column must be empty (checked per row)
            continue
        column = _HEADER.get(_fold(header))
        if column is None:
            unknown.append(str(header).strip())
        elif column in seen:
            raise UploadRefused(f"Column {column!r} appears twice.")
        seen.add(column)
        names.append(column)
    if unknown:
        raise UploadRefused(f"Unknown column(s): {', '.join(unknown)}. Expected: {', '.join(COLUMNS)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise UploadRefused(f"Missing column(s): {', '.join(missing)}.")
    return names


def _rows(lines) -> Upload:
    """Rows of a sheet whose first non-empty line is the header."""
    iterator = iter(lines)
    for header_number, headers in enumerate(iterator, start=1):
        if any(v is not None and str(v).strip() for v in headers):
            break
    else:
        raise UploadRefused("The file is empty.")
    names = _columns(list(headers))
    rows, numbers, limit = [], [], max_rows()
    for number, values in enumerate(iterator, start=header_number + 1):
        if not any(v is not None and str(v).strip() for v in values):
            continue  # blank lines between blocks are harmless
        if len(rows) >= limit:
            raise UploadRefused(f"More than {limit:,} rows; split the file.")
        row = {}
        for index, value in enumerate(values):
            name = names[index] if index < len(names) else None
            if name is not None:
                row[name] = value
            elif value is not None and str(value).strip():
                row[f"column {index + 1}"] = value  # refused by the row check as an unknown column
        rows.append(row)
        numbers.append(number)
    if not rows:
        raise UploadRefused("The file has a header but no rows.")
    return Upload(rows, numbers)


def _read_xlsx(handle) -> Upload:
    from openpyxl import load_workbook

    try:
        check_workbook(handle, max_bytes=max_upload_bytes(), max_unpacked=max_unpacked_bytes())
    except SheetRefused as exc:
        raise UploadRefused(str(exc)) from None
    try:
        # read_only streams the sheet; data_only=False would keep a formula as its text, but the
        # guard has already refused any workbook holding one.
        workbook = load_workbook(handle, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise UploadRefused(f"This .xlsx file could not be read ({type(exc).__name__}).") from None
    try:
        return _rows(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def _read_csv(data: bytes) -> Upload:
    if data.startswith(_ZIP_MAGIC) or b"\x00" in data:
        raise UploadRefused("This is not a text CSV file (binary content).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused("A CSV file must be UTF-8 encoded.") from None
    # Excel writes ";" in locales with a decimal comma: the header line tells which one it is.
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    try:
        return _rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UploadRefused(f"The CSV file is malformed: {exc}.") from None


def _too_large() -> UploadRefused:
    return UploadRefused(f"The file is larger than {max_upload_bytes() // 2**20} MB.")


def check_upload(name: str, size: int | None, head: bytes) -> None:
    """The checks made when a file is uploaded, before a job is queued: the name, the size and
    the first bytes (`head`, up to 64 KiB). Raises UploadRefused."""
    name = (name or "").lower()
    if size is not None and size > max_upload_bytes():
        raise _too_large()
    if not name.endswith((".csv", ".xlsx")):
        raise UploadRefused("Upload a .csv or .xlsx file.")
    if size == 0 or not head:
        raise UploadRefused("The file is empty.")
    if name.endswith(".xlsx"):
        if not head.startswith(_ZIP_MAGIC):
            raise UploadRefused("This file is named .xlsx but is not an Excel workbook.")
    elif head.startswith(_ZIP_MAGIC) or b"\x00" in head:
        raise UploadRefused("This is not a text CSV file (binary content).")


def sniff(upload) -> bytes:
    """The first bytes of an uploaded file, which is left at its start."""
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    return head


def read_upload_file(handle, name: str) -> Upload:
    """Rows of a stored upload: `handle` is a seekable binary file, `name` tells its format."""
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    check_upload(name, size, handle.read(_SNIFF_BYTES))
    handle.seek(0)
    if name.lower().endswith(".xlsx"):
        return _read_xlsx(handle)
    return _read_csv(handle.read())  # check_upload refused a file over the limit
