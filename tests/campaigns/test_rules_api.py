"""Rules CRUD and rule matches over the API: validation at create time, roles, tenancy."""

from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Rule, RuleMatch
from campaigns.rules.services import event_ingest, event_process
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory

pytestmark = pytest.mark.django_db
RULES = "/api/v1/campaigns/rules/"
MATCHES = "/api/v1/campaigns/rule-matches/"


def price_drop(advertiser, campaign, **overrides) -> dict:
    return {
        "advertiser": advertiser.pk, "name": "Fight price drops", "event_type": "competitor_price_drop",
        "conditions": {"path": "price.drop_pct", "op": "gt", "value": 10},
        "actions": [{"type": "adjust_bid", "target": {"kind": "keyword", "where": {"campaign": campaign.pk}},
                     "by_percent": 5, "max_bid": "1.00"}],
        **overrides,
    }


@pytest.fixture
def campaign(advertiser):
    return CampaignFactory(advertiser=advertiser)


@pytest.fixture
def their_campaign(other_advertiser):
    return CampaignFactory(advertiser=other_advertiser)


def test_a_trader_creates_a_rule_and_numbers_keep_their_digits(api_for, trader, advertiser, campaign):
    client = api_for(trader)
    raw = ('{"advertiser": %d, "name": "r", "event_type": "competitor_price_drop", '
           '"conditions": {"path": "price.drop_pct", "op": "gt", "value": 10.10}, '
           '"actions": [{"type": "adjust_bid", "target": {"kind": "keyword", "where": {"campaign": %d}}, '
           '"by_percent": 5.0, "max_bid": "1.00"}]}') % (advertiser.pk, campaign.pk)
    response = client.post(RULES, raw, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert '"value":10.10' in response.content.decode() and '"by_percent":5.0' in response.content.decode()
    rule = Rule.objects.get()
    assert rule.conditions["value"] == Decimal("10.10") and rule.created_by == trader


@pytest.mark.parametrize("overrides,field,message", [
    ({"conditions": {"path": "price", "op": "greater", "value": 1}}, "conditions", "unknown operator 'greater'"),
    ({"conditions": {"path": "price..x", "op": "gt", "value": 1}}, "conditions", "bad path"),
    ({"conditions": {"path": "price", "op": "between", "value": [1]}}, "conditions", "takes [low, high]"),
    ({"actions": [{"type": "explode"}]}, "actions", "unknown action 'explode'"),
    ({"actions": []}, "actions", "a list of 1 to 20 actions"),
    ({"actions": [{"type": "pause", "target": {"kind": "keyword", "ids": [999999]}}]}, "actions", "keyword 999999 not found"),
    ({"actions": [{"type": "pause", "target": {"kind": "keyword", "where": {"colour": "red"}}}]}, "actions", "unknown field"),
    ({"actions": [{"type": "set_bid", "target": {"kind": "product_ad", "ids": [1]}, "bid": "1"}]}, "actions", "must be one of keyword"),
    ({"actions": [{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [1]}}]}, "actions", "exactly one of by_percent, by_amount"),
    ({"actions": [{"type": "set_bid", "target": {"kind": "line_item", "ids": [1]}, "bid": "1.001"}]}, "actions", "at most 2 decimal places"),
    ({"actions": [{"type": "alert", "message": "x", "colour": "red"}]}, "actions", "unknown key(s) ['colour']"),
    ({"event_type": "Price Drop"}, "event_type", "Lower-case"),
])
def test_malformed_rules_are_refused_at_create_time_with_clear_messages(api_for, trader, advertiser, campaign,
                                                                        overrides, field, message):
    response = api_for(trader).post(RULES, price_drop(advertiser, campaign, **overrides), format="json")
    assert response.status_code == 400
    assert any(message in m for m in response.json()[field]), response.json()
    assert not Rule.objects.exists()


def test_a_rule_cannot_name_another_advertisers_objects(api_for, trader, advertiser, their_campaign):
    response = api_for(trader).post(RULES, price_drop(advertiser, their_campaign), format="json")
    assert response.status_code == 400
    assert f"campaign {their_campaign.pk} not found" in response.json()["actions"][0]


def test_budget_actions_need_a_manager(api_for, trader, manager, advertiser, campaign):
    data = price_drop(advertiser, campaign, actions=[
        {"type": "adjust_budget", "target": {"kind": "campaign", "ids": [campaign.pk]}, "by_percent": 10}])
    assert api_for(trader).post(RULES, data, format="json").status_code == 403
    assert api_for(manager).post(RULES, data, format="json").status_code == 201


