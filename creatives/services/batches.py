"""Batches: many files at once, or one zip, each file becoming a creative with its own task.

A zip is inspected from its central directory while the request is open (refused whole, and
nothing stored, for bombs, path tricks, links, encryption or too many entries), then expanded
by a task: every entry's CRC is checked before the first creative is made, so a damaged archive
also creates nothing. Entry names are never used as paths: files are stored under names
derived from their bytes. Expansion skips entries already done, so rerunning it is harmless.
"""

import logging
import re
import shutil
import stat
import tempfile
import zipfile
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from backend.observability.context import current_request_id
from creatives import conf
from creatives.choices import BatchItemOutcome, CreativeStatus, RunStatus
from creatives.formats import Refusal, kib
from creatives.models import BatchItem, Creative, UploadBatch
from creatives.services import files
from creatives.services.uploads import clean_filename, creative_upload

log = logging.getLogger(__name__)

ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# Below this, a high ratio is a small file of silence or flat colour, not a bomb.
RATIO_FLOOR_BYTES = 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024
JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|\._|Thumbs\.db$)")


class ZipRefused(Refusal):
    pass


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    # zipfile cuts a name at its first NUL; the name as stored is in orig_filename.
    name = info.orig_filename
    parts = name.replace("\\", "/").split("/")
    if any(ord(ch) < 32 for ch in name):
        return "has control characters in its name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in parts:
        return "climbs out of the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in ZIP_METHODS:
        return f"uses an unsupported compression method ({info.compress_type})"
    return None


def zip_inspect(fh) -> list[zipfile.ZipInfo]:
    """The entries to expand; a ZipRefused for the whole archive when anything is wrong."""
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ZipRefused("bad_zip", f"The archive is not a readable zip file ({exc}).") from None
    with archive:
        infos = archive.infolist()
    if len(infos) > conf.CREATIVES_ZIP_MAX_ENTRIES:
        raise ZipRefused("zip_bomb", f"The archive has {len(infos)} entries; at most {conf.CREATIVES_ZIP_MAX_ENTRIES}.")
    entries, seen, total = [], set(), 0
    for info in infos:
        problem = _entry_problem(info)
        if problem:
            raise ZipRefused("zip_path", f"Refused the archive: entry {info.filename!r} {problem}.")
        if info.is_dir() or JUNK.search(info.filename):
            continue
        key = info.filename.replace("\\", "/").lower()
        if key in seen:
            raise ZipRefused("zip_path", f"Refused the archive: entry {info.filename!r} appears twice.")
        seen.add(key)
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > conf.CREATIVES_ZIP_MAX_RATIO:
            raise ZipRefused("zip_bomb", f"Refused as a zip bomb: {info.filename!r} expands {ratio:,.0f}× "
                                         f"(at most {conf.CREATIVES_ZIP_MAX_RATIO}×).")
        if total > conf.CREATIVES_ZIP_MAX_TOTAL_BYTES:
            raise ZipRefused("zip_bomb", f"Refused as a zip bomb: the archive expands to more than "
                                         f"{kib(conf.CREATIVES_ZIP_MAX_TOTAL_BYTES)}.")
        entries.append(info)
    if not entries:
        raise ZipRefused("bad_zip", "The archive contains no files.")
    return entries


def _enqueue_expand(batch_id: int) -> None:
    from creatives.tasks import expand_batch_task  # tasks import services

    transaction.on_commit(lambda: expand_batch_task(batch_id))


def batch_create_from_zip(*, advertiser, fh, filename: str, by=None) -> UploadBatch:
    """Inspect (refusing the whole archive, storing nothing) and store the zip; expansion is queued."""
    zip_inspect(fh)
    fh.seek(0)
    with transaction.atomic():
        batch = UploadBatch.objects.create(advertiser=advertiser, archive_name=clean_filename(filename), created_by=by,
                                           request_id=current_request_id() or "")
        batch.archive.name = files.store_original(
            name=f"{files.ROOT}/batches/{advertiser.pk}/{batch.pk}.zip", fh=fh, size=getattr(fh, "size", 0) or -1
        )
        batch.save(update_fields=["archive"])
        _enqueue_expand(batch.pk)
    return batch


