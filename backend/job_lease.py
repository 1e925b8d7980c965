"""Leases on job rows that share one shape (status, claim_token, attempts, heartbeat_at, started_at,
finished_at, progress_done, progress_total, error): bulk-sheet jobs and performance imports.

A task claims its job with one conditional UPDATE (the status it expects, or the running status
with a heartbeat older than the setting) and a fresh token; it writes progress and its result only
while the token is still its own (`mine`), so a worker presumed dead and replaced cannot overwrite
its successor. The reconciler for such rows is backend.lost_jobs.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Model, Q
from django.utils import timezone


class LeaseLost(Exception):
    """Another worker took the job over (ours was presumed dead): stop writing."""


@dataclass(frozen=True)
class JobLease:
    """`model`'s jobs: `failed` is its failed status, `stale_setting` the setting (seconds, default
    300) after which a running job's heartbeat is stale, `related` what a claim selects with it."""

    model: type[Model]
    failed: str
    stale_setting: str
    max_attempts: int = 3
    related: tuple[str, ...] = ()

    def stale_after(self) -> timedelta:
        return timedelta(seconds=getattr(settings, self.stale_setting, 300))

    def claim(self, job_id: int, *, start: Q, running: str) -> tuple[Model, str] | None:
        """(the job, its token) when claimed: `start` matched, or it was `running` with a stale
        heartbeat, and attempts are left. None otherwise."""
        now = timezone.now()
        token = uuid.uuid4().hex
        claimable = start | Q(status=running, heartbeat_at__lt=now - self.stale_after())
        taken = self.model.objects.filter(claimable, pk=job_id, attempts__lt=self.max_attempts).update(
            status=running, claim_token=token, heartbeat_at=now, started_at=now, attempts=F("attempts") + 1,
        )
        if not taken:
            return None
        return self.model.objects.select_related(*self.related).get(pk=job_id), token

    def mine(self, job: Model, token: str):
        """The job's row while the claim is still ours (empty once another worker took it)."""
        return self.model.objects.filter(pk=job.pk, claim_token=token)

    def fail(self, job: Model, token: str, message: str, **fields) -> None:
        now = timezone.now()
        self.mine(job, token).update(status=self.failed, error=message[:4000], finished_at=now, heartbeat_at=now,
                                     **fields)


class Beat:
    """Progress and heartbeat, at most once a second; `echo(done, total)` sees every call. Raises
    LeaseLost when the job is no longer ours."""

    def __init__(self, lease: JobLease, job: Model, token: str, *, echo=None):
        self.lease, self.job, self.token, self.echo, self.last = lease, job, token, echo, 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.echo is not None:
            self.echo(done, total)
        now = timezone.now()
        if now.timestamp() - self.last < 1.0:
            return
        self.last = now.timestamp()
        self.write(done, total, now)

    def write(self, done: int, total: int, now) -> None:
        if not self.lease.mine(self.job, self.token).update(progress_done=done, progress_total=total, heartbeat_at=now):
            raise LeaseLost(self.job.pk)

    def close(self) -> None:
        pass
