"""A push through real Huey workers on Redis against PostgreSQL: the first worker is SIGKILLed
mid-run, the reconciler hands the run to a second worker, and Amazon ends with no duplicates."""

import os
import signal
import subprocess
import uuid

import pytest
from django.db import connection

from integrations.models import ExternalRef, SyncRun, SyncStatus
from integrations.sync import sync_run_start
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    clear_faults,
    dsp_connection,
    fake_state,
    set_faults,
)
from tests.workers import huey_worker, wait_for


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_push_is_replaced_and_nothing_is_created_twice(
        requires_postgres, requires_redis, fake_dsp, dsp_connection, advertiser, encryption_key):
    from huey.contrib.djhuey import HUEY

    from integrations import tasks

    build_tree(advertiser, line_items=1000)
    # Slow creates (0.2 s each, still answered) so the kill lands mid-run, maybe mid-request.
    set_faults(fake_dsp, [{"route": "POST /dsp/v1/adGroups", "delay": 0.2}])
    queue = f"test-sync-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {**os.environ, "HUEY_IMMEDIATE": "0", "HUEY_NAME": queue, "CREDENTIALS_ENCRYPTION_KEYS": encryption_key,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    original_name = HUEY.name
    HUEY.name, HUEY.immediate = queue, False
    workers = [huey_worker(env)]
    try:
        run = sync_run_start(advertiser=advertiser, direction="push")  # enqueued on commit, as from the web
        # Three of ten create batches answered: the kill lands among the creates.
        wait_for(lambda: SyncRun.objects.get(pk=run.pk).progress_done >= 301, what="the first worker's progress", timeout=60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        lost = SyncRun.objects.get(pk=run.pk)
        assert lost.status == SyncStatus.RUNNING  # nobody will finish it: its worker is gone
        assert 0 < fake_state(fake_dsp)["entities"]["adGroups"] < 1000
        assert ExternalRef.objects.filter(pending_since__isnull=False).exists()
        clear_faults(fake_dsp)

        workers.append(huey_worker(env))
        assert tasks.reconcile_sync_runs.call_local(heartbeat_stale_seconds=0)["requeued"] == 1
        done = wait_for(lambda: SyncRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
                        what="the second worker to finish the run", timeout=60)

        assert done.status == SyncStatus.SUCCEEDED, done.error
        assert (done.attempts, done.created, done.updated, done.failed) == (2, 1001, 0, 0)
        state = fake_state(fake_dsp)
        assert state["entities"]["adGroups"] == 1000
        assert state["entities"]["campaigns"] == 1
        assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()
        assert ExternalRef.objects.filter(external_id__isnull=False).count() == 1001
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
        HUEY.storage.flush_all()
        HUEY.name, HUEY.immediate = original_name, True
