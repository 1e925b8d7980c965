"""Reporting in the console: dashboards, uploads and recommendations, scoped by membership."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, ChangeRecord
from reporting.choices import RecommendationStatus
from reporting.models import BudgetRecommendation, DailyPerformance, PerformanceImport
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


def _upload(client, file, capture):
    with capture(execute=True):  # the job runs (Huey is immediate in tests) once the upload commits
        return client.post(reverse("admin:reporting_dailyperformance_upload"), {"file": file})


def test_a_trader_uploads_performance_in_the_console_and_follows_the_job(staff, advertiser, django_capture_on_commit_callbacks):
    item = LineItemFactory(campaign__advertiser=advertiser)
    client = staff("trader")
    response = _upload(client, csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "2.00", 0, 0, 0, 0, 0]]),
                       django_capture_on_commit_callbacks)
    job = PerformanceImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reporting_performanceimport_change", args=[job.pk])
    html = client.get(response["Location"]).content.decode()
    assert "Imported 1 row(s): 1 new, 0 updated, 0 unchanged." in html
    assert '<progress value="100" max="100"' in html and "refresh" not in html
    assert DailyPerformance.objects.count() == 1
    assert "performance.csv" in client.get(reverse("admin:reporting_performanceimport_changelist")).content.decode()


def test_a_queued_upload_shows_its_progress_and_refreshes_itself(staff, advertiser):
    item = LineItemFactory(campaign__advertiser=advertiser)
    client = staff("trader")
    client.post(reverse("admin:reporting_dailyperformance_upload"),
                {"file": csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "2.00", 0, 0, 0, 0, 0]])})  # never committed: stays queued
    job = PerformanceImport.objects.get()
    html = client.get(reverse("admin:reporting_performanceimport_change", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html and '<progress value="0" max="100"' in html


def test_console_upload_errors_are_listed_by_row_and_nothing_is_written(staff, advertiser, django_capture_on_commit_callbacks):
    item = LineItemFactory(campaign__advertiser=advertiser)
    client = staff("trader")
    response = _upload(client, csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "-2.00", 0, 0, 0, 0, 0]]),
                       django_capture_on_commit_callbacks)
    html = client.get(response["Location"]).content.decode()
    assert "1 row(s) refused; nothing imported." in html
    assert re.search(r"<td>2</td><td>spend</td><td>Cannot be negative.</td>", html)
    assert DailyPerformance.objects.count() == 0


def test_a_file_refused_at_upload_is_a_message_and_nothing_is_queued(staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = staff("trader").post(reverse("admin:reporting_dailyperformance_upload"),
                                    {"file": SimpleUploadedFile("report.pdf", b"%PDF-1.7")}, follow=True)
    assert "Nothing imported: Upload a .csv or .xlsx file." in response.content.decode()
    assert not PerformanceImport.objects.exists()


def test_a_viewer_cannot_upload(staff):
    client = staff("viewer")
    assert client.get(reverse("admin:reporting_dailyperformance_upload")).status_code == 403
    assert client.get(reverse("admin:reporting_performanceimport_changelist")).status_code == 403


def test_another_users_upload_is_not_found(staff, advertiser, make_member, django_capture_on_commit_callbacks):
    item = LineItemFactory(campaign__advertiser=advertiser)
    client = staff("trader")
    _upload(client, csv_file([[as_of(advertiser), item.pk, 100, 1, 0, "2.00", 0, 0, 0, 0, 0]]),
            django_capture_on_commit_callbacks)
    job = PerformanceImport.objects.get()
    colleague = make_member(advertiser, "trader", username="colleague")
    colleague.is_staff = True
    colleague.save(update_fields=["is_staff"])
    client.force_login(colleague)
    response = client.get(reverse("admin:reporting_performanceimport_change", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")  # Django's "doesn't exist"
    assert "performance.csv" not in client.get(reverse("admin:reporting_performanceimport_changelist")).content.decode()


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
