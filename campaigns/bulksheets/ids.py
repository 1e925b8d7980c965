"""Which of our objects a sheet's ids stand for.

* Our exports write our primary keys (Campaign ID = Campaign.pk, Ad Group ID = LineItem.pk, Ad
  ID = ProductAd.pk, Keyword ID = Keyword.pk, Product Targeting ID = ProductTarget.pk) and say
  so in their hidden Config tab (id_space = adops). Their ids are looked up among the
  advertiser's own objects only: another advertiser's id is "not found", like a missing one.
* Any other sheet (Amazon's download, its create template) holds Amazon's numeric bulk-sheet
  ids. Those are matched through the resolvers registered here (integrations fills them from
  its ExternalRef; campaigns never imports integrations), and failing that by name within the
  advertiser: a campaign by its name, an ad group by its name in that campaign, a keyword by
  text and match type in its ad group, a product ad by SKU (or ASIN), a target by expression.
* Non-numeric ids are Amazon's temporary ids: they only link rows of the same sheet.

A resolver is called once per model per import with every numeric id of that model in the
sheet; what it returns is checked against the advertiser's objects, so a wrong answer cannot
reach into another tenant. A recorder is called inside the apply's transaction with the ids of
the objects a sheet created or matched, so the next import finds them by id.
"""

from collections.abc import Callable, Iterable, Mapping

from campaigns.bulksheets.columns import canonical_expression
from campaigns.bulksheets.models import CampaignNegativeKeyword, CampaignNegativeTarget, PlacementAdjustment
from campaigns.models import Campaign, Keyword, LineItem, ProductAd, ProductTarget

# resolve(model=Keyword, advertiser=advertiser, external_ids={"81120033001", …}) → {external id: pk}
ExternalIdResolver = Callable[..., Mapping[str, int] | None]
# record(model=Keyword, advertiser=advertiser, ids={external id: pk})
ExternalIdRecorder = Callable[..., None]
EXTERNAL_ID_RESOLVERS: list[ExternalIdResolver] = []
EXTERNAL_ID_RECORDERS: list[ExternalIdRecorder] = []

MODEL_OF = {
    "campaign": Campaign,
    "ad_group": LineItem,
    "product_ad": ProductAd,
    "keyword": Keyword,
    "negative_keyword": Keyword,
    "campaign_negative_keyword": CampaignNegativeKeyword,
    "product_targeting": ProductTarget,
    "negative_product_targeting": ProductTarget,
    "campaign_negative_product_targeting": CampaignNegativeTarget,
}


def register_external_ids(*, resolve: ExternalIdResolver | None = None, record: ExternalIdRecorder | None = None) -> None:
    """Hook for the app that owns external ids (integrations, from its AppConfig.ready)."""
    if resolve is not None and resolve not in EXTERNAL_ID_RESOLVERS:
        EXTERNAL_ID_RESOLVERS.append(resolve)
    if record is not None and record not in EXTERNAL_ID_RECORDERS:
        EXTERNAL_ID_RECORDERS.append(record)


def unregister_external_ids(*, resolve=None, record=None) -> None:
    for registry, hook in ((EXTERNAL_ID_RESOLVERS, resolve), (EXTERNAL_ID_RECORDERS, record)):
        if hook in registry:
            registry.remove(hook)


