"""The dry run: every parsed row against the stored tree → a Plan (creates, updates, archives,
unchanged) and the errors that refuse rows. Nothing is written here.

Rows are taken parents first (campaigns, then ad groups and campaign-level rows, then what
hangs under ad groups), so a child finds its parent whatever the row order. A row whose parent
row failed is "not processed" (Amazon's warning), which keeps the valid rows closed under their
parents: applying only the valid rows never leaves an orphan.
"""

from collections import Counter

from django.conf import settings

from campaigns.bulksheets.changes import _FAMILY, ARCHIVED, ARCHIVED_ERROR, FieldChanges, Node
from campaigns.bulksheets.columns import (
    AD_GROUP_CHILDREN,
    COLUMN,
    OBJECT_NAME,
    OWN_ID,
)
from campaigns.bulksheets.ids import MODEL_OF, Tree, resolve_external
from campaigns.bulksheets.leaves import LeafRows
from campaigns.bulksheets.plan import Change, Plan
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
from campaigns.choices import BiddingStrategy, LineItemFormat


def max_campaigns() -> int:
    # Ours, as a setting: Amazon's per-advertiser cap is not in the reference and has moved.
    return getattr(settings, "BULKSHEET_MAX_CAMPAIGNS", 10_000)




class Differ(LeafRows, FieldChanges):
    def __init__(self, *, advertiser, rows: list[Parsed], mode: str, ours: bool, today, columns: set[str],
                 tree: Tree | None = None, progress=None):
        self.advertiser, self.rows, self.mode, self.ours, self.today = advertiser, rows, mode, ours, today
        self.columns = columns
        self.tree = tree or Tree(advertiser)
        self.progress = progress or (lambda done, total: None)
        self.errors: dict[int, list[RowError]] = {}
        self.changes: list[Change] = []
        self.campaigns: dict[str, Node] = {}
        self.ad_groups: dict[tuple[str, str], Node] = {}
        self.own_ids: dict[tuple[str, str], int] = {}  # (column, id) → first row
        self.claimed: dict[tuple[str, int], int] = {}  # (family, pk) → row that matched it
        self.natural: dict[tuple, int] = {}  # in-sheet natural keys → first row
        self.external: dict[type, dict[str, int]] = {}
        self.unchanged: Counter = Counter()
        self.done = 0

    # --- entry point -------------------------------------------------------------------------

    def run(self) -> Plan:
        ignored = 0
        levels: list[list[Parsed]] = [[], [], []]
        for row in self.rows:
            if "operation" not in row.raw and self.mode == "upload":
                ignored += 1
                continue
            level = 0 if row.entity == "campaign" else 2 if row.entity in AD_GROUP_CHILDREN else 1
            levels[level].append(row)
        if not self.ours:
            self._resolve_external(levels)
        for row in levels[0]:
            self._step(self._campaign, row)
        self._campaign_limit()
        for row in levels[1]:
            self._step(self._ad_group if row.entity == "ad_group" else self._campaign_child, row)
        for row in levels[2]:
            self._step(self._ad_group_child, row)
        plan = Plan(changes=self.changes, errors=self.errors, rows=len(self.rows), ignored=ignored, mode=self.mode,
                    unchanged=dict(self.unchanged))
        plan.touches_budgets = any(
            c.action == "update" and "daily_budget" in c.fields for c in self.changes
        )
        return plan

    def _step(self, handler, row: Parsed) -> None:
        if not row.errors:
            handler(row, False)
        elif not row.entity:
            self.errors[row.number] = list(row.errors)
        else:
            self.errors[row.number] = list(row.errors)
            handler(row, True)
        self.done += 1
        if self.done % 2000 == 0:
            self.progress(self.done, len(self.rows))

    def _fail(self, row: Parsed, *errors: RowError) -> None:
        self.errors.setdefault(row.number, []).extend(errors)

    def _resolve_external(self, levels) -> None:
        wanted: dict[type, set[str]] = {}
        for row in (r for level in levels for r in level):
            for column, entity in (("campaign_id", "campaign"), ("ad_group_id", "ad_group")):
                if is_numeric_id(row.ids.get(column, "")):
                    wanted.setdefault(MODEL_OF[entity], set()).add(row.ids[column])
            if row.entity in OWN_ID and is_numeric_id(row.own_id):
                wanted.setdefault(MODEL_OF[row.entity], set()).add(row.own_id)
        for model, ids in wanted.items():
            self.external[model] = resolve_external(model=model, advertiser=self.advertiser, external_ids=ids)

    # --- finding things ------------------------------------------------------------------------

    def _lookup(self, entity: str, ident: str, key: tuple | None) -> dict | None:
        """The stored object an id stands for (see campaigns.bulksheets.ids)."""
        rows = self.tree.rows_of(entity)
        if ident and self.ours:
            return rows.get(int(ident)) if is_numeric_id(ident) else None
        pk = self.external.get(MODEL_OF[entity], {}).get(ident) if ident else None
        if pk is not None and pk in rows:
            return rows[pk]
        if key is not None:
            for candidate in self.tree.find(entity, key):
                if ((entity, candidate)) not in self.claimed:
                    return rows[candidate]
        return None

    def _claim(self, row: Parsed, family: str, pk: int, duplicate: RowError) -> bool:
        first = self.claimed.setdefault((family, pk), row.number)
        if first != row.number:
            self._fail(row, duplicate)
            return False
        return True

    def _own_id_unique(self, row: Parsed, scope: tuple = ()) -> bool:
        column = OWN_ID.get(row.entity)
        ident = row.ids.get(column) if column else None
        if not ident:
            return True
        # Per model: in our exports, a keyword and a campaign-level negative may share a number.
        first = self.own_ids.setdefault((column, _FAMILY.get(row.entity, row.entity), *scope, ident), row.number)
        if first != row.number:
            self._fail(row, RowError("Duplicate Id", f'Duplicate Id for column: "{COLUMN[column]}", which is the same as row {first}'))
            return False
        return True

    def _natural_unique(self, row: Parsed, key: tuple, error=None) -> bool:
        """Whether no earlier row has `key`; records `error(first row)` on this one if given."""
        first = self.natural.setdefault(key, row.number)
        if first != row.number:
            if error is not None:
                self._fail(row, error(first))
            return False
        return True

    def _operation_ids(self, row: Parsed) -> bool:
        """Temporary ids for Create, actual ids for Update and Archive (Amazon's rule)."""
        if not row.operation:
            return True  # a mirrored row may hold either kind of id
        column = OWN_ID.get(row.entity)
        if column is None:
            return True
        ident = row.ids.get(column, "")
        if row.operation == "create" and ident and is_numeric_id(ident):
            self._fail(row, RowError("Invalid Id", f'This Create operation requires you to specify a temporary "{COLUMN[column]}" (any non-numeric text)'))
            return False
        if row.operation in ("update", "archive"):
            if not ident:
                self._fail(row, RowError("Missing Value", f'Missing value for column: "{COLUMN[column]}"'))
                return False
            if not is_numeric_id(ident):
                self._fail(row, RowError("Invalid Id", f'This {row.operation.title()} operation requires you to specify an actual "{COLUMN[column]}", rather than a temporary ID'))
                return False
        return True

    def _not_found(self, row: Parsed) -> RowError:
        return RowError("Entity Not Found", f"Could not find {OBJECT_NAME[row.entity]} with id: {row.own_id}")

    # --- campaigns ------------------------------------------------------------------------------

    def _campaign(self, row: Parsed, failed: bool) -> None:
        ident = row.ids.get("campaign_id")
        if not ident:
            return self._fail(row, RowError("Missing Value", 'Missing value for column: "Campaign ID"'))
        if ident in self.campaigns:
            first = self.campaigns[ident].row
            return self._fail(row, RowError("Duplicate Id", f'Duplicate Id for column: "Campaign ID", which is the same as row {first}'))
        node = self.campaigns[ident] = Node(row=row.number, ok=False)
        if failed or not self._operation_ids(row):
            return
        name = row.values.get("name") or _hint(row, "campaign_name_info")
        rec = None
        if is_numeric_id(ident) and row.operation != "create":
            rec = self._lookup("campaign", ident, (name,) if name else None)
        if rec is None and row.operation in ("update", "archive"):
            return self._fail(row, self._not_found(row))
        if rec is None:
            return self._campaign_create(row, node, ident)
        if not self._claim(row, "campaign", rec["id"], RowError("Already Exists", f"Campaign with name={rec['name']} already exists!")):
            return
        node.pk, node.rec, node.targeting_type = rec["id"], rec, rec["targeting_type"]
        node.archived = rec["status"] == ARCHIVED
        change = self._diff(row, rec, parent_archived=False, external_id=ident)
        if change is not None:
            node.ok = True
            node.archived = node.archived or change.action == "archive"

    def _campaign_create(self, row: Parsed, node: Node, ident: str) -> None:
        values = row.values
        errors = create_errors(row)
        if values.get("state") == ARCHIVED:
            errors.append(invalid("state", "archived"))
        start = values.get("start_date") or self.today
        if row.operation == "create" and start < self.today:
            errors.append(RowError("Invalid Date", "Start date cannot be in the past"))
        name = values.get("name", "")
        taken = [pk for pk in self.tree.find("campaign", (name,)) if self.tree.campaigns[pk]["status"] != ARCHIVED]
        if taken or not self._natural_unique(row, ("campaign-name", name)):
            errors.append(RowError("Already Exists", f"Campaign with name={name} already exists!"))
        if errors:
            return self._fail(row, *errors)
        fields = {
            "name": name, "status": values["state"], "start_date": start, "end_date": values.get("end_date"),
            "targeting_type": values["targeting_type"], "daily_budget": values["daily_budget"],
            "bidding_strategy": values.get("bidding_strategy") or BiddingStrategy.DOWN_ONLY.value,
        }
        change = Change(row.number, "campaign", "create", fields=fields, label=name,
                        external_id=ident if is_numeric_id(ident) and not self.ours else "")
        instance = MODEL_OF["campaign"](advertiser=self.advertiser, **fields)
        if self._model_errors(row, instance):
            return
        node.ok, node.change, node.targeting_type, node.instance = True, change, fields["targeting_type"], instance
        self.changes.append(change)

    def _campaign_limit(self) -> None:
        live = sum(1 for c in self.tree.campaigns.values() if c["status"] != ARCHIVED)
        live -= sum(1 for c in self.changes if c.entity == "campaign" and c.action == "archive")
        for change in [c for c in self.changes if c.entity == "campaign" and c.action == "create"]:
            live += 1
            if live > max_campaigns():
                self.changes.remove(change)
                self.campaigns_by_row(change.row).ok = False
                self._fail_row(change.row, RowError("Limit Exceeded", "Number of non archived campaigns exceeds the limit per advertiser"))

    def campaigns_by_row(self, number: int) -> Node:
        return next(n for n in self.campaigns.values() if n.row == number)

    def _fail_row(self, number: int, error: RowError) -> None:
        self.errors.setdefault(number, []).append(error)

    def _campaign_for(self, row: Parsed) -> Node | None:
        """The campaign a non-campaign row hangs under, or None (the row's error recorded)."""
        ident = row.ids["campaign_id"]
        node = self.campaigns.get(ident)
        if node is None:
            if not is_numeric_id(ident):
                self._fail(row, RowError("Missing Parent ID", 'Invalid value for column: "Campaign ID", which can\'t be found in any parent entity row'))
                return None
            name = _hint(row, "campaign_name_info") or _hint(row, "campaign_name")
            rec = self._lookup("campaign", ident, (name,) if name else None)
            if rec is None:
                self._fail(row, RowError("Missing Parent ID", "Parent entity not found"))
                return None
            node = self.campaigns[ident] = Node(pk=rec["id"], rec=rec)
        if not node.ok:
            self._fail(row, NOT_PROCESSED)
            return None
        return node

    # --- ad groups and campaign-level rows -----------------------------------------------------

    def _ad_group(self, row: Parsed, failed: bool) -> None:
        if errors := parent_id_errors(row):
            return self._fail(row, *errors)
        cid, ident = row.ids["campaign_id"], row.ids["ad_group_id"]
        if (cid, ident) in self.ad_groups:
            first = self.ad_groups[(cid, ident)].row
            return self._fail(row, RowError("Duplicate Id", f'Duplicate Id for column: "Ad Group ID", which is the same as row {first}'))
        node = self.ad_groups[(cid, ident)] = Node(row=row.number, ok=False)
        if failed:
            return
        campaign = self._campaign_for(row)
        if campaign is None or not self._operation_ids(row):
            return
        rec = None
        name = row.values.get("name") or _hint(row, "ad_group_name_info")
        if is_numeric_id(ident) and row.operation != "create" and campaign.pk:
            rec = self._lookup("ad_group", ident, (campaign.pk, name) if name else None)
            if rec is not None and rec["campaign_id"] != campaign.pk:
                return self._fail(row, RowError("Missing Parent ID", "Parent entity not found"))
        if rec is None and row.operation in ("update", "archive"):
            return self._fail(row, self._not_found(row))
        if rec is None:
            return self._ad_group_create(row, node, campaign, ident)
        if not self._claim(row, "ad_group", rec["id"], RowError("Already Exists", f"AdGroup with name={rec['name']} already exists!")):
            return
        node.pk, node.rec, node.targeting_type = rec["id"], rec, campaign.targeting_type
        node.archived = rec["status"] == ARCHIVED or campaign.archived
        change = self._diff(row, rec, parent_archived=campaign.archived, external_id=ident, parent=campaign)
        if change is not None:
            node.ok, node.archived = True, node.archived or change.action == "archive"

    def _ad_group_create(self, row: Parsed, node: Node, campaign: Node, ident: str) -> None:
        values = row.values
        errors = create_errors(row)
        if values.get("state") == ARCHIVED:
            errors.append(invalid("state", "archived"))
        if campaign.archived:
            errors.append(ARCHIVED_ERROR)
        name = values.get("name", "")
        taken = campaign.pk and [pk for pk in self.tree.find("ad_group", (campaign.pk, name))
                                 if self.tree.line_items[pk]["status"] != ARCHIVED]
        if taken or not self._natural_unique(row, ("ad-group-name", campaign.identity, name)):
            errors.append(RowError("Already Exists", f"AdGroup with name={name} already exists!"))
        if errors:
            return self._fail(row, *errors)
        fields = {"name": name, "status": values["state"], "default_bid": values["default_bid"],
                  "format": LineItemFormat.SPONSORED_PRODUCTS.value}
        change = Change(row.number, "ad_group", "create", parent=campaign.parent_value, fields=fields, label=name,
                        external_id=ident if is_numeric_id(ident) and not self.ours else "")
        instance = MODEL_OF["ad_group"](**fields)
        self._attach(instance, "campaign", self._instance(campaign, "campaign"))
        if self._model_errors(row, instance):
            return
        node.ok, node.change, node.targeting_type, node.instance = True, change, campaign.targeting_type, instance
        self.changes.append(change)

