"""The Python port of the legacy PHP PriceHelper, against the reference contract.

Contract: /work/shared/reference/legacy-price-helper.md. These tests need neither PHP nor the
database; tests/bidding/test_price_helper_parity.py checks the same behaviour against real PHP.
"""

import math
import struct
from decimal import Decimal

import pytest

from bidding.price_helper import (
    CPC_MESSAGE,
    INVALID_CPC,
    INVALID_PRODUCT_ID,
    INVALID_ROAS,
    ROAS_MESSAGE,
    PriceHelper,
    adjusted_cpc_decimal,
    calculate_adjusted_cpc,
    is_php_numeric,
    parse_php_numeric,
    php_empty,
    php_round,
    validate_bid_data,
)

ALL_THREE = [INVALID_PRODUCT_ID, INVALID_CPC, INVALID_ROAS]

# (CPC, ROAS %) -> adjusted, from the reference table.
VECTORS = [
    (1.0, 150, 1.5),
    (1.5, 150, 2.25),
    (1.234, 123, 1.52),
    (0, 100, 0.0),
    (2, 200, 4.0),
    (999.99, 500, 4999.95),
    (10, 120.1, 12.01),
    (0.7, 150, 1.05),
    (1.005, 100, 1.01),
    (2.675, 100, 2.68),
    (0.005, 100, 0.01),
    (0.004, 100, 0.0),
]

ROAS_ERRORS = [(1, 0), (1, -50), (-1, 0)]


def bits(value: float) -> str:
    return struct.pack(">d", value).hex()


# --- calculate_adjusted_cpc ----------------------------------------------------------------


@pytest.mark.parametrize(("cpc", "roas", "expected"), VECTORS)
def test_it_reproduces_every_reference_vector(cpc, roas, expected):
    result = calculate_adjusted_cpc(cpc, roas)
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize(("cpc", "roas", "expected"), VECTORS)
def test_numeric_strings_give_the_same_results_as_numbers(cpc, roas, expected):
    assert calculate_adjusted_cpc(str(cpc), str(roas)) == expected


def test_it_coerces_numeric_strings_like_php():
    assert calculate_adjusted_cpc("1.5", "150") == 2.25
    assert calculate_adjusted_cpc(" 1.5\n", "\t150 ") == 2.25
    assert calculate_adjusted_cpc(".5", "2e2") == 1.0
    assert calculate_adjusted_cpc("5.", "100") == 5.0


def test_it_rounds_half_away_from_zero():
    assert calculate_adjusted_cpc(1.005, 100) == 1.01
    assert calculate_adjusted_cpc(2.675, 100) == 2.68
    assert calculate_adjusted_cpc(0.005, 100) == 0.01
    assert calculate_adjusted_cpc(0.125, 100) == 0.13  # half-even would give 0.12


def test_it_rounds_like_php_where_pythons_round_differs():
    assert round(1.005 * (100 / 100), 2) == 1.0  # Python: the double is just below 1.005
    assert calculate_adjusted_cpc(1.005, 100) == 1.01
    assert calculate_adjusted_cpc(0.7, 150) == 1.05


def test_it_rejects_a_negative_cpc_with_the_legacy_message():
    with pytest.raises(ValueError, match=f"^{CPC_MESSAGE}$"):
        calculate_adjusted_cpc(-1, 100)


@pytest.mark.parametrize(("cpc", "roas"), ROAS_ERRORS)
def test_it_rejects_a_non_positive_roas_with_the_legacy_message(cpc, roas):
    with pytest.raises(ValueError, match=f"^{ROAS_MESSAGE}$"):
        calculate_adjusted_cpc(cpc, roas)


def test_it_checks_the_roas_before_the_cpc():
    with pytest.raises(ValueError, match=ROAS_MESSAGE):
        calculate_adjusted_cpc(-1, 0)


def test_zero_cpc_is_fine():
    assert calculate_adjusted_cpc(0, 150) == 0.0
    assert calculate_adjusted_cpc("0", "150") == 0.0


def test_a_null_cpc_counts_as_zero():
    assert calculate_adjusted_cpc(None, 150) == 0.0


def test_a_null_or_false_roas_is_not_greater_than_zero():
    for roas in (None, False, "0", "-0.0", 0.0):
        with pytest.raises(ValueError, match=ROAS_MESSAGE):
            calculate_adjusted_cpc(1, roas)


def test_booleans_are_numbers_in_php_arithmetic():
    assert calculate_adjusted_cpc(True, True) == 0.01
    assert calculate_adjusted_cpc(False, 150) == 0.0


