"""BulkSheetJob's lifecycle: create, validate (the dry run), confirm, apply; export; reconcile.

Every step is safe to run twice. A task claims its job with one conditional UPDATE (the status
it expects, or the running status with a stale heartbeat) and a fresh token; it writes progress
and its result only while the token is still its own, so a worker presumed dead and replaced
cannot overwrite its successor. The apply re-reads the sheet and re-plans it inside its
transaction: if the plan is no longer the one confirmed (someone changed the campaigns in
between), nothing is written and the job fails asking for a new dry run.
"""

import hashlib
import logging
import tempfile
from datetime import timedelta

from django.core.files import File
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from backend.gc_pause import cyclic_gc_paused
from backend.job_lease import Beat, JobLease, LeaseLost
from backend.lost_jobs import requeue_lost_jobs
from backend.observability.context import current_request_id
from campaigns.bulksheets.applier import plan_apply
from campaigns.bulksheets.choices import ApplyMode, ImportMode, JobKind, JobStatus
from campaigns.bulksheets.differ import Differ
from campaigns.bulksheets.metrics import MetricsRange
from campaigns.bulksheets.models import BulkSheetJob, bulk_sheet_path
from campaigns.bulksheets.plan import Plan
from campaigns.bulksheets.reader import ID_SPACE_OURS, Sheet, raw_rows, read_sheet
from campaigns.bulksheets.safety import SheetRefused, check_name_and_size, check_workbook
from campaigns.bulksheets.validator import RowValidator
from campaigns.bulksheets.writer import export_row_count, write_error_workbook, write_export
from campaigns.choices import Role
from campaigns.limits import limits_for
from campaigns.models import CURRENCY_MINOR_UNITS, Advertiser
from campaigns.permissions import has_role

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


class JobConflict(Exception):
    """The job is not in a state that allows this (409)."""


class IdempotencyConflict(JobConflict):
    """The idempotency key was used before with other parameters (Stripe's rule: 409)."""


class BudgetRoleRequired(PermissionError):
    """The dry run changes budgets of existing campaigns: only a manager confirms it."""


class StalePlan(Exception):
    """The campaigns changed between the dry run and the apply."""


_LEASE = JobLease(BulkSheetJob, failed=JobStatus.FAILED, stale_setting="BULKSHEET_HEARTBEAT_STALE_SECONDS",
                  max_attempts=MAX_ATTEMPTS, related=("advertiser", "confirmed_by"))
heartbeat_stale_after = _LEASE.stale_after


# --- the dry run, for jobs and callers alike ------------------------------------------------------


def sheet_plan(*, advertiser: Advertiser, sheet: Sheet, mode: str = ImportMode.AUTO, progress=None) -> Plan:
    """Parse, validate and diff a read sheet against the advertiser's tree (writes nothing)."""
    if mode == ImportMode.AUTO:
        mode = ImportMode.UPLOAD if sheet.has_operations else ImportMode.MIRROR
    validator = RowValidator(limits_for(advertiser.country), CURRENCY_MINOR_UNITS[advertiser.currency])
    with cyclic_gc_paused():  # row objects by the hundred thousand, none of them in a cycle
        parsed = [validator.parse(row.number, row.cells) for row in sheet.rows]
        plan = Differ(advertiser=advertiser, rows=parsed, mode=str(mode), ours=sheet.id_space == ID_SPACE_OURS,
                      today=advertiser.today(), columns=sheet.fields, progress=progress).run()
    plan.id_space = sheet.id_space
    plan.ignored_columns = sheet.ignored_columns
    return plan


# --- creating jobs ---------------------------------------------------------------------------------


def _enqueue(task_name: str, job_id: int) -> None:
    from campaigns.bulksheets import tasks

    getattr(tasks, task_name)(job_id)


def bulk_sheet_import_create(*, advertiser, fileobj, filename: str, by=None, mode: str = ImportMode.AUTO,
                             job: BulkSheetJob | None = None, enqueue: bool = True) -> BulkSheetJob:
    """Store an upload as a queued import job and enqueue its dry run. Refuses at once (SheetRefused)
    what needs no reading: a name that is not .xlsx, an empty or too large file."""
    size = getattr(fileobj, "size", None)
    if size is None and hasattr(fileobj, "seek"):
        position = fileobj.tell()
        size = fileobj.seek(0, 2) - position
        fileobj.seek(position)
    check_name_and_size(filename, size)
    job = job or BulkSheetJob()
    job.advertiser, job.kind, job.mode, job.status = advertiser, JobKind.IMPORT, mode, JobStatus.QUEUED
    job.filename, job.requested_by = filename[-255:], by if getattr(by, "pk", None) else None
    job.request_id, job.heartbeat_at = current_request_id() or "", timezone.now()
    job.file.save(bulk_sheet_path(job, filename), File(fileobj), save=False)
    job.save()
    if enqueue:
        # robust: the row is committed either way; a lost enqueue is the reconciler's job.
        transaction.on_commit(lambda: _enqueue("bulk_sheet_validate_task", job.pk), robust=True)
    return job


