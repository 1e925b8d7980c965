"""/api/v1/campaigns/bulk-sheets/: create, follow, confirm, download; scoped by advertiser."""

import io
from urllib.parse import urlparse

from openpyxl import load_workbook

from campaigns.models import Campaign

from .conftest import CREATE, row, sheet_bytes

URL = "/api/v1/campaigns/bulk-sheets/"


def _upload(client, advertiser, data: bytes, name="sheet.xlsx", **extra):
    return client.post(URL, {"kind": "import", "advertiser": advertiser.pk, "file": _named(data, name), **extra},
                       format="multipart")


def _named(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_an_import_is_created_followed_confirmed_and_applied(api_for, trader, advertiser, django_capture_on_commit_callbacks):
    client = api_for(trader)
    with django_capture_on_commit_callbacks(execute=True):
        created = _upload(client, advertiser, CREATE.read_bytes())
    assert created.status_code == 202, created.json()
    job = client.get(f"{URL}{created.json()['id']}/").json()
    assert (job["status"], job["progress"], job["counts"]["create"]) == (
        "awaiting_confirmation", {"done": 9, "total": 9, "percent": 100}, 9)
    assert job["file_url"].endswith(f"/bulk-sheets/{job['id']}/download/") and job["error_file_url"] is None

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"{URL}{job['id']}/confirm/", {"mode": "all"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    replay = client.post(f"{URL}{job['id']}/confirm/", {"mode": "all"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    conflict = client.post(f"{URL}{job['id']}/confirm/", {"mode": "valid_only"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert confirmed.status_code == 202 and replay.status_code == 202 and replay["Idempotent-Replayed"] == "true"
    assert conflict.status_code == 409
    assert client.get(f"{URL}{job['id']}/").json()["status"] == "succeeded"
    assert Campaign.objects.filter(advertiser=advertiser).count() == 1


def test_an_export_is_created_and_downloaded(api_for, viewer, advertiser, django_capture_on_commit_callbacks):
    client = api_for(viewer)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(URL, {"kind": "export", "advertiser": advertiser.pk}, format="json")

    assert created.status_code == 202 and created.json()["status"] == "queued"
    job = client.get(f"{URL}{created.json()['id']}/").json()
    assert (job["status"], job["counts"], job["progress"]["percent"]) == ("succeeded", {"rows": 0}, 100)
    download = client.get(urlparse(job["file_url"]).path)
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "Sponsored Products Campaigns" in load_workbook(io.BytesIO(b"".join(download.streaming_content))).sheetnames


def test_the_error_workbook_is_downloadable(api_for, trader, advertiser, django_capture_on_commit_callbacks):
    client = api_for(trader)
    bad = sheet_bytes([row(Entity="Campaign", Operation="Create", Campaign_Id="X", State="live")])
    with django_capture_on_commit_callbacks(execute=True):
        job = _upload(client, advertiser, bad).json()
    job = client.get(f"{URL}{job['id']}/").json()

    errors = client.get(urlparse(job["error_file_url"]).path)
    assert errors.status_code == 200
    assert load_workbook(io.BytesIO(b"".join(errors.streaming_content))).sheetnames[0] == "Upload Processing Summary"
    assert client.post(f"{URL}{job['id']}/confirm/", {"mode": "all"}, format="json").status_code == 409


def test_refused_files_answer_400_and_nothing_is_queued(api_for, trader, advertiser):
    client = api_for(trader)

    response = _upload(client, advertiser, b"Product,Entity\n", name="sheet.csv")

    assert response.status_code == 400 and "xlsx" in response.json()["file"][0]
    assert client.post(URL, {"kind": "import", "advertiser": advertiser.pk}, format="multipart").status_code == 400


def test_another_advertisers_job_is_not_found(api_for, trader, other_advertiser, make_member, django_capture_on_commit_callbacks):
    theirs = api_for(make_member(other_advertiser, "trader"))
    with django_capture_on_commit_callbacks(execute=True):
        job = _upload(theirs, other_advertiser, CREATE.read_bytes()).json()
    mine = api_for(trader)

    assert mine.get(f"{URL}{job['id']}/").status_code == 404
    assert mine.post(f"{URL}{job['id']}/confirm/", {"mode": "all"}, format="json").status_code == 404
    assert mine.get(f"{URL}{job['id']}/download/").status_code == 404
    listed = mine.get(URL).json()
    assert (listed["results"] if isinstance(listed, dict) else listed) == []
    assert _upload(mine, other_advertiser, CREATE.read_bytes()).status_code == 400  # "does not exist"


def test_a_viewer_exports_but_does_not_import_or_confirm(api_for, viewer, trader, advertiser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = _upload(api_for(trader), advertiser, CREATE.read_bytes()).json()
    client = api_for(viewer)

    assert _upload(client, advertiser, CREATE.read_bytes()).status_code == 403
    assert client.post(f"{URL}{job['id']}/confirm/", {"mode": "all"}, format="json").status_code == 403
    assert client.get(f"{URL}{job['id']}/").status_code == 200


def test_an_export_fills_the_performance_columns_over_the_given_days(api_for, viewer, advertiser,
                                                                     django_capture_on_commit_callbacks):
    from tests.campaigns.factories import LineItemFactory
    from tests.reporting.factories import DailyPerformanceFactory, as_of

    day = as_of(advertiser)
    DailyPerformanceFactory(line_item=LineItemFactory(campaign__advertiser=advertiser), date=day, impressions=777)
    client = api_for(viewer)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(URL, {"kind": "export", "advertiser": advertiser.pk, "metrics_start": str(day),
                                    "metrics_end": str(day)}, format="json")
    job = client.get(f"{URL}{created.json()['id']}/").json()

    assert (job["metrics_start"], job["metrics_end"]) == (str(day), str(day))
    sheet = load_workbook(io.BytesIO(b"".join(client.get(urlparse(job["file_url"]).path).streaming_content)))
    impressions = [r[-11] for r in sheet["Sponsored Products Campaigns"].iter_rows(min_row=2, values_only=True)]
    assert impressions == [777, 777]  # the campaign and its ad group


def test_a_half_or_reversed_performance_range_is_refused(api_for, viewer, trader, advertiser):
    client = api_for(viewer)
    half = client.post(URL, {"kind": "export", "advertiser": advertiser.pk, "metrics_start": "2026-01-02"}, format="json")
    backwards = client.post(URL, {"kind": "export", "advertiser": advertiser.pk, "metrics_start": "2026-01-02",
                                  "metrics_end": "2026-01-01"}, format="json")
    on_import = _upload(api_for(trader), advertiser, CREATE.read_bytes(), metrics_start="2026-01-01",
                        metrics_end="2026-01-02")

    assert half.status_code == 400 and "both" in half.json()["metrics_end"][0]
    assert backwards.status_code == 400 and "cannot be before" in backwards.json()["metrics_end"][0]
    assert on_import.status_code == 400 and "Only an export" in on_import.json()["metrics_start"][0]


def test_unset_modes_and_users_answer_null_and_match_the_schema(trader, advertiser):
    """Schemathesis found "" for the modes (not in their enums) and null users (not allowed)."""
    from rest_framework.authtoken.models import Token

    from campaigns.bulksheets.services import bulk_sheet_export_create, bulk_sheet_import_create
    from tests.fuzz.openapi import assert_conforms, call

    export = bulk_sheet_export_create(advertiser=advertiser, enqueue=False)  # no user: a command made it
    imported = bulk_sheet_import_create(advertiser=advertiser, fileobj=io.BytesIO(CREATE.read_bytes()),
                                        filename="sheet.xlsx", by=trader, enqueue=False)
    token = Token.objects.get_or_create(user=trader)[0].key

    for job in (export, imported):
        response = call("GET", f"{URL}{job.pk}/", token)
        body = response.json
        assert (body["resolved_mode"], body["apply_mode"], body["confirmed_by"]) == (None, None, None)
        assert_conforms("GET", "/api/v1/campaigns/bulk-sheets/{id}/", response)
    assert call("GET", f"{URL}{export.pk}/", token).json["requested_by"] is None
    assert_conforms("GET", "/api/v1/campaigns/bulk-sheets/", call("GET", URL, token))
