"""The "Sponsored Products Campaigns" tab of a checked workbook, as SheetRows.

python-calamine reads (a Rust parser, several times faster than openpyxl's read-only mode); it
only ever sees a workbook that campaigns.bulksheets.safety has let through. Cells keep the types
the file gave them (text, numbers, dates); the validator decides what they mean.
"""

from dataclasses import dataclass, field
from operator import itemgetter

from backend.gc_pause import cyclic_gc_paused

from campaigns.bulksheets.columns import COLUMN, CONFIG_SHEET, READ_FIELDS, SP_SHEET, fold, header_field
from campaigns.bulksheets.safety import SheetRefused, check_workbook, max_rows

ID_SPACE_OURS = "adops"  # our exports say so in their Config tab: their ids are our primary keys
ID_SPACE_AMAZON = "amazon"


class SheetRow:
    """One non-blank row: its number in the spreadsheet (the header is row 1) and its cells."""

    __slots__ = ("number", "cells")

    def __init__(self, number: int, cells: dict):
        self.number = number
        self.cells = cells

    def __repr__(self) -> str:
        return f"SheetRow({self.number}, {self.cells!r})"


@dataclass
class Sheet:
    rows: list[SheetRow]
    header: list[str]
    id_space: str = ID_SPACE_AMAZON
    exported_for: int | None = None  # the advertiser our export was made for
    ignored_columns: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)  # the columns the sheet has, by field name

    @property
    def has_operations(self) -> bool:
        return any("operation" in row.cells for row in self.rows)


def _config(workbook) -> dict[str, str]:
    names = {fold(n): n for n in workbook.sheet_names}
    if fold(CONFIG_SHEET) not in names:
        return {}
    values = {}
    for row in workbook.get_sheet_by_name(names[fold(CONFIG_SHEET)]).iter_rows():
        if len(row) >= 2 and row[0] not in ("", None):
            values[str(row[0]).strip().casefold()] = str(row[1]).strip()
        if len(values) > 50:
            break
    return values


def _columns(header: list) -> tuple[list[tuple[int, str]], list[str]]:
    mapping, ignored, seen = [], [], {}
    for index, cell in enumerate(header):
        if cell in ("", None):
            continue
        known, name = header_field(cell)
        if not known:
            ignored.append(str(cell).strip())
            continue
        if name is None or name not in READ_FIELDS:
            continue
        if name in seen:
            raise SheetRefused(f'Column "{COLUMN.get(name, name)}" appears twice (as "{seen[name]}" and "{cell}").')
        seen[name] = str(cell).strip()
        mapping.append((index, name))
    for required in ("entity", "operation"):
        if required not in seen:
            raise SheetRefused(f'The "{SP_SHEET}" sheet has no "{COLUMN[required]}" column.')
    return mapping, ignored


def read_sheet(handle, *, checked: bool = False) -> Sheet:
    """Rows of the Sponsored Products tab of the workbook in `handle` (a seekable binary file).

    Raises SheetRefused for a file refused as a whole (see safety), a missing tab or column,
    or more rows than BULKSHEET_MAX_ROWS.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    if not checked:
        check_workbook(handle)
    try:
        workbook = CalamineWorkbook.from_filelike(handle)
    except (CalamineError, ValueError, OSError) as exc:
        raise SheetRefused(f"This .xlsx file could not be read ({type(exc).__name__}).") from None
    try:
        names = {fold(n): n for n in workbook.sheet_names}
        if fold(SP_SHEET) not in names:
            raise SheetRefused(f'This workbook has no "{SP_SHEET}" sheet.')
        sheet = workbook.get_sheet_by_name(names[fold(SP_SHEET)])
        first_row = (sheet.start or (0, 0))[0] + 1
        config = _config(workbook)
        rows = sheet.iter_rows()
        header, number = None, first_row
        for number, values in enumerate(rows, start=first_row):
            if any(v not in ("", None) for v in values):
                header = list(values)
                break
        if header is None:
            raise SheetRefused(f'The "{SP_SHEET}" sheet is empty.')
        mapping, ignored = _columns(header)
        limit = max_rows()
        out: list[SheetRow] = []
        append = out.append
        names = [name for _, name in mapping]
        width = max(index for index, _ in mapping) + 1
        pick = itemgetter(*[index for index, _ in mapping])
        padding = [""] * width
        with cyclic_gc_paused():  # a row object per line, none in a cycle (backend/gc_pause.py)
            for number, values in enumerate(rows, start=number + 1):
                if len(values) < width:
                    values = list(values) + padding[len(values):]
                # itemgetter picks the read columns in C; only non-empty cells become the row's
                # dict. Text is trimmed (and our exports' apostrophe removed) where the validator reads it.
                cells = {name: value for name, value in zip(names, pick(values)) if value != "" and value is not None}
                if cells:
                    if len(out) >= limit:
                        raise SheetRefused(f"More than {limit:,} rows; split the file.")
                    append(SheetRow(number, cells))
    except (CalamineError, ValueError) as exc:
        if isinstance(exc, SheetRefused):
            raise
        raise SheetRefused(f"This .xlsx file could not be read ({type(exc).__name__}: {exc}).") from None
    finally:
        workbook.close()
    ours = config.get("id_space") == ID_SPACE_OURS
    exported_for = config.get("advertiser")
    return Sheet(
        rows=out,
        header=[("" if h is None else str(h)) for h in header],
        id_space=ID_SPACE_OURS if ours else ID_SPACE_AMAZON,
        exported_for=int(exported_for) if ours and exported_for and exported_for.isdigit() else None,
        ignored_columns=ignored,
        fields={name for _, name in mapping},
    )


def raw_rows(handle, numbers: set[int]) -> tuple[list, dict[int, list]]:
    """The header and the raw cells of the rows numbered `numbers` (for the error workbook)."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(handle)
    try:
        names = {fold(n): n for n in workbook.sheet_names}
        sheet = workbook.get_sheet_by_name(names[fold(SP_SHEET)])
        first_row = (sheet.start or (0, 0))[0] + 1
        header, found = None, {}
        for number, values in enumerate(sheet.iter_rows(), start=first_row):
            if header is None:
                if any(v not in ("", None) for v in values):
                    header = list(values)
                continue
            if number in numbers:
                found[number] = list(values)
        return header or [], found
    finally:
        workbook.close()
