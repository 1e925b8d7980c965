"""The budget audit: flag bids whose adjusted CPC moved more than a threshold from the current CPC.

A bid is flagged when |adjusted − current| > threshold × current, strictly, in exact decimals: a
bid at exactly ±20 % is not flagged. The predicate runs in the database in one pass over the
window (findings are inserted by INSERT … SELECT), never row by row in Python.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backend.observability.context import current_request_id
from bidding.choices import AuditStatus, AuditTrigger
from bidding.models import AuditFinding, AuditRun, ProductBid
from bidding.spend_audit import spend_findings_record

log = logging.getLogger(__name__)

MAX_DAYS = 3660
MAX_THRESHOLD = Decimal("100")
THRESHOLD_PLACES = 4
# Stored values are scaled to integers on SQLite, where DECIMAL columns hold binary floats.
_CPC_SCALE = 10**4
_ADJUSTED_SCALE = 10**2


class AuditParameterError(ValueError):
    pass


class AuditAlreadyRunning(RuntimeError):
    pass


@dataclass
class AuditPreview:
    """What a dry run would record, without writing anything."""

    window_start: datetime
    window_end: datetime
    days: int
    threshold: Decimal
    total_bids: int
    flagged_count: int
    sample: list[dict] = field(default_factory=list)
    status: str = "dry-run"


def audit_parameters(*, days=None, threshold=None) -> tuple[int, Decimal]:
    """Validate and default the audit's parameters; raise AuditParameterError with the reason."""
    days = settings.BUDGET_AUDIT_DAYS if days is None else days
    threshold = settings.BUDGET_AUDIT_THRESHOLD if threshold is None else threshold
    if isinstance(days, bool) or not isinstance(days, int):
        raise AuditParameterError("days must be a whole number.")
    if not 1 <= days <= MAX_DAYS:
        raise AuditParameterError(f"days must be between 1 and {MAX_DAYS}.")
    if isinstance(threshold, (bool, float)):
        raise AuditParameterError("threshold must be a decimal string or Decimal, not a float or boolean.")
    try:
        threshold = Decimal(str(threshold).strip())
    except InvalidOperation:
        raise AuditParameterError(f"threshold {threshold!r} is not a number.") from None
    if not threshold.is_finite() or not 0 <= threshold <= MAX_THRESHOLD:
        raise AuditParameterError(f"threshold must be between 0 and {MAX_THRESHOLD}.")
    if threshold != threshold.quantize(Decimal(1).scaleb(-THRESHOLD_PLACES), rounding="ROUND_DOWN"):
        raise AuditParameterError(f"threshold must have at most {THRESHOLD_PLACES} decimal places.")
    return days, threshold


