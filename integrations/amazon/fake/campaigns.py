"""G2 campaign management: /dsp/v1 campaigns, ad groups and targets.

Everything is created INACTIVE (a `state` sent on create is ignored, as Amazon does); PATCH is
partial; writes answer 207 with per-item results; lists page with nextToken and filter by id,
externalId, name and state so a caller can find what it created before it lost the answer.
"""

from __future__ import annotations

from integrations.amazon import limits
from integrations.amazon.fake.auth import authenticate, require_account
from integrations.amazon.fake.common import (
    ItemError,
    batch_write,
    deep_merge,
    list_page,
    parse_rfc3339,
    require_number,
    require_text,
)
from integrations.amazon.fake.http import Context, Response, route

STATES = ("ACTIVE", "INACTIVE")
INVENTORY_TYPES = ("DISPLAY", "ONLINE_VIDEO", "STREAMING_TV", "AUDIO")
DEPRECATED_INVENTORY = ("STANDARD_DISPLAY", "AMAZON_MOBILE_DISPLAY", "AAP_MOBILE_APP", "VIDEO")
# USD base-bid limits (limits.md); the fake does not convert other currencies.
BASE_BID_LIMITS = {"DISPLAY": (0.01, 39.99), "ONLINE_VIDEO": (0.01, 116.99), "STREAMING_TV": (0.01, 116.99),
                   "AUDIO": (0.01, 116.99)}
_AWARENESS = {"REACH", "VIDEO_COMPLETION_RATE", "COST_PER_VIDEO_COMPLETION", "FREQUENCY"}
_CONSIDERATION = {"CLICK_THROUGH_RATE", "COST_PER_CLICK", "DETAIL_PAGE_VIEW_RATE", "COST_PER_DETAIL_PAGE_VIEW"}
MAX_FLIGHTS_ON_CREATE = 12
# goalSetting.kpi (reference §2.3 goalKpi, §2.6 goal mapping).
KPIS = ("CLICK_THROUGH_RATE", "COMBINED_RETURN_ON_AD_SPEND", "COST_PER_ACTION", "COST_PER_CLICK",
        "COST_PER_DETAIL_PAGE_VIEW", "COST_PER_FIRST_APP_OPEN", "COST_PER_INSTALL", "COST_PER_VIDEO_COMPLETION",
        "DETAIL_PAGE_VIEW_RATE", "NONE", "OTHER", "REACH", "RETURN_ON_AD_SPEND", "TOTAL_COST_PER_SUBSCRIPTION",
        "TOTAL_RETURN_ON_AD_SPEND", "VIDEO_COMPLETION_RATE", "FREQUENCY", "COST_PER_SIGN_UP")
FREQUENCY_TYPES = ("UNCAPPED", "CUSTOM")
FREQUENCY_UNITS = ("DAYS", "HOURS")
MAX_FREQUENCIES = 3
MAX_AD_GROUP_IMPRESSIONS = 500  # Ads API v1: eventMaxCount ≤ 500 for DSP ad groups


def _goal(item: dict) -> str:
    kpi = ((item.get("optimization") or {}).get("goalSetting") or {}).get("kpi")
    if kpi in _AWARENESS:
        return "AWARENESS"
    if kpi in _CONSIDERATION:
        return "CONSIDERATION"
    return "CONVERSIONS"


def _check_flights(item: dict) -> list[dict]:
    flights = (item.get("flights") or {}).get("flights") if isinstance(item.get("flights"), dict) else None
    if not flights:
        raise ItemError("FIELD_VALUE_IS_NULL", "flights.flights needs at least one flight", fieldLocation="flights")
    if len(flights) > MAX_FLIGHTS_ON_CREATE:
        raise ItemError("FIELD_VALUE_IS_INVALID", f"At most {MAX_FLIGHTS_ON_CREATE} flights on create",
                        fieldLocation="flights")
    for n, flight in enumerate(flights):
        start, end = parse_rfc3339(flight.get("startDateTime")), parse_rfc3339(flight.get("endDateTime"))
        if start is None or end is None:
            raise ItemError("FIELD_VALUE_IS_INVALID", "Flight dates must be RFC 3339 date-times with a zone",
                            fieldLocation=f"flights.flights[{n}]")
        if end <= start:
            raise ItemError("FIELD_VALUE_IS_INVALID", "Flight endDateTime must be after startDateTime",
                            fieldLocation=f"flights.flights[{n}]")
        require_number(flight.get("budgetAmount"), f"flights.flights[{n}].budgetAmount", 0, 1e12)
    return flights


