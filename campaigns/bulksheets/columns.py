"""Amazon's Sponsored Products bulk-sheet layout: the columns in Amazon's order, the header
spellings accepted on import, and the value spellings both ways (reference §4.2, §4.3).

Headers are matched case-insensitively through the alias table, never by position: Amazon's
downloads, its 26-column create template and consoles in other locales order and spell them
differently. Informational and metric columns are read only where they help to find an object
(names), and otherwise ignored.
"""

import re
from functools import lru_cache

from campaigns.bulksheets.choices import Placement
from campaigns.choices import BiddingStrategy, MatchType, TargetingType

SP_SHEET = "Sponsored Products Campaigns"
PORTFOLIOS_SHEET = "Portfolios"
CONFIG_SHEET = "Config"
PRODUCT = "Sponsored Products"

# The full download layout (48 columns): the 37 of the campaign tree, then the 11 metrics.
DOWNLOAD_HEADERS = [
    "Product", "Entity", "Operation", "Campaign ID", "Ad Group ID", "Portfolio ID", "Ad ID", "Keyword ID",
    "Product Targeting ID", "Campaign Name", "Ad Group Name", "Campaign Name (Informational only)",
    "Ad Group Name (Informational only)", "Portfolio Name (Informational only)", "Start Date", "End Date",
    "Targeting Type", "State", "Campaign State (Informational only)", "Ad Group State (Informational only)",
    "Daily Budget", "SKU", "ASIN (Informational only)", "Eligibility Status (Informational only)",
    "Reason for Ineligibility (Informational only)", "Ad Group Default Bid",
    "Ad Group Default Bid (Informational only)", "Bid", "Keyword Text", "Native Language Keyword",
    "Native Language Locale", "Match Type", "Bidding Strategy", "Placement", "Percentage",
    "Product Targeting Expression", "Resolved Product Targeting Expression (Informational only)",
    "Impressions", "Clicks", "Click-through Rate", "Spend", "Sales", "Orders", "Units", "Conversion Rate",
    "ACOS", "CPC", "ROAS",
]
PORTFOLIO_HEADERS = [
    "Product", "Entity", "Operation", "Portfolio ID", "Portfolio Name", "Budget Amount", "Budget Currency Code",
    "Budget Policy", "Budget Start Date", "Budget End Date", "State (Informational only)",
    "In Budget (Informational only)",
]

# Field names used everywhere below; the export writes DOWNLOAD_HEADERS in this order.
FIELDS = [
    "product", "entity", "operation", "campaign_id", "ad_group_id", "portfolio_id", "ad_id", "keyword_id",
    "product_targeting_id", "campaign_name", "ad_group_name", "campaign_name_info", "ad_group_name_info",
    "portfolio_name_info", "start_date", "end_date", "targeting_type", "state", "campaign_state_info",
    "ad_group_state_info", "daily_budget", "sku", "asin_info", "eligibility_info", "ineligibility_info",
    "ad_group_default_bid", "ad_group_default_bid_info", "bid", "keyword_text", "native_keyword",
    "native_locale", "match_type", "bidding_strategy", "placement", "percentage",
    "product_targeting_expression", "resolved_expression_info",
]
COLUMN = dict(zip(FIELDS, DOWNLOAD_HEADERS))  # field → Amazon's header, for messages
COLUMN["asin"] = "ASIN"
INDEX = {field: i for i, field in enumerate(FIELDS)}
WIDTH = len(DOWNLOAD_HEADERS)

# The fields an import reads; every other known column is informational or a metric.
READ_FIELDS = (
    "product", "entity", "operation", "campaign_id", "ad_group_id", "ad_id", "keyword_id",
    "product_targeting_id", "campaign_name", "ad_group_name", "campaign_name_info", "ad_group_name_info",
    "start_date", "end_date", "targeting_type", "state", "daily_budget", "sku", "asin", "asin_info",
    "ad_group_default_bid", "bid", "keyword_text", "match_type", "bidding_strategy", "placement",
    "percentage", "product_targeting_expression",
)


