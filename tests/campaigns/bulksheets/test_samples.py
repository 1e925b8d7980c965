"""The shared sample files: Amazon's download and its create template import as written."""

from datetime import date
from decimal import Decimal

from campaigns.bulksheets.models import CampaignNegativeKeyword, PlacementAdjustment
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductAd, ProductTarget

from .conftest import CREATE, DOWNLOAD, apply_sheet, plan_of


def test_the_download_imports_two_campaigns_with_their_trees_as_written(advertiser):
    plan = apply_sheet(advertiser, DOWNLOAD.read_bytes())

    assert plan.mode == "mirror"  # an unedited download: every Operation is blank
    manual = Campaign.objects.get(advertiser=advertiser, name="Trail Shoes - Manual")
    auto = Campaign.objects.get(advertiser=advertiser, name="Trail Shoes - Auto")
    assert Campaign.objects.filter(advertiser=advertiser).count() == 2
    assert (manual.status, manual.targeting_type, manual.daily_budget, manual.bidding_strategy) == (
        "enabled", "manual", Decimal("75.00"), "legacyForSales")  # "Dynamic bids – down only", en dash
    assert (manual.start_date, manual.end_date) == (date(2026, 10, 1), date(2027, 3, 31))
    assert (auto.status, auto.targeting_type, auto.daily_budget, auto.bidding_strategy, auto.end_date) == (
        "paused", "auto", Decimal("20.00"), "autoForSales", None)
    assert list(PlacementAdjustment.objects.filter(campaign=manual).values_list("placement", "percentage")) == [("top", 35)]

    groups = {g.name: g for g in LineItem.objects.filter(campaign__advertiser=advertiser)}
    assert {(g.campaign_id, g.name, g.status, g.default_bid) for g in groups.values()} == {
        (manual.pk, "Exact - core", "enabled", Decimal("0.85")),
        (manual.pk, "ASIN targets", "paused", Decimal("0.60")),
        (auto.pk, "Auto - all", "enabled", Decimal("0.45")),
    }
    exact = groups["Exact - core"]
    assert set(Keyword.objects.filter(line_item=exact).values_list("text", "match_type", "bid", "state")) == {
        ("trail running shoes", "exact", Decimal("1.15"), "enabled"),
        ("waterproof trail shoes", "exact", Decimal("0.92"), "enabled"),
        ("kids", "negativePhrase", None, "enabled"),
    }
    assert set(ProductAd.objects.filter(line_item__campaign__advertiser=advertiser).values_list(
        "line_item__name", "sku", "asin", "state")) == {
        ("Exact - core", "TRL-SHOE-42", "B0C7TRAIL1", "enabled"), ("Auto - all", "TRL-SHOE-43", "B0C7TRAIL2", "enabled")}
    assert set(ProductTarget.objects.filter(line_item__campaign__advertiser=advertiser).values_list(
        "line_item__name", "expression", "negative", "bid", "state")) == {
        ("ASIN targets", 'asin="B0COMPET01"', False, Decimal("0.70"), "enabled"),
        ("Auto - all", "close-match", False, Decimal("0.50"), "enabled"),
    }
    assert set(ChangeRecord.objects.filter(advertiser=advertiser).values_list("source", flat=True)) == {"bulk"}


def test_uploading_the_download_again_unedited_changes_nothing(advertiser):
    apply_sheet(advertiser, DOWNLOAD.read_bytes())
    history = ChangeRecord.objects.count()

    plan = plan_of(advertiser, DOWNLOAD.read_bytes())

    counts = plan.counts()
    assert (counts["create"], counts["update"], counts["archive"], counts["errors"]) == (0, 0, 0, 0)
    assert counts["unchanged"] == counts["rows"] == 13
    assert ChangeRecord.objects.count() == history


def test_the_create_template_imports_with_its_temporary_ids(advertiser):
    plan = apply_sheet(advertiser, CREATE.read_bytes())

    assert plan.mode == "upload" and plan.counts()["create"] == 9
    campaign = Campaign.objects.get(advertiser=advertiser)
    assert (campaign.name, campaign.start_date, campaign.end_date, campaign.daily_budget, campaign.bidding_strategy) == (
        "Winter Boots Launch", date(2027, 11, 1), date(2028, 1, 31), Decimal("120.00"), "autoForSales")
    assert list(campaign.placement_adjustments.values_list("placement", "percentage")) == [("product_page", 20)]
    group = LineItem.objects.get(campaign=campaign)
    assert (group.name, group.default_bid) == ("Boots exact", Decimal("1.05"))
    assert list(group.product_ads.values_list("sku", "asin")) == [("WNT-BOOT-41", "")]
    assert set(group.keywords.values_list("text", "match_type", "bid")) == {
        ("winter boots", "exact", Decimal("1.40")),
        ("insulated hiking boots", "phrase", None),  # inherits the ad group's default bid
        ("cheap", "negativeExact", None),
    }
    assert list(group.product_targets.values_list("expression", "bid")) == [('asin="B0RIVAL777"', Decimal("0.90"))]
    assert list(CampaignNegativeKeyword.objects.filter(campaign=campaign).values_list("text", "match_type")) == [
        ("used", "negativePhrase")]