def _check_goal(item: dict) -> None:
    optimization = item.get("optimization")
    if optimization is None:
        return
    goal = optimization.get("goalSetting") if isinstance(optimization, dict) else None
    if goal is None:
        return
    if not isinstance(goal, dict) or goal.get("kpi") not in KPIS:
        raise ItemError("FIELD_VALUE_IS_INVALID", "optimization.goalSetting.kpi is not a known KPI",
                        fieldLocation="optimization.goalSetting.kpi")
    if goal.get("targetKpi") is not None:
        require_number(goal["targetKpi"], "optimization.goalSetting.targetKpi", 0, 1e9)


def _check_frequencies(item: dict, max_impressions: int) -> None:
    """frequencies: UNCAPPED alone, or up to three CUSTOM caps of maxImpressions per timeUnitCount
    DAYS/HOURS (G1's frequencyCap fields under G2's frequencyType)."""
    if "frequencies" not in item:
        return
    caps = item["frequencies"]
    if not isinstance(caps, list) or not 1 <= len(caps) <= MAX_FREQUENCIES:
        raise ItemError("FIELD_VALUE_IS_INVALID", f"frequencies must hold 1..{MAX_FREQUENCIES} entries",
                        fieldLocation="frequencies")
    for n, cap in enumerate(caps):
        where = f"frequencies[{n}]"
        kind = cap.get("frequencyType") if isinstance(cap, dict) else None
        if kind not in FREQUENCY_TYPES:
            raise ItemError("FIELD_VALUE_IS_INVALID", "frequencyType must be UNCAPPED or CUSTOM", fieldLocation=where)
        if kind == "UNCAPPED":
            if len(caps) > 1:
                raise ItemError("FIELD_VALUE_IS_INVALID", "UNCAPPED cannot be combined with caps", fieldLocation=where)
            continue
        for key, high in (("maxImpressions", max_impressions), ("timeUnitCount", 60)):
            value = cap.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ItemError("FIELD_VALUE_IS_OUT_OF_RANGE", f"{where}.{key} must be a whole number 1..{high}",
                                fieldLocation=f"{where}.{key}")
        if cap.get("timeUnit") not in FREQUENCY_UNITS:
            raise ItemError("FIELD_VALUE_IS_INVALID", f"{where}.timeUnit must be DAYS or HOURS",
                            fieldLocation=f"{where}.timeUnit")


def _check_state(item: dict) -> None:
    if "state" in item and item["state"] not in STATES:
        raise ItemError("FIELD_VALUE_IS_INVALID", f"state must be one of {', '.join(STATES)}", fieldLocation="state")


def _stamp(ctx: Context, entity: dict, *, created: bool) -> None:
    now = ctx.state.iso_now()
    if created:
        entity["creationDateTime"] = now
    entity["lastUpdatedDateTime"] = now


# --- campaigns --------------------------------------------------------------------------------

