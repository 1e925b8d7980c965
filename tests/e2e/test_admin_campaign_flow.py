"""The ops console in a real browser: a trader logs in, creates a campaign with a line item,
pauses it, and is refused another advertiser's campaign. Screenshots go to artifacts/e2e/.

Headless Chromium from Debian (`chromium`, `chromium-driver`; .ci/run installs them) driven by
selenium against pytest-django's live server. Skips when the browser is not installed.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from backend.security.testing import pass_second_factor_in_browser
from campaigns.choices import CampaignStatus, Role
from campaigns.models import Campaign
from tests.campaigns.factories import CampaignFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "e2e"
PASSWORD = "correct horse battery staple"  # tests.campaigns.factories.UserFactory's

pytestmark = [
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); "
        "CI installs them",
    ),
]


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
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1600,1400", "--lang=en-US",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, for CSP checks
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


class Console:
    """The few gestures the flow needs, each waiting for the page it leads to."""

    def __init__(self, driver, base_url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import Select, WebDriverWait

        self.driver, self.base_url, self.By, self.Select = driver, base_url, By, Select
        self.wait = WebDriverWait(driver, 15)
        self.conditions = expected_conditions
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def open(self, path):
        self.driver.get(self.base_url + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def element(self, css):
        return self.wait.until(self.conditions.presence_of_element_located((self.By.CSS_SELECTOR, css)))

    def type(self, field_id, text):
        box = self.element(f"#{field_id}")
        box.clear()
        box.send_keys(text)

    def choose(self, field_id, *, label=None, value=None):
        select = self.Select(self.element(f"#{field_id}"))
        select.select_by_visible_text(label) if label is not None else select.select_by_value(value)

    def click_and_wait(self, css):
        old = self.element("html")
        self.element(css).click()
        self.wait.until(self.conditions.staleness_of(old))
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def messages(self) -> list[str]:
        return [m.text for m in self.driver.find_elements(self.By.CSS_SELECTOR, "ul.messagelist li")]

    def screenshot(self, name):
        path = ARTIFACTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot at {path}"
        return path


def test_a_trader_creates_and_pauses_a_campaign_and_is_refused_another_advertisers(
    transactional_db, live_server, browser, advertiser, other_advertiser, make_member
):
    trader = make_member(advertiser, Role.TRADER, username="tina-trader")
    trader.is_staff = True
    trader.save(update_fields=["is_staff"])
    rival = CampaignFactory(advertiser=other_advertiser, name="Rival secret launch")
    console = Console(browser, live_server.url)

    # 1. Log in through the real admin login form.
    console.open("/admin/login/?next=/admin/")
    console.type("id_username", "tina-trader")
    console.type("id_password", PASSWORD)
    console.screenshot("01-login")
    console.click_and_wait("input[type=submit]")
    # 1b. Staff need a second factor: enrol a TOTP device (the QR code's key) and verify.
    assert "/security/otp/" in browser.current_url, browser.current_url
    assert console.element("#otp-qr svg")
    console.screenshot("01b-two-factor-enrolment")
    pass_second_factor_in_browser(browser, "tina-trader")
    assert browser.current_url.endswith("/admin/"), browser.current_url
    assert "Campaigns" in browser.page_source
    console.screenshot("02-console-home")

    # 2. A campaign with one line item, through the add form and its inline.
    console.open("/admin/campaigns/campaign/add/")
    start = date.today()
    console.choose("id_advertiser", label="Acme Outdoor")
    console.type("id_name", "Summer trail running")
    console.choose("id_phase", value="consideration")
    console.choose("id_status", value="enabled")
    console.type("id_start_date", start.isoformat())
    console.type("id_end_date", (start + timedelta(days=45)).isoformat())
    console.type("id_daily_budget", "80.00")
    console.type("id_total_budget", "3600.00")
    console.type("id_target_roas", "400")
    console.type("id_line_items-0-name", "Trail shoes - video")
    console.choose("id_line_items-0-format", value="video")
    console.type("id_line_items-0-default_bid", "1.40")
    console.type("id_line_items-0-budget", "1200.00")
    console.screenshot("03-campaign-add-form")
    console.click_and_wait("input[name=_save]")
    assert any("was added successfully" in m for m in console.messages()), console.messages()
    campaign = Campaign.objects.get(name="Summer trail running")
    assert [li.name for li in campaign.line_items.all()] == ["Trail shoes - video"]
    assert "Rival secret launch" not in browser.page_source
    console.screenshot("04-campaign-created")

    # 3. Pause it with the changelist action.
    console.element(f"input[name=_selected_action][value='{campaign.pk}']").click()
    console.Select(console.element("select[name=action]")).select_by_value("pause_selected")
    console.click_and_wait("button[name=index]")
    assert "Paused 1 campaign(s)." in console.messages(), console.messages()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    console.screenshot("05-campaign-paused")

    # 4. The campaign page (budgets read-only to a trader, the history of the initial budgets),
    #    and from it the tree view.
    console.open(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert "Budget and bid history" in browser.page_source
    assert not browser.find_elements(console.By.CSS_SELECTOR, "input[name=daily_budget]")
    console.screenshot("06-campaign-page")
    console.click_and_wait(f"a[href='/admin/campaigns/campaign/{campaign.pk}/tree/']")
    assert "Trail shoes - video" in browser.page_source
    console.screenshot("07-campaign-tree")

    # 5. Another advertiser's campaign: refused, and nothing of it shown.
    console.open(f"/admin/campaigns/campaign/{rival.pk}/change/")
    assert browser.current_url.endswith("/admin/"), browser.current_url
    assert any("doesn’t exist" in m for m in console.messages()), console.messages()
    assert "Rival secret launch" not in browser.page_source
    console.screenshot("08-other-advertiser-refused")
