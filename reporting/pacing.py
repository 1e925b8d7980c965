"""Pacing: how much should have been spent by now, and whether delivery is on track.

Pure arithmetic on Decimals; reporting.selectors reads the spend and calls it.

Definitions (days are the advertiser's local days, both flight ends inclusive):

* as_of: the last complete day counted, by default yesterday in the advertiser's time zone
  (performance arrives per completed day, so counting today would always look behind).
* elapsed days: flight days from the start up to as_of (0 before the first complete day).
* the budget paced against:
  - lifetime: a total budget (campaign total_budget, line item budget) over a flight with an end
    date; the even line is budget × elapsed / flight days;
  - daily: a campaign with a daily budget only, or an open-ended flight; the even line is
    daily budget × elapsed days;
  - none: a line item without a budget or without an end date is not paced (status "unpaced").
* front-loaded (ASAP): Amazon's front-loaded and pace-ahead profiles "can deliver up to 25 %
  more than the daily even pace targets", so the expected line is 1.25 × the even line, never
  above the lifetime budget.
* status, with the thresholds below:
  - over: spend above the budget, or above OVER_TOLERANCE × the expected line (110 %);
  - under: spend below UNDER_TOLERANCE × the even line (90 %); a front-loaded flight delivering
    evenly is on track (the allowance is an "up to");
  - on track: between the two.
* forecast at flight end: spend so far + the recent daily run rate (the last RUN_RATE_DAYS
  complete days, fewer at the start) × the days left. Not capped at the budget on purpose: a
  forecast above it is the early warning of an overspend.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from reporting.choices import PacingStatus

FRONT_LOADED_ALLOWANCE = Decimal("1.25")
UNDER_TOLERANCE = Decimal("0.90")
OVER_TOLERANCE = Decimal("1.10")
RUN_RATE_DAYS = 7

LIFETIME = "lifetime"
DAILY = "daily"


def money(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PacingPlan:
    """What a flight should spend, day by day."""

    mode: str  # "even" or "asap" (campaigns.choices.Pacing)
    basis: str | None  # LIFETIME, DAILY or None (not paced)
    start: date
    end: date | None
    budget: Decimal | None  # lifetime: the total; daily: the daily budget
    cap: Decimal | None = None  # daily basis: a total budget the flight may not exceed
    places: int = 2

    @property
    def flight_days(self) -> int | None:
        return None if self.end is None else (self.end - self.start).days + 1

    @property
    def planned_total(self) -> Decimal | None:
        """The most the flight is meant to spend in all (None when open-ended with a daily budget)."""
        if self.basis == LIFETIME:
            return self.budget
        if self.basis == DAILY:
            planned = None if self.flight_days is None else self.budget * self.flight_days
            if self.cap is not None:
                planned = self.cap if planned is None else min(planned, self.cap)
            return planned
        return None

    def elapsed_days(self, as_of: date) -> int:
        days = (as_of - self.start).days + 1
        if self.flight_days is not None:
            days = min(days, self.flight_days)
        return max(days, 0)

    def even_line(self, elapsed: int) -> Decimal | None:
        if self.basis == LIFETIME:
            return money(self.budget * elapsed / self.flight_days, self.places)
        if self.basis == DAILY:
            line = money(self.budget * elapsed, self.places)
            return line if self.cap is None else min(line, self.cap)
        return None

    def expected_line(self, elapsed: int) -> Decimal | None:
        even = self.even_line(elapsed)
        if even is None or self.mode != "asap":
            return even
        ahead = money(even * FRONT_LOADED_ALLOWANCE, self.places)
        total = self.planned_total
        return ahead if total is None else min(ahead, total)

    def expected_by_day(self, until: date) -> list[tuple[date, Decimal]]:
        """The cumulative expected spend at the end of each flight day up to `until`."""
        if self.basis is None:
            return []
        last = until if self.end is None else min(until, self.end)
        return [(self.start + timedelta(days=i), self.expected_line(i + 1)) for i in range((last - self.start).days + 1)]


@dataclass
class Pacing:
    """One campaign's or line item's pacing as of a day."""

    level: str  # "campaign" or "line_item"
    object_id: int
    name: str
    advertiser_id: int
    campaign_id: int
    currency: str
    plan: PacingPlan
    as_of: date
    spent: Decimal
    recent_spend: Decimal
    elapsed_days: int = 0
    even_expected: Decimal | None = None
    expected: Decimal | None = None
    forecast: Decimal | None = None
    status: str = PacingStatus.UNPACED
    extra: dict = field(default_factory=dict)

    @property
    def pace(self) -> Decimal | None:
        """Spend as a fraction of the expected spend (1.0 is exactly on the line)."""
        if not self.expected:
            return None
        return (self.spent / self.expected).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def status_label(self) -> str:
        return PacingStatus(self.status).label

    @property
    def remaining_days(self) -> int | None:
        days = self.plan.flight_days
        return None if days is None else days - self.elapsed_days


def pacing_evaluate(pacing: Pacing) -> Pacing:
    """Fill in the expected lines, the forecast and the status of `pacing` (returned)."""
    plan = pacing.plan
    pacing.elapsed_days = plan.elapsed_days(pacing.as_of)
    pacing.even_expected = plan.even_line(pacing.elapsed_days)
    pacing.expected = plan.expected_line(pacing.elapsed_days)
    pacing.forecast = _forecast(pacing)
    pacing.status = _status(pacing)
    return pacing


def _forecast(pacing: Pacing) -> Decimal | None:
    remaining = pacing.remaining_days
    if remaining is None:
        return None
    window = min(RUN_RATE_DAYS, pacing.elapsed_days)
    if window == 0:
        return money(pacing.spent, pacing.plan.places)
    return money(pacing.spent + pacing.recent_spend / window * remaining, pacing.plan.places)


def _status(pacing: Pacing) -> str:
    plan = pacing.plan
    if plan.basis is None:
        return PacingStatus.UNPACED
    if pacing.elapsed_days == 0:
        return PacingStatus.NOT_STARTED
    total = plan.planned_total
    if total is not None and pacing.spent > total:
        return PacingStatus.OVER
    if pacing.spent > pacing.expected * OVER_TOLERANCE:
        return PacingStatus.OVER
    if pacing.spent < pacing.even_expected * UNDER_TOLERANCE:
        return PacingStatus.UNDER
    return PacingStatus.ON_TRACK
