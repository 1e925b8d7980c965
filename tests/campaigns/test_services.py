from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import ArchivedError, Campaign, ChangeRecord, Keyword
from campaigns.services import (
    BidChange,
    BulkBidError,
    campaign_duplicate,
    BulkChangeError,
    campaigns_set_status,
    entities_bulk_set,
    entities_set_state,
    entity_save,
    keyword_bids_set,
)
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory, ProductAdFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_budget_change_is_recorded_with_who_and_old_to_new():
    user = UserFactory()
    campaign = CampaignFactory(daily_budget=Decimal("100.00"))
    campaign.daily_budget = Decimal("150.00")
    entity_save(obj=campaign, by=user, source="api")
    record = ChangeRecord.objects.get(object_type="campaign", field="daily_budget")
    assert (record.old_value, record.new_value, record.changed_by, record.source) == ("100.00", "150.00", user, "api")


@pytest.mark.parametrize(
    "fields,field",
    [({"daily_budget": Decimal("0")}, "daily_budget"), ({"daily_budget": Decimal("5000")}, "daily_budget"),
     ({"end_date": None, "start_date": None}, "start_date"), ({"name": " padded "}, "name"),
     ({"daily_budget": Decimal("10.001")}, "daily_budget"), ({"daily_budget": Decimal("2000000")}, "daily_budget")],
)
def test_campaign_rules_are_enforced_with_clear_messages(fields, field):
    campaign = CampaignFactory()
    for name, value in fields.items():
        setattr(campaign, name, value)
    with pytest.raises(ValidationError) as error:
        entity_save(obj=campaign)
    assert field in error.value.message_dict


def test_an_end_before_the_start_is_refused():
    campaign = CampaignFactory()
    campaign.end_date = campaign.start_date.replace(year=campaign.start_date.year - 1)
    with pytest.raises(ValidationError) as error:
        entity_save(obj=campaign)
    assert "end_date" in error.value.message_dict


def test_a_line_item_must_sit_inside_its_campaign_dates():
    line_item = LineItemFactory()
    line_item.start_date = line_item.campaign.start_date.replace(year=2000)
    with pytest.raises(ValidationError) as error:
        entity_save(obj=line_item)
    assert "start_date" in error.value.message_dict


def test_a_bid_outside_amazons_marketplace_limits_is_refused():
    keyword = KeywordFactory()
    keyword.bid = Decimal("0.01")
    with pytest.raises(ValidationError) as error:
        entity_save(obj=keyword)
    assert "between 0.02 and 1000" in str(error.value)


def test_archived_is_final():
    campaign = CampaignFactory()
    campaigns_set_status(campaigns=[campaign], status=CampaignStatus.ARCHIVED)
    campaign.refresh_from_db()
    with pytest.raises(ArchivedError):
        campaign.enable()
    campaign.name = "renamed"
    with pytest.raises(ArchivedError):
        entity_save(obj=campaign)
    assert campaigns_set_status(campaigns=[campaign], status=CampaignStatus.ENABLED) == 0


def test_archiving_a_campaign_archives_its_whole_tree():
    keyword = KeywordFactory()
    campaign = keyword.line_item.campaign
    campaigns_set_status(campaigns=[campaign], status=CampaignStatus.ARCHIVED)
    keyword.refresh_from_db()
    assert keyword.state == EntityState.ARCHIVED
    assert campaign.line_items.get().status == EntityState.ARCHIVED


def test_duplicate_copies_the_tree_as_a_draft():
    keyword = KeywordFactory()
    ProductAdFactory(line_item=keyword.line_item)
    original = keyword.line_item.campaign
    copy = campaign_duplicate(campaign=original)
    assert copy.status == CampaignStatus.DRAFT and copy.pk != original.pk
    assert copy.line_items.count() == 1
    line_item = copy.line_items.get()
    assert line_item.keywords.get().text == keyword.text
    assert line_item.product_ads.count() == 1
    assert Campaign.objects.count() == 2


