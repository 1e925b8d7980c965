"""The dashboards in a real browser: headless Chromium opens a seeded campaign's and its
advertiser's dashboards and reads the seeded figures back from the rendered SVG charts.
Screenshots go to artifacts/e2e/ (look at them: the charts must read well).

Debian's chromium and chromium-driver, driven by selenium against pytest-django's live server;
skips, saying why, when either is missing.
"""

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from backend.security.testing import pass_second_factor_in_browser
from campaigns.choices import Pacing, Phase, Role
from reporting.models import DailyPerformance
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, LineItemFactory
from tests.reporting.factories import as_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "e2e"
PASSWORD = "correct horse battery staple"  # tests.campaigns.factories.UserFactory's

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); CI installs them",
)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (requirements-dev.txt)")
    from selenium.webdriver.chrome.service import Service

    # Never let Selenium Manager fetch a driver or a browser: both are Debian's, given by path.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1600,2300", "--lang=en-US",
        "--force-device-scale-factor=1", "--hide-scrollbars",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def seeded(advertiser, other_advertiser):
    """A 30-day campaign 14 days in: three line items with ROAS 5, 2.5 and 0.8, 12 days of delivery."""
    last = as_of(advertiser)
    campaign = CampaignFactory(
        advertiser=advertiser, name="Summer tents 2024", phase=Phase.CONVERSION, start_date=last - timedelta(days=13),
        end_date=last + timedelta(days=16), daily_budget=Decimal("150.00"), total_budget=Decimal("4500.00"),
    )
    items = [
        LineItemFactory(campaign=campaign, name="Tents: exact match", budget=Decimal("2000.00")),
        LineItemFactory(campaign=campaign, name="Tents: broad", budget=Decimal("1500.00")),
        LineItemFactory(campaign=campaign, name="Sleeping bags", budget=Decimal("1000.00"), pacing=Pacing.ASAP),
    ]
    rows = []
    for offset in range(12):  # the first two flight days had no delivery
        day = last - timedelta(days=offset)
        wave = 1 + (offset % 4) / 4  # a visible weekly-ish rhythm
        for item, spend, roas, viewable in zip(items, ("60.00", "40.00", "25.00"), ("5", "2.5", "0.8"), (72, 58, 41)):
            impressions = int(20_000 * wave)
            rows.append(DailyPerformance(
                line_item=item, date=day, impressions=impressions, clicks=int(impressions * 0.012),
                conversions=int(impressions * 0.0009), spend=Decimal(spend), sales=Decimal(spend) * Decimal(roas),
                measurable_impressions=impressions * 9 // 10, viewable_impressions=impressions * 9 // 10 * viewable // 100,
            ))
    DailyPerformance.objects.bulk_create(rows)
    # Another advertiser's campaign, with much bigger figures: must appear nowhere.
    rival = CampaignFactory(advertiser=other_advertiser, name="Rival launch")
    DailyPerformance.objects.create(line_item=LineItemFactory(campaign=rival, name="Rival item"), date=last,
                                    impressions=9_999_999, clicks=1, spend=Decimal("99999.00"))
    return campaign, items, last


