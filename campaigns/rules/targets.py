"""Which objects an action works on: a small selector vocabulary, always inside the rule's advertiser.

    {"kind": "campaign", "ids": [12, 13]}
    {"kind": "product_ad", "where": {"asin": {"path": "product.asin"}}}
    {"kind": "keyword", "where": {"campaign": 12, "match_type": ["exact", "phrase"]}}

`kind` is campaign, line_item, keyword, product_ad or product_target. `ids` picks objects by id;
`where` filters on the kind's fields (below), each value a literal, a list of literals (any of
them), or {"path": "…"} read from the event's payload (a missing or null path selects nothing).
Selections by `where` leave archived objects out (archived is final, so there is nothing to do);
objects named by `ids` are always taken, so an archived one is reported as an error.
"""

from dataclasses import dataclass

from django.db import connection, models

from campaigns.choices import EntityState, MatchType
from campaigns.models import Campaign, Keyword, LineItem, ProductAd, ProductTarget
from campaigns.rules.conditions import MISSING, parse_path, resolve

MAX_IDS = 1000
DEFAULT_MAX_TARGETS = 500
LIMIT_MAX_TARGETS = 5000


@dataclass(frozen=True, eq=False)  # hashed by identity: there is one Kind per kind
class Kind:
    model: type[models.Model]
    fields: dict[str, str]  # selector field → ORM lookup
    advertiser_lookup: str
    state_field: str
    related: tuple[str, ...]  # parents that validation and history read, fetched with the targets

    @property
    def type_name(self) -> str:
        return self.model._meta.model_name


_CHILD = "line_item__campaign"
KINDS: dict[str, Kind] = {
    "campaign": Kind(Campaign, {"id": "pk", "name": "name", "status": "status", "phase": "phase"},
                     "advertiser_id", "status", ()),
    "line_item": Kind(LineItem, {"id": "pk", "campaign": "campaign_id", "name": "name", "status": "status",
                                 "format": "format"}, "campaign__advertiser_id", "status", ("campaign",)),
    "keyword": Kind(Keyword, {"id": "pk", "campaign": "line_item__campaign_id", "line_item": "line_item_id",
                              "text": "text", "match_type": "match_type", "state": "state"},
                    f"{_CHILD}__advertiser_id", "state", (_CHILD,)),
    "product_ad": Kind(ProductAd, {"id": "pk", "campaign": "line_item__campaign_id", "line_item": "line_item_id",
                                   "asin": "asin", "sku": "sku", "state": "state"}, f"{_CHILD}__advertiser_id", "state",
                    (_CHILD,)),
    "product_target": Kind(ProductTarget, {"id": "pk", "campaign": "line_item__campaign_id",
                                           "line_item": "line_item_id", "expression": "expression",
                                           "state": "state"}, f"{_CHILD}__advertiser_id", "state", (_CHILD,)),
}
ID_FIELDS = {"id", "campaign", "line_item"}
# Literal ids in a selector must exist under the advertiser when the rule is saved.
_ID_OWNERS = {"campaign": KINDS["campaign"], "line_item": KINDS["line_item"]}


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_literal(field: str, value: object) -> str | None:
    if field in ID_FIELDS:
        return None if _is_id(value) else f"{field} takes positive integer ids, got {value!r}"
    return None if isinstance(value, str) and value else f"{field} takes non-empty strings, got {value!r}"


