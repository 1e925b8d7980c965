"""Report exports as CSV and XLSX, streamed: memory does not grow with the number of rows.

CSV rows are encoded and sent as the database cursor yields them. XLSX is written by openpyxl's
write-only workbook (rows go to a temporary file as they are appended, never held as cells),
then the finished file is sent in chunks: a zip's directory comes last, so a workbook cannot be
sent before it is complete, but it never sits in memory.

Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, or a tab or
carriage return that some spreadsheets strip first) are prefixed with an apostrophe, the OWASP
"CSV injection" defence. Numbers are written as numbers and are never touched.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value):
    """Text that would start a formula, made inert; everything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


class _Line:
    """A file-like that hands back what csv.writer wrote, one line at a time."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    # A BOM so Excel opens the UTF-8 file with the right encoding (names are often not ASCII).
    yield ("\ufeff" + writer.writerow([neutralise(h) for h in header])).encode()
    buffer = []
    size = 0
    for row in rows:
        line = writer.writerow([_csv_cell(v) for v in row])
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def xlsx_file(header: list[str], rows: Iterable[list], *, title: str = "Report"):
    """The workbook in a temporary file (positioned at its start); the caller closes it."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    heading = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=neutralise(name))
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    spool = tempfile.TemporaryFile(prefix="report-", suffix=".xlsx")
    workbook.save(spool)
    spool.seek(0)
    return spool


def _xlsx_cell(value):
    if isinstance(value, Decimal):
        return value  # openpyxl writes Decimal exactly (its str), as a number
    return neutralise(value)


def file_chunks(handle) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def export_response(*, file_format: str, filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    if file_format == "csv":
        body = csv_chunks(header, rows)
    else:
        body = file_chunks(xlsx_file(header, rows))
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    response["Cache-Control"] = "no-store"
    return response
