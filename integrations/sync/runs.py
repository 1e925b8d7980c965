"""Sync runs as jobs that survive lost workers.

Huey delivers a task at most once (a SIGKILLed worker loses it), so the SyncRun row is the job:
- `sync_run_start` commits the row as queued and enqueues `sync_run_task` on commit.
- A worker claims it with one UPDATE (queued, or running with a stale heartbeat → running with a
  fresh claim token). Every batch then saves progress and counts with the heartbeat, through an
  UPDATE that also checks the token: a worker presumed dead that wakes up writes nothing more.
- `sync_runs_reconcile` puts running rows whose heartbeat went stale back to queued (and re-sends
  queued rows nobody picked up). The rerun resumes: the push is idempotent (hashes and the
  create journal on ExternalRef), so it finishes only what the lost worker left.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.observability.context import current_request_id
from integrations.models import (
    AmazonAdvertiserLink,
    AmazonConnection,
    SyncDirection,
    SyncRun,
    SyncScope,
    SyncStatus,
    SyncTrigger,
)

log = logging.getLogger("integrations.sync")

MAX_STORED_ERRORS = 500


def heartbeat_stale_after() -> timedelta:
    """A running sync with no heartbeat for this long lost its worker (a batch beats every few
    seconds; a report poll beats on every poll)."""
    return timedelta(seconds=getattr(settings, "SYNC_HEARTBEAT_STALE_SECONDS", 600))


def queued_stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "SYNC_QUEUED_STALE_SECONDS", 900))


def max_attempts() -> int:
    return int(getattr(settings, "SYNC_MAX_ATTEMPTS", 5))


class NoConnection(Exception):
    """The advertiser is linked to no DSP advertiser (AmazonAdvertiserLink), or the link is unusable."""


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun | None):
        super().__init__(f"A {run.direction} for this advertiser is already {run.status} (run {run.pk})."
                         if run else "A sync for this advertiser is already running.")
        self.run = run


class LeaseLost(Exception):
    """Another worker claimed this run (ours was presumed dead): stop writing."""


def link_or_none(advertiser) -> AmazonAdvertiserLink | None:
    """The advertiser's DSP advertiser and the connection that reaches it, if it is linked."""
    return AmazonAdvertiserLink.objects.select_related("connection").filter(advertiser=advertiser).first()


def link_for(advertiser) -> AmazonAdvertiserLink:
    """The advertiser's DSP advertiser and the connection that reaches it."""
    link = link_or_none(advertiser)
    if link is None:
        raise NoConnection(f"Advertiser {advertiser} is linked to no Amazon DSP advertiser; link it on an "
                           "Amazon connection in the admin first.")
    return link


def connection_for(advertiser) -> AmazonConnection:
    return link_for(advertiser).connection


def _enqueue(run_id: int) -> None:
    from integrations.tasks import sync_run_task  # the task module imports this package

    sync_run_task(run_id)


def sync_run_start(
    *,
    advertiser,
    direction: str,
    scope: str = SyncScope.ALL,
    dry_run: bool = False,
    trigger: str = SyncTrigger.COMMAND,
    by=None,
    connection: AmazonConnection | None = None,
    enqueue: bool = True,
) -> SyncRun:
    """Record a queued run and (by default) enqueue it once the row is committed.

    Raises SyncAlreadyRunning when a live (queued/running) run of the same direction exists for
    the advertiser: two pushes at once could both create the same object.
    """
    if direction not in SyncDirection.values:
        raise ValueError(f"direction must be one of {', '.join(SyncDirection.values)}")
    if scope == SyncScope.PERFORMANCE and direction == SyncDirection.PUSH:
        raise ValueError("Performance is only pulled.")
    connection = connection or connection_for(advertiser)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                connection=connection, advertiser=advertiser, direction=direction, scope=scope, dry_run=dry_run,
                trigger=trigger, created_by=by if getattr(by, "pk", None) else None,
                request_id=current_request_id() or "",
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue(run.pk), robust=True)
    except IntegrityError:
        live = SyncRun.objects.filter(advertiser=advertiser, direction=direction, dry_run=False,
                                      status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]).first()
        raise SyncAlreadyRunning(live) from None
    return run


