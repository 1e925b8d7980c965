"""Request bodies over the limit are refused with 413 by their declared length, before any byte of
them is read, for every kind of file the platform accepts: reporting imports (CSV, XLSX), creatives
(images, video, audio, zip batches) through the API and the console, and bulk sheets (XLSX)."""

import io
import zipfile

import pytest
from django.test.client import BOUNDARY, encode_multipart

from backend.security.limits import limit_for

pytestmark = pytest.mark.django_db
# Spelled out (not django.test.client.MULTIPART_CONTENT): the test client encodes a dict only for
# that very object, and these bodies are already encoded.
MULTIPART_CONTENT = f"multipart/form-data; boundary={BOUNDARY}"
KIB = 1024
SMALL = 64 * KIB

# The first bytes each format is recognised by (enough for the apps' sniffers).
MAGIC = {
    "report.csv": b"date,line_item_id,impressions,clicks,spend\n",
    "report.xlsx": b"PK\x03\x04",
    "banner.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "banner.png": b"\x89PNG\r\n\x1a\n",
    "banner.gif": b"GIF89a",
    "banner.webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "spot.mp4": b"\x00\x00\x00\x18ftypmp42",
    "spot.webm": b"\x1a\x45\xdf\xa3",
    "jingle.mp3": b"ID3\x04\x00",
    "jingle.wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "jingle.ogg": b"OggS\x00",
    "batch.zip": b"PK\x03\x04",
    "bulk.xlsx": b"PK\x03\x04",
}

# (surface, path, form field, file) for every upload the platform takes.
UPLOADS = [
    ("api", "/api/v1/reporting/imports/", "file", "report.csv"),
    ("api", "/api/v1/reporting/imports/", "file", "report.xlsx"),
    ("admin", "/admin/reporting/dailyperformance/upload/", "file", "report.csv"),
    ("admin", "/admin/reporting/dailyperformance/upload/", "file", "report.xlsx"),
    *[("api", "/api/v1/creatives/creatives/", "file", name)
      for name in ("banner.jpg", "banner.png", "banner.gif", "banner.webp", "spot.mp4", "spot.webm",
                   "jingle.mp3", "jingle.wav", "jingle.ogg")],
    ("api", "/api/v1/creatives/batches/", "archive", "batch.zip"),
    ("api", "/api/v1/creatives/batches/", "files", "spot.mp4"),
    ("admin", "/admin/creatives/creative/add/", "upload", "banner.png"),
    ("admin", "/admin/creatives/uploadbatch/add/", "archive_upload", "batch.zip"),
    ("api", "/api/v1/campaigns/bulksheets/", "file", "bulk.xlsx"),
    ("admin", "/admin/campaigns/bulksheetjob/add/", "file", "bulk.xlsx"),
]
IDS = [f"{surface}:{path}:{name}" for surface, path, _, name in UPLOADS]


def multipart(field: str, name: str, size: int) -> bytes:
    head = MAGIC[name]
    payload = io.BytesIO(head + b"\0" * (size - len(head)))
    payload.name = name
    return encode_multipart(BOUNDARY, {field: payload, "advertiser": "1"})


@pytest.fixture
def clients(api, admin_client_logged_in):
    return {"api": api, "admin": admin_client_logged_in}


@pytest.fixture
def small_limits(settings):
    """The real rules, each cut down to 64 KiB, so a real over-limit body is cheap to send."""
    settings.REQUEST_BODY_LIMITS = [(pattern, SMALL) for pattern, _ in settings.REQUEST_BODY_LIMITS]
    return settings


@pytest.mark.parametrize("surface,path,field,name", UPLOADS, ids=IDS)
def test_a_body_over_the_limit_is_refused_with_413(clients, small_limits, surface, path, field, name):
    from creatives.models import Creative, UploadBatch
    from reporting.models import DailyPerformance

    body = multipart(field, name, SMALL + KIB)
    response = clients[surface].post(path, data=body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 413, (path, response.status_code)
    assert response.json()["limit_bytes"] == SMALL
    assert not Creative.objects.exists() and not UploadBatch.objects.exists()
    assert not DailyPerformance.objects.exists()


@pytest.mark.parametrize("surface,path,field,name", UPLOADS, ids=IDS)
def test_the_refusal_comes_before_the_body_is_read(clients, surface, path, field, name):
    """With the production limits: the request claims a body one byte over its path's limit but
    carries only a few bytes. Reading it would fail (the test client's payload refuses to read
    past its end), so a 413 shows that nothing read it."""
    claimed = limit_for(path) + 1
    body = multipart(field, name, 4 * KIB)
    response = clients[surface].post(path, data=body, content_type=MULTIPART_CONTENT, CONTENT_LENGTH=str(claimed))
    assert response.status_code == 413


def test_a_body_under_the_limit_goes_through_to_the_view(api, small_limits):
    body = multipart("file", "report.csv", 4 * KIB)
    response = api.post("/api/v1/reporting/imports/", data=body, content_type=MULTIPART_CONTENT)
    assert response.status_code != 413


def test_every_other_path_gets_the_default_limit(api, settings):
    settings.REQUEST_BODY_DEFAULT_LIMIT = 1000
    response = api.post("/api/bid/", data="x" * 1001, content_type="application/json")
    assert response.status_code == 413
    assert api.post("/api/bid/", {"product_id": 1, "current_cpc": "1.00", "target_roas": 100},
                    format="json").status_code == 200


def test_a_malformed_content_length_is_refused(api):
    response = api.post("/api/bid/", data="{}", content_type="application/json", CONTENT_LENGTH="12abc")
    assert response.status_code == 400


def test_the_limits_line_up_with_the_apps_own_caps(settings):
    from creatives.api.uploads import single_upload_limit

    assert limit_for("/api/v1/creatives/creatives/") == single_upload_limit()
    assert limit_for("/api/v1/creatives/batches/") == settings.CREATIVES_MAX_UPLOAD_BYTES
    assert limit_for("/admin/creatives/uploadbatch/add/") == settings.CREATIVES_MAX_UPLOAD_BYTES
    # The import limit is the file's, plus room for the multipart framing around it.
    framing = limit_for("/api/v1/reporting/imports/") - settings.REPORTING_UPLOAD_MAX_BYTES
    assert 0 < framing <= 1024 * 1024
    assert limit_for("/api/v1/bidding/bids/") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_the_creatives_streaming_cap_still_refuses_behind_a_generous_gateway(api, settings, advertiser, make_member):
    """A second line: with the middleware's limit raised, creatives' own cut-off (which counts
    the bytes as they stream in) still answers 413."""
    settings.REQUEST_BODY_LIMITS = []
    settings.REQUEST_BODY_DEFAULT_LIMIT = 1024 * 1024 * 1024
    settings.CREATIVES_MAX_UPLOAD_BYTES = SMALL
    settings.CREATIVES_MAX_IMAGE_BYTES = SMALL
    settings.CREATIVES_MAX_VIDEO_BYTES = SMALL
    settings.CREATIVES_MAX_AUDIO_BYTES = SMALL
    body = multipart("file", "banner.png", SMALL + KIB)
    response = api.post("/api/v1/creatives/creatives/", data=body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 413


def test_a_zip_batch_body_made_of_a_real_archive_is_refused_too(api, small_limits):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.png", MAGIC["banner.png"] + b"\0" * (SMALL + KIB))
    buffer.seek(0)
    buffer.name = "batch.zip"
    body = encode_multipart(BOUNDARY, {"archive": buffer, "advertiser": "1"})
    response = api.post("/api/v1/creatives/batches/", data=body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 413
