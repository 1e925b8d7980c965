import pytest

from bidding.choices import AuditStatus, AuditTrigger
from bidding.models import AuditRun
from bidding.tasks import daily_budget_audit, reconcile_audit_runs
from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db


def test_the_daily_audit_returns_a_summary_with_totals():
    ProductBidFactory(adjusted_cpc="1.50")
    ProductBidFactory(adjusted_cpc="1.00")
    summary = daily_budget_audit.call_local()
    assert summary["total_bids"] == 2 and summary["flagged_bids"] == 1
    assert AuditRun.objects.get().trigger == AuditTrigger.SCHEDULE


def test_enqueuing_the_daily_audit_runs_it():
    # Huey keeps no results for periodic tasks; the run row is the record.
    ProductBidFactory(adjusted_cpc="2.00")
    daily_budget_audit()
    run = AuditRun.objects.get()
    assert (run.status, run.flagged_count) == (AuditStatus.SUCCEEDED, 1)


def test_the_daily_audit_is_scheduled_at_the_configured_time(settings):
    from datetime import datetime

    validate = daily_budget_audit.s().validate_datetime
    hour, minute = settings.BUDGET_AUDIT_HOUR, settings.BUDGET_AUDIT_MINUTE
    assert validate(datetime(2026, 1, 5, hour, minute))
    assert not validate(datetime(2026, 1, 5, hour, (minute + 1) % 60))


def test_a_second_audit_while_one_runs_is_skipped_not_doubled():
    from django.utils import timezone

    AuditRun.objects.create(
        window_start=timezone.now(), window_end=timezone.now(), days=7, threshold="0.2",
        status=AuditStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
    )
    summary = daily_budget_audit.call_local()
    assert summary["status"] == "skipped"
    assert AuditRun.objects.count() == 1


def test_the_reconciler_reruns_a_lost_scheduled_audit():
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(hours=3)
    AuditRun.objects.create(
        window_start=long_ago, window_end=long_ago, days=7, threshold="0.2", trigger=AuditTrigger.SCHEDULE,
        status=AuditStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago,
    )
    assert reconcile_audit_runs.call_local() == 1
    statuses = sorted(AuditRun.objects.values_list("trigger", "status"))
    assert statuses == [("reconciler", "succeeded"), ("schedule", "failed")]
