"""Performance uploads as jobs: stored at upload time, read, checked and written by a worker.

The request only checks what needs no reading (name, size, the first bytes: reporting.uploads.
check_upload) and stores the file as a queued PerformanceImport. The task claims the row with one
conditional UPDATE (queued, or running with a stale heartbeat) and a fresh token; it writes
progress and its result only while the token is still its own, so a worker presumed dead and
replaced cannot overwrite its successor. Every row valid, or nothing written: the rows, and the
"succeeded" mark, commit in one transaction, so a worker killed anywhere leaves either nothing
or the whole import, and the reconciler's re-run finds it done or does it all again.
"""

import logging
from dataclasses import asdict
from datetime import timedelta

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.job_lease import Beat, JobLease, LeaseLost
from backend.lost_jobs import requeue_lost_jobs
from backend.observability.context import current_request_id
from campaigns.choices import Role
from campaigns.models import LineItem
from reporting.choices import ImportStatus, PerformanceSource
from reporting.models import PerformanceImport
from reporting.services import ImportRefused, performance_rows_clean, performance_rows_write
from reporting.uploads import UploadRefused, check_upload, read_upload_file, sniff

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_LEASE = JobLease(PerformanceImport, failed=ImportStatus.FAILED,
                  stale_setting="REPORTING_IMPORT_HEARTBEAT_STALE_SECONDS", max_attempts=MAX_ATTEMPTS,
                  related=("requested_by",))
heartbeat_stale_after = _LEASE.stale_after


def _enqueue(import_id: int) -> None:
    from reporting.tasks import performance_import_task  # the task calls back into this module

    performance_import_task(import_id)


def performance_import_create(*, upload, by, enqueue: bool = True) -> PerformanceImport:
    """Store an upload (a Django UploadedFile, or any seekable binary file with a name) as a
    queued import and enqueue it. Raises UploadRefused, storing nothing, for what is refused
    without reading: not .csv/.xlsx, too large, empty, content that is not what the name says."""
    name = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None)
    check_upload(name, size, sniff(upload))
    job = PerformanceImport(
        filename=name[-255:], requested_by=by if getattr(by, "pk", None) else None,
        request_id=current_request_id() or "", heartbeat_at=timezone.now(),
    )
    job.file.save(name, File(upload), save=False)  # named by the field's upload_to
    job.save()
    if enqueue:
        # robust: the row is committed either way; a lost enqueue is the reconciler's job.
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def _uploader_scope(user):
    """(the line items the uploader may write, those they can see), as the job runs."""
    if user is None or not user.is_active:
        raise UploadRefused("The user who uploaded this file no longer has access; nothing was imported.")
    return LineItem.objects.visible_to(user, Role.TRADER), LineItem.objects.visible_to(user)


def performance_import_run(*, import_id: int) -> PerformanceImport | None:
    """Read, check and write one queued import: all rows or none. Returns the job as it ended, or
    None when it was not claimable (done already, or another worker has it). Safe to run twice."""
    claimed = _LEASE.claim(import_id, start=Q(status=ImportStatus.QUEUED), running=ImportStatus.RUNNING)
    if claimed is None:
        return None
    job, token = claimed
    beat = Beat(_LEASE, job, token)
    rows = 0
    try:
        writable, visible = _uploader_scope(job.requested_by)
        with job.file.open("rb") as handle:
            parsed = read_upload_file(handle, job.filename)
        rows = len(parsed.rows)
        beat(0, rows)
        objects = performance_rows_clean(rows=parsed.rows, row_numbers=parsed.row_numbers, line_items=writable,
                                         visible=visible, progress=beat)
        with transaction.atomic():
            result = performance_rows_write(objects=objects, source=PerformanceSource.UPLOAD)
            finished = timezone.now()
            if not _LEASE.mine(job, token).update(status=ImportStatus.SUCCEEDED, counts=asdict(result),
                                                  progress_done=rows, progress_total=rows, finished_at=finished,
                                                  heartbeat_at=finished, error="", errors=[], error_count=0):
                raise LeaseLost(job.pk)  # rolls the rows back: the new owner writes them
    except UploadRefused as exc:
        _LEASE.fail(job, token, f"Nothing was imported: {exc}")
    except ImportRefused as exc:
        _LEASE.fail(job, token, f"Nothing was imported: {exc.error_count} row(s) have errors.", errors=exc.errors,
                    error_count=exc.error_count, counts={"rows": rows}, progress_done=rows, progress_total=rows)
    except LeaseLost:
        log.warning("performance import taken over by another worker", extra={"performance_import": job.pk})
    except Exception as exc:  # recorded on the job; the operator sees it in the admin and the API
        log.exception("performance import failed", extra={"performance_import": job.pk})
        _LEASE.fail(job, token, f"Nothing was imported: {type(exc).__name__}: {exc}")
    return PerformanceImport.objects.get(pk=job.pk)


def performance_imports_reconcile(*, stale: timedelta | None = None) -> dict[str, int]:
    """Re-enqueue imports whose task was lost (queued or running with a stale heartbeat); fail
    those whose worker was lost MAX_ATTEMPTS times."""
    return requeue_lost_jobs(
        PerformanceImport.objects.filter(status__in=ImportStatus.active()),
        stale_after=heartbeat_stale_after(), stale=stale,
        max_attempts=MAX_ATTEMPTS, queued=ImportStatus.QUEUED, failed=ImportStatus.FAILED,
        lost_error="The worker was lost {attempts} times; nothing was imported. Upload the file again.",
        enqueue=lambda pk, status: _enqueue(pk),
    )


__all__ = [
    "LeaseLost",
    "performance_import_create",
    "performance_import_run",
    "performance_imports_reconcile",
]
