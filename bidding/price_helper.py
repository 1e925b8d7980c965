"""Python port of the legacy PHP ``PriceHelper`` (legacy/priceHelper.php).

Two faces:

* ``calculate_adjusted_cpc`` / ``validate_bid_data`` (and the ``PriceHelper`` class) reproduce
  PHP 8.2 exactly, quirks included, for Python values that map to PHP values: None -> null,
  bool, int (outside PHP's 64-bit range -> float, as PHP does with an overflowing integer),
  float, str, and list/dict -> PHP array. Floats come out bit-identical to PHP's, because the
  arithmetic is done in IEEE doubles in PHP's order and ``php_round`` ports PHP 8.2's round().
  They exist for parity with the legacy system (tests/bidding/test_price_helper_parity.py).
* ``adjusted_cpc_decimal`` and ``parse_php_numeric`` are what the platform stores and accepts:
  exact decimal arithmetic, no float ever touches money on that path.

The contract is /work/shared/reference/legacy-price-helper.md. No Django imports here.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = [
    "CPC_MESSAGE",
    "INVALID_CPC",
    "INVALID_PRODUCT_ID",
    "INVALID_ROAS",
    "PriceHelper",
    "ROAS_MESSAGE",
    "adjusted_cpc_decimal",
    "calculate_adjusted_cpc",
    "is_php_numeric",
    "parse_php_numeric",
    "php_empty",
    "php_round",
    "validate_bid_data",
]

# The legacy messages, word for word: clients match on them.
ROAS_MESSAGE = "Target ROAS must be greater than 0"
CPC_MESSAGE = "Current CPC must be non-negative"
INVALID_PRODUCT_ID = "Invalid product ID"
INVALID_CPC = "Invalid current CPC"
INVALID_ROAS = "Invalid target ROAS"

PHP_INT_MIN = -(2**63)
PHP_INT_MAX = 2**63 - 1

# PHP's numeric-string grammar (Zend/zend_operators.c, _is_numeric_string_ex). Only these six
# ASCII whitespace characters count, never NBSP or other Unicode spaces, and only ASCII digits:
# that is why this is spelled out instead of using str.strip(), \s or \d.
_WS = " \t\n\r\v\f"
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Whole string numeric: what is_numeric() and comparisons accept (trailing whitespace is fine
# since PHP 8).
_NUMERIC_STRING = re.compile(rf"[{_WS}]*({_NUMBER})[{_WS}]*")
# Leading-numeric ("12abc", "0x1A", "1_000"): arithmetic uses the prefix, with a warning.
_LEADING_NUMBER = re.compile(rf"[{_WS}]*({_NUMBER})")


# --------------------------------------------------------------------------------------------
# Python value -> PHP value
# --------------------------------------------------------------------------------------------


def _php_value(value):
    """Map a Python value onto the PHP value the legacy code would have received."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if PHP_INT_MIN <= value <= PHP_INT_MAX:
            return value
        # PHP turns an integer literal (or JSON number) that does not fit in 64 bits into a float.
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    if isinstance(value, list):
        return [_php_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _php_value(item) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} has no PHP equivalent for the legacy price helper")


