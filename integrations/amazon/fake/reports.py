"""DSP reports v3: POST /accounts/{accountId}/dsp/reports → 202 IN_PROGRESS → polls → SUCCESS
with a presigned `location` on this server's fake S3, which refuses an Authorization header.

Rows are computed from the fake's ACTIVE ad groups, deterministically per (seed, ad group, day),
so pulling the same report twice yields the same numbers. As in Amazon's JSON files, dates are
epoch milliseconds and ids are JSON numbers (mind float precision in JavaScript consumers).
"""

from __future__ import annotations

import csv
import io
import random
from decimal import ROUND_HALF_UP, Decimal
from datetime import date, datetime, timedelta, timezone

from integrations.amazon import limits
from integrations.amazon.fake.auth import authenticate
from integrations.amazon.fake.common import check_presigned
from integrations.amazon.fake.http import Context, Response, dsp_error, route

CREATE_MEDIA_TYPE = "application/vnd.dspcreatereports.v3+json"
GET_MEDIA_TYPE = "application/vnd.dspgetreports.v3+json"
TYPES = ("AUDIENCE", "CAMPAIGN", "CONVERSION_SOURCE", "GEOGRAPHY", "INVENTORY", "PRODUCTS", "TECHNOLOGY")
DIMENSIONS = ("ORDER", "LINE_ITEM", "CREATIVE", "DEAL", "SITE", "SUPPLY", "COUNTRY", "DEVICE_TYPE")
METRICS = ("impressions", "clickThroughs", "totalCost", "purchases14d", "sales14d", "viewableImpressions",
           "measurableImpressions", "videoComplete")
_VIDEO = ("ONLINE_VIDEO", "STREAMING_TV")
_MONEY = ("totalCost", "sales14d")


def _require_media(ctx: Context, header: str, media_type: str) -> None:
    if media_type not in (ctx.header(header) or ""):
        raise dsp_error(ctx, 415, f"Invalid `{header.lower()}` header provided. Use {media_type}")


def _invalid(ctx: Context, field: str, message: str):
    return dsp_error(ctx, 400, "Validation Error",
                     [{"errorType": "INVALID_PARAMETER", "field": field, "message": message}])


def _account_scope(ctx: Context, account_id: str) -> tuple[list[str], bool]:
    """(advertiser ids covered, account is an entity)."""
    agency = ctx.state.agency_profile(ctx.region)
    if agency is not None and account_id == agency["accountInfo"]["id"]:
        return list(ctx.state.advertisers[ctx.region]), True
    if ctx.state.advertiser(ctx.region, account_id) is not None:
        return [account_id], False
    raise dsp_error(ctx, 403, "Forbidden", [{"errorType": "ACCESS_DENIED", "field": "accountId",
                                            "message": f"Not authorized to access account {account_id}"}])


def _parse_day(ctx: Context, body: dict, field: str) -> date:
    try:
        return date.fromisoformat(str(body.get(field)))
    except ValueError:
        raise _invalid(ctx, field, f"{field} is required, as yyyy-MM-dd") from None


