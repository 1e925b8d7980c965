"""Batches: a zip (or many files) becomes one creative per file, each in its own task, with
visible progress; bombs, path tricks and damaged archives are refused whole."""

import io
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creatives.choices import BatchItemOutcome, CreativeStatus, RunStatus
from creatives.models import Creative, UploadBatch
from creatives.services import ZipRefused, batch_create_from_files, batch_create_from_zip
from creatives.services.batches import with_progress, zip_inspect
from tests.creatives import media

pytestmark = pytest.mark.django_db


def make_zip(entries: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def as_upload(data: bytes, name="creatives.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/zip")


def progress(batch) -> UploadBatch:
    return with_progress(UploadBatch.objects.filter(pk=batch.pk)).get()


def test_a_zip_becomes_one_creative_per_file_each_processed(advertiser, run_on_commit):
    archive = make_zip({"banners/a.jpg": media.jpeg(320, 250), "b.png": media.png(320, 250),
                        "__MACOSX/._a.jpg": b"junk", "docs/": b"", "c.gif": media.gif(320, 250, animated=False)})
    with run_on_commit():
        batch = batch_create_from_zip(advertiser=advertiser, fh=as_upload(archive), filename="creatives.zip")
    batch = progress(batch)
    assert batch.status == RunStatus.DONE and not batch.archive  # the zip is gone once expanded
    assert (batch.total_items, batch.ready_items + batch.rejected_items, batch.waiting_items) == (3, 3, 0)
    assert sorted(batch.items.values_list("filename", flat=True)) == ["b.png", "banners/a.jpg", "c.gif"]
    assert set(Creative.objects.values_list("detected_format", flat=True)) == {"jpeg", "png", "gif"}
    assert all(c.runs.count() == 1 for c in Creative.objects.all())  # one task per creative


def test_a_file_already_uploaded_is_a_duplicate_item(advertiser, upload, run_on_commit):
    data = media.jpeg(320, 250)
    existing = upload(data, "a.jpg")
    with run_on_commit():
        batch = batch_create_from_zip(advertiser=advertiser, fh=as_upload(make_zip({"again.jpg": data})), filename="z.zip")
    item = batch.items.get()
    assert item.outcome == BatchItemOutcome.DUPLICATE and item.creative_id == existing.pk
    assert progress(batch).duplicate_items == 1


def test_progress_counts_waiting_creatives_until_their_tasks_run(advertiser):
    archive = make_zip({"a.jpg": media.jpeg(320, 250), "b.jpg": media.jpeg(330, 250)})
    batch = batch_create_from_zip(advertiser=advertiser, fh=as_upload(archive), filename="z.zip")
    from creatives.services import batch_expand

    batch_expand(batch_id=batch.pk)  # expanded, but no creative task has run (on_commit not fired)
    batch = progress(batch)
    assert (batch.total_items, batch.waiting_items, batch.ready_items) == (2, 2, 0)


def test_a_zip_bomb_is_refused_before_anything_is_stored(advertiser, media_root):
    bomb = make_zip({"huge.jpg": b"\xff\xd8\xff" + bytes(50 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with pytest.raises(ZipRefused) as refused:
        batch_create_from_zip(advertiser=advertiser, fh=as_upload(bomb), filename="bomb.zip")
    assert refused.value.code == "zip_bomb" and "expands" in refused.value.message
    assert not UploadBatch.objects.exists() and not media_root.exists()


def test_an_archive_expanding_past_the_total_limit_is_refused(advertiser, settings):
    settings.CREATIVES_ZIP_MAX_TOTAL_BYTES = 50_000
    archive = make_zip({"a.jpg": media.jpeg(600, 500, busy=True), "b.jpg": media.jpeg(601, 500, busy=True)},
                       method=zipfile.ZIP_STORED)
    with pytest.raises(ZipRefused, match="expands to more than"):
        zip_inspect(io.BytesIO(archive))


def test_too_many_entries_are_refused(settings):
    settings.CREATIVES_ZIP_MAX_ENTRIES = 3
    with pytest.raises(ZipRefused, match="at most 3"):
        zip_inspect(io.BytesIO(make_zip({f"{i}.jpg": b"x" for i in range(4)})))


@pytest.mark.parametrize("name, why", [
    ("../../etc/cron.d/evil.jpg", "climbs out"),
    ("/etc/passwd.jpg", "absolute path"),
    ("C:/Windows/evil.jpg", "absolute path"),
    ("ok/..\\..\\evil.jpg", "climbs out"),
    ("nul\x00.jpg", "control characters"),
])
def test_path_tricks_are_refused(name, why):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo would clean the name; an attacker's tool does not
        archive.writestr(info, media.jpeg(50, 50))
    with pytest.raises(ZipRefused) as refused:
        zip_inspect(io.BytesIO(buffer.getvalue()))
    assert refused.value.code == "zip_path" and why in refused.value.message


def test_symbolic_links_in_a_zip_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("logo.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ZipRefused, match="symbolic link"):
        zip_inspect(io.BytesIO(buffer.getvalue()))


def test_a_damaged_archive_creates_nothing(advertiser, run_on_commit):
    archive = bytearray(make_zip({"a.jpg": media.jpeg(320, 250), "b.jpg": media.jpeg(330, 250)},
                                 method=zipfile.ZIP_STORED))
    archive[200] ^= 0xFF  # flip a byte inside the first entry: its CRC no longer matches
    with run_on_commit():
        batch = batch_create_from_zip(advertiser=advertiser, fh=as_upload(bytes(archive)), filename="z.zip")
    batch.refresh_from_db()
    assert batch.status == RunStatus.FAILED and "checksum" in batch.error
    assert not Creative.objects.exists()


def test_not_a_zip_is_refused():
    with pytest.raises(ZipRefused) as refused:
        zip_inspect(io.BytesIO(media.jpeg(50, 50)))
    assert refused.value.code == "bad_zip"


def test_many_files_at_once_each_become_a_creative(advertiser, run_on_commit):
    uploads = [SimpleUploadedFile("a.jpg", media.jpeg(320, 250)), SimpleUploadedFile("b.webp", media.webp(320, 250))]
    with run_on_commit():
        batch = batch_create_from_files(advertiser=advertiser, uploads=uploads)
    batch = progress(batch)
    assert batch.total_items == 2 and batch.ready_items == 2
    assert set(Creative.objects.values_list("status", flat=True)) == {CreativeStatus.READY}