def test_there_is_no_upper_bound():
    assert calculate_adjusted_cpc(1e8, 150) == 1.5e8
    assert calculate_adjusted_cpc("1e400", 100) == math.inf
    assert math.isnan(calculate_adjusted_cpc(0, "1e400"))  # 0 * INF


def test_int_arithmetic_stays_int_until_it_overflows_like_php():
    # 2**62 / 100 is not exact, so PHP divides as doubles: (double)2**62 / 100.
    assert calculate_adjusted_cpc(1, 2**62) == float(2**62) / 100
    # int * int overflowing 64 bits falls back to a double product.
    assert calculate_adjusted_cpc(2**62, 400) == float(2**62) * 4.0
    # Integers beyond 64 bits are PHP floats.
    assert calculate_adjusted_cpc(2**64, 100) == float(2**64)


def test_a_string_without_a_leading_number_is_a_php_type_error():
    with pytest.raises(TypeError, match=r"^Unsupported operand types: string \* float$"):
        calculate_adjusted_cpc("abc", 150)
    with pytest.raises(TypeError, match=r"^Unsupported operand types: string \* int$"):
        calculate_adjusted_cpc("inf", 200)  # 200 / 100 is the int 2
    with pytest.raises(TypeError, match=r"^Unsupported operand types: string / int$"):
        calculate_adjusted_cpc(1, "abc")


def test_arrays_are_a_php_type_error():
    with pytest.raises(TypeError, match=r"^Unsupported operand types: array / int$"):
        calculate_adjusted_cpc(1, [150])
    with pytest.raises(TypeError, match=r"^Unsupported operand types: array \* float$"):
        calculate_adjusted_cpc([], 150)


def test_a_leading_numeric_string_uses_its_numeric_prefix_like_php():
    # PHP 8 only warns ("A non-numeric value encountered") and computes with the prefix.
    assert calculate_adjusted_cpc("12abc", 100) == 12.0
    assert calculate_adjusted_cpc("0x1A", 100) == 0.0
    assert calculate_adjusted_cpc("1_000", 100) == 1.0
    assert calculate_adjusted_cpc("1,50", 100) == 1.0


def test_non_numeric_strings_are_compared_with_zero_as_strings():
    # "" and " " sort before "0", so they fail the `< 0` / `<= 0` checks...
    with pytest.raises(ValueError, match=CPC_MESSAGE):
        calculate_adjusted_cpc("", 150)
    with pytest.raises(ValueError, match=ROAS_MESSAGE):
        calculate_adjusted_cpc(1, " ")
    with pytest.raises(ValueError, match=ROAS_MESSAGE):
        calculate_adjusted_cpc(1, "-abc")
    # ...while "abc" sorts after "0", passes them, and fails in the arithmetic instead.
    with pytest.raises(TypeError):
        calculate_adjusted_cpc(1, "abc")


def test_values_without_a_php_equivalent_are_refused():
    with pytest.raises(TypeError, match="no PHP equivalent"):
        calculate_adjusted_cpc(Decimal("1.5"), 150)


# --- php_round: PHP 8.2's round() --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (1.005, 2, 1.01),
        (2.675, 2, 2.68),
        (0.285, 2, 0.29),
        (1.955, 2, 1.96),
        (5.044999999999999, 2, 5.05),  # pre-rounded to 15 significant digits first
        (1.4999999999999998, 0, 2.0),
        (0.49999999999999994, 0, 1.0),  # the 0.5-addition quirk PHP 8.4 fixed
        (-2.5, 0, -3.0),
        (1.700000000000145, 13, 1.7000000000002),
        (1e15 + 0.3, 0, 1e15 + 0.25),  # beyond a double's precision: unchanged
        (3, -1, 0.0),
    ],
)
def test_php_round_matches_php_8_2(value, places, expected):
    assert bits(php_round(value, places)) == bits(expected)


def test_php_round_keeps_the_sign_of_zero_and_non_finite_values():
    assert bits(php_round(-0.0, 2)) == bits(-0.0)
    assert bits(php_round(-0.0001, 2)) == bits(-0.0)
    assert php_round(math.inf, 2) == math.inf
    assert math.isnan(php_round(math.nan, 2))


def test_php_round_of_an_int_is_a_float():
    assert php_round(7, 2) == 7.0 and type(php_round(7, 2)) is float


# --- validate_bid_data --------------------------------------------------------------------------


