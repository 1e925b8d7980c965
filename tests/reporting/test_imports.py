"""Performance imports: valid files upsert idempotently; anything invalid is refused whole.

Uploads run as jobs (reporting.imports): the API answers 202 with the job, Huey (immediate in
tests) runs it once the request's transaction commits, and the job tells the outcome."""

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reporting.models import DailyPerformance, PerformanceImport
from reporting.services import ImportRefused, performance_upsert
from reporting.uploads import UploadRefused, read_upload_file
from tests.campaigns.factories import AdvertiserFactory, LineItemFactory
from tests.reporting.factories import as_of
from tests.reporting.helpers import csv_file, lying_xlsx, xlsx_bytes, xlsx_file, zip_bomb

pytestmark = pytest.mark.django_db
URL = "/api/v1/reporting/imports/"


@pytest.fixture
def line_item(advertiser):
    return LineItemFactory(campaign__advertiser=advertiser)


def row(line_item, day=None, **overrides):
    values = {
        "date": (day or as_of(line_item.campaign.advertiser)).isoformat(), "line_item_id": line_item.pk,
        "impressions": 1000, "clicks": 10, "conversions": 1, "spend": "12.34", "sales": "50.00",
        "viewable_impressions": 600, "measurable_impressions": 800, "video_starts": 0, "video_completions": 0,
    }
    values.update(overrides)
    return values


def refused(rows, **kwargs) -> dict:
    with pytest.raises(ImportRefused) as caught:
        performance_upsert(rows=rows, **kwargs)
    assert DailyPerformance.objects.count() == 0
    return {column: messages for failure in caught.value.errors for column, messages in failure["errors"].items()}


@pytest.fixture
def upload(api_for, django_capture_on_commit_callbacks):
    """upload(user, file) → (the POST's response, the job as the API shows it afterwards)."""

    def send(user, file):
        client = api_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, {"file": file}, format="multipart")
        if response.status_code != 202:
            return response, None
        job = client.get(f"{URL}{response.json()['id']}/")
        assert job.status_code == 200
        return response, job.json()

    return send


# --- the service ---------------------------------------------------------------------------


def test_it_creates_rows_then_reports_the_same_rows_unchanged(line_item):
    rows = [row(line_item), row(line_item, as_of(line_item.campaign.advertiser) - timedelta(days=1))]
    first = performance_upsert(rows=rows)
    again = performance_upsert(rows=rows)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert DailyPerformance.objects.count() == 2


def test_a_corrected_day_replaces_the_stored_one(line_item):
    performance_upsert(rows=[row(line_item)])
    result = performance_upsert(rows=[row(line_item, spend="20.00", clicks=12)])
    assert (result.created, result.updated) == (0, 1)
    stored = DailyPerformance.objects.get()
    assert (stored.spend, stored.clicks) == (Decimal("20.00"), 12)


def test_sub_cent_amounts_are_rounded_half_up_once_to_the_currency_unit(line_item):
    performance_upsert(rows=[row(line_item, spend="0.005", sales="0.0049999999999")])
    stored = DailyPerformance.objects.get()
    assert (stored.spend, stored.sales) == (Decimal("0.01"), Decimal("0.00"))


def test_yen_amounts_are_whole_yen():
    yen = LineItemFactory(campaign__advertiser=AdvertiserFactory(currency="JPY", country="JP", timezone="Asia/Tokyo"),
                          default_bid=Decimal("10"), budget=Decimal("100000"),
                          campaign__daily_budget=Decimal("1000"), campaign__total_budget=Decimal("100000"))
    performance_upsert(rows=[row(yen, spend="1234.5")])
    assert DailyPerformance.objects.get().spend == Decimal("1235")


def test_optional_counters_default_to_zero(line_item):
    performance_upsert(rows=[{"date": as_of(line_item.campaign.advertiser), "line_item_id": line_item.pk,
                              "impressions": 5, "clicks": 1, "spend": "1.00"}])
    stored = DailyPerformance.objects.get()
    assert (stored.conversions, stored.sales, stored.video_starts) == (0, Decimal("0.00"), 0)


@pytest.mark.parametrize("value", ["2024-13-01", "2024-02-30", "01/05/2024", "yesterday", "2024-5-1"])
def test_it_refuses_dates_that_are_not_real_iso_dates(line_item, value):
    assert "date" in refused([row(line_item, date=value)])


