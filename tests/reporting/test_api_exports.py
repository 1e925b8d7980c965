"""Report exports: CSV and XLSX streamed, every row, formulas neutralised, tenancy kept."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from reporting.exports import neutralise
from reporting.models import DailyPerformance
from tests.campaigns.factories import CampaignFactory, LineItemFactory
from tests.reporting.factories import as_of, deliver

pytestmark = pytest.mark.django_db
URL = "/api/v1/reporting/report/export/"


def many_rows(advertiser, *, line_items: int, days: int):
    campaign = CampaignFactory(advertiser=advertiser, name="Bulk")
    items = LineItemFactory.create_batch(line_items, campaign=campaign)
    last = as_of(advertiser)
    DailyPerformance.objects.bulk_create(
        DailyPerformance(line_item=item, date=last - timedelta(days=d), impressions=100, clicks=3,
                         spend=Decimal("1.50"), sales=Decimal("4.50"))
        for item in items for d in range(days)
    )
    return last


def export(api, advertiser, **query):
    last = as_of(advertiser)
    return api.get(URL, {"start": (last - timedelta(days=89)).isoformat(), "end": last.isoformat(), **query})


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_a_large_csv_export_is_streamed_in_chunks_with_every_row(api_for, viewer, advertiser):
    many_rows(advertiser, line_items=100, days=60)  # 6,000 groups
    response = export(api_for(viewer), advertiser, group_by="line_item,day", file_format="csv")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="report-line_item-day-')
    chunks = list(response.streaming_content)
    assert len(chunks) > 5  # sent as it is read, not built whole first
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert rows[0][:4] == ["line_item_id", "line_item_name", "date", "currency"]
    assert len(rows) == 1 + 6_000
    assert {r[rows[0].index("spend")] for r in rows[1:]} == {"1.50"}
    assert {r[rows[0].index("roas")] for r in rows[1:]} == {"3.0000"}


def test_an_xlsx_export_has_numbers_as_numbers_and_every_row(api_for, viewer, advertiser):
    from openpyxl import load_workbook

    many_rows(advertiser, line_items=30, days=40)
    response = export(api_for(viewer), advertiser, group_by="line_item,day", file_format="xlsx")
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 1 + 1_200
    assert rows[1][header.index("spend")] == 1.5 and rows[1][header.index("impressions")] == 100


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1"])
def test_formula_like_names_are_neutralised_in_both_formats(api_for, viewer, advertiser, name):
    from openpyxl import load_workbook

    deliver(LineItemFactory(campaign__advertiser=advertiser, campaign__name=name), days=1)
    api = api_for(viewer)
    rows = csv_rows(export(api, advertiser, group_by="campaign", file_format="csv"))
    assert rows[1][1] == "'" + name
    workbook = load_workbook(io.BytesIO(b"".join(export(api, advertiser, group_by="campaign", file_format="xlsx").streaming_content)))
    cell = workbook.active.cell(row=2, column=2)
    assert cell.value == "'" + name and cell.data_type == "s"


def test_numbers_and_plain_text_are_left_alone():
    assert neutralise(-5) == -5
    assert neutralise(Decimal("-1.50")) == Decimal("-1.50")
    assert neutralise("Summer sale") == "Summer sale"
    assert neutralise("") == ""


def test_an_export_never_contains_another_advertisers_rows(api_for, viewer, advertiser, other_advertiser):
    deliver(LineItemFactory(campaign__advertiser=advertiser, campaign__name="Ours"), days=2)
    deliver(LineItemFactory(campaign__advertiser=other_advertiser, campaign__name="Theirs"), days=2)
    rows = csv_rows(export(api_for(viewer), advertiser, group_by="campaign", file_format="csv"))
    assert [r[1] for r in rows[1:]] == ["Ours"]


def test_exporting_another_advertisers_campaign_is_not_found(api_for, viewer, advertiser, other_advertiser):
    theirs = CampaignFactory(advertiser=other_advertiser)
    assert export(api_for(viewer), advertiser, group_by="day", campaign=theirs.pk).status_code == 404


def test_an_unknown_file_format_is_refused(api_for, viewer, advertiser):
    response = export(api_for(viewer), advertiser, group_by="day", file_format="pdf")
    assert response.status_code == 400 and "file_format" in response.json()


def test_an_empty_export_still_has_its_header(api_for, viewer, advertiser):
    rows = csv_rows(export(api_for(viewer), advertiser, group_by="week", file_format="csv"))
    assert rows == [["week", "currency", "impressions", "clicks", "conversions", "spend", "sales",
                     "viewable_impressions", "measurable_impressions", "video_starts", "video_completions", "ctr", "cpc",
                     "cpm", "cpa", "roas", "acos", "viewability_rate", "video_completion_rate"]]