def test_valid_data_gives_no_errors():
    assert validate_bid_data("123", "1.50", "150.0") == []
    assert validate_bid_data(123, 1.5, 150) == []


def test_it_reports_all_three_errors_in_order():
    assert validate_bid_data("", "abc", "0.0") == ALL_THREE


def test_product_zero_is_invalid_but_product_zero_point_zero_is_valid():
    assert validate_bid_data("0", 1, 1) == [INVALID_PRODUCT_ID]
    assert validate_bid_data(0, 1, 1) == [INVALID_PRODUCT_ID]
    assert validate_bid_data("0.0", 1, 1) == []
    assert validate_bid_data("00", 1, 1) == []


@pytest.mark.parametrize(
    "cpc", ["nan", "inf", "NAN", "INF", "Infinity", "-inf", "1_000", "0x1A", "1,50", "$1.50", "12abc", "", " "]
)
def test_it_rejects_cpc_strings_that_php_does_not_call_numeric(cpc):
    assert validate_bid_data(1, cpc, 1) == [INVALID_CPC]


@pytest.mark.parametrize("value", [True, False, None, [], [1], {"a": 1}])
def test_booleans_null_and_arrays_are_never_valid(value):
    assert validate_bid_data(value, value, value) == ALL_THREE


def test_a_negative_cpc_is_invalid_but_zero_is_valid():
    assert validate_bid_data(1, -0.01, 1) == [INVALID_CPC]
    assert validate_bid_data(1, "-1", 1) == [INVALID_CPC]
    assert validate_bid_data(1, 0, 1) == []
    assert validate_bid_data(1, "-0", 1) == []
    assert validate_bid_data(1, -0.0, 1) == []


def test_roas_must_be_greater_than_zero():
    assert validate_bid_data(1, 1, 0) == [INVALID_ROAS]
    assert validate_bid_data(1, 1, "0.0") == [INVALID_ROAS]
    assert validate_bid_data(1, 1, "-5") == [INVALID_ROAS]
    assert validate_bid_data(1, 1, "0.0001") == []


def test_whitespace_around_numbers_is_accepted_like_php_8():
    assert validate_bid_data(" 1", "1.5 ", "\t150\n") == []
    assert validate_bid_data("\v1\f", "\r1", "1 ") == []


def test_php_numbers_that_overflow_to_infinity_are_valid_like_in_php():
    # is_numeric("1e400") is true and INF is not < 0: PHP accepts it, so the port does too.
    assert validate_bid_data("1e400", "1e400", "1e400") == []


def test_nan_floats_pass_php_validation():
    # NAN is a float (numeric) and NAN < 0 is false; the API layer refuses NaN itself.
    assert validate_bid_data(math.nan, math.nan, math.nan) == []


# --- PHP empty() and is_numeric() ----------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", 0, 0.0, -0.0, "0", False, [], {}])
def test_php_empty_is_true_for_the_falsy_php_values(value):
    assert php_empty(value)


@pytest.mark.parametrize("value", ["0.0", "00", " 0", "0 ", "a", 1, -1, 0.1, True, [0], math.nan])
def test_php_empty_is_false_for_everything_else(value):
    assert not php_empty(value)


@pytest.mark.parametrize(
    "value",
    [1, -1, 0, 1.5, math.inf, math.nan, "1", "-1", "+1", "1.5", ".5", "5.", "-.5", "+.5e-3",
     "1e3", "1E3", "1e+3", "1.e3", " 1", "1 ", " \t\n\r\v\f1 \t\n\r\v\f", "007", "1e400", "-0"],
)
def test_is_numeric_accepts_php_8_numbers(value):
    assert is_php_numeric(value)


@pytest.mark.parametrize(
    "value",
    ["0x1A", "0b1", "1_000", "1,50", "$1.50", "inf", "nan", "Infinity", "-INF", "", " ", ".",
     "-", "+", "e3", "1e", "1e+", ".e3", "-.e3", "1..5", "1.5.5", "--1", "1 2", "12abc",
     "\u00a01", "1\u00a0", "1\x00", "\u0661", "\uff11", True, False, None, [], [1], {"a": 1}],
)
def test_is_numeric_rejects_what_php_8_rejects(value):
    assert not is_php_numeric(value)


# --- the earlier port's interface ---------------------------------------------------------------


def test_the_price_helper_class_keeps_the_earlier_interface():
    assert PriceHelper.calculate_adjusted_cpc(1.5, 150) == 2.25
    assert PriceHelper.validate_bid_data("", "abc", "0.0") == ALL_THREE
    with pytest.raises(ValueError, match=ROAS_MESSAGE):
        PriceHelper.calculate_adjusted_cpc(-1, 0)
    with pytest.raises(ValueError, match=CPC_MESSAGE):
        PriceHelper().calculate_adjusted_cpc(-1, 100)