def _php_type(value) -> str:
    """PHP's name for a value's type, as it appears in PHP 8 TypeError messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array"


def _string_to_number(text: str):
    """The int or float PHP reads from a numeric literal (already matched by _NUMBER)."""
    if any(char in text for char in ".eE"):
        return float(text)  # zend_strtod and float() both round correctly; "1e400" -> inf
    number = int(text)
    # An integer string that overflows 64 bits becomes a float (not a wrapped int).
    return number if PHP_INT_MIN <= number <= PHP_INT_MAX else float(text)


def _numeric_string_value(text: str):
    """The number of a fully numeric string, or None when PHP 8 does not consider it numeric."""
    match = _NUMERIC_STRING.fullmatch(text)
    return _string_to_number(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------
# PHP semantics
# --------------------------------------------------------------------------------------------


def is_php_numeric(value) -> bool:
    """PHP 8 ``is_numeric()``: ints and floats (even NAN and INF), and numeric strings only."""
    value = _php_value(value)
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        return _NUMERIC_STRING.fullmatch(value) is not None
    return False


def php_empty(value) -> bool:
    """PHP ``empty()``: null, false, 0, 0.0, -0.0, "", "0" and [] only ("0.0" and "00" are not)."""
    value = _php_value(value)
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0  # NAN != 0, so NAN is not empty, as in PHP
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, (list, dict)):
        return not value
    return False


def _compare_with_zero(value) -> int:
    """PHP 8 ``$value <=> 0`` for a mapped value, as -1, 0 or 1."""
    if value is None:
        return 0  # null == 0: null is compared as a boolean, and 0 is false
    if isinstance(value, bool):
        return 1 if value else 0  # compared as booleans too
    if isinstance(value, (int, float)):
        if value != value:
            return 1  # NAN: neither smaller nor equal, so both `< 0` and `<= 0` are false
        return (value > 0) - (value < 0)
    if isinstance(value, str):
        number = _numeric_string_value(value)
        if number is not None:
            return (number > 0) - (number < 0)
        # PHP 8 compares a non-numeric string with an int as strings: "abc" > "0", but "",
        # " " and "-abc" sort before "0". UTF-8 byte order is code point order, so str order works.
        return -1 if value < "0" else 1
    return 1  # an array is always greater than a number


def _arithmetic_operand(value, operator: str, other_type: str):
    """The number PHP 8 uses for ``value`` in arithmetic, or the TypeError it throws."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        # PHP reads a leading number ("12abc" -> 12, "0x1A" -> 0) and only warns about the rest;
        # a string with no leading number at all is a TypeError.
        match = _LEADING_NUMBER.match(value)
        if match:
            return _string_to_number(match.group(1))
    raise TypeError(f"Unsupported operand types: {_php_type(value)} {operator} {other_type}")


def _php_divide_by_100(number):
    """``$number / 100``: an int when the division is exact, else a double division."""
    if isinstance(number, int) and number % 100 == 0:
        return number // 100
    # Python's int / int is correctly rounded from the exact quotient; C converts to double
    # first, which differs above 2**53. Do what C does.
    return float(number) / 100.0


def _php_multiply(left, right):
    """``$left * $right``: int * int stays an int unless it overflows 64 bits."""
    if isinstance(left, int) and isinstance(right, int):
        product = left * right
        if PHP_INT_MIN <= product <= PHP_INT_MAX:
            return product
        # ZEND_SIGNED_MULTIPLY_LONG falls back to multiplying the two values as doubles.
    return float(left) * float(right)


# --------------------------------------------------------------------------------------------
# PHP 8.2 round(), ported from ext/standard/math.c: the pre-rounding algorithm PHP used from
# 5.3 to 8.3 (https://wiki.php.net/rfc/rounding). Checked bit for bit against php 8.2 by
# tests/bidding/test_price_helper_parity.py.
# --------------------------------------------------------------------------------------------


def _c_floor(x: float) -> float:
    # math.floor returns an int, which loses the sign of a zero result (and cannot be inf or
    # nan); C's floor keeps them.
    if not math.isfinite(x):
        return x
    result = float(math.floor(x))
    return math.copysign(result, x) if result == 0.0 else result


def _c_ceil(x: float) -> float:
    if not math.isfinite(x):
        return x
    result = float(math.ceil(x))
    return math.copysign(result, x) if result == 0.0 else result  # ceil(-0.4) is -0.0 in C


def _php_intpow10(power: int) -> float:
    """php_intpow10: exact table for 10**0..10**22, libm pow() beyond."""
    if power < 0 or power > 22:
        try:
            return math.pow(10.0, float(power))
        except OverflowError:  # C's pow() returns HUGE_VAL where Python raises
            return math.inf
    return float(10**power)  # exactly representable up to 1e22


