from django.db import models


class PerformanceSource(models.TextChoices):
    """Where a day of performance came from; a later import of the same day replaces it."""

    UPLOAD = "upload", "CSV/XLSX upload"
    AMAZON = "amazon", "Amazon DSP report"
    API = "api"


class PacingStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    UNDER = "under", "Under-delivering"
    OVER = "over", "Over-delivering"
    NOT_STARTED = "not_started", "No complete day yet"
    UNPACED = "unpaced", "No budget to pace against"


class RecommendationStatus(models.TextChoices):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded", "Superseded (budgets changed since)"


class Dimension(models.TextChoices):
    """What a grouped report can be grouped by (several at once, in the order given)."""

    ADVERTISER = "advertiser"
    CAMPAIGN = "campaign"
    PHASE = "phase"
    LINE_ITEM = "line_item", "Line item"
    DAY = "day"
    WEEK = "week", "Week (starting Monday)"


class ImportStatus(models.TextChoices):
    """A performance upload's job: queued → running (with a heartbeat) → succeeded or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @classmethod
    def active(cls) -> list[str]:
        return [cls.QUEUED, cls.RUNNING]
