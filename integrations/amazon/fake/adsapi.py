"""Amazon Ads API v1 (the common model, `/adsApi/v1/...`): the one write the sync needs from it,
updating targets, which the DSP-specific G2 API cannot do (it only creates and deletes them).

A target update names the target and changes its `state` (ENABLED, PAUSED) and, for ad products
that bid per target, its `bid`; what the target is (ad group, negative, targetDetails) is fixed.
Answers are 207 with per-item results in v1's shape: {"success": [{"index", "target"}],
"error": [{"index", "errors": [{"code", "message", "fieldLocation"}]}]}.
"""

from __future__ import annotations

from integrations.amazon import limits
from integrations.amazon.fake.auth import authenticate, require_account
from integrations.amazon.fake.common import ItemError, batch_write, require_number
from integrations.amazon.fake.http import Context, Response, route
from integrations.amazon.fake.state import public

TARGET_STATES = ("ENABLED", "PAUSED")
UPDATABLE = {"targetId", "state", "bid", "tags"}


def update_targets(ctx: Context) -> Response:
    authenticate(ctx)
    account = require_account(ctx)["advertiserId"]

    def apply(index: int, item: dict) -> dict:
        target_id = item.get("targetId")
        if not target_id:
            raise ItemError("FIELD_VALUE_IS_NULL", "targetId is required", fieldLocation="targetId")
        target = ctx.state.targets.get(str(target_id))
        if target is None or target["advertiserId"] != account or target["_region"] != ctx.region:
            raise ItemError("RESOURCE_ID_NOT_FOUND", f"Target {target_id} not found", fieldLocation="targetId")
        fixed = sorted(set(item) - UPDATABLE)
        if fixed:
            raise ItemError("FIELD_VALUE_IS_INVALID", f"{', '.join(fixed)} cannot be updated on a target",
                            fieldLocation=fixed[0])
        if "state" in item and item["state"] not in TARGET_STATES:
            raise ItemError("FIELD_VALUE_IS_INVALID", "state must be ENABLED or PAUSED", fieldLocation="state")
        if "bid" in item:
            bid = item["bid"] if isinstance(item["bid"], dict) else {}
            require_number(bid.get("bid"), "bid.bid", 0.01, 1000)
        target.update({k: v for k, v in item.items() if k != "targetId"})
        target["lastUpdatedDateTime"] = ctx.state.iso_now()
        return {"target": public(target)}

    return batch_write(ctx, "targets", limits.TARGETS_PER_WRITE, apply, error_shape="v1")


ROUTES = [
    route("POST", "/adsApi/v1/update/targets", update_targets),
]
