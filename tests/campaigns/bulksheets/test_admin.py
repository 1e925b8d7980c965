"""The console: upload, watch the progress, read the dry run, confirm, download; scoped."""

import io
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
import pytest
from openpyxl import load_workbook

from campaigns.bulksheets.models import BulkSheetJob
from campaigns.models import Campaign

from .conftest import CREATE, row, sheet_bytes, start_import


def _login(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def _upload(client, advertiser, data: bytes, name="sheet.xlsx"):
    return client.post(reverse("admin:campaigns_bulksheetjob_add"), {
        "advertiser": advertiser.pk, "kind": "import", "mode": "auto", "upload": SimpleUploadedFile(name, data),
    })


def test_a_trader_uploads_reads_the_dry_run_and_confirms(client, trader, advertiser, django_capture_on_commit_callbacks):
    console = _login(client, trader)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(console, advertiser, CREATE.read_bytes())
    job = BulkSheetJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:campaigns_bulksheetjob_change", args=[job.pk])

    page = console.get(response["Location"]).content.decode()
    assert '<progress value="100" max="100"' in page
    assert "Winter Boots Launch" in page and "Apply all rows" in page and "Apply only the valid rows" in page
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = console.post(reverse("admin:campaigns_bulksheetjob_confirm", args=[job.pk]), {"apply_mode": "all"})

    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert job.status == "succeeded" and Campaign.objects.filter(advertiser=advertiser).count() == 1
    listed = console.get(reverse("admin:campaigns_bulksheetjob_changelist")).content.decode()
    assert "9 create" in listed and "9 written" in listed


def test_a_refused_upload_is_a_form_error(client, trader, advertiser):
    response = _upload(_login(client, trader), advertiser, b"Product,Entity\n", name="sheet.csv")

    assert response.status_code == 200 and "Upload an .xlsx file" in response.content.decode()
    assert not BulkSheetJob.objects.exists()


def test_the_error_workbook_is_downloaded_from_the_job_page(client, trader, advertiser, run_on_commit):
    job = start_import(advertiser, sheet_bytes([row(Entity="Keyword", Operation="Create", Campaign_Id="X")]), run_on_commit)
    console = _login(client, trader)

    page = console.get(reverse("admin:campaigns_bulksheetjob_change", args=[job.pk])).content.decode()
    assert "The error workbook" in page and "Apply all rows" not in page
    download = console.get(reverse("admin:campaigns_bulksheetjob_file", args=[job.pk, "errors"]))
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert workbook["Upload Processing Summary"]["D2"].value == 'Missing value for column: "Ad Group ID"'


def test_another_advertisers_jobs_are_invisible(client, trader, other_advertiser, run_on_commit):
    theirs = start_import(other_advertiser, CREATE.read_bytes(), run_on_commit)
    console = _login(client, trader)

    assert console.get(reverse("admin:campaigns_bulksheetjob_changelist")).context["cl"].result_count == 0
    assert console.get(reverse("admin:campaigns_bulksheetjob_file", args=[theirs.pk, "download"])).status_code == 404
    assert console.post(reverse("admin:campaigns_bulksheetjob_confirm", args=[theirs.pk]), {"apply_mode": "all"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "awaiting_confirmation"


def test_a_viewer_may_export_but_not_import(client, viewer, advertiser, django_capture_on_commit_callbacks):
    console = _login(client, viewer)

    refused = _upload(console, advertiser, CREATE.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        exported = console.post(reverse("admin:campaigns_bulksheetjob_add"), {"advertiser": advertiser.pk, "kind": "export", "mode": "auto"})

    assert "Importing needs the trader role" in refused.content.decode()
    assert exported.status_code == 302
    job = BulkSheetJob.objects.get()
    assert (job.kind, job.status) == ("export", "succeeded")
    page = console.get(exported["Location"]).content.decode()
    assert "Download the export" in page and '<progress value="100"' in page
    download = console.get(reverse("admin:campaigns_bulksheetjob_file", args=[job.pk, "download"]))
    assert load_workbook(io.BytesIO(b"".join(download.streaming_content))).sheetnames[1] == "Sponsored Products Campaigns"


def _add(client, advertiser, kind: str, start="", end="", **extra):
    return client.post(reverse("admin:campaigns_bulksheetjob_add"), {
        "advertiser": advertiser.pk, "kind": kind, "mode": "auto", "metrics_start": start, "metrics_end": end, **extra,
    })


@pytest.mark.parametrize(("kind", "start", "end", "field", "message"), [
    ("import", "2024-05-01", "2024-05-31", "metrics_start", "Only an export has performance columns."),
    ("import", "", "2024-05-31", "metrics_start", "Only an export has performance columns."),
    ("export", "2024-05-01", "", "metrics_end",
     "Give both the first and the last day of the performance columns, or neither."),
    ("export", "", "2024-05-31", "metrics_start",
     "Give both the first and the last day of the performance columns, or neither."),
    ("export", "2024-05-31", "2024-05-01", "metrics_end",
     "The last day of the performance columns cannot be before the first."),
])
def test_the_performance_range_is_refused_on_imports_and_when_half_given_or_reversed(
        client, trader, advertiser, kind, start, end, field, message):
    extra = {"upload": SimpleUploadedFile("sheet.xlsx", CREATE.read_bytes())} if kind == "import" else {}
    response = _add(_login(client, trader), advertiser, kind, start, end, **extra)

    assert response.status_code == 200 and message in response.content.decode()
    assert response.context["adminform"].form.errors[field] == [message]
    assert not BulkSheetJob.objects.exists()


def test_an_export_stores_its_performance_range(client, viewer, advertiser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # queued; the export itself is not run here
        response = _add(_login(client, viewer), advertiser, "export", "2024-05-01", "2024-05-31")

    assert response.status_code == 302
    job = BulkSheetJob.objects.get()
    assert (job.kind, job.metrics_start, job.metrics_end) == ("export", date(2024, 5, 1), date(2024, 5, 31))
