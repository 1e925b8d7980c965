"""Parity of the Python port with the legacy PHP PriceHelper, run by the real php CLI.

Hypothesis generates the cases, but they are checked in one batch through ONE php process
(legacy/parity.py), so tens of thousands of cases cost a single php start. The cases are
collected by an inner @given function under a fixed seed (printed in every failure message;
set PRICE_PARITY_SEED to replay a run), then sent to PHP, then compared with the port:
same float bits, or the same exception kind and message.
"""

import os
import random
import struct
from decimal import ROUND_DOWN, Decimal, localcontext
from math import gcd

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bidding.price_helper import (
    PHP_INT_MAX,
    PHP_INT_MIN,
    adjusted_cpc_decimal,
    calculate_adjusted_cpc,
    php_round,
    validate_bid_data,
)
from legacy import parity

pytestmark = [
    pytest.mark.php,
    pytest.mark.skipif(not parity.php_available(), reason=parity.PHP_MISSING_REASON),
]

SEED = int(os.environ.get("PRICE_PARITY_SEED") or random.SystemRandom().randrange(2**32))
CASES_PER_DRAW = 25
DRAWS_PER_OP = 500  # 12,500 draws each for calculate and validate, ~11,500 of them distinct
MIN_CASES_PER_OP = 10_000  # distinct cases
DECIMAL_DRAWS = 140  # x 25 draws: over 3,000 distinct API-range cases for the exact path

REFERENCE_CALCULATIONS = [
    (1.0, 150), (1.5, 150), (1.234, 123), (0, 100), (2, 200), (999.99, 500), (10, 120.1),
    (0.7, 150), (1.005, 100), (2.675, 100), (0.005, 100), (0.004, 100),
    (-1, 100), (1, 0), (1, -50), (-1, 0),
    ("1.5", "150"), (None, 150), ("12abc", 100), ("abc", 100), (1, "abc"), ("", 100), (1, []),
    (2**62 + 511, 300), ("1e400", 100), (0, "1e400"),
]
REFERENCE_VALIDATIONS = [
    ("123", "1.50", "150.0"), ("", "abc", "0.0"), ("0", 1, 1), ("0.0", 1, 1),
    (1, "nan", 1), (1, "inf", 1), (True, False, None), ("1e400", " 1 ", "1_000"),
]

# --- strategies: PHP's numeric grammar and its near misses ------------------------------------

PHP_WHITESPACE = st.text(alphabet=" \t\n\r\v\f", max_size=2)
SIGN = st.sampled_from(["", "", "+", "-"])
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=8) | st.text(
    alphabet="0123456789", min_size=9, max_size=25
)
MANTISSA = st.one_of(
    DIGITS,
    st.builds(lambda i, f: f"{i}.{f}", DIGITS, st.text(alphabet="0123456789", max_size=8)),
    DIGITS.map(lambda f: f".{f}"),
)
EXPONENT = st.one_of(
    st.just(""),
    st.builds(
        lambda e, s, d: f"{e}{s}{d}",
        st.sampled_from("eE"),
        SIGN,
        st.integers(0, 400).map(str) | DIGITS,
    ),
)
NUMERIC_STRINGS = st.builds(
    lambda lead, sign, mantissa, exponent, trail: f"{lead}{sign}{mantissa}{exponent}{trail}",
    PHP_WHITESPACE, SIGN, MANTISSA, EXPONENT, PHP_WHITESPACE,
)
NEAR_MISSES = st.sampled_from([
    "1_000", "0x1A", "0X1a", "0b101", "0o17", "1,50", "$1", "$1.50", "\u20ac1", "inf", "-inf",
    "INF", "nan", "NAN", "NaN", "Infinity", "-Infinity", "1e", "1e+", "e5", ".", "-", "+", "+-1",
    "--1", "1..5", "1.5.5", " ", "", "\t", "12abc", "abc", "1 2", "\u0661", "\u00a01", "1\u00a0",
    "1\x00", "\uff11", "true", "null", "0.0", "00", "0", "-0", "+0", "-0.0", ".0", "0.", "1e400",
    "-1e400", "1e-400", "4.9e-324", "2.2250738585072014e-308", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "99999999999999999999",
    "00000000000000000000000000001", "-abc", " 12abc", ".5x", "0.0abc",
])
LEADING_NUMERIC = st.builds(
    lambda number, junk: number + junk,
    NUMERIC_STRINGS,
    st.sampled_from(["abc", "_000", "x1A", "e", "e+", ",50", " a", ".", ".5", "%", "\x00", "\u00a0"]),
)
PREFIXED = st.builds(
    lambda prefix, number: prefix + number,
    st.sampled_from(["$", "0x", "a", "_", "\u00a0", ",", "--", "+-"]),
    NUMERIC_STRINGS,
)
def amounts(max_places: int):
    """Non-negative decimals below 1,000,000 with 0 to `max_places` decimal places."""
    return st.builds(
        lambda whole, places, fraction: Decimal(whole) + Decimal(fraction % 10**places).scaleb(-places),
        st.integers(0, 10**6 - 1),
        st.integers(0, max_places),
        st.integers(0, 10**max_places - 1),
    )


