"""Bulk sheets in a real browser: a trader logs in, uploads an edited export, reads the dry run
(creates, updates, unchanged), confirms it, sees the job applied and the change on the campaign;
a sheet with a bad row offers the error workbook. Screenshots go to artifacts/e2e/bulksheet-*.

Headless Chromium from Debian driven by selenium against pytest-django's live server, like
tests/e2e/test_admin_campaign_flow.py (whose browser fixture and console gestures this reuses).
Huey runs tasks at once in tests, so each job has run by the time its page is shown.
"""

import io
from decimal import Decimal

from openpyxl import load_workbook

from backend.security.testing import pass_second_factor_in_browser
from campaigns.bulksheets.columns import DOWNLOAD_HEADERS, SP_SHEET
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.bulksheets.writer import write_export
from campaigns.choices import Role
from campaigns.models import Campaign, Keyword
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory
from tests.e2e.test_admin_campaign_flow import PASSWORD, Console, browser, pytestmark  # noqa: F401
COLUMN = {header: index for index, header in enumerate(DOWNLOAD_HEADERS)}


def edited_export(advertiser, change) -> bytes:
    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    for row in workbook[SP_SHEET].iter_rows(min_row=2):
        change({header: row[index] for header, index in COLUMN.items()})
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(console, tmp_path, name: str, data: bytes) -> BulkSheetJob:
    path = tmp_path / name
    path.write_bytes(data)
    console.open("/admin/campaigns/bulksheetjob/add/")
    console.choose("id_advertiser", label="Acme Outdoor")
    console.choose("id_kind", value="import")
    console.choose("id_mode", value="auto")
    console.element("#id_upload").send_keys(str(path))
    console.click_and_wait("input[name=_save]")
    return BulkSheetJob.objects.latest("pk")


def test_a_trader_uploads_an_edited_sheet_reads_the_dry_run_confirms_and_sees_the_change(
    transactional_db, live_server, browser, settings, tmp_path, advertiser, make_member  # noqa: F811
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    trader = make_member(advertiser, Role.TRADER, username="tina-trader")
    trader.is_staff = True
    trader.save(update_fields=["is_staff"])
    campaign = CampaignFactory(advertiser=advertiser, name="Summer tents")
    group = LineItemFactory(campaign=campaign, name="Tents - exact")
    keyword = KeywordFactory(line_item=group, text="family tent", match_type="exact", bid=Decimal("0.80"))
    KeywordFactory(line_item=group, text="camping tent", match_type="phrase", bid=Decimal("0.60"))
    console = Console(browser, live_server.url)

    # 1. Log in through the real login form and the second factor.
    console.open("/admin/login/?next=/admin/campaigns/bulksheetjob/")
    console.type("id_username", "tina-trader")
    console.type("id_password", PASSWORD)
    console.click_and_wait("input[type=submit]")
    pass_second_factor_in_browser(browser, "tina-trader")
    assert browser.current_url.endswith("/admin/campaigns/bulksheetjob/"), browser.current_url

    # 2. Upload our export with two edits: the campaign's name and one keyword's bid.
    def rename_and_rebid(cells):
        if cells["Entity"].value == "Campaign":
            cells["Campaign Name"].value = "Summer tents 2027"
        if cells["Entity"].value == "Keyword" and cells["Keyword Text"].value == "family tent":
            cells["Bid"].value = 1.15

    job = upload(console, tmp_path, "tents-edited.xlsx", edited_export(advertiser, rename_and_rebid))
    assert browser.current_url.endswith(f"/admin/campaigns/bulksheetjob/{job.pk}/change/"), browser.current_url

    # 3. The dry run: 2 updates, 2 unchanged, nothing created; nothing written yet.
    page = browser.page_source
    assert "0 create, 2 update, 0 archive, 2 unchanged" in page, page[:3000]
    assert "Summer tents → Summer tents 2027" in page and "0.80 → 1.15" in page
    assert Campaign.objects.get(pk=campaign.pk).name == "Summer tents"
    console.screenshot("bulksheet-01-dry-run")

    # 4. Confirm: the job applies, the page says so.
    console.click_and_wait("button[name=apply_mode][value=all]")
    assert "Confirmed: the sheet is being applied." in console.messages(), console.messages()
    job.refresh_from_db()
    assert job.status == "succeeded" and job.counts["applied"] == 2
    assert "2 written" in browser.page_source and "Succeeded" in browser.page_source
    console.screenshot("bulksheet-02-applied")

    # 5. The campaign shows the change, and its history records the bulk sheet.
    console.open(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert "Summer tents 2027" in browser.page_source
    assert Keyword.objects.get(pk=keyword.pk).bid == Decimal("1.15")
    console.screenshot("bulksheet-03-campaign-changed")

    # 6. A sheet with a bad row: the dry run lists the error and offers Amazon's error workbook.
    def bad_bid(cells):
        if cells["Entity"].value == "Keyword" and cells["Keyword Text"].value == "camping tent":
            cells["Bid"].value = 5000

    bad = upload(console, tmp_path, "tents-bad.xlsx", edited_export(advertiser, bad_bid))
    page = browser.page_source
    assert "Bid is out of range (must be in [0.02, 1000.0])" in page
    assert "Apply all rows" not in page and "Apply only the valid rows" in page
    link = console.element(f"a[href='/admin/campaigns/bulksheetjob/{bad.pk}/file/errors/']")
    assert link.text == "The error workbook"
    fetched = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done([r.status, r.headers.get('content-type')]));",
        link.get_attribute("href"),
    )
    assert fetched == [200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    console.screenshot("bulksheet-04-error-workbook")
    assert Keyword.objects.get(text="camping tent").bid == Decimal("0.60")