def audit_window(*, days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last `days` days up to now, both ends inclusive."""
    end = now or timezone.now()
    return end - timedelta(days=days), end


def _predicate_sql(threshold: Decimal) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return "ABS(adjusted_cpc - current_cpc) > %s * current_cpc", [threshold]
    # Exact integer arithmetic on scaled values: both sides are the true values × 10^8.
    current = f"CAST(ROUND(current_cpc * {_CPC_SCALE}) AS INTEGER)"
    adjusted = f"CAST(ROUND(adjusted_cpc * {_ADJUSTED_SCALE}) AS INTEGER)"
    scaled_threshold = int(threshold * _CPC_SCALE)
    sql = f"ABS({adjusted} * {_CPC_SCALE // _ADJUSTED_SCALE} - {current}) * {_CPC_SCALE} > %s * {current}"
    return sql, [scaled_threshold]


def _window_params(start: datetime, end: datetime) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(start), adapt(end)]


def _count_window(start, end, threshold) -> tuple[int, int]:
    predicate, predicate_params = _predicate_sql(threshold)
    sql = (
        f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {predicate} THEN 1 ELSE 0 END), 0) "
        f"FROM {ProductBid._meta.db_table} WHERE calculated_at >= %s AND calculated_at <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*predicate_params, *_window_params(start, end)])
        total, flagged = cursor.fetchone()
    return int(total), int(flagged)


def _insert_findings(run: AuditRun) -> tuple[int, int]:
    """Insert the run's findings in one statement; return (bids in window, flagged)."""
    predicate, predicate_params = _predicate_sql(run.threshold)
    bids, findings = ProductBid._meta.db_table, AuditFinding._meta.db_table
    columns = "run_id, bid_id, product_id, current_cpc, adjusted_cpc, change, calculated_at"
    selected = "%s, id, product_id, current_cpc, adjusted_cpc, adjusted_cpc - current_cpc, calculated_at"
    window = "calculated_at >= %s AND calculated_at <= %s"
    window_params = _window_params(run.window_start, run.window_end)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Findings are derived data the audit can always recompute, so this transaction does
            # not wait for its WAL flush; a crash loses at most the last moment's run, which the
            # reconciler then closes and re-runs.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # The insert scans the window with the predicate; the total is an index-only count.
            cursor.execute(
                f"WITH inserted AS (INSERT INTO {findings} ({columns}) "
                f"SELECT {selected} FROM {bids} WHERE {window} AND {predicate} RETURNING 1) "
                f"SELECT (SELECT COUNT(*) FROM {bids} WHERE {window}), (SELECT COUNT(*) FROM inserted)",
                [run.pk, *window_params, *predicate_params, *window_params],
            )
            total, flagged = cursor.fetchone()
            return int(total), int(flagged)
        cursor.execute(
            f"INSERT INTO {findings} ({columns}) SELECT {selected} FROM {bids} WHERE {window} AND {predicate}",
            [run.pk, *window_params, *predicate_params],
        )
        flagged = cursor.rowcount
        cursor.execute(f"SELECT COUNT(*) FROM {bids} WHERE {window}", window_params)
        (total,) = cursor.fetchone()
    return int(total), int(flagged)


def budget_audit_preview(*, days=None, threshold=None, now=None, sample_size: int = 20) -> AuditPreview:
    """A dry run: the same counts, and the largest moves as a sample, writing nothing."""
    days, threshold = audit_parameters(days=days, threshold=threshold)
    start, end = audit_window(days=days, now=now)
    total, flagged = _count_window(start, end, threshold)
    predicate, predicate_params = _predicate_sql(threshold)
    sample = list(
        ProductBid.objects.calculated_between(start, end)
        .extra(where=[predicate], params=predicate_params)
        .order_by("-calculated_at")
        .values("id", "product_id", "current_cpc", "adjusted_cpc", "calculated_at")[:sample_size]
    )
    return AuditPreview(start, end, days, threshold, total, flagged, sample)


def budget_audit_run(
    *, days=None, threshold=None, trigger=AuditTrigger.COMMAND, now=None, include_spend: bool = True
) -> AuditRun:
    """Run the audit and record it. Raises AuditAlreadyRunning when another audit is running.

    The run row is committed as running before the work starts (the partial unique index on
    status allows one running row), so a lost worker leaves a row the reconciler can close.
    A failure is recorded on the row (status failed, error) and the row is returned.
    `include_spend=False` skips the overspend/under-delivery checks (their cost grows with spend
    history, not with the bid window; bench/audit.py times the two parts apart).
    """
    days, threshold = audit_parameters(days=days, threshold=threshold)
    start, end = audit_window(days=days, now=now)
    started = timezone.now()
    run = AuditRun(
        window_start=start,
        window_end=end,
        days=days,
        threshold=threshold,
        trigger=trigger,
        status=AuditStatus.RUNNING,
        started_at=started,
        heartbeat_at=started,
        request_id=current_request_id() or "",
    )
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        raise AuditAlreadyRunning("Another budget audit is running; try again when it has finished.") from None

    clock = time.perf_counter()
    try:
        with transaction.atomic():
            run.total_bids, run.flagged_count = _insert_findings(run)
            if include_spend:
                spend_findings_record(run=run)  # overspend and under-delivery, from reporting's spend
            run.status = AuditStatus.SUCCEEDED
            _finish(run, clock)
    except Exception as exc:  # recorded on the run; the caller decides how loud to be
        log.exception("budget audit failed", extra={"audit_run": run.pk})
        run.status = AuditStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        run.total_bids = run.flagged_count = 0
        _finish(run, clock)
    else:
        log.info(
            "budget audit finished",
            extra={"audit_run": run.pk, "total_bids": run.total_bids, "flagged_bids": run.flagged_count},
        )
    return run


def _finish(run: AuditRun, clock: float) -> None:
    run.finished_at = run.heartbeat_at = timezone.now()
    run.duration_ms = int((time.perf_counter() - clock) * 1000)
    run.save()


def audit_runs_reconcile(*, stale_after: timedelta | None = None, now=None) -> list[AuditRun]:
    """Close runs whose worker was lost (running with a stale heartbeat) as failed.

    Returns the closed runs; the caller re-enqueues scheduled ones so the day is still audited.
    """
    stale_after = stale_after or timedelta(minutes=settings.BUDGET_AUDIT_STALE_MINUTES)
    cutoff = (now or timezone.now()) - stale_after
    closed = []
    for run in AuditRun.objects.filter(status=AuditStatus.RUNNING, heartbeat_at__lt=cutoff):
        run.status = AuditStatus.FAILED
        run.error = f"Worker lost: no heartbeat since {run.heartbeat_at.isoformat()}."
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        closed.append(run)
    return closed
