"""Huey tasks of bulk sheets: thin, ids in, each safe to run twice (the job row's claim decides
who works), and the periodic reconciler of jobs whose worker or task was lost.

Imported by campaigns.bulksheets.models, so every process that loads the models registers them.
"""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_task()
def bulk_sheet_validate_task(job_id: int) -> None:
    from campaigns.bulksheets.services import bulk_sheet_validate  # services enqueue these tasks

    bulk_sheet_validate(job_id=job_id)


@db_task()
def bulk_sheet_apply_task(job_id: int) -> None:
    from campaigns.bulksheets.services import bulk_sheet_apply

    bulk_sheet_apply(job_id=job_id)


@db_task()
def bulk_sheet_export_task(job_id: int) -> None:
    from campaigns.bulksheets.services import bulk_sheet_export

    bulk_sheet_export(job_id=job_id)


@db_periodic_task(crontab(minute="*"))
def reconcile_bulk_sheets() -> None:
    """Re-enqueue bulk-sheet jobs whose worker was lost (a stale heartbeat)."""
    from campaigns.bulksheets.services import bulk_sheet_jobs_reconcile

    counts = bulk_sheet_jobs_reconcile()
    if any(counts.values()):
        log.info("bulk sheet jobs reconciled", extra=counts)
