"""Fixtures and helpers for the bulk-sheet tests: the shared sample files, sheets built with
openpyxl, and jobs run through the services (Huey runs tasks immediately in tests)."""

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from campaigns.bulksheets.applier import plan_apply
from campaigns.bulksheets.columns import SP_SHEET
from campaigns.bulksheets.reader import read_sheet
from campaigns.bulksheets.services import bulk_sheet_import_create, sheet_plan
from campaigns.bulksheets.writer import write_export

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT.parent / "shared" / "samples"
DOWNLOAD = SAMPLES / "amazon-sp-download.xlsx"
CREATE = SAMPLES / "amazon-sp-create.xlsx"

# Amazon's 26-column create template (reference §4.2 a).
CREATE_HEADERS = [
    "Product", "Entity", "Operation", "Campaign Id", "Ad Group Id", "Portfolio Id", "Ad Id", "Keyword Id",
    "Product Targeting Id", "Campaign Name", "Ad Group Name", "Start Date", "End Date", "Targeting Type", "State",
    "Daily Budget", "sku", "asin", "Ad Group Default Bid", "Bid", "Keyword Text", "Match Type", "Bidding Strategy",
    "Placement", "Percentage", "Product Targeting Expression",
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a service queued with on_commit (the test transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def row(**cells) -> dict:
    """A create-template row: keyword arguments name the headers ("Campaign_Id" → "Campaign Id")."""
    return {"Product": "Sponsored Products", **{k.replace("_", " "): v for k, v in cells.items() if v is not None}}


def sheet_bytes(rows: list[dict], headers: list[str] = CREATE_HEADERS, *, sheet: str = SP_SHEET) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet
    ws.append(headers)
    for cells in rows:
        ws.append([cells.get(h) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_bytes(advertiser) -> bytes:
    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer)
    return buffer.getvalue()


def plan_of(advertiser, data: bytes, mode: str = "auto"):
    return sheet_plan(advertiser=advertiser, sheet=read_sheet(io.BytesIO(data)), mode=mode)


def apply_sheet(advertiser, data: bytes, mode: str = "auto", by=None):
    """Dry run then apply (all rows) in one transaction; returns the plan."""
    from django.db import transaction

    plan = plan_of(advertiser, data, mode)
    assert plan.error_rows == 0, plan.errors
    with transaction.atomic():
        plan_apply(plan=plan, advertiser=advertiser, by=by)
    return plan


def messages_of(plan) -> dict[int, list[str]]:
    return {number: [e.message for e in errors] for number, errors in plan.errors.items()}


def edit(data: bytes, change) -> bytes:
    """Open a workbook with openpyxl, let `change(sheet)` edit its SP tab, save it again."""
    workbook = load_workbook(io.BytesIO(data))
    change(workbook[SP_SHEET])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def start_import(advertiser, data: bytes, run_on_commit, *, by=None, mode="auto", filename="sheet.xlsx"):
    """An import job through the service, its dry run run by Huey (immediate in tests)."""
    with run_on_commit():
        job = bulk_sheet_import_create(advertiser=advertiser, fileobj=io.BytesIO(data), filename=filename, by=by, mode=mode)
    job.refresh_from_db()
    return job
