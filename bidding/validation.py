"""Edge validation of bid requests: raw JSON values in, exact Decimals out, or every reason why not.

The legacy contract answers with the PHP helper's messages; we are stricter than PHP (no
booleans, NaN, infinities, fractional product ids, more than 4 decimal places, absurd sizes), so
each field refused here also names its legacy message, in the legacy order.
"""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bidding.models import INPUT_DECIMAL_PLACES, MAX_CURRENT_CPC, MAX_TARGET_ROAS
from bidding.price_helper import parse_php_numeric

FIELDS = ("product_id", "current_cpc", "target_roas")
LEGACY_MESSAGES = {
    "product_id": "Invalid product ID",
    "current_cpc": "Invalid current CPC",
    "target_roas": "Invalid target ROAS",
}
MAX_PRODUCT_ID = 2**63 - 1  # the column is a signed 64-bit integer
NON_FINITE_TOKENS = {"NaN", "Infinity", "-Infinity"}


@dataclass(frozen=True)
class BidInput:
    product_id: int
    current_cpc: Decimal
    target_roas: Decimal


class BidInputError(Exception):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(fields)
        self.fields = fields

    @property
    def legacy_errors(self) -> list[str]:
        if "non_field_errors" in self.fields:
            return [LEGACY_MESSAGES[name] for name in FIELDS]
        return [LEGACY_MESSAGES[name] for name in FIELDS if name in self.fields]


class _NonFinite(str):
    """A NaN/Infinity token from the JSON text, kept apart from strings the client sent."""


def loads_exact(body: bytes) -> object:
    """Parse JSON keeping every number exact (Decimal) and non-finite tokens recognisable."""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=_NonFinite)


def _number(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("Must be a number, not a boolean.")
    if isinstance(value, _NonFinite):
        raise ValueError("Must be a finite number.")
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, str):
        number = parse_php_numeric(value)
        if number is None:
            raise ValueError("Must be a number.")
    else:
        raise ValueError("Must be a number.")
    if not number.is_finite():
        raise ValueError("Must be a finite number.")
    return number


def _decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _product_id(value: object) -> int:
    number = _number(value)
    if number != number.to_integral_value():
        raise ValueError("Must be a whole number.")
    if number <= 0:
        raise ValueError("Must be greater than 0.")
    if number > MAX_PRODUCT_ID:
        raise ValueError(f"Must be at most {MAX_PRODUCT_ID}.")
    return int(number)


def _money_like(value: object, *, maximum: Decimal, allow_zero: bool) -> Decimal:
    number = _number(value)
    if allow_zero and number < 0:
        raise ValueError("Must be zero or more.")
    if not allow_zero and number <= 0:
        raise ValueError("Must be greater than 0.")
    if number > maximum:
        raise ValueError(f"Must be at most {maximum}.")
    if _decimal_places(number) > INPUT_DECIMAL_PLACES:
        raise ValueError(f"Must have at most {INPUT_DECIMAL_PLACES} decimal places.")
    # Four places exactly: what the column stores is what the result was computed from.
    return number.quantize(Decimal(1).scaleb(-INPUT_DECIMAL_PLACES))


_PARSERS = {
    "product_id": _product_id,
    "current_cpc": lambda v: _money_like(v, maximum=MAX_CURRENT_CPC, allow_zero=True),
    "target_roas": lambda v: _money_like(v, maximum=MAX_TARGET_ROAS, allow_zero=False),
}


def parse_bid_input(data: object) -> BidInput:
    """Validate a decoded request body; raise BidInputError listing every failing field."""
    if not isinstance(data, dict):
        raise BidInputError({"non_field_errors": ["Expected a JSON object with product_id, current_cpc and target_roas."]})
    fields: dict[str, list[str]] = {}
    values = {}
    for name in FIELDS:
        if name not in data or data[name] is None:
            fields[name] = ["This field is required."]
            continue
        try:
            values[name] = _PARSERS[name](data[name])
        except (ValueError, InvalidOperation, OverflowError) as exc:
            fields[name] = [str(exc) if isinstance(exc, ValueError) and str(exc) else "Must be a number."]
    if fields:
        raise BidInputError(fields)
    return BidInput(**values)
