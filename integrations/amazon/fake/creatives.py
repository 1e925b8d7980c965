"""Creative asset library (upload → presigned PUT → register → PROCESSING → ACTIVE), G2 ad
creatives, ad experiences, and creative ↔ ad group associations (≤ 20 per call)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from integrations.amazon import limits
from integrations.amazon.fake.auth import authenticate, require_account
from integrations.amazon.fake.common import ItemError, batch_write, check_presigned, list_page
from integrations.amazon.fake.http import Context, FakeError, Response, route, v1_error

_FILE_NAME = re.compile(r"^[\w.-]+\.(jpg|jpeg|png|gif|mp4|mov|wmv|avi)$", re.IGNORECASE)
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
FORMAT_EXPERIENCES = {
    "DISPLAY": {"STANDARD_DISPLAY"},
    "VIDEO": {"ONLINE_VIDEO", "STREAMING_TV_VIDEO"},
    "COMPONENT": {"RESPONSIVE_ECOMMERCE"},
    "THIRD_PARTY": {"THIRD_PARTY_VIDEO", "THIRD_PARTY_DISPLAY"},
}
MAX_ASSETS_PER_CREATIVE = 10


# --- asset library ----------------------------------------------------------------------------

def create_upload(ctx: Context) -> Response:
    authenticate(ctx)
    require_account(ctx, allow_profile=True)
    file_name = ctx.json_object().get("fileName") or ""
    if not _FILE_NAME.match(file_name):
        raise FakeError(400, {"message": "fileName must look like name.png|jpg|jpeg|gif|mp4|mov|wmv|avi"})
    state = ctx.state
    with state.lock:
        token = state.new_id("upload")
        ttl = int(state.config["upload_url_ttl"])
        state.uploads[token] = {"fileName": file_name, "expires_at": state.now() + ttl, "content": None,
                                "contentType": None, "_region": ctx.region}
    url = (f"{ctx.app.root_url}/_s3/assets/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={ttl}"
           f"&X-Amz-Signature={state.signature(token)}")
    return Response(200, {"url": url}, content_type="application/vnd.creativeassetsuploadresponse.v3+json")


def put_upload(ctx: Context) -> Response:
    token = ctx.params["token"]
    upload = check_presigned(ctx, ctx.state.uploads, token)
    with ctx.state.lock:
        upload["content"] = ctx.body
        upload["contentType"] = ctx.header("Content-Type")
    return Response(200, None, headers={"ETag": f'"{ctx.state.signature(token)[:32]}"'})


def register_asset(ctx: Context) -> Response:
    authenticate(ctx)
    advertiser = require_account(ctx, allow_profile=True)["advertiserId"]
    body = ctx.json_object()
    upload = _upload_for_url(ctx, body.get("url"))
    if not body.get("name"):
        raise FakeError(400, {"message": "name is required"})
    asset_type = body.get("assetType")
    if asset_type not in ("IMAGE", "VIDEO"):
        raise FakeError(400, {"message": "assetType must be IMAGE or VIDEO"})
    programs = ((body.get("registrationContext") or {}).get("associatedPrograms")) or []
    dsp = next((p for p in programs if p.get("programName") == "AMAZON_DSP"), None)
    dsp_advertiser = ((dsp or {}).get("metadata") or {}).get("dspAdvertiserId")
    if not dsp_advertiser:
        raise FakeError(400, {"message": "registrationContext with programName AMAZON_DSP and metadata.dspAdvertiserId "
                                         "is required for DSP assets"})
    if advertiser is not None and str(dsp_advertiser) != advertiser:
        raise FakeError(400, {"message": "dspAdvertiserId does not match the Amazon-Ads-AccountId header"})
    state = ctx.state
    with state.lock:
        asset_id = state.new_id("asset")
        content = upload["content"]
        valid = bool(content) and (asset_type == "VIDEO" or content.startswith(_IMAGE_MAGIC))
        state.assets[asset_id] = {
            "assetId": asset_id, "version": "version_v1", "assetType": asset_type, "name": body["name"],
            "advertiserId": str(dsp_advertiser), "url": body["url"].split("?")[0], "polls": 0,
            "finalStatus": "ACTIVE" if valid else "INACTIVE", "status": "PROCESSING",
            "fileName": upload["fileName"], "size": len(content or b""), "contentType": upload["contentType"],
            "creationTime": int(state.now() * 1000), "_region": ctx.region,
        }
    return Response(200, {"assetId": asset_id, "versionId": "version_v1", "failedSpecChecks": []},
                    content_type="application/vnd.creativeassetsregisterresponse.v3+json")


def get_asset(ctx: Context) -> Response:
    authenticate(ctx)
    require_account(ctx, allow_profile=True)
    state = ctx.state
    asset_id = ctx.query.get("assetId")
    if not asset_id:
        raise FakeError(400, {"message": "assetId is required"})
    with state.lock:
        asset = state.assets.get(asset_id)
        if asset is None or asset["_region"] != ctx.region:
            raise FakeError(404, {"message": "Asset not found"})
        version = ctx.query.get("version")
        if version and version != asset["version"]:
            raise FakeError(404, {"message": "Asset version not found"})
        # Processing advances with polling, so tests need no clock: N polls, then the outcome.
        if asset["status"] == "PROCESSING":
            asset["polls"] += 1
            if asset["polls"] > int(state.config["asset_processing_polls"]):
                asset["status"] = asset["finalStatus"]
        extension = asset["fileName"].rsplit(".", 1)[-1].lower()
        answer = {
            "assetGlobal": {"assetId": asset_id, "assetType": asset["assetType"],
                            "accountIds": [asset["advertiserId"]]},
            "assetVersionList": [{
                "assetIdentifier": {"assetId": asset_id, "version": asset["version"]},
                "assetStatus": asset["status"], "name": asset["name"], "url": asset["url"],
                "creationTime": asset["creationTime"], "lastUpdatedTime": asset["creationTime"],
                "fileMetadata": {"extension": extension, "fileSize": asset["size"],
                                 "contentType": asset["contentType"]},
                "failedSpecChecks": [],
            }],
        }
    return Response(200, answer, content_type="application/vnd.creativeassetsgetresponse.v3+json")


def _upload_for_url(ctx: Context, url) -> dict:
    if not isinstance(url, str):
        raise FakeError(400, {"message": "url is required"})
    path = urlsplit(url).path
    token = path.rsplit("/", 1)[-1] if path.startswith("/_s3/assets/") else None
    with ctx.state.lock:
        upload = ctx.state.uploads.get(token) if token else None
        if upload is None:
            raise FakeError(400, {"message": "url is not an upload location issued by /assets/upload"})
        if not upload["content"]:
            raise FakeError(400, {"message": "Nothing was uploaded to this url"})
    return upload


# --- ad creatives -----------------------------------------------------------------------------

def create_ad_creative(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    body = ctx.json_object()
    if not body.get("name"):
        raise v1_error(ctx, 400, "FIELD_VALUE_IS_NULL", "name is required")
    props = body.get("adCreativeFormatProperties") or {}
    kind = props.get("adCreativeFormatType")
    if kind not in FORMAT_EXPERIENCES:
        raise v1_error(ctx, 400, "FIELD_VALUE_IS_INVALID",
                       f"adCreativeFormatType must be one of {', '.join(FORMAT_EXPERIENCES)}")
    with ctx.state.lock:
        if kind in ("DISPLAY", "VIDEO"):
            assets = props.get("assets") or []
            if not 1 <= len(assets) <= MAX_ASSETS_PER_CREATIVE:
                raise v1_error(ctx, 400, "FIELD_VALUE_IS_INVALID",
                               f"assets must hold 1..{MAX_ASSETS_PER_CREATIVE} items")
            for reference in assets:
                asset = ctx.state.assets.get(reference.get("assetId"))
                if asset is None or asset["advertiserId"] != account:
                    raise v1_error(ctx, 400, "RESOURCE_ID_NOT_FOUND", f"Asset {reference.get('assetId')} not found")
                if asset["status"] != "ACTIVE":
                    raise v1_error(ctx, 400, "FIELD_VALUE_IS_INVALID",
                                   f"Asset {asset['assetId']} is {asset['status']}, not ACTIVE")
            if kind == "DISPLAY" and not props.get("creativeSizes"):
                raise v1_error(ctx, 400, "FIELD_VALUE_IS_NULL", "creativeSizes is required for DISPLAY creatives")
        if kind == "THIRD_PARTY":
            problem = third_party_problem(props)
            if problem:
                raise v1_error(ctx, 400, "FIELD_VALUE_IS_INVALID", problem)
        creative_id = ctx.state.new_id("creative")
        now = ctx.state.iso_now()
        ctx.state.ad_creatives[creative_id] = {
            **{k: v for k, v in body.items() if not k.startswith("_")}, "adCreativeId": creative_id,
            "advertiserId": account, "adExperiences": [], "moderationStatus": "PENDING",
            "creationDateTime": now, "lastUpdatedDateTime": now, "_region": ctx.region,
        }
    return Response(200, {"adCreativeId": creative_id})


def update_ad_creative(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    changes = ctx.json_object()
    with ctx.state.lock:
        creative = _creative(ctx, ctx.params["adCreativeId"], account)
        creative.update({k: v for k, v in changes.items()
                         if not k.startswith("_") and k not in ("adCreativeId", "advertiserId")})
        creative["lastUpdatedDateTime"] = ctx.state.iso_now()
    return Response(204)


def list_ad_creatives(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    with ctx.state.lock:
        rows = [c for c in ctx.state.ad_creatives.values()
                if c["advertiserId"] == account and c["_region"] == ctx.region]
    return list_page(ctx, rows, "adCreatives", {"adCreativeIdFilter": "adCreativeId"},
                     default_page=limits.AD_CREATIVES_PAGE_DEFAULT, with_total=True)


def put_ad_experiences(ctx: Context) -> Response:
    """All or nothing: one experience the format does not support refuses the whole call."""
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    body = ctx.json_object()
    with ctx.state.lock:
        creative = _creative(ctx, body.get("adCreativeId"), account)
        kind = (creative.get("adCreativeFormatProperties") or {}).get("adCreativeFormatType")
        experiences = body.get("adExperiences")
        if not isinstance(experiences, list) or not experiences:
            raise v1_error(ctx, 400, "FIELD_VALUE_IS_NULL", "adExperiences must be a non-empty array")
        wrong = [e for e in experiences if e not in FORMAT_EXPERIENCES[kind]]
        if wrong:
            raise v1_error(ctx, 400, "FIELD_VALUE_IS_INVALID", f"{', '.join(map(str, wrong))} not supported for {kind}")
        creative["adExperiences"] = list(experiences)
    return Response(204)


def _creative(ctx: Context, creative_id, account: str) -> dict:
    creative = ctx.state.ad_creatives.get(str(creative_id)) if creative_id else None
    if creative is None or creative["advertiserId"] != account or creative["_region"] != ctx.region:
        raise v1_error(ctx, 404, "RESOURCE_ID_NOT_FOUND", f"Ad creative {creative_id} not found")
    return creative


# --- third-party creatives (Kargo snippets, VAST tags) -----------------------------------------

THIRD_PARTY_TAG_TYPES = ("HTML", "VAST_URL", "VAST_XML")
THIRD_PARTY_TAG_MAX = 65_536
TRACKER_URL_MAX = 2000
MAX_CLICK_TRACKERS = 5
_INSECURE = re.compile(r"(?i)(?<![a-z0-9+.-])http:")


def _https(url) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return bool(parts and parts.scheme == "https" and parts.hostname and "." in parts.hostname
                and len(url) <= TRACKER_URL_MAX and not any(ch.isspace() for ch in url))


def _vast_problem(xml: str) -> str | None:
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (DefusedXmlException, ElementTree.ParseError) as exc:
        return f"tagSource is not a valid VAST document: {exc}"
    local = [e.tag.rsplit("}", 1)[-1] for e in root.iter()]
    if local[0] != "VAST":
        return "tagSource is not a VAST document"
    if "InLine" in local and "MediaFile" not in local:
        return "An inline VAST document needs a MediaFile"
    return None


def third_party_problem(props: dict) -> str | None:
    """Amazon's checks of a THIRD_PARTY creative: a tag of a known type, HTML with one size and
    nothing over http:, VAST URLs over https, VAST XML that parses, https trackers."""
    tag = props.get("thirdPartyTag")
    if not isinstance(tag, dict) or tag.get("tagType") not in THIRD_PARTY_TAG_TYPES:
        return f"thirdPartyTag.tagType must be one of {', '.join(THIRD_PARTY_TAG_TYPES)}"
    source = tag.get("tagSource")
    if not isinstance(source, str) or not source.strip() or len(source) > THIRD_PARTY_TAG_MAX:
        return f"thirdPartyTag.tagSource must be 1..{THIRD_PARTY_TAG_MAX} characters"
    if tag["tagType"] == "HTML":
        sizes = props.get("creativeSizes")
        if not isinstance(sizes, list) or len(sizes) != 1 or not all(
                isinstance(sizes[0].get(k), int) and sizes[0][k] > 0 for k in ("width", "height")):
            return "An HTML third-party creative needs exactly one creativeSizes entry"
        if "<" not in source:
            return "thirdPartyTag.tagSource is not HTML"
    elif tag["tagType"] == "VAST_URL" and not _https(source):
        return "thirdPartyTag.tagSource must be an https VAST URL"
    elif tag["tagType"] == "VAST_XML":
        problem = _vast_problem(source)
        if problem:
            return problem
    if _INSECURE.search(source):
        return "Third-party creatives must load every resource over https (found http:)"
    trackers = props.get("trackingUrls") or []
    if not isinstance(trackers, list):
        return "trackingUrls must be an array"
    for tracker in trackers:
        if not isinstance(tracker, dict) or tracker.get("type") not in ("IMPRESSION", "CLICK"):
            return "trackingUrls[].type must be IMPRESSION or CLICK"
        if not _https(tracker.get("url")):
            return "trackingUrls[].url must be an https URL of at most 2000 characters"
    if sum(1 for t in trackers if t.get("type") == "CLICK") > MAX_CLICK_TRACKERS:
        return f"At most {MAX_CLICK_TRACKERS} click trackers"
    return None


# --- associations -----------------------------------------------------------------------------

def create_associations(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    state = ctx.state

    def apply(index: int, item: dict) -> dict:
        creative_id, ad_group_id = str(item.get("adCreativeId") or ""), str(item.get("adGroupId") or "")
        ids = {"adCreativeId": creative_id, "adGroupId": ad_group_id}
        creative = state.ad_creatives.get(creative_id)
        if creative is None or creative["advertiserId"] != account or creative["_region"] != ctx.region:
            raise ItemError("RESOURCE_ID_NOT_FOUND", f"Ad creative {creative_id} not found", **ids)
        ad_group = state.ad_groups.get(ad_group_id)
        if ad_group is None or ad_group["advertiserId"] != account or ad_group["_region"] != ctx.region:
            raise ItemError("RESOURCE_ID_NOT_FOUND", f"Ad group {ad_group_id} not found", **ids)
        if (creative_id, ad_group_id) in state.associations:
            raise ItemError("ENTITY_ALREADY_EXISTS", "This creative is already associated with this ad group", **ids)
        if item.get("state", "ACTIVE") not in ("ACTIVE", "INACTIVE"):
            raise ItemError("FIELD_VALUE_IS_INVALID", "state must be ACTIVE or INACTIVE", **ids)
        state.associations[(creative_id, ad_group_id)] = {
            "state": "ACTIVE", **{k: v for k, v in item.items() if not k.startswith("_")}, **ids,
            "advertiserId": account, "_region": ctx.region,
        }
        return ids

    return batch_write(ctx, "associations", limits.ASSOCIATIONS_PER_WRITE, apply, error_shape="association")


def list_associations(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    with ctx.state.lock:
        rows = [a for a in ctx.state.associations.values()
                if a["advertiserId"] == account and a["_region"] == ctx.region]
    return list_page(ctx, rows, "associations", {"adGroupIdFilter": "adGroupId", "adCreativeIdFilter": "adCreativeId"})


ROUTES = [
    route("POST", "/assets/upload", create_upload),
    route("POST", "/assets/register", register_asset),
    route("GET", "/assets", get_asset),
    route("POST", "/dsp/v1/adCreatives", create_ad_creative),
    route("PATCH", "/dsp/v1/adCreatives/{adCreativeId}", update_ad_creative),
    route("POST", "/dsp/v1/adCreatives/list", list_ad_creatives),
    route("PUT", "/dsp/v1/adExperiences", put_ad_experiences),
    route("POST", "/dsp/v1/adCreatives/associations/adGroups", create_associations),
    route("POST", "/dsp/v1/adCreatives/associations/adGroups/list", list_associations),
]
# Presigned storage lives outside the regional API hosts, like S3.
STORAGE_ROUTES = [route("PUT", "/_s3/assets/{token}", put_upload)]