def create_report(ctx: Context) -> Response:
    authenticate(ctx, legacy=True)
    _require_media(ctx, "Accept", CREATE_MEDIA_TYPE)
    if "json" not in (ctx.header("Content-Type") or ""):
        raise dsp_error(ctx, 415, "Invalid `content-type` header provided. Use application/json")
    advertisers, is_entity = _account_scope(ctx, ctx.params["accountId"])
    body = ctx.json_object()
    start, end = _parse_day(ctx, body, "startDate"), _parse_day(ctx, body, "endDate")
    today = ctx.state.now_dt().date()
    if end < start:
        raise _invalid(ctx, "endDate", "endDate must not be before startDate")
    if (end - start).days + 1 > limits.REPORT_MAX_RANGE_DAYS:
        raise _invalid(ctx, "endDate", f"The date range must not exceed {limits.REPORT_MAX_RANGE_DAYS} days")
    if start < today - timedelta(days=limits.REPORT_MAX_LOOKBACK_DAYS):
        raise _invalid(ctx, "startDate", f"startDate cannot be more than {limits.REPORT_MAX_LOOKBACK_DAYS} days ago")
    report_type = body.get("type", "CAMPAIGN")
    if report_type not in TYPES:
        raise _invalid(ctx, "type", f"type must be one of {', '.join(TYPES)}")
    dimensions = body.get("dimensions") or ["ORDER"]
    if not isinstance(dimensions, list) or len(dimensions) > 20 or any(d not in DIMENSIONS for d in dimensions):
        raise _invalid(ctx, "dimensions", f"dimensions are up to 20 of {', '.join(DIMENSIONS)}")
    time_unit = body.get("timeUnit", "SUMMARY")
    if time_unit not in ("SUMMARY", "DAILY") or (time_unit == "DAILY" and report_type == "AUDIENCE"):
        raise _invalid(ctx, "timeUnit", "timeUnit is SUMMARY or DAILY (DAILY is not allowed for AUDIENCE)")
    report_format = body.get("format", "JSON")
    if report_format not in ("JSON", "CSV"):
        raise _invalid(ctx, "format", "format is JSON or CSV")
    metrics = body.get("metrics") or list(METRICS)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise _invalid(ctx, "metrics", f"Unknown metrics: {', '.join(map(str, unknown))}")
    if body.get("advertiserIds"):
        if not is_entity:
            raise _invalid(ctx, "advertiserIds", "advertiserIds is only allowed when accountId is an entity")
        advertisers = [a for a in advertisers if a in {str(x) for x in body["advertiserIds"]}]
    state = ctx.state
    with state.lock:
        report_id = state.new_id("report")
        report = {
            "reportId": report_id, "type": report_type, "format": report_format, "status": "IN_PROGRESS",
            "statusDetails": "In progress", "location": "",
            "expiration": _iso_ms(state.now() + 3 * 3600), "expires_at": 0.0, "polls": 0,
            "account": ctx.params["accountId"], "advertisers": advertisers, "region": ctx.region,
            "query": {"start": start, "end": end, "today": today, "dimensions": dimensions, "timeUnit": time_unit,
                      "metrics": metrics},
            "content": None,
        }
        state.reports[report_id] = report
        answer = _public(report)
    return Response(202, answer, content_type=CREATE_MEDIA_TYPE)


def get_report(ctx: Context) -> Response:
    authenticate(ctx, legacy=True)
    _require_media(ctx, "Accept", GET_MEDIA_TYPE)
    state = ctx.state
    with state.lock:
        report = state.reports.get(ctx.params["reportId"])
        if report is None or report["account"] != ctx.params["accountId"] or report["region"] != ctx.region:
            raise dsp_error(ctx, 404, "Report not found")
        if report["status"] == "IN_PROGRESS":
            report["polls"] += 1
            if report["polls"] > int(state.config["report_polls"]):
                _finish(ctx, report)
        answer = _public(report)
    return Response(200, answer, content_type=GET_MEDIA_TYPE)


def download(ctx: Context) -> Response:
    file_name = ctx.params["file"]
    report_id = file_name.rsplit(".", 1)[0]
    report = check_presigned(ctx, ctx.state.reports, report_id)
    content_type = "text/csv" if report["format"] == "CSV" else "application/json"
    return Response(200, report["content"], content_type=content_type)


def _finish(ctx: Context, report: dict) -> None:
    state = ctx.state
    if state.config["report_outcome"] == "FAILURE":
        report.update(status="FAILURE", statusDetails="Report generation failed")
        return
    rows = _rows(ctx, report)
    if report["format"] == "CSV":
        buffer = io.StringIO()
        columns = sorted({key for row in rows for key in row}) or ["intervalStart"]
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        report["content"] = buffer.getvalue()
    else:
        report["content"] = rows
    ttl = int(state.config["report_url_ttl"])
    extension = "csv" if report["format"] == "CSV" else "json"
    report["location"] = (
        f"{ctx.app.root_url}/_s3/reports/{report['reportId']}.{extension}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires={ttl}&X-Amz-Signature={state.signature(report['reportId'])}"
    )
    report["expires_at"] = state.now() + ttl
    report["expiration"] = _iso_ms(report["expires_at"])
    report.update(status="SUCCESS", statusDetails="Report has been successfully generated")


