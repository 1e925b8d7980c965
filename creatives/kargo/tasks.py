"""Kargo jobs: deal-list imports and their reconciler. Thin: ids in, one service.
Imported by creatives.kargo.models so Huey registers them with the creatives app."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

log = logging.getLogger(__name__)


@db_task(retries=2, retry_delay=10)
def kargo_deal_import_task(import_id: int) -> str:
    from creatives.kargo.imports import kargo_deal_import_run

    job = kargo_deal_import_run(import_id=import_id)  # safe to run twice: only a queued row is claimed
    log.info("kargo deal import", extra={"kargo_import": job.pk, "status": job.status})
    return job.status


@db_periodic_task(crontab(minute="*/5"))
@lock_task("kargo-imports-reconcile")
def reconcile_kargo_deal_imports() -> dict:
    from creatives.kargo.imports import kargo_deal_imports_reconcile

    return kargo_deal_imports_reconcile()
