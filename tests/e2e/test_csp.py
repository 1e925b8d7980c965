"""The Content-Security-Policy in a real browser: the console's pages, Swagger UI and the
reporting dashboards load with no CSP violation (nor any other error) in Chromium's console.

Uses the headless Chromium fixture of test_admin_campaign_flow (console log capture on).
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from backend.security.testing import pass_second_factor_in_browser
from reporting.recommendations import budget_recommendation_propose
from tests.campaigns.factories import CampaignFactory, LineItemFactory
from tests.e2e.test_admin_campaign_flow import PASSWORD, Console, browser, pytestmark  # noqa: F401
from tests.reporting.factories import as_of, deliver


@pytest.fixture
def seeded(advertiser, django_user_model):
    root = django_user_model.objects.create_superuser(username="csp-root", email="root@example.com",
                                                      password=PASSWORD)
    last = as_of(advertiser)
    campaigns = []
    for name, sales in (("Strong", "400.00"), ("Middle", "200.00"), ("Weak", "100.00")):
        campaign = CampaignFactory(advertiser=advertiser, name=name, start_date=last - timedelta(days=9),
                                   end_date=last + timedelta(days=20), total_budget=Decimal("3000.00"))
        deliver(LineItemFactory(campaign=campaign), days=10, spend=Decimal("100.00"), sales=Decimal(sales))
        campaigns.append(campaign)
    recommendation = budget_recommendation_propose(advertiser=advertiser, by=root)
    return root, campaigns, recommendation


def console_problems(driver) -> list[dict]:
    """Console entries at WARNING or above (CSP violations are SEVERE), favicon misses aside."""
    return [e for e in driver.get_log("browser")
            if e["level"] in ("SEVERE", "WARNING") and "favicon" not in e["message"]]


def test_console_pages_swagger_and_dashboards_load_without_csp_violations(
    transactional_db, live_server, browser, advertiser, seeded
):
    root, campaigns, recommendation = seeded
    console = Console(browser, live_server.url)
    console.open("/admin/login/?next=/admin/")
    console.type("id_username", "csp-root")
    console.type("id_password", PASSWORD)
    console.click_and_wait("input[type=submit]")
    pass_second_factor_in_browser(browser, "csp-root")
    assert console_problems(browser) == []

    pages = {
        "admin index": ("/admin/", "#content-main"),
        "campaign change form": (f"/admin/campaigns/campaign/{campaigns[0].pk}/change/", "#campaign_form"),
        "campaign add form": ("/admin/campaigns/campaign/add/", "#campaign_form"),
        "campaign tree": (f"/admin/campaigns/campaign/{campaigns[0].pk}/tree/", "#content"),
        "advertiser dashboard": (f"/admin/reporting/advertiserdashboard/{advertiser.pk}/change/", "svg"),
        "campaign dashboard": (f"/admin/reporting/advertiserdashboard/campaign/{campaigns[0].pk}/", "svg"),
        "budget recommendation": (f"/admin/reporting/budgetrecommendation/{recommendation.pk}/change/", "table"),
        "swagger ui": ("/api/docs/", ".swagger-ui .opblock-summary"),
    }
    problems = {}
    for name, (path, ready) in pages.items():
        console.open(path)
        console.element(ready)  # rendered (Swagger UI: the schema fetched and drawn by its script)
        found = console_problems(browser)
        if found:
            problems[name] = [e["message"] for e in found]
        console.screenshot(f"csp-{name.replace(' ', '-')}")
    assert problems == {}, problems
