"""Refusing a workbook before any parser sees it, and keeping our own cells inert.

openpyxl and python-calamine trust the archive: a 0.26 MB crafted .xlsx can inflate to gigabytes,
and an XML part can declare entities (billion laughs, external entities). So before reading:

* the name must be .xlsx, the size under the limit, the bytes a zip holding xl/workbook.xml;
* the zip's directory must promise at most the unpacked limit, and no entry (nor the whole)
  may be compressed better than 100:1 (real sheets stay under 30:1);
* every entry is then inflated here, in chunks, by Python's zipfile, which stops at the size
  the directory declares and checks the CRC: an entry that lies about its size is caught
  before python-calamine (whose zip reader is not so careful) sees it;
* while inflating: an XML part whose prolog has a DTD (<!DOCTYPE / <!ENTITY) or that is not
  UTF-8 is refused, and so is a worksheet holding a formula (<f>): formulas are never
  evaluated, and a sheet that needs them is not one Amazon's console would accept either.

openpyxl also parses through defusedxml once it is installed (it is: requirements.txt); the
error workbook and the tests rely on that as a second line, not as the first.

Limits are settings (read when used, so an operator or a test can change them):
BULKSHEET_MAX_UPLOAD_BYTES, BULKSHEET_MAX_UNPACKED_BYTES, BULKSHEET_MAX_ROWS. Other uploads of
.xlsx files (reporting's performance imports) run the same `check_workbook` with their own limits.
"""

import re
import zipfile

from django.conf import settings

MAX_COMPRESSION_RATIO = 100
MAX_ARCHIVE_ENTRIES = 1_000
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20
_PROLOG_LIMIT = 16 * 1024  # Excel writes a one-line prolog; a long one is hiding something
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?f[\s>/]")
_CELL_REF = re.compile(rb'<(?:[A-Za-z_][\w.\-]*:)?c\b[^>]*?\br="([A-Z]{1,3}\d{1,7})"')
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# Text that a spreadsheet would run as a formula (the OWASP "CSV injection" prefixes; a tab or
# carriage return is stripped by some spreadsheets before they look).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class SheetRefused(ValueError):
    """The file as a whole is refused: nothing was read from it, nothing written."""


