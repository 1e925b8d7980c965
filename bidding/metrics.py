"""Business metrics for /metrics: bids calculated here, and audit findings read from the runs.

Audit figures come from the database at scrape time, not from in-process counters, because the
audit runs in a Huey worker whose counters the web process never sees.
"""

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

BIDS_CALCULATED = Counter("adops_bids_calculated", "Bid calculations stored.", ["source"])
BIDS_REFUSED = Counter("adops_bids_refused", "Bid requests refused as invalid.", ["source"])


class AuditCollector:
    def describe(self):
        # Without describe(), registering would call collect() and query the database at startup.
        yield CounterMetricFamily("adops_audit_findings", "Bids flagged by successful budget audits.")
        yield GaugeMetricFamily("adops_audit_last_run_findings", "Bids flagged by the last audit.")
        yield GaugeMetricFamily("adops_audit_last_success_timestamp_seconds", "When the last successful audit finished.")

    def collect(self):
        from django.db import DatabaseError
        from django.db.models import Sum

        from bidding.choices import AuditStatus
        from bidding.models import AuditRun

        try:
            succeeded = AuditRun.objects.filter(status=AuditStatus.SUCCEEDED)
            total = succeeded.aggregate(total=Sum("flagged_count"))["total"] or 0
            last = succeeded.order_by("-finished_at").only("flagged_count", "finished_at").first()
        except DatabaseError:
            return
        findings = CounterMetricFamily("adops_audit_findings", "Bids flagged by successful budget audits.")
        findings.add_metric([], total)
        yield findings
        if last is not None:
            last_findings = GaugeMetricFamily("adops_audit_last_run_findings", "Bids flagged by the last audit.")
            last_findings.add_metric([], last.flagged_count)
            yield last_findings
            finished = GaugeMetricFamily(
                "adops_audit_last_success_timestamp_seconds", "When the last successful audit finished."
            )
            finished.add_metric([], last.finished_at.timestamp())
            yield finished


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(AuditCollector())
        _registered = True
