"""Budget recommendations: share an advertiser's remaining campaign budget out by recent ROAS.

Which campaigns: the advertiser's live ones (enabled, inside their flight today) with a total
budget and an end date; only those have a "remaining budget" to move. Remaining = total budget −
everything spent so far, today included (never below 0).

How: the remaining total R is split in proportion to each campaign's ROAS over the last
`lookback_days` complete days (sales / spend), with every campaign kept between `min_share` and `max_share`
of R (defaults 5 % and 60 %): shares are clamp(λ × ROAS, min, max) with the one λ that makes
them add up to 1, solved exactly with fractions. When no campaign has a ROAS (nothing spent in
the window), the current split is kept, clamped to the bounds. Bounds that cannot be met are
widened just enough (two campaigns cannot both stay under 60 %; 25 cannot all get 5 %).

Rounding: amounts are in the currency's minor unit; each is rounded down and the leftover units
go to the largest remainders, so the proposed amounts add up exactly to R, and each is within
one minor unit of its exact share (hence of the bounds). A campaign's proposed total budget is
its total − its remaining + its new remaining, so the advertiser's total budgets add up to the
same amount, to the cent, before and after.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.choices import Role
from campaigns.models import CURRENCY_MINOR_UNITS, Advertiser, Campaign
from campaigns.permissions import has_role
from campaigns.services import entity_save
from reporting.choices import RecommendationStatus
from reporting.models import BudgetRecommendation, BudgetRecommendationLine
from reporting.selectors import live_campaigns, local_today, spend_by_campaign

DEFAULT_LOOKBACK_DAYS = 14
DEFAULT_MIN_SHARE = Decimal("0.05")
DEFAULT_MAX_SHARE = Decimal("0.60")
ROAS_PLACES = Decimal("0.0001")


class RecommendationConflict(Exception):
    """The recommendation cannot be accepted as it stands (decided already, or budgets moved)."""


def feasible_bounds(count: int, min_share: Fraction, max_share: Fraction) -> tuple[Fraction, Fraction]:
    """The bounds, widened just enough that `count` shares between them can add up to 1."""
    return min(min_share, Fraction(1, count)), max(max_share, Fraction(1, count))


def bounded_shares(weights: list[Fraction], min_share: Fraction, max_share: Fraction) -> list[Fraction]:
    """Exact shares s_i = clamp(λ w_i, lo, hi) adding up to 1 (bounds made feasible first).

    f(λ) = Σ clamp(λ w_i, lo, hi) is continuous, piecewise linear and non-decreasing, so the
    crossing of 1 lies between two consecutive breakpoints (λ = lo/w or hi/w) and is solved
    there by one linear equation. Zero weights stay at lo unless the positive ones, all at hi,
    leave more than that: the rest is then split evenly among the zero weights.
    """
    count = len(weights)
    lo, hi = feasible_bounds(count, min_share, max_share)

    def total(lam: Fraction) -> Fraction:
        return sum((min(max(lam * w, lo), hi) for w in weights), Fraction(0))

    positive = [w for w in weights if w > 0]
    if not positive:
        return [Fraction(1, count)] * count
    ceiling = hi * len(positive) + lo * (count - len(positive))
    if ceiling <= 1:
        spare = (1 - ceiling) / (count - len(positive)) if count > len(positive) else Fraction(0)
        return [hi if w > 0 else lo + spare for w in weights]
    breakpoints = sorted({b for w in positive for b in (lo / w, hi / w)})
    previous = Fraction(0)
    for point in breakpoints:
        if total(point) >= 1:
            break
        previous = point
    # On [previous, point] the free weights (strictly between their bounds) sum linearly in λ.
    middle = (previous + point) / 2
    free = [w for w in weights if w > 0 and lo < middle * w < hi]
    fixed = sum((min(max(middle * w, lo), hi) for w in weights if not (w > 0 and lo < middle * w < hi)), Fraction(0))
    lam = (1 - fixed) / sum(free, Fraction(0)) if free else point
    return [min(max(lam * w, lo), hi) for w in weights]


def allocate(total: Decimal, weights: list, *, min_share, max_share, places: int = 2) -> list[Decimal]:
    """Split `total` (a whole number of minor units) by `weights` within the share bounds.

    The amounts add up to `total` exactly; see the module docstring for the rule.
    """
    if not weights:
        return []
    unit = Decimal(1).scaleb(-places)
    units = int((total / unit).to_integral_exact())
    shares = bounded_shares([Fraction(w) for w in weights], Fraction(min_share), Fraction(max_share))
    exact = [share * units for share in shares]
    floors = [int(e) for e in exact]  # exact ≥ 0, so int() rounds down
    leftover = units - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in by_remainder[:leftover]:
        floors[index] += 1
    return [Decimal(n) * unit for n in floors]


@dataclass
class ProposalLine:
    campaign: Campaign
    spent: Decimal
    remaining: Decimal
    recent_spend: Decimal
    recent_sales: Decimal
    roas: Decimal | None


def _candidates(advertiser: Advertiser, *, lookback_days: int, now=None) -> tuple[list[ProposalLine], object]:
    today = local_today(advertiser.timezone, now)
    campaigns = list(
        live_campaigns(Campaign.objects.filter(advertiser=advertiser), now=now)
        .filter(total_budget__isnull=False, end_date__isnull=False)
        .select_related("advertiser")
        .order_by("pk")
    )
    ids = [c.pk for c in campaigns]
    to_date = spend_by_campaign(campaign_ids=ids, end=today)
    recent = spend_by_campaign(campaign_ids=ids, start=today - timedelta(days=lookback_days), end=today - timedelta(days=1))
    zero = {"spend": Decimal("0.00"), "sales": Decimal("0.00")}
    lines = []
    for campaign in campaigns:
        spent = to_date.get(campaign.pk, zero)["spend"]
        window = recent.get(campaign.pk, zero)
        roas = (window["sales"] / window["spend"]).quantize(ROAS_PLACES) if window["spend"] else None
        lines.append(ProposalLine(
            campaign, spent, max(campaign.total_budget - spent, Decimal("0.00")), window["spend"], window["sales"], roas
        ))
    return lines, today


def _check_shares(min_share: Decimal, max_share: Decimal, lookback_days: int) -> None:
    errors = {}
    if not 0 <= min_share <= max_share <= 1:
        errors["min_share"] = ["Shares are fractions with 0 ≤ min_share ≤ max_share ≤ 1."]
    if not 1 <= lookback_days <= 90:
        errors["lookback_days"] = ["Between 1 and 90 days."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def budget_recommendation_propose(
    *, advertiser: Advertiser, by=None, lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    min_share: Decimal = DEFAULT_MIN_SHARE, max_share: Decimal = DEFAULT_MAX_SHARE, now=None,
) -> BudgetRecommendation:
    """Record a proposal (nothing else changes). An open proposal for the advertiser is
    superseded by the new one. Raises ValidationError when there is nothing to reallocate."""
    _check_shares(min_share, max_share, lookback_days)
    Advertiser.objects.select_for_update().filter(pk=advertiser.pk).first()  # one proposer at a time
    lines, as_of = _candidates(advertiser, lookback_days=lookback_days, now=now)
    total = sum((line.remaining for line in lines), Decimal("0.00"))
    if len(lines) < 2 or total <= 0:
        raise ValidationError(
            "Nothing to reallocate: it takes at least two live campaigns with a total budget, an end "
            "date and budget left."
        )
    signal = any(line.roas for line in lines)
    weights = [line.roas or 0 for line in lines] if signal else [line.remaining for line in lines]
    places = CURRENCY_MINOR_UNITS.get(advertiser.currency, 2)
    amounts = allocate(total, weights, min_share=min_share, max_share=max_share, places=places)
    BudgetRecommendation.objects.filter(advertiser=advertiser, status=RecommendationStatus.PROPOSED).update(
        status=RecommendationStatus.SUPERSEDED, decided_at=timezone.now()
    )
    recommendation = BudgetRecommendation.objects.create(
        advertiser=advertiser, as_of=as_of, lookback_days=lookback_days, min_share=min_share,
        max_share=max_share, total_remaining=total, created_by=by if getattr(by, "pk", None) else None,
    )
    BudgetRecommendationLine.objects.bulk_create(
        BudgetRecommendationLine(
            recommendation=recommendation, campaign=line.campaign, total_budget=line.campaign.total_budget,
            spent=line.spent, remaining=line.remaining, recent_spend=line.recent_spend,
            recent_sales=line.recent_sales, roas=line.roas, proposed_remaining=amount,
            # total − remaining + new remaining: the advertiser's total budget is unchanged.
            proposed_total_budget=line.campaign.total_budget - line.remaining + amount,
        )
        for line, amount in zip(lines, amounts)
    )
    return recommendation


def budget_recommendation_accept(*, recommendation: BudgetRecommendation, by) -> BudgetRecommendation:
    """Apply a proposal: every campaign's total budget set through entity_save (validation and
    budget history, source "recommendation"), all or nothing.

    Needs the manager role on the advertiser (PermissionDenied). Raises RecommendationConflict
    when it was decided already, or when a campaign's total budget changed since the proposal;
    the proposal is then marked superseded, and nothing else is written.
    """
    if not has_role(by, recommendation.advertiser_id, Role.MANAGER):
        raise PermissionDenied("Only a manager of this advertiser accepts budget recommendations.")
    stale = False
    with transaction.atomic():
        current = BudgetRecommendation.objects.select_for_update().get(pk=recommendation.pk)
        if current.status != RecommendationStatus.PROPOSED:
            raise RecommendationConflict(f"This recommendation is {current.get_status_display().lower()} already.")
        lines = list(current.lines.order_by("campaign_id"))
        campaigns = {
            c.pk: c
            for c in Campaign.objects.select_for_update().filter(pk__in=[l.campaign_id for l in lines])
            .select_related("advertiser").order_by("pk")
        }
        if any(
            line.campaign_id not in campaigns or campaigns[line.campaign_id].total_budget != line.total_budget
            for line in lines
        ):
            current.status = RecommendationStatus.SUPERSEDED
            current.decided_at = timezone.now()
            current.save(update_fields=["status", "decided_at"])
            stale = True
        else:
            for line in lines:
                campaign = campaigns[line.campaign_id]
                campaign.total_budget = line.proposed_total_budget
                entity_save(obj=campaign, by=by, source="recommendation")
            current.status = RecommendationStatus.ACCEPTED
            current.decided_by = by
            current.decided_at = timezone.now()
            current.save(update_fields=["status", "decided_by", "decided_at"])
    if stale:
        raise RecommendationConflict(
            "Budgets changed since this recommendation was made; it is superseded. Propose a new one."
        )
    return current