def test_it_refuses_a_date_in_the_advertisers_future(line_item):
    tomorrow = as_of(line_item.campaign.advertiser) + timedelta(days=2)
    assert "is in the future" in refused([row(line_item, date=tomorrow.isoformat())])["date"][0]


def test_it_accepts_amazons_compact_dates(line_item):
    day = as_of(line_item.campaign.advertiser)
    performance_upsert(rows=[row(line_item, date=day.strftime("%Y%m%d"))])
    assert DailyPerformance.objects.get().date == day


@pytest.mark.parametrize("column,value", [("clicks", -1), ("spend", "-0.01"), ("impressions", "-5"), ("sales", -3)])
def test_it_refuses_negative_numbers(line_item, column, value):
    assert refused([row(line_item, **{column: value})])[column] == ["Cannot be negative."]


@pytest.mark.parametrize("value", ["NaN", "nan", float("nan"), "Infinity", float("inf"), "-inf", "sNaN"])
def test_it_refuses_nan_and_infinity(line_item, value):
    messages = refused([row(line_item, spend=value, clicks=value)])
    assert "finite" in messages["spend"][0] and "finite" in messages["clicks"][0]


@pytest.mark.parametrize("column,value", [
    ("clicks", "ten"), ("clicks", True), ("clicks", 1.5), ("clicks", [1]), ("spend", "12,50"),
    ("spend", {"amount": 1}), ("spend", False), ("line_item_id", "abc"), ("date", 3.5),
])
def test_it_refuses_values_of_the_wrong_type(line_item, column, value):
    assert column in refused([row(line_item, **{column: value})])


def test_it_refuses_formulas_instead_of_values(line_item):
    assert "Formulas" in refused([row(line_item, spend="=1+1")])["spend"][0]


def test_it_refuses_an_unknown_line_item(line_item):
    assert refused([row(line_item, line_item_id=line_item.pk + 1000)])["line_item_id"] == [
        f"Line item {line_item.pk + 1000} does not exist."
    ]


def test_another_advertisers_line_item_is_refused_exactly_like_a_missing_one(line_item, other_advertiser, trader):
    from campaigns.models import LineItem

    theirs = LineItemFactory(campaign__advertiser=other_advertiser)
    messages = refused([row(theirs)], line_items=LineItem.objects.visible_to(trader), visible=LineItem.objects.visible_to(trader))
    assert messages["line_item_id"] == [f"Line item {theirs.pk} does not exist."]


def test_a_missing_required_value_is_refused(line_item):
    assert refused([row(line_item, spend="")])["spend"] == ["This value is required."]


def test_impossible_combinations_are_refused(line_item):
    messages = refused([row(line_item, viewable_impressions=900, measurable_impressions=800, video_starts=5, video_completions=6)])
    assert set(messages) == {"viewable_impressions", "video_completions"}


def test_the_same_day_twice_in_one_import_is_refused(line_item):
    messages = refused([row(line_item), row(line_item, spend="1.00")])
    assert "already in row 1" in messages["non_field_errors"][0]


def test_one_bad_row_refuses_the_whole_import(line_item):
    good = [row(line_item, as_of(line_item.campaign.advertiser) - timedelta(days=n)) for n in range(1, 50)]
    with pytest.raises(ImportRefused) as caught:
        performance_upsert(rows=[*good, row(line_item, clicks=-1)])
    assert [f["row"] for f in caught.value.errors] == [50]
    assert DailyPerformance.objects.count() == 0


# --- files ---------------------------------------------------------------------------------


def read_file(upload):
    return read_upload_file(upload, upload.name)


def test_a_csv_file_is_read_with_its_spreadsheet_row_numbers(line_item):
    parsed = read_file(csv_file([[as_of(line_item.campaign.advertiser), line_item.pk, 1, 0, 0, "1", "0", 0, 0, 0, 0]]))
    assert parsed.row_numbers == [2]
    assert parsed.rows[0]["line_item_id"] == str(line_item.pk)


def test_headers_match_case_insensitively_with_amazon_aliases(line_item):
    header = ["Date", "Line Item ID", "Impressions", "Click-throughs", "Total cost", "Purchases"]
    parsed = read_file(csv_file([["2024-05-01", line_item.pk, 10, 1, "2.50", 0]], header=header))
    assert set(parsed.rows[0]) == {"date", "line_item_id", "impressions", "clicks", "spend", "conversions"}


