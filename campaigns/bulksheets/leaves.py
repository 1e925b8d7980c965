"""Rows under a campaign (bidding adjustments, campaign negatives) and under an ad group
(product ads, keywords, targets): finding their parent, their object, and what they change.

Part of the differ (campaigns.bulksheets.differ composes it).
"""

from campaigns.bulksheets.changes import _FAMILY, ARCHIVED, ARCHIVED_ERROR, AUTO_ONLY, Node
from campaigns.bulksheets.columns import AD_GROUP_CHILDREN, OWN_ID
from campaigns.bulksheets.ids import MODEL_OF
from campaigns.bulksheets.models import PlacementAdjustment
from campaigns.bulksheets.plan import Change
from campaigns.bulksheets.validator import (
    NOT_PROCESSED,
    Parsed,
    RowError,
    create_errors,
    invalid,
    is_numeric_id,
    parent_id_errors,
)
from campaigns.bulksheets.validator import (
    name_hint as _hint,
)


class LeafRows:
    """Mixin of the Differ: the rows below campaigns and ad groups."""

    def _campaign_child(self, row: Parsed, failed: bool) -> None:
        if not row.ids.get("campaign_id"):
            return self._fail(row, RowError("Missing Value", 'Missing value for column: "Campaign ID"'))
        if failed or not self._operation_ids(row) or not self._own_id_unique(row):
            return
        campaign = self._campaign_for(row)
        if campaign is None:
            return
        values = row.values
        if row.entity == "bidding_adjustment":
            placement = values.get("placement")
            if not placement:
                return self._fail(row, RowError("Missing Value", 'Missing value for column: "Placement"'))
            if not self._natural_unique(row, ("placement", campaign.identity, placement),
                                        lambda first: RowError("Duplicate Text", f'Duplicate "Placement", which is the same as row {first}')):
                return
            rec = self.tree.placements.get((campaign.pk, placement)) if campaign.pk else None
            if rec is None:
                if row.operation == "archive":
                    return self._unchanged(row, None)
                if "percentage" not in values:
                    return self._fail(row, RowError("Missing Value", 'Missing value for column: "Percentage"'))
                return self._create(row, campaign, {"placement": placement, "percentage": values["percentage"]},
                                    label=f"{placement} +{values['percentage']}%")
            return self._leaf_update(row, rec, campaign, campaign.archived)
        key = self._leaf_key(row, campaign)
        self._leaf(row, campaign, key, campaign.archived)

    # --- under ad groups ---------------------------------------------------------------------

    def _ad_group_child(self, row: Parsed, failed: bool) -> None:
        # The hot path of a large sheet (most rows are keywords and targets): checks inlined.
        ids = row.ids
        cid, gid = ids.get("campaign_id"), ids.get("ad_group_id")
        if not (cid and gid):
            return self._fail(row, *parent_id_errors(row))
        if failed or (row.operation and not self._operation_ids(row)) or not self._own_id_unique(row):
            return
        campaign = self.campaigns.get(cid)
        if campaign is None or not campaign.ok:
            campaign = self._campaign_for(row)
            if campaign is None:
                return
        group = self.ad_groups.get((cid, gid))
        if group is None:
            rec = None
            if is_numeric_id(gid) and campaign.pk:
                name = _hint(row, "ad_group_name_info") or _hint(row, "ad_group_name")
                rec = self._lookup("ad_group", gid, (campaign.pk, name) if name else None)
            if rec is None or rec["campaign_id"] != campaign.pk:
                message = ("Parent entity not found" if is_numeric_id(gid) else
                           'Invalid value for column: "Ad Group ID", which can\'t be found in any parent entity row')
                return self._fail(row, RowError("Missing Parent ID", message))
            group = self.ad_groups[(cid, gid)] = Node(pk=rec["id"], rec=rec)
            group.targeting_type = campaign.targeting_type
            group.archived = rec["status"] == ARCHIVED or campaign.archived
        if not group.ok:
            return self._fail(row, NOT_PROCESSED)
        values = row.values
        auto = campaign.targeting_type == "auto"
        if row.entity == "keyword" and auto:
            return self._fail(row, RowError("Targeting Type", AUTO_ONLY))
        if row.entity == "product_targeting" and "expression" in values:
            is_auto_expression = values["expression"] in ("close-match", "loose-match", "substitutes", "complements")
            if auto and not is_auto_expression:
                return self._fail(row, RowError("Targeting Type", AUTO_ONLY))
            if not auto and is_auto_expression:
                return self._fail(row, invalid("product_targeting_expression", values["expression"]))
        self._leaf(row, group, self._leaf_key(row, group), group.archived or campaign.archived)

    def _leaf_key(self, row: Parsed, parent: Node) -> tuple | None:
        """The natural key of a leaf row under `parent` (None when the row lacks it)."""
        v, pk = row.values, parent.pk
        if row.entity == "product_ad":
            if not (v.get("sku") or v.get("asin")):
                return None
            return (pk, v.get("sku") or "", "" if v.get("sku") else v.get("asin"))
        if row.entity in ("keyword", "negative_keyword", "campaign_negative_keyword"):
            return (pk, v["text"].casefold(), v["match_type"]) if v.get("text") and v.get("match_type") else None
        if row.entity in ("product_targeting", "negative_product_targeting"):
            return (pk, v["expression"], row.entity != "product_targeting") if v.get("expression") else None
        return (pk, v["expression"]) if v.get("expression") else None

    def _leaf(self, row: Parsed, parent: Node, key: tuple | None, parent_archived: bool) -> None:
        ident = row.ids.get(OWN_ID[row.entity], "")
        family = _FAMILY.get(row.entity, row.entity)
        rec = None
        if ident and ident.isdigit() and ident.isascii() and row.operation != "create" and parent.pk:
            if self.ours:  # our primary keys: a dictionary lookup among the advertiser's rows
                rec = self.tree.rows_by_entity[row.entity].get(int(ident))
            else:
                rec = self._lookup(row.entity, ident, key)
            parent_column = "campaign_id" if row.entity.startswith("campaign_negative") else "line_item_id"
            if rec is not None and rec[parent_column] != parent.pk:
                return self._fail(row, RowError("Missing Parent ID", "Parent entity not found"))
            if rec is not None and "negative" in rec and rec["negative"] != (row.entity == "negative_product_targeting"):
                rec = None  # a positive target's id on a negative row (or back) is not that object
        elif not ident and row.operation != "create" and key is not None and key[0]:
            rec = self._lookup(row.entity, "", key)  # a mirror row without an id: by what it is
        if rec is None and row.operation in ("update", "archive"):
            return self._fail(row, self._not_found(row))
        if key is not None:
            first = self.natural.setdefault((family, parent.identity) + key[1:], row.number)
            if first != row.number:
                return self._fail(row, self._duplicate(row)(first))
        if rec is None:
            if key is not None and parent.pk and self.tree.find(row.entity, key):
                return self._fail(row, self._exists(row, parent))
            if parent_archived:
                return self._fail(row, ARCHIVED_ERROR)
            return self._create(row, parent, self._leaf_fields(row), label=self._label(row),
                                external_id=ident if is_numeric_id(ident) and not self.ours else "")
        first = self.claimed.setdefault((family, rec["id"]), row.number)
        if first != row.number:
            return self._fail(row, self._duplicate(row)(first))
        self._diff(row, rec, parent_archived=parent_archived, external_id=ident, parent=parent)

    def _duplicate(self, row: Parsed):
        column = {"product_ad": "SKU", "bidding_adjustment": "Placement"}.get(row.entity)
        if column is None:
            column = "Keyword Text" if "keyword" in row.entity else "Product Targeting Expression"
        return lambda first: RowError("Duplicate Text", f'Duplicate "{column}", which is the same as row {first}')

    def _exists(self, row: Parsed, parent: Node) -> RowError:
        v = row.values
        campaign_id = parent.rec.get("campaign_id", parent.pk) if parent.rec else parent.pk
        if row.entity == "product_ad":
            return RowError("Already Exists", f"ProductAd with campaignId={campaign_id}, adGroupId={parent.pk}, asin={v.get('asin') or ''}, sku={v.get('sku') or ''} already exists!")
        if "targeting" in row.entity:
            return RowError("Already Exists", f"TargetingClause with campaignId={campaign_id}, adGroupId={parent.pk}, expressionType=MANUAL, expression=[({v['expression']})] already exists!")
        return RowError("Duplicate Text", f'Duplicate "Keyword Text", which is the same as an existing keyword (id {self.tree.find(row.entity, self._leaf_key(row, parent))[0]})')

    def _label(self, row: Parsed) -> str:
        v = row.values
        if row.entity == "product_ad":
            return v.get("sku") or v.get("asin") or ""
        if "keyword" in row.entity:
            return f"{v.get('text', '')} [{v.get('match_type', '')}]"
        return v.get("expression", "")

    def _leaf_fields(self, row: Parsed) -> dict:
        v, entity = row.values, row.entity
        if entity == "product_ad":
            return {"sku": v.get("sku") or "", "asin": v.get("asin") or "", "state": v.get("state")}
        if entity in ("keyword", "negative_keyword", "campaign_negative_keyword"):
            fields = {"text": v.get("text"), "match_type": v.get("match_type"), "state": v.get("state")}
            if entity == "keyword":
                fields["bid"] = v.get("bid")
            return fields
        if entity in ("product_targeting", "negative_product_targeting"):
            return {"expression": v.get("expression"), "bid": v.get("bid"),
                    "negative": entity == "negative_product_targeting", "state": v.get("state")}
        return {"expression": v.get("expression"), "state": v.get("state")}

    # --- changes -----------------------------------------------------------------------------

    def _create(self, row: Parsed, parent: Node, fields: dict, *, label: str, external_id: str = "") -> None:
        errors = create_errors(row)
        if fields.get("state") == ARCHIVED:
            errors.append(invalid("state", "archived"))
        if errors:
            return self._fail(row, *errors)
        change = Change(row.number, row.entity, "create", parent=parent.parent_value, fields=fields, label=label,
                        external_id=external_id)
        model = PlacementAdjustment if row.entity == "bidding_adjustment" else MODEL_OF[row.entity]
        instance = model(**fields)
        relation = "line_item" if row.entity in AD_GROUP_CHILDREN else "campaign"
        self._attach(instance, relation, self._instance(parent, "ad_group" if relation == "line_item" else "campaign"))
        if not self._model_errors(row, instance):
            self.changes.append(change)

    def _leaf_update(self, row, rec, parent: Node, parent_archived: bool, external_id: str = "") -> None:
        self._diff(row, rec, parent_archived=parent_archived, external_id=external_id, parent=parent)

    def _unchanged(self, row: Parsed, rec: dict | None) -> None:
        self.unchanged[row.entity] += 1
