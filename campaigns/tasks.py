"""Background jobs of the campaigns app: processing rule events and recovering lost ones."""

import logging
from datetime import timedelta

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_task(retries=3, retry_delay=10)
def process_event(event_id: int) -> None:
    """Match the event against its advertiser's rules and apply them, with a batch of that
    advertiser's other queued events (safe to run twice; see campaigns.rules.processing)."""
    from campaigns.rules.processing import finished_here_recently
    from campaigns.rules.services import event_process  # the service enqueues this task

    # Most tasks find their event done by a batch of this worker: no database round trip then.
    # Inline (immediate) runs share their process with test rollbacks, so they always ask.
    if not HUEY.immediate and finished_here_recently(event_id):
        return
    outcome = event_process(event_id=event_id)
    log.info("event %s", outcome, extra={"event": event_id})


@db_periodic_task(crontab(minute="*"))
def reconcile_events(heartbeat_stale_seconds: float | None = None, queued_stale_seconds: float | None = None) -> None:
    """Re-enqueue events whose worker or task was lost; fail those out of attempts.

    The thresholds default to settings; passing them is for operators (and tests) who know the
    workers are gone.
    """
    from campaigns.rules.services import events_reconcile

    counts = events_reconcile(
        heartbeat_stale=None if heartbeat_stale_seconds is None else timedelta(seconds=heartbeat_stale_seconds),
        queued_stale=None if queued_stale_seconds is None else timedelta(seconds=queued_stale_seconds),
    )
    if any(counts.values()):
        log.info("events reconciled", extra=counts)