def resolve_external(*, model, advertiser, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = set(external_ids)
    found: dict[str, int] = {}
    if not wanted:
        return found
    for resolver in EXTERNAL_ID_RESOLVERS:
        answer = resolver(model=model, advertiser=advertiser, external_ids=set(wanted) - set(found)) or {}
        found.update({str(k): int(v) for k, v in answer.items() if str(k) in wanted and str(k) not in found})
    return found


def record_external(*, model, advertiser, ids: dict[str, int]) -> None:
    if ids:
        for recorder in EXTERNAL_ID_RECORDERS:
            recorder(model=model, advertiser=advertiser, ids=dict(ids))


class Tree:
    """The advertiser's campaign tree as plain rows, loaded once per dry run (one query per
    model), with the natural keys the name fallback matches on."""

    def __init__(self, advertiser):
        self.advertiser = advertiser
        self.campaigns = {
            r["id"]: r for r in Campaign.objects.filter(advertiser=advertiser).values(
                "id", "name", "status", "start_date", "end_date", "daily_budget", "total_budget",
                "bidding_strategy", "targeting_type", "phase", "target_roas", "goal_kpi",
            )
        }
        self.line_items = {
            r["id"]: r for r in LineItem.objects.filter(campaign__advertiser=advertiser).values(
                "id", "campaign_id", "name", "status", "default_bid", "budget", "format", "pacing",
                "start_date", "end_date", "frequency_cap_impressions", "frequency_cap_period", "frequency_cap_unit",
            )
        }
        children = {"line_item__campaign__advertiser": advertiser}
        self.keywords = {r["id"]: r for r in Keyword.objects.filter(**children).values(
            "id", "line_item_id", "text", "match_type", "bid", "state")}
        self.product_ads = {r["id"]: r for r in ProductAd.objects.filter(**children).values(
            "id", "line_item_id", "sku", "asin", "state")}
        self.targets = {r["id"]: r for r in ProductTarget.objects.filter(**children).values(
            "id", "line_item_id", "expression", "bid", "negative", "state")}
        by_campaign = {"campaign__advertiser": advertiser}
        self.placements = {(r["campaign_id"], r["placement"]): r for r in PlacementAdjustment.objects.filter(
            **by_campaign).values("id", "campaign_id", "placement", "percentage")}
        self.negative_keywords = {r["id"]: r for r in CampaignNegativeKeyword.objects.filter(**by_campaign).values(
            "id", "campaign_id", "text", "match_type", "state")}
        self.negative_targets = {r["id"]: r for r in CampaignNegativeTarget.objects.filter(**by_campaign).values(
            "id", "campaign_id", "expression", "state")}
        self._keys: dict[str, dict] = {}

        self.rows_by_entity = {
            "campaign": self.campaigns, "ad_group": self.line_items, "product_ad": self.product_ads,
            "keyword": self.keywords, "negative_keyword": self.keywords,
            "campaign_negative_keyword": self.negative_keywords, "product_targeting": self.targets,
            "negative_product_targeting": self.targets, "campaign_negative_product_targeting": self.negative_targets,
        }

    def rows_of(self, entity: str) -> dict:
        return self.rows_by_entity[entity]

    def natural_key(self, entity: str, rec: dict) -> tuple:
        """What identifies an object in its parent when ids do not (Amazon's uniqueness rules)."""
        if entity == "campaign":
            return (rec["name"],)
        if entity == "ad_group":
            return (rec["campaign_id"], rec["name"])
        if entity == "product_ad":
            return (rec["line_item_id"], rec["sku"] or "", "" if rec["sku"] else rec["asin"])
        if entity in ("keyword", "negative_keyword"):
            return (rec["line_item_id"], rec["text"].casefold(), rec["match_type"])
        if entity in ("product_targeting", "negative_product_targeting"):
            return (rec["line_item_id"], canonical_expression(rec["expression"]), rec["negative"])
        if entity == "campaign_negative_keyword":
            return (rec["campaign_id"], rec["text"].casefold(), rec["match_type"])
        return (rec["campaign_id"], canonical_expression(rec["expression"]))

    def find(self, entity: str, key: tuple) -> list[int]:
        """Primary keys of `entity` objects with natural key `key`, archived ones last."""
        family = "keyword" if entity == "negative_keyword" else (
            "product_targeting" if entity == "negative_product_targeting" else entity)
        index = self._keys.get(family)
        if index is None:
            index = {}
            rows = self.rows_of(family)
            for rec in rows.values():
                index.setdefault(self.natural_key(family, rec), []).append(rec["id"])
            for pks in index.values():
                pks.sort(key=lambda pk: (_status(rows[pk]) == "archived", pk))
            self._keys[family] = index
        return index.get(key, [])


def _status(rec: dict) -> str:
    return rec.get("status") or rec.get("state") or ""