@lru_cache(maxsize=8192)
def fold(text) -> str:
    """A header or a value, compared the way Amazon's files vary: case, dashes, spacing.
    Cached: a sheet repeats the same few spellings (entities, states, match types) per row."""
    text = str(text).replace("\u00a0", " ")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)  # en and em dashes, minus sign → hyphen
    return re.sub(r"\s+", " ", text).strip().casefold()


def _aliases() -> dict[str, str | None]:
    table: dict[str, str | None] = {fold(h): f for h, f in zip(DOWNLOAD_HEADERS, FIELDS)}
    for metric in DOWNLOAD_HEADERS[len(FIELDS):]:
        table[fold(metric)] = None
    for field in ("campaign_id", "ad_group_id", "portfolio_id", "ad_id", "keyword_id", "product_targeting_id"):
        header = fold(COLUMN[field])
        table[f"{header} (read only)"] = field
    table.update({
        "asin": "asin",
        "sku": "sku",
        "product targeting id": "product_targeting_id",
        "targeting id": "product_targeting_id",
        "max bid": "bid",  # older consoles
        "keyword": "keyword_text",
        "campaign status": "state",
        "status": "state",
        "campaign targeting type": "targeting_type",
        "campaign daily budget": "daily_budget",
        "campaign bidding strategy": "bidding_strategy",
        "bid optimisation": "bidding_strategy",
        "bid optimization": "bidding_strategy",
        "placement type": "placement",
        "increase bids by placement": "percentage",
        "campaign serving status (informational only)": None,
        "ad group serving status (informational only)": None,
        "keyword serving status (informational only)": None,
        "ad serving status (informational only)": None,
        "product targeting serving status (informational only)": None,
        "ad serving status reason (informational only)": None,
        "audience id": None,
        "shopper cohort percentage": None,
        "shopper cohort type": None,
        "segment name (informational only)": None,
        "sites": None,
        "error message": None,  # our error workbook's last column: fix the rows and upload again
    })
    return table


HEADER_ALIASES = _aliases()


def header_field(header) -> tuple[bool, str | None]:
    """(known, field) for a header cell; field is None for informational and metric columns."""
    folded = fold(header)
    if folded in HEADER_ALIASES:
        return True, HEADER_ALIASES[folded]
    if "(informational only)" in folded:
        return True, None
    return False, None


# --- Values -------------------------------------------------------------------------------------

ENTITIES = {
    "campaign": "Campaign",
    "bidding_adjustment": "Bidding Adjustment",
    "ad_group": "Ad Group",
    "product_ad": "Product Ad",
    "keyword": "Keyword",
    "negative_keyword": "Negative Keyword",
    "campaign_negative_keyword": "Campaign Negative Keyword",
    "product_targeting": "Product Targeting",
    "negative_product_targeting": "Negative Product Targeting",
    "campaign_negative_product_targeting": "Campaign Negative Product Targeting",
}
ENTITY_BY_VALUE = {fold(label): key for key, label in ENTITIES.items()}
ENTITY_BY_VALUE["bidding adjustment by placement"] = "bidding_adjustment"

# The column holding each entity's own id (a Bidding Adjustment is its campaign's and placement).
OWN_ID = {
    "campaign": "campaign_id",
    "ad_group": "ad_group_id",
    "product_ad": "ad_id",
    "keyword": "keyword_id",
    "negative_keyword": "keyword_id",
    "campaign_negative_keyword": "keyword_id",
    "product_targeting": "product_targeting_id",
    "negative_product_targeting": "product_targeting_id",
    "campaign_negative_product_targeting": "product_targeting_id",
}
# Entities under an ad group (they need Campaign ID and Ad Group ID).
AD_GROUP_CHILDREN = {"product_ad", "keyword", "negative_keyword", "product_targeting", "negative_product_targeting"}
CAMPAIGN_CHILDREN = {"bidding_adjustment", "campaign_negative_keyword", "campaign_negative_product_targeting"}
# "Could not find keyword with id: …" names the object the way Amazon's messages do.
OBJECT_NAME = {
    "campaign": "campaign", "ad_group": "ad group", "product_ad": "product ad", "keyword": "keyword",
    "negative_keyword": "negative keyword", "campaign_negative_keyword": "negative keyword",
    "product_targeting": "targeting clause", "negative_product_targeting": "targeting clause",
    "campaign_negative_product_targeting": "targeting clause", "bidding_adjustment": "bidding adjustment",
}

