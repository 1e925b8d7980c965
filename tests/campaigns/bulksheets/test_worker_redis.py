"""Drill: a real Huey worker on Redis, SIGKILLed in the middle of a bulk-sheet apply, against
PostgreSQL. The reconciler hands the job to a second worker, and the advertiser ends exactly
where an uninterrupted apply of the same sheet leaves its twin: same rows, no duplicates, no
half-applied tree, the history written once.

Nothing of the code under test is replaced. The kill is made to land mid-apply by the database
itself: the test holds a row lock (SELECT … FOR UPDATE, from its own connection) on the one
existing keyword whose bid the sheet changes. The apply writes its creates first (a new campaign,
its ad group and 400 keywords: progress reported through the job's heartbeat connection), then
waits on that lock to update the keyword; the test sees the progress and the waiting backend in
pg_stat_activity, kills the worker, and only then lets the lock go.
"""

import io
import os
import signal
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from openpyxl import load_workbook

from campaigns.bulksheets.columns import DOWNLOAD_HEADERS, SP_SHEET
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.bulksheets.services import (
    bulk_sheet_apply,
    bulk_sheet_confirm,
    bulk_sheet_import_create,
    bulk_sheet_jobs_reconcile,
    bulk_sheet_validate,
)
from campaigns.bulksheets.writer import write_export
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, KeywordFactory, LineItemFactory
from tests.workers import huey_worker, wait_for

COLUMN = {header: index for index, header in enumerate(DOWNLOAD_HEADERS)}
NEW_KEYWORDS = 400
EDITED = "boot 0-0-3"  # the existing keyword whose bid the sheet changes (and the test locks)


def _tree(advertiser) -> None:
    for c in range(2):
        campaign = CampaignFactory(advertiser=advertiser, name=f"Boots {c}", daily_budget=Decimal("50.00"))
        for g in range(2):
            group = LineItemFactory(campaign=campaign, name=f"Boots {c}-{g}", default_bid=Decimal("0.50"))
            for k in range(10):
                KeywordFactory(line_item=group, text=f"boot {c}-{g}-{k}", match_type="exact", bid=Decimal("0.40"))


def _sheet(advertiser) -> bytes:
    """Our export, with one existing keyword's bid changed, plus a new campaign, ad group and
    NEW_KEYWORDS keywords as Create rows (temporary ids)."""
    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = workbook[SP_SHEET]
    for row in sheet.iter_rows(min_row=2):
        if row[COLUMN["Keyword Text"]].value == EDITED:
            row[COLUMN["Bid"]].value = 0.95

    def create(**cells):
        values = [None] * len(DOWNLOAD_HEADERS)
        for header, value in {"Product": "Sponsored Products", "Operation": "Create", "State": "enabled", **cells}.items():
            values[COLUMN[header]] = value
        sheet.append(values)

    start = (advertiser.today() + timedelta(days=1)).strftime("%Y%m%d")
    create(Entity="Campaign", **{"Campaign ID": "AUTUMN", "Campaign Name": "Autumn boots", "Start Date": start,
                                 "Targeting Type": "Manual", "Daily Budget": 40, "Bidding Strategy": "Fixed bid"})
    create(Entity="Ad Group", **{"Campaign ID": "AUTUMN", "Ad Group ID": "AG", "Ad Group Name": "Autumn group",
                                 "Ad Group Default Bid": 0.5})
    for n in range(NEW_KEYWORDS):
        create(Entity="Keyword", **{"Campaign ID": "AUTUMN", "Ad Group ID": "AG", "Keyword Text": f"autumn boot {n}",
                                    "Match Type": "exact", "Bid": 0.45})
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _dry_run(advertiser) -> BulkSheetJob:
    job = bulk_sheet_import_create(advertiser=advertiser, fileobj=io.BytesIO(_sheet(advertiser)),
                                   filename="drill.xlsx", mode="mirror", enqueue=False)
    job = bulk_sheet_validate(job_id=job.pk)
    assert job.status == "awaiting_confirmation" and not job.counts["errors"], job.diff.get("errors")
    return job


