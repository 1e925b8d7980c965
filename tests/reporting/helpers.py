"""Building upload files for the import tests."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

HEADER = ["date", "line_item_id", "impressions", "clicks", "conversions", "spend", "sales",
          "viewable_impressions", "measurable_impressions", "video_starts", "video_completions"]


def csv_file(rows: list[list], *, header=HEADER, name="performance.csv", delimiter=",") -> SimpleUploadedFile:
    lines = [delimiter.join(str(v) for v in header)] + [delimiter.join("" if v is None else str(v) for v in row) for row in rows]
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def xlsx_bytes(rows: list[list], *, header=HEADER) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_file(rows: list[list], *, header=HEADER, name="performance.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx_bytes(rows, header=header))


def zip_bomb(name="bomb.xlsx", unpacked_mb=50) -> SimpleUploadedFile:
    """A tiny archive whose one part unpacks to `unpacked_mb` MB of zeros (ratio ≈ 1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (unpacked_mb * 2**20))
    return SimpleUploadedFile(name, out.getvalue())


def lying_xlsx(data: bytes, part: str, *, claimed_size: int) -> bytes:
    """The archive `data` with `part`'s uncompressed size in the central directory replaced by
    `claimed_size` (the local header and the data untouched): a directory that lies."""
    import struct

    out = bytearray(data)
    name = part.encode()
    offset = next(i for i in range(len(out))
                  if out[i:i + 4] == b"PK\x01\x02" and out[i + 46:i + 46 + len(name)] == name)
    out[offset + 24:offset + 28] = struct.pack("<I", claimed_size)
    return bytes(out)
