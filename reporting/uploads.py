"""Reading performance uploads (CSV or XLSX) into rows for reporting.services.performance_upsert.

Refused before any parsing: files over the size limit, names that are not .csv/.xlsx, content
that does not match the name, and XLSX archives that could be zip bombs (openpyxl has no guard:
a small crafted file can unpack to gigabytes), judged from the archive's own directory.
Formulas are never evaluated: a formula cell arrives as its text and is refused as a value.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings

from reporting.services import COLUMNS, REQUIRED_COLUMNS

MAX_UPLOAD_BYTES = getattr(settings, "REPORTING_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
MAX_ROWS = getattr(settings, "REPORTING_UPLOAD_MAX_ROWS", 100_000)
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ARCHIVE_ENTRIES = 1_000
_ZIP_MAGIC = b"PK\x03\x04"

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
    rows, numbers = [], []
    for number, values in enumerate(iterator, start=header_number + 1):
        if not any(v is not None and str(v).strip() for v in values):
            continue  # blank lines between blocks are harmless
        if len(rows) >= MAX_ROWS:
            raise UploadRefused(f"More than {MAX_ROWS:,} rows; split the file.")
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


def _check_archive(data: io.BytesIO) -> None:
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile:
        raise UploadRefused("This .xlsx file is damaged or not an Excel workbook.") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise UploadRefused("This .xlsx file has too many parts.")
        unpacked = sum(e.file_size for e in entries)
        packed = sum(e.compress_size for e in entries)
        if unpacked > MAX_UNPACKED_BYTES:
            raise UploadRefused(f"This .xlsx file unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB.")
        for entry in entries:
            if entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1):
                raise UploadRefused("This .xlsx file is compressed suspiciously well (over 100:1); refused.")
        if unpacked > MAX_COMPRESSION_RATIO * max(packed, 1):
            raise UploadRefused("This .xlsx file is compressed suspiciously well (over 100:1); refused.")
        if "xl/workbook.xml" not in archive.namelist():
            raise UploadRefused("This archive is not an Excel workbook.")
    data.seek(0)


def _read_xlsx(data: io.BytesIO) -> Upload:
    from openpyxl import load_workbook

    _check_archive(data)
    try:
        # read_only streams the sheet; data_only=False keeps formulas as their text (never run).
        workbook = load_workbook(data, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise UploadRefused(f"This .xlsx file could not be read ({type(exc).__name__}).") from None
    try:
        sheet = workbook.worksheets[0]
        return _rows(sheet.iter_rows(values_only=True))
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


def read_upload(upload) -> Upload:
    """Rows of an uploaded file (a Django UploadedFile or any object with name, size, read)."""
    name = (getattr(upload, "name", "") or "").lower()
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    if not name.endswith((".csv", ".xlsx")):
        raise UploadRefused("Upload a .csv or .xlsx file.")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    if name.endswith(".xlsx"):
        if not data.startswith(_ZIP_MAGIC):
            raise UploadRefused("This file is named .xlsx but is not an Excel workbook.")
        return _read_xlsx(io.BytesIO(data))
    return _read_csv(data)
