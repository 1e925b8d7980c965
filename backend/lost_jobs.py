"""Finding job rows whose worker or task was lost, for the reconcilers of jobs that share one
shape (status, attempts, heartbeat_at, finished_at, error): bulk-sheet jobs and performance
imports.

A row still active (queued or running) with a heartbeat older than the cutoff lost its task or
its worker. Out of attempts, it fails with the given message; otherwise it is enqueued again. A
queued row gets a fresh heartbeat so the next reconcile does not send it twice; a running one is
dated back past the stale threshold, so that the task's claim (which takes over running rows
only when their heartbeat is older than the setting) also accepts it when an operator passed a
shorter `stale` than the setting.
"""

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

BATCH = 1000  # rows per reconcile; the next one (every minute) takes the rest


def requeue_lost_jobs(queryset, *, stale_after: timedelta, stale: timedelta | None = None, max_attempts: int,
                      queued: str, failed: str, lost_error: str, enqueue: Callable[..., None],
                      extra_fields: tuple[str, ...] = ()) -> dict[str, int]:
    """`queryset`: the model's active rows; lost are those whose heartbeat is older than `stale`
    (default: `stale_after`, the setting the claim uses). `lost_error` may use {attempts}.
    `enqueue(pk, status, *extra_fields values)` sends the task that picks the row up again."""
    model = queryset.model
    now = timezone.now()
    cutoff = now - (stale if stale is not None else stale_after)
    lost = queryset.filter(heartbeat_at__lt=cutoff).values_list("pk", "status", "attempts", *extra_fields)[:BATCH]
    counts = {"requeued": 0, "failed": 0}
    for pk, status, attempts, *extra in lost:
        if attempts >= max_attempts:
            counts["failed"] += model.objects.filter(pk=pk, status=status).update(
                status=failed, finished_at=now, error=lost_error.format(attempts=attempts))
            continue
        if status == queued:
            model.objects.filter(pk=pk, status=status).update(heartbeat_at=now)  # not again next minute
        else:
            model.objects.filter(pk=pk, status=status, heartbeat_at__lt=cutoff).update(
                heartbeat_at=now - 2 * stale_after)
        enqueue(pk, status, *extra)
        counts["requeued"] += 1
    return counts
