"""DSP resources on top of the transport: profiles, advertisers, current-generation (G2,
`/dsp/v1`) campaigns, ad groups, targets, creatives and associations, the asset library, and
the one Ads API v1 call G2 lacks: updating a target's state.

Batch writes answer 207 with per-item results; `BatchResult` maps them back to the caller's
list (indices are remapped across the chunks the limits force). A create that failed on the
network may still have happened on Amazon: callers that must not duplicate look the object up
(by externalId or name) before creating it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from integrations.amazon import limits
from integrations.amazon.errors import AssetProcessingFailed, ClientError
from integrations.amazon.pagination import iter_next_token, iter_offset


@dataclass
class BatchResult:
    """Per-item outcome of one logical batch write (possibly several calls)."""

    success: list[dict] = field(default_factory=list)  # each has "index" into the caller's list
    error: list[dict] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    def ids(self, key: str) -> dict[int, str]:
        """index → the id Amazon gave (key: "campaignId", "adGroupId", "targetId"...)."""
        return {item["index"]: item[key] for item in self.success if key in item}

    def errors_by_index(self) -> dict[int, dict]:
        return {item["index"]: item for item in self.error}

    def transient_indices(self) -> list[int]:
        """Items that failed for a reason worth retrying (Amazon's side), not a validation."""
        return [
            item["index"] for item in self.error
            if (item.get("errorCode") or item.get("code")) in limits.TRANSIENT_ITEM_ERRORS
        ]

    def extend(self, page: Any, offset: int, request_id: str | None) -> None:
        page = page if isinstance(page, dict) else {}
        for item in page.get("success") or []:
            self.success.append({**item, "index": int(item.get("index", 0)) + offset})
        for item in page.get("error") or []:
            self.error.append({**item, "index": int(item.get("index", 0)) + offset})
        rid = page.get("requestId") or request_id
        if rid:
            self.request_ids.append(rid)


class DspMixin:
    """Needs `request()`, `get()`, `post()`, `put_presigned()`, `sleep` and `clock` from the client."""

    # --- profiles and advertisers -------------------------------------------------------------

    def list_profiles(self, **filters: str) -> list[dict]:
        """Profiles in this client's region (Amazon answers [] when there are none)."""
        return self.get("/v2/profiles", params=filters or None) or []

    def dsp_agency_profile(self) -> dict | None:
        """The profile legacy /dsp/* calls are scoped to: type agency, not Amazon Attribution."""
        for profile in self.list_profiles(profileTypeFilter="agency"):
            info = profile.get("accountInfo") or {}
            if info.get("type") == "agency" and info.get("subType") != "AMAZON_ATTRIBUTION":
                return profile
        return None

    def iter_advertisers(self, *, page_size: int = limits.OFFSET_COUNT_MAX, **params) -> Iterator[dict]:
        return iter_offset(self, "/dsp/advertisers", count=page_size, params=params)

    def get_advertiser(self, advertiser_id: str) -> dict:
        return self.get(f"/dsp/advertisers/{advertiser_id}")

    # --- campaigns, ad groups, targets (G2) ---------------------------------------------------

    def create_campaigns(self, campaigns: Sequence[dict], **kw) -> BatchResult:
        return self._write("POST", "/dsp/v1/campaigns", "campaigns", campaigns, limits.CAMPAIGNS_PER_WRITE, **kw)

    def update_campaigns(self, campaigns: Sequence[dict], **kw) -> BatchResult:
        """PATCH: partial; each item carries its campaignId."""
        return self._write("PATCH", "/dsp/v1/campaigns", "campaigns", campaigns, limits.CAMPAIGNS_PER_WRITE, **kw)

    def iter_campaigns(self, *, page_size: int = limits.LIST_PAGE_MAX, account_id: str | None = None, **filters):
        """filters: campaignIdFilter / externalIdFilter / nameFilter / stateFilter, each {"include": [...]}."""
        return iter_next_token(
            self, "/dsp/v1/campaigns/list", items_key="campaigns", body=filters, max_results=page_size,
            account_id=account_id,
        )

    def create_ad_groups(self, ad_groups: Sequence[dict], **kw) -> BatchResult:
        return self._write("POST", "/dsp/v1/adGroups", "adGroups", ad_groups, limits.AD_GROUPS_PER_WRITE, **kw)

    def update_ad_groups(self, ad_groups: Sequence[dict], **kw) -> BatchResult:
        return self._write("PATCH", "/dsp/v1/adGroups", "adGroups", ad_groups, limits.AD_GROUPS_PER_WRITE, **kw)

    def iter_ad_groups(self, *, page_size: int = limits.LIST_PAGE_MAX, account_id: str | None = None, **filters):
        """filters: adGroupIdFilter / campaignIdFilter / externalIdFilter / nameFilter / stateFilter."""
        return iter_next_token(
            self, "/dsp/v1/adGroups/list", items_key="adGroups", body=filters, max_results=page_size,
            account_id=account_id,
        )

    def create_targets(self, targets: Sequence[dict], **kw) -> BatchResult:
        return self._write("POST", "/dsp/v1/targets", "targets", targets, limits.TARGETS_PER_WRITE, **kw)

    def update_targets(self, targets: Sequence[dict], **kw) -> BatchResult:
        """Change targets' state (Ads API v1 `update/targets`; G2 has no update for targets).
        Each item is {"targetId", "state"}; what a target is cannot be changed. Answers are
        normalised to the G2 shape: success items carry "targetId", errors "errorCode" and
        "errorMessage"."""
        result = self._write("POST", "/adsApi/v1/update/targets", "targets", targets, limits.TARGETS_PER_WRITE, **kw)
        for item in result.success:
            item.setdefault("targetId", (item.get("target") or {}).get("targetId"))
        for item in result.error:
            nested = (item.get("errors") or [{}])[0]
            item.setdefault("errorCode", nested.get("code"))
            item.setdefault("errorMessage", nested.get("message"))
        return result

    def delete_targets(self, targets: Sequence[dict], **kw) -> BatchResult:
        """Remove targets, named by what they are ({adGroupId, adProduct, negative, targetDetails}):
        G2's `targets/deleteByObject`."""
        return self._write("POST", "/dsp/v1/targets/deleteByObject", "targets", targets, limits.TARGETS_PER_WRITE,
                           **kw)

    def iter_targets(self, *, page_size: int = limits.LIST_PAGE_MAX, account_id: str | None = None, **filters):
        return iter_next_token(
            self, "/dsp/v1/targets/list", items_key="targets", body=filters, max_results=page_size,
            account_id=account_id,
        )

    # --- creatives ----------------------------------------------------------------------------

    def create_ad_creative(self, creative: dict, *, account_id: str | None = None) -> str:
        return self.post("/dsp/v1/adCreatives", json=creative, account_id=account_id)["adCreativeId"]

    def update_ad_creative(self, ad_creative_id: str, changes: dict, *, account_id: str | None = None) -> None:
        self.request("PATCH", f"/dsp/v1/adCreatives/{ad_creative_id}", json=changes, account_id=account_id)

    def iter_ad_creatives(self, *, page_size: int = limits.AD_CREATIVES_PAGE_DEFAULT, account_id=None, **filters):
        return iter_next_token(
            self, "/dsp/v1/adCreatives/list", items_key="adCreatives", body=filters, max_results=page_size,
            account_id=account_id,
        )

    def set_ad_experiences(self, ad_creative_id: str, experiences: Sequence[str], *, account_id=None) -> None:
        self.request(
            "PUT", "/dsp/v1/adExperiences", json={"adCreativeId": ad_creative_id, "adExperiences": list(experiences)},
            account_id=account_id,
        )

    def create_third_party_creative(self, creative: dict, *, account_id: str | None = None) -> str:
        """Create a THIRD_PARTY ad creative (a Kargo snippet or VAST tag) and give it the ad
        experience its tag serves: THIRD_PARTY_VIDEO for VAST, THIRD_PARTY_DISPLAY otherwise."""
        props = creative.get("adCreativeFormatProperties") or {}
        if props.get("adCreativeFormatType") != "THIRD_PARTY":
            raise ValueError("A third-party creative has adCreativeFormatType THIRD_PARTY.")
        creative_id = self.create_ad_creative(creative, account_id=account_id)
        video = str((props.get("thirdPartyTag") or {}).get("tagType", "")).startswith("VAST")
        self.set_ad_experiences(creative_id, ["THIRD_PARTY_VIDEO" if video else "THIRD_PARTY_DISPLAY"],
                                account_id=account_id)
        return creative_id

    def associate_creatives(self, associations: Sequence[dict], **kw) -> BatchResult:
        """Creative ↔ ad group associations, 20 per call (Amazon refuses more)."""
        return self._write(
            "POST", "/dsp/v1/adCreatives/associations/adGroups", "associations", associations,
            limits.ASSOCIATIONS_PER_WRITE, **kw,
        )

    def iter_associations(self, *, account_id: str | None = None, page_size: int = limits.LIST_PAGE_MAX, **filters):
        return iter_next_token(
            self, "/dsp/v1/adCreatives/associations/adGroups/list", items_key="associations", body=filters,
            max_results=page_size, account_id=account_id,
        )

    # --- creative asset library ---------------------------------------------------------------

    def upload_asset(
        self,
        *,
        file_name: str,
        content: bytes,
        content_type: str,
        name: str | None = None,
        asset_type: str = "IMAGE",
        sub_types: Sequence[str] = ("OTHER_IMAGE",),
        account_id: str | None = None,
    ) -> dict:
        """Upload → PUT the bytes to the presigned URL → register. Returns the register answer
        ({assetId, versionId, failedSpecChecks}); the asset is PROCESSING until `wait_for_asset`."""
        upload = self.post("/assets/upload", json={"fileName": file_name}, account_id=account_id)
        self.put_presigned(upload["url"], content, content_type)
        advertiser = account_id or self.account_id
        return self.post(
            "/assets/register",
            json={
                "url": upload["url"],
                "name": name or file_name,
                "assetType": asset_type,
                "assetSubTypeList": list(sub_types),
                "registrationContext": {
                    "associatedPrograms": [
                        {"programName": "AMAZON_DSP", "metadata": {"dspAdvertiserId": advertiser}}
                    ]
                },
            },
            account_id=account_id,
        )

    def get_asset(self, asset_id: str, version: str | None = None, *, account_id: str | None = None) -> dict:
        params = {"assetId": asset_id, **({"version": version} if version else {})}
        return self.get("/assets", params=params, account_id=account_id)

    def asset_status(self, asset_id: str, version: str, *, account_id: str | None = None) -> str | None:
        """PROCESSING, ACTIVE or INACTIVE (one poll; callers waiting on many assets poll them in turn)."""
        return _asset_status(self.get_asset(asset_id, version, account_id=account_id), version)

    def wait_for_asset(
        self,
        asset_id: str,
        version: str,
        *,
        poll_interval: float = 10.0,
        max_wait: float = 45 * 60,  # Amazon: processing takes up to about 30 min
        account_id: str | None = None,
    ) -> dict:
        """Poll until the version is ACTIVE; raise AssetProcessingFailed when it ends otherwise."""
        deadline = self.clock() + max_wait
        while True:
            asset = self.get_asset(asset_id, version, account_id=account_id)
            status = _asset_status(asset, version)
            if status == "ACTIVE":
                return asset
            if status not in ("PROCESSING", None):
                raise AssetProcessingFailed(
                    f"Asset {asset_id} {version} ended {status}", body=asset, code=status, path="/assets"
                )
            if self.clock() + poll_interval > deadline:
                raise AssetProcessingFailed(f"Asset {asset_id} {version} still processing after {max_wait:.0f} s",
                                            body=asset, code="PROCESSING", path="/assets")
            self.sleep(poll_interval)

    # --- batching -----------------------------------------------------------------------------

    def _write(self, method: str, path: str, key: str, items: Iterable[dict], per_call: int,
               *, account_id: str | None = None) -> BatchResult:
        items = list(items)
        result = BatchResult()
        for offset in range(0, len(items), per_call):
            response = self.request(method, path, json={key: items[offset:offset + per_call]}, account_id=account_id)
            if response.status not in (200, 207):
                raise ClientError(f"Unexpected status {response.status} for a batch write", status=response.status,
                                  request_id=response.request_id, body=response.body, method=method, path=path)
            result.extend(response.body, offset, response.request_id)
        return result


def _asset_status(asset: dict, version: str) -> str | None:
    for entry in (asset or {}).get("assetVersionList") or []:
        identifier = entry.get("assetIdentifier") or {}
        if identifier.get("version") == version or entry.get("version") == version:
            return entry.get("assetStatus")
    return None


# --- deals and third-party creatives (Kargo; appended) ---------------------------------------------

DEAL_TARGET_TYPES = {"private_auction": "PRIVATE_AUCTION", "preferred": "PREFERRED"}


def deal_target(ad_group_id: str, deal_id: str, deal_type: str, *, external_id: str | None = None) -> dict:
    """A G2 target for a private-auction or preferred deal (guaranteed deals go on the ad group
    as targetingSettings.targetedPGDealId instead; reference §6)."""
    item = {"adGroupId": ad_group_id, "adProduct": "AMAZON_DSP", "state": "ENABLED", "negative": False,
            "targetDetails": {"dealTarget": {"dealId": deal_id, "dealType": DEAL_TARGET_TYPES[deal_type]}}}
    if external_id:
        item["externalId"] = external_id
    return item


def guaranteed_deal_patch(ad_group_id: str, deal_id: str) -> dict:
    return {"adGroupId": ad_group_id, "targetingSettings": {"targetedPGDealId": deal_id}}

