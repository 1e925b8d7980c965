"""The performance columns of an export (Impressions … ROAS): campaign and ad group rows carry
their delivery over the chosen days, summed and divided by the database in exact decimals, blank
where there is nothing to show; numbers only (nothing to neutralise); ignored on import."""

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from campaigns.bulksheets.columns import DOWNLOAD_HEADERS, SP_SHEET
from campaigns.bulksheets.metrics import METRIC_HEADERS, MetricsRange
from campaigns.bulksheets.services import bulk_sheet_export_create
from campaigns.bulksheets.writer import export_rows, write_export
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory
from tests.reporting.factories import DailyPerformanceFactory, as_of

from .conftest import edit, plan_of

pytestmark = pytest.mark.django_db

AMAZON_METRICS = ("Impressions", "Clicks", "Click-through Rate", "Spend", "Sales", "Orders", "Units",
                  "Conversion Rate", "ACOS", "CPC", "ROAS")


@pytest.fixture
def delivered(advertiser):
    """A campaign with two delivering ad groups (one keyword each) and one silent ad group, a
    second campaign without delivery, and days inside and outside the range."""
    last = as_of(advertiser)
    campaign = CampaignFactory(advertiser=advertiser, name="Trail")
    first, second, silent = (LineItemFactory(campaign=campaign, name=n) for n in ("First", "Second", "Silent"))
    KeywordFactory(line_item=first, text="trail shoe")
    idle = CampaignFactory(advertiser=advertiser, name="Idle")
    figures = dict(impressions=1000, clicks=30, conversions=3, measurable_impressions=0, viewable_impressions=0)
    DailyPerformanceFactory(line_item=first, date=last, spend=Decimal("0.10"), sales=Decimal("0.40"), **figures)
    DailyPerformanceFactory(line_item=first, date=last - timedelta(days=1), spend=Decimal("0.26"),
                            sales=Decimal("0.80"), **figures)
    DailyPerformanceFactory(line_item=first, date=last - timedelta(days=30), spend=Decimal("999.00"),  # outside
                            sales=Decimal("1.00"), **figures)
    DailyPerformanceFactory(line_item=second, date=last, impressions=0, clicks=0, conversions=0, spend=Decimal("0.00"),
                            sales=Decimal("0.00"), measurable_impressions=0, viewable_impressions=0)
    span = MetricsRange(last - timedelta(days=6), last)
    return campaign, first, second, silent, idle, span


def _rows(advertiser, span):
    return [dict(zip(DOWNLOAD_HEADERS, cells)) for cells in export_rows(advertiser, span)]


def _metrics(row) -> tuple:
    return tuple(row[h] for h in AMAZON_METRICS)


def test_the_performance_columns_are_amazons_eleven_in_amazons_order():
    assert METRIC_HEADERS == AMAZON_METRICS
    assert DOWNLOAD_HEADERS[-11:] == list(AMAZON_METRICS)


def test_campaign_and_ad_group_rows_carry_their_delivery_over_the_range(advertiser, delivered):
    campaign, first, second, silent, idle, span = delivered
    rows = {(r["Entity"], r["Ad Group Name"] or r["Campaign Name"] or r["Keyword Text"]): r
            for r in _rows(advertiser, span)}

    # 2 days in the range; the day 30 days back is not counted. CTR 60/2000, conversion rate 6/60,
    # ACOS 0.36/1.20, CPC 0.36/60 = 0.006, ROAS 1.20/0.36 = 3.333…
    assert _metrics(rows[("Ad Group", "First")]) == (
        2000, 60, Decimal("0.0300"), Decimal("0.36"), Decimal("1.20"), 6, None, Decimal("0.1000"), Decimal("0.3000"),
        Decimal("0.01"), Decimal("3.33"))
    # The campaign sums its ad groups (the second delivered nothing, on one day).
    assert _metrics(rows[("Campaign", "Trail")]) == _metrics(rows[("Ad Group", "First")])
    # Delivery rows of zeros: the sums are 0, and every ratio over 0 is blank, not 0.
    assert _metrics(rows[("Ad Group", "Second")]) == (0, 0, None, Decimal("0.00"), Decimal("0.00"), 0, None, None,
                                                      None, None, None)
    # No delivery at all in the range, and rows below an ad group: blank.
    assert set(_metrics(rows[("Ad Group", "Silent")])) == {None}
    assert set(_metrics(rows[("Campaign", "Idle")])) == {None}
    assert set(_metrics(rows[("Keyword", "trail shoe")])) == {None}