OPERATIONS = {"create": "create", "update": "update", "archive": "archive"}
STATES = {"enabled": "enabled", "paused": "paused", "archived": "archived"}
TARGETING_TYPES = {"auto": TargetingType.AUTO.value, "manual": TargetingType.MANUAL.value}
TARGETING_TYPE_LABELS = {TargetingType.AUTO.value: "Auto", TargetingType.MANUAL.value: "Manual"}

MATCH_TYPES = {
    "broad": MatchType.BROAD.value,
    "phrase": MatchType.PHRASE.value,
    "exact": MatchType.EXACT.value,
    "negativeexact": MatchType.NEGATIVE_EXACT.value,
    "negative exact": MatchType.NEGATIVE_EXACT.value,
    "negativephrase": MatchType.NEGATIVE_PHRASE.value,
    "negative phrase": MatchType.NEGATIVE_PHRASE.value,
}

BIDDING_STRATEGIES = {fold(label): value for value, label in BiddingStrategy.choices}
BIDDING_STRATEGIES.update({
    "fixed bids": BiddingStrategy.FIXED.value,
    "dynamic bidding (up and down)": BiddingStrategy.UP_AND_DOWN.value,
    "dynamic bidding (down only)": BiddingStrategy.DOWN_ONLY.value,
    "dynamic bids - up & down": BiddingStrategy.UP_AND_DOWN.value,
    # The API's names, as our own older exports and some tools write them.
    "legacyforsales": BiddingStrategy.DOWN_ONLY.value,
    "autoforsales": BiddingStrategy.UP_AND_DOWN.value,
    "manual": BiddingStrategy.FIXED.value,
})
BIDDING_STRATEGY_LABELS = dict(BiddingStrategy.choices)

PLACEMENTS = {fold(label): value for value, label in Placement.choices}
PLACEMENTS.update({
    "top of search": Placement.TOP.value,
    "top of search (first page)": Placement.TOP.value,
    "placement top of search": Placement.TOP.value,
    "product pages": Placement.PRODUCT_PAGE.value,
    "placement product pages": Placement.PRODUCT_PAGE.value,
    "rest of search": Placement.REST_OF_SEARCH.value,
})
PLACEMENT_LABELS = dict(Placement.choices)

AUTO_EXPRESSIONS = ("close-match", "loose-match", "substitutes", "complements")
# Manual product-targeting predicates (reference §4.3): key, operator, quoted text or a number.
_PREDICATE = re.compile(
    r'(asin|asin-expanded|category|brand|price|rating|prime-shipping-eligible|age-range|genre)'
    r'(=|<=|>=|<|>|-between=)("[^"]+"|\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?)'
)


def expression_is_valid(expression: str, *, auto_allowed: bool) -> bool:
    """Whether `expression` is a Sponsored Products targeting expression Amazon accepts."""
    text = expression.strip()
    if text.casefold() in AUTO_EXPRESSIONS:
        return auto_allowed
    predicates = text.split()
    if not predicates or not all(_PREDICATE.fullmatch(p) for p in _merge_quoted(predicates)):
        return False
    first = predicates[0].split("=", 1)[0].split("<", 1)[0].split(">", 1)[0]
    return first in ("asin", "asin-expanded", "category", "brand")


def _merge_quoted(parts: list[str]) -> list[str]:
    """Words of an expression, with quoted values that contain spaces put back together."""
    merged, current = [], ""
    for part in parts:
        current = f"{current} {part}" if current else part
        if current.count('"') % 2 == 0:
            merged.append(current)
            current = ""
    if current:
        merged.append(current)
    return merged


def canonical_expression(expression: str) -> str:
    """Auto groups compare case-insensitively; manual expressions exactly as written."""
    text = " ".join(expression.split())
    return text.casefold() if text.casefold() in AUTO_EXPRESSIONS else text
