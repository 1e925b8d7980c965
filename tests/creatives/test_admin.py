"""The ops console: thumbnails, the spec-verdict matrix, filters by status and failing spec,
uploads (one file or a batch), reprocessing, and scoping for staff who are not superusers."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creatives.models import AdSpec, Creative, UploadBatch
from tests.campaigns.factories import member_of
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def specs(db):
    return [AdSpecFactory(width=300, height=250, name="Fits 300x250"), AdSpecFactory(width=970, height=250, name="Wide 970x250")]


@pytest.fixture
def creative(upload, specs):
    return upload(media.jpeg(600, 500), "spring.jpg", specs=specs)


@pytest.fixture
def staff(advertiser):
    def make(role="viewer", to=None):
        return member_of(to or advertiser, role, is_staff=True)

    return make


@pytest.fixture
def console(client):
    from tests.campaigns.factories import UserFactory

    client.force_login(UserFactory(password=None, is_staff=True, is_superuser=True))  # no hashing: fast
    return client


def test_the_changelist_shows_thumbnails_and_spec_counts(console, creative):
    page = console.get(reverse("admin:creatives_creative_changelist")).content.decode()
    assert creative.thumbnail.url in page and "<img" in page
    assert "1 / 2" in page  # specs passed / checked


def test_the_change_page_has_a_spec_verdict_matrix(console, creative):
    page = console.get(reverse("admin:creatives_creative_change", args=[creative.pk])).content.decode()
    assert "verdict-matrix" in page and "1 of 2 specs pass." in page
    assert "✔ pass" in page and "Fits 300x250" in page
    assert "✘ fail" in page and "would need upscaling" in page
    assert creative.renditions.get().file.url in page


def test_filters_by_status_and_failing_spec(console, creative, specs, upload):
    rejected = upload(b"\x89PNG\r\n\x1a\nnot really", "broken.png")
    url = reverse("admin:creatives_creative_changelist")
    failing = console.get(url, {"fails_spec": specs[1].pk}).context["cl"].result_list
    assert [c.pk for c in failing] == [creative.pk]
    assert list(console.get(url, {"fails_spec": specs[0].pk}).context["cl"].result_list) == []
    assert [c.pk for c in console.get(url, {"status__exact": "rejected"}).context["cl"].result_list] == [rejected.pk]


def test_staff_see_only_their_advertisers_creatives(client, staff, creative, upload, other_advertiser, specs):
    theirs = upload(media.jpeg(610, 500), "theirs.jpg", to=other_advertiser, specs=specs)
    client.force_login(staff("viewer"))
    listed = client.get(reverse("admin:creatives_creative_changelist")).context["cl"].result_list
    assert [c.pk for c in listed] == [creative.pk]
    response = client.get(reverse("admin:creatives_creative_change", args=[theirs.pk]))
    assert response.status_code == 302  # "does not exist", like any row outside the user's advertisers
    assert client.get(reverse("admin:creatives_creative_change", args=[creative.pk])).status_code == 200


def test_the_reprocess_action_queues_runs_for_traders_only(client, staff, creative, django_capture_on_commit_callbacks):
    client.force_login(staff("trader"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:creatives_creative_changelist"),
                               {"action": "reprocess_selected", "_selected_action": [creative.pk]}, follow=True)
    assert "Queued 1 creative(s)" in response.content.decode()
    assert creative.runs.count() == 2


def test_a_trader_uploads_a_creative_from_the_console(client, staff, advertiser, django_capture_on_commit_callbacks):
    client.force_login(staff("trader"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:creatives_creative_add"), {
            "advertiser": advertiser.pk, "name": "Console upload",
            "upload": SimpleUploadedFile("console.jpg", media.jpeg(320, 250)),
        })
    creative = Creative.objects.get()
    assert response.status_code == 302 and creative.name == "Console upload" and creative.status == "ready"


def test_a_mislabelled_console_upload_is_refused_on_the_form(client, staff, advertiser):
    client.force_login(staff("trader"))
    response = client.post(reverse("admin:creatives_creative_add"), {
        "advertiser": advertiser.pk, "upload": SimpleUploadedFile("banner.gif", media.jpeg(50, 50)),
    })
    assert response.status_code == 200 and "named .gif" in response.content.decode()
    assert not Creative.objects.exists()


def test_a_zip_batch_from_the_console_shows_its_progress(client, staff, advertiser, django_capture_on_commit_callbacks):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", media.jpeg(320, 250))
        archive.writestr("b.jpg", media.jpeg(330, 250))
    client.force_login(staff("trader"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:creatives_uploadbatch_add"), {
            "advertiser": advertiser.pk, "archive_upload": SimpleUploadedFile("set.zip", buffer.getvalue()),
        })
    batch = UploadBatch.objects.get()
    page = client.get(reverse("admin:creatives_uploadbatch_changelist")).content.decode()
    assert batch.items.count() == 2 and "of 2" in page
    detail = client.get(reverse("admin:creatives_uploadbatch_change", args=[batch.pk])).content.decode()
    assert "a.jpg" in detail and "b.jpg" in detail


def test_a_zip_bomb_is_refused_on_the_console_form(client, staff, advertiser):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.jpg", b"\xff\xd8\xff" + bytes(20 * 1024 * 1024))
    client.force_login(staff("trader"))
    response = client.post(reverse("admin:creatives_uploadbatch_add"), {
        "advertiser": advertiser.pk, "archive_upload": SimpleUploadedFile("bomb.zip", buffer.getvalue()),
    })
    assert response.status_code == 200 and "zip bomb" in response.content.decode()
    assert not UploadBatch.objects.exists()


def test_changing_a_spec_in_the_console_reprocesses_its_creatives(console, creative, specs,
                                                                  django_capture_on_commit_callbacks):
    spec = specs[0]
    url = reverse("admin:creatives_adspec_change", args=[spec.pk])
    form = console.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update(max_bytes=500, allowed_formats='["jpeg"]', frame_rates="[]", audio_codecs="[]", video_codecs="[]",
                audio_sample_rates="[]", allowed_durations="[]", is_active="on")
    data = {k: v for k, v in data.items() if v is not False}
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    creative.refresh_from_db()
    assert creative.runs.count() == 2
    assert not creative.verdicts.get(spec=spec).passed


def test_the_spec_list_renders_every_seeded_spec(console):
    page = console.get(reverse("admin:creatives_adspec_changelist"), {"all": ""}).content.decode()
    assert "iab-300x250" in page and AdSpec.objects.count() > 50


def test_deleting_a_creative_in_the_console_removes_its_files(console, creative, media_root,
                                                              django_capture_on_commit_callbacks):
    files = [media_root / creative.original.name, media_root / creative.thumbnail.name,
             *(media_root / r.file.name for r in creative.renditions.all())]
    assert all(f.exists() for f in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(reverse("admin:creatives_creative_delete", args=[creative.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Creative.objects.exists()
    assert not any(f.exists() for f in files)
