from django.db import models


class Role(models.TextChoices):
    """Membership roles, in increasing power: viewer < trader < manager."""

    VIEWER = "viewer"
    TRADER = "trader"
    MANAGER = "manager"

    @classmethod
    def at_least(cls, role: str) -> list[str]:
        order = [cls.VIEWER, cls.TRADER, cls.MANAGER]
        return [r.value for r in order[order.index(role):]]


class Phase(models.TextChoices):
    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    CONVERSION = "conversion"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"
    ENABLED = "enabled"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EntityState(models.TextChoices):
    """State of line items, keywords, product ads and targets (Amazon's words)."""

    ENABLED = "enabled"
    PAUSED = "paused"
    ARCHIVED = "archived"


class BiddingStrategy(models.TextChoices):
    # Amazon's three Sponsored Products strategies, labelled as the bulk sheets write them.
    DOWN_ONLY = "legacyForSales", "Dynamic bids - down only"
    UP_AND_DOWN = "autoForSales", "Dynamic bids - up and down"
    FIXED = "manual", "Fixed bid"


class TargetingType(models.TextChoices):
    AUTO = "auto"
    MANUAL = "manual"


class GoalKpi(models.TextChoices):
    ROAS = "roas", "Return on ad spend"
    ACOS = "acos", "Advertising cost of sales"
    CPC = "cpc", "Cost per click"
    CPA = "cpa", "Cost per action"
    CTR = "ctr", "Click-through rate"
    REACH = "reach", "Reach"
    VIEWABILITY = "viewability", "Viewability rate"
    VCR = "vcr", "Video completion rate"


class LineItemFormat(models.TextChoices):
    DISPLAY = "display"
    VIDEO = "video"
    AUDIO = "audio"
    SPONSORED_PRODUCTS = "sponsored_products", "Sponsored products"


class Pacing(models.TextChoices):
    EVEN = "even"
    ASAP = "asap", "Front-loaded (ASAP)"


class FrequencyCapUnit(models.TextChoices):
    HOURS = "hours"
    DAYS = "days"


class MatchType(models.TextChoices):
    BROAD = "broad"
    PHRASE = "phrase"
    EXACT = "exact"
    NEGATIVE_PHRASE = "negativePhrase", "Negative phrase"
    NEGATIVE_EXACT = "negativeExact", "Negative exact"

    @classmethod
    def negatives(cls) -> set[str]:
        return {cls.NEGATIVE_PHRASE.value, cls.NEGATIVE_EXACT.value}