def _php_round_helper(value: float) -> float:
    """php_round_helper for PHP_ROUND_HALF_UP: half away from zero, by adding 0.5 in doubles.

    The double addition is part of the behaviour: 0.49999999999999994 + 0.5 rounds to 1.0.
    """
    if value >= 0.0:
        return _c_floor(value + 0.5)
    return _c_ceil(value - 0.5)


def _php_round_get_basic(value: float, places: int) -> float:
    factor = _php_intpow10(abs(places))
    return value * factor if places >= 0 else value / factor


def php_round(value, places: int = 0) -> float:
    """PHP 8.2 ``round($value, $places)`` (mode PHP_ROUND_HALF_UP), bit for bit.

    PHP <= 8.3 "pre-rounds" the value to 15 significant digits before rounding to ``places``,
    which is why round(1.005, 2) is 1.01 and round(5.044999999999999, 2) is 5.05 in PHP.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("php_round() takes an int or a float")
    if isinstance(value, int):
        if places >= 0:
            return float(value)  # an int needs no rounding; PHP only converts it
        value = float(value)
    if not math.isfinite(value) or value == 0.0:
        return value

    # 15 significant digits: the decimal precision a double guarantees.
    precision_places = 14 - math.floor(math.log10(abs(value)))
    f1 = _php_intpow10(abs(places))

    if places < precision_places < places + 15:
        # Pre-round to the precision, then move the decimal point to `places`.
        tmp_value = _php_round_helper(_php_round_get_basic(value, precision_places))
        tmp_value = tmp_value / _php_intpow10(abs(places - precision_places))
    else:
        tmp_value = value * f1 if places >= 0 else value / f1
        if abs(tmp_value) >= 1e15:
            return value  # beyond a double's precision: rounding is pointless

    tmp_value = _php_round_helper(tmp_value)

    if abs(places) < 23:
        return tmp_value / f1 if places > 0 else tmp_value * f1
    # PHP formats with "%15fe%d" and reads it back with zend_strtod for |places| >= 23. PHP's
    # own snprintf prints -0.0 without its sign (hence the `or 0.0`), and zend_strtod reads
    # the "INF"/"NAN" it prints for the non-finite values as 0.
    if not math.isfinite(tmp_value):
        return 0.0
    result = float(f"{tmp_value or 0.0:15f}e{-places}")
    return result if math.isfinite(result) else value


# --------------------------------------------------------------------------------------------
# The legacy functions
# --------------------------------------------------------------------------------------------


def calculate_adjusted_cpc(current_cpc, target_roas) -> float:
    """``PriceHelper::calculateAdjustedCpc`` on PHP 8.2: ``round($cpc * ($roas / 100), 2)``.

    Raises ValueError with the legacy message where PHP throws InvalidArgumentException (ROAS
    checked first), and TypeError with PHP's message where PHP throws a TypeError (a string with
    no leading number, an array). Leading-numeric strings ("12abc") are used like PHP does, by
    their numeric prefix; PHP only emits a warning for those.
    """
    cpc = _php_value(current_cpc)
    roas = _php_value(target_roas)
    if _compare_with_zero(roas) <= 0:
        raise ValueError(ROAS_MESSAGE)
    if _compare_with_zero(cpc) < 0:
        raise ValueError(CPC_MESSAGE)
    # Same evaluation order as PHP: the division (and its TypeError) comes first.
    ratio = _php_divide_by_100(_arithmetic_operand(roas, "/", "int"))
    product = _php_multiply(_arithmetic_operand(cpc, "*", _php_type(ratio)), ratio)
    return php_round(product, 2)


def validate_bid_data(product_id, current_cpc, target_roas) -> list[str]:
    """``PriceHelper::validateBidData`` on PHP 8.2: never raises, messages in the fixed order."""
    product_id, current_cpc, target_roas = (_php_value(v) for v in (product_id, current_cpc, target_roas))
    errors = []
    if php_empty(product_id) or not is_php_numeric(product_id):
        errors.append(INVALID_PRODUCT_ID)
    if not is_php_numeric(current_cpc) or _compare_with_zero(current_cpc) < 0:
        errors.append(INVALID_CPC)
    if not is_php_numeric(target_roas) or _compare_with_zero(target_roas) <= 0:
        errors.append(INVALID_ROAS)
    return errors


class PriceHelper:
    """The earlier port's interface, kept for its callers; delegates to the module functions."""

    @staticmethod
    def calculate_adjusted_cpc(current_cpc, target_roas) -> float:
        return calculate_adjusted_cpc(current_cpc, target_roas)

    @staticmethod
    def validate_bid_data(product_id, current_cpc, target_roas) -> list[str]:
        return validate_bid_data(product_id, current_cpc, target_roas)