def test_the_figures_are_exact_decimals_not_floats(advertiser, delivered):
    *_, span = delivered
    row = next(r for r in _rows(advertiser, span) if r["Entity"] == "Campaign" and r["Campaign Name"] == "Trail")
    assert all(isinstance(row[h], Decimal) for h in ("Spend", "Sales", "Click-through Rate", "ACOS", "CPC", "ROAS"))
    assert str(row["Spend"]) == "0.36" and str(row["Click-through Rate"]) == "0.0300"


def test_without_a_range_the_performance_columns_stay_blank(advertiser, delivered):
    rows = [dict(zip(DOWNLOAD_HEADERS, cells)) for cells in export_rows(advertiser)]
    assert {v for r in rows for v in _metrics(r)} == {None}


def test_the_workbook_holds_them_as_plain_numbers_never_text_or_formulas(advertiser, delivered):
    *_, span = delivered
    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer, metrics=span)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    trail = next(r for r in workbook[SP_SHEET].iter_rows(min_row=2) if r[1].value == "Campaign" and r[9].value == "Trail")
    cells = trail[-11:]
    assert [c.data_type for c in cells if c.value is not None] == ["n"] * 10  # Units is blank
    assert (cells[0].value, cells[3].value, cells[10].value) == (2000, 0.36, 3.33)
    config = dict(workbook["Config"].iter_rows(values_only=True))
    assert (config["performance_from"], config["performance_to"]) == (span.start.strftime("%Y%m%d"), span.end.strftime("%Y%m%d"))
    sheet_xml = zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read("xl/worksheets/sheet2.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml


def test_an_import_ignores_the_performance_columns_and_the_round_trip_is_exact(advertiser, delivered):
    *_, span = delivered
    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer, metrics=span)
    unchanged = plan_of(advertiser, buffer.getvalue()).counts()
    assert (unchanged["unchanged"], unchanged["errors"], unchanged["update"]) == (unchanged["rows"], 0, 0)

    def scribble(sheet):  # edited figures and text where numbers were: none of it is read
        for row in sheet.iter_rows(min_row=2):
            row[-11].value, row[-8].value, row[-1].value = 123456, "-12%", "n/a"

    edited = plan_of(advertiser, edit(buffer.getvalue(), scribble)).counts()
    assert (edited["unchanged"], edited["errors"], edited["update"]) == (unchanged["rows"], 0, 0)


def test_the_export_job_carries_the_range(advertiser, delivered, run_on_commit):
    *_, span = delivered
    with run_on_commit():
        job = bulk_sheet_export_create(advertiser=advertiser, metrics_start=span.start, metrics_end=span.end)
    job.refresh_from_db()
    sheet = load_workbook(io.BytesIO(job.file.read()))[SP_SHEET]
    trail = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1] == "Campaign" and r[9] == "Trail")
    assert (job.status, trail[-11]) == ("succeeded", 2000)


@pytest.mark.parametrize("start,end,message", [
    (0, None, "both"), (None, 0, "both"), (0, -1, "cannot be before"), (-366, 0, "at most 366 days"),
])
def test_a_bad_range_is_refused_and_nothing_is_queued(advertiser, start, end, message):
    from campaigns.bulksheets.models import BulkSheetJob

    today = as_of(advertiser)
    day = (lambda offset: None if offset is None else today + timedelta(days=offset))
    with pytest.raises(ValueError, match=message):
        bulk_sheet_export_create(advertiser=advertiser, metrics_start=day(start), metrics_end=day(end), enqueue=False)
    assert not BulkSheetJob.objects.exists()


def test_the_figures_cost_two_queries_whatever_the_size_of_the_tree(advertiser):
    last = as_of(advertiser)
    span = MetricsRange(last - timedelta(days=6), last)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            list(export_rows(advertiser, span))
        return len(captured)

    def grow(n):
        for _ in range(n):
            DailyPerformanceFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)), date=last)

    grow(1)
    small = queries()
    grow(5)
    assert queries() == small
    with CaptureQueriesContext(connection) as captured:
        list(export_rows(advertiser))
    assert small - len(captured) == 2
