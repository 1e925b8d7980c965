"""Budget recommendations: the bounded split (property-tested), proposing, and accepting."""

import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign, ChangeRecord
from reporting.choices import RecommendationStatus
from reporting.recommendations import (
    RecommendationConflict,
    allocate,
    bounded_shares,
    budget_recommendation_accept,
    budget_recommendation_propose,
    feasible_bounds,
)
from tests.campaigns.factories import CampaignFactory, LineItemFactory
from tests.reporting.factories import as_of, deliver

weights = st.lists(
    st.one_of(st.just(Decimal(0)), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=4)),
    min_size=1, max_size=25,
)
shares = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=2)
totals = st.integers(min_value=0, max_value=10**11).map(lambda cents: Decimal(cents) / 100)


@given(weights=weights, total=totals, low=shares, high=shares)
@settings(max_examples=400, deadline=None)
def test_the_split_adds_up_to_the_total_to_the_cent_and_respects_the_bounds(weights, total, low, high):
    low, high = min(low, high), max(low, high)
    amounts = allocate(total, weights, min_share=low, max_share=high)
    assert sum(amounts) == total
    assert all(a == a.quantize(Decimal("0.01")) and a >= 0 for a in amounts)
    lo, hi = feasible_bounds(len(weights), Fraction(low), Fraction(high))
    cents = total * 100
    for amount in amounts:
        # Each amount is its exact share rounded down or up by one cent at most.
        assert math.floor(lo * Fraction(cents)) <= amount * 100 <= math.ceil(hi * Fraction(cents))


@given(weights=weights, low=shares, high=shares)
@settings(max_examples=300, deadline=None)
def test_exact_shares_add_up_to_one_and_follow_the_weights(weights, low, high):
    low, high = min(low, high), max(low, high)
    result = bounded_shares([Fraction(w) for w in weights], Fraction(low), Fraction(high))
    lo, hi = feasible_bounds(len(weights), Fraction(low), Fraction(high))
    assert sum(result) == 1
    assert all(lo <= s <= hi for s in result)
    ordered = sorted(zip(weights, result))
    positive = [(w, s) for w, s in ordered if w > 0]
    assert all(a[1] <= b[1] for a, b in zip(positive, positive[1:]))  # more ROAS never means less budget


def test_the_default_bounds_keep_the_best_campaign_at_sixty_percent():
    amounts = allocate(Decimal("1000.00"), [Decimal(10), Decimal(1), Decimal(1)], min_share=Decimal("0.05"), max_share=Decimal("0.60"))
    assert amounts == [Decimal("600.00"), Decimal("200.00"), Decimal("200.00")]


def test_a_campaign_without_roas_keeps_the_minimum_share():
    amounts = allocate(Decimal("100.00"), [Decimal(3), Decimal(1), Decimal(0)], min_share=Decimal("0.05"), max_share=Decimal("0.60"))
    assert amounts == [Decimal("60.00"), Decimal("35.00"), Decimal("5.00")]


def test_leftover_cents_go_to_the_largest_remainders():
    assert allocate(Decimal("0.10"), [1, 1, 1], min_share=0, max_share=1) == [Decimal("0.04"), Decimal("0.03"), Decimal("0.03")]


def test_whole_yen_are_never_split():
    assert allocate(Decimal("1000"), [1, 1, 1], min_share=0, max_share=1, places=0) == [Decimal(334), Decimal(333), Decimal(333)]


# --- proposing and accepting ---------------------------------------------------------------


@pytest.fixture
def campaigns(advertiser):
    """Three live 30-day campaigns, 10 days in, each 1,000 spent of 3,000, ROAS 4, 2 and 1."""
    last = as_of(advertiser)
    made = []
    for name, sales in (("Strong", "400.00"), ("Middle", "200.00"), ("Weak", "100.00")):
        campaign = CampaignFactory(advertiser=advertiser, name=name, start_date=last - timedelta(days=9),
                                   end_date=last + timedelta(days=20), total_budget=Decimal("3000.00"))
        deliver(LineItemFactory(campaign=campaign), days=10, spend=Decimal("100.00"), sales=Decimal(sales))
        made.append(campaign)
    return made


@pytest.mark.django_db
def test_a_proposal_moves_remaining_budget_toward_roas_and_keeps_the_total(advertiser, campaigns, trader):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=trader)
    lines = {line.campaign.name: line for line in recommendation.lines.select_related("campaign")}
    assert recommendation.total_remaining == Decimal("6000.00")
    assert {n: (l.roas, l.remaining, l.proposed_remaining) for n, l in lines.items()} == {
        "Strong": (Decimal("4.0000"), Decimal("2000.00"), Decimal("3428.57")),
        "Middle": (Decimal("2.0000"), Decimal("2000.00"), Decimal("1714.29")),
        "Weak": (Decimal("1.0000"), Decimal("2000.00"), Decimal("857.14")),
    }
    assert sum(l.proposed_total_budget for l in lines.values()) == Decimal("9000.00")
    assert set(Campaign.objects.values_list("total_budget", flat=True)) == {Decimal("3000.00")}  # nothing applied


@pytest.mark.django_db
def test_there_is_nothing_to_reallocate_with_a_single_campaign(advertiser, campaigns, trader):
    Campaign.objects.filter(pk__in=[c.pk for c in campaigns[1:]]).update(status="paused")
    with pytest.raises(ValidationError, match="Nothing to reallocate"):
        budget_recommendation_propose(advertiser=advertiser, by=trader)