def test_bulk_bids_are_all_or_nothing_with_per_item_errors():
    first, second = KeywordFactory(), KeywordFactory()
    with pytest.raises(BulkBidError) as error:
        keyword_bids_set(
            keywords=Keyword.objects.all(),
            changes=[BidChange(first.pk, "1.25"), BidChange(second.pk, "0.001"), BidChange(999999, "1")],
        )
    assert [e["index"] for e in error.value.errors] == [1, 2]
    first.refresh_from_db()
    assert first.bid == Decimal("0.50")
    keyword_bids_set(keywords=Keyword.objects.all(), changes=[BidChange(first.pk, "1.25"), BidChange(second.pk, "0.90")])
    first.refresh_from_db()
    assert first.bid == Decimal("1.25")
    assert ChangeRecord.objects.filter(object_type="keyword", field="bid").count() == 2


@pytest.mark.parametrize("bad_id", [10**30, 0, -1, [1], {"a": 1}, "7", True, None])
def test_bulk_bids_refuse_ids_that_are_not_positive_integers_without_crashing(bad_id):
    keyword = KeywordFactory()
    with pytest.raises(BulkBidError) as error:
        keyword_bids_set(keywords=Keyword.objects.all(), changes=[BidChange(keyword.pk, "1"), BidChange(keyword.pk, "1"), BidChange(bad_id, "1")])
    assert [e["index"] for e in error.value.errors] == [1, 2]


def test_a_huge_bid_is_a_validation_error_not_a_crash():
    keyword = KeywordFactory()
    with pytest.raises(BulkBidError):
        keyword_bids_set(keywords=Keyword.objects.all(), changes=[BidChange(keyword.pk, "1e30")])
    keyword.bid = Decimal("1e30")
    with pytest.raises(ValidationError):
        entity_save(obj=keyword)


def test_bulk_bids_stay_a_handful_of_queries_for_many_items(django_assert_max_num_queries):
    line_item = KeywordFactory().line_item
    keywords = [KeywordFactory(line_item=line_item) for _ in range(40)]
    with django_assert_max_num_queries(10):
        keyword_bids_set(keywords=Keyword.objects.all(), changes=[BidChange(k.pk, "0.99") for k in keywords])


def test_a_refused_bulk_change_writes_nothing_and_leaves_the_callers_transaction_usable():
    line_item = LineItemFactory()
    good, bad = KeywordFactory(line_item=line_item, bid=Decimal("0.50")), KeywordFactory(line_item=line_item, bid=Decimal("0.50"))
    with transaction.atomic():
        with pytest.raises(BulkChangeError) as refused:
            entities_bulk_set(changes=[(good, {"bid": Decimal("0.60")}), (bad, {"bid": Decimal("-1")})], source="api")
        assert list(refused.value.errors) == [("keyword", bad.pk)]
        # The caller's transaction goes on: the refusal came before any write.
        assert Keyword.objects.filter(bid=Decimal("0.50")).count() == 2
    assert not ChangeRecord.objects.filter(object_type="keyword").exists()


def test_bulk_changes_inside_a_callers_transaction_join_it_without_savepoints():
    line_item = LineItemFactory()
    keywords = [KeywordFactory(line_item=line_item, bid=Decimal("0.50")) for _ in range(3)]
    ads = [ProductAdFactory(line_item=line_item) for _ in range(2)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        entities_bulk_set(changes=[(k, {"bid": Decimal("0.70")}) for k in keywords], source="rule")
        entities_set_state(objects=ads, state=EntityState.PAUSED)
        campaigns_set_status(campaigns=[line_item.campaign], status=CampaignStatus.PAUSED)
    assert not [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert set(Keyword.objects.filter(line_item=line_item).values_list("bid", flat=True)) == {Decimal("0.70")}
    assert ChangeRecord.objects.filter(object_type="keyword", source="rule").count() == 3

