"""/_fake/* : the control plane tests and benchmarks in other processes drive the fake with.

    GET    /_fake/state[?recent=N]  requests served per route, serving time, faults fired, entity counts
    POST   /_fake/reset             {"seed"?}: forget everything (entities, tokens, faults, stats, time warp)
    POST   /_fake/stats/reset       zero the request counters only
    GET    /_fake/faults            the rules in force and how often each fired
    POST   /_fake/faults            {"rules": [...], "seed"?, "append"?}: see faults.py for a rule's keys
    DELETE /_fake/faults            no more faults
    POST   /_fake/time              {"advance": seconds}: warp the clock (token expiry, URL expiry)
    POST   /_fake/config            {"token_ttl", "asset_processing_polls", "report_polls", "report_outcome", ...}
    POST   /_fake/apps              {"client_id", "client_secret", "refresh_token"}: accept more credentials
    POST   /_fake/tokens/revoke     {"refresh_token"?}: revoke every access token (and that refresh token)
    POST   /_fake/advertisers       {"region", "advertisers": [{"advertiserId"?, "name", ...}]}

Unauthenticated by design: the fake binds to loopback and holds no real data.
"""

from __future__ import annotations

from integrations.amazon.fake.faults import FaultConfigError
from integrations.amazon.fake.http import Context, FakeError, Response, route
from integrations.amazon.fake.state import DEFAULT_CONFIG, REGIONS


def _bad(message: str) -> FakeError:
    return FakeError(400, {"error": message})


def get_state(ctx: Context) -> Response:
    recent = int(ctx.query.get("recent", "0") or 0)
    return Response(200, ctx.app.snapshot(recent=recent))


def reset(ctx: Context) -> Response:
    body = ctx.json_object() if ctx.body else {}
    ctx.app.reset(seed=body.get("seed"))
    return Response(200, {"ok": True, "seed": ctx.state.seed})


def reset_stats(ctx: Context) -> Response:
    ctx.state.reset_stats()
    return Response(200, {"ok": True})


def get_faults(ctx: Context) -> Response:
    return Response(200, ctx.app.faults.describe())


def set_faults(ctx: Context) -> Response:
    body = ctx.json_object()
    rules = body.get("rules")
    if not isinstance(rules, list):
        raise _bad("'rules' must be a list")
    try:
        ctx.app.faults.configure(rules, seed=body.get("seed"), append=bool(body.get("append")))
    except (FaultConfigError, TypeError, ValueError) as exc:
        raise _bad(str(exc)) from None
    return Response(200, ctx.app.faults.describe())


def clear_faults(ctx: Context) -> Response:
    ctx.app.faults.clear()
    return Response(200, ctx.app.faults.describe())


def warp_time(ctx: Context) -> Response:
    advance = ctx.json_object().get("advance")
    if isinstance(advance, bool) or not isinstance(advance, (int, float)):
        raise _bad("'advance' must be a number of seconds")
    ctx.state.advance(float(advance))
    return Response(200, {"now": ctx.state.now(), "offset": ctx.state.time_offset})


def configure(ctx: Context) -> Response:
    body = ctx.json_object()
    unknown = set(body) - set(DEFAULT_CONFIG)
    if unknown:
        raise _bad(f"Unknown settings: {', '.join(sorted(unknown))}")
    if body.get("report_outcome", "SUCCESS") not in ("SUCCESS", "FAILURE"):
        raise _bad("report_outcome is SUCCESS or FAILURE")
    with ctx.state.lock:
        ctx.state.config.update(body)
        return Response(200, dict(ctx.state.config))


def register_app(ctx: Context) -> Response:
    body = ctx.json_object()
    if not all(isinstance(body.get(k), str) and body[k] for k in ("client_id", "client_secret", "refresh_token")):
        raise _bad("client_id, client_secret and refresh_token are required")
    ctx.app.register_app(body["client_id"], body["client_secret"], body["refresh_token"])
    return Response(200, {"ok": True})


def revoke_tokens(ctx: Context) -> Response:
    body = ctx.json_object() if ctx.body else {}
    with ctx.state.lock:
        revoked = len(ctx.state.access_tokens)
        ctx.state.access_tokens.clear()
        if body.get("refresh_token"):
            ctx.state.refresh_tokens.pop(body["refresh_token"], None)
    return Response(200, {"revoked_access_tokens": revoked})


def add_advertisers(ctx: Context) -> Response:
    body = ctx.json_object()
    region = body.get("region", "NA")
    if region not in REGIONS or not isinstance(body.get("advertisers"), list):
        raise _bad("'region' (NA, EU, FE) and 'advertisers' (a list) are required")
    return Response(200, {"advertisers": ctx.app.add_advertisers(region, body["advertisers"])})


ROUTES = [
    route("GET", "/_fake/state", get_state),
    route("POST", "/_fake/reset", reset),
    route("POST", "/_fake/stats/reset", reset_stats),
    route("GET", "/_fake/faults", get_faults),
    route("POST", "/_fake/faults", set_faults),
    route("DELETE", "/_fake/faults", clear_faults),
    route("POST", "/_fake/time", warp_time),
    route("POST", "/_fake/config", configure),
    route("POST", "/_fake/apps", register_app),
    route("POST", "/_fake/tokens/revoke", revoke_tokens),
    route("POST", "/_fake/advertisers", add_advertisers),
]