def test_semicolon_separated_csv_is_read(line_item):
    parsed = read_file(csv_file([["2024-05-01", line_item.pk, 10, 1, 0, "2,5", 0, 0, 0, 0, 0]], delimiter=";"))
    assert parsed.rows[0]["spend"] == "2,5"  # read as text, then refused as an amount by the service


def test_an_xlsx_file_imports_and_keeps_numbers_and_dates(line_item, upload, trader):
    day = as_of(line_item.campaign.advertiser)
    file = xlsx_file([[day, line_item.pk, 1000, 10, 1, 12.34, 50, 600, 800, 0, 0]])
    response, job = upload(trader, file)
    assert response.status_code == 202, response.json()
    assert job["status"] == "succeeded", job
    stored = DailyPerformance.objects.get()
    assert (stored.date, stored.spend, stored.impressions) == (day, Decimal("12.34"), 1000)


def test_an_xlsx_formula_is_never_evaluated_and_refuses_the_file(line_item, upload, trader):
    file = xlsx_file([[as_of(line_item.campaign.advertiser), line_item.pk, 1000, 10, 1, "=5*2", 0, 0, 0, 0, 0]])
    _, job = upload(trader, file)
    assert job["status"] == "failed"
    assert "Cell F2 holds a formula" in job["error"]
    assert DailyPerformance.objects.count() == 0


@pytest.mark.parametrize("file,message", [
    (SimpleUploadedFile("report.txt", b"date,line_item_id\n"), "Upload a .csv or .xlsx file."),
    (SimpleUploadedFile("report.pdf", b"%PDF-1.7"), "Upload a .csv or .xlsx file."),
    (SimpleUploadedFile("report.csv", xlsx_bytes([])), "not a text CSV"),
    (SimpleUploadedFile("report.csv", b"date,spend\x00\x01"), "not a text CSV"),
    (SimpleUploadedFile("report.xlsx", b"date,line_item_id\n2024-01-01,1\n"), "not an Excel workbook"),
])
def test_it_refuses_files_of_the_wrong_type_at_upload(file, message, upload, trader):
    response, _ = upload(trader, file)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not PerformanceImport.objects.exists() and DailyPerformance.objects.count() == 0


@pytest.mark.parametrize("file,message", [
    (SimpleUploadedFile("report.csv", "date;dépense".encode("latin-1")), "UTF-8"),
    (SimpleUploadedFile("report.xlsx", b"PK\x03\x04 not really a zip"), "damaged"),
])
def test_files_whose_content_is_wrong_fail_their_job(file, message, upload, trader, line_item):
    response, job = upload(trader, file)
    assert response.status_code == 202
    assert job["status"] == "failed" and message in job["error"], job
    assert DailyPerformance.objects.count() == 0


def test_it_refuses_an_oversize_file(settings, line_item, upload, trader):
    settings.REPORTING_UPLOAD_MAX_BYTES = 1024
    rows = [[as_of(line_item.campaign.advertiser) - timedelta(days=n), line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0] for n in range(100)]
    response, _ = upload(trader, csv_file(rows))
    assert response.status_code == 400
    assert "larger than" in response.json()["file"][0]
    assert DailyPerformance.objects.count() == 0


def test_it_refuses_a_zip_bomb_before_unpacking_it(upload, trader):
    _, job = upload(trader, zip_bomb())
    assert job["status"] == "failed" and "100:1" in job["error"]


def test_it_refuses_a_zip_whose_directory_lies_about_an_entrys_size(line_item, upload, trader):
    """The directory claims the sheet unpacks to 100 bytes (so the ratio checks pass); the guard
    inflates it and does not trust the claim (openpyxl would have trusted it)."""
    data = lying_xlsx(xlsx_bytes([[as_of(line_item.campaign.advertiser), line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0]]),
                      "xl/worksheets/sheet1.xml", claimed_size=100)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size == 100
    _, job = upload(trader, SimpleUploadedFile("report.xlsx", data))
    assert job["status"] == "failed" and "damaged" in job["error"], job
    assert DailyPerformance.objects.count() == 0


def test_it_refuses_too_many_rows(settings, line_item):
    settings.REPORTING_UPLOAD_MAX_ROWS = 3
    rows = [["2024-01-0%d" % n, line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0] for n in range(1, 6)]
    with pytest.raises(UploadRefused, match="More than 3 rows"):
        read_file(csv_file(rows))