# --------------------------------------------------------------------------------------------
# The exact path: what the platform stores
# --------------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def _exact_decimal(value, name: str) -> Decimal:
    # Floats are refused on purpose: money never goes through a binary float on this path.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be a Decimal (or an int), not {type(value).__name__}")
    return Decimal(value)


def adjusted_cpc_decimal(current_cpc: Decimal, target_roas: Decimal) -> Decimal:
    """``current_cpc * target_roas / 100`` exactly, rounded half away from zero to cents.

    Same checks, order and messages as the legacy helper (ValueError): ROAS first, then CPC.
    NaN and infinities are refused with ValueError ("... must be a finite number"). A zero
    result is returned as +0.00, never -0.00.

    Equals PHP's round($cpc * ($roas / 100), 2) for API inputs (4 places) whose result is below
    100,000.00. Above that, a double cannot hold the product's 15th significant digit plus the
    cents, and PHP's pre-rounding can move a value lying within a hair of a half cent across it
    (49999.99 @ 20050.0001 is exactly 10024998.04499999: PHP says .05, this says .04).
    """
    cpc = _exact_decimal(current_cpc, "current_cpc")
    roas = _exact_decimal(target_roas, "target_roas")
    if not roas.is_finite():
        raise ValueError("Target ROAS must be a finite number")
    if roas <= 0:
        raise ValueError(ROAS_MESSAGE)
    if not cpc.is_finite():
        raise ValueError("Current CPC must be a finite number")
    if cpc < 0:
        raise ValueError(CPC_MESSAGE)
    with localcontext() as ctx:
        # A product of an m-digit and an n-digit coefficient has at most m + n digits, and
        # scaleb(-2) only moves the exponent: with this precision nothing is rounded before the
        # one rounding we mean, to cents.
        ctx.prec = len(cpc.as_tuple().digits) + len(roas.as_tuple().digits) + 2
        exact = (cpc * roas).scaleb(-2)
        ctx.prec = max(ctx.prec, exact.adjusted() + 4)  # room for the integer part plus cents
        adjusted = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return adjusted.copy_abs() if adjusted.is_zero() else adjusted


def parse_php_numeric(value) -> Decimal | None:
    """The exact Decimal of a value PHP's ``is_numeric()`` accepts, else None.

    * ints: exactly; bools: None (not numeric in PHP);
    * floats: the Decimal of their shortest repr (Decimal(repr(0.1)) == Decimal("0.1"));
    * strings: the exact decimal written, PHP whitespace (" \\t\\n\\r\\v\\f") around it ignored,
      so " 1.225 " -> Decimal("1.225") and not the binary float PHP would compute with;
    * None for NaN and infinities, including numeric strings PHP would read as INF ("1e400"):
      this never returns a non-finite Decimal.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        match = _NUMERIC_STRING.fullmatch(value)
        if match is None or not math.isfinite(float(match.group(1))):
            return None
        return Decimal(match.group(1))
    return None
