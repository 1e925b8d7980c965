"""A real Huey worker on Redis, SIGKILLed in the middle of an event, against PostgreSQL.

Huey loses a task whose worker dies (at-most-once delivery). The event row survives with a stale
heartbeat; the reconciler puts it back on the queue and a new worker finishes it. The rule that
had committed before the kill is not applied again, and the rules after it are applied once.

The worker is `manage.py run_huey` with one addition, made in its own process: the test-only
action `test_block`, which, while RULES_TEST_BLOCK_FILE is set in that process's environment,
writes the file (so the test knows the worker is mid-event) and sleeps until killed. Nothing of
the code under test is replaced.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.choices import EntityState
from campaigns.models import ChangeRecord, Event, Rule, RuleMatch
from campaigns.rules.actions import ActionType, Outcome, register_action
from campaigns.rules.models import EventStatus, MatchStatus
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory, ProductAdFactory
from tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]
BLOCK_FILE_ENV = "RULES_TEST_BLOCK_FILE"
WORKER = """
import django
django.setup()
from tests.campaigns.test_events_worker_redis import register_test_actions
register_test_actions()
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "run_huey", "--workers", "1", "--no-periodic"])
"""


class BlockWhileFlagged(ActionType):
    """Test-only: stands for slow work a worker can be killed in the middle of."""

    def apply(self, spec, ctx):
        path = os.environ.get(BLOCK_FILE_ENV)
        if path:
            Path(path).write_text(str(ctx.event.pk))
            time.sleep(600)  # until SIGKILL
        return [Outcome(MatchStatus.APPLIED, {"blocked": False})]


def register_test_actions() -> None:
    register_action("test_block", BlockWhileFlagged())


register_test_actions()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_event_is_recovered_by_the_reconciler_and_nothing_is_applied_twice(
        requires_postgres, requires_redis, advertiser, tmp_path):
    from huey.contrib.djhuey import HUEY

    from campaigns import tasks
    from campaigns.rules.services import event_ingest

    line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
    keyword = KeywordFactory(line_item=line_item, bid=Decimal("0.50"))
    product_ad = ProductAdFactory(line_item=line_item, asin="B000TEST01")
    raise_bid = Rule.objects.create(advertiser=advertiser, name="raise bid", event_type="inventory_low", priority=30,
                                    actions=[{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]},
                                              "by_percent": 10}])
    Rule.objects.create(advertiser=advertiser, name="slow", event_type="inventory_low", priority=20,
                        actions=[{"type": "test_block"}])
    Rule.objects.create(advertiser=advertiser, name="pause ad", event_type="inventory_low", priority=10,
                        actions=[{"type": "pause", "target": {"kind": "product_ad", "ids": [product_ad.pk]}}])

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {**os.environ, "HUEY_IMMEDIATE": "0", "HUEY_NAME": queue,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    env.pop(BLOCK_FILE_ENV, None)
    block_file = tmp_path / "worker-is-mid-event"
    original_name = HUEY.name
    HUEY.name, HUEY.immediate = queue, False  # the real Redis storage, under this test's own queue

    def start_worker(**extra_env):
        return subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env={**env, **extra_env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = start_worker(**{BLOCK_FILE_ENV: str(block_file)})
    second = None
    try:
        assert type(HUEY.storage).__name__ == "RedisStorage"
        event, _ = event_ingest(advertiser=advertiser, event_id="evt-kill", type="inventory_low",
                                occurred_at=timezone.now(), payload={"product": {"asin": "B000TEST01"}})
        wait_for(block_file.exists, timeout=60, interval=0.2, what="the first worker to reach the slow rule")

        # Mid-event: the first rule is committed, the rest is not; the task is about to be lost.
        event.refresh_from_db()
        keyword.refresh_from_db()
        assert (event.status, event.attempts, keyword.bid) == (EventStatus.PROCESSING, 1, Decimal("0.55"))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_worker()

        def recovered() -> bool:
            # The reconciler runs in the worker, as the periodic task would every minute.
            tasks.reconcile_events(heartbeat_stale_seconds=0)
            time.sleep(1)
            return Event.objects.get(pk=event.pk).status == EventStatus.PROCESSED

        wait_for(recovered, timeout=90, interval=0.2, what="the reconciler and the second worker to finish the event")

        event.refresh_from_db()
        keyword.refresh_from_db()
        product_ad.refresh_from_db()
        assert (event.attempts, event.rules_matched) == (2, 3)
        assert keyword.bid == Decimal("0.55")  # +10 % once, not 0.61
        assert ChangeRecord.objects.filter(source="rule", object_id=keyword.pk).count() == 1
        assert product_ad.state == EntityState.PAUSED
        per_rule = sorted(RuleMatch.objects.filter(event=event).values_list("rule__name", "status"))
        assert per_rule == [("pause ad", "applied"), ("raise bid", "applied"), ("slow", "applied")]
        assert RuleMatch.objects.get(rule=raise_bid).created_at < event.started_at  # from the first attempt
    finally:
        for worker in (first, second):
            if worker and worker.poll() is None:
                worker.send_signal(signal.SIGINT)  # graceful
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
        HUEY.storage.flush_all()
        HUEY.name, HUEY.immediate = original_name, True