class Page:
    def __init__(self, driver, base_url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base_url, self.By = driver, base_url, By
        self.wait = WebDriverWait(driver, 15)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def open(self, path):
        self.driver.get(self.base_url + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def all(self, css):
        return self.driver.find_elements(self.By.CSS_SELECTOR, css)

    def one(self, css):
        return self.wait.until(lambda d: d.find_element(self.By.CSS_SELECTOR, css))

    def drawn(self, css) -> bool:
        """The element is laid out with a real size (the SVG rendered, not just its markup)."""
        box = self.driver.execute_script("const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.width, r.height];", css)
        return box[0] > 100 and box[1] > 100

    def screenshot(self, name):
        height = self.driver.execute_script("return document.body.scrollHeight")
        self.driver.set_window_size(1600, max(height + 40, 900))
        path = ARTIFACTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot at {path}"
        return path


def log_in(page, username):
    page.open("/admin/login/?next=/admin/")
    page.one("#id_username").send_keys(username)
    page.one("#id_password").send_keys(PASSWORD)
    page.one("input[type=submit]").click()
    pass_second_factor_in_browser(page.driver, username)  # staff: the TOTP step (enrolment)
    page.wait.until(lambda d: d.current_url.endswith("/admin/"))


def test_the_campaign_dashboard_renders_the_seeded_figures(transactional_db, live_server, browser, seeded, make_member, advertiser):
    campaign, items, last = seeded
    viewer = make_member(advertiser, Role.VIEWER, username="vera-viewer")
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    page = Page(browser, live_server.url)
    log_in(page, "vera-viewer")

    page.open(f"/admin/reporting/advertiserdashboard/campaign/{campaign.pk}/")
    chart = 'svg[data-chart="campaign-spend-pacing"]'
    assert page.drawn(chart)
    # Cumulative spend: 125 a day for 12 days, so 1,500.00 on the last complete day.
    spend_points = page.all(f'{chart} circle[data-series="spend"]')
    assert len(spend_points) == 14  # every flight day so far, the two silent ones at 0
    assert spend_points[-1].get_attribute("data-date") == last.isoformat()
    assert spend_points[-1].get_attribute("data-value") == "1500.00"
    assert "1,500.00 USD" in spend_points[-1].find_element(page.By.TAG_NAME, "title").get_attribute("textContent")
    # The even pacing line reaches the 4,500.00 budget on the last flight day.
    pacing_points = page.all(f'{chart} circle[data-series="pacing"]')
    assert pacing_points[13].get_attribute("data-value") == "2100.00" and pacing_points[-1].get_attribute("data-value") == "4500.00"
    assert page.one("[data-pacing-status]").get_attribute("data-pacing-status") == "under"  # 1,500 < 90 % of 2,100

    ranking = 'svg[data-chart="campaign-top-roas"] rect.bar'
    assert [(b.get_attribute("data-label"), b.get_attribute("data-value")) for b in page.all(ranking)] == [
        ("Tents: exact match", "5.0000"), ("Tents: broad", "2.5000"), ("Sleeping bags", "0.8000"),
    ]
    bars = page.all('svg[data-chart="campaign-impressions"] rect.bar')
    assert bars[-1].get_attribute("data-date") == last.isoformat()
    assert bars[-1].get_attribute("data-value") == "60000"  # 3 line items × 20,000 on the last day
    viewability = page.all('svg[data-chart="campaign-viewability"] circle.point')
    assert {v.get_attribute("data-value") for v in viewability} <= {"57.0"}  # (72 + 58 + 41) / 3 %
    assert page.one('[data-kpi="spend"]').text == "1,500.00 USD"
    assert page.one('[data-kpi="impressions"]').get_attribute("data-value") == "990000"
    assert "Rival" not in browser.page_source
    page.screenshot("reporting-campaign-dashboard")

    page.open(f"/admin/reporting/advertiserdashboard/{advertiser.pk}/change/")
    assert page.drawn('svg[data-chart="advertiser-spend-pacing"]')
    status = page.one(f'table[data-table="pacing"] tr[data-id="{campaign.pk}"]')
    assert status.get_attribute("data-status") == "under" and status.get_attribute("data-spent") == "1500.00"
    assert "Rival" not in browser.page_source
    page.screenshot("reporting-advertiser-dashboard")


def test_another_advertisers_dashboard_is_not_found_in_the_browser(transactional_db, live_server, browser, make_member):
    mine, theirs = AdvertiserFactory(name="Mine"), AdvertiserFactory(name="Theirs")
    user = make_member(mine, Role.MANAGER, username="mo-manager")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    rival = CampaignFactory(advertiser=theirs)
    page = Page(browser, live_server.url)
    log_in(page, "mo-manager")
    page.open(f"/admin/reporting/advertiserdashboard/campaign/{rival.pk}/")
    assert "Not Found" in browser.page_source or "404" in browser.title
