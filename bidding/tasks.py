"""Budget audit jobs: the daily audit and the reconciler that recovers from lost workers."""

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from bidding.audit import AuditAlreadyRunning, audit_runs_reconcile, budget_audit_run
from bidding.choices import AuditTrigger

log = logging.getLogger(__name__)


def _summary(run) -> dict:
    return {
        "run_id": run.pk,
        "status": run.status,
        "total_bids": run.total_bids,
        "flagged_bids": run.flagged_count,
        "error": run.error,
    }


@db_periodic_task(
    crontab(hour=str(settings.BUDGET_AUDIT_HOUR), minute=str(settings.BUDGET_AUDIT_MINUTE)),
    retries=2,
    retry_delay=300,
)
@lock_task("bidding-daily-budget-audit")
def daily_budget_audit(trigger: str = AuditTrigger.SCHEDULE) -> dict:
    """Audit the default window; the summary has total_bids and flagged_bids."""
    try:
        run = budget_audit_run(trigger=trigger)
    except AuditAlreadyRunning as exc:
        log.warning("budget audit skipped: %s", exc)
        return {"run_id": None, "status": "skipped", "total_bids": 0, "flagged_bids": 0, "error": str(exc)}
    return _summary(run)


@db_periodic_task(crontab(minute="*/5"))
def reconcile_audit_runs() -> int:
    """Close audits whose worker died; audit again when the lost one was the scheduled run."""
    closed = audit_runs_reconcile()
    if any(run.trigger in (AuditTrigger.SCHEDULE, AuditTrigger.RECONCILER) for run in closed):
        daily_budget_audit(trigger=AuditTrigger.RECONCILER)
    return len(closed)
