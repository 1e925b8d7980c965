"""Our export: Amazon's layout and values, streamed, inert cells; and export → edit → import."""

import io
from datetime import date, timedelta
from decimal import Decimal

from openpyxl import load_workbook

from campaigns.bulksheets.columns import DOWNLOAD_HEADERS, SP_SHEET
from campaigns.bulksheets.models import CampaignNegativeKeyword, PlacementAdjustment
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductAd, ProductTarget
from tests.campaigns.factories import (
    CampaignFactory,
    KeywordFactory,
    LineItemFactory,
    ProductAdFactory,
    ProductTargetFactory,
)

from .conftest import DOWNLOAD, apply_sheet, edit, export_bytes, plan_of


def _tree(advertiser) -> set:
    """Everything an import can change, as comparable tuples."""
    by_campaign = {"campaign__advertiser": advertiser}
    by_line_item = {"line_item__campaign__advertiser": advertiser}
    return {
        *(("campaign",) + t for t in Campaign.objects.filter(advertiser=advertiser).values_list(
            "name", "status", "start_date", "end_date", "daily_budget", "bidding_strategy", "targeting_type")),
        *(("line_item",) + t for t in LineItem.objects.filter(**by_campaign).values_list("campaign__name", "name", "status", "default_bid")),
        *(("keyword",) + t for t in Keyword.objects.filter(**by_line_item).values_list("line_item__name", "text", "match_type", "bid", "state")),
        *(("ad",) + t for t in ProductAd.objects.filter(**by_line_item).values_list("line_item__name", "sku", "asin", "state")),
        *(("target",) + t for t in ProductTarget.objects.filter(**by_line_item).values_list("line_item__name", "expression", "negative", "bid", "state")),
        *(("placement",) + t for t in PlacementAdjustment.objects.filter(**by_campaign).values_list("campaign__name", "placement", "percentage")),
        *(("negative",) + t for t in CampaignNegativeKeyword.objects.filter(**by_campaign).values_list("campaign__name", "text", "match_type", "state")),
    }