MONEY_DECIMALS = amounts(6)
# x.xx5 style amounts: the half-cent cases where the rounding rule shows.
HALF_CENTS = st.integers(0, 10**8).map(lambda n: Decimal(n * 10 + 5).scaleb(-3))
MONEY = st.one_of(
    MONEY_DECIMALS.map(str), MONEY_DECIMALS.map(float), HALF_CENTS.map(str), HALF_CENTS.map(float),
    st.integers(0, 10**6), st.sampled_from([100, 110, 115, 120, 125, 150, 200, 250, 300, 500]),
    st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e-2),
)
INTS = st.one_of(
    st.integers(-1000, 10**6),
    st.integers(PHP_INT_MIN, PHP_INT_MAX),
    st.sampled_from([0, 1, -1, 100, 2**53, 2**53 + 1, 2**62, PHP_INT_MAX, PHP_INT_MIN]),
    st.integers(2**63, 2**80) | st.integers(-(2**80), -(2**63) - 1),  # PHP floats
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e6, 1e6)
STRINGS = st.one_of(
    NUMERIC_STRINGS, MONEY_DECIMALS.map(str), NEAR_MISSES, LEADING_NUMERIC, PREFIXED, st.text(max_size=6)
)
OTHERS = st.sampled_from([None, True, False, [], [1], [0], {}, {"a": 1}, {"0": 0}])
ANY_VALUE = st.one_of(INTS, FLOATS, STRINGS, OTHERS, MONEY)

# int * int that overflows 64 bits: PHP multiplies the two ints as doubles, which is not the
# correctly rounded product (e.g. (2**62 + 511) * 3).
INT_OVERFLOWS = st.tuples(st.integers(2**60, PHP_INT_MAX), st.integers(2, 64).map(lambda k: 100 * k))
CALC_CASES = st.tuples(
    st.just("calc"),
    st.tuples(st.one_of(MONEY, ANY_VALUE), st.one_of(MONEY, ANY_VALUE)) | INT_OVERFLOWS,
)
VALIDATE_CASES = st.tuples(
    st.just("validate"),
    st.tuples(ANY_VALUE, st.one_of(MONEY, ANY_VALUE), st.one_of(MONEY, ANY_VALUE)),
)


def api_decimal(max_units: int, min_units: int = 0):
    """An API-range amount: at most 4 decimal places."""
    return st.integers(min_units, max_units).map(lambda units: Decimal(units).scaleb(-4))


