"""What a row changes on a stored object: the field diff, Amazon's fixed-after-creation fields,
the archived rule, and our model rules (clean()) run on an unsaved copy of the object.

Part of the differ (campaigns.bulksheets.differ composes it); the Node type and the constants
the differ's parts share live here.
"""

from django.core.exceptions import ValidationError

from campaigns.bulksheets.columns import COLUMN
from campaigns.bulksheets.ids import MODEL_OF
from campaigns.bulksheets.plan import Change
from campaigns.bulksheets.validator import Parsed, RowError, is_numeric_id
from campaigns.choices import CampaignStatus

ARCHIVED = "archived"
AUTO_ONLY = "Only negative keywords and negative product targets are allowed in auto-targeting campaigns"
ARCHIVED_ERROR = RowError("Archived Entity", "Archived entity cannot be modified")
_NONE: dict = {}
_UNCHANGED = Change(0, "campaign", "unchanged")  # what _diff returns for a row that changes nothing
_FAMILY = {"negative_keyword": "keyword", "negative_product_targeting": "product_targeting"}


class Node:
    """A campaign or ad group as children see it: an existing object, one this sheet creates,
    or one whose row failed (ok=False)."""

    __slots__ = ("row", "ok", "pk", "change", "rec", "targeting_type", "archived", "instance")

    def __init__(self, row=None, ok=True, pk=None, rec=None):
        self.row, self.ok, self.pk, self.rec = row, ok, pk, rec
        self.change = None
        self.targeting_type = rec.get("targeting_type") if rec else None
        self.archived = bool(rec) and (rec.get("status") == ARCHIVED)
        self.instance = None

    @property
    def identity(self):
        return ("pk", self.pk) if self.pk else ("row", self.row)

    @property
    def parent_value(self):
        return self.pk if self.pk else self.change


def _immutable(field: str) -> RowError:
    if field == "sku":
        return RowError("Not Editable", "merchantSku cannot be changed")
    return RowError("Not Editable", f"{COLUMN[field]} cannot be changed")