@pytest.mark.parametrize("header,message", [
    (["date", "line_item_id", "impressions", "clicks", "spend", "impresions"], "Unknown column(s): impresions"),
    (["date", "line_item_id", "impressions", "clicks"], "Missing column(s): spend"),
    (["date", "date", "line_item_id", "impressions", "clicks", "spend"], "appears twice"),
])
def test_it_refuses_headers_it_does_not_understand(header, message):
    with pytest.raises(UploadRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_file(csv_file([["x"] * len(header)], header=header))


def test_an_empty_file_is_refused():
    with pytest.raises(UploadRefused, match="empty"):
        read_file(SimpleUploadedFile("empty.csv", b"\n\n"))


# --- the endpoint --------------------------------------------------------------------------


def test_an_upload_reports_its_counts_and_a_repeat_changes_nothing(line_item, upload, trader):
    rows = [[as_of(line_item.campaign.advertiser) - timedelta(days=n), line_item.pk, 1000, 10, 1, "5.00", "20.00", 600, 800, 0, 0] for n in range(3)]
    first, first_job = upload(trader, csv_file(rows))
    again, again_job = upload(trader, csv_file(rows))
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == "queued"  # the answer comes before the worker runs it
    assert (first_job["status"], first_job["counts"]) == ("succeeded", {"rows": 3, "created": 3, "updated": 0, "unchanged": 0})
    assert (again_job["status"], again_job["counts"]) == ("succeeded", {"rows": 3, "created": 0, "updated": 0, "unchanged": 3})
    assert first_job["progress"] == {"done": 3, "total": 3, "percent": 100}


def test_row_errors_come_back_with_the_spreadsheet_row_and_column(line_item, upload, trader):
    day = as_of(line_item.campaign.advertiser)
    rows = [[day, line_item.pk, 10, 1, 0, "1", 0, 0, 0, 0, 0], [day - timedelta(days=1), line_item.pk, 10, 1, 0, "NaN", 0, 0, 0, 0, 0]]
    _, job = upload(trader, csv_file(rows))
    assert (job["status"], job["error_count"], job["counts"]) == ("failed", 1, {"rows": 2})
    assert job["errors"] == [{"row": 3, "errors": {"spend": ["Expected a finite amount (NaN and infinity are refused)."]}}]
    assert "1 row(s) have errors" in job["error"]
    assert DailyPerformance.objects.count() == 0  # the valid row is not written either


def test_a_viewer_cannot_import(line_item, upload, viewer):
    response, _ = upload(viewer, csv_file([[as_of(line_item.campaign.advertiser), line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0]]))
    assert response.status_code == 403
    assert not PerformanceImport.objects.exists()


def test_a_viewer_on_one_advertiser_is_told_the_role_is_missing_there(line_item, upload, make_member, other_advertiser):
    user = make_member(line_item.campaign.advertiser, "viewer")
    from campaigns.models import Membership

    Membership.objects.create(user=user, advertiser=other_advertiser, role="trader")
    _, job = upload(user, csv_file([[as_of(line_item.campaign.advertiser), line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0]]))
    assert job["status"] == "failed"
    assert "trader role" in job["errors"][0]["errors"]["line_item_id"][0]


def test_anonymous_uploads_are_refused(anon_api):
    assert anon_api.post(URL, {}, format="multipart").status_code == 401
    assert anon_api.get(URL).status_code == 401


def test_a_request_without_a_file_is_refused(api_for, trader):
    response = api_for(trader).post(URL, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_each_user_sees_only_their_own_uploads(line_item, upload, trader, make_member, api_for, superuser):
    _, job = upload(trader, csv_file([[as_of(line_item.campaign.advertiser), line_item.pk, 1, 0, 0, "1", 0, 0, 0, 0, 0]]))
    colleague = make_member(line_item.campaign.advertiser, "trader")
    assert api_for(colleague).get(f"{URL}{job['id']}/").status_code == 404
    assert api_for(colleague).get(URL).json()["count"] == 0
    assert [j["id"] for j in api_for(trader).get(URL).json()["results"]] == [job["id"]]
    assert api_for(superuser).get(f"{URL}{job['id']}/").status_code == 200


def test_the_amazon_sync_writes_through_the_same_service_and_is_labelled(line_item):
    from reporting.choices import PerformanceSource

    performance_upsert(rows=[row(line_item)], source=PerformanceSource.AMAZON)
    assert DailyPerformance.objects.get().source == "amazon"
