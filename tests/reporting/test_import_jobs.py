"""PerformanceImport as a job: claimed once, progress while rows are checked, all rows or none,
safe to run twice, and recovered by the reconciler when its worker is lost."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from reporting.imports import (
    MAX_ATTEMPTS,
    performance_import_create,
    performance_import_run,
    performance_imports_reconcile,
)
from reporting.models import DailyPerformance, PerformanceImport
from reporting.tasks import reconcile_performance_imports
from reporting.uploads import UploadRefused
from tests.campaigns.factories import LineItemFactory
from tests.reporting.factories import as_of
from tests.reporting.helpers import csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def line_item(advertiser):
    return LineItemFactory(campaign__advertiser=advertiser)


def days(line_item, n: int, spend: str = "1.00") -> list[list]:
    last = as_of(line_item.campaign.advertiser)
    return [[last - timedelta(days=d), line_item.pk, 10, 1, 0, spend, 0, 0, 0, 0, 0] for d in range(n)]


def queued(file, by) -> PerformanceImport:
    return performance_import_create(upload=file, by=by, enqueue=False)


def test_an_upload_is_stored_as_a_queued_job_and_nothing_is_read_yet(line_item, trader):
    job = queued(csv_file(days(line_item, 2)), trader)

    assert (job.status, job.filename, job.requested_by, job.attempts) == ("queued", "performance.csv", trader, 0)
    assert job.file.name.startswith("reporting/imports/") and job.file.name.endswith(".csv")
    assert "performance" not in job.file.name  # the uploader's name is for display only
    assert DailyPerformance.objects.count() == 0


def test_the_job_writes_every_row_and_records_counts_and_progress(line_item, trader, settings):
    settings.REPORTING_IMPORT_HEARTBEAT_STALE_SECONDS = 300
    job = queued(csv_file(days(line_item, 1500)), trader)

    done = performance_import_run(import_id=job.pk)

    assert done.status == "succeeded"
    assert done.counts == {"rows": 1500, "created": 1500, "updated": 0, "unchanged": 0}
    assert (done.progress_done, done.progress_total, done.percent, done.attempts) == (1500, 1500, 100, 1)
    assert done.started_at <= done.finished_at and done.error == ""
    assert DailyPerformance.objects.count() == 1500


def test_running_the_task_twice_does_the_work_once(line_item, trader):
    job = queued(csv_file(days(line_item, 3)), trader)

    assert performance_import_run(import_id=job.pk).status == "succeeded"
    assert performance_import_run(import_id=job.pk) is None
    job.refresh_from_db()
    assert (job.attempts, job.counts["created"]) == (1, 3)


def test_one_bad_row_fails_the_job_and_writes_nothing(line_item, trader):
    rows = days(line_item, 5)
    rows[3][5] = "-1"  # spend
    job = performance_import_run(import_id=queued(csv_file(rows), trader).pk)

    assert (job.status, job.error_count, job.counts) == ("failed", 1, {"rows": 5})
    assert job.errors == [{"row": 5, "errors": {"spend": ["Cannot be negative."]}}]
    assert job.error == "Nothing was imported: 1 row(s) have errors."
    assert DailyPerformance.objects.count() == 0


def test_only_the_first_hundred_failing_rows_are_kept_but_all_are_counted(line_item, trader):
    rows = days(line_item, 150, spend="NaN")
    job = performance_import_run(import_id=queued(csv_file(rows), trader).pk)

    assert (job.status, job.error_count, len(job.errors)) == ("failed", 150, 100)


def test_a_file_refused_when_read_fails_the_job_with_the_reason(trader):
    job = queued(SimpleUploadedFile("report.csv", b"date,line_item_id,impressions,clicks\n2024-01-01,1,1,1\n"), trader)

    job = performance_import_run(import_id=job.pk)

    assert job.status == "failed" and job.error == "Nothing was imported: Missing column(s): spend."


def test_the_uploaders_roles_are_read_when_the_job_runs(line_item, trader):
    job = queued(csv_file(days(line_item, 1)), trader)
    trader.memberships.update(role="viewer")  # demoted between the upload and the run

    job = performance_import_run(import_id=job.pk)

    assert job.status == "failed" and "trader role" in job.errors[0]["errors"]["line_item_id"][0]


def test_an_upload_whose_user_was_deactivated_imports_nothing(line_item, trader):
    job = queued(csv_file(days(line_item, 1)), trader)
    trader.is_active = False
    trader.save(update_fields=["is_active"])

    job = performance_import_run(import_id=job.pk)

    assert job.status == "failed" and "no longer has access" in job.error
    assert DailyPerformance.objects.count() == 0


def test_files_refused_at_upload_store_nothing(trader):
    with pytest.raises(UploadRefused, match="empty"):
        queued(SimpleUploadedFile("report.csv", b""), trader)
    assert not PerformanceImport.objects.exists()


def test_the_reconciler_requeues_a_job_whose_worker_was_lost(line_item, trader):
    job = queued(csv_file(days(line_item, 4)), trader)
    PerformanceImport.objects.filter(pk=job.pk).update(
        status="running", claim_token="dead-worker", attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1))

    counts = performance_imports_reconcile(stale=timedelta(minutes=5))  # Huey runs the task at once in tests

    job.refresh_from_db()
    assert counts == {"requeued": 1, "failed": 0}
    assert (job.status, job.attempts, job.counts["created"]) == ("succeeded", 2, 4)
    assert DailyPerformance.objects.count() == 4


def test_the_reconciler_sends_again_a_queued_job_whose_message_was_lost(line_item, trader):
    job = queued(csv_file(days(line_item, 2)), trader)
    PerformanceImport.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    assert reconcile_performance_imports.call_local() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_the_reconciler_leaves_a_job_with_a_fresh_heartbeat_alone(line_item, trader):
    job = queued(csv_file(days(line_item, 2)), trader)
    PerformanceImport.objects.filter(pk=job.pk).update(status="running", claim_token="alive", attempts=1,
                                                       heartbeat_at=timezone.now())

    assert performance_imports_reconcile() == {"requeued": 0, "failed": 0}
    assert performance_import_run(import_id=job.pk) is None  # nor may another worker take it over
    job.refresh_from_db()
    assert (job.status, job.claim_token) == ("running", "alive")


def test_the_reconciler_gives_up_after_three_lost_workers(line_item, trader):
    job = queued(csv_file(days(line_item, 2)), trader)
    PerformanceImport.objects.filter(pk=job.pk).update(status="running", attempts=MAX_ATTEMPTS,
                                                       heartbeat_at=timezone.now() - timedelta(hours=1))

    assert performance_imports_reconcile() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and "lost 3 times" in job.error
    assert DailyPerformance.objects.count() == 0
