"""Deal lists from Kargo: every row checked, a report, all or nothing, a job that survives lost workers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from creatives.kargo.imports import (
    ImportRefused,
    kargo_deal_import_run,
    kargo_deal_import_start,
    kargo_deal_imports_reconcile,
)
from creatives.kargo.models import KargoDeal, KargoDealImport
from tests.kargo.factories import KargoDealFactory

pytestmark = pytest.mark.django_db

HEADER = "Deal ID,Deal Name,Deal Type,Floor CPM,Currency,Start Date,End Date,Formats\n"


def _start(advertiser, text):
    return kargo_deal_import_start(advertiser=advertiser, content=text, filename="kargo.csv")


def test_a_valid_list_creates_and_updates_deals_offered_to_the_advertiser(advertiser, other_advertiser):
    KargoDealFactory(deal_id="KRG-2", offered_to=[other_advertiser], floor_cpm=Decimal("9.00"))
    job = _start(advertiser, HEADER + "KRG-1,Kargo Anchor,PMP,$2.50,USD,2026-01-01,12/31/2026,Anchor|Hover\n"
                                      "KRG-2,Kargo Venti,PG,3,USD,2026-02-01,2026-03-01,Venti\n")

    job = kargo_deal_import_run(import_id=job.pk)

    assert (job.status, job.created, job.updated, job.progress_done, job.progress_total) == ("done", 1, 1, 2, 2)
    first, second = KargoDeal.objects.get(deal_id="KRG-1"), KargoDeal.objects.get(deal_id="KRG-2")
    assert (first.deal_type, first.floor_cpm, str(first.end_date)) == ("private_auction", Decimal("2.50"), "2026-12-31")
    assert sorted(first.formats.values_list("name", flat=True)) == ["Anchor", "Hover"]
    assert (second.deal_type, second.floor_cpm) == ("programmatic_guaranteed", Decimal("3.00"))
    assert set(second.advertisers.all()) == {advertiser, other_advertiser}


def test_bad_rows_are_reported_and_nothing_is_written(advertiser):
    job = _start(advertiser, HEADER + "KRG-1,Ok,PMP,1.00,USD,2026-01-01,2026-02-01,Anchor\n"
                                      "KRG-2,Bad,Auction,abc,US1,2026-13-01,2026-02-01,Billboard\n"
                                      "KRG-1,Dup,PMP,1.001,USD,2026-03-01,2026-02-01,\n")

    job = kargo_deal_import_run(import_id=job.pk)

    assert job.status == "failed" and "2 row(s) have errors; nothing was imported" in job.error
    report = {(e["row"], e["field"]) for e in job.errors}
    assert {(3, "deal_type"), (3, "floor_cpm"), (3, "currency"), (3, "start_date"), (3, "formats"),
            (4, "deal_id"), (4, "floor_cpm"), (4, "end_date")} <= report
    assert not KargoDeal.objects.exists()


def test_a_file_without_the_columns_fails_with_the_reason(advertiser):
    job = kargo_deal_import_run(import_id=_start(advertiser, "id,title\n1,x\n").pk)

    assert job.status == "failed" and "Missing column(s): deal_id" in job.error


def test_unreadable_files_are_refused_before_a_job_exists(advertiser):
    with pytest.raises(ImportRefused):
        kargo_deal_import_start(advertiser=advertiser, content=b"\xff\xfe\x00bad", filename="x.csv")
    assert not KargoDealImport.objects.exists()


def test_running_it_twice_changes_nothing_the_second_time(advertiser):
    job = _start(advertiser, HEADER + "KRG-1,Kargo Anchor,PMP,2.50,USD,2026-01-01,2026-12-31,Anchor\n")
    kargo_deal_import_run(import_id=job.pk)

    again = kargo_deal_import_run(import_id=job.pk)  # a duplicate delivery: the row is no longer queued

    assert (again.status, again.created) == ("done", 1)
    assert KargoDeal.objects.count() == 1


def test_the_reconciler_requeues_an_import_whose_worker_was_lost(advertiser, django_capture_on_commit_callbacks):
    job = _start(advertiser, HEADER + "KRG-1,Kargo Anchor,PMP,2.50,USD,2026-01-01,2026-12-31,Anchor\n")
    KargoDealImport.objects.filter(pk=job.pk).update(status="running",
                                                     heartbeat_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        counts = kargo_deal_imports_reconcile()

    assert counts == {"requeued": 1}
    job.refresh_from_db()
    assert job.status == "done"  # Huey runs the re-sent task at once in tests
    assert KargoDeal.objects.filter(deal_id="KRG-1").exists()


def test_a_live_import_is_left_alone_by_the_reconciler(advertiser):
    job = _start(advertiser, HEADER)
    KargoDealImport.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())

    assert kargo_deal_imports_reconcile() == {"requeued": 0}