def run_claim(run_id: int, *, now=None) -> str | None:
    """Take the run for this worker; None when it is finished or another worker holds it."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    stale = Q(status=SyncStatus.RUNNING, heartbeat_at__lt=now - heartbeat_stale_after())
    claimable = Q(status=SyncStatus.QUEUED) | stale
    claimed = SyncRun.objects.filter(claimable, pk=run_id).update(
        status=SyncStatus.RUNNING, claim_token=token, attempts=F("attempts") + 1, heartbeat_at=now,
        started_at=Coalesce(F("started_at"), now), progress_done=0,
    )
    return token if claimed else None


@dataclass
class RunRecorder:
    """This worker's view of the run it holds: counts, progress and errors kept on the instance,
    saved with the heartbeat under the claim token."""

    run: SyncRun
    token: str
    on_progress: Callable[[SyncRun], None] | None = None

    def count(self, name: str, n: int = 1) -> None:
        setattr(self.run, name, getattr(self.run, name) + n)

    def done(self, n: int = 1) -> None:
        self.run.progress_done += n

    def add_total(self, n: int) -> None:
        self.run.progress_total += n

    def error(self, *, obj: str, code: str, message: str, request_id: str | None = None, failed: bool = True) -> None:
        if failed:
            self.run.failed += 1
        if len(self.run.errors) < MAX_STORED_ERRORS:
            entry = {"object": obj, "code": code, "message": message[:500]}
            if request_id:
                entry["request_id"] = request_id
            self.run.errors.append(entry)
        else:
            self.run.stats["errors_not_stored"] = self.run.stats.get("errors_not_stored", 0) + 1

    def save(self) -> None:
        """Progress, counts and the heartbeat in one UPDATE, only while we hold the lease. Call it
        inside the transaction that writes the batch's effects, so both commit together."""
        run = self.run
        run.heartbeat_at = timezone.now()
        fields = ("heartbeat_at", "progress_done", "progress_total", "created", "updated", "unchanged", "failed",
                  "conflicts", "errors", "stats")
        updated = SyncRun.objects.filter(pk=run.pk, claim_token=self.token, status=SyncStatus.RUNNING).update(
            **{f: getattr(run, f) for f in fields})
        if not updated:
            raise LeaseLost(f"Sync run {run.pk} was claimed by another worker.")
        if self.on_progress is not None:
            self.on_progress(run)  # a display only: showing a batch that then rolls back is harmless

    beat = save

    def finish(self, status: str, error: str = "") -> None:
        run = self.run
        run.status, run.error = status, error[:5000]
        run.finished_at = run.heartbeat_at = timezone.now()
        updated = SyncRun.objects.filter(pk=run.pk, claim_token=self.token).update(
            status=status, error=run.error, finished_at=run.finished_at, heartbeat_at=run.heartbeat_at,
            progress_done=run.progress_done, progress_total=run.progress_total, created=run.created,
            updated=run.updated, unchanged=run.unchanged, failed=run.failed, conflicts=run.conflicts,
            errors=run.errors, stats=run.stats, claim_token="",
        )
        if not updated:
            raise LeaseLost(f"Sync run {run.pk} was claimed by another worker.")
        if self.on_progress is not None:
            self.on_progress(run)


def sync_runs_reconcile(*, heartbeat_stale: timedelta | None = None, queued_stale: timedelta | None = None,
                        now=None) -> dict[str, int]:
    """Re-queue runs whose worker was lost, re-send queued runs whose task was lost, and fail
    runs that lost their worker `max_attempts` times. Safe to run at any time, from anywhere:
    the claim UPDATE lets only one worker hold a run."""
    now = now or timezone.now()
    heartbeat_stale = heartbeat_stale if heartbeat_stale is not None else heartbeat_stale_after()
    queued_stale = queued_stale if queued_stale is not None else queued_stale_after()
    counts = {"requeued": 0, "resent": 0, "failed": 0}
    requeue: list[int] = []
    with transaction.atomic():
        stale = SyncRun.objects.select_for_update(skip_locked=True).filter(
            status=SyncStatus.RUNNING, heartbeat_at__lt=now - heartbeat_stale)
        for run in stale:
            if run.attempts >= max_attempts():
                SyncRun.objects.filter(pk=run.pk).update(
                    status=SyncStatus.FAILED, finished_at=now, claim_token="",
                    error=f"Worker lost {run.attempts} times (no heartbeat since {run.heartbeat_at.isoformat()}).")
                counts["failed"] += 1
                continue
            SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
                status=SyncStatus.QUEUED, claim_token="", heartbeat_at=now)
            requeue.append(run.pk)
            counts["requeued"] += 1
        lost = SyncRun.objects.select_for_update(skip_locked=True).filter(
            status=SyncStatus.QUEUED, heartbeat_at__lt=now - queued_stale).exclude(pk__in=requeue)
        for run in lost:
            SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now)
            requeue.append(run.pk)
            counts["resent"] += 1
        for pk in requeue:
            transaction.on_commit(lambda pk=pk: _enqueue(pk), robust=True)
    if any(counts.values()):
        log.warning("sync runs reconciled", extra=counts)
    return counts


def sync_run_requeue(*, run: SyncRun) -> SyncRun:
    """A new run like `run` (admin "run again"): same advertiser, direction, scope and dry-run flag."""
    return sync_run_start(advertiser=run.advertiser, direction=run.direction, scope=run.scope, dry_run=run.dry_run,
                          trigger=SyncTrigger.ADMIN, connection=run.connection)