def test_viewers_read_rules_but_cannot_change_them_and_other_advertisers_rules_are_not_found(
        api_for, viewer, trader, advertiser, other_advertiser, campaign):
    mine = Rule.objects.create(advertiser=advertiser, name="mine", event_type="x", actions=[{"type": "alert", "message": "m"}])
    theirs = Rule.objects.create(advertiser=other_advertiser, name="theirs", event_type="x",
                                 actions=[{"type": "alert", "message": "t"}])
    client = api_for(viewer)
    assert [r["name"] for r in client.get(RULES).json()["results"]] == ["mine"]
    assert client.patch(f"{RULES}{mine.pk}/", {"enabled": False}, format="json").status_code == 403
    assert client.post(RULES, price_drop(advertiser, campaign), format="json").status_code == 400
    writer = api_for(trader)
    assert writer.get(f"{RULES}{theirs.pk}/").status_code == 404
    assert writer.patch(f"{RULES}{theirs.pk}/", {"enabled": False}, format="json").status_code == 404
    assert writer.delete(f"{RULES}{theirs.pk}/").status_code == 404
    assert writer.patch(f"{RULES}{mine.pk}/", {"enabled": False}, format="json").status_code == 200


def test_a_rule_stays_with_its_advertiser(api_for, make_member, advertiser, other_advertiser):
    from campaigns.models import Membership

    user = make_member(advertiser, "trader")
    Membership.objects.create(user=user, advertiser=other_advertiser, role="trader")
    rule = Rule.objects.create(advertiser=advertiser, name="r", event_type="x", actions=[{"type": "alert", "message": "m"}])
    response = api_for(user).patch(f"{RULES}{rule.pk}/", {"advertiser": other_advertiser.pk}, format="json")
    assert response.status_code == 400 and "stays with its advertiser" in response.json()["advertiser"][0]


def test_a_rule_with_history_is_kept_disable_it_instead(api_for, trader, advertiser):
    client = api_for(trader)
    unused = Rule.objects.create(advertiser=advertiser, name="unused", event_type="y", actions=[{"type": "alert", "message": "m"}])
    used = Rule.objects.create(advertiser=advertiser, name="used", event_type="x", actions=[{"type": "alert", "message": "m"}])
    event, _ = event_ingest(advertiser=advertiser, event_id="e", type="x", occurred_at=timezone.now(), payload={})
    event_process(event_id=event.pk)
    assert client.delete(f"{RULES}{unused.pk}/").status_code == 204
    assert client.delete(f"{RULES}{used.pk}/").status_code == 409
    assert Rule.objects.filter(pk=used.pk).exists()


def test_rule_matches_are_listed_filtered_and_scoped(api_for, viewer, advertiser, other_advertiser, campaign,
                                                    django_assert_num_queries):
    keyword = KeywordFactory(line_item=LineItemFactory(campaign=campaign), bid=Decimal("0.50"))
    alert = Rule.objects.create(advertiser=advertiser, name="alert", event_type="competitor_price_drop",
                                actions=[{"type": "alert", "message": "drop {price.drop_pct}"}])
    bid = Rule.objects.create(advertiser=advertiser, name="bid", event_type="competitor_price_drop",
                              actions=[{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]},
                                        "by_percent": 5}])
    Rule.objects.create(advertiser=other_advertiser, name="theirs", event_type="competitor_price_drop",
                        actions=[{"type": "alert", "message": "hidden"}])
    for n, advertiser_ in enumerate([advertiser, advertiser, other_advertiser]):
        event, _ = event_ingest(advertiser=advertiser_, event_id=f"e{n}", type="competitor_price_drop",
                                occurred_at=timezone.now(), payload={"price": {"drop_pct": 12}})
        event_process(event_id=event.pk)
    client = api_for(viewer)
    listed = client.get(MATCHES).json()["results"]
    assert len(listed) == 4 and {m["advertiser"] for m in listed} == {advertiser.pk}
    first_event = RuleMatch.objects.filter(advertiser=advertiser).order_by("event_id").first().event_id
    assert len(client.get(MATCHES, {"event": first_event}).json()["results"]) == 2
    by_rule = client.get(MATCHES, {"rule": bid.pk, "status": "applied"}).json()["results"]
    assert [m["detail"]["to"] for m in sorted(by_rule, key=lambda m: m["id"])] == ["0.53", "0.56"]
    assert client.get(MATCHES, {"rule": alert.pk}).json()["results"][0]["detail"]["message"] == "drop 12"
    assert client.get(MATCHES, {"status": "error"}).json()["results"] == []
    with django_assert_num_queries(3) as small:
        client.get(MATCHES, {"page_size": 1})
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(MATCHES, {"page_size": 4})
    theirs = RuleMatch.objects.exclude(advertiser=advertiser).get()
    assert client.get(f"{MATCHES}{theirs.pk}/").status_code == 404
    assert client.post(MATCHES, {}, format="json").status_code == 405


def test_listing_rules_costs_the_same_queries_whatever_the_page_size(api_for, trader, advertiser, django_assert_num_queries):
    for n in range(6):
        Rule.objects.create(advertiser=advertiser, name=f"r{n}", event_type="x", actions=[{"type": "alert", "message": "m"}])
    client = api_for(trader)
    with django_assert_num_queries(3) as small:
        client.get(RULES, {"page_size": 1})
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get(RULES, {"page_size": 6}).json()["results"]) == 6
