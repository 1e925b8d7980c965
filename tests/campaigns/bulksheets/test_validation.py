"""Every row is checked against Amazon's rules and limits, and our model rules; refusals carry
Amazon's message templates (reference §4.6)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.bulksheets.columns import DOWNLOAD_HEADERS
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory, ProductAdFactory

from .conftest import CREATE_HEADERS, edit, export_bytes, messages_of, plan_of, row, sheet_bytes

FUTURE = "20991231"


def campaign(**cells):
    base = dict(Entity="Campaign", Operation="Create", Campaign_Id="New", Campaign_Name="New campaign",
                Start_Date=FUTURE, Targeting_Type="Manual", State="enabled", Daily_Budget=50)
    return row(**{**base, **cells})


def ad_group(**cells):
    base = dict(Entity="Ad Group", Operation="Create", Campaign_Id="New", Ad_Group_Id="G", Ad_Group_Name="Group",
                State="enabled", Ad_Group_Default_Bid=0.5)
    return row(**{**base, **cells})


def keyword(**cells):
    base = dict(Entity="Keyword", Operation="Create", Campaign_Id="New", Ad_Group_Id="G", State="enabled",
                Keyword_Text="boots", Match_Type="exact", Bid=0.75)
    return row(**{**base, **cells})


def _errors(advertiser, *rows) -> dict[int, list[str]]:
    return messages_of(plan_of(advertiser, sheet_bytes(list(rows))))


@pytest.mark.parametrize("bad_row, message", [
    (campaign(State="live"), 'Invalid value: "live" for column: "State"'),
    (campaign(Start_Date="2099-12-31"), "Invalid value: 2099-12-31 specified for field: Start Date, the correct date format is yyyyMMdd"),
    (campaign(Start_Date="20200101"), "Start date cannot be in the past"),
    (campaign(Product="Sponsored Brands"), 'Invalid product: "Sponsored Brands"'),
    (campaign(Bidding_Strategy="Dynamic bids - sideways"), 'Invalid value: "Dynamic bids - sideways" for column: "Bidding Strategy"'),
    (campaign(Campaign_Name="x" * 129), "Campaign name is too long"),
    (campaign(Campaign_Name="tab\there"), "Campaign name has invalid characters"),
    (campaign(Daily_Budget="$50"), 'Invalid value: "$50" for column: "Daily Budget"'),
    (campaign(Daily_Budget=0.5), "Daily budget is out of range (must be in [1.0, 1000000.0])"),
    (campaign(Campaign_Id="12345"), 'This Create operation requires you to specify a temporary "Campaign ID" (any non-numeric text)'),
    (campaign(Operation="Update"), 'This Update operation requires you to specify an actual "Campaign ID", rather than a temporary ID'),
    (campaign(State=None), 'Missing value for column: "State"'),
    (campaign(Operation="Delete"), 'Invalid operation: "Delete"'),
    (campaign(Entity="Ad"), 'Invalid entity: "Ad"'),
    (campaign(Campaign_Id=None), 'Missing value for column: "Campaign ID"'),
])
def test_a_bad_campaign_row_gets_amazons_message(advertiser, bad_row, message):
    assert _errors(advertiser, bad_row) == {2: [message]}


@pytest.mark.parametrize("bad_row, message", [
    (keyword(Bid=1001), "Bid is out of range (must be in [0.02, 1000.0])"),
    (keyword(Bid=0.01), "Bid is lower than the minimum allowed by the marketplace"),
    (keyword(Bid="1,25"), 'Invalid value: "1,25" for column: "Bid"'),
    (keyword(Bid=0.755), 'Invalid value: "0.755" for column: "Bid"'),
    (keyword(Match_Type="exactish"), 'Invalid value: "exactish" for column: "Match Type"'),
    (keyword(Match_Type="negativeExact"), 'Invalid value: "negativeExact" for column: "Match Type"'),
    (keyword(Match_Type=None), 'Missing value for column: "Match Type"'),
    (keyword(Campaign_Id=None, Ad_Group_Id=None), "Missing value for columns: Campaign ID, Ad Group ID"),
    (keyword(Keyword_Text="one two three four five six seven eight nine ten eleven"), "Keyword text has too many words (at most 10)"),
    (keyword(Entity="Negative Keyword", Match_Type="negativeExact"), 'Invalid value: "0.75" for column: "Bid"'),
    (row(Entity="Product Ad", Operation="Create", Campaign_Id="New", Ad_Group_Id="G", State="enabled"),
     "Product ad did not specify sku for create operation."),
    (row(Entity="Bidding Adjustment", Operation="Create", Campaign_Id="New", Placement="Placement Top", Percentage=901),
     'Invalid value: "901" for column: "Percentage"'),
    (row(Entity="Bidding Adjustment", Operation="Create", Campaign_Id="New", Placement="Placement Bottom", Percentage=10),
     'Invalid value: "Placement Bottom" for column: "Placement"'),
    (row(Entity="Product Targeting", Operation="Create", Campaign_Id="New", Ad_Group_Id="G", State="enabled", Bid=0.5,
         Product_Targeting_Expression="asin=B0NOQUOTES"), 'Invalid value: "asin=B0NOQUOTES" for column: "Product Targeting Expression"'),
])
def test_a_bad_row_under_a_valid_ad_group_gets_amazons_message(advertiser, bad_row, message):
    assert _errors(advertiser, campaign(), ad_group(), bad_row) == {4: [message]}


def test_values_are_read_the_way_amazons_files_vary(advertiser):
    headers = [h.upper() if i % 2 else h.lower() for i, h in enumerate(CREATE_HEADERS)]
    headers[[h.casefold() for h in headers].index("ad id")] = "Ad ID (Read only)"
    rows = [{h: v for h, v in zip(headers, [r.get(c) for c in CREATE_HEADERS])} for r in (
        campaign(Bidding_Strategy="DYNAMIC BIDS – UP AND DOWN", Targeting_Type="MANUAL", State="Enabled"),
        row(Entity="bidding adjustment", Operation="create", Campaign_Id="New", Placement="PLACEMENT REST OF SEARCH", Percentage="15"),
        ad_group(Entity="Ad group"),
        keyword(Match_Type="negative exact", Entity="Negative keyword", Bid=None),
    )]
    plan = plan_of(advertiser, sheet_bytes(rows, headers))

    assert plan.errors == {}
    created = {c.entity: c.fields for c in plan.changes}
    assert created["campaign"]["bidding_strategy"] == "autoForSales"
    assert created["bidding_adjustment"] == {"placement": "rest_of_search", "percentage": 15}
    assert created["negative_keyword"]["match_type"] == "negativeExact"


def test_rows_with_a_blank_operation_are_ignored_in_an_upload(advertiser):
    plan = plan_of(advertiser, sheet_bytes([campaign(), campaign(Operation=None, Campaign_Id="Other", State="nonsense")]))

    assert (plan.mode, plan.counts()["create"], plan.counts()["ignored"], plan.errors) == ("upload", 1, 1, {})


def test_missing_parents_are_refused_and_children_of_failed_rows_are_not_processed(advertiser):
    errors = _errors(
        advertiser,
        keyword(Campaign_Id="Nowhere"),
        keyword(Campaign_Id="999999", Ad_Group_Id="888888", Keyword_Text="other"),
        campaign(State="live"),
        ad_group(),
        keyword(Keyword_Text="third"),
        ad_group(Ad_Group_Id="G2", Campaign_Id="New2", Ad_Group_Name="Orphan"),
    )

    assert errors == {
        2: ['Invalid value for column: "Campaign ID", which can\'t be found in any parent entity row'],
        3: ["Parent entity not found"],
        4: ['Invalid value: "live" for column: "State"'],
        5: ["This row was not processed due to errors from other rows"],
        6: ["This row was not processed due to errors from other rows"],
        7: ['Invalid value for column: "Campaign ID", which can\'t be found in any parent entity row'],
    }


def test_duplicates_in_the_sheet_are_refused(advertiser):
    errors = _errors(advertiser, campaign(), ad_group(), keyword(), keyword(Bid=0.9), campaign(Campaign_Name="Again"))

    assert errors == {
        5: ['Duplicate "Keyword Text", which is the same as row 4'],
        6: ['Duplicate Id for column: "Campaign ID", which is the same as row 2'],
    }


def test_names_taken_in_the_account_are_refused(advertiser):
    CampaignFactory(advertiser=advertiser, name="New campaign")

    assert _errors(advertiser, campaign()) == {2: ["Campaign with name=New campaign already exists!"]}


def test_a_rename_to_a_taken_name_is_refused(advertiser):
    CampaignFactory(advertiser=advertiser, name="Taken")
    CampaignFactory(advertiser=advertiser, name="Mine")

    def change(sheet, column):
        row_of_mine = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, column["Campaign Name"]).value == "Mine")
        sheet.cell(row_of_mine, column["Campaign Name"]).value = "Taken"

    assert list(_ours(advertiser, change).values()) == [["Campaign with name=Taken already exists!"]]


def test_auto_campaigns_take_only_negative_keywords_and_targets(advertiser):
    errors = _errors(advertiser, campaign(Targeting_Type="Auto"), ad_group(), keyword(),
                     keyword(Entity="Negative Keyword", Match_Type="negativePhrase", Bid=None, Keyword_Text="free"))

    assert errors == {4: ["Only negative keywords and negative product targets are allowed in auto-targeting campaigns"]}


def _ours(advertiser, change) -> dict[int, list[str]]:
    """Errors of our own export of `advertiser`, edited by `change(sheet, column)`."""
    column = {name: i + 1 for i, name in enumerate(DOWNLOAD_HEADERS)}
    return messages_of(plan_of(advertiser, edit(export_bytes(advertiser), lambda sheet: change(sheet, column))))


def test_another_advertisers_ids_are_not_found(advertiser, other_advertiser):
    KeywordFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)))
    theirs = KeywordFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=other_advertiser)))

    def change(sheet, column):
        sheet.cell(4, column["Operation"]).value = "Update"
        sheet.cell(4, column["Keyword ID"]).value = str(theirs.pk)
        sheet.cell(4, column["Bid"]).value = 2
        sheet.cell(5, column["Entity"]).value = "Keyword"
        for name, value in {"Operation": "Create", "Campaign ID": str(theirs.line_item.campaign_id),
                            "Ad Group ID": str(theirs.line_item_id), "State": "enabled", "Keyword Text": "steal",
                            "Match Type": "exact", "Product": "Sponsored Products"}.items():
            sheet.cell(5, column[name]).value = value

    assert _ours(advertiser, change) == {4: [f"Could not find keyword with id: {theirs.pk}"], 5: ["Parent entity not found"]}
    theirs.refresh_from_db()
    assert theirs.bid == Decimal("0.50")


def test_an_archived_entity_cannot_be_modified(advertiser):
    line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
    KeywordFactory(line_item=line_item, state="archived")

    def change(sheet, column):
        sheet.cell(4, column["Operation"]).value = "Update"
        sheet.cell(4, column["Bid"]).value = 0.9

    assert _ours(advertiser, change) == {4: ["Archived entity cannot be modified"]}


def test_fields_fixed_at_creation_cannot_change(advertiser):
    ProductAdFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)), sku="SKU-1")

    def sku(sheet, column):
        sheet.cell(4, column["SKU"]).value = "SKU-2"

    def targeting(sheet, column):
        sheet.cell(2, column["Targeting Type"]).value = "Auto"

    assert _ours(advertiser, sku) == {4: ["merchantSku cannot be changed"]}
    assert _ours(advertiser, targeting) == {
        2: ["Targeting Type cannot be changed"],
        3: ["This row was not processed due to errors from other rows"],
        4: ["This row was not processed due to errors from other rows"],
    }


def test_our_model_rules_refuse_rows_too(advertiser):
    CampaignFactory(advertiser=advertiser, daily_budget=Decimal("100.00"), total_budget=Decimal("3000.00"))

    def change(sheet, column):
        sheet.cell(2, column["Daily Budget"]).value = 5000

    assert _ours(advertiser, change) == {2: ["The daily budget cannot exceed the total budget."]}


def test_a_campaign_update_with_a_blank_end_date_removes_it_as_amazon_does(advertiser):
    existing = CampaignFactory(advertiser=advertiser, end_date=advertiser.today() + timedelta(days=30))
    column = {name: i + 1 for i, name in enumerate(DOWNLOAD_HEADERS)}

    def change(sheet):
        sheet.cell(2, column["Operation"]).value = "Update"
        sheet.cell(2, column["End Date"]).value = None

    plan = plan_of(advertiser, edit(export_bytes(advertiser), change))

    assert [(c.pk, c.fields) for c in plan.changes] == [(existing.pk, {"end_date": None})]
