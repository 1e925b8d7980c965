"""Login with Amazon's token endpoint and the checks every API call goes through."""

from __future__ import annotations

import secrets

from integrations.amazon.fake.http import Context, FakeError, Response, common_error, dsp_error, route, v1_error

CLIENT_ID_HEADERS = ("Amazon-Advertising-API-ClientId", "Amazon-Ads-ClientId")  # the v1 spec's name is accepted too


def token(ctx: Context) -> Response:
    form = ctx.form()
    state = ctx.state
    grant = form.get("grant_type")
    if grant not in ("refresh_token", "authorization_code"):
        raise FakeError(400, {"error": "unsupported_grant_type",
                              "error_description": "The authorization grant type is not supported"})
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    with state.lock:
        if not client_id or state.apps.get(client_id) is None or state.apps[client_id] != client_secret:
            raise FakeError(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if grant == "authorization_code":
            # No consent flow in the fake: every code is unknown (Amazon: valid 5 min, once).
            raise FakeError(400, {"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : code"})
        refresh = form.get("refresh_token", "")
        if not refresh:
            raise FakeError(400, {"error": "invalid_request",
                                  "error_description": "The request is missing a required parameter : refresh_token"})
        if state.refresh_tokens.get(refresh) != client_id:
            raise FakeError(400, {"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : refresh_token"})
        ttl = int(state.config["token_ttl"])
        access = "Atza|" + secrets.token_urlsafe(32)
        state.access_tokens[access] = {"client_id": client_id, "expires_at": state.now() + ttl}
    return Response(
        200,
        {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": ttl},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


ROUTES = [route("POST", "/auth/o2/token", token)]


def _unauthorized(ctx: Context, details: str, *, legacy: bool) -> FakeError:
    if legacy:  # G1 /dsp/* and DSP reports answer in their own shape
        return dsp_error(ctx, 401, "Unauthenticated Request")
    return common_error(401, "UNAUTHORIZED", details)


def authenticate(ctx: Context, *, legacy: bool = False) -> dict:
    """A valid, unexpired Bearer token issued to the client id in the header."""
    header = ctx.header("Authorization") or ""
    if not header.startswith("Bearer "):
        raise _unauthorized(ctx, "Authorization header is missing or is not a Bearer token", legacy=legacy)
    with ctx.state.lock:
        record = ctx.state.access_tokens.get(header[len("Bearer "):])
        if record is None or record["expires_at"] <= ctx.state.now():
            raise _unauthorized(ctx, "Access token is invalid or expired", legacy=legacy)
    client_id = next((ctx.header(h) for h in CLIENT_ID_HEADERS if ctx.header(h)), None)
    if not client_id:
        raise _unauthorized(ctx, "Amazon-Advertising-API-ClientId header is missing", legacy=legacy)
    if client_id != record["client_id"]:
        raise _unauthorized(ctx, "Client id does not match the access token", legacy=legacy)
    ctx.auth = record
    return record


def require_profile(ctx: Context, *, agency: bool = False, legacy: bool = False) -> dict:
    """The profile in Amazon-Advertising-API-Scope, in this host's region."""
    scope = ctx.header("Amazon-Advertising-API-Scope")
    if not scope:
        raise _unauthorized(ctx, "Scope header is missing", legacy=legacy) if not legacy else dsp_error(
            ctx, 400, "Scope header is missing")
    profile = ctx.state.profile(ctx.region, scope)
    if profile is None:
        raise common_error(401, "UNAUTHORIZED", "Not authorized to access scope") if not legacy else dsp_error(
            ctx, 401, "Not authorized to access scope")
    if agency and profile["accountInfo"]["type"] != "agency":
        raise dsp_error(ctx, 401, "No matching advertiser found for scope") if legacy else common_error(
            401, "UNAUTHORIZED", "No matching advertiser found for scope")
    return profile


def require_account(ctx: Context, *, allow_profile: bool = False) -> dict:
    """The DSP advertiser in Amazon-Ads-AccountId (G2 "require an Advertiser header"). The asset
    library also takes a profile scope instead (`allow_profile`): the agency profile then
    stands for every advertiser of the region."""
    account = ctx.header("Amazon-Ads-AccountId")
    if not account:
        if allow_profile and ctx.header("Amazon-Advertising-API-Scope"):
            require_profile(ctx, agency=True)
            return {"advertiserId": None}
        raise v1_error(ctx, 400, "BAD_REQUEST", "Amazon-Ads-AccountId header is missing")
    advertiser = ctx.state.advertiser(ctx.region, account)
    if advertiser is None:
        raise v1_error(ctx, 403, "FORBIDDEN", f"Not authorized to access advertiser {account}")
    return advertiser
