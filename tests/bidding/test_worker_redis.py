"""The daily audit through a real Huey consumer on Redis, against the real (PostgreSQL) database."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from bidding.models import AuditRun
from tests.bidding.factories import ProductBidFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_audit_and_keeps_the_request_id(requires_postgres, requires_redis):
    from huey.contrib.djhuey import HUEY

    from backend.observability.context import request_id_var
    from bidding import tasks

    ProductBidFactory(adjusted_cpc="1.50")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    env = {**os.environ, "HUEY_IMMEDIATE": "0", "HUEY_NAME": queue, "DATABASE_URL": database_url}
    original_name = HUEY.name
    HUEY.name = queue
    HUEY.immediate = False  # back to the real Redis storage, under this test's own queue name
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "1", "--no-periodic"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert type(HUEY.storage).__name__ == "RedisStorage"
        token = request_id_var.set("req-from-web")
        try:
            tasks.daily_budget_audit()  # enqueued exactly as the web process would
        finally:
            request_id_var.reset(token)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not AuditRun.objects.filter(status="succeeded").exists():
            time.sleep(0.2)
        run = AuditRun.objects.get()
        assert (run.status, run.total_bids, run.flagged_count) == ("succeeded", 1, 1)
        assert run.request_id == "req-from-web"
    finally:
        worker.send_signal(2)  # SIGINT: graceful
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        HUEY.storage.flush_all()
        HUEY.name = original_name
        HUEY.immediate = True
