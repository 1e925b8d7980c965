"""One row at a time: what a cell means, and Amazon's rules and limits that need no database.

Messages are Amazon's templates, verbatim where the reference gives one (§4.6), so an account
manager reads the same words in our error workbook as in Amazon's. Rules that need the stored
tree (parents, duplicates, archived objects, our model rules) are the differ's.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from campaigns.bulksheets.columns import (
    AD_GROUP_CHILDREN,
    BIDDING_STRATEGIES,
    COLUMN,
    ENTITY_BY_VALUE,
    MATCH_TYPES,
    OPERATIONS,
    OWN_ID,
    PLACEMENTS,
    PRODUCT,
    STATES,
    TARGETING_TYPES,
    canonical_expression,
    expression_is_valid,
    fold,
)
from campaigns.bulksheets.models import MAX_PERCENTAGE
from campaigns.bulksheets.safety import unneutralise
from campaigns.choices import MatchType
from campaigns.limits import (
    AD_GROUP_NAME_MAX,
    CAMPAIGN_NAME_MAX,
    KEYWORD_MAX_CHARS,
    KEYWORD_MAX_WORDS,
    NEGATIVE_PHRASE_MAX_WORDS,
    MarketplaceLimits,
)

INPUT_ERROR = "Input Error"
_EDGE = frozenset(" \t\r\n\u00a0'")
_ID_FIELDS = ("campaign_id", "ad_group_id", "ad_id", "keyword_id", "product_targeting_id")
WARNING = "Warning"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASIN = re.compile(r"[A-Z0-9]{10}")
NEGATIVE_ENTITIES = {"negative_keyword", "campaign_negative_keyword"}
NEGATIVE_MATCH_TYPES = frozenset(MatchType.negatives())
NEGATIVE_PHRASE = MatchType.NEGATIVE_PHRASE.value
KEYWORD_ENTITIES = {"keyword", *NEGATIVE_ENTITIES}
_WITHOUT_BID = frozenset({*NEGATIVE_ENTITIES, "negative_product_targeting", "campaign_negative_product_targeting"})
TARGET_ENTITIES = {"product_targeting", "negative_product_targeting", "campaign_negative_product_targeting"}


@dataclass(frozen=True, slots=True)
class RowError:
    code: str
    message: str
    type: str = INPUT_ERROR

    def as_dict(self, row: int) -> dict:
        return {"row": row, "type": self.type, "code": self.code, "message": self.message}


NOT_PROCESSED = RowError("Not Processed", "This row was not processed due to errors from other rows", WARNING)


def missing(field: str) -> RowError:
    return RowError("Missing Value", f'Missing value for column: "{COLUMN[field]}"')


def invalid(field: str, raw) -> RowError:
    return RowError("Invalid Value", f'Invalid value: "{_show(raw)}" for column: "{COLUMN[field]}"')


def text_of(raw) -> str:
    """A text cell as meant: trimmed, without the apostrophe our exports put before "=", "+"…"""
    if raw.__class__ is str and raw[0] not in _EDGE and raw[-1] not in _EDGE:
        return raw  # the common case, without a copy
    return unneutralise(_show(raw).strip())


def name_hint(row: "Parsed", field: str) -> str:
    """A name from an informational column, to find an object by (text as meant, or "")."""
    raw = row.raw.get(field)
    return "" if raw is None else text_of(raw)


def _show(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


class Parsed:
    """A row with its cells read: entity, operation, ids as text and typed values."""

    __slots__ = ("number", "entity", "operation", "ids", "values", "errors", "raw")

    def __init__(self, number: int, raw: dict):
        self.number = number
        self.raw = raw
        self.entity = ""
        self.operation = ""
        self.ids: dict[str, str] = raw  # the id cells, made text in place (one dict less per row)
        self.values: dict = {}
        self.errors: list[RowError] = []

    @property
    def own_id(self) -> str:
        return self.ids.get(OWN_ID.get(self.entity, ""), "")


def id_text(value) -> str:
    """An id cell as text: 283920147781204.0 (a number cell) and "283920147781204" agree."""
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return str(value)
    return str(value).strip()


def is_numeric_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # The shortest repr is what the sheet showed (0.85, not 0.84999…).
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else None
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        return None  # no currency symbols, thousands separators or signs (reference §4.3)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@lru_cache(maxsize=4096)
def _money(raw, quantum: Decimal) -> Decimal | None:
    """An amount in the currency's minor unit, or None. Cached: a sheet repeats a few bids."""
    amount = _decimal(raw)
    if amount is None or amount != amount.quantize(quantum):
        return None
    return amount.quantize(quantum)


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _amazon_number(value: Decimal) -> str:
    """A limit as Amazon's messages write it ("1.0", "0.02", "1000.0"), without a float."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


class RowValidator:
    """Reads cells for one advertiser's marketplace: bids and budgets are checked against its
    limits, money against its currency's minor unit."""

    def __init__(self, limits: MarketplaceLimits, minor_units: int):
        self.limits = limits
        self.quantum = Decimal(1).scaleb(-minor_units)
        self.bid_range = f"[{_amazon_number(limits.bid_min)}, {_amazon_number(limits.bid_max)}]"
        self.budget_range = f"[{_amazon_number(limits.daily_budget_min)}, {_amazon_number(limits.daily_budget_max)}]"

    def parse(self, number: int, cells: dict) -> Parsed:
        row = Parsed(number, cells)
        errors = row.errors
        product = cells.get("product")
        if product is not None and product != PRODUCT and fold(product) != "sponsored products":
            errors.append(RowError("Invalid Value", f'Invalid product: "{_show(product)}"'))
        operation = cells.get("operation")
        if operation is not None:
            row.operation = OPERATIONS.get(fold(operation), "")
            if not row.operation:
                errors.append(RowError("Invalid Value", f'Invalid operation: "{_show(operation)}"'))
                return row
        entity = cells.get("entity")
        if entity is None:
            errors.append(missing("entity"))
            return row
        row.entity = ENTITY_BY_VALUE.get(fold(entity), "")
        if not row.entity:
            errors.append(RowError("Invalid Value", f'Invalid entity: "{_show(entity)}"'))
            return row
        for field in _ID_FIELDS:
            value = cells.get(field)
            if value is not None and (value.__class__ is not str or value[-1] == " " or value[0] == " "):
                cells[field] = id_text(value)
        if row.operation == "archive":
            return row  # an Archive row needs its ids only; State is blank (reference §4.3)
        self._values(row, cells)
        return row

    # --- values ------------------------------------------------------------------------------

    def _values(self, row: Parsed, cells: dict) -> None:
        entity, values, errors = row.entity, row.values, row.errors
        if entity != "bidding_adjustment" and "state" in cells:
            state = STATES.get(fold(cells["state"]))
            if state is None:
                errors.append(invalid("state", cells["state"]))
            else:
                values["state"] = state
        if entity == "campaign":
            self._campaign(row, cells)
        elif entity == "ad_group":
            if "ad_group_name" in cells:
                name = text_of(cells["ad_group_name"])
                if len(name) > AD_GROUP_NAME_MAX:
                    errors.append(RowError("Invalid Value", "Ad group name is too long"))
                elif _CONTROL.search(name):
                    errors.append(RowError("Invalid Value", "Ad group name has invalid characters"))
                values["name"] = name
            if "ad_group_default_bid" in cells:
                values["default_bid"] = self._bid(row, "ad_group_default_bid", cells["ad_group_default_bid"])
        elif entity == "bidding_adjustment":
            if "placement" in cells:
                placement = PLACEMENTS.get(fold(cells["placement"]))
                if placement is None:
                    errors.append(invalid("placement", cells["placement"]))
                values["placement"] = placement
            if "percentage" in cells:
                values["percentage"] = self._percentage(row, cells["percentage"])
        elif entity == "product_ad":
            if "sku" in cells:
                values["sku"] = text_of(cells["sku"])
            asin = cells.get("asin", cells.get("asin_info"))
            if asin is not None:
                asin = text_of(asin)
                if not _ASIN.fullmatch(asin):
                    errors.append(invalid("asin", asin))
                values["asin"] = asin
            values["asin_is_informational"] = "asin" not in cells
        elif entity in KEYWORD_ENTITIES:
            self._keyword(row, cells)
        elif entity in TARGET_ENTITIES:
            if "product_targeting_expression" in cells:
                expression = text_of(cells["product_targeting_expression"])
                if not expression_is_valid(expression, auto_allowed=entity == "product_targeting"):
                    errors.append(invalid("product_targeting_expression", expression))
                values["expression"] = canonical_expression(expression)
        if entity in ("keyword", "product_targeting") and "bid" in cells:
            values["bid"] = self._bid(row, "bid", cells["bid"])
        elif entity in _WITHOUT_BID:
            if "bid" in cells:
                errors.append(invalid("bid", cells["bid"]))  # negatives carry no bid

    def _campaign(self, row: Parsed, cells: dict) -> None:
        values, errors = row.values, row.errors
        if "campaign_name" in cells:
            name = text_of(cells["campaign_name"])
            if len(name) > CAMPAIGN_NAME_MAX:
                errors.append(RowError("Invalid Value", "Campaign name is too long"))
            elif _CONTROL.search(name):
                errors.append(RowError("Invalid Value", "Campaign name has invalid characters"))
            values["name"] = name
        for field, label in (("start_date", "Start Date"), ("end_date", "End Date")):
            if field in cells:
                parsed = parse_date(cells[field])
                if parsed is None:
                    errors.append(RowError(
                        "Invalid Date",
                        f"Invalid value: {_show(cells[field])} specified for field: {label}, the correct date format is yyyyMMdd",
                    ))
                values[field] = parsed
        if "targeting_type" in cells:
            targeting = TARGETING_TYPES.get(fold(cells["targeting_type"]))
            if targeting is None:
                errors.append(invalid("targeting_type", cells["targeting_type"]))
            values["targeting_type"] = targeting
        if "daily_budget" in cells:
            budget = self._money(row, "daily_budget", cells["daily_budget"])
            if budget is not None and not self.limits.daily_budget_min <= budget <= self.limits.daily_budget_max:
                errors.append(RowError("Out Of Range", f"Daily budget is out of range (must be in {self.budget_range})"))
            values["daily_budget"] = budget
        if "bidding_strategy" in cells:
            strategy = BIDDING_STRATEGIES.get(fold(cells["bidding_strategy"]))
            if strategy is None:
                errors.append(invalid("bidding_strategy", cells["bidding_strategy"]))
            values["bidding_strategy"] = strategy

    def _keyword(self, row: Parsed, cells: dict) -> None:
        values, errors = row.values, row.errors
        negative = row.entity in NEGATIVE_ENTITIES
        if "match_type" in cells:
            match = MATCH_TYPES.get(fold(cells["match_type"]))
            if match is None or (match in NEGATIVE_MATCH_TYPES) != negative:
                errors.append(invalid("match_type", cells["match_type"]))
            values["match_type"] = match
        if "keyword_text" in cells:
            text = " ".join(text_of(cells["keyword_text"]).split())
            match = values.get("match_type")
            max_words = NEGATIVE_PHRASE_MAX_WORDS if match == NEGATIVE_PHRASE else KEYWORD_MAX_WORDS
            if len(text) > KEYWORD_MAX_CHARS:
                errors.append(RowError("Invalid Value", f"Keyword text is too long (at most {KEYWORD_MAX_CHARS} characters)"))
            elif len(text.split()) > max_words:
                errors.append(RowError("Invalid Value", f"Keyword text has too many words (at most {max_words})"))
            values["text"] = text

    def _money(self, row: Parsed, field: str, raw) -> Decimal | None:
        amount = None if isinstance(raw, bool) else _money(raw, self.quantum)
        if amount is None:
            row.errors.append(invalid(field, raw))
        return amount

    def _bid(self, row: Parsed, field: str, raw) -> Decimal | None:
        bid = self._money(row, field, raw)
        if bid is None:
            return None
        if bid < self.limits.bid_min:
            row.errors.append(RowError("Out Of Range", "Bid is lower than the minimum allowed by the marketplace"))
        elif bid > self.limits.bid_max:
            row.errors.append(RowError("Out Of Range", f"Bid is out of range (must be in {self.bid_range})"))
        return bid

    def _percentage(self, row: Parsed, raw) -> int | None:
        amount = _decimal(raw)
        if amount is None or amount != amount.to_integral_value() or not 0 <= amount <= MAX_PERCENTAGE:
            row.errors.append(invalid("percentage", raw))
            return None
        return int(amount)


