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
