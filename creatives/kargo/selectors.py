"""Reads of the Kargo side shaped for their callers: what a push must refuse, what a line item runs."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from creatives.kargo.choices import DealState
from creatives.kargo.models import KargoCreative, KargoDealTarget


# Problems that still matter once the deal targeting is on Amazon: the line item's bid moved
# under the floor (pushing that bid would bid below it). A deal that ended since is left alone.
BID_PROBLEMS = ("floor", "currency")


def deal_target_problems(*, targets: list[KargoDealTarget], on: date | None = None,
                         only: tuple[str, ...] | None = None) -> list[tuple[KargoDealTarget, str]]:
    """Why each deal target may not be trafficked: the deal has ended (in the advertiser's
    time zone), is not offered to the advertiser, is not enabled, its floor is above the line
    item's max bid (its default bid, a CPM) or in another currency; two guaranteed deals on one
    line item (an ad group takes one targetedPGDealId). `only`: those kinds of problem
    (ended, not_offered, not_enabled, currency, floor, several_guaranteed). Empty: all may go."""
    found = _problems(targets, on)
    return [(t, m) for t, kind, m in found if only is None or kind in only]


def _problems(targets: list[KargoDealTarget], on: date | None) -> list[tuple[KargoDealTarget, str, str]]:
    problems = []
    guaranteed = defaultdict(list)
    for target in targets:
        deal, li = target.deal, target.line_item
        advertiser = li.campaign.advertiser
        today = on or advertiser.today()
        label = f"Line item {li.pk} ({li.name}), deal {deal.deal_id}"
        offered = {a.pk for a in deal.advertisers.all()}
        if deal.has_ended(today):
            problems.append((target, "ended", f"{label}: the deal ended on {deal.end_date.isoformat()}."))
        if advertiser.pk not in offered:
            problems.append((target, "not_offered", f"{label}: the deal is not offered to {advertiser}."))
        if deal.state != DealState.ENABLED:
            problems.append((target, "not_enabled", f"{label}: the deal is {deal.state}."))
        if deal.currency != advertiser.currency:
            problems.append((target, "currency", f"{label}: the deal's floor is in {deal.currency}; "
                                     f"{advertiser} bids in {advertiser.currency}."))
        elif deal.floor_above(li.default_bid):
            problems.append((target, "floor", f"{label}: the floor CPM {deal.floor_cpm} {deal.currency} is above the "
                                     f"line item's max bid {li.default_bid} {advertiser.currency}."))
        if deal.is_guaranteed:
            guaranteed[li.pk].append(target)
    for targets_of_li in guaranteed.values():
        if len(targets_of_li) > 1:
            li = targets_of_li[0].line_item
            ids = ", ".join(t.deal.deal_id for t in targets_of_li)
            problems.append((targets_of_li[1], "several_guaranteed",
                             f"Line item {li.pk} ({li.name}) targets several programmatic guaranteed deals ({ids}); "
                             "an ad group takes one."))
    return problems


def line_item_kargo(*, line_item) -> dict:
    """A line item's targeted deals and the Kargo creatives running on them (its console panel)."""
    targets = list(KargoDealTarget.objects.filter(line_item=line_item).select_related("deal"))
    creatives = list(KargoCreative.objects.filter(
        advertiser_id=line_item.campaign.advertiser_id, deal__in=[t.deal_id for t in targets],
    ).select_related("format", "deal"))
    return {"targets": targets, "creatives": creatives}
