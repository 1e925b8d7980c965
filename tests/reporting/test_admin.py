"""Reporting in the console: dashboards, uploads and recommendations, scoped by membership."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, ChangeRecord
from reporting.choices import RecommendationStatus
from reporting.models import BudgetRecommendation, DailyPerformance
from tests.campaigns.factories import CampaignFactory, LineItemFactory
from tests.reporting.factories import as_of, deliver
from tests.reporting.helpers import csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, advertiser, make_member):
    def login(role):
        user = make_member(advertiser, role, username=f"staff-{role}")
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return login


@pytest.fixture
def live(advertiser):
    """Two live 30-day campaigns 10 days in, 100 a day each; ROAS 4 and 1."""
    last = as_of(advertiser)
    made = []
    for name, sales in (("Summer tents", "400.00"), ("Winter boots", "100.00")):
        campaign = CampaignFactory(advertiser=advertiser, name=name, start_date=last - timedelta(days=9),
                                   end_date=last + timedelta(days=20), total_budget=Decimal("3000.00"))
        deliver(LineItemFactory(campaign=campaign, name=f"{name} LI"), days=10, spend=Decimal("100.00"), sales=Decimal(sales))
        made.append(campaign)
    return made


def test_the_dashboards_list_only_the_members_advertisers(staff, live, other_advertiser):
    page = staff("viewer").get(reverse("admin:reporting_advertiserdashboard_changelist"))
    assert page.status_code == 200
    assert "Acme Outdoor" in page.content.decode() and "Rival Goods" not in page.content.decode()


def test_an_advertiser_dashboard_renders_its_charts_with_the_figures(staff, advertiser, live):
    page = staff("viewer").get(reverse("admin:reporting_advertiserdashboard_change", args=[advertiser.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("advertiser-spend-pacing", "advertiser-impressions", "advertiser-clicks", "advertiser-conversions",
                  "advertiser-viewability", "advertiser-top-roas", "advertiser-bottom-roas"):
        assert f'data-chart="{chart}"' in html
    assert 'data-kpi="spend" data-value="2000.00">2,000.00 USD' in html
    assert re.search(r'data-key="\d+" data-label="Summer tents LI" data-value="4.0000"', html)
    assert html.count('data-series="spend" data-date=') == 30  # the cumulative spend line, one point per day


def test_a_campaign_dashboard_shows_its_pacing_and_line_items(staff, live):
    campaign = live[0]
    html = staff("viewer").get(reverse("admin:reporting_campaign_dashboard", args=[campaign.pk])).content.decode()
    assert 'data-chart="campaign-spend-pacing"' in html
    assert 'data-pacing-status="on_track"' in html
    assert 'data-series="pacing"' in html and 'data-series="budget"' in html and 'data-series="forecast"' in html
    last = as_of(campaign.advertiser)
    assert f'data-series="spend" data-date="{last.isoformat()}" data-value="1000.00"' in html


@pytest.mark.parametrize("url", ["admin:reporting_advertiserdashboard_change", "admin:reporting_campaign_dashboard"])
def test_another_advertisers_dashboards_are_not_found(staff, other_advertiser, url):
    theirs = CampaignFactory(advertiser=other_advertiser)
    target = other_advertiser.pk if "advertiser" in url else theirs.pk
    assert staff("manager").get(reverse(url, args=[target])).status_code == 404


def test_a_superuser_sees_every_dashboard(admin_client_logged_in, other_advertiser):
    assert admin_client_logged_in.get(reverse("admin:reporting_advertiserdashboard_change", args=[other_advertiser.pk])).status_code == 200


def test_a_dashboard_without_delivery_says_so(staff, advertiser):
    html = staff("viewer").get(reverse("admin:reporting_advertiserdashboard_change", args=[advertiser.pk])).content.decode()
    assert "No delivery in this period" in html


def test_a_trader_uploads_performance_in_the_console(staff, advertiser):
    item = LineItemFactory(campaign__advertiser=advertiser)
    client = staff("trader")
    response = client.post(reverse("admin:reporting_dailyperformance_upload"),
                           {"file": csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "2.00", 0, 0, 0, 0, 0]])}, follow=True)
    assert "Imported 1 row(s): 1 new" in response.content.decode()
    assert DailyPerformance.objects.count() == 1


def test_console_upload_errors_are_listed_by_row_and_nothing_is_written(staff, advertiser):
    item = LineItemFactory(campaign__advertiser=advertiser)
    response = staff("trader").post(reverse("admin:reporting_dailyperformance_upload"),
                                    {"file": csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "-2.00", 0, 0, 0, 0, 0]])})
    html = response.content.decode()
    assert "1 row refused" in html and "Cannot be negative." in html
    assert DailyPerformance.objects.count() == 0


def test_a_viewer_cannot_upload(staff):
    assert staff("viewer").get(reverse("admin:reporting_dailyperformance_upload")).status_code == 403


def test_the_daily_rows_page_lists_only_the_members_rows(staff, live, other_advertiser):
    deliver(LineItemFactory(campaign__advertiser=other_advertiser, name="Rival item"), days=1)
    html = staff("viewer").get(reverse("admin:reporting_dailyperformance_changelist")).content.decode()
    assert "Summer tents LI" in html and "Rival item" not in html


def test_a_proposal_is_shown_beside_the_current_split_and_a_manager_applies_it(staff, advertiser, live):
    client = staff("manager")
    response = client.post(reverse("admin:reporting_budgetrecommendation_propose", args=[advertiser.pk]))
    recommendation = BudgetRecommendation.objects.get()
    assert response.url == reverse("admin:reporting_budgetrecommendation_change", args=[recommendation.pk])
    html = client.get(response.url).content.decode()
    assert "Current and proposed split" in html and "Accept and apply these budgets" in html
    assert "50.0 %" in html and "60.0 %" in html and "40.0 %" in html  # now 50/50; proposed 60/40 (ROAS 4 vs 1, capped)
    client.post(reverse("admin:reporting_budgetrecommendation_accept", args=[recommendation.pk]))
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.ACCEPTED
    assert dict(Campaign.objects.values_list("name", "total_budget")) == {
        "Summer tents": Decimal("3400.00"), "Winter boots": Decimal("2600.00"),
    }
    assert set(ChangeRecord.objects.values_list("source", flat=True)) == {"recommendation"}


def test_a_trader_may_propose_but_not_accept(staff, advertiser, live):
    client = staff("trader")
    client.post(reverse("admin:reporting_budgetrecommendation_propose", args=[advertiser.pk]))
    recommendation = BudgetRecommendation.objects.get()
    assert "Accept and apply" not in client.get(reverse("admin:reporting_budgetrecommendation_change", args=[recommendation.pk])).content.decode()
    assert client.post(reverse("admin:reporting_budgetrecommendation_accept", args=[recommendation.pk])).status_code == 403
    assert not ChangeRecord.objects.exists()


def test_another_advertisers_recommendation_cannot_be_accepted(staff, other_advertiser, make_member):
    from reporting.recommendations import budget_recommendation_propose

    last = as_of(other_advertiser)
    for _ in range(2):
        campaign = CampaignFactory(advertiser=other_advertiser, start_date=last - timedelta(days=3), end_date=last + timedelta(days=3))
        deliver(LineItemFactory(campaign=campaign), days=3)
    theirs = budget_recommendation_propose(advertiser=other_advertiser)
    client = staff("manager")
    assert client.post(reverse("admin:reporting_budgetrecommendation_accept", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("admin:reporting_budgetrecommendation_propose", args=[other_advertiser.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == RecommendationStatus.PROPOSED