def bulk_sheet_export_create(*, advertiser, by=None, job: BulkSheetJob | None = None, enqueue: bool = True,
                             metrics_start=None, metrics_end=None) -> BulkSheetJob:
    """Queue an export of the advertiser's tree. With both days given, the performance columns of
    campaign and ad group rows carry their delivery over that range (ValueError for a range that
    is half given, reversed or too long: see campaigns.bulksheets.metrics.MetricsRange)."""
    MetricsRange.of(metrics_start, metrics_end)
    job = job or BulkSheetJob()
    job.advertiser, job.kind, job.status = advertiser, JobKind.EXPORT, JobStatus.QUEUED
    job.metrics_start, job.metrics_end = metrics_start, metrics_end
    job.requested_by = by if getattr(by, "pk", None) else None
    job.request_id, job.heartbeat_at = current_request_id() or "", timezone.now()
    job.save()
    if enqueue:
        transaction.on_commit(lambda: _enqueue("bulk_sheet_export_task", job.pk), robust=True)
    return job


# --- claiming, heartbeats, finishing ---------------------------------------------------------------


class _Beat(Beat):
    """Progress and heartbeat, at most once a second. Inside the apply's transaction the job row
    must not be written by that transaction (its lock would be held to the end, and the writes
    invisible): on PostgreSQL a second connection writes them; elsewhere they wait."""

    def __init__(self, job: BulkSheetJob, token: str, *, side: bool = False, echo=None):
        super().__init__(_LEASE, job, token, echo=echo)
        self.side = connections.create_connection("default") if side and connection.vendor == "postgresql" else None

    def write(self, done: int, total: int, now) -> None:
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {BulkSheetJob._meta.db_table} SET progress_done = %s, progress_total = %s, heartbeat_at = %s "
                    "WHERE id = %s AND claim_token = %s", [done, total, now, self.job.pk, self.token],
                )
        elif not connection.in_atomic_block:
            super().write(done, total, now)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _store(job: BulkSheetJob, write, suffix: str = ".xlsx") -> str:
    storage = BulkSheetJob._meta.get_field("file").storage
    with tempfile.TemporaryFile(prefix="bulksheet-", suffix=suffix) as spool:
        write(spool)
        spool.seek(0)
        return storage.save(bulk_sheet_path(job, suffix), File(spool))


# --- the dry run as a job --------------------------------------------------------------------------


def _read(job: BulkSheetJob) -> Sheet:
    with job.file.open("rb") as handle:
        check_workbook(handle)
        return read_sheet(handle, checked=True)