def validate_target(target: object, *, kinds: tuple[str, ...], advertiser, where: str) -> list[str]:
    """Problems with a target spec, each prefixed with `where`; ids are checked to exist under
    the advertiser and reported as 'not found' otherwise (as if they did not exist at all)."""
    if not isinstance(target, dict):
        return [f'{where}: a target is an object like {{"kind": "keyword", "where": {{"campaign": 12}}}}']
    errors = []
    unknown = sorted(set(target) - {"kind", "ids", "where"})
    if unknown:
        errors.append(f"{where}: unknown key(s) {unknown}; a target has kind and ids or where")
    kind = KINDS.get(target.get("kind"))
    if kind is None or target.get("kind") not in kinds:
        return errors + [f"{where}.kind: must be one of {', '.join(kinds)}; got {target.get('kind')!r}"]
    if ("ids" in target) == ("where" in target):
        return errors + [f"{where}: give either ids or where"]
    wanted: dict[Kind, set[int]] = {}
    if "ids" in target:
        ids = target["ids"]
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS or not all(_is_id(i) for i in ids):
            return errors + [f"{where}.ids: a list of 1 to {MAX_IDS} positive integer ids"]
        wanted[kind] = set(ids)
    else:
        conditions = target["where"]
        if not isinstance(conditions, dict) or not conditions:
            return errors + [f"{where}.where: an object of field → value; fields: {', '.join(kind.fields)}"]
        for field, value in conditions.items():
            at = f"{where}.where.{field}"
            if field not in kind.fields:
                errors.append(f"{at}: unknown field for {target['kind']}; fields: {', '.join(kind.fields)}")
                continue
            if isinstance(value, dict):
                if set(value) != {"path"}:
                    errors.append(f'{at}: a payload reference is {{"path": "dotted.path"}}')
                    continue
                try:
                    parse_path(value["path"])
                except ValueError as exc:
                    errors.append(f"{at}: {exc}")
                continue
            values = value if isinstance(value, list) else [value]
            if not 1 <= len(values) <= MAX_IDS:
                errors.append(f"{at}: a list of 1 to {MAX_IDS} values")
                continue
            problems = [p for p in (_check_literal(field, v) for v in values) if p]
            errors += [f"{at}: {p}" for p in problems[:1]]
            if not problems and field in ID_FIELDS:
                owner = kind if field == "id" else _ID_OWNERS[field]
                wanted.setdefault(owner, set()).update(values)
    for owner, ids in wanted.items():
        found = set(owner.model.objects.filter(**{owner.advertiser_lookup: advertiser.pk}, pk__in=ids)
                    .values_list("pk", flat=True))
        for missing in sorted(ids - found):
            errors.append(f"{where}: {owner.type_name} {missing} not found")
    return errors


@dataclass
class Selection:
    """The targets an action found; `reason` says why there are none, `too_many` and `missing`
    (ids named by the rule that no longer exist) are errors for the action."""

    kind: Kind
    objects: list
    reason: str = ""
    too_many: bool = False
    missing: tuple[int, ...] = ()


def _campaign_of(obj):
    if isinstance(obj, Campaign):
        return obj
    return obj.campaign if isinstance(obj, LineItem) else obj.line_item.campaign


def _kept_by_database(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


class _TargetSQL:
    """The SELECT behind select_targets for one kind, written out from the models' metadata.

    Every matching rule runs one of these, and building the same query through the ORM each time
    cost more than everything else a rule does (the join to the advertiser, the parents, the
    lock). The SQL says what the ORM query said: the kind's rows under the advertiser, joined to
    their parents (loaded with them, one instance per parent), filtered, in id order, locked.
    Instances come with their timestamps deferred (below).
    """

    def __init__(self, kind: Kind):
        self.kind = kind
        # The chain of parents: (alias, model, foreign key on the child), e.g. line item, campaign.
        self.chain = [("t", kind.model, None)]
        model = kind.model
        for name in (kind.related[0].split("__") if kind.related else []):
            field = model._meta.get_field(name)
            model = field.related_model
            self.chain.append((f"p{len(self.chain)}", model, field))
        # Every column but the timestamps the database keeps (created_at, updated_at): no action,
        # validation or history reads them, and parsing two timestamps per row of every model of
        # the chain was a tenth of a rule's work. They stay deferred on the instances.
        self.columns = {alias: [f for f in model._meta.concrete_fields if not _kept_by_database(f)]
                        for alias, model, _ in self.chain}
        self._readers_by_vendor: dict[str, list] = {}

    def column(self, lookup: str) -> tuple[str, models.Field]:
        """The (alias, field) an ORM lookup of the vocabulary names: "pk", "asin", "campaign_id",
        "line_item__campaign_id"…"""
        *relations, name = lookup.split("__")
        alias, model = "t", self.kind.model
        for relation in relations:
            alias, model = next((a, m) for a, m, fk in self.chain if fk is not None and fk.name == relation)
        return alias, model._meta.pk if name == "pk" else model._meta.get_field(name)

    def sql(self, conditions: list[str], locked: bool) -> str:
        quote = connection.ops.quote_name
        select = ", ".join(f"{alias}.{quote(f.column)}" for alias, fields in self.columns.items() for f in fields)
        joins = "".join(
            f" JOIN {quote(model._meta.db_table)} {alias} ON {alias}.{quote(model._meta.pk.column)} = "
            f"{self.chain[n - 1][0]}.{quote(fk.column)}"
            for n, (alias, model, fk) in enumerate(self.chain) if fk is not None
        )
        lock = ""
        if locked and connection.features.has_select_for_update:
            lock = " FOR UPDATE OF t" if connection.features.has_select_for_update_of else " FOR UPDATE"
        return (f"SELECT {select} FROM {quote(self.kind.model._meta.db_table)} t{joins}"
                f" WHERE {' AND '.join(conditions)} ORDER BY t.{quote(self.kind.model._meta.pk.column)} LIMIT %s{lock}")

    def _readers(self) -> list[tuple]:
        """Per model of the chain: its alias, model, attnames, where its pk is, and the columns
        needing conversion (the backend's and the field's converters, as the ORM applies them)."""
        readers = self._readers_by_vendor.get(connection.vendor)
        if readers is None:
            readers = []
            for alias, model, _ in self.chain:
                fields = self.columns[alias]
                convert = []
                for n, field in enumerate(fields):
                    col = field.get_col(alias)
                    if converters := connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                        convert.append((n, converters, col))
                readers.append((alias, model, [f.attname for f in fields], fields.index(model._meta.pk), convert))
            self._readers_by_vendor[connection.vendor] = readers
        return readers

    def fetch(self, sql: str, params: list) -> list:
        """Run the query; instances of the kind with their parents attached, one instance per parent."""
        readers = self._readers()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        objects, parents = [], {}
        for row in rows:
            start, chained = 0, []
            for alias, model, attnames, pk_at, convert in readers:
                values = list(row[start:start + len(attnames)])
                start += len(attnames)
                key = (alias, values[pk_at])
                if alias != "t" and key in parents:
                    chained.append(parents[key])
                    continue
                for n, converters, col in convert:
                    for converter in converters:
                        values[n] = converter(values[n], col, connection)
                obj = model.from_db(connection.alias, attnames, values)
                if alias != "t":
                    parents[key] = obj
                chained.append(obj)
            for (_, _, fk), child, parent in zip(self.chain[1:], chained, chained[1:]):
                fk.set_cached_value(child, parent)
            objects.append(chained[0])
        return objects


_SQL: dict[str, _TargetSQL] = {}


def _prepared(field: models.Field, value: object) -> object:
    return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)


