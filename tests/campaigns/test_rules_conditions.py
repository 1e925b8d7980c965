"""The condition evaluator and exact JSON: examples, validation messages, and properties."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.rules import exactjson
from campaigns.rules.conditions import ConditionError, compile_conditions, conditions_match, validate_conditions

D = Decimal

# --- strategies -----------------------------------------------------------------------------------

decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=D("-1e12"), max_value=D("1e12"), places=4)
numbers = st.one_of(st.integers(min_value=-10**12, max_value=10**12), decimals)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(min_size=1, max_size=6), children, max_size=4)),
    max_leaves=12,
)
paths = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=3).map(".".join)
operators = st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte", "in", "contains", "exists"])


def leaf(path, op, value=None):
    node = {"path": path, "op": op}
    if op != "exists":
        node["value"] = value
    return node


def match(condition, payload) -> bool:
    return conditions_match(condition, payload)


# --- examples -------------------------------------------------------------------------------------

PAYLOAD = {
    "product": {"asin": "B000TEST01", "tags": ["outdoor", "tent"]},
    "price": {"old": D("19.99"), "new": D("17.49"), "change_pct": D("-12.5")},
    "inventory": {"units": 3, "note": None},
    "items": [{"asin": "B000TEST02"}],
}


@pytest.mark.parametrize("condition,expected", [
    (leaf("product.asin", "equals", "B000TEST01"), True),
    (leaf("product.asin", "equals", "b000test01"), False),
    (leaf("product.asin", "not_equals", "B000TEST09"), True),
    (leaf("price.change_pct", "lte", D("-10")), True),
    (leaf("price.change_pct", "lt", D("-12.5")), False),
    (leaf("price.change_pct", "gte", -13), True),
    (leaf("price.new", "between", [D("17.49"), 18]), True),
    (leaf("price.new", "between", [D("17.50"), 18]), False),
    (leaf("inventory.units", "in", [1, 2, 3]), True),
    (leaf("inventory.units", "equals", D("3.00")), True),
    (leaf("product.tags", "contains", "tent"), True),
    (leaf("product.asin", "contains", "TEST"), True),
    (leaf("inventory.note", "exists"), False),
    (leaf("inventory.units", "exists"), True),
    (leaf("items.0.asin", "equals", "B000TEST02"), True),
    (leaf("items.1.asin", "exists"), False),
    ({"all": [leaf("product.asin", "equals", "B000TEST01"), leaf("price.change_pct", "lte", -10)]}, True),
    ({"any": [leaf("product.asin", "equals", "nope"), leaf("inventory.units", "lt", 5)]}, True),
    ({"not": leaf("inventory.units", "lt", 5)}, False),
    ({"all": [{"any": [{"not": leaf("missing.path", "exists")}]}, leaf("price.old", "gt", "19.98")]}, True),
    ({"all": []}, True),
    ({"any": []}, False),
])
def test_conditions_evaluate_as_documented(condition, expected):
    assert match(condition, PAYLOAD) is expected


def test_numbers_are_exact_decimals_never_floats():
    # 0.1 + 0.2 is not 0.3 in binary floating point; the payload is parsed exactly.
    payload = exactjson.loads('{"total": 0.3, "fee": 0.30000000000000001}')
    assert match(leaf("total", "equals", D("0.30")), payload)
    assert not match(leaf("fee", "equals", D("0.3")), payload)
    assert match(leaf("fee", "gt", D("0.3")), payload)


def test_numeric_strings_compare_as_numbers_but_booleans_never_do():
    assert match(leaf("p", "gt", 10), {"p": "12.5"})
    assert match(leaf("p", "equals", 10), {"p": "10.00"})
    assert not match(leaf("p", "gt", 0), {"p": True})
    assert not match(leaf("p", "equals", 1), {"p": True})
    assert not match(leaf("p", "gt", 0), {"p": "NaN"})
    assert not match(leaf("p", "equals", "10"), {"p": 10})  # a string rule value compares as text


def test_a_missing_path_makes_every_operator_false_except_under_not():
    for op, value in [("equals", 1), ("not_equals", 1), ("gt", 1), ("in", [1]), ("contains", "a"),
                      ("between", [0, 1])]:
        assert not match(leaf("absent", op, value), {})
    assert match({"not": leaf("absent", "equals", 1)}, {})


@pytest.mark.parametrize("condition,message", [
    (leaf("price", "greater", 1), "conditions: unknown operator 'greater'"),
    (leaf("price..pct", "gt", 1), "bad path 'price..pct'"),
    (leaf("price pct", "gt", 1), "bad path"),
    ({"op": "gt", "value": 1}, "a path is a non-empty string"),
    (leaf("price", "gt", "cheap"), '"gt" compares numbers'),
    (leaf("price", "between", [1]), '"between" takes [low, high]'),
    (leaf("price", "between", [5, 1]), "low <= high"),
    (leaf("price", "in", "abc"), '"in" takes a list'),
    ({"path": "price", "op": "exists", "value": True}, '"exists" takes no value'),
    ({"path": "price", "op": "equals"}, '"equals" needs a value'),
    ({"path": "price", "op": "equals", "value": 1, "vaule": 2}, "unknown key(s) ['vaule']"),
    ({"all": leaf("a", "exists")}, '"all" takes a list'),
    ({"all": [], "any": []}, "a group has exactly one key"),
    ({"all": [leaf("a", "exists"), {"not": leaf("b", "equal", 1)}]}, "all[1].not: unknown operator 'equal'"),
    ([leaf("a", "exists")], "a condition is an object"),
])
def test_malformed_conditions_are_refused_with_where_and_why(condition, message):
    with pytest.raises(ConditionError) as error:
        compile_conditions(condition)
    assert any(message in m for m in error.value.messages), error.value.messages


def test_every_problem_is_reported_not_just_the_first():
    problems = validate_conditions({"all": [leaf("a", "nope", 1), leaf("b..c", "gt", 1), leaf("c", "gt", "x")]})
    assert len(problems) == 3


def test_nesting_and_size_are_bounded():
    deep = leaf("a", "exists")
    for _ in range(12):
        deep = {"not": deep}
    assert any("deeper than" in m for m in validate_conditions(deep))
    assert any("more than 200" in m for m in validate_conditions({"all": [leaf("a", "exists")] * 201}))


# --- properties -----------------------------------------------------------------------------------

@given(a=numbers, b=numbers)
def test_numeric_comparisons_agree_with_decimal_arithmetic(a, b):
    payload = {"x": a}
    assert match(leaf("x", "equals", b), payload) == (D(a) == D(b))
    assert match(leaf("x", "gt", b), payload) == (D(a) > D(b))
    assert match(leaf("x", "gte", b), payload) == (D(a) >= D(b))
    assert match(leaf("x", "lt", b), payload) == (D(a) < D(b))
    assert match(leaf("x", "lte", b), payload) == (D(a) <= D(b))
    # exactly one of <, =, >
    assert [match(leaf("x", op, b), payload) for op in ("lt", "equals", "gt")].count(True) == 1


@given(a=numbers)
def test_a_number_sent_as_a_string_compares_like_the_number(a):
    assert match(leaf("x", "equals", a), {"x": str(a)}) and match(leaf("x", "gte", a), {"x": str(a)})


@given(x=numbers, low=numbers, high=numbers)
def test_between_is_gte_low_and_lte_high(x, low, high):
    low, high = min(low, high), max(low, high)
    payload = {"x": x}
    assert match(leaf("x", "between", [low, high]), payload) == (
        match(leaf("x", "gte", low), payload) and match(leaf("x", "lte", high), payload)
    )


@given(payload=json_values, value=scalars, path=paths)
def test_not_equals_is_not_equals_whenever_the_path_is_present(payload, value, path):
    present = match(leaf(path, "exists"), payload) or match({"any": [leaf(path, "equals", None)]}, payload)
    if present:
        assert match(leaf(path, "not_equals", value), payload) != match(leaf(path, "equals", value), payload)


@given(payload=json_values, a=st.tuples(paths, operators, scalars), b=st.tuples(paths, operators, scalars))
def test_groups_obey_boolean_algebra(payload, a, b):
    def cond(spec):
        path, op, value = spec
        if op == "in":
            value = [value]
        if op in ("gt", "gte", "lt", "lte"):
            value = 0
        if op == "contains" and value is None:
            value = "x"
        return leaf(path, op, value)

    ca, cb = cond(a), cond(b)
    va, vb = match(ca, payload), match(cb, payload)
    assert match({"all": [ca, cb]}, payload) == (va and vb)
    assert match({"any": [ca, cb]}, payload) == (va or vb)
    assert match({"not": {"not": ca}}, payload) == va
    assert match({"not": {"all": [ca, cb]}}, payload) == match({"any": [{"not": ca}, {"not": cb}]}, payload)


@settings(max_examples=300)
@given(condition=json_values, payload=json_values)
def test_validation_and_evaluation_never_crash_on_arbitrary_json(condition, payload):
    problems = validate_conditions(condition)
    if not problems:
        assert match(condition, payload) in (True, False)


@given(value=json_values)
def test_exact_json_round_trips_every_value(value):
    assert exactjson.loads(exactjson.dumps(value)) == value


@given(value=decimals)
def test_equal_numbers_written_differently_fingerprint_the_same(value):
    assert exactjson.fingerprint({"p": value}) == exactjson.fingerprint({"p": value.quantize(D("0.00000001"))})
    assert exactjson.fingerprint({"p": value}) != exactjson.fingerprint({"p": value + 1})