def create_campaigns(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        require_text(item, "name")
        if item.get("advertiserId", account) != account:
            raise ItemError("FIELD_VALUE_IS_INVALID", "advertiserId must match the Amazon-Ads-AccountId header",
                            fieldLocation="advertiserId")
        _check_flights(item)
        _check_goal(item)
        _check_frequencies(item, 99_000)
        campaign_id = ctx.state.new_id("campaign")
        entity = {**_changes(item), "campaignId": campaign_id, "advertiserId": account, "state": "INACTIVE",
                  "deliveryStatus": "INACTIVE", "goal": _goal(item), "_region": ctx.region}
        _stamp(ctx, entity, created=True)
        ctx.state.campaigns[campaign_id] = entity
        return {"campaignId": campaign_id}

    return batch_write(ctx, "campaigns", limits.CAMPAIGNS_PER_WRITE, apply)


def update_campaigns(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        campaign = _owned(ctx.state.campaigns, item.get("campaignId"), account, ctx.region, "campaignId")
        if "advertiserId" in item and item["advertiserId"] != account:
            raise ItemError("FIELD_VALUE_IS_INVALID", "advertiserId cannot be changed", fieldLocation="advertiserId")
        if "name" in item:
            require_text(item, "name")
        if "flights" in item:
            _check_flights(item)
        _check_goal(item)
        _check_frequencies(item, 99_000)
        _check_state(item)
        if "flights" in item:
            campaign.pop("flights", None)  # flights are a full replacement (developer guide, step 6)
        deep_merge(campaign, _changes(item, "goal", "creationDateTime", "deliveryStatus"))
        campaign["goal"] = _goal(campaign)
        campaign["deliveryStatus"] = "DELIVERING" if campaign["state"] == "ACTIVE" else "INACTIVE"
        _stamp(ctx, campaign, created=False)
        return {"campaignId": campaign["campaignId"]}

    return batch_write(ctx, "campaigns", limits.CAMPAIGNS_PER_WRITE, apply)


def list_campaigns(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    rows = _in_account(ctx, ctx.state.campaigns, account)
    return list_page(ctx, rows, "campaigns", {
        "campaignIdFilter": "campaignId", "externalIdFilter": "externalId", "nameFilter": "name",
        "stateFilter": "state",
    })


# --- ad groups --------------------------------------------------------------------------------

def _check_ad_group(item: dict, *, creating: bool) -> None:
    if creating or "name" in item:
        require_text(item, "name")
    inventory = item.get("inventoryType")
    if creating or "inventoryType" in item:
        if inventory in DEPRECATED_INVENTORY:
            raise ItemError("FIELD_VALUE_IS_INVALID", f"inventoryType {inventory} is deprecated since 2025-06-30",
                            fieldLocation="inventoryType")
        if inventory not in INVENTORY_TYPES:
            raise ItemError("FIELD_VALUE_IS_INVALID", f"inventoryType must be one of {', '.join(INVENTORY_TYPES)}",
                            fieldLocation="inventoryType")
    if creating or "bid" in item:
        bid = item.get("bid") or {}
        low, high = BASE_BID_LIMITS.get(inventory or "DISPLAY", BASE_BID_LIMITS["DISPLAY"])
        require_number(bid.get("baseBid"), "bid.baseBid", low, high)
    for field in ("startDateTime", "endDateTime"):
        if item.get(field) is not None and parse_rfc3339(item[field]) is None:
            raise ItemError("FIELD_VALUE_IS_INVALID", f"{field} must be an RFC 3339 date-time", fieldLocation=field)
    if item.get("budgetAmount") is not None:
        require_number(item["budgetAmount"], "budgetAmount", 0, 1e12)
    _check_frequencies(item, MAX_AD_GROUP_IMPRESSIONS)
    _check_state(item)
    settings = item.get("targetingSettings")
    if isinstance(settings, dict) and "targetedPGDealId" in settings:
        _check_deal_id(settings["targetedPGDealId"], "targetingSettings.targetedPGDealId")


# --- deals (Kargo and other SSPs' deals a buyer targets) ---------------------------------------

DEAL_TARGET_TYPES = ("PRIVATE_AUCTION", "PREFERRED")


def _check_deal_id(deal_id, field: str) -> str:
    if not isinstance(deal_id, str) or not deal_id.strip():
        raise ItemError("FIELD_VALUE_IS_NULL", f"{field} is required", fieldLocation=field)
    if len(deal_id) > 128 or any(ch.isspace() for ch in deal_id):
        raise ItemError("FIELD_VALUE_IS_INVALID", f"{field} must be at most 128 characters without spaces",
                        fieldLocation=field)
    return deal_id


def _check_deal_target(ctx: Context, ad_group: dict, deal: dict) -> None:
    """A private-auction or preferred deal target; guaranteed deals go on the ad group
    (targetingSettings.targetedPGDealId). One target per deal and ad group."""
    if not isinstance(deal, dict):
        raise ItemError("FIELD_VALUE_IS_INVALID", "dealTarget must be an object", fieldLocation="targetDetails")
    deal_id = _check_deal_id(deal.get("dealId"), "targetDetails.dealTarget.dealId")
    if deal.get("dealType") not in DEAL_TARGET_TYPES:
        raise ItemError("FIELD_VALUE_IS_INVALID", "dealTarget.dealType must be PRIVATE_AUCTION or PREFERRED "
                        "(programmatic guaranteed deals are set with targetingSettings.targetedPGDealId)",
                        fieldLocation="targetDetails.dealTarget.dealType")
    for target in ctx.state.targets.values():
        same = (target["adGroupId"] == ad_group["adGroupId"]
                and ((target.get("targetDetails") or {}).get("dealTarget") or {}).get("dealId") == deal_id)
        if same:
            raise ItemError("ENTITY_ALREADY_EXISTS", f"Ad group {ad_group['adGroupId']} already targets deal {deal_id}",
                            fieldLocation="targetDetails.dealTarget.dealId")


def create_ad_groups(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        campaign = _owned(ctx.state.campaigns, item.get("campaignId"), account, ctx.region, "campaignId")
        _check_ad_group(item, creating=True)
        ad_group_id = ctx.state.new_id("adGroup")
        entity = {**_changes(item), "adGroupId": ad_group_id, "campaignId": campaign["campaignId"],
                  "advertiserId": account,
                  "state": "INACTIVE", "deliveryStatus": "INACTIVE", "_region": ctx.region}
        _stamp(ctx, entity, created=True)
        ctx.state.ad_groups[ad_group_id] = entity
        return {"adGroupId": ad_group_id}

    return batch_write(ctx, "adGroups", limits.AD_GROUPS_PER_WRITE, apply)


def update_ad_groups(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        ad_group = _owned(ctx.state.ad_groups, item.get("adGroupId"), account, ctx.region, "adGroupId")
        if "campaignId" in item and item["campaignId"] != ad_group["campaignId"]:
            raise ItemError("FIELD_VALUE_IS_INVALID", "campaignId cannot be changed", fieldLocation="campaignId")
        _check_ad_group({**item, "inventoryType": item.get("inventoryType", ad_group.get("inventoryType"))},
                        creating=False)
        deep_merge(ad_group, _changes(item, "creationDateTime", "deliveryStatus"))
        ad_group["deliveryStatus"] = "DELIVERING" if ad_group["state"] == "ACTIVE" else "INACTIVE"
        _stamp(ctx, ad_group, created=False)
        return {"adGroupId": ad_group["adGroupId"]}

    return batch_write(ctx, "adGroups", limits.AD_GROUPS_PER_WRITE, apply)


def list_ad_groups(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    rows = _in_account(ctx, ctx.state.ad_groups, account)
    return list_page(ctx, rows, "adGroups", {
        "adGroupIdFilter": "adGroupId", "campaignIdFilter": "campaignId", "externalIdFilter": "externalId",
        "nameFilter": "name", "stateFilter": "state",
    })


# --- targets ----------------------------------------------------------------------------------

def create_targets(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        ad_group = _owned(ctx.state.ad_groups, item.get("adGroupId"), account, ctx.region, "adGroupId")
        if item.get("adProduct", "AMAZON_DSP") != "AMAZON_DSP":
            raise ItemError("FIELD_VALUE_IS_INVALID", "adProduct must be AMAZON_DSP", fieldLocation="adProduct")
        details = item.get("targetDetails")
        if not isinstance(details, dict) or len(details) != 1:
            raise ItemError("FIELD_VALUE_IS_INVALID", "targetDetails must hold exactly one target type",
                            fieldLocation="targetDetails")
        if item.get("state", "ENABLED") not in ("ENABLED", "PAUSED"):
            raise ItemError("FIELD_VALUE_IS_INVALID", "state must be ENABLED or PAUSED", fieldLocation="state")
        if "dealTarget" in details:
            _check_deal_target(ctx, ad_group, details["dealTarget"])
        target_id = ctx.state.new_id("target")
        entity = {"state": "ENABLED", "negative": False, **_changes(item), "targetId": target_id,
                  "adProduct": "AMAZON_DSP",
                  "adGroupId": ad_group["adGroupId"], "advertiserId": account, "_region": ctx.region}
        ctx.state.targets[target_id] = entity
        return {"targetId": target_id}

    return batch_write(ctx, "targets", limits.TARGETS_PER_WRITE, apply)


def delete_targets_by_object(ctx: Context) -> Response:
    """G2 removes targets by what they are, not by id: each item names the ad group, negative and
    targetDetails of one target. A target that is not there (already removed) is
    RESOURCE_ID_NOT_FOUND for that item alone."""
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        ad_group = _owned(ctx.state.ad_groups, item.get("adGroupId"), account, ctx.region, "adGroupId")
        details = item.get("targetDetails")
        if not isinstance(details, dict) or len(details) != 1:
            raise ItemError("FIELD_VALUE_IS_INVALID", "targetDetails must hold exactly one target type",
                            fieldLocation="targetDetails")
        for target_id, target in list(ctx.state.targets.items()):
            if (target["adGroupId"] == ad_group["adGroupId"] and target.get("targetDetails") == details
                    and bool(target.get("negative")) == bool(item.get("negative"))):
                del ctx.state.targets[target_id]
                return {"targetId": target_id}
        raise ItemError("RESOURCE_ID_NOT_FOUND", "No such target on this ad group", fieldLocation="targetDetails")

    return batch_write(ctx, "targets", limits.TARGETS_PER_WRITE, apply)


def list_targets(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]
    rows = _in_account(ctx, ctx.state.targets, account)
    return list_page(ctx, rows, "targets", {"targetIdFilter": "targetId", "adGroupIdFilter": "adGroupId"})


# --- helpers ----------------------------------------------------------------------------------

def _owned(store: dict, entity_id, account: str, region: str, field: str) -> dict:
    entity = store.get(str(entity_id)) if entity_id else None
    if entity_id is None:
        raise ItemError("FIELD_VALUE_IS_NULL", f"{field} is required", fieldLocation=field)
    if entity is None or entity["advertiserId"] != account or entity["_region"] != region:
        raise ItemError("RESOURCE_ID_NOT_FOUND", f"{field} {entity_id} not found", fieldLocation=field)
    return entity


def _in_account(ctx: Context, store: dict, account: str) -> list[dict]:
    with ctx.state.lock:
        return [e for e in store.values() if e["advertiserId"] == account and e["_region"] == ctx.region]


def _changes(item: dict, *read_only: str) -> dict:
    """The writable part of a PATCH item: never the fake's bookkeeping or read-only fields."""
    return {k: v for k, v in item.items() if not k.startswith("_") and k not in read_only}


ROUTES = [
    route("POST", "/dsp/v1/campaigns", create_campaigns),
    route("PATCH", "/dsp/v1/campaigns", update_campaigns),
    route("POST", "/dsp/v1/campaigns/list", list_campaigns),
    route("POST", "/dsp/v1/adGroups", create_ad_groups),
    route("PATCH", "/dsp/v1/adGroups", update_ad_groups),
    route("POST", "/dsp/v1/adGroups/list", list_ad_groups),
    route("POST", "/dsp/v1/targets", create_targets),
    route("POST", "/dsp/v1/targets/list", list_targets),
    route("POST", "/dsp/v1/targets/deleteByObject", delete_targets_by_object),
]
