"""What is synced, in Amazon's terms: for each kind of object, the canonical synced fields on our
side and on theirs, the create payload, the partial update (PATCH) item, and how a value of
theirs is written back onto our object.

Canonical values are strings (or None) so both sides compare exactly: money as "12.30", dates
as ISO days in the advertiser's time zone, states as Amazon's ACTIVE/INACTIVE. The same dict is
the base of the three-way merge stored on ExternalRef.synced_values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable

from django.db import models

from campaigns.choices import CampaignStatus, EntityState, FrequencyCapUnit, GoalKpi, LineItemFormat, Pacing
from campaigns.models import Campaign, Keyword, LineItem, ProductTarget
from integrations.sync.values import NotApplicable, _tz, day_end, day_start, external_id_for, local_day, money, ratio

# A DSP flight needs an end; an open-ended campaign is sent with a year-long flight.
OPEN_FLIGHT_DAYS = 365
DSP_FORMATS = {
    LineItemFormat.DISPLAY: "DISPLAY",
    LineItemFormat.VIDEO: "ONLINE_VIDEO",
    LineItemFormat.AUDIO: "AUDIO",
}
_PACING = {Pacing.EVEN: "EVEN", Pacing.ASAP: "ASAP"}
_PACING_BACK = {v: k for k, v in _PACING.items()}
_KPI = {"roas": "RETURN_ON_AD_SPEND", "acos": "TOTAL_RETURN_ON_AD_SPEND", "cpc": "COST_PER_CLICK",
        "cpa": "COST_PER_ACTION", "ctr": "CLICK_THROUGH_RATE", "reach": "REACH", "viewability": "OTHER",
        "vcr": "VIDEO_COMPLETION_RATE"}
_KPI_BACK = {v: k for k, v in _KPI.items()}
# Our target ROAS is a percent (300 = 3:1); Amazon's targetKpi for RETURN_ON_AD_SPEND is the ratio.
_ROAS_KPI = "RETURN_ON_AD_SPEND"
UNCAPPED = "UNCAPPED"
_CAP_UNITS = {FrequencyCapUnit.DAYS: "DAYS", FrequencyCapUnit.HOURS: "HOURS"}
_CAP_UNITS_BACK = {v: k for k, v in _CAP_UNITS.items()}
# Targets (keywords, product targets) on Amazon: ENABLED or PAUSED. An archived one is removed
# there (deleteByObject): DSP targets have no archived state.
ARCHIVED = "ARCHIVED"


def _state(active: bool) -> str:
    return "ACTIVE" if active else "INACTIVE"


def _number(text: str | None) -> float | None:
    # Amazon's JSON takes numbers; two-decimal amounts survive the float round trip exactly as text.
    return None if text is None else float(Decimal(text))


# --- the kinds --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str  # our short name, used in externalId and error rows
    model: type[models.Model]
    id_key: str  # Amazon's id field: campaignId, adGroupId, targetId
    items_key: str  # the array key of batch writes and list answers
    path: str  # creates are POSTed here
    list_path: str
    parent: str | None
    fields: tuple[str, ...]
    id_filter: str
    external_id_filter: str | None  # None: Amazon's list has no externalId filter (targets)
    ours: Callable[[Any], dict] = field(repr=False, default=None)
    theirs: Callable[[dict, Any], dict] = field(repr=False, default=None)
    payload: Callable[[Any, str | None, Any], dict] = field(repr=False, default=None)
    patch: Callable[[str, dict, set, Any], dict] = field(repr=False, default=None)
    apply: Callable[[Any, str, Any], None] = field(repr=False, default=None)
    update_method: str = "PATCH"
    update_path: str = ""  # blank: `path`
    updatable: frozenset | None = None  # the fields Amazon lets a write change; None: all of `fields`

    def __post_init__(self):
        if self.updatable is None:
            object.__setattr__(self, "updatable", frozenset(self.fields))
        else:
            object.__setattr__(self, "updatable", frozenset(self.updatable))

    def external_id(self, pk: int) -> str:
        return external_id_for(self.name, pk)

    @property
    def update_url(self) -> str:
        return self.update_path or self.path

    @property
    def is_target(self) -> bool:
        return self.items_key == "targets"


# Campaigns -------------------------------------------------------------------------------------

def _campaign_end(c: Campaign) -> date:
    return c.end_date or (c.start_date + timedelta(days=OPEN_FLIGHT_DAYS))


def _campaign_budget(c: Campaign) -> str:
    if c.total_budget is not None:
        return money(c.total_budget)
    days = (_campaign_end(c) - c.start_date).days + 1
    return money(c.daily_budget * days)


def _target_kpi(goal_kpi: str, target_roas) -> str | None:
    if goal_kpi != GoalKpi.ROAS or target_roas is None:
        return None
    return ratio(Decimal(str(target_roas)) / 100)


def campaign_ours(c: Campaign) -> dict:
    return {
        "name": c.name,
        "state": _state(c.status == CampaignStatus.ENABLED),
        "startDate": c.start_date.isoformat(),
        "endDate": _campaign_end(c).isoformat(),
        "budget": _campaign_budget(c),
        "goalKpi": _KPI.get(c.goal_kpi, "OTHER"),
        "targetKpi": _target_kpi(c.goal_kpi, c.target_roas),
    }


def _goal_setting(values: dict) -> dict:
    """Amazon's goalSetting for our KPI and target; targetKpi is sent as null to clear it."""
    target = values.get("targetKpi")
    return {"kpi": values.get("goalKpi") or "OTHER", "targetKpi": float(Decimal(target)) if target else None}


