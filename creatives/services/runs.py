"""Processing runs: the row that exists before the work, so no lost worker loses a creative.

queued → running (claimed atomically; attempts + 1; heartbeat while working) → done | failed.
Huey delivers a task at most once, so `runs_reconcile` (periodic) puts a running run whose
heartbeat went stale back in the queue, up to CREATIVES_RUN_MAX_ATTEMPTS, and re-sends queued
runs whose task never arrived. A worker that finds its run taken back stops writing (RunLost).
"""

import logging
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.observability.context import current_request_id
from creatives import conf
from creatives.choices import CreativeStatus, RunStatus
from creatives.models import Creative, ProcessingRun

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0


class RunLost(RuntimeError):
    """The reconciler took this run back (stale heartbeat): another attempt owns it now."""


def _send(run_ids: list[int]) -> None:
    from creatives.tasks import process_creative_task  # tasks import services

    for run_id in run_ids:
        process_creative_task(run_id)


def enqueue_after_commit(run_ids: list[int]) -> None:
    if run_ids:
        transaction.on_commit(lambda: _send(run_ids))


def creatives_process_enqueue(*, creatives, reason: str) -> list[ProcessingRun]:
    """Queue processing of each creative, once: a creative with an active run keeps that run.

    One transaction for the rows; the tasks are sent after it commits. Safe to call twice."""
    request_id = current_request_id() or ""
    runs, new_ids = [], []
    with transaction.atomic():
        creatives = list(creatives)
        active = {r.creative_id: r for r in ProcessingRun.objects.filter(
            creative__in=creatives, status__in=RunStatus.active())}
        for creative in creatives:
            if creative.pk in active:
                runs.append(active[creative.pk])
                continue
            try:
                with transaction.atomic():
                    run = ProcessingRun.objects.create(creative=creative, reason=reason, request_id=request_id)
            except IntegrityError:  # a concurrent request queued it first: that run stands
                runs.append(ProcessingRun.objects.get(creative=creative, status__in=RunStatus.active()))
                continue
            runs.append(run)
            new_ids.append(run.pk)
        Creative.objects.filter(pk__in=[r.creative_id for r in runs if r.pk in new_ids]).update(
            status=CreativeStatus.PENDING, updated_at=timezone.now()
        )
        enqueue_after_commit(new_ids)
    return runs


def creative_process_enqueue(*, creative: Creative, reason: str) -> ProcessingRun:
    return creatives_process_enqueue(creatives=[creative], reason=reason)[0]


def run_claim(run_id: int) -> ProcessingRun | None:
    """Take a queued run (None if it is not queued: done, failed, or another worker has it)."""
    now = timezone.now()
    claimed = ProcessingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1, step="claimed"
    )
    if not claimed:
        return None
    return ProcessingRun.objects.select_related("creative", "creative__advertiser").get(pk=run_id)


class Heartbeat:
    """Proves the worker alive and records the step it is in, at most every couple of seconds
    (a fast run writes none between its claim and its end: the steps take milliseconds)."""

    def __init__(self, run: ProcessingRun):
        self.run, self.last = run, time.monotonic()

    def __call__(self, step: str) -> None:
        if time.monotonic() - self.last < HEARTBEAT_SECONDS:
            self.run.step = step
            return
        updated = ProcessingRun.objects.filter(
            pk=self.run.pk, status=RunStatus.RUNNING, attempts=self.run.attempts
        ).update(step=step, heartbeat_at=timezone.now())
        if not updated:
            raise RunLost(f"Run {self.run.pk} was taken back by the reconciler.")
        self.run.step, self.last = step, time.monotonic()


def run_still_mine(run: ProcessingRun) -> ProcessingRun:
    """Lock the run for the final write; RunLost if the reconciler took it back meanwhile."""
    locked = ProcessingRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != RunStatus.RUNNING or locked.attempts != run.attempts:
        raise RunLost(f"Run {run.pk} was taken back by the reconciler.")
    return locked


def run_close(run: ProcessingRun, *, status: str, error: str | None = None, started: float | None = None) -> None:
    """Finish the run; an earlier attempt's "worker lost" stays in `error` unless a new error replaces it."""
    run.status = status
    if error is not None:
        run.error = error[:4000]
    run.finished_at = run.heartbeat_at = timezone.now()
    if started is not None:
        run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "duration_ms", "step"])


def runs_reconcile(*, now=None) -> dict:
    """Re-queue runs whose worker was lost and re-send queued runs whose task never came.

    A run lost CREATIVES_RUN_MAX_ATTEMPTS times fails, and its creative is rejected with why."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.CREATIVES_RUN_STALE_SECONDS)
    requeued, failed, resent = [], [], []
    with transaction.atomic():
        stale = ProcessingRun.objects.select_for_update().filter(
            Q(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
        ).select_related("creative")
        for run in stale:
            lost = f"Worker lost during step {run.step or 'start'} (attempt {run.attempts}); last heartbeat {run.heartbeat_at:%Y-%m-%d %H:%M:%S}."
            if run.attempts >= conf.CREATIVES_RUN_MAX_ATTEMPTS:
                run.status, run.error, run.finished_at = RunStatus.FAILED, lost, now
                run.save(update_fields=["status", "error", "finished_at"])
                Creative.objects.filter(pk=run.creative_id).update(
                    status=CreativeStatus.REJECTED, rejection_code="processing_error", updated_at=now,
                    rejection_reason=f"Processing stopped: the worker was lost {run.attempts} times. Reprocess to try again.",
                )
                failed.append(run.pk)
            else:
                run.status, run.error, run.heartbeat_at = RunStatus.QUEUED, lost, now
                run.save(update_fields=["status", "error", "heartbeat_at"])
                requeued.append(run.pk)
        waiting = ProcessingRun.objects.select_for_update().annotate(
            since=Coalesce("heartbeat_at", "created_at")
        ).filter(status=RunStatus.QUEUED, since__lt=cutoff).exclude(pk__in=requeued)
        for run in waiting:
            run.heartbeat_at = now  # re-sent now; not again before another stale period
            run.save(update_fields=["heartbeat_at"])
            resent.append(run.pk)
        enqueue_after_commit(requeued + resent)
    if requeued or failed or resent:
        log.warning("creative runs reconciled", extra={"requeued": requeued, "failed": failed, "resent": resent})
    return {"requeued": requeued, "failed": failed, "resent": resent}


def creatives_affected_by(spec):
    """Creatives whose verdicts a change to `spec` can alter: its kind and delivery, checked
    against it (nothing requested, or this spec requested), and not refused for the file itself."""
    from django.db.models import Exists, OuterRef

    from creatives.models import Creative as C

    through = C.requested_specs.through
    requested_any = through.objects.filter(creative_id=OuterRef("pk"))
    requested_this = requested_any.filter(adspec_id=spec.pk)
    return C.objects.filter(kind=spec.kind, delivery=spec.delivery, rejection_code__in=["", "no_spec_passed"]).filter(
        ~Exists(requested_any) | Exists(requested_this)
    )


def creatives_reprocess_for_spec(*, spec_id: int) -> int:
    """After a spec changed: queue every creative it covers (in chunks); returns how many."""
    from creatives.models import AdSpec

    spec = AdSpec.objects.get(pk=spec_id)
    queued = 0
    ids = list(creatives_affected_by(spec).values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        chunk = Creative.objects.filter(pk__in=ids[start:start + 500])
        queued += len(creatives_process_enqueue(creatives=chunk, reason=f"spec {spec.code} changed"))
    return queued
