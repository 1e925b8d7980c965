"""Daily performance from a DSP report (v3, LINE_ITEM × DAILY) into reporting.DailyPerformance,
through reporting.services.performance_upsert: idempotent on (date, line item), so pulling the
same days again changes nothing and a corrected day from Amazon replaces ours.

Amazon asks for one or two report requests per advertiser and day, and generation takes minutes
to hours: the report id is kept on the run, so a run resumed after a lost worker polls the
same report instead of requesting another; every poll beats the run's heartbeat.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings

from campaigns.models import LineItem
from integrations.amazon import limits
from integrations.amazon.errors import ReportFailed, ReportTimeout
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.mapping import LINE_ITEM
from integrations.sync.merge import content_type
from reporting.choices import PerformanceSource
from reporting.services import ImportRefused, performance_upsert

METRICS = ["impressions", "clickThroughs", "totalCost", "purchases14d", "sales14d", "viewableImpressions",
           "measurableImpressions", "videoComplete"]


def report_days() -> int:
    return max(1, min(limits.REPORT_MAX_RANGE_DAYS, int(getattr(settings, "SYNC_REPORT_DAYS", 7))))


def _count(value) -> int:
    return int(value or 0)


def _money(value) -> Decimal:
    return Decimal(str(value or 0))  # str() of Amazon's float is its shortest exact spelling


def _wait_for_report(rec, client, report_id: str, account: str) -> dict:
    interval = float(getattr(settings, "SYNC_REPORT_POLL_SECONDS", 15))
    deadline = client.clock() + float(getattr(settings, "SYNC_REPORT_MAX_WAIT_SECONDS", 3 * 3600))
    while True:
        report = client.get_report(report_id, account_id=account)
        status = (report or {}).get("status")
        if status == "SUCCESS":
            return report
        if status == "FAILURE":
            raise ReportFailed(f"Report {report_id} failed: {report.get('statusDetails') or 'no details'}", body=report)
        if client.clock() + interval > deadline:
            raise ReportTimeout(f"Report {report_id} still {status} after SYNC_REPORT_MAX_WAIT_SECONDS", body=report)
        client.sleep(interval)
        interval = min(300.0, interval * 1.5)
        rec.beat()


def rows_from_report(report_rows, *, line_items: dict[str, int], today: date, stats: dict) -> list[dict]:
    """Amazon's rows as performance_upsert rows: ids mapped through ExternalRef, days taken from
    the epoch-millisecond `date`, days still in the future here left for a later pull."""
    rows = []
    for raw in report_rows if isinstance(report_rows, list) else []:
        line_item = line_items.get(str(raw.get("lineItemId")))
        if line_item is None:
            stats["unmatched_rows"] += 1  # a line item made outside the platform
            continue
        day = datetime.fromtimestamp(int(raw.get("date") or raw.get("intervalStart")) / 1000, tz=UTC).date()
        if day > today:
            stats["future_rows"] += 1
            continue
        completions = _count(raw.get("videoComplete"))
        rows.append({
            "date": day, "line_item_id": line_item, "impressions": _count(raw.get("impressions")),
            "clicks": _count(raw.get("clickThroughs")), "conversions": _count(raw.get("purchases14d")),
            "spend": _money(raw.get("totalCost")), "sales": _money(raw.get("sales14d")),
            "viewable_impressions": _count(raw.get("viewableImpressions")),
            "measurable_impressions": _count(raw.get("measurableImpressions")),
            # Starts are not in the report we request; a completion implies a start, so the
            # completions are the lower bound that keeps starts ≥ completions true.
            "video_starts": max(_count(raw.get("videoStart")), completions),
            "video_completions": completions,
        })
    return rows


def pull_performance(*, rec, client, link, advertiser, dry_run: bool) -> None:
    stats = rec.run.stats.setdefault("performance", {"rows": 0, "unmatched_rows": 0, "future_rows": 0})
    if dry_run:
        stats["skipped"] = "a dry run requests no report"
        return
    today = advertiser.today()
    start = today - timedelta(days=report_days() - 1)
    account = link.report_account_id
    saved = rec.run.stats.get("report") or {}
    if saved.get("id") and saved.get("range") == [start.isoformat(), today.isoformat()]:
        report_id = saved["id"]
    else:
        body = {"startDate": start.isoformat(), "endDate": today.isoformat(), "type": "CAMPAIGN",
                "dimensions": ["LINE_ITEM"], "timeUnit": "DAILY", "format": "JSON", "metrics": METRICS}
        if account != link.dsp_advertiser_id:
            body["advertiserIds"] = [link.dsp_advertiser_id]  # the account is the agency's entity
        report_id = client.create_report(body, account_id=account)["reportId"]
        rec.run.stats["report"] = {"id": report_id, "range": [start.isoformat(), today.isoformat()]}
        rec.save()
    report = _wait_for_report(rec, client, report_id, account)
    data = client.download_report(report["location"])
    line_items = dict(ExternalRef.objects.filter(
        system=ExternalSystem.AMAZON_DSP, content_type=content_type(LINE_ITEM), advertiser=advertiser,
        external_id__isnull=False).values_list("external_id", "object_id"))
    # A ref can outlive its line item (deleted here): its rows would make the whole import refused.
    existing = set(LineItem.objects.filter(pk__in=line_items.values()).values_list("pk", flat=True))
    line_items = {external: pk for external, pk in line_items.items() if pk in existing}
    rows = rows_from_report(data, line_items=line_items, today=today, stats=stats)
    stats["rows"] = len(rows)
    try:
        result = performance_upsert(rows=rows, source=PerformanceSource.AMAZON)
    except ImportRefused as exc:
        for failure in exc.errors:
            rec.error(obj=f"report-row:{failure['row']}", code="ROW_REFUSED", message=str(failure["errors"]))
        raise
    stats.update(created=result.created, updated=result.updated, unchanged=result.unchanged)
    rec.count("created", result.created)
    rec.count("updated", result.updated)
    rec.count("unchanged", result.unchanged)
    rec.save()
