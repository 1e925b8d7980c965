"""/api/v1/creatives/: upload (size-limited multipart, or a tag), list with filters, retrieve with
verdicts and rendition URLs, reprocess, assign, batches and specs."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.choices import LineItemFormat
from creatives.api.uploads import CappedUploadHandler, UploadTooLarge
from creatives.models import Creative, RenditionAssignment
from tests.campaigns.factories import CampaignFactory, LineItemFactory, member_of
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory, seeded

pytestmark = pytest.mark.django_db
BASE = "/api/v1/creatives"


@pytest.fixture
def trader_api(advertiser, api_for):
    return api_for(member_of(advertiser, "trader"))


@pytest.fixture
def viewer_api(advertiser, api_for):
    return api_for(member_of(advertiser, "viewer"))


@pytest.fixture
def post(trader_api, django_capture_on_commit_callbacks):
    """POST as the trader, running the queued tasks (Huey is immediate in tests)."""

    def send(path, data, client=None, **kwargs):
        kwargs.setdefault("format", "multipart")
        with django_capture_on_commit_callbacks(execute=True):
            return (client or trader_api).post(f"{BASE}{path}", data, **kwargs)

    return send


def jpeg_upload(name="banner.jpg", width=600, height=500, **kwargs):
    return SimpleUploadedFile(name, media.jpeg(width, height, **kwargs), content_type="image/jpeg")


@pytest.fixture
def spec(db):
    return AdSpecFactory(width=300, height=250, max_bytes=150_000)


def test_a_multipart_upload_answers_at_once_and_the_creative_shows_verdicts_and_renditions(post, trader_api, advertiser, spec):
    response = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]})
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "pending"  # processing runs in its task, after the commit
    body = trader_api.get(f"{BASE}/creatives/{response.json()['id']}/").json()
    assert (body["status"], body["detected_format"], body["width"], body["height"]) == ("ready", "jpeg", 600, 500)
    assert body["verdicts"] == [{"spec": spec.pk, "spec_code": spec.code, "spec_name": spec.name, "passed": True,
                                 "reasons": [], "notes": [], "checked_at": body["verdicts"][0]["checked_at"]}]
    rendition = body["renditions"][0]
    assert rendition["url"].startswith("http://testserver/media/creatives/renditions/")
    assert (rendition["width"], rendition["height"], rendition["format"]) == (300, 250, "jpeg")
    assert body["thumbnail_url"] and body["latest_run"]["status"] == "done"


def test_the_same_file_again_answers_200_with_the_existing_creative(post, advertiser, spec):
    first = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload()}).json()
    again = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload("copy.jpg")})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert Creative.objects.count() == 1


def test_an_upload_over_the_limit_is_refused_413_and_nothing_is_stored(post, advertiser, settings, media_root):
    settings.CREATIVES_MAX_UPLOAD_BYTES = 20_000
    response = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(busy=True)})
    assert response.status_code == 413 and "limited to" in response.json()["detail"]
    assert not Creative.objects.exists() and not media_root.exists()


def test_an_image_over_the_image_limit_is_refused_413(post, advertiser, settings):
    settings.CREATIVES_MAX_IMAGE_BYTES = 20_000
    response = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(busy=True)})
    assert response.status_code == 413 and "display uploads are limited to" in response.json()["detail"]
    assert not Creative.objects.exists()


def test_the_upload_cap_stops_a_stream_that_passes_it_without_a_declared_length():
    handler = CappedUploadHandler(limit=100_000)
    handler.handle_raw_input(None, {}, 0, b"boundary")  # chunked: no length to check up front
    handler.receive_data_chunk(b"x" * 64_000, 0)
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 64_000, 64_000)


def test_an_unknown_or_mislabelled_file_is_refused_400_before_storing(post, advertiser, media_root):
    png_as_jpg = SimpleUploadedFile("banner.jpg", media.png(50, 50))
    response = post("/creatives/", {"advertiser": advertiser.pk, "file": png_as_jpg})
    assert response.status_code == 400 and "named .jpg" in response.json()["file"][0]
    response = post("/creatives/", {"advertiser": advertiser.pk, "file": SimpleUploadedFile("a.bin", b"hello world")})
    assert response.status_code == 400 and "do not recognise" in response.json()["file"][0]
    assert not Creative.objects.exists() and not media_root.exists()


def test_a_kargo_tag_is_registered_as_json(post, trader_api, advertiser):
    response = post("/creatives/", {"advertiser": advertiser.pk, "name": "Kargo Venti", "width": 300, "height": 250,
                                    "third_party_tag": "<div id='kargo'></div>"}, format="json")
    assert response.status_code == 201
    body = trader_api.get(f"{BASE}/creatives/{response.json()['id']}/").json()
    assert body["delivery"] == "tag" and body["status"] == "ready"
    assert "kargo-venti" in {v["spec_code"] for v in body["verdicts"] if v["passed"]}


def test_a_request_with_neither_file_nor_tag_is_refused(post, advertiser):
    response = post("/creatives/", {"advertiser": advertiser.pk, "name": "empty"}, format="json")
    assert response.status_code == 400 and "exactly one of" in response.json()["file"][0]


def test_the_list_filters_by_status_kind_and_spec_verdict(post, trader_api, advertiser, spec):
    small = AdSpecFactory(width=970, height=250)
    ok = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload("a.jpg"), "specs": [spec.pk, small.pk]}).json()
    post("/creatives/", {"advertiser": advertiser.pk, "file": SimpleUploadedFile("bad.png", b"\x89PNG\r\n\x1a\nxx")})

    def ids(query):
        return [c["id"] for c in trader_api.get(f"{BASE}/creatives/?{query}").json()["results"]]

    assert ids("status=ready") == [ok["id"]] and len(ids("status=rejected")) == 1
    assert ids("kind=display&status=ready") == [ok["id"]] and ids("kind=video") == []
    assert ids(f"passes_spec={spec.pk}") == [ok["id"]] and ids(f"passes_spec={spec.code}") == [ok["id"]]
    assert ids(f"fails_spec={small.pk}") == [ok["id"]] and ids(f"fails_spec={spec.pk}") == []
    listed = trader_api.get(f"{BASE}/creatives/?status=ready").json()["results"][0]
    assert (listed["passed_specs"], listed["failed_specs"]) == (1, 1)


def test_the_list_costs_the_same_queries_for_one_creative_or_many(post, trader_api, advertiser, spec,
                                                                django_assert_max_num_queries):
    for width in (600, 610, 620, 630):
        post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(f"{width}.jpg", width=width), "specs": [spec.pk]})
    with django_assert_max_num_queries(6):
        response = trader_api.get(f"{BASE}/creatives/")
    assert response.json()["count"] == 4


def test_reprocess_queues_a_run_and_answers_202(post, advertiser, spec):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]}).json()
    response = post(f"/creatives/{created['id']}/reprocess/", {}, format="json")
    assert response.status_code == 202
    assert Creative.objects.get().runs.count() == 2


def test_a_ready_creative_is_assigned_to_fitting_line_items(post, advertiser, spec):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]}).json()
    display = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser), format=LineItemFormat.DISPLAY)
    response = post(f"/creatives/{created['id']}/assign/", {"line_items": [display.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()[0]["line_item"] == display.pk and RenditionAssignment.objects.count() == 1
    again = post(f"/creatives/{created['id']}/assign/", {"line_items": [display.pk]}, format="json")
    assert again.status_code == 200 and RenditionAssignment.objects.count() == 1


def test_a_display_creative_cannot_go_on_a_video_or_sponsored_products_line_item(post, advertiser, spec):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]}).json()
    campaign = CampaignFactory(advertiser=advertiser)
    video = LineItemFactory(campaign=campaign, format=LineItemFormat.VIDEO)
    products = LineItemFactory(campaign=campaign, format=LineItemFormat.SPONSORED_PRODUCTS)
    response = post(f"/creatives/{created['id']}/assign/", {"line_items": [video.pk, products.pk]}, format="json")
    assert response.status_code == 400
    assert "takes video creatives, not a display creative" in response.json()["line_items"][0]
    assert not RenditionAssignment.objects.exists()


@pytest.mark.skipif(media.FFMPEG_MISSING, reason="needs ffmpeg and ffprobe on PATH (apt-get install ffmpeg)")
def test_a_video_creative_cannot_go_on_a_display_line_item(post, advertiser, media_dir):
    video = media.mp4(media_dir, 6, size="640x360", vbitrate="2500k", abitrate="160k")
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": SimpleUploadedFile("spot.mp4", video),
                                   "specs": [s.pk for s in seeded("amazon-olv-3p")]}).json()
    assert Creative.objects.get().status == "ready"
    campaign = CampaignFactory(advertiser=advertiser)
    display = LineItemFactory(campaign=campaign, format=LineItemFormat.DISPLAY)
    refused = post(f"/creatives/{created['id']}/assign/", {"line_items": [display.pk]}, format="json")
    assert refused.status_code == 400 and "not a video creative" in refused.json()["line_items"][0]
    video_line = LineItemFactory(campaign=campaign, format=LineItemFormat.VIDEO)
    assert post(f"/creatives/{created['id']}/assign/", {"line_items": [video_line.pk]}, format="json").status_code == 200


def test_a_rejected_creative_cannot_be_assigned(post, advertiser):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nxx")}).json()
    line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser), format=LineItemFormat.DISPLAY)
    response = post(f"/creatives/{created['id']}/assign/", {"line_items": [line_item.pk]}, format="json")
    assert response.status_code == 409


def test_viewers_read_but_do_not_upload_reprocess_or_assign(post, viewer_api, advertiser, spec):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]}).json()
    assert viewer_api.get(f"{BASE}/creatives/{created['id']}/").status_code == 200
    upload = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload("b.jpg", width=610)}, client=viewer_api)
    assert upload.status_code == 403
    assert post(f"/creatives/{created['id']}/reprocess/", {}, client=viewer_api, format="json").status_code == 403
    assert viewer_api.patch(f"{BASE}/creatives/{created['id']}/", {"name": "x"}, format="json").status_code == 403


def test_a_trader_renames_a_creative_and_nothing_else(trader_api, post, advertiser, spec):
    created = post("/creatives/", {"advertiser": advertiser.pk, "file": jpeg_upload(), "specs": [spec.pk]}).json()
    response = trader_api.patch(f"{BASE}/creatives/{created['id']}/", {"name": "Spring sale", "status": "rejected"},
                                format="json")
    assert response.status_code == 200 and (response.json()["name"], response.json()["status"]) == ("Spring sale", "ready")


def test_a_zip_batch_is_accepted_with_progress(post, trader_api, advertiser):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", media.jpeg(320, 250))
        archive.writestr("b.png", media.png(320, 250))
    response = post("/batches/", {"advertiser": advertiser.pk, "archive": SimpleUploadedFile("set.zip", buffer.getvalue())})
    assert response.status_code == 202, response.json()
    batch = trader_api.get(f"{BASE}/batches/{response.json()['id']}/").json()
    assert batch["status"] == "done" and batch["progress"]["total"] == 2 and batch["progress"]["percent"] == 100
    assert {i["filename"] for i in batch["items"]} == {"a.jpg", "b.png"}


def test_a_zip_bomb_batch_is_refused_400(post, advertiser):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.jpg", b"\xff\xd8\xff" + bytes(30 * 1024 * 1024))
    response = post("/batches/", {"advertiser": advertiser.pk, "archive": SimpleUploadedFile("b.zip", buffer.getvalue())})
    assert response.status_code == 400 and "zip bomb" in response.json()["archive"][0]


def test_many_files_in_one_batch(post, advertiser):
    files = [jpeg_upload("a.jpg"), jpeg_upload("b.jpg", width=610)]
    response = post("/batches/", {"advertiser": advertiser.pk, "files": files})
    assert response.status_code == 202 and response.json()["progress"]["total"] == 2
    assert set(Creative.objects.values_list("status", flat=True)) == {"ready"}


def test_specs_are_listed_for_any_authenticated_user(viewer_api):
    body = viewer_api.get(f"{BASE}/specs/?group=kargo&page_size=100").json()
    assert body["count"] == 11 and {s["code"] for s in body["results"]} >= {"kargo-anchor", "kargo-video-anchor"}
