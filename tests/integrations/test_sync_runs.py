"""Sync runs as jobs: one live run per direction, leases, the reconciler, periodic starts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import LineItem
from integrations import tasks
from integrations.models import SyncRun, SyncStatus, SyncTrigger
from integrations.sync import (
    LeaseLost,
    NoConnection,
    SyncAlreadyRunning,
    push_dirty_count,
    sync_run_execute,
    sync_run_start,
    sync_runs_reconcile,
)
from integrations.sync.runs import RunRecorder, run_claim
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    dsp_client,
    dsp_connection,
    fake_state,
    sync,
)

pytestmark = pytest.mark.django_db


def test_a_second_live_push_for_the_same_advertiser_is_refused(dsp_connection, advertiser):
    first = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)

    with pytest.raises(SyncAlreadyRunning) as refused:
        sync_run_start(advertiser=advertiser, direction="push", enqueue=False)

    assert refused.value.run == first
    assert sync_run_start(advertiser=advertiser, direction="pull", enqueue=False).status == SyncStatus.QUEUED
    assert sync_run_start(advertiser=advertiser, direction="push", dry_run=True, enqueue=False)


def test_an_advertiser_without_a_connection_cannot_sync(advertiser):
    with pytest.raises(NoConnection):
        sync_run_start(advertiser=advertiser, direction="push", enqueue=False)


def test_a_finished_run_is_not_executed_again(fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=2)
    run = sync(advertiser, client=dsp_client)

    again = sync_run_execute(run_id=run.pk, client=dsp_client)

    assert (again.status, again.attempts, again.created) == (SyncStatus.SUCCEEDED, 1, 3)
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 2


def test_a_worker_that_lost_its_lease_writes_nothing_more(dsp_connection, advertiser):
    run = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)
    old_token = run_claim(run.pk)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    new_token = run_claim(run.pk)  # the reconciler's rerun, on another worker

    with pytest.raises(LeaseLost):
        RunRecorder(run=SyncRun.objects.get(pk=run.pk), token=old_token).save()

    assert new_token and new_token != old_token
    assert SyncRun.objects.get(pk=run.pk).attempts == 2


def test_the_reconciler_requeues_a_stale_run_and_the_rerun_finishes_the_rest(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    build_tree(advertiser, line_items=300)
    first = sync(advertiser, client=dsp_client)  # a first push, so a "half done" state exists
    LineItem.objects.filter(campaign__advertiser=advertiser).update(default_bid=Decimal("1.30"))
    build_tree(advertiser, line_items=150)
    run = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)
    run_claim(run.pk)  # a worker took it…
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))  # …and died

    counts = sync_runs_reconcile()
    done = sync_run_execute(run_id=run.pk, client=dsp_client)

    assert first.status == SyncStatus.SUCCEEDED
    assert counts == {"requeued": 1, "resent": 0, "failed": 0}
    assert (done.status, done.attempts, done.updated, done.created) == (SyncStatus.SUCCEEDED, 2, 300, 151)
    assert fake_state(fake_dsp)["entities"]["adGroups"] == 450


def test_a_run_that_keeps_losing_its_worker_is_failed(dsp_connection, advertiser, settings):
    settings.SYNC_MAX_ATTEMPTS = 2
    run = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.RUNNING, attempts=2,
                                             heartbeat_at=timezone.now() - timedelta(hours=1))

    assert sync_runs_reconcile()["failed"] == 1
    assert "Worker lost 2 times" in SyncRun.objects.get(pk=run.pk).error


def test_a_queued_run_whose_task_was_lost_is_sent_again(dsp_connection, advertiser):
    run = sync_run_start(advertiser=advertiser, direction="pull", enqueue=False)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=2))

    assert sync_runs_reconcile()["resent"] == 1


def test_push_on_change_starts_runs_only_where_something_changed(
        fake_dsp, dsp_connection, dsp_client, advertiser, other_advertiser):
    items = build_tree(advertiser, line_items=3)
    sync(advertiser, client=dsp_client)
    assert push_dirty_count(advertiser=advertiser) == 0
    LineItem.objects.filter(pk=items[0].pk).update(default_bid=Decimal("1.95"))  # .update(): no updated_at, no signal

    started = tasks.sync_push_changed.call_local()

    assert push_dirty_count(advertiser=advertiser) == 1
    run = SyncRun.objects.filter(trigger=SyncTrigger.CHANGE).get()
    assert (started, run.advertiser) == (1, advertiser)