def select_targets(target: dict, *, advertiser, payload: object, max_targets: int,
                   biddable_only: bool = False) -> Selection:
    """Load (and lock, on PostgreSQL) the targets of `target` for one event, with their parents
    and the advertiser attached (model validation reads its marketplace and currency)."""
    kind = KINDS[target["kind"]]
    query = _SQL.get(target["kind"]) or _SQL.setdefault(target["kind"], _TargetSQL(kind))
    alias, field = query.column(kind.advertiser_lookup)
    conditions, params = [f"{alias}.{connection.ops.quote_name(field.column)} = %s"], [advertiser.pk]

    def where(lookup: str, values: list, *, negate: bool = False) -> bool:
        if not values:
            return False  # IN () selects nothing
        alias, field = query.column(lookup)
        column = f"{alias}.{connection.ops.quote_name(field.column)}"
        test = f"{column} = %s" if len(values) == 1 else f"{column} IN ({', '.join(['%s'] * len(values))})"
        conditions.append(f"NOT ({test})" if negate else test)
        params.extend(_prepared(field, v) for v in values)
        return True

    if "ids" in target:
        where("pk", list(target["ids"]))
    else:
        for name, value in target["where"].items():
            if isinstance(value, dict):
                value = resolve(payload, parse_path(value["path"]))
                if value is MISSING or value is None:
                    return Selection(kind, [], f"payload has no {target['where'][name]['path']}")
                if isinstance(value, (dict, bool)) or (name in ID_FIELDS and not all(
                        _is_id(v) for v in (value if isinstance(value, list) else [value]))):
                    return Selection(kind, [], f"payload {target['where'][name]['path']} is not a usable {name}")
            if not where(kind.fields[name], value if isinstance(value, list) else [value]):
                return Selection(kind, [], "no targets matched")
        where(kind.state_field, [EntityState.ARCHIVED], negate=True)
        if biddable_only and kind.model is Keyword:
            where("match_type", sorted(MatchType.negatives()), negate=True)
        elif biddable_only and kind.model is ProductTarget:
            where("negative", [True], negate=True)
    # Locked so two events adjusting the same bid cannot both read the old value.
    objects = query.fetch(query.sql(conditions, locked=True), [*params, max_targets + 1])
    if len(objects) > max_targets:
        return Selection(kind, [], f"more than {max_targets} targets; raise max_targets or narrow the selector",
                         too_many=True)
    for obj in objects:
        _campaign_of(obj).advertiser = advertiser  # one instance for all, not one joined per row
    found = {obj.pk for obj in objects}
    missing = tuple(i for i in target.get("ids", ()) if i not in found)
    return Selection(kind, objects, "" if objects else "no targets matched", missing=missing)