def test_the_export_has_amazons_columns_in_amazons_order_and_amazons_values(advertiser):
    apply_sheet(advertiser, DOWNLOAD.read_bytes())
    workbook = load_workbook(io.BytesIO(export_bytes(advertiser)))

    assert workbook.sheetnames == ["Portfolios", SP_SHEET, "Config"]
    assert workbook["Config"].sheet_state == "hidden"
    sheet = workbook[SP_SHEET]
    rows = [dict(zip(DOWNLOAD_HEADERS, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [c.value for c in sheet[1]] == DOWNLOAD_HEADERS  # the 48 columns of a download
    assert [r["Entity"] for r in rows] == [
        "Campaign", "Bidding Adjustment", "Ad Group", "Product Ad", "Keyword", "Keyword", "Negative Keyword",
        "Ad Group", "Product Targeting", "Campaign", "Ad Group", "Product Ad", "Product Targeting",
    ]
    campaign = rows[0]
    assert (campaign["Product"], campaign["Operation"], campaign["State"], campaign["Targeting Type"]) == (
        "Sponsored Products", None, "enabled", "Manual")
    assert (campaign["Start Date"], campaign["End Date"], campaign["Daily Budget"]) == ("20261001", "20270331", 75)
    assert campaign["Bidding Strategy"] == "Dynamic bids - down only"
    assert rows[1]["Placement"] == "Placement Top" and rows[1]["Percentage"] == 35
    assert rows[6]["Match Type"] == "negativePhrase" and rows[6]["Bid"] is None
    assert rows[9]["Targeting Type"] == "Auto" and rows[9]["End Date"] is None
    assert campaign["Campaign ID"] == str(Campaign.objects.get(name="Trail Shoes - Manual").pk)  # our ids


def test_cells_that_would_start_a_formula_are_neutralised_and_survive_a_round_trip(advertiser):
    campaign = CampaignFactory(advertiser=advertiser, name="=HYPERLINK(\"http://x\")")
    line_item = LineItemFactory(campaign=campaign, name="+1 group")
    KeywordFactory(line_item=line_item, text="-cheap boots", match_type="exact")
    KeywordFactory(line_item=line_item, text="@home shoes", match_type="exact")
    data = export_bytes(advertiser)

    values = [c for r in load_workbook(io.BytesIO(data))[SP_SHEET].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "'=HYPERLINK(\"http://x\")" in values and "'+1 group" in values
    assert "'-cheap boots" in values and "'@home shoes" in values
    assert not [v for v in values if v[0] in "=+-@"]
    counts = plan_of(advertiser, data).counts()
    assert (counts["unchanged"], counts["errors"]) == (4, 0)  # the apostrophes came off again


def test_export_edit_import_gives_the_same_tree_plus_the_edits(advertiser):
    apply_sheet(advertiser, DOWNLOAD.read_bytes())
    before = _tree(advertiser)
    start = (advertiser.today() + timedelta(days=7)).strftime("%Y%m%d")
    header = {name: i + 1 for i, name in enumerate(DOWNLOAD_HEADERS)}

    def change(sheet):
        by_text = {sheet.cell(r, header["Keyword Text"]).value: r for r in range(2, sheet.max_row + 1)}
        waterproof, kids = by_text["waterproof trail shoes"], by_text["kids"]
        sheet.cell(waterproof, header["Operation"]).value = "Update"
        sheet.cell(waterproof, header["Bid"]).value = 1.25
        sheet.cell(kids, header["Operation"]).value = "Archive"
        group_row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, header["Ad Group Name"]).value == "Exact - core")
        group_id = sheet.cell(group_row, header["Ad Group ID"]).value
        campaign_id = sheet.cell(group_row, header["Campaign ID"]).value
        new = sheet.max_row + 1
        for name, value in {"Product": "Sponsored Products", "Entity": "Keyword", "Operation": "Create",
                            "Campaign ID": campaign_id, "Ad Group ID": group_id, "State": "enabled",
                            "Keyword Text": "trail shoes women", "Match Type": "phrase", "Bid": 0.8}.items():
            sheet.cell(new, header[name]).value = value
        for offset, (name, value) in enumerate({"Entity": "Campaign", "Campaign ID": "Spring", "Campaign Name": "Spring sale",
                                                 "Start Date": start, "Targeting Type": "Manual", "State": "paused",
                                                 "Daily Budget": 40, "Bidding Strategy": "Fixed bid"}.items()):
            sheet.cell(new + 1, header[name]).value = value
        sheet.cell(new + 1, header["Product"]).value = "Sponsored Products"
        sheet.cell(new + 1, header["Operation"]).value = "Create"

    plan = apply_sheet(advertiser, edit(export_bytes(advertiser), change))

    assert plan.mode == "upload"
    counts = plan.counts()
    assert (counts["create"], counts["update"], counts["archive"], counts["errors"]) == (2, 1, 1, 0)
    after = _tree(advertiser)
    assert after - before == {
        ("keyword", "Exact - core", "waterproof trail shoes", "exact", Decimal("1.25"), "enabled"),
        ("keyword", "Exact - core", "kids", "negativePhrase", None, "archived"),
        ("keyword", "Exact - core", "trail shoes women", "phrase", Decimal("0.80"), "enabled"),
        ("campaign", "Spring sale", "paused", date.fromisoformat(f"{start[:4]}-{start[4:6]}-{start[6:]}"), None,
         Decimal("40.00"), "manual", "manual"),
    }
    assert before - after == {
        ("keyword", "Exact - core", "waterproof trail shoes", "exact", Decimal("0.92"), "enabled"),
        ("keyword", "Exact - core", "kids", "negativePhrase", None, "enabled"),
    }
    bid_history = ChangeRecord.objects.filter(object_type="keyword", field="bid", old_value="0.92")
    assert list(bid_history.values_list("new_value", "source")) == [("1.25", "bulk")]
    assert plan_of(advertiser, export_bytes(advertiser)).counts()["unchanged"] == 15


def test_an_edited_export_without_operations_is_mirrored(advertiser):
    campaign = CampaignFactory(advertiser=advertiser, daily_budget=Decimal("100.00"))
    product = ProductTargetFactory(line_item=LineItemFactory(campaign=campaign), bid=Decimal("0.60"))
    ProductAdFactory(line_item=product.line_item)
    header = {name: i + 1 for i, name in enumerate(DOWNLOAD_HEADERS)}

    def change(sheet):
        target = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, header["Entity"]).value == "Product Targeting")
        sheet.cell(target, header["Bid"]).value = 0.65
        sheet.cell(target, header["State"]).value = "paused"

    plan = apply_sheet(advertiser, edit(export_bytes(advertiser), change))

    assert plan.mode == "mirror" and plan.counts()["update"] == 1
    product.refresh_from_db()
    assert (product.bid, product.state) == (Decimal("0.65"), "paused")


def test_a_draft_campaign_exports_as_paused_and_stays_a_draft(advertiser):
    campaign = CampaignFactory(advertiser=advertiser, status="draft")

    data = export_bytes(advertiser)

    rows = list(load_workbook(io.BytesIO(data))[SP_SHEET].iter_rows(min_row=2, values_only=True))
    assert rows[0][DOWNLOAD_HEADERS.index("State")] == "paused"
    assert plan_of(advertiser, data).counts()["unchanged"] == 1
    campaign.refresh_from_db()
    assert campaign.status == "draft"
