"""The dry run's result: what confirming would change, row by row, and what refused which row."""

import hashlib
import json
from dataclasses import dataclass, field

from campaigns.bulksheets.columns import ENTITIES
from campaigns.bulksheets.validator import RowError

ACTIONS = ("create", "update", "archive", "unchanged")
SAMPLE = 200  # changes and errors kept on the job for the admin and the API (the rest: the files)


@dataclass(eq=False)
class Change:
    """One row's effect. `parent` is the pk of an existing campaign or line item, or the Change
    that creates it in this sheet."""

    row: int
    entity: str
    action: str
    pk: int | None = None
    parent: "int | Change | None" = None
    fields: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)
    label: str = ""
    external_id: str = ""  # Amazon's id of the object, to record through the ids hook
    created_pk: int | None = None  # set by the applier

    def parent_ref(self):
        if isinstance(self.parent, Change):
            return f"row:{self.parent.row}"
        return self.parent

    def key(self) -> list:
        return [self.row, self.entity, self.action, self.pk, self.parent_ref(),
                sorted((k, str(v)) for k, v in self.fields.items())]

    def as_dict(self) -> dict:
        shown = {k: [_json(self.before.get(k)), _json(v)] for k, v in self.fields.items()} if self.action == "update" else {
            k: _json(v) for k, v in self.fields.items()}
        return {"row": self.row, "entity": ENTITIES[self.entity], "action": self.action, "id": self.pk,
                "label": self.label, "fields": shown}


def _json(value):
    if value is None or isinstance(value, (int, str, bool)):
        return value
    return str(value)


@dataclass
class Plan:
    changes: list[Change]
    errors: dict[int, list[RowError]]
    rows: int
    ignored: int = 0
    mode: str = ""
    id_space: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    touches_budgets: bool = False
    unchanged: dict[str, int] = field(default_factory=dict)  # entity → rows that change nothing

    @property
    def error_rows(self) -> int:
        return sum(1 for errs in self.errors.values() if any(e.type != "Warning" for e in errs))

    @property
    def not_processed_rows(self) -> int:
        return len(self.errors) - self.error_rows

    def hash(self) -> str:
        """Fingerprint of what would be written: confirming applies exactly this, or nothing."""
        body = json.dumps([c.key() for c in self.changes if c.action != "unchanged"], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def counts(self) -> dict:
        totals = {action: 0 for action in ACTIONS}
        for change in self.changes:
            totals[change.action] += 1
        totals["unchanged"] += sum(self.unchanged.values())
        return {"rows": self.rows, **totals, "ignored": self.ignored, "errors": self.error_rows,
                "not_processed": self.not_processed_rows}

    def summary(self) -> dict:
        by_entity: dict[str, dict[str, int]] = {}
        for change in self.changes:
            by_entity.setdefault(ENTITIES[change.entity], {a: 0 for a in ACTIONS})[change.action] += 1
        for entity, count in self.unchanged.items():
            by_entity.setdefault(ENTITIES[entity], {a: 0 for a in ACTIONS})["unchanged"] += count
        changed = [c for c in sorted(self.changes, key=lambda c: c.row) if c.action != "unchanged"]
        errors = [e.as_dict(row) for row in sorted(self.errors) for e in self.errors[row]]
        return {
            "mode": self.mode,
            "id_space": self.id_space,
            "by_entity": by_entity,
            "changes": [c.as_dict() for c in changed[:SAMPLE]],
            "changes_omitted": max(0, len(changed) - SAMPLE),
            "errors": errors[:SAMPLE],
            "errors_omitted": max(0, len(errors) - SAMPLE),
            "ignored_columns": self.ignored_columns,
            "touches_budgets": self.touches_budgets,
        }