def batch_create_from_files(*, advertiser, uploads, by=None) -> UploadBatch:
    """Several files in one request: each stored and queued now (each in its own task)."""
    with transaction.atomic():
        batch = UploadBatch.objects.create(advertiser=advertiser, status=RunStatus.DONE, created_by=by,
                                           finished_at=timezone.now(), request_id=current_request_id() or "")
        for upload in uploads:
            result = creative_upload(advertiser=advertiser, fh=upload, filename=upload.name, by=by)
            BatchItem.objects.create(batch=batch, filename=clean_filename(upload.name), creative=result.creative,
                                     size_bytes=result.creative.size_bytes,
                                     outcome=BatchItemOutcome.CREATED if result.created else BatchItemOutcome.DUPLICATE)
    return batch


def _claim(batch_id: int) -> UploadBatch | None:
    now = timezone.now()
    if not UploadBatch.objects.filter(pk=batch_id, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING, heartbeat_at=now):
        return None
    return UploadBatch.objects.select_related("advertiser", "created_by").get(pk=batch_id)


def batch_expand(*, batch_id: int) -> UploadBatch | None:
    """Make a creative of every entry of the batch's zip (entries already done are skipped)."""
    batch = _claim(batch_id)
    if batch is None:
        return None
    try:
        with batch.archive.open("rb") as fh:
            entries = zip_inspect(fh)
            fh.seek(0)
            with zipfile.ZipFile(fh) as archive:
                bad = archive.testzip()  # every CRC, before anything is created
                if bad is not None:
                    raise ZipRefused("bad_zip", f"The archive is damaged: entry {bad!r} fails its checksum.")
                done = set(batch.items.values_list("filename", flat=True))
                for info in entries:
                    if info.filename in done:
                        continue
                    _expand_entry(batch, archive, info)
    except (Refusal, zipfile.BadZipFile, OSError, EOFError) as exc:
        batch.status, batch.error = RunStatus.FAILED, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    else:
        batch.status = RunStatus.DONE
        files.delete_quietly([batch.archive.name])  # every entry is stored as a creative now
        batch.archive.name = ""
    batch.finished_at = batch.heartbeat_at = timezone.now()
    batch.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "archive"])
    return batch


def _expand_entry(batch: UploadBatch, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with archive.open(info) as entry:
            shutil.copyfileobj(entry, spool, files.CHUNK)
        with transaction.atomic():
            result = creative_upload(advertiser=batch.advertiser, fh=spool, filename=info.filename, by=batch.created_by)
            BatchItem.objects.create(
                batch=batch, filename=info.filename, creative=result.creative, size_bytes=info.file_size,
                outcome=BatchItemOutcome.CREATED if result.created else BatchItemOutcome.DUPLICATE,
            )
    UploadBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now())


def batches_reconcile(*, now=None) -> list[int]:
    """Re-queue expansions whose worker was lost (running, stale heartbeat)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=conf.CREATIVES_RUN_STALE_SECONDS)
    ids = list(UploadBatch.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True))
    if ids:
        UploadBatch.objects.filter(pk__in=ids).update(status=RunStatus.QUEUED)
        for batch_id in ids:
            _enqueue_expand(batch_id)
    return ids


def with_progress(queryset):
    """Batches annotated with their items' progress: one query for a whole page."""
    statuses = "items__creative__status"
    return queryset.annotate(
        total_items=Count("items"),
        duplicate_items=Count("items", filter=Q(items__outcome=BatchItemOutcome.DUPLICATE)),
        ready_items=Count("items", filter=Q(**{statuses: CreativeStatus.READY})),
        rejected_items=Count("items", filter=Q(**{statuses: CreativeStatus.REJECTED})),
        waiting_items=Count("items", filter=Q(**{f"{statuses}__in": [CreativeStatus.PENDING, CreativeStatus.PROCESSING]})),
    )


def creatives_of(batch: UploadBatch):
    return Creative.objects.filter(batch_items__batch=batch)
