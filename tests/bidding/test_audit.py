"""The budget audit: exact boundaries in the database, windows, runs, findings, concurrency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidding.audit import (
    AuditAlreadyRunning,
    AuditParameterError,
    audit_runs_reconcile,
    budget_audit_preview,
    budget_audit_run,
)
from bidding.choices import AuditStatus
from bidding.models import AuditFinding, AuditRun, ProductBid
from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db


def bid(cpc: str, adjusted: str, **kwargs) -> ProductBid:
    return ProductBidFactory(current_cpc=Decimal(cpc), adjusted_cpc=Decimal(adjusted), **kwargs)


@pytest.mark.parametrize(
    "cpc,adjusted",
    [("0.35", "0.42"), ("0.35", "0.28"), ("1.00", "1.20"), ("1.00", "0.80"), ("0.05", "0.06"), ("0.15", "0.18"),
     ("2.45", "2.94"), ("0.55", "0.66"), ("1000000", "1200000"), ("0.0500", "0.04")],
)
def test_a_bid_at_exactly_twenty_percent_is_not_flagged(cpc, adjusted):
    bid(cpc, adjusted)
    run = budget_audit_run()
    assert (run.total_bids, run.flagged_count) == (1, 0)


@pytest.mark.parametrize("cpc,adjusted", [("0.35", "0.43"), ("0.35", "0.27"), ("1.00", "1.21"), ("0.0001", "0.01")])
def test_a_bid_just_past_twenty_percent_is_flagged(cpc, adjusted):
    flagged = bid(cpc, adjusted)
    run = budget_audit_run()
    assert run.flagged_count == 1
    finding = run.findings.get()
    assert (finding.bid_id, finding.product_id) == (flagged.pk, flagged.product_id)
    assert finding.change == Decimal(adjusted) - Decimal(cpc)


def test_a_zero_cpc_bid_with_zero_adjusted_is_not_flagged():
    bid("0", "0.00")
    assert budget_audit_run().flagged_count == 0


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: Decimal(n) / 100)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cpc=cents, adjusted=cents, threshold=st.sampled_from(["0", "0.05", "0.2", "0.25", "0.3333", "1"]))
def test_the_database_predicate_agrees_with_exact_decimal_arithmetic(cpc, adjusted, threshold):
    ProductBid.objects.all().delete()
    AuditRun.objects.all().delete()
    bid(str(cpc), str(adjusted))
    expected = abs(adjusted - cpc) > Decimal(threshold) * cpc
    assert budget_audit_run(threshold=threshold).flagged_count == int(expected)


def test_the_window_is_the_last_n_days_inclusive_of_its_start():
    now = timezone.now()
    bid("1", "2", calculated_at=now - timedelta(days=7))  # exactly at the start: in
    bid("1", "2", calculated_at=now - timedelta(days=7, seconds=1))  # just before: out
    bid("1", "2", calculated_at=now)
    run = budget_audit_run(days=7, now=now)
    assert (run.total_bids, run.flagged_count) == (2, 2)


def test_the_run_records_window_threshold_totals_and_timings():
    bid("1", "1.10")
    bid("1", "1.50")
    run = budget_audit_run(days=3, threshold="0.25")
    run.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED
    assert (run.days, run.threshold, run.total_bids, run.flagged_count) == (3, Decimal("0.25"), 2, 1)
    assert run.window_end - run.window_start == timedelta(days=3)
    assert run.started_at <= run.finished_at and run.duration_ms is not None
    assert AuditFinding.objects.filter(run=run).count() == 1


def test_a_dry_run_counts_and_samples_but_writes_nothing():
    bid("1", "1.50")
    bid("1", "1.00")
    preview = budget_audit_preview()
    assert (preview.total_bids, preview.flagged_count) == (2, 1)
    assert len(preview.sample) == 1 and preview.sample[0]["adjusted_cpc"] == Decimal("1.50")
    assert AuditRun.objects.count() == 0 and AuditFinding.objects.count() == 0


@pytest.mark.parametrize(
    "days,threshold",
    [(0, "0.2"), (-1, "0.2"), (100_000, "0.2"), (True, "0.2"), ("7", "0.2"), (7, "nan"), (7, "inf"), (7, "-0.1"),
     (7, "1e9"), (7, "abc"), (7, 0.2), (7, "0.123456")],
)
def test_bad_parameters_are_refused_before_anything_is_written(days, threshold):
    with pytest.raises(AuditParameterError):
        budget_audit_run(days=days, threshold=threshold)
    assert AuditRun.objects.count() == 0


def test_two_audits_never_run_at_once():
    AuditRun.objects.create(
        window_start=timezone.now(), window_end=timezone.now(), days=7, threshold=Decimal("0.2"),
        status=AuditStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
    )
    with pytest.raises(AuditAlreadyRunning):
        budget_audit_run()
    assert AuditRun.objects.count() == 1


def test_the_reconciler_closes_a_run_whose_worker_was_lost():
    long_ago = timezone.now() - timedelta(hours=2)
    lost = AuditRun.objects.create(
        window_start=long_ago, window_end=long_ago, days=7, threshold=Decimal("0.2"),
        status=AuditStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago,
    )
    closed = audit_runs_reconcile(stale_after=timedelta(minutes=30))
    lost.refresh_from_db()
    assert [run.pk for run in closed] == [lost.pk]
    assert lost.status == AuditStatus.FAILED and "Worker lost" in lost.error
    assert budget_audit_run().status == AuditStatus.SUCCEEDED  # the way is clear again


def test_a_failure_is_recorded_on_the_run(monkeypatch):
    from bidding import audit

    def explode(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "_insert_findings", explode)
    run = budget_audit_run()
    run.refresh_from_db()
    assert run.status == AuditStatus.FAILED and "disk full" in run.error
    assert AuditFinding.objects.count() == 0


def test_the_audit_is_one_set_based_statement_not_a_python_loop(django_assert_max_num_queries):
    ProductBid.objects.bulk_create(
        [ProductBid(product_id=i + 1, current_cpc=Decimal("1"), target_roas=Decimal("150"),
                    adjusted_cpc=Decimal("1.50"), calculated_at=timezone.now()) for i in range(500)]
    )
    with django_assert_max_num_queries(10):
        run = budget_audit_run()
    assert run.flagged_count == 500


def test_the_bid_index_is_descending_on_postgres(requires_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'bidding_productbid'")
        definitions = [row[0] for row in cursor.fetchall()]
    assert any("calculated_at DESC, product_id" in d for d in definitions), definitions
    assert len([d for d in definitions if "calculated_at" in d]) == 1