# --- adjusted_cpc_decimal: the exact path ------------------------------------------------------


@pytest.mark.parametrize(("cpc", "roas", "expected"), VECTORS)
def test_the_decimal_path_reproduces_every_reference_vector(cpc, roas, expected):
    result = adjusted_cpc_decimal(Decimal(str(cpc)), Decimal(str(roas)))
    assert result == Decimal(str(expected))
    assert result.as_tuple().exponent == -2


def test_the_decimal_path_rounds_half_away_from_zero():
    assert adjusted_cpc_decimal(Decimal("1.225"), Decimal("100")) == Decimal("1.23")
    assert adjusted_cpc_decimal(Decimal("0.125"), Decimal("100")) == Decimal("0.13")
    assert adjusted_cpc_decimal(Decimal("0.0050"), Decimal("100")) == Decimal("0.01")
    assert adjusted_cpc_decimal(Decimal("0.0049"), Decimal("100")) == Decimal("0.00")


def test_the_decimal_path_is_exact_for_large_values():
    assert adjusted_cpc_decimal(Decimal("1000000"), Decimal("100000")) == Decimal("1000000000.00")
    assert adjusted_cpc_decimal(Decimal("999999.9999"), Decimal("99999.9999")) == Decimal("999999998.90")
    # Exactly 10024998.04499999...: rounds down (PHP's float path says .05, see the parity tests).
    assert adjusted_cpc_decimal(Decimal("49999.99"), Decimal("20050.0001")) == Decimal("10024998.04")


def test_the_decimal_path_accepts_ints():
    assert adjusted_cpc_decimal(2, 200) == Decimal("4.00")


def test_the_decimal_path_never_returns_negative_zero():
    assert str(adjusted_cpc_decimal(Decimal("-0"), Decimal("150"))) == "0.00"


@pytest.mark.parametrize(("cpc", "roas"), ROAS_ERRORS)
def test_the_decimal_path_rejects_a_non_positive_roas_first(cpc, roas):
    with pytest.raises(ValueError, match=f"^{ROAS_MESSAGE}$"):
        adjusted_cpc_decimal(Decimal(cpc), Decimal(roas))


def test_the_decimal_path_rejects_a_negative_cpc():
    with pytest.raises(ValueError, match=f"^{CPC_MESSAGE}$"):
        adjusted_cpc_decimal(Decimal("-0.0001"), Decimal("100"))


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_the_decimal_path_refuses_non_finite_values(bad):
    with pytest.raises(ValueError, match="Target ROAS must be a finite number"):
        adjusted_cpc_decimal(Decimal("1"), bad)
    with pytest.raises(ValueError, match="Current CPC must be a finite number"):
        adjusted_cpc_decimal(bad, Decimal("100"))


@pytest.mark.parametrize("bad", [1.5, "1.5", True, None])
def test_the_decimal_path_refuses_floats_and_other_types(bad):
    with pytest.raises(TypeError):
        adjusted_cpc_decimal(bad, Decimal("100"))
    with pytest.raises(TypeError):
        adjusted_cpc_decimal(Decimal("1"), bad)


# --- parse_php_numeric ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, Decimal(5)),
        (2**70, Decimal(2**70)),
        (1.225, Decimal("1.225")),  # the shortest repr, not the binary expansion
        (0.1, Decimal("0.1")),
        ("1.225", Decimal("1.225")),
        (" 1.50\n", Decimal("1.50")),
        (".5", Decimal("0.5")),
        ("5.", Decimal("5")),
        ("-1e3", Decimal("-1E+3")),
        ("+0.0001", Decimal("0.0001")),
        ("007", Decimal("7")),
        ("0.1000000000000000000000001", Decimal("0.1000000000000000000000001")),
    ],
)
def test_parse_php_numeric_returns_the_exact_decimal(value, expected):
    result = parse_php_numeric(value)
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    "value",
    [True, False, None, [], {}, Decimal("1"), "", " ", "abc", "12abc", "0x1A", "1_000", "1,50",
     "$1.50", "inf", "nan", "Infinity", "\u00a01", "1e400", "-1e400", math.nan, math.inf, -math.inf],
)
def test_parse_php_numeric_returns_none_for_non_numbers_and_non_finite_values(value):
    assert parse_php_numeric(value) is None