class FieldChanges:
    """Mixin of the Differ: a matched row against its stored object."""

    # Sheet value → model field, per entity; and the fields that cannot change after creation.
    EDITABLE = {
        "campaign": {"name": "name", "daily_budget": "daily_budget", "bidding_strategy": "bidding_strategy"},
        "ad_group": {"name": "name", "default_bid": "default_bid"},
        "keyword": {"bid": "bid"},
        "product_targeting": {"bid": "bid"},
        "bidding_adjustment": {"percentage": "percentage"},
    }
    FIXED = {
        "campaign": {"start_date": "start_date", "targeting_type": "targeting_type"},
        "product_ad": {"sku": "sku"},
        "keyword": {"text": "keyword_text", "match_type": "match_type"},
        "negative_keyword": {"text": "keyword_text", "match_type": "match_type"},
        "campaign_negative_keyword": {"text": "keyword_text", "match_type": "match_type"},
        "product_targeting": {"expression": "product_targeting_expression"},
        "negative_product_targeting": {"expression": "product_targeting_expression"},
        "campaign_negative_product_targeting": {"expression": "product_targeting_expression"},
    }

    def _diff(self, row: Parsed, rec: dict, *, parent_archived: bool, external_id: str = "", parent: Node | None = None):
        entity, values = row.entity, row.values
        status_field = "status" if entity in ("campaign", "ad_group") else "state"
        current = rec.get(status_field)
        errors = []
        for key, column in self.FIXED.get(entity, _NONE).items():
            value = values.get(key)
            if value is not None and value != rec[key] and _norm(value) != _norm(rec[key]):
                errors.append(_immutable(column))
        if entity == "product_ad" and values.get("asin") and not values.get("asin_is_informational") and values["asin"] != rec["asin"]:
            errors.append(_immutable("asin"))
        if errors:
            return self._fail(row, *errors)
        archive = row.operation == "archive" or values.get("state") == ARCHIVED
        changes = {}
        if row.operation != "archive":
            wanted = values.get("state")
            if wanted and wanted != ARCHIVED and current and wanted != current and not (
                    current == CampaignStatus.DRAFT and wanted == "paused"):
                changes[status_field] = wanted
            for key, field in self.EDITABLE.get(entity, _NONE).items():
                value = values.get(key)
                if value is not None and value != rec[field]:
                    changes[field] = value
            if entity == "campaign" and "end_date" in self.columns and values.get("end_date") != rec["end_date"]:
                changes["end_date"] = values.get("end_date")  # Amazon: a blank end date on Update removes it
        if "name" in changes and (taken := self._name_taken(entity, rec, changes["name"])):
            return self._fail(row, taken)
        if current == ARCHIVED:
            action = "update" if changes else "unchanged"  # refused below: archived is final
        elif archive:
            action = "archive"  # the archive wins over the row's other changes
        else:
            action = "update" if changes else "unchanged"
        if action == "unchanged":
            self.unchanged[entity] += 1  # counted, not kept: most rows of a download change nothing
            return _UNCHANGED
        if current == ARCHIVED or parent_archived:
            return self._fail(row, ARCHIVED_ERROR)
        label = rec.get("name") or rec.get("text") or rec.get("expression") or rec.get("sku") or rec.get("placement") or ""
        change = Change(row.number, entity, action, pk=rec["id"], fields=changes if action == "update" else {},
                        before={f: rec[f] for f in changes}, label=str(label),
                        external_id=external_id if is_numeric_id(external_id) and not self.ours else "")
        if action == "update" and entity != "bidding_adjustment":
            model = MODEL_OF[entity]
            instance = model(**{**rec, **changes})
            if parent is not None:
                relation = "campaign" if entity in ("ad_group", "campaign_negative_keyword", "campaign_negative_product_targeting") else "line_item"
                self._attach(instance, relation, self._instance(parent, "campaign" if relation == "campaign" else "ad_group"))
            else:
                instance.advertiser = self.advertiser
            if self._model_errors(row, instance):
                return None
        self.changes.append(change)
        return change

    def _name_taken(self, entity: str, rec: dict, name: str) -> RowError | None:
        """A rename to a name another live campaign (or ad group of the campaign) has."""
        key = (name,) if entity == "campaign" else (rec["campaign_id"], name)
        rows = self.tree.rows_of(entity)
        if any(pk != rec["id"] and rows[pk]["status"] != ARCHIVED for pk in self.tree.find(entity, key)):
            label = "Campaign" if entity == "campaign" else "AdGroup"
            return RowError("Already Exists", f"{label} with name={name} already exists!")
        return None

    # --- our model rules -----------------------------------------------------------------------

    def _instance(self, node: Node, entity: str):
        """An unsaved model instance standing for `node`, for the children's clean()."""
        if node.instance is None:
            model = MODEL_OF[entity]
            data = dict(node.rec) if node.rec else dict(node.change.fields)
            if node.change is not None and node.change.action == "update":
                data.update(node.change.fields)
            node.instance = model(**data)
            if entity == "campaign":
                node.instance.advertiser = self.advertiser
            else:
                campaign_id = node.rec["campaign_id"] if node.rec else None
                campaign = next((n for n in self.campaigns.values() if n.pk == campaign_id and campaign_id), None) if campaign_id else None
                if campaign is None and node.change is not None:
                    parent = node.change.parent
                    campaign = next((n for n in self.campaigns.values() if (n.change is parent) or (n.pk and n.pk == parent)), None)
                if campaign is not None:
                    self._attach(node.instance, "campaign", self._instance(campaign, "campaign"))
        return node.instance

    @staticmethod
    def _attach(instance, relation: str, parent) -> None:
        setattr(instance, relation, parent)
        if parent.pk is None:
            # The model checks a child against its parent only once the parent id is set (bid
            # limits, dates): a placeholder id, bypassing the descriptor that would drop the
            # cached parent, lets clean() read the in-memory parent (as the console's forms do).
            instance.__dict__[f"{relation}_id"] = -1

    def _model_errors(self, row: Parsed, instance) -> bool:
        try:
            instance.clean_fields(exclude=[f.name for f in instance._meta.fields if f.is_relation or f.name == "id"])
            instance.clean()
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
            self._fail(row, *[RowError("Invalid Value", m) for m in messages])
            return True
        return False


def _norm(value):
    return " ".join(value.split()).casefold() if isinstance(value, str) else value

