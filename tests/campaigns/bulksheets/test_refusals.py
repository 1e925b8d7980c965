"""Files refused as a whole, before any parser reads them: wrong types, sizes, row counts, zip
bombs, XML entity tricks and formulas."""

import io
import struct
import zipfile

import pytest
from openpyxl import Workbook

from campaigns.bulksheets.reader import read_sheet
from campaigns.bulksheets.safety import SheetRefused, check_name_and_size, check_workbook

from .conftest import CREATE, row, sheet_bytes, start_import


def _rewrite(data: bytes, replace: dict[str, bytes], *, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook `data` with some parts replaced (or added), re-zipped."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    names = {info.filename for info in source.infolist()}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, body in {**{n: b for n, b in replace.items() if n not in names}, **(add or {})}.items():
            target.writestr(name, body)
    return out.getvalue()


def _refused(data: bytes) -> str:
    with pytest.raises(SheetRefused) as refused:
        read_sheet(io.BytesIO(data))
    return str(refused.value)


def test_a_zip_bomb_is_refused_from_the_archive_directory_before_parsing():
    # 20 MB of one repeated row compresses about 1000:1; openpyxl would inflate all of it.
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    bomb = head + b"<row/>" * 3_500_000 + b"</sheetData></worksheet>"
    data = _rewrite(CREATE.read_bytes(), {"xl/worksheets/sheet1.xml": bomb})
    assert len(data) < 200_000

    assert "compressed suspiciously well" in _refused(data)


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused(settings):
    settings.BULKSHEET_MAX_UNPACKED_BYTES = 20_000

    assert "unpacks to more than" in _refused(CREATE.read_bytes())


def test_an_entry_that_lies_about_its_size_in_the_directory_is_refused():
    data = bytearray(CREATE.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # Claim 100 bytes unpacked in the central directory: the ratio check passes, so the
    # inflating must not trust the claim.
    offset = next(i for i in range(len(data)) if data[i:i + 4] == b"PK\x01\x02" and data[i + 46:i + 46 + len(name)] == name)
    data[offset + 24:offset + 28] = struct.pack("<I", 100)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name.decode()).file_size == 100

    assert "damaged" in _refused(bytes(data))


XXE = (b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
       b"<si><t>&xxe;</t></si></sst>")
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
          b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol3;</t></si></sst>')


@pytest.mark.parametrize("part", [XXE, LAUGHS], ids=["external entity", "billion laughs"])
def test_xml_entity_declarations_are_refused(part):
    data = _rewrite(sheet_bytes([row(Entity="Campaign")]), {"xl/sharedStrings.xml": part})

    assert "declares a DTD or entities" in _refused(data)


def test_a_dtd_in_the_workbook_part_is_refused_too():
    source = zipfile.ZipFile(io.BytesIO(CREATE.read_bytes()))
    workbook = b'<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY a "b">]>' + source.read("xl/workbook.xml")

    assert "declares a DTD" in _refused(_rewrite(CREATE.read_bytes(), {"xl/workbook.xml": workbook}))


def test_openpyxl_parses_through_defusedxml_as_a_second_line():
    import openpyxl.xml
    from defusedxml import EntitiesForbidden
    from openpyxl import load_workbook

    assert openpyxl.xml.DEFUSEDXML is True
    source = zipfile.ZipFile(io.BytesIO(CREATE.read_bytes()))
    laughs = LAUGHS.split(b"<sst")[0] + source.read("xl/workbook.xml")  # the entities, declared in a part openpyxl reads
    with pytest.raises(ValueError) as refused:  # openpyxl wraps the parser's refusal
        load_workbook(io.BytesIO(_rewrite(CREATE.read_bytes(), {"xl/workbook.xml": laughs})))
    assert isinstance(refused.value.__cause__ or refused.value.__context__, EntitiesForbidden)


def test_a_part_in_another_encoding_is_refused():
    data = _rewrite(CREATE.read_bytes(), {"xl/sharedStrings.xml": XXE.decode().encode("utf-16")})

    assert "not UTF-8" in _refused(data)


def test_formula_cells_are_refused_and_never_evaluated():
    data = sheet_bytes([row(Entity="Campaign", Operation="Create", Campaign_Id="C1", Daily_Budget="=10*10")])

    assert _refused(data) == "Cell P2 holds a formula. Formulas are not accepted: paste the values instead."


@pytest.mark.parametrize("name, body, message", [
    ("campaigns.csv", b"Product,Entity\n", "Upload an .xlsx file"),
    ("campaigns.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Upload an .xlsx file"),
    ("campaigns.xlsx", b"Product,Entity,Operation\n", "is not an Excel workbook"),
    ("campaigns.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "is not an Excel workbook"),
])
def test_wrong_file_types_are_refused(name, body, message):
    with pytest.raises(SheetRefused, match=message):
        check_name_and_size(name, len(body))
        check_workbook(io.BytesIO(body))


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<office:document-content/>")  # an OpenDocument sheet, say

    assert "not an Excel workbook" in _refused(buffer.getvalue())


def test_a_macro_workbook_is_refused():
    data = _rewrite(CREATE.read_bytes(), {}, add={"xl/vbaProject.bin": b"\0" * 64})

    assert "contains macros" in _refused(data)


def test_a_workbook_without_the_sponsored_products_sheet_is_refused():
    workbook = Workbook()
    workbook.active.title = "Sponsored Display Campaigns"
    buffer = io.BytesIO()
    workbook.save(buffer)

    assert _refused(buffer.getvalue()) == 'This workbook has no "Sponsored Products Campaigns" sheet.'


def test_a_file_over_the_size_limit_is_refused_before_it_is_queued(settings, advertiser, run_on_commit):
    settings.BULKSHEET_MAX_UPLOAD_BYTES = 1000

    with pytest.raises(SheetRefused, match="larger than"):
        start_import(advertiser, CREATE.read_bytes(), run_on_commit)


def test_a_sheet_over_the_row_limit_fails_its_job(settings, advertiser, run_on_commit):
    settings.BULKSHEET_MAX_ROWS = 3

    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit)

    assert (job.status, job.error) == ("failed", "More than 3 rows; split the file.")