@st.composite
def near_half_cent_inputs(draw):
    """CPC and ROAS (4 places each) whose exact product sits on or right next to a half cent.

    x = a * b / 10**10, so the digits after the cents are a * b mod 10**8; solve for a.
    """
    b = draw(st.integers(1, 10**9))
    target = 50_000_000 + draw(st.sampled_from([0, -1, 1, -5, 5, -50, 50, -500, -5000]))
    g = gcd(b, 10**8)
    target -= target % g
    step = 10**8 // g
    a0 = target // g * pow(b // g, -1, step) % step
    a = a0 + step * draw(st.integers(0, max(0, (10**10 - a0) // step)))
    return Decimal(a).scaleb(-4), Decimal(b).scaleb(-4)


API_INPUTS = st.one_of(
    st.tuples(api_decimal(10**10), api_decimal(10**9, 1)),  # CPC [0, 1e6], ROAS (0, 1e5]
    st.tuples(api_decimal(10**7), api_decimal(10**7, 1)),  # everyday sizes
    st.tuples(amounts(4), st.integers(1, 1000).map(Decimal)),  # whole-percent ROAS
    near_half_cent_inputs(),
)


def collect(strategy, draws: int) -> list:
    """Draw `draws` x CASES_PER_DRAW cases with Hypothesis, to be checked later in one batch.

    Returns the distinct cases in drawing order: Hypothesis happily draws the same simple
    case many times, and a repeated case proves nothing new.
    """
    cases = {}

    @seed(SEED)
    @settings(
        max_examples=draws,
        deadline=None,
        derandomize=False,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(strategy, min_size=CASES_PER_DRAW, max_size=CASES_PER_DRAW, unique_by=repr))
    def draw_batch(batch):
        cases.update((repr(case), case) for case in batch)

    draw_batch()
    return list(cases.values())


# --- outcomes ----------------------------------------------------------------------------------


def float_bits(value: float) -> str:
    return struct.pack(">d", value).hex()


def python_outcome(op: str, args: tuple) -> tuple:
    try:
        if op == "calc":
            return ("ok", float_bits(calculate_adjusted_cpc(*args)))
        return ("ok", validate_bid_data(*args))
    except ValueError as exc:  # PHP: InvalidArgumentException
        return ("InvalidArgumentException", str(exc))
    except TypeError as exc:  # PHP: TypeError
        return ("TypeError", str(exc))


def php_outcome(op: str, outcome: parity.PhpOutcome) -> tuple:
    if not outcome.ok:
        return (outcome.error, outcome.message)
    return ("ok", float_bits(outcome.value) if op == "calc" else outcome.value)


def mismatches(cases: list, php_results: list) -> list[str]:
    found = []
    for (op, args), result in zip(cases, php_results, strict=True):
        ours, theirs = python_outcome(op, args), php_outcome(op, result)
        if ours != theirs:
            found.append(f"{op}{args!r}: python {ours} != php {theirs} (warnings: {list(result.warnings)})")
    return found


def assert_parity(cases: list) -> None:
    found = mismatches(cases, parity.run_batch(cases))
    assert not found, (
        f"{len(found)} of {len(cases)} cases differ from PHP {parity.php_version()} "
        f"(PRICE_PARITY_SEED={SEED}):\n" + "\n".join(found[:25])
    )


# --- tests -------------------------------------------------------------------------------------


def test_the_harness_runs_php_8_2():
    assert parity.php_version().startswith("8.2.")


def test_the_reference_vectors_and_errors_match_php():
    cases = [("calc", args) for args in REFERENCE_CALCULATIONS]
    cases += [("validate", args) for args in REFERENCE_VALIDATIONS]
    assert_parity(cases)


def test_calculate_and_validate_match_php_on_generated_cases():
    calc_cases = collect(CALC_CASES, DRAWS_PER_OP)
    validate_cases = collect(VALIDATE_CASES, DRAWS_PER_OP)
    assert len(calc_cases) >= MIN_CASES_PER_OP
    assert len(validate_cases) >= MIN_CASES_PER_OP
    assert_parity(calc_cases + validate_cases)  # one php process for the whole batch


ROUND_CASES = st.tuples(
    st.just("round"),
    st.tuples(
        st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e6, 1e6) | HALF_CENTS.map(float),
        st.just(2) | st.integers(-30, 30) | st.integers(-400, 400),
    ),
)


def test_php_round_matches_php_round_bit_for_bit():
    cases = collect(ROUND_CASES, 200)
    found = []
    for (_, (value, places)), result in zip(cases, parity.run_batch(cases), strict=True):
        if not result.ok or float_bits(php_round(value, places)) != float_bits(result.value):
            found.append(f"round({value!r}, {places}): python {php_round(value, places)!r}, php {result}")
    assert not found, f"PRICE_PARITY_SEED={SEED}:\n" + "\n".join(found[:25])
    assert len(cases) >= 4000


def too_close_to_a_half_cent_for_a_double(exact: Decimal) -> bool:
    """Whether `exact` is within one unit of its 15th significant digit of a half cent.

    PHP 8.2's round() first rounds the double to 15 significant digits; a value that close to
    the half cent can land on either side of it, so PHP's cents may differ from exact half-up.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        cents = exact.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        return abs(exact - cents - Decimal("0.005")) <= Decimal(1).scaleb(exact.adjusted() - 14)


def test_the_exact_decimal_path_matches_php_in_the_api_range():
    """Exact agreement for results below 100,000.00.

    From there on a double's 15 significant digits cannot hold the exact product's 10 decimal
    places, and PHP's pre-rounding to 15 digits can move a value lying within a hair of a half
    cent across it: PHP's cents are then one off the exact half-up result (about 1 input in
    10**5 to 10**7 in that range; see the next test). Those are allowed, nothing else is.
    """
    inputs = collect(API_INPUTS, DECIMAL_DRAWS)
    # The legacy API received the amounts as text; PHP coerces the strings to floats.
    results = parity.run_batch([("calc", (str(cpc), str(roas))) for cpc, roas in inputs])
    unexplained = []
    for (cpc, roas), result in zip(inputs, results, strict=True):
        assert result.ok, (cpc, roas, result)
        ours, php = adjusted_cpc_decimal(cpc, roas), Decimal(f"{result.value:.2f}")
        if ours == php:
            continue
        exact = cpc * roas / 100
        pre_rounding = abs(ours - php) == Decimal("0.01") and too_close_to_a_half_cent_for_a_double(exact)
        if not (ours >= 100_000 and pre_rounding):
            unexplained.append(f"{cpc} @ {roas} = {exact}: decimal {ours} != php {php}")
    assert not unexplained, f"PRICE_PARITY_SEED={SEED}:\n" + "\n".join(unexplained[:25])
    assert len(inputs) >= 3000


@pytest.mark.parametrize(
    ("cpc", "roas", "exact", "decimal_result", "php_result"),
    [
        ("49999.99", "20050.0001", "10024998.04499999", "10024998.04", "10024998.05"),
        ("99930.3244", "100.0709", "100001.1749999996", "100001.17", "100001.18"),
    ],
)
def test_php_pre_rounding_differs_from_the_exact_result_above_100000(
    cpc, roas, exact, decimal_result, php_result
):
    """Known, deliberate divergence: the platform stores the exact half-up result."""
    assert Decimal(cpc) * Decimal(roas) / 100 == Decimal(exact)
    assert str(adjusted_cpc_decimal(Decimal(cpc), Decimal(roas))) == decimal_result
    [result] = parity.run_batch([("calc", (cpc, roas))])
    assert f"{result.value:.2f}" == php_result
    assert float_bits(calculate_adjusted_cpc(cpc, roas)) == float_bits(result.value)
