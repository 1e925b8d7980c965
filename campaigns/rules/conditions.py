"""Rule conditions: a small, safe evaluator over an event's payload (data in, bool out; no eval).

A condition is a leaf or a group, nested freely (up to MAX_DEPTH levels)::

    {"path": "price.change_pct", "op": "lte", "value": -10}
    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}

Operators: equals, not_equals, gt, gte, lt, lte, between (value [low, high], both inclusive),
in (value a list), contains (a substring of a string, or an element of a list), exists (no value:
the path is present and not null).

Semantics, chosen so a rule never fires by accident:
- Paths are dotted keys into the payload; an all-digit segment indexes a list (`items.0.asin`).
- Numbers compare as Decimals, never floats. A payload string spelling a finite number compares
  as that number ("12.5" > 10); booleans are never numbers. gt/gte/lt/lte/between are false
  unless both sides are numbers.
- Every operator but `exists` is false when the path is missing, so `not_equals` differs from
  `not(equals)` on a missing field: the first is false, the second true.
- `equals` follows the rule's value: a number compares numerically, a string exactly
  (case-sensitive), true/false/null only equal themselves, lists and objects by content.
"""

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from campaigns.rules.exactjson import canonical

MAX_DEPTH = 10
MAX_NODES = 200
MAX_LIST = 1000
MAX_PATH_SEGMENTS = 10
OPERATORS = ("equals", "not_equals", "gt", "gte", "lt", "lte", "between", "in", "contains", "exists")
GROUPS = ("all", "any", "not")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NUMERIC_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?$")
MISSING = object()

Matcher = Callable[[object], bool]


class ConditionError(ValueError):
    """A malformed condition; `messages` name each problem with where it is."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def parse_path(path: object) -> tuple[str, ...]:
    """The segments of a dotted path; ValueError says what is wrong with it."""
    if not isinstance(path, str) or not path:
        raise ValueError("a path is a non-empty string such as 'product.asin'")
    segments = tuple(path.split("."))
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"path {path!r} has more than {MAX_PATH_SEGMENTS} segments")
    if not all(_SEGMENT.match(s) for s in segments):
        raise ValueError(f"bad path {path!r}: segments are letters, digits, _ or -, separated by single dots")
    return segments


def resolve(payload: object, segments: tuple[str, ...]) -> object:
    """The value at `segments` in `payload`, or MISSING."""
    current = payload
    for segment in segments:
        if isinstance(current, dict):
            current = current.get(segment, MISSING)
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def as_number(value: object) -> Decimal | None:
    """A finite Decimal for numbers and numeric strings; None for everything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str) and _NUMERIC_TEXT.match(value):
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            return None
    else:
        return None
    return number if number.is_finite() else None


def _equals_to(expected: object) -> Matcher:
    """A predicate for `actual == expected` with the rule value deciding the kind of comparison."""
    if isinstance(expected, bool) or expected is None:
        return lambda actual: actual is expected
    if not isinstance(expected, str) and (number := as_number(expected)) is not None:
        return lambda actual: as_number(actual) == number
    if isinstance(expected, str):
        return lambda actual: isinstance(actual, str) and actual == expected
    shape = canonical(expected)
    return lambda actual: isinstance(actual, (list, dict)) and canonical(actual) == shape


