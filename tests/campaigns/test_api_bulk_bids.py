"""POST /api/v1/campaigns/keywords/bulk-bids/: many bids, all or nothing, one error per bad item."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import ChangeRecord, Keyword, Membership
from campaigns.services import campaigns_set_status
from tests.campaigns.factories import AdvertiserFactory, KeywordFactory, LineItemFactory, campaign_tree, member_of

pytestmark = pytest.mark.django_db
URL = "/api/v1/campaigns/keywords/bulk-bids/"


def everything() -> dict:
    return {model.__name__: sorted(map(str, (model_to_dict(o) for o in model.objects.all())))
            for model in (Keyword, ChangeRecord)}


@pytest.fixture
def trader_user(advertiser):
    return member_of(advertiser, "trader")


@pytest.fixture
def client(api_for, trader_user):
    return api_for(trader_user)


@pytest.fixture
def keywords(advertiser):
    line_item = LineItemFactory(campaign=campaign_tree(advertiser).campaign)
    return KeywordFactory.create_batch(3, line_item=line_item)


@pytest.fixture
def foreign_keyword(other_advertiser):
    return campaign_tree(other_advertiser).keyword


def test_a_trader_sets_many_bids_in_one_request(client, trader_user, keywords):
    items = [{"keyword_id": k.pk, "bid": bid} for k, bid in zip(keywords, ["1.25", "0.02", "1000"])]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 200, response.json()
    assert [(row["id"], row["bid"]) for row in response.json()] == [
        (keywords[0].pk, "1.25"), (keywords[1].pk, "0.02"), (keywords[2].pk, "1000.00")]
    assert [str(k.bid) for k in Keyword.objects.filter(pk__in=[k.pk for k in keywords]).order_by("pk")] == [
        "1.25", "0.02", "1000.00"]
    records = ChangeRecord.objects.filter(object_type="keyword", field="bid")
    assert records.count() == 3
    assert {(r.changed_by, r.source, r.old_value) for r in records} == {(trader_user, "api", "0.50")}


def test_json_numbers_are_taken_exactly(client, keywords):
    raw = '{"items": [{"keyword_id": %d, "bid": 1.15}]}' % keywords[0].pk
    response = client.post(URL, raw, content_type="application/json")
    assert response.status_code == 200
    keywords[0].refresh_from_db()
    assert keywords[0].bid == Decimal("1.15")


def test_one_bad_item_refuses_the_whole_request_with_an_error_for_that_item(client, keywords):
    before = everything()
    items = [{"keyword_id": keywords[0].pk, "bid": "1.25"}, {"keyword_id": keywords[1].pk, "bid": "0.01"},
             {"keyword_id": keywords[2].pk, "bid": "2.00"}]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["index"], error["keyword_id"]) == (1, keywords[1].pk)
    assert "between 0.02 and 1000" in error["errors"][0]
    assert everything() == before


def test_another_advertisers_keyword_is_not_found_like_a_missing_one(client, keywords, foreign_keyword):
    before = everything()
    missing = foreign_keyword.pk + 10_000
    items = [{"keyword_id": keywords[0].pk, "bid": "1.25"}, {"keyword_id": foreign_keyword.pk, "bid": "1.25"},
             {"keyword_id": missing, "bid": "1.25"}]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"index": 1, "keyword_id": foreign_keyword.pk, "errors": ["Not found."]},
        {"index": 2, "keyword_id": missing, "errors": ["Not found."]},
    ]}
    assert everything() == before


@pytest.mark.parametrize(
    "bid",
    ["NaN", "Infinity", "-Infinity", "1e400", True, False, None, [], {}, "abc", "", "1.255", "0.001", "0.01",
     "1000.01", "-1", "0", "99999999999999999", "1" * 5000],
)
def test_a_bad_bid_is_an_item_error_and_nothing_is_written(client, keywords, bid):
    before = everything()
    items = [{"keyword_id": keywords[0].pk, "bid": "1.25"}, {"keyword_id": keywords[1].pk, "bid": bid}]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and error["errors"]
    assert everything() == before


@pytest.mark.parametrize(
    "item",
    [{"keyword_id": "abc", "bid": "1"}, {"keyword_id": True, "bid": "1"}, {"keyword_id": 1.5, "bid": "1"},
     {"keyword_id": None, "bid": "1"}, {"keyword_id": -1, "bid": "1"}, {"keyword_id": 10**30, "bid": "1"},
     {"keyword_id": [1], "bid": "1"}, {"bid": "1"}, {"keyword_id": 1}, {}, 5, "text", [1, "1.00"], None],
)
def test_a_malformed_item_is_an_item_error_and_nothing_is_written(client, keywords, item):
    before = everything()
    response = client.post(URL, {"items": [{"keyword_id": keywords[0].pk, "bid": "1.25"}, item]}, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and error["errors"]
    assert everything() == before


def test_every_bad_item_is_reported_at_once(client, keywords, foreign_keyword):
    items = [{"keyword_id": "abc", "bid": "1"}, {"keyword_id": keywords[0].pk, "bid": "1.255"},
             {"keyword_id": foreign_keyword.pk, "bid": "1"}, {"keyword_id": keywords[1].pk, "bid": "0.90"}]
    response = client.post(URL, {"items": items}, format="json")
    assert [e["index"] for e in response.json()["errors"]] == [0, 1, 2]


@pytest.mark.parametrize(
    "raw",
    ['{"items": [{"keyword_id": 1, "bid": NaN}]}', '{"items": [{"keyword_id": 1, "bid": Infinity}]}',
     '{"items": [{"keyword_id": 1, "bid": 1e999999999999999999999}]}', '{"items": [', "items"],
)
def test_a_bad_json_body_is_refused(client, keywords, raw):
    before = everything()
    assert client.post(URL, raw, content_type="application/json").status_code == 400
    assert everything() == before


def test_a_raw_json_number_with_three_decimals_is_an_item_error(client, keywords):
    raw = '{"items": [{"keyword_id": %d, "bid": 1.255}]}' % keywords[0].pk
    response = client.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert "2 decimal places" in response.json()["errors"][0]["errors"][0]


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": "all"}, {"items": {"keyword_id": 1}}, [], {"items": None}])
def test_a_request_without_a_list_of_items_is_refused(client, keywords, body):
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert "items" in response.json() or "non_field_errors" in response.json()


def test_more_than_a_thousand_items_are_refused(client, keywords):
    before = everything()
    items = [{"keyword_id": keywords[0].pk, "bid": "1.00"}] * 1001
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 400 and "items" in response.json()
    assert everything() == before


def test_a_thousand_items_are_accepted(client, advertiser):
    line_item = LineItemFactory(campaign=campaign_tree(advertiser).campaign)
    batch = Keyword.objects.bulk_create(
        [Keyword(line_item=line_item, text=f"kw {n}", match_type="exact", bid=Decimal("0.50")) for n in range(1000)]
    )
    response = client.post(URL, {"items": [{"keyword_id": k.pk, "bid": "0.75"} for k in batch]}, format="json")
    assert response.status_code == 200 and len(response.json()) == 1000
    assert Keyword.objects.filter(bid=Decimal("0.75")).count() == 1000


def test_the_same_keyword_twice_is_refused(client, keywords):
    before = everything()
    items = [{"keyword_id": keywords[0].pk, "bid": "1.00"}, {"keyword_id": keywords[0].pk, "bid": "2.00"}]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 1
    assert everything() == before


def test_an_archived_keyword_is_an_item_error(client, advertiser):
    tree = campaign_tree(advertiser)
    campaigns_set_status(campaigns=[tree.campaign], status=CampaignStatus.ARCHIVED)
    response = client.post(URL, {"items": [{"keyword_id": tree.keyword.pk, "bid": "1.00"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["errors"] == ["Archived entity cannot be modified."]
    tree.keyword.refresh_from_db()
    assert tree.keyword.state == EntityState.ARCHIVED and tree.keyword.bid == Decimal("0.50")


def test_a_negative_keyword_takes_no_bid(client, keywords):
    negative = KeywordFactory(line_item=keywords[0].line_item, match_type="negativeExact", bid=None)
    response = client.post(URL, {"items": [{"keyword_id": negative.pk, "bid": "1.00"}]}, format="json")
    assert response.status_code == 400
    assert "Negative keywords have no bid." in response.json()["errors"][0]["errors"]


def test_a_viewer_cannot_set_bids(api_for, advertiser, keywords):
    before = everything()
    client = api_for(member_of(advertiser, "viewer"))
    response = client.post(URL, {"items": [{"keyword_id": keywords[0].pk, "bid": "1.00"}]}, format="json")
    assert response.status_code == 403
    assert everything() == before


def test_every_keywords_advertiser_needs_a_trader(client, trader_user, keywords):
    viewed = AdvertiserFactory()
    Membership.objects.create(user=trader_user, advertiser=viewed, role="viewer")
    viewed_keyword = campaign_tree(viewed).keyword
    before = everything()
    items = [{"keyword_id": keywords[0].pk, "bid": "1.00"}, {"keyword_id": viewed_keyword.pk, "bid": "1.00"}]
    response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 403
    assert everything() == before


def test_a_trader_on_two_advertisers_sets_bids_on_both(client, trader_user, keywords):
    second = AdvertiserFactory()
    Membership.objects.create(user=trader_user, advertiser=second, role="trader")
    second_keyword = campaign_tree(second).keyword
    items = [{"keyword_id": keywords[0].pk, "bid": "1.00"}, {"keyword_id": second_keyword.pk, "bid": "1.10"}]
    assert client.post(URL, {"items": items}, format="json").status_code == 200
    second_keyword.refresh_from_db()
    assert second_keyword.bid == Decimal("1.10")


def test_a_superuser_sets_any_advertisers_bids(api_for, superuser, foreign_keyword):
    response = api_for(superuser).post(URL, {"items": [{"keyword_id": foreign_keyword.pk, "bid": "3.00"}]}, format="json")
    assert response.status_code == 200
    foreign_keyword.refresh_from_db()
    assert foreign_keyword.bid == Decimal("3.00")


def test_a_user_without_memberships_gets_not_found_for_every_item(api_for, django_user_model, keywords):
    client = api_for(django_user_model.objects.create(username="nobody"))
    response = client.post(URL, {"items": [{"keyword_id": keywords[0].pk, "bid": "1.00"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["errors"] == ["Not found."]
