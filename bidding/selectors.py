from bidding.choices import AuditStatus
from bidding.models import AuditRun


def last_audit_run_summary() -> dict | None:
    """The latest audit and the latest successful one, for health and the console."""
    latest = AuditRun.objects.first()
    if latest is None:
        return None
    succeeded = AuditRun.objects.filter(status=AuditStatus.SUCCEEDED).order_by("-finished_at").first()
    return {
        "id": latest.pk,
        "status": latest.status,
        "created_at": latest.created_at.isoformat(),
        "total_bids": latest.total_bids,
        "flagged_bids": latest.flagged_count,
        "last_success_at": succeeded.finished_at.isoformat() if succeeded else None,
    }
