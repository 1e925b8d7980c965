"""Rule actions: what a matching rule does. A rule's `actions` is a list, run in order::

    {"type": "pause",  "target": T}      campaigns, line items, keywords, product ads, product targets
    {"type": "enable", "target": T}
    {"type": "set_bid", "target": T, "bid": "1.25"}                  keywords, product targets, line items
    {"type": "adjust_bid", "target": T, "by_percent": 5, "max_bid": "2.00"}      (or "by_amount": "0.10";
                                                                      "min_bid" floors a cut)
    {"type": "adjust_budget", "target": T, "field": "daily_budget", "by_percent": -20, "min_budget": "10"}
                                                 campaigns (daily_budget, total_budget), line items (budget);
                                                 "to": "50.00" sets, "by_amount" adds
    {"type": "alert", "message": "Inventory low for {product.asin}", "severity": "warning"}

T is a target (campaigns.rules.targets). Targeted actions take "max_targets" (default 500): a
selector that finds more is an error, not a mass change. Amounts are numbers or numeric strings
in the advertiser's currency.

Bounds limit how far a rule moves a value, never the other way: a raise stops at max_bid (and
leaves a bid already above it alone), a cut stops at min_bid. Results are rounded half-up to the
currency's minor unit, then validated by the models (marketplace bid limits, budget rules, archived
is final) and written through campaigns.services, so history records source="rule". An action
that is invalid for any target reports an error, and the engine rolls the whole rule back.
"""

import logging
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

from campaigns.choices import EntityState, Role
from campaigns.models import CURRENCY_MINOR_UNITS, Campaign, Keyword, LineItem
from campaigns.rules.conditions import MISSING, as_number, parse_path, resolve
from campaigns.rules.models import MatchStatus
from campaigns.rules.targets import (
    DEFAULT_MAX_TARGETS,
    KINDS,
    LIMIT_MAX_TARGETS,
    Selection,
    select_targets,
    validate_target,
)
from campaigns.services import BulkChangeError, campaigns_set_status, entities_bulk_set, entities_set_state

log = logging.getLogger(__name__)

MAX_ACTIONS = 20
SOURCE = "rule"
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]{1,200})\}")


@dataclass
class Outcome:
    """What one action did to one target (or, without a target, at all)."""

    status: str
    detail: dict
    target_type: str = ""
    target_id: int = 0


@dataclass
class Context:
    """What an action may read: the event (with its advertiser and payload) and the rule."""

    event: object
    rule: object

    @property
    def advertiser(self):
        return self.event.advertiser

    @property
    def payload(self):
        return self.event.payload