def max_upload_bytes() -> int:
    return getattr(settings, "BULKSHEET_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)


def max_unpacked_bytes() -> int:
    return getattr(settings, "BULKSHEET_MAX_UNPACKED_BYTES", 256 * 1024 * 1024)


def max_rows() -> int:
    return getattr(settings, "BULKSHEET_MAX_ROWS", 200_000)


def neutralise(value):
    """Text that would start a formula, made inert with a leading apostrophe (as in
    reporting.exports, which campaigns may not import); numbers and dates are untouched."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unneutralise(text: str) -> str:
    """The inverse on import, so names starting with "-" survive an export → import round trip."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def check_name_and_size(name: str, size: int | None) -> None:
    """The checks that need no reading: refused at upload time, before a job is queued."""
    if not (name or "").lower().endswith(".xlsx"):
        raise SheetRefused("Upload an .xlsx file (the format of Amazon's bulk sheets).")
    if size is not None and size > max_upload_bytes():
        raise SheetRefused(f"The file is larger than {max_upload_bytes() // 2**20} MB.")
    if size == 0:
        raise SheetRefused("The file is empty.")


def check_workbook(handle, *, max_bytes: int | None = None, max_unpacked: int | None = None) -> None:
    """Refuse a workbook that is not one, could be a zip bomb, declares a DTD, is not UTF-8 or
    holds formulas. `handle` is a seekable binary file; it is left at its start. The limits
    default to the bulk-sheet settings; other uploads pass their own."""
    max_bytes = max_upload_bytes() if max_bytes is None else max_bytes
    handle.seek(0)
    if handle.read(4) != _ZIP_MAGIC:
        raise SheetRefused("This file is named .xlsx but is not an Excel workbook.")
    handle.seek(0, 2)
    if handle.tell() > max_bytes:
        raise SheetRefused(f"The file is larger than {max_bytes // 2**20} MB.")
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
            _check_directory(archive, entries, max_unpacked_bytes() if max_unpacked is None else max_unpacked)
            for entry in entries:
                _scan_entry(archive, entry)
    except zipfile.BadZipFile as exc:
        raise SheetRefused(f"This .xlsx file is damaged ({exc}).") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise SheetRefused(f"This .xlsx file cannot be read safely ({type(exc).__name__}).") from None
    finally:
        handle.seek(0)


def _check_directory(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limit: int) -> None:
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise SheetRefused("This .xlsx file has too many parts.")
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        raise SheetRefused("This archive is not an Excel workbook.")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise SheetRefused("This workbook contains macros; save it as a plain .xlsx workbook.")
    unpacked = sum(e.file_size for e in entries)
    packed = sum(e.compress_size for e in entries)
    if unpacked > limit:
        raise SheetRefused(f"This .xlsx file unpacks to more than {limit // 2**20} MB.")
    too_dense = unpacked > MAX_COMPRESSION_RATIO * max(packed, 1) or any(
        e.file_size > MAX_COMPRESSION_RATIO * max(e.compress_size, 1) for e in entries
    )
    if too_dense:
        raise SheetRefused(f"This .xlsx file is compressed suspiciously well (over {MAX_COMPRESSION_RATIO}:1); refused.")
    if any(e.flag_bits & 0x1 for e in entries):
        raise SheetRefused("This .xlsx file is encrypted.")


def _scan_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    name = entry.filename
    is_xml = name.endswith((".xml", ".rels", ".vml"))
    is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
    tail = b""
    first = True
    with archive.open(entry) as part:  # inflates at most file_size bytes, then checks the CRC
        while chunk := part.read(_CHUNK):
            if first and is_xml:
                _check_prolog(name, chunk)
            first = False
            if is_sheet:
                window = tail + chunk
                match = _FORMULA.search(window) if (b"<f" in window or b":f" in window) else None
                if match:
                    raise SheetRefused(_formula_message(window, match.start()))
                tail = window[-256:]  # a tag split between two chunks is seen whole next time


def _formula_message(window: bytes, at: int) -> str:
    cells = list(_CELL_REF.finditer(window, max(0, at - 4096), at))
    where = f"Cell {cells[-1].group(1).decode()} holds" if cells else "A cell holds"
    return f"{where} a formula. Formulas are not accepted: paste the values instead."


def _check_prolog(name: str, head: bytes) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:_PROLOG_LIMIT]:
        raise SheetRefused(f"Part {name} is not UTF-8 encoded; refused.")
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while position < len(head) and head[position:position + 1] in b" \t\r\n":
            position += 1
        if position >= min(len(head), _PROLOG_LIMIT):
            if len(head) < _PROLOG_LIMIT and not head[position:]:
                return  # an empty part: nothing to parse
            raise SheetRefused(f"Part {name} has an unusually long XML prolog; refused.")
        if head.startswith(b"<?", position):
            end = head.find(b"?>", position)
            if end == -1:
                raise SheetRefused(f"Part {name} has an unusually long XML prolog; refused.")
            declared = _ENCODING.search(head, position, end)
            if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
                raise SheetRefused(f"Part {name} is not UTF-8 encoded; refused.")
            position = end + 2
        elif head.startswith(b"<!--", position):
            end = head.find(b"-->", position)
            if end == -1:
                raise SheetRefused(f"Part {name} has an unusually long XML prolog; refused.")
            position = end + 3
        elif head.startswith(b"<!", position):
            # <!DOCTYPE …> with internal entities (billion laughs) or external ones (XXE).
            raise SheetRefused(f"Part {name} declares a DTD or entities; refused.")
        elif head.startswith(b"<", position):
            return  # the root element: the prolog is over
        else:
            raise SheetRefused(f"Part {name} is not XML; refused.")
