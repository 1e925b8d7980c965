"""Two-way sync with Amazon DSP (DESIGN: `integrations/sync.py`, a package because it outgrew a module).

    run = sync_run_start(advertiser=adv, direction="push")     # queued; a Huey task executes it
    sync_run_execute(run_id=run.pk)                             # what the task (or the command) does
    sync_runs_reconcile()                                       # re-queue runs whose worker died
    sync_conflict_resolve(conflict=c, resolution="ours", by=user)

mapping.py   what is synced, in Amazon's terms, for campaigns, line items and targets (values.py: canonical values)
merge.py     the three-way merge (base = last synced values) and ExternalRef bookkeeping
push.py      creates and updates in batches, with the create journal that makes reruns safe (lookup.py: reads)
creatives.py our creatives' renditions as DSP ad creatives (asset library) and their associations
pull.py      statuses and Amazon-side edits back onto our objects; conflicts
performance.py  DSP report → reporting.DailyPerformance
runs.py      SyncRun lifecycle: claim, heartbeat, finish, reconcile; which link (connection + DSP advertiser)
services.py  execute, resolve conflicts, scheduled starts
"""

from integrations.sync.push import AmazonUnavailable, push_dirty_count
from integrations.sync.runs import (
    LeaseLost,
    NoConnection,
    SyncAlreadyRunning,
    connection_for,
    link_for,
    sync_run_requeue,
    sync_run_start,
    sync_runs_reconcile,
)
from integrations.sync.services import (
    ConflictNotResolvable,
    sync_conflict_resolve,
    sync_run_execute,
    sync_runs_schedule,
)

__all__ = [
    "AmazonUnavailable",
    "ConflictNotResolvable",
    "LeaseLost",
    "NoConnection",
    "SyncAlreadyRunning",
    "connection_for",
    "link_for",
    "push_dirty_count",
    "sync_conflict_resolve",
    "sync_run_execute",
    "sync_run_requeue",
    "sync_run_start",
    "sync_runs_reconcile",
    "sync_runs_schedule",
]