def campaign_theirs(remote: dict, advertiser) -> dict:
    tz = _tz(advertiser)
    holder = remote.get("flights")
    flights = (holder.get("flights") or [{}]) if isinstance(holder, dict) else [{}]
    first, last = flights[0], flights[-1]
    budget = sum((Decimal(str(f.get("budgetAmount") or 0)) for f in flights), Decimal(0))
    goal = (remote.get("optimization") or {}).get("goalSetting") or {}
    kpi = goal.get("kpi") or None
    return {
        "name": remote.get("name"),
        "state": remote.get("state") or "INACTIVE",
        "startDate": local_day(first.get("startDateTime"), tz),
        "endDate": local_day(last.get("endDateTime"), tz),
        "budget": money(budget),
        "goalKpi": kpi,
        "targetKpi": ratio(goal.get("targetKpi")) if kpi == _ROAS_KPI else None,
    }


def _flights(values: dict, tz) -> dict:
    return {"flights": [{
        "startDateTime": day_start(date.fromisoformat(values["startDate"]), tz),
        "endDateTime": day_end(date.fromisoformat(values["endDate"]), tz),
        "budgetAmount": _number(values["budget"]),
    }]}


def campaign_payload(c: Campaign, parent_id: str | None, advertiser) -> dict:
    values = campaign_ours(c)
    return {
        "name": values["name"],
        "externalId": external_id_for("campaign", c.pk),
        "flights": _flights(values, _tz(advertiser)),
        "optimization": {"bidStrategy": "SPEND_BUDGET_IN_FULL", "goalSetting": _goal_setting(values)},
    }


def campaign_patch(remote_id: str, target: dict, push: set, advertiser) -> dict:
    """`target` is the value Amazon should end with for every field (theirs where we do not
    push): flights go as a whole, so a conflicting budget is resent as theirs, not ours."""
    item: dict = {"campaignId": remote_id}
    if "name" in push:
        item["name"] = target["name"]
    if "state" in push:
        item["state"] = target["state"]
    if push & {"startDate", "endDate", "budget"}:
        item["flights"] = _flights(target, _tz(advertiser))
    if push & {"goalKpi", "targetKpi"}:
        # A partial update: only goalSetting is sent, Amazon keeps the rest of optimization.
        item["optimization"] = {"goalSetting": _goal_setting(target)}
    return item


def campaign_apply(c: Campaign, field_name: str, value) -> None:
    if field_name == "name":
        c.name = value
    elif field_name == "state":
        _apply_state(c, value, "status")
    elif field_name == "startDate":
        c.start_date = date.fromisoformat(value)
    elif field_name == "endDate":
        c.end_date = date.fromisoformat(value) if value else None
    elif field_name == "budget":
        c.total_budget = Decimal(value) if value is not None else None
    elif field_name == "goalKpi":
        if value not in _KPI_BACK:
            raise NotApplicable(f"Amazon's goal KPI {value} has no counterpart here.")
        c.goal_kpi = _KPI_BACK[value]
    elif field_name == "targetKpi":
        if c.goal_kpi == GoalKpi.ROAS:  # the other KPIs carry no target here
            c.target_roas = (Decimal(value) * 100).quantize(Decimal("0.0001")) if value is not None else None
    else:
        raise NotApplicable(f"Unknown campaign field {field_name}")