class _Compiler:
    def __init__(self):
        self.errors: list[str] = []
        self.nodes = 0

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where or 'conditions'}: {message}")

    def compile(self, node: object, where: str, level: int) -> Matcher:
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            self.error(where, f"more than {MAX_NODES} conditions in one rule")
        if level > MAX_DEPTH:
            self.error(where, f"conditions nest deeper than {MAX_DEPTH} levels")
            return _never
        if not isinstance(node, dict):
            self.error(where, "a condition is an object: {\"path\", \"op\", \"value\"} or {\"all\"|\"any\"|\"not\": …}")
            return _never
        groups = [key for key in GROUPS if key in node]
        if groups:
            if len(node) != 1:
                self.error(where, f"a group has exactly one key ({', '.join(GROUPS)}); found {sorted(node)}")
                return _never
            return self._group(groups[0], node[groups[0]], where, level)
        return self._leaf(node, where)

    def _group(self, kind: str, body: object, where: str, level: int) -> Matcher:
        prefix = f"{where}.{kind}" if where else kind
        if kind == "not":
            inner = self.compile(body, prefix, level + 1)
            return lambda payload: not inner(payload)
        if not isinstance(body, list):
            self.error(prefix, f'"{kind}" takes a list of conditions')
            return _never
        parts = [self.compile(child, f"{prefix}[{n}]", level + 1) for n, child in enumerate(body)]
        if kind == "all":
            return lambda payload: all(part(payload) for part in parts)
        return lambda payload: any(part(payload) for part in parts)

    def _leaf(self, node: dict, where: str) -> Matcher:
        unknown = sorted(set(node) - {"path", "op", "value"})
        if unknown:
            self.error(where, f"unknown key(s) {unknown}; a condition has path, op and value")
        op = node.get("op")
        if op not in OPERATORS:
            self.error(where, f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
            return _never
        try:
            segments = parse_path(node.get("path"))
        except ValueError as exc:
            self.error(where, str(exc))
            return _never
        if op == "exists":
            if "value" in node:
                self.error(where, '"exists" takes no value (wrap it in "not" for absence)')
            return lambda payload: resolve(payload, segments) not in (MISSING, None)
        if "value" not in node:
            self.error(where, f'"{op}" needs a value')
            return _never
        test = self._operator(op, node["value"], where)
        if test is None:
            return _never

        def matcher(payload: object) -> bool:
            actual = resolve(payload, segments)
            return actual is not MISSING and test(actual)

        return matcher

    def _operator(self, op: str, value: object, where: str) -> Matcher | None:
        if op in ("equals", "not_equals"):
            equal = _equals_to(value)
            return equal if op == "equals" else (lambda actual: not equal(actual))
        if op in ("gt", "gte", "lt", "lte"):
            bound = as_number(value)
            if bound is None:
                self.error(where, f'"{op}" compares numbers: its value must be a number, got {value!r}')
                return None
            compare = {
                "gt": lambda a: a > bound, "gte": lambda a: a >= bound,
                "lt": lambda a: a < bound, "lte": lambda a: a <= bound,
            }[op]
            return lambda actual: (number := as_number(actual)) is not None and compare(number)
        if op == "between":
            bounds = [as_number(v) for v in value] if isinstance(value, list) and len(value) == 2 else None
            if bounds is None or None in bounds:
                self.error(where, f'"between" takes [low, high], two numbers; got {value!r}')
                return None
            low, high = bounds
            if low > high:
                self.error(where, f'"between" needs low <= high; got [{low}, {high}]')
                return None
            return lambda actual: (number := as_number(actual)) is not None and low <= number <= high
        if op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
                self.error(where, f'"in" takes a list of 1 to {MAX_LIST} values')
                return None
            options = [_equals_to(v) for v in value]
            return lambda actual: any(option(actual) for option in options)
        # contains
        if isinstance(value, (list, dict)):
            self.error(where, '"contains" takes one value (a string, number, true/false or null)')
            return None
        element = _equals_to(value)

        def contains(actual: object) -> bool:
            if isinstance(actual, str):
                return isinstance(value, str) and value in actual
            if isinstance(actual, list):
                return any(element(item) for item in actual)
            return False

        return contains


def _never(payload: object) -> bool:
    return False


def compile_conditions(conditions: object) -> Matcher:
    """A predicate over payloads; raises ConditionError listing every problem found."""
    compiler = _Compiler()
    matcher = compiler.compile(conditions, "", 0)
    if compiler.errors:
        raise ConditionError(compiler.errors)
    return matcher


def validate_conditions(conditions: object) -> list[str]:
    try:
        compile_conditions(conditions)
    except ConditionError as exc:
        return exc.messages
    return []


def conditions_match(conditions: object, payload: object) -> bool:
    return compile_conditions(conditions)(payload)
