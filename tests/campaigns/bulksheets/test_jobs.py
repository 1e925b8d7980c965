"""BulkSheetJob through its lifecycle: dry run, confirmation, apply (all or valid only),
idempotency, progress, the error workbook and the reconciler."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.bulksheets.models import BulkSheetJob
from campaigns.bulksheets.services import (
    IdempotencyConflict,
    JobConflict,
    bulk_sheet_apply,
    bulk_sheet_confirm,
    bulk_sheet_export,
    bulk_sheet_export_create,
    bulk_sheet_jobs_reconcile,
    bulk_sheet_validate,
)
from campaigns.models import Campaign, ChangeRecord, Keyword
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory

from .conftest import CREATE, DOWNLOAD, row, sheet_bytes, start_import

GOOD_AND_BAD = [
    row(Entity="Campaign", Operation="Create", Campaign_Id="A", Campaign_Name="Good", Start_Date="20991231",
        Targeting_Type="Manual", State="enabled", Daily_Budget=50),
    row(Entity="Ad Group", Operation="Create", Campaign_Id="A", Ad_Group_Id="G", Ad_Group_Name="Group", State="enabled",
        Ad_Group_Default_Bid=0.5),
    row(Entity="Keyword", Operation="Create", Campaign_Id="A", Ad_Group_Id="G", State="enabled", Keyword_Text="fine",
        Match_Type="exact", Bid=0.7),
    row(Entity="Keyword", Operation="Create", Campaign_Id="A", Ad_Group_Id="G", State="enabled", Keyword_Text="too dear",
        Match_Type="exact", Bid=5000),
    row(Entity="Campaign", Operation="Create", Campaign_Id="B", Campaign_Name="Bad", Start_Date="20991231",
        Targeting_Type="Manual", State="live", Daily_Budget=50),
    row(Entity="Ad Group", Operation="Create", Campaign_Id="B", Ad_Group_Id="H", Ad_Group_Name="Orphan", State="enabled",
        Ad_Group_Default_Bid=0.5),
]


def test_an_import_waits_for_confirmation_then_applies_all_rows(advertiser, trader, run_on_commit):
    job = start_import(advertiser, DOWNLOAD.read_bytes(), run_on_commit, by=trader)

    assert job.status == "awaiting_confirmation" and job.resolved_mode == "mirror"
    assert (job.progress_done, job.progress_total, job.percent) == (13, 13, 100)
    assert job.counts["create"] == 13 and not Campaign.objects.filter(advertiser=advertiser).exists()
    assert job.diff["by_entity"]["Campaign"]["create"] == 2 and not job.error_file

    with run_on_commit():
        bulk_sheet_confirm(job=job, apply_mode="all", by=trader)
    job.refresh_from_db()

    assert (job.status, job.apply_mode, job.confirmed_by, job.counts["applied"]) == ("succeeded", "all", trader, 13)
    assert Campaign.objects.filter(advertiser=advertiser).count() == 2
    assert ChangeRecord.objects.filter(advertiser=advertiser, changed_by=trader, source="bulk").exists()


def test_rows_with_errors_block_an_all_rows_apply_and_the_error_workbook_has_amazons_shape(advertiser, trader, run_on_commit):
    job = start_import(advertiser, sheet_bytes(GOOD_AND_BAD), run_on_commit, by=trader)

    assert (job.status, job.counts["errors"], job.counts["not_processed"], job.counts["create"]) == (
        "awaiting_confirmation", 2, 1, 3)
    with pytest.raises(JobConflict, match="2 row\\(s\\) have errors"):
        bulk_sheet_confirm(job=job, apply_mode="all", by=trader)
    workbook = load_workbook(io.BytesIO(job.error_file.read()))
    assert workbook.sheetnames[:2] == ["Upload Processing Summary", "Sponsored Products Campaigns"]
    summary = list(workbook["Upload Processing Summary"].iter_rows(values_only=True))
    assert summary == [
        ("Original record #", "Error type", "Error code", "Error message"),
        (5, "Input Error", "Out Of Range", "Bid is out of range (must be in [0.02, 1000.0])"),
        (6, "Input Error", "Invalid Value", 'Invalid value: "live" for column: "State"'),
        (7, "Warning", "Not Processed", "This row was not processed due to errors from other rows"),
    ]
    failed = list(workbook["Sponsored Products Campaigns"].iter_rows(values_only=True))
    assert failed[0][-1] == "Error message" and failed[0][:3] == ("Product", "Entity", "Operation")
    assert [(r[1], r[-1]) for r in failed[1:]] == [
        ("Keyword", "Bid is out of range (must be in [0.02, 1000.0])"),
        ("Campaign", 'Invalid value: "live" for column: "State"'),
        ("Ad Group", "This row was not processed due to errors from other rows"),
    ]


def test_a_valid_only_apply_writes_the_valid_rows_and_nothing_under_a_failed_parent(advertiser, trader, run_on_commit):
    job = start_import(advertiser, sheet_bytes(GOOD_AND_BAD), run_on_commit, by=trader)

    with run_on_commit():
        bulk_sheet_confirm(job=job, apply_mode="valid_only", by=trader)
    job.refresh_from_db()

    assert (job.status, job.counts["applied"]) == ("succeeded", 3)
    assert list(Campaign.objects.filter(advertiser=advertiser).values_list("name", flat=True)) == ["Good"]
    assert list(Keyword.objects.filter(line_item__campaign__advertiser=advertiser).values_list("text", flat=True)) == ["fine"]


def test_a_confirmation_replays_with_the_same_key_and_is_refused_with_other_parameters(advertiser, trader, run_on_commit):
    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit, by=trader)
    other = start_import(advertiser, DOWNLOAD.read_bytes(), run_on_commit, by=trader)

    with run_on_commit():
        first, replayed = bulk_sheet_confirm(job=job, apply_mode="all", by=trader, idempotency_key="k-1")
    again, replayed_again = bulk_sheet_confirm(job=job, apply_mode="all", by=trader, idempotency_key="k-1")

    assert (replayed, replayed_again, again.pk, again.status) == (False, True, job.pk, "succeeded")
    assert Campaign.objects.filter(advertiser=advertiser).count() == 1  # applied once
    with pytest.raises(IdempotencyConflict):
        bulk_sheet_confirm(job=job, apply_mode="valid_only", by=trader, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        bulk_sheet_confirm(job=other, apply_mode="all", by=trader, idempotency_key="k-1")
    with pytest.raises(JobConflict, match="succeeded"):
        bulk_sheet_confirm(job=job, apply_mode="all", by=trader)


def test_running_a_task_twice_does_the_work_once(advertiser, trader, run_on_commit):
    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit, by=trader)
    bulk_sheet_confirm(job=job, apply_mode="all", by=trader, enqueue=False)

    assert bulk_sheet_apply(job_id=job.pk).status == "succeeded"
    assert bulk_sheet_apply(job_id=job.pk) is None and bulk_sheet_validate(job_id=job.pk) is None
    assert Campaign.objects.filter(advertiser=advertiser).count() == 1


def test_an_apply_refuses_a_plan_that_changed_since_the_dry_run(advertiser, trader, run_on_commit):
    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit, by=trader)
    bulk_sheet_confirm(job=job, apply_mode="all", by=trader, enqueue=False)
    CampaignFactory(advertiser=advertiser, name="Winter Boots Launch")  # someone else was faster

    job = bulk_sheet_apply(job_id=job.pk)

    assert job.status == "failed" and "changed since the dry run" in job.error
    assert Campaign.objects.filter(advertiser=advertiser).count() == 1


def test_budget_changes_need_a_manager_to_confirm(advertiser, trader, manager, run_on_commit):
    from campaigns.bulksheets.services import BudgetRoleRequired

    from .conftest import edit, export_bytes

    CampaignFactory(advertiser=advertiser, daily_budget=Decimal("100.00"))
    data = edit(export_bytes(advertiser), lambda sheet: setattr(sheet.cell(2, 21), "value", 120))
    job = start_import(advertiser, data, run_on_commit, by=trader)

    assert job.diff["touches_budgets"] is True
    with pytest.raises(BudgetRoleRequired):
        bulk_sheet_confirm(job=job, apply_mode="all", by=trader)
    with run_on_commit():
        bulk_sheet_confirm(job=job, apply_mode="all", by=manager)
    assert Campaign.objects.get(advertiser=advertiser).daily_budget == Decimal("120.00")


def test_an_export_job_reports_progress_and_holds_the_file(advertiser, run_on_commit):
    KeywordFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)))
    with run_on_commit():
        job = bulk_sheet_export_create(advertiser=advertiser)
    job.refresh_from_db()
    seen = []

    assert (job.status, job.counts, job.progress_done, job.progress_total) == ("succeeded", {"rows": 3}, 3, 3)
    assert load_workbook(io.BytesIO(job.file.read())).sheetnames[1] == "Sponsored Products Campaigns"
    again = bulk_sheet_export_create(advertiser=advertiser, enqueue=False)
    bulk_sheet_export(job_id=again.pk, echo=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)


def test_the_reconciler_requeues_a_job_whose_worker_was_lost(advertiser, run_on_commit):
    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit)
    BulkSheetJob.objects.filter(pk=job.pk).update(
        status="validating", claim_token="dead-worker", heartbeat_at=timezone.now() - timedelta(hours=1),
        counts={}, progress_done=0,
    )

    counts = bulk_sheet_jobs_reconcile(stale=timedelta(minutes=5))  # Huey runs the task at once in tests

    job.refresh_from_db()
    assert counts == {"requeued": 1, "failed": 0}
    assert (job.status, job.counts["create"], job.attempts) == ("awaiting_confirmation", 9, 2)


def test_the_reconciler_gives_up_after_three_lost_workers(advertiser, run_on_commit):
    job = start_import(advertiser, CREATE.read_bytes(), run_on_commit)
    BulkSheetJob.objects.filter(pk=job.pk).update(status="applying", attempts=3, heartbeat_at=timezone.now() - timedelta(hours=1))

    assert bulk_sheet_jobs_reconcile() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and "lost 3 times" in job.error