def _apply_state(obj, value: str, attr: str) -> None:
    current = getattr(obj, attr)
    if current == EntityState.ARCHIVED:
        raise NotApplicable("Archived objects are final; Amazon's state is not copied onto them.")
    if value == "ACTIVE":
        setattr(obj, attr, EntityState.ENABLED)
    elif current == EntityState.ENABLED:  # INACTIVE: paused here (a draft stays a draft)
        setattr(obj, attr, EntityState.PAUSED)


# Line items = ad groups ------------------------------------------------------------------------

def line_item_ours(li: LineItem) -> dict:
    return {
        "name": li.name,
        "state": _state(li.status == EntityState.ENABLED),
        "bid": money(li.default_bid),
        "budget": money(li.budget),
        "startDate": li.start_date.isoformat() if li.start_date else None,
        "endDate": li.end_date.isoformat() if li.end_date else None,
        "pacing": _PACING.get(li.pacing, "EVEN"),
        "frequencyCap": frequency_cap(li.frequency_cap_impressions, li.frequency_cap_period, li.frequency_cap_unit),
    }


def frequency_cap(impressions, period, unit) -> str:
    """Canonical cap: "UNCAPPED" or "<impressions>/<count>/<DAYS|HOURS>"."""
    if impressions is None or period is None or not unit:
        return UNCAPPED
    return f"{impressions}/{period}/{_CAP_UNITS.get(unit, str(unit).upper())}"


def _frequencies(cap: str) -> list[dict]:
    """Amazon's frequencies for a canonical cap. G2 names the kind `frequencyType`; the custom
    cap's fields follow Amazon's frequencyCap (maxImpressions per timeUnitCount timeUnit)."""
    if not cap or cap == UNCAPPED:
        return [{"frequencyType": UNCAPPED}]
    impressions, period, unit = cap.split("/")
    return [{"frequencyType": "CUSTOM", "maxImpressions": int(impressions), "timeUnitCount": int(period),
             "timeUnit": unit}]


def _their_cap(frequencies) -> str:
    first = (frequencies or [{}])[0] if isinstance(frequencies, list) else {}
    if not first or first.get("frequencyType", UNCAPPED) == UNCAPPED:
        return UNCAPPED
    return f"{first.get('maxImpressions')}/{first.get('timeUnitCount')}/{first.get('timeUnit')}"


def line_item_theirs(remote: dict, advertiser) -> dict:
    tz = _tz(advertiser)
    return {
        "name": remote.get("name"),
        "state": remote.get("state") or "INACTIVE",
        "bid": money((remote.get("bid") or {}).get("baseBid")),
        "budget": money(remote.get("budgetAmount")),
        "startDate": local_day(remote.get("startDateTime"), tz),
        "endDate": local_day(remote.get("endDateTime"), tz),
        "pacing": (remote.get("pacing") or {}).get("deliveryProfile") or "EVEN",
        "frequencyCap": _their_cap(remote.get("frequencies")),
    }


def _line_item_fields(values: dict, push: set, tz) -> dict:
    item: dict = {}
    if "name" in push:
        item["name"] = values["name"]
    if "state" in push:
        item["state"] = values["state"]
    if "bid" in push:
        item["bid"] = {"baseBid": _number(values["bid"])}
    if "budget" in push:
        item["budgetAmount"] = _number(values["budget"])
    if "startDate" in push:
        item["startDateTime"] = day_start(date.fromisoformat(values["startDate"]), tz) if values["startDate"] else None
    if "endDate" in push:
        item["endDateTime"] = day_end(date.fromisoformat(values["endDate"]), tz) if values["endDate"] else None
    if "pacing" in push:
        item["pacing"] = {"deliveryProfile": values["pacing"]}
    if "frequencyCap" in push:
        item["frequencies"] = _frequencies(values.get("frequencyCap"))
    return item