def _rows(ctx: Context, report: dict) -> list[dict]:
    state, query = ctx.state, report["query"]
    last = min(query["end"], query["today"])  # nothing has delivered in the future
    days = [query["start"] + timedelta(days=n) for n in range((last - query["start"]).days + 1)]
    by_line_item = "LINE_ITEM" in query["dimensions"]
    buckets: dict[tuple, dict] = {}
    for ad_group in state.ad_groups.values():
        if (ad_group["_region"] != report["region"] or ad_group["advertiserId"] not in report["advertisers"]
                or ad_group["state"] != "ACTIVE"):
            continue
        campaign = state.campaigns[ad_group["campaignId"]]
        advertiser = state.advertisers[report["region"]][ad_group["advertiserId"]]
        for day in days:
            key = (ad_group["adGroupId"] if by_line_item else campaign["campaignId"],
                   day if query["timeUnit"] == "DAILY" else None)
            row = buckets.get(key)
            if row is None:
                row = buckets[key] = _row_head(ad_group, campaign, advertiser, day, query, by_line_item)
                for metric in query["metrics"]:
                    row[metric] = 0
            for metric, value in _metrics(state.seed, ad_group, day).items():
                if metric in query["metrics"]:
                    row[metric] = round(row[metric] + value, 2) if metric in _MONEY else row[metric] + value
    return list(buckets.values())


def _row_head(ad_group, campaign, advertiser, day, query, by_line_item) -> dict:
    if query["timeUnit"] == "DAILY":
        start, end = day, day + timedelta(days=1)
    else:
        start, end = query["start"], query["end"] + timedelta(days=1)
    row = {
        "advertiserId": int(advertiser["advertiserId"]), "advertiserName": advertiser["name"],
        "orderId": int(campaign["campaignId"]), "orderName": campaign["name"],
        "orderExternalId": campaign.get("externalId"), "orderCurrency": advertiser["currency"],
        "intervalStart": _epoch_ms(start), "intervalEnd": _epoch_ms(end),
    }
    if query["timeUnit"] == "DAILY":
        row["date"] = _epoch_ms(day)
    if by_line_item:
        row.update({"lineItemId": int(ad_group["adGroupId"]), "lineItemName": ad_group["name"],
                    "lineItemExternalId": ad_group.get("externalId")})
    return row


def _metrics(seed: int, ad_group: dict, day: date) -> dict:
    rng = random.Random(f"{seed}:{ad_group['adGroupId']}:{day.isoformat()}")
    impressions = rng.randint(500, 20000)
    measurable = int(impressions * rng.uniform(0.85, 0.98))
    viewable = int(measurable * rng.uniform(0.4, 0.8))
    clicks = int(impressions * rng.uniform(0.001, 0.01))
    # Cost is worked out in Decimal (cents, half up) like any money here; the file then carries it
    # as a JSON number, as Amazon's do, and our side parses it back into Decimal at the edge
    # (integrations/sync/performance.py).
    base_bid = Decimal(str((ad_group.get("bid") or {}).get("baseBid") or 5))
    pace = Decimal(str(round(rng.uniform(0.6, 1.0), 6)))
    cost = (Decimal(impressions) / 1000 * base_bid * pace).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    purchases = int(clicks * rng.uniform(0, 0.1))
    return {
        "impressions": impressions, "measurableImpressions": measurable, "viewableImpressions": viewable,
        "clickThroughs": clicks, "totalCost": float(cost),
        "purchases14d": purchases, "sales14d": round(purchases * rng.uniform(10, 60), 2),
        "videoComplete": int(impressions * rng.uniform(0.5, 0.8)) if ad_group.get("inventoryType") in _VIDEO else 0,
    }


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def _iso_ms(epoch: float) -> str:
    when = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _public(report: dict) -> dict:
    return {k: report[k] for k in ("reportId", "type", "format", "status", "statusDetails", "location", "expiration")}


ROUTES = [
    route("POST", "/accounts/{accountId}/dsp/reports", create_report),
    route("GET", "/accounts/{accountId}/dsp/reports/{reportId}", get_report),
]
STORAGE_ROUTES = [route("GET", "/_s3/reports/{file}", download)]