def _state(advertiser) -> dict:
    """Everything the apply can change, without ids (the twins' ids differ)."""
    campaigns = Campaign.objects.filter(advertiser=advertiser)
    line_items = LineItem.objects.filter(campaign__advertiser=advertiser)
    keywords = Keyword.objects.filter(line_item__campaign__advertiser=advertiser)
    return {
        "campaigns": sorted(campaigns.values_list("name", "status", "start_date", "daily_budget", "bidding_strategy")),
        "line_items": sorted(line_items.values_list("campaign__name", "name", "status", "default_bid")),
        "keywords": sorted(keywords.values_list("line_item__name", "text", "match_type", "bid", "state")),
        "history": sorted(ChangeRecord.objects.filter(advertiser=advertiser).values_list(
            "object_type", "field", "old_value", "new_value", "source")),
    }


def _counts(advertiser) -> tuple:
    return (Campaign.objects.filter(advertiser=advertiser).count(),
            LineItem.objects.filter(campaign__advertiser=advertiser).count(),
            Keyword.objects.filter(line_item__campaign__advertiser=advertiser).count(),
            ChangeRecord.objects.filter(advertiser=advertiser).count())


def _waiting_backend(database: str) -> int | None:
    """The pid of a backend of `database` waiting for a row lock (the worker's apply), if any."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                       [database])
        row = cursor.fetchone()
    return row[0] if row else None


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_apply_is_replaced_and_the_end_state_equals_an_uninterrupted_apply(
        requires_postgres, requires_redis):
    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    killed, twin = AdvertiserFactory(name="Killed mid-apply"), AdvertiserFactory(name="Applied in one go")
    _tree(killed)
    _tree(twin)
    before = _state(killed)
    assert before == _state(twin)

    # The twin: the same sheet, dry run and apply without interruption, in this process.
    twin_job = _dry_run(twin)
    bulk_sheet_confirm(job=twin_job, apply_mode="all", enqueue=False)
    twin_job = bulk_sheet_apply(job_id=twin_job.pk)
    assert twin_job.status == "succeeded", twin_job.error
    expected = _state(twin)
    untouched = _counts(killed)
    assert _counts(twin)[:3] == (3, 5, 40 + NEW_KEYWORDS)

    job = _dry_run(killed)
    locked = Keyword.objects.get(line_item__campaign__advertiser=killed, text=EDITED)
    db = connection.settings_dict
    dsn = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    queue = f"test-bulksheets-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "HUEY_IMMEDIATE": "0", "HUEY_NAME": queue, "DATABASE_URL": dsn,
           "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    original_name = HUEY.name
    HUEY.name, HUEY.immediate = queue, False  # the real Redis storage, under this test's own queue
    workers = [huey_worker(env)]
    lock = psycopg.connect(dsn)  # a transaction of its own, outside Django's
    try:
        lock.execute("SELECT id FROM campaigns_keyword WHERE id = %s FOR UPDATE", [locked.pk])
        bulk_sheet_confirm(job=job, apply_mode="all")  # enqueued on commit, as from the console

        # Mid-apply: the creates are written (progress came through), the update waits on the lock.
        wait_for(lambda: BulkSheetJob.objects.get(pk=job.pk).progress_done > 0, what="the first worker's progress", timeout=90)
        backend = wait_for(lambda: _waiting_backend(db["NAME"]), what="the apply to wait on the locked keyword", timeout=90)
        assert _counts(killed) == untouched  # nothing visible: not committed
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        lock.rollback()
        wait_for(lambda: not _backend_alive(backend), what="PostgreSQL to end the dead worker's transaction", timeout=90)

        # Nothing of the first attempt survived: no half-applied tree.
        lost = BulkSheetJob.objects.get(pk=job.pk)
        assert (lost.status, lost.attempts) == ("applying", 1)
        assert _state(killed) == before and not Campaign.objects.filter(name="Autumn boots", advertiser=killed).exists()

        workers.append(huey_worker(env))
        assert bulk_sheet_jobs_reconcile(stale=timedelta(0)) == {"requeued": 1, "failed": 0}
        done = wait_for(lambda: BulkSheetJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
                        what="the second worker to apply the sheet", timeout=90)

        assert done.status == "succeeded", done.error
        assert done.attempts == 2 and done.counts["written"] == twin_job.counts["written"]
        assert _state(killed) == expected
        assert _counts(killed) == _counts(twin)
        assert Keyword.objects.get(pk=locked.pk).bid == Decimal("0.95")
    finally:
        lock.close()
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)  # graceful
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
        HUEY.storage.flush_all()
        HUEY.name, HUEY.immediate = original_name, True