def bulk_sheet_validate(*, job_id: int, echo=None) -> BulkSheetJob | None:
    """The dry run of an import job: read, validate, diff, write the error workbook; the job then
    awaits confirmation (or fails when the file is refused as a whole). None if not claimable."""
    claimed = _LEASE.claim(job_id, start=Q(status=JobStatus.QUEUED, kind=JobKind.IMPORT), running=JobStatus.VALIDATING)
    if claimed is None:
        return None
    job, token = claimed
    beat = _Beat(job, token, echo=echo)
    try:
        sheet = _read(job)
        beat(0, len(sheet.rows))
        plan = sheet_plan(advertiser=job.advertiser, sheet=sheet, mode=job.mode, progress=beat)
        error_name = _error_workbook(job, sheet, plan) if plan.errors else ""
        counts = plan.counts()
        done = _LEASE.mine(job, token).update(
            status=JobStatus.AWAITING_CONFIRMATION, resolved_mode=plan.mode, counts=counts, diff=plan.summary(),
            plan_hash=plan.hash(), error_file=error_name, progress_done=len(sheet.rows), progress_total=len(sheet.rows),
            heartbeat_at=timezone.now(), error="",
        )
        if not done:
            raise LeaseLost(job.pk)
        if echo is not None:
            echo(len(sheet.rows), len(sheet.rows))
    except SheetRefused as exc:
        _LEASE.fail(job, token, str(exc))
    except LeaseLost:
        log.warning("bulk sheet job taken over by another worker", extra={"bulk_sheet_job": job.pk})
    except Exception as exc:  # recorded on the job; the operator sees it in the admin and the API
        log.exception("bulk sheet validation failed", extra={"bulk_sheet_job": job.pk})
        _LEASE.fail(job, token, f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        beat.close()
    return BulkSheetJob.objects.get(pk=job.pk)


def _error_workbook(job: BulkSheetJob, sheet: Sheet, plan: Plan) -> str:
    with job.file.open("rb") as handle:
        header, rows = raw_rows(handle, set(plan.errors))

    def write(spool):
        write_error_workbook(handle=spool, advertiser=job.advertiser, id_space=sheet.id_space, header=header,
                             rows=rows, errors=plan.errors)

    return _store(job, write)


# --- confirming and applying -----------------------------------------------------------------------


def _params_hash(job: BulkSheetJob, apply_mode: str) -> str:
    return hashlib.sha256(f"confirm:{job.pk}:{apply_mode}".encode()).hexdigest()


def bulk_sheet_confirm(*, job: BulkSheetJob, apply_mode: str, by=None, idempotency_key: str = "",
                       enqueue: bool = True) -> tuple[BulkSheetJob, bool]:
    """Confirm a dry run: the job moves to applying and its apply is enqueued. Returns (job,
    replayed). With an idempotency key, the same key and parameters replay the first
    confirmation; the key with other parameters raises IdempotencyConflict. JobConflict when
    the job is not awaiting confirmation, or has errors and `apply_mode` is all."""
    if apply_mode not in ApplyMode.values:
        raise ValueError(f"apply_mode must be one of {', '.join(ApplyMode.values)}.")
    key = (idempotency_key or "").strip()[:255]
    params = _params_hash(job, apply_mode)
    try:
        with transaction.atomic():
            if key:
                first = BulkSheetJob.objects.select_for_update().filter(advertiser_id=job.advertiser_id, idempotency_key=key).first()
                if first is not None:
                    if first.pk == job.pk and first.idempotency_hash == params:
                        return first, True
                    raise IdempotencyConflict("This idempotency key was already used with other parameters.")
            locked = BulkSheetJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != JobStatus.AWAITING_CONFIRMATION:
                raise JobConflict(f"This job is {locked.get_status_display().lower()}; only a dry run awaiting confirmation can be confirmed.")
            if apply_mode == ApplyMode.ALL and locked.has_errors:
                raise JobConflict(
                    f"{locked.counts.get('errors')} row(s) have errors: fix them and upload again, or apply only the valid rows."
                )
            if locked.diff.get("touches_budgets") and by is not None and not has_role(by, locked.advertiser_id, Role.MANAGER):
                raise BudgetRoleRequired("This sheet changes budgets: only a manager of the advertiser can confirm it.")
            work = sum(locked.counts.get(a, 0) for a in ("create", "update", "archive"))
            BulkSheetJob.objects.filter(pk=job.pk).update(
                status=JobStatus.APPLYING, apply_mode=apply_mode, confirmed_by=by if getattr(by, "pk", None) else None,
                confirmed_at=timezone.now(), claim_token="", heartbeat_at=timezone.now(), attempts=0,
                idempotency_key=key, idempotency_hash=params if key else "", progress_done=0, progress_total=work,
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue("bulk_sheet_apply_task", job.pk), robust=True)
    except IntegrityError:  # two confirmations raced with one key: the other one won
        first = BulkSheetJob.objects.filter(advertiser_id=job.advertiser_id, idempotency_key=key).first()
        if first is not None and first.pk == job.pk and first.idempotency_hash == params:
            return first, True
        raise IdempotencyConflict("This idempotency key was already used with other parameters.") from None
    return BulkSheetJob.objects.get(pk=job.pk), False


def bulk_sheet_apply(*, job_id: int, echo=None) -> BulkSheetJob | None:
    """Write a confirmed dry run, in one transaction: all rows, or only the valid ones (the
    job's apply_mode). Safe to run twice: a second run finds the job no longer claimable."""
    claimed = _LEASE.claim(job_id, start=Q(status=JobStatus.APPLYING, claim_token=""), running=JobStatus.APPLYING)
    if claimed is None:
        return None
    job, token = claimed
    beat = _Beat(job, token, side=True, echo=echo)
    try:
        sheet = _read(job)
        with transaction.atomic():
            # One apply per advertiser at a time: two sheets planned against the same tree would
            # each be right alone and wrong together.
            advertiser = Advertiser.objects.select_for_update().get(pk=job.advertiser_id)
            plan = sheet_plan(advertiser=advertiser, sheet=sheet, mode=job.resolved_mode or job.mode)
            if plan.hash() != job.plan_hash:
                raise StalePlan("The campaigns changed since the dry run: nothing was written. Upload the sheet again "
                                "for a new dry run.")
            if job.apply_mode == ApplyMode.ALL and plan.error_rows:
                raise StalePlan("Rows have errors and all rows were to be applied: nothing was written.")
            written = plan_apply(plan=plan, advertiser=advertiser, by=job.confirmed_by, progress=beat)
            counts = {**job.counts, "applied": sum(written.values()), "written": written}
            if not _LEASE.mine(job, token).update(status=JobStatus.SUCCEEDED, counts=counts,
                                                  finished_at=timezone.now(), heartbeat_at=timezone.now(),
                                                  progress_done=sum(written.values()),
                                                  progress_total=sum(written.values())):
                raise LeaseLost(job.pk)  # rolls the whole apply back: the new owner does it
    except (SheetRefused, StalePlan) as exc:
        _LEASE.fail(job, token, str(exc))
    except LeaseLost:
        log.warning("bulk sheet apply taken over by another worker", extra={"bulk_sheet_job": job.pk})
    except Exception as exc:
        log.exception("bulk sheet apply failed", extra={"bulk_sheet_job": job.pk})
        _LEASE.fail(job, token, f"Nothing was written: {type(exc).__name__}: {exc}")
    finally:
        beat.close()
    return BulkSheetJob.objects.get(pk=job.pk)


# --- export ----------------------------------------------------------------------------------------


def bulk_sheet_export(*, job_id: int, echo=None) -> BulkSheetJob | None:
    """Write the advertiser's tree as an Amazon-layout workbook onto the job."""
    claimed = _LEASE.claim(job_id, start=Q(status=JobStatus.QUEUED, kind=JobKind.EXPORT), running=JobStatus.EXPORTING)
    if claimed is None:
        return None
    job, token = claimed
    beat = _Beat(job, token, echo=echo)
    try:
        total = export_row_count(job.advertiser)
        beat(0, total)
        rows = {}

        def write(spool):
            rows["n"] = write_export(advertiser=job.advertiser, handle=spool, progress=beat, total=total,
                                     metrics=job.metrics_range)

        name = _store(job, write)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        if not _LEASE.mine(job, token).update(
            status=JobStatus.SUCCEEDED, file=name, filename=f"bulk-sheet-{job.advertiser_id}-{stamp}.xlsx",
            counts={"rows": rows["n"]}, progress_done=rows["n"], progress_total=rows["n"], finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        ):
            raise LeaseLost(job.pk)
    except LeaseLost:
        log.warning("bulk sheet export taken over by another worker", extra={"bulk_sheet_job": job.pk})
    except Exception as exc:
        log.exception("bulk sheet export failed", extra={"bulk_sheet_job": job.pk})
        _LEASE.fail(job, token, f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        beat.close()
    return BulkSheetJob.objects.get(pk=job.pk)


# --- the reconciler --------------------------------------------------------------------------------

_TASK_FOR = {
    (JobKind.IMPORT, JobStatus.QUEUED): "bulk_sheet_validate_task",
    (JobKind.IMPORT, JobStatus.VALIDATING): "bulk_sheet_validate_task",
    (JobKind.IMPORT, JobStatus.APPLYING): "bulk_sheet_apply_task",
    (JobKind.EXPORT, JobStatus.QUEUED): "bulk_sheet_export_task",
    (JobKind.EXPORT, JobStatus.EXPORTING): "bulk_sheet_export_task",
}


def bulk_sheet_jobs_reconcile(*, stale: timedelta | None = None) -> dict[str, int]:
    """Re-enqueue jobs whose task was lost (queued or running with a stale heartbeat); fail
    those whose worker was lost MAX_ATTEMPTS times."""
    return requeue_lost_jobs(
        BulkSheetJob.objects.filter(status__in=[JobStatus.QUEUED, *JobStatus.running()]),
        stale_after=heartbeat_stale_after(), stale=stale,
        max_attempts=MAX_ATTEMPTS, queued=JobStatus.QUEUED, failed=JobStatus.FAILED,
        lost_error="The worker was lost {attempts} times; nothing more was written. Start the job again.",
        enqueue=lambda pk, status, kind: _enqueue(_TASK_FOR[(kind, status)], pk), extra_fields=("kind",),
    )