def line_item_payload(li: LineItem, parent_id: str | None, advertiser) -> dict:
    values = line_item_ours(li)
    fields = {f for f in values if f != "state" and values[f] is not None}
    return {
        "campaignId": parent_id,
        "externalId": external_id_for("lineitem", li.pk),
        "inventoryType": DSP_FORMATS.get(li.format, "DISPLAY"),
        "creativeRotationType": "RANDOM",
        **_line_item_fields(values, fields, _tz(advertiser)),
    }


def line_item_patch(remote_id: str, target: dict, push: set, advertiser) -> dict:
    return {"adGroupId": remote_id, **_line_item_fields(target, push, _tz(advertiser))}


def line_item_apply(li: LineItem, field_name: str, value) -> None:
    if field_name == "name":
        li.name = value
    elif field_name == "state":
        _apply_state(li, value, "status")
    elif field_name == "bid":
        li.default_bid = Decimal(value)
    elif field_name == "budget":
        li.budget = Decimal(value) if value is not None else None
    elif field_name == "startDate":
        li.start_date = date.fromisoformat(value) if value else None
    elif field_name == "endDate":
        li.end_date = date.fromisoformat(value) if value else None
    elif field_name == "pacing":
        li.pacing = _PACING_BACK.get(value, Pacing.EVEN)
    elif field_name == "frequencyCap":
        if not value or value == UNCAPPED:
            li.frequency_cap_impressions = li.frequency_cap_period = None
            li.frequency_cap_unit = ""
            return
        try:
            impressions, period, unit = value.split("/")
            li.frequency_cap_impressions, li.frequency_cap_period = int(impressions), int(period)
            li.frequency_cap_unit = _CAP_UNITS_BACK[unit]
        except (ValueError, KeyError):
            raise NotApplicable(f"Amazon's frequency cap {value} has no counterpart here.") from None
    else:
        raise NotApplicable(f"Unknown line item field {field_name}")


# Keywords and product targets = DSP targets ---------------------------------------------------
# What a target is (its details, negative or not) is fixed once created: Amazon's update of a
# target (Ads API v1 update/targets) takes only its state (and a bid, which the DSP sets on the
# ad group instead). Archived here means removed there (G2 targets/deleteByObject).

def _target_state(state: str) -> str:
    if state == EntityState.ARCHIVED:
        return ARCHIVED
    return "ENABLED" if state == EntityState.ENABLED else "PAUSED"


def keyword_ours(k: Keyword) -> dict:
    return {"target": f"keyword|{k.match_type}|{k.text}", "negative": "true" if k.is_negative else "false",
            "state": _target_state(k.state)}


def product_target_ours(t: ProductTarget) -> dict:
    return {"target": f"product|{t.expression}", "negative": "true" if t.negative else "false",
            "state": _target_state(t.state)}


def target_theirs(remote: dict, advertiser) -> dict:
    details = remote.get("targetDetails") or {}
    if "keywordTarget" in details:
        kw = details["keywordTarget"] or {}
        target = f"keyword|{kw.get('matchType')}|{kw.get('keyword')}"
    elif "productTarget" in details:
        target = f"product|{(details['productTarget'] or {}).get('expression')}"
    else:
        target = f"other|{json.dumps(details, sort_keys=True)}"
    return {"target": target, "negative": "true" if remote.get("negative") else "false",
            "state": remote.get("state") or "ENABLED"}


def keyword_payload(k: Keyword, parent_id: str | None, advertiser=None) -> dict:
    return {"adGroupId": parent_id, "adProduct": "AMAZON_DSP", "externalId": external_id_for("keyword", k.pk),
            "negative": k.is_negative, "state": keyword_ours(k)["state"],
            "targetDetails": {"keywordTarget": {"keyword": k.text, "matchType": k.match_type}}}


def product_target_payload(t: ProductTarget, parent_id: str | None, advertiser=None) -> dict:
    return {"adGroupId": parent_id, "adProduct": "AMAZON_DSP", "externalId": external_id_for("producttarget", t.pk),
            "negative": t.negative, "state": product_target_ours(t)["state"],
            "targetDetails": {"productTarget": {"expression": t.expression}}}


