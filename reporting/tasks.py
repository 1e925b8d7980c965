"""Background jobs of reporting: performance uploads (thin: ids in, one service) and the periodic
reconciler of uploads whose worker or task was lost. Each task is safe to run twice: the job
row's claim decides who works."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_task()
def performance_import_task(import_id: int) -> str | None:
    from reporting.imports import performance_import_run  # the service enqueues this task

    job = performance_import_run(import_id=import_id)
    if job is not None:
        log.info("performance import %s", job.status, extra={"performance_import": import_id, "counts": job.counts})
    return job.status if job is not None else None


@db_periodic_task(crontab(minute="*"))
def reconcile_performance_imports() -> dict:
    """Re-enqueue performance imports whose worker was lost (a stale heartbeat)."""
    from reporting.imports import performance_imports_reconcile

    counts = performance_imports_reconcile()
    if any(counts.values()):
        log.info("performance imports reconciled", extra=counts)
    return counts