def messages_of(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{name}: {m}" if name != "__all__" else m for name, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


def _on(obj, status: str, **detail) -> Outcome:
    return Outcome(status, detail, type(obj)._meta.model_name, obj.pk)


def _archived_reason(obj) -> str | None:
    """Why `obj` cannot change: it or a parent is archived (archived is final)."""
    chain = [obj]
    if isinstance(obj, LineItem):
        chain.append(obj.campaign)
    elif not isinstance(obj, Campaign):
        chain += [obj.line_item, obj.line_item.campaign]
    for item in chain:
        state = getattr(item, "status", None) or getattr(item, "state", None)
        if state == EntityState.ARCHIVED:
            kind = type(item)._meta.verbose_name
            return "archived; archived is final" if item is obj else f"its {kind} {item.pk} is archived"
    return None


def _money_problem(value: object, advertiser, *, allow_negative: bool = False) -> str | None:
    number = as_number(value)
    if number is None:
        return f"must be an amount (a number or numeric string), got {value!r}"
    if number == 0 or (number < 0 and not allow_negative):
        return "must be greater than 0" if not allow_negative else "must not be 0"
    places = CURRENCY_MINOR_UNITS[advertiser.currency]
    if number != number.quantize(Decimal(1).scaleb(-places)):
        return f"{advertiser.currency} amounts have at most {places} decimal places"
    return None


class ActionType:
    """Base for action types: declares its keys and target kinds, validates, applies."""

    kinds: tuple[str, ...] = ()  # target kinds; empty for actions without a target
    keys: frozenset = frozenset()  # parameters besides type, target and max_targets
    role: str = Role.TRADER  # the role needed to create a rule with this action
    # False for an action that only computes its outcome (an alert): a rule made of one such action
    # gets no transaction of its own; its match is recorded with a lease check in the same
    # statement (campaigns.rules.processing).
    writes_to_database: bool = True

    def validate(self, spec: dict, advertiser, where: str) -> list[str]:
        allowed = self.keys | {"type"} | ({"target", "max_targets"} if self.kinds else set())
        errors = [f"{where}: unknown key(s) {sorted(set(spec) - allowed)}"] if set(spec) - allowed else []
        if self.kinds:
            if "target" not in spec:
                errors.append(f"{where}.target: required")
            else:
                errors += validate_target(spec["target"], kinds=self.kinds, advertiser=advertiser, where=f"{where}.target")
            limit = spec.get("max_targets", DEFAULT_MAX_TARGETS)
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX_TARGETS:
                errors.append(f"{where}.max_targets: a whole number from 1 to {LIMIT_MAX_TARGETS}")
        return errors + self.validate_params(spec, advertiser, where)

    def validate_params(self, spec: dict, advertiser, where: str) -> list[str]:
        return []

    def select(self, spec: dict, ctx: Context, **options) -> tuple[Selection, list[Outcome]]:
        """The targets, and the outcomes already known: too many, gone, or none at all."""
        selection = select_targets(spec["target"], advertiser=ctx.advertiser, payload=ctx.payload,
                                   max_targets=spec.get("max_targets", DEFAULT_MAX_TARGETS), **options)
        if selection.too_many:
            return selection, [Outcome(MatchStatus.ERROR, {"error": selection.reason})]
        outcomes = [Outcome(MatchStatus.ERROR, {"error": "not found"}, selection.kind.type_name, pk)
                    for pk in selection.missing]
        if not selection.objects and not outcomes:
            outcomes.append(Outcome(MatchStatus.SKIPPED, {"reason": selection.reason}))
        return selection, outcomes

    def apply(self, spec: dict, ctx: Context) -> list[Outcome]:
        raise NotImplementedError


class SetState(ActionType):
    kinds = tuple(KINDS)

    def __init__(self, state: str):
        self.state = state

    def apply(self, spec, ctx):
        selection, outcomes = self.select(spec, ctx)
        changes = []
        for obj in selection.objects:
            state_field = selection.kind.state_field
            current = getattr(obj, state_field)
            if reason := _archived_reason(obj):
                outcomes.append(_on(obj, MatchStatus.ERROR, error=reason))
            elif current == self.state:
                outcomes.append(_on(obj, MatchStatus.SKIPPED, reason=f"already {current}"))
            else:
                changes.append(obj)
                outcomes.append(_on(obj, MatchStatus.APPLIED, field=state_field, **{"from": current, "to": self.state}))
        if changes and not any(o.status == MatchStatus.ERROR for o in outcomes):
            if selection.kind.model is Campaign:
                campaigns_set_status(campaigns=changes, status=self.state)
            else:
                entities_set_state(objects=changes, state=self.state)
        return outcomes


def moved(current: Decimal, spec: dict, *, places: int, low_key: str, high_key: str, to_key: str) -> Decimal:
    """The value an adjustment asks for, rounded half-up and kept within the spec's bounds."""
    if to_key in spec:
        candidate = as_number(spec[to_key])
    elif "by_percent" in spec:
        candidate = current * (1 + as_number(spec["by_percent"]) / 100)
    else:
        candidate = current + as_number(spec["by_amount"])
    candidate = candidate.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if candidate > current and high_key in spec:
        candidate = max(current, min(candidate, as_number(spec[high_key])))
    if candidate < current and low_key in spec:
        candidate = min(current, max(candidate, as_number(spec[low_key])))
    return candidate


@dataclass
class _Move:
    """Validation of an adjustment's parameters (set, by amount, by percent, bounds)."""

    to_key: str
    low_key: str
    high_key: str
    ways: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        self.ways = (self.to_key, "by_percent", "by_amount")

    def problems(self, spec: dict, advertiser, where: str, *, ways: tuple[str, ...]) -> list[str]:
        given = [w for w in ways if w in spec]
        if len(given) != 1:
            return [f"{where}: give exactly one of {', '.join(ways)}"]
        errors = []
        way = given[0]
        if way == "by_percent":
            pct = as_number(spec[way])
            if pct is None or pct == 0 or not Decimal(-100) < pct <= Decimal(1000):
                errors.append(f"{where}.by_percent: a non-zero number above -100 and at most 1000")
        elif problem := _money_problem(spec[way], advertiser, allow_negative=way == "by_amount"):
            errors.append(f"{where}.{way}: {problem}")
        for key in (self.low_key, self.high_key):
            if key in spec and (problem := _money_problem(spec[key], advertiser)):
                errors.append(f"{where}.{key}: {problem}")
        if not errors and self.low_key in spec and self.high_key in spec:
            if as_number(spec[self.low_key]) > as_number(spec[self.high_key]):
                errors.append(f"{where}: {self.low_key} is above {self.high_key}")
        return errors


class ChangeBid(ActionType):
    kinds = ("keyword", "product_target", "line_item")
    bounds = _Move(to_key="bid", low_key="min_bid", high_key="max_bid")

    def __init__(self, adjust: bool):
        self.ways = ("by_percent", "by_amount") if adjust else ("bid",)
        self.keys = frozenset(self.ways + (("min_bid", "max_bid") if adjust else ()))

    def validate_params(self, spec, advertiser, where):
        return self.bounds.problems(spec, advertiser, where, ways=self.ways)

    def apply(self, spec, ctx):
        selection, outcomes = self.select(spec, ctx, biddable_only=True)
        places = CURRENCY_MINOR_UNITS[ctx.advertiser.currency]
        planned = []
        for obj in selection.objects:
            name = "default_bid" if isinstance(obj, LineItem) else "bid"
            stored = getattr(obj, name)
            # A keyword without its own bid uses its line item's default: that is what moves.
            current = obj.line_item.default_bid if stored is None and isinstance(obj, Keyword) else stored
            if reason := _archived_reason(obj):
                outcomes.append(_on(obj, MatchStatus.ERROR, error=reason))
                continue
            if current is None:
                outcomes.append(_on(obj, MatchStatus.ERROR, error="has no bid (negative targets carry none)"))
                continue
            new = moved(current, spec, places=places, low_key="min_bid", high_key="max_bid", to_key="bid")
            if new == current:
                outcomes.append(_on(obj, MatchStatus.SKIPPED, reason="no change (at its bound)", bid=str(current)))
                continue
            planned.append((obj, name, new))
            outcomes.append(_on(obj, MatchStatus.APPLIED, field=name, **{"from": str(current), "to": str(new)}))
        if not any(o.status == MatchStatus.ERROR for o in outcomes):
            outcomes = _write([(obj, {name: new}) for obj, name, new in planned], outcomes)
        return outcomes


def _write(changes: list[tuple], outcomes: list[Outcome]) -> list[Outcome]:
    """entities_bulk_set; objects it refuses turn their outcome into an error (the engine then
    rolls the rule back)."""
    if not changes:
        return outcomes
    try:
        entities_bulk_set(changes=changes, source=SOURCE)
    except BulkChangeError as exc:
        return [Outcome(MatchStatus.ERROR, {"error": "; ".join(exc.errors[(o.target_type, o.target_id)])},
                        o.target_type, o.target_id) if (o.target_type, o.target_id) in exc.errors else o
                for o in outcomes]
    return outcomes


class AdjustBudget(ActionType):
    kinds = ("campaign", "line_item")
    keys = frozenset({"field", "to", "by_percent", "by_amount", "min_budget", "max_budget"})
    role = Role.MANAGER  # budgets are a manager's call (campaigns.services.BUDGET_FIELDS)
    bounds = _Move(to_key="to", low_key="min_budget", high_key="max_budget")
    FIELDS = {"campaign": ("daily_budget", "total_budget"), "line_item": ("budget",)}

    def validate_params(self, spec, advertiser, where):
        errors = self.bounds.problems(spec, advertiser, where, ways=self.bounds.ways)
        kind = spec.get("target", {}).get("kind") if isinstance(spec.get("target"), dict) else None
        if kind in self.FIELDS and spec.get("field", self.FIELDS[kind][0]) not in self.FIELDS[kind]:
            errors.append(f"{where}.field: for {kind} one of {', '.join(self.FIELDS[kind])}")
        return errors

    def apply(self, spec, ctx):
        selection, outcomes = self.select(spec, ctx)
        name = spec.get("field", self.FIELDS[spec["target"]["kind"]][0])
        places = CURRENCY_MINOR_UNITS[ctx.advertiser.currency]
        planned = []
        for obj in selection.objects:
            current = getattr(obj, name)
            if reason := _archived_reason(obj):
                outcomes.append(_on(obj, MatchStatus.ERROR, error=reason))
            elif current is None and "to" not in spec:
                outcomes.append(_on(obj, MatchStatus.ERROR, error=f"has no {name} to adjust"))
            else:
                new = moved(current or Decimal(0), spec, places=places, low_key="min_budget",
                            high_key="max_budget", to_key="to")
                if new == current:
                    outcomes.append(_on(obj, MatchStatus.SKIPPED, reason="no change (at its bound)"))
                    continue
                planned.append((obj, new))
                outcomes.append(_on(obj, MatchStatus.APPLIED, field=name,
                                    **{"from": None if current is None else str(current), "to": str(new)}))
        if not any(o.status == MatchStatus.ERROR for o in outcomes):
            outcomes = _write([(obj, {name: new}) for obj, new in planned], outcomes)
        return outcomes


class Alert(ActionType):
    keys = frozenset({"message", "severity"})
    writes_to_database = False  # a log line and its RuleMatch row
    SEVERITIES = ("info", "warning", "critical")

    def validate_params(self, spec, advertiser, where):
        errors = []
        message = spec.get("message")
        if not isinstance(message, str) or not 1 <= len(message) <= 500:
            errors.append(f"{where}.message: a text of 1 to 500 characters")
        else:
            for placeholder in _PLACEHOLDER.findall(message):
                try:
                    parse_path(placeholder)
                except ValueError as exc:
                    errors.append(f"{where}.message: {exc}")
        if spec.get("severity", "warning") not in self.SEVERITIES:
            errors.append(f"{where}.severity: one of {', '.join(self.SEVERITIES)}")
        return errors

    def apply(self, spec, ctx):
        def fill(match):
            value = resolve(ctx.payload, parse_path(match.group(1)))
            return "?" if value is MISSING else str(value)

        message = _PLACEHOLDER.sub(fill, spec["message"])
        severity = spec.get("severity", "warning")
        log.warning("rule alert: %s", message, extra={"rule": ctx.rule.pk, "event": ctx.event.pk, "severity": severity})
        return [Outcome(MatchStatus.APPLIED, {"message": message, "severity": severity})]


ACTIONS: dict[str, ActionType] = {
    "pause": SetState(EntityState.PAUSED),
    "enable": SetState(EntityState.ENABLED),
    "set_bid": ChangeBid(adjust=False),
    "adjust_bid": ChangeBid(adjust=True),
    "adjust_budget": AdjustBudget(),
    "alert": Alert(),
}


def register_action(name: str, action_type: ActionType) -> None:
    """Add an action type (extensions, and tests that need one with a controllable effect)."""
    ACTIONS[name] = action_type


def validate_actions(actions: object, *, advertiser) -> list[str]:
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        return [f"a list of 1 to {MAX_ACTIONS} actions"]
    errors = []
    for n, spec in enumerate(actions):
        where = f"[{n}]"
        if not isinstance(spec, dict):
            errors.append(f'{where}: an action is an object like {{"type": "pause", "target": …}}')
        elif spec.get("type") not in ACTIONS:
            errors.append(f"{where}.type: unknown action {spec.get('type')!r}; known: {', '.join(ACTIONS)}")
        else:
            errors += ACTIONS[spec["type"]].validate(spec, advertiser, where)
    return errors


def required_role(actions: object) -> str:
    """The membership role a user needs to save a rule with these actions."""
    roles = {ACTIONS[a["type"]].role for a in actions if isinstance(a, dict) and a.get("type") in ACTIONS} \
        if isinstance(actions, list) else set()
    return Role.MANAGER if Role.MANAGER in roles else Role.TRADER
