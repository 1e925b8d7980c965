"""Profiles (/v2/profiles) and DSP advertisers (G1 /dsp/advertisers, offset pagination)."""

from __future__ import annotations

from integrations.amazon import limits
from integrations.amazon.fake.auth import authenticate, require_profile
from integrations.amazon.fake.http import Context, Response, common_error, dsp_error, route


def list_profiles(ctx: Context) -> Response:
    authenticate(ctx)  # no Scope header needed here
    profiles = ctx.state.profiles[ctx.region]
    type_filter = ctx.query.get("profileTypeFilter")
    if type_filter:
        wanted = {t.strip() for t in type_filter.split(",")}
        profiles = [p for p in profiles if p["accountInfo"]["type"] in wanted]
    return Response(200, profiles)


def get_profile(ctx: Context) -> Response:
    authenticate(ctx)
    profile = ctx.state.profile(ctx.region, ctx.params["profileId"])
    if profile is None:
        raise common_error(404, "NOT_FOUND", "Profile not found")
    return Response(200, profile)


def _int_param(ctx: Context, name: str, default: int, low: int, high: int) -> int:
    raw = ctx.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise dsp_error(ctx, 400, "Validation Error", [
            {"errorType": "DSP_INVALID_QUERY_PARAM", "field": name,
             "message": f"{name} must be between {low} and {high}."}
        ])
    return value


def list_advertisers(ctx: Context) -> Response:
    authenticate(ctx, legacy=True)
    require_profile(ctx, agency=True, legacy=True)
    start = _int_param(ctx, "startIndex", 0, 0, 29900)
    count = _int_param(ctx, "count", limits.OFFSET_COUNT_MAX, 1, limits.OFFSET_COUNT_MAX)
    advertisers = list(ctx.state.advertisers[ctx.region].values())
    id_filter = ctx.query.get("advertiserIdFilter")
    if id_filter:
        ids = [i.strip() for i in id_filter.split(",")]
        if not all(i.isdigit() for i in ids):
            raise dsp_error(ctx, 422, "Validation Error", [{
                "errorType": "DSP_INVALID_QUERY_PARAM", "field": "advertiserIdFilter",
                "message": "Each advertiserId must be a valid numeric id separated by comma.",
            }])
        advertisers = [a for a in advertisers if a["advertiserId"] in ids]
    name_contains = ctx.query.get("nameContains")
    if name_contains:
        advertisers = [a for a in advertisers if name_contains.lower() in a["name"].lower()]
    return Response(200, {"totalResults": len(advertisers), "response": advertisers[start:start + count]})


def get_advertiser(ctx: Context) -> Response:
    authenticate(ctx, legacy=True)
    require_profile(ctx, agency=True, legacy=True)
    advertiser_id = ctx.params["advertiserId"]
    if not advertiser_id.isdigit():
        raise dsp_error(ctx, 422, "Validation Error", [{
            "errorType": "DSP_INVALID_QUERY_PARAM", "field": "advertiserId",
            "message": "advertiserId must be numeric."}])
    advertiser = ctx.state.advertiser(ctx.region, advertiser_id)
    if advertiser is None:
        raise dsp_error(ctx, 404, "Not Found", [{"errorType": "NOT_FOUND", "field": "advertiserId",
                                                  "message": f"Advertiser {advertiser_id} not found"}])
    return Response(200, advertiser)


ROUTES = [
    route("GET", "/v2/profiles", list_profiles),
    route("GET", "/v2/profiles/{profileId}", get_profile),
    route("GET", "/dsp/advertisers", list_advertisers),
    route("GET", "/dsp/advertisers/{advertiserId}", get_advertiser),
]
