"""Human and machine renderings of an audit run or preview (command line, logs)."""

import json

from bidding.audit import AuditPreview
from bidding.models import AuditRun


def audit_as_dict(result: AuditRun | AuditPreview) -> dict:
    data = {
        "run_id": getattr(result, "pk", None),
        "status": result.status,
        "dry_run": isinstance(result, AuditPreview),
        "window_start": result.window_start.isoformat(),
        "window_end": result.window_end.isoformat(),
        "days": result.days,
        "threshold": str(result.threshold),
        "total_bids": result.total_bids,
        "flagged_bids": result.flagged_count,
    }
    if isinstance(result, AuditRun):
        data["duration_ms"] = result.duration_ms
        data["error"] = result.error or None
    else:
        data["sample"] = [
            {**row, "current_cpc": str(row["current_cpc"]), "adjusted_cpc": str(row["adjusted_cpc"]),
             "calculated_at": row["calculated_at"].isoformat()}
            for row in result.sample
        ]
    return data


def render_audit(result: AuditRun | AuditPreview, *, format: str = "text") -> str:
    data = audit_as_dict(result)
    if format == "json":
        return json.dumps(data, indent=2)
    share = f"{data['flagged_bids'] / data['total_bids']:.1%}" if data["total_bids"] else "n/a"
    title = "Budget audit (dry run, nothing written)" if data["dry_run"] else f"Budget audit #{data['run_id']}"
    lines = [
        title,
        f"  status     {data['status']}",
        f"  window     {data['window_start']} → {data['window_end']} ({data['days']} days, inclusive)",
        f"  threshold  |adjusted − current| > {data['threshold']} × current",
        f"  bids       {data['total_bids']:,}",
        f"  flagged    {data['flagged_bids']:,} ({share})",
    ]
    if data.get("duration_ms") is not None:
        lines.append(f"  took       {data['duration_ms']} ms")
    if data.get("error"):
        lines.append(f"  error      {data['error']}")
    for row in data.get("sample", []):
        lines.append(
            f"    bid {row['id']}: product {row['product_id']} {row['current_cpc']} → {row['adjusted_cpc']}"
        )
    return "\n".join(lines)