def target_patch(remote_id: str, target: dict, push: set, advertiser=None) -> dict:
    """An item of POST /adsApi/v1/update/targets: the state is all a target lets us change."""
    return {"targetId": remote_id, "state": target["state"]}


def target_delete_item(remote: dict) -> dict:
    """An item of POST /dsp/v1/targets/deleteByObject: the target as Amazon holds it."""
    return {"adGroupId": remote.get("adGroupId"), "adProduct": "AMAZON_DSP", "negative": bool(remote.get("negative")),
            "targetDetails": remote.get("targetDetails") or {}}


def target_apply(obj, field_name: str, value) -> None:
    if field_name != "state":
        raise NotApplicable(f"Amazon cannot change a target's {field_name}; it is not written here.")
    if obj.state == EntityState.ARCHIVED:
        raise NotApplicable("Archived objects are final; Amazon's state is not copied onto them.")
    obj.state = EntityState.ENABLED if value == "ENABLED" else EntityState.PAUSED


CAMPAIGN = Kind("campaign", Campaign, "campaignId", "campaigns", "/dsp/v1/campaigns", "/dsp/v1/campaigns/list",
                None, ("name", "state", "startDate", "endDate", "budget", "goalKpi", "targetKpi"), "campaignIdFilter",
                "externalIdFilter", campaign_ours, campaign_theirs, campaign_payload, campaign_patch, campaign_apply)
LINE_ITEM = Kind("lineitem", LineItem, "adGroupId", "adGroups", "/dsp/v1/adGroups", "/dsp/v1/adGroups/list",
                 "campaign", ("name", "state", "bid", "budget", "startDate", "endDate", "pacing", "frequencyCap"),
                 "adGroupIdFilter", "externalIdFilter", line_item_ours, line_item_theirs, line_item_payload,
                 line_item_patch, line_item_apply)
# A target's state is all Amazon lets a write change.
TARGET_UPDATE = dict(update_method="POST", update_path="/adsApi/v1/update/targets", updatable={"state"})
KEYWORD = Kind("keyword", Keyword, "targetId", "targets", "/dsp/v1/targets", "/dsp/v1/targets/list", "lineitem",
               ("target", "negative", "state"), "targetIdFilter", None, keyword_ours, target_theirs,
               keyword_payload, target_patch, target_apply, **TARGET_UPDATE)
PRODUCT_TARGET = Kind("producttarget", ProductTarget, "targetId", "targets", "/dsp/v1/targets",
                      "/dsp/v1/targets/list", "lineitem", ("target", "negative", "state"),
                      "targetIdFilter", None, product_target_ours, target_theirs, product_target_payload,
                      target_patch, target_apply, **TARGET_UPDATE)
TARGET_DELETE_PATH = "/dsp/v1/targets/deleteByObject"

KINDS: tuple[Kind, ...] = (CAMPAIGN, LINE_ITEM, KEYWORD, PRODUCT_TARGET)
KINDS_BY_NAME = {k.name: k for k in KINDS}
KIND_OF_MODEL = {k.model: k for k in KINDS}


def in_scope(kind: Kind, advertiser) -> models.QuerySet:
    """Our objects a push considers: not drafts (a draft is a plan, not something to run), and
    only DSP formats (sponsored products are not DSP line items). No joins: the mapping needs
    only the rows and parent ids (the advertiser is passed in), which matters at 10,000 rows."""
    live_campaigns = Campaign.objects.filter(advertiser=advertiser).exclude(status=CampaignStatus.DRAFT)
    if kind is CAMPAIGN:
        return live_campaigns.order_by("pk")
    line_items = LineItem.objects.filter(campaign__in=live_campaigns, format__in=list(DSP_FORMATS))
    if kind is LINE_ITEM:
        return line_items.order_by("pk")
    return kind.model.objects.filter(line_item__in=line_items).order_by("pk")


def parent_id_of(kind: Kind, obj) -> int | None:
    if kind is LINE_ITEM:
        return obj.campaign_id
    if kind in (KEYWORD, PRODUCT_TARGET):
        return obj.line_item_id
    return None


def is_archived(kind: Kind, obj) -> bool:
    attr = "status" if kind in (CAMPAIGN, LINE_ITEM) else "state"
    return getattr(obj, attr) == EntityState.ARCHIVED