# What a Create row must carry, per entity (reference §4.2, "Required fields per entity on Create").
CREATE_REQUIRED = {
    "campaign": ("campaign_name", "targeting_type", "state", "daily_budget"),
    "ad_group": ("ad_group_name", "state", "ad_group_default_bid"),
    "bidding_adjustment": ("placement", "percentage"),
    "product_ad": ("state",),
    "keyword": ("state", "keyword_text", "match_type"),
    "negative_keyword": ("state", "keyword_text", "match_type"),
    "campaign_negative_keyword": ("state", "keyword_text", "match_type"),
    "product_targeting": ("state", "bid", "product_targeting_expression"),
    "negative_product_targeting": ("state", "product_targeting_expression"),
    "campaign_negative_product_targeting": ("state", "product_targeting_expression"),
}


def create_errors(row: Parsed) -> list[RowError]:
    """What a row that creates its entity lacks."""
    errors = [missing(field) for field in CREATE_REQUIRED[row.entity] if field not in row.raw]
    if row.entity == "product_ad" and not (row.values.get("sku") or row.values.get("asin")):
        errors.append(RowError("Missing Value", "Product ad did not specify sku for create operation."))
    return errors


def parent_id_errors(row: Parsed) -> list[RowError]:
    """Missing Campaign ID / Ad Group ID, in Amazon's words."""
    if row.ids.get("campaign_id") and row.ids.get("ad_group_id"):
        return []
    needs_ad_group = row.entity in AD_GROUP_CHILDREN or row.entity == "ad_group"
    lacks_campaign = not row.ids.get("campaign_id")
    lacks_ad_group = needs_ad_group and not row.ids.get("ad_group_id")
    if lacks_campaign and lacks_ad_group and row.entity != "ad_group":
        return [RowError("Missing Value", "Missing value for columns: Campaign ID, Ad Group ID")]
    errors = []
    if lacks_campaign:
        errors.append(missing("campaign_id"))
    if lacks_ad_group:
        errors.append(missing("ad_group_id"))
    return errors
