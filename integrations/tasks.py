"""Background jobs of the integrations app: DSP sync runs, their schedules and their reconciler,
and the competitor price fetch.

Every sync task only executes a SyncRun row (ids in, idempotent): the row, not the Huey message,
is the job, so a message lost with a killed worker is sent again by `reconcile_sync_runs`.
"""

import logging
from datetime import timedelta

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from integrations.models import SyncDirection, SyncScope, SyncTrigger

log = logging.getLogger(__name__)

_PULL_MINUTE = str(getattr(settings, "SYNC_PULL_MINUTE", 15))
_PUSH_HOUR = str(getattr(settings, "SYNC_PUSH_HOUR", 2))
_CHANGE_MINUTES = int(getattr(settings, "SYNC_CHANGE_INTERVAL_MINUTES", 5))
_REPORT_HOURS = str(getattr(settings, "SYNC_REPORT_HOURS", "6,18"))
_COMPETITOR_MINUTES = int(getattr(settings, "COMPETITOR_FETCH_INTERVAL_MINUTES", 60))


@db_task()
def sync_run_task(run_id: int) -> str:
    """Execute one queued sync run (safe to deliver twice: the claim lets one worker have it)."""
    from integrations.sync import sync_run_execute

    run = sync_run_execute(run_id=run_id)
    log.info("sync run %s", run.status, extra={"sync_run": run_id, "created": run.created, "updated": run.updated,
                                                "failed": run.failed, "conflicts": run.conflicts})
    return run.status


def _schedule(direction: str, scope: str, trigger: str, *, only_dirty: bool = False) -> int:
    from integrations.sync import sync_runs_schedule

    runs = sync_runs_schedule(direction=direction, scope=scope, trigger=trigger, only_dirty=only_dirty)
    return len(runs)


@db_periodic_task(crontab(minute=_PULL_MINUTE))
@lock_task("integrations-sync-pull-hourly")
def sync_pull_hourly() -> int:
    """Statuses, delivery and Amazon-side edits for every connected advertiser."""
    return _schedule(SyncDirection.PULL, SyncScope.ENTITIES, SyncTrigger.SCHEDULE)


@db_periodic_task(crontab(minute="45", hour=_REPORT_HOURS))
@lock_task("integrations-sync-pull-performance")
def sync_pull_performance() -> int:
    """Daily performance from DSP reports, twice a day: Amazon asks for one or two report
    requests per advertiser and day, not one an hour."""
    return _schedule(SyncDirection.PULL, SyncScope.PERFORMANCE, SyncTrigger.SCHEDULE)


@db_periodic_task(crontab(minute="0", hour=_PUSH_HOUR))
@lock_task("integrations-sync-push-nightly")
def sync_push_nightly() -> int:
    """Everything for every connected advertiser (unchanged objects cost no request)."""
    return _schedule(SyncDirection.PUSH, SyncScope.ALL, SyncTrigger.SCHEDULE)


@db_periodic_task(crontab(minute=f"*/{_CHANGE_MINUTES}"))
@lock_task("integrations-sync-push-changed")
def sync_push_changed() -> int:
    """"Push on change": campaigns cannot call integrations, so changed objects are found here
    by comparing hashes with the last sync, and only advertisers with any get a push."""
    return _schedule(SyncDirection.PUSH, SyncScope.ALL, SyncTrigger.CHANGE, only_dirty=True)


@db_periodic_task(crontab(minute="*"))
def reconcile_sync_runs(heartbeat_stale_seconds: float | None = None,
                        queued_stale_seconds: float | None = None) -> dict:
    """Re-queue runs whose worker was lost. Thresholds default to settings; passing them is for
    operators (and tests) who know the workers are gone."""
    from integrations.sync import sync_runs_reconcile

    return sync_runs_reconcile(
        heartbeat_stale=None if heartbeat_stale_seconds is None else timedelta(seconds=heartbeat_stale_seconds),
        queued_stale=None if queued_stale_seconds is None else timedelta(seconds=queued_stale_seconds),
    )


def _every(minutes: int) -> crontab:
    if minutes < 60:
        return crontab(minute=f"*/{minutes}")
    return crontab(minute="0", hour=f"*/{max(1, minutes // 60)}")


@db_periodic_task(_every(_COMPETITOR_MINUTES))
@lock_task("integrations-competitor-prices")
def fetch_competitor_prices() -> dict:
    """Every enabled competitor source; a failure is recorded on its source and shown in health."""
    from integrations.competitors import competitor_sources_fetch

    return competitor_sources_fetch()


@db_task()
def fetch_competitor_source(source_id: int) -> dict:
    """One source now (the admin's "fetch now")."""
    from integrations.competitors import CompetitorFetchFailed, competitor_prices_fetch
    from integrations.models import CompetitorSource

    source = CompetitorSource.objects.filter(pk=source_id).first()
    if source is None:
        return {"status": "gone"}
    try:
        result = competitor_prices_fetch(source=source)
    except CompetitorFetchFailed as exc:
        return {"status": "failed", "error": str(exc)}
    return {"status": "ok", "products": result.products, "changes": result.price_changes, "events": result.events}