@pytest.mark.django_db
def test_proposing_again_supersedes_the_open_proposal(advertiser, campaigns, trader):
    first = budget_recommendation_propose(advertiser=advertiser, by=trader)
    budget_recommendation_propose(advertiser=advertiser, by=trader)
    first.refresh_from_db()
    assert first.status == RecommendationStatus.SUPERSEDED


@pytest.mark.django_db
def test_a_manager_accepts_and_the_budget_history_records_it(advertiser, campaigns, trader, manager):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=trader)
    budget_recommendation_accept(recommendation=recommendation, by=manager)
    budgets = dict(Campaign.objects.values_list("name", "total_budget"))
    assert budgets == {"Strong": Decimal("4428.57"), "Middle": Decimal("2714.29"), "Weak": Decimal("1857.14")}
    records = ChangeRecord.objects.filter(field="total_budget")
    assert {(r.source, r.changed_by_id, r.old_value) for r in records} == {("recommendation", manager.pk, "3000.00")}
    assert records.count() == 3
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.decided_by) == (RecommendationStatus.ACCEPTED, manager)


@pytest.mark.django_db
def test_a_trader_cannot_accept(advertiser, campaigns, trader):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=trader)
    with pytest.raises(PermissionDenied):
        budget_recommendation_accept(recommendation=recommendation, by=trader)
    assert not ChangeRecord.objects.exists()


@pytest.mark.django_db
def test_a_recommendation_is_applied_only_once(advertiser, campaigns, manager):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=manager)
    budget_recommendation_accept(recommendation=recommendation, by=manager)
    with pytest.raises(RecommendationConflict, match="accepted already"):
        budget_recommendation_accept(recommendation=recommendation, by=manager)
    assert ChangeRecord.objects.count() == 3


@pytest.mark.django_db
def test_budgets_changed_since_the_proposal_supersede_it_and_nothing_is_applied(advertiser, campaigns, manager):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=manager)
    Campaign.objects.filter(pk=campaigns[2].pk).update(total_budget=Decimal("3500.00"))
    with pytest.raises(RecommendationConflict, match="Budgets changed"):
        budget_recommendation_accept(recommendation=recommendation, by=manager)
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.SUPERSEDED
    assert dict(Campaign.objects.values_list("name", "total_budget"))["Strong"] == Decimal("3000.00")


@pytest.mark.django_db
def test_an_invalid_budget_refuses_the_whole_acceptance(advertiser, campaigns, manager):
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=manager)
    line = recommendation.lines.get(campaign__name="Weak")
    line.proposed_total_budget = Decimal("50.00")  # below its 100.00 daily budget
    line.save()
    with pytest.raises(ValidationError):
        budget_recommendation_accept(recommendation=recommendation, by=manager)
    assert set(Campaign.objects.values_list("total_budget", flat=True)) == {Decimal("3000.00")}
    assert not ChangeRecord.objects.exists()


# --- the API -------------------------------------------------------------------------------

URL = "/api/v1/reporting/recommendations/"


@pytest.mark.django_db
def test_a_trader_proposes_and_a_manager_accepts_through_the_api(api_for, advertiser, campaigns, trader, manager):
    proposed = api_for(trader).post(URL, {"advertiser": advertiser.pk}, format="json")
    assert proposed.status_code == 201, proposed.json()
    body = proposed.json()
    assert body["status"] == "proposed" and len(body["lines"]) == 3 and body["min_share"] == "0.0500"
    assert api_for(trader).post(f"{URL}{body['id']}/accept/").status_code == 403
    accepted = api_for(manager).post(f"{URL}{body['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert api_for(manager).post(f"{URL}{body['id']}/accept/").status_code == 409


@pytest.mark.django_db
def test_a_viewer_may_read_but_not_propose(api_for, advertiser, campaigns, viewer, manager):
    budget_recommendation_propose(advertiser=advertiser, by=manager)
    assert api_for(viewer).post(URL, {"advertiser": advertiser.pk}, format="json").status_code == 403
    assert api_for(viewer).get(URL).json()["count"] == 1


@pytest.mark.django_db
def test_another_advertisers_recommendations_are_invisible(api_for, advertiser, campaigns, other_advertiser, make_member):
    outsider = make_member(other_advertiser, "manager")
    recommendation = budget_recommendation_propose(advertiser=advertiser)
    api = api_for(outsider)
    assert api.get(f"{URL}{recommendation.pk}/").status_code == 404
    assert api.post(f"{URL}{recommendation.pk}/accept/").status_code == 404
    refused = api.post(URL, {"advertiser": advertiser.pk}, format="json")
    assert refused.status_code == 400 and "advertiser" in refused.json()


@pytest.mark.django_db
@pytest.mark.parametrize("payload,field", [
    ({"min_share": "0.7", "max_share": "0.6"}, "min_share"),
    ({"max_share": "1.5"}, "max_share"),
    ({"lookback_days": 0}, "lookback_days"),
    ({"min_share": "NaN"}, "min_share"),
])
def test_bad_recommendation_parameters_are_refused(api_for, advertiser, campaigns, trader, payload, field):
    response = api_for(trader).post(URL, {"advertiser": advertiser.pk, **payload}, format="json")
    assert response.status_code == 400 and field in response.json()


@pytest.mark.django_db
def test_the_recommendations_query_count_does_not_depend_on_the_page_size(api_for, advertiser, campaigns, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        budget_recommendation_propose(advertiser=advertiser, by=manager)
    api = api_for(manager)

    def count(page_size):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(URL, {"page_size": page_size}).status_code == 200
        return len(captured)

    assert count(1) == count(50)
