"""Creative jobs: one task per creative (the pipeline), zip expansion, reprocessing after a spec
change, and the reconciler that recovers work from lost workers. Thin: ids in, one service."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

log = logging.getLogger(__name__)


@db_task()
def process_creative_task(run_id: int) -> str | None:
    """Safe to run twice: only a queued run is claimed; the reconciler re-sends lost ones."""
    from creatives.services.pipeline import creative_process

    run = creative_process(run_id=run_id)
    if run is not None:
        log.info("creative processed", extra={"run": run.pk, "creative": run.creative_id, "status": run.status})
    return run.status if run is not None else None


@db_task()
def expand_batch_task(batch_id: int) -> str | None:
    from creatives.services.batches import batch_expand

    batch = batch_expand(batch_id=batch_id)
    return batch.status if batch is not None else None


@db_task()
def reprocess_for_spec_task(spec_id: int) -> int:
    from creatives.services.runs import creatives_reprocess_for_spec

    queued = creatives_reprocess_for_spec(spec_id=spec_id)
    log.info("creatives queued after a spec change", extra={"spec": spec_id, "queued": queued})
    return queued


@db_periodic_task(crontab(minute="*/2"))
@lock_task("creatives-reconcile")
def reconcile_creative_runs() -> dict:
    """Re-queue processing runs and batch expansions whose worker was lost."""
    from creatives.services.batches import batches_reconcile
    from creatives.services.runs import runs_reconcile

    result = runs_reconcile()
    result["batches"] = batches_reconcile()
    return result
