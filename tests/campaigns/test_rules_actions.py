"""Rules end to end at the service level: an event in, the advertiser's rules applied, matches out."""

import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import ChangeRecord, Event, Keyword, ProductAd, Rule, RuleMatch
from campaigns.rules.actions import ActionType, Outcome, register_action
from campaigns.rules.models import EventStatus, MatchStatus
from campaigns.rules.services import event_ingest, event_process
from tests.campaigns.factories import (
    AdvertiserFactory,
    CampaignFactory,
    KeywordFactory,
    LineItemFactory,
    ProductAdFactory,
    ProductTargetFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
ASIN = "B000TEST01"
_ids = itertools.count(1)


def send(advertiser, type_, payload, event_id=None) -> Event:
    event, _ = event_ingest(advertiser=advertiser, event_id=event_id or f"evt-{next(_ids)}", type=type_,
                            occurred_at=timezone.now(), payload=payload)
    event_process(event_id=event.pk)
    event.refresh_from_db()
    return event


def rule(advertiser, event_type, actions, conditions=None, **fields) -> Rule:
    made = Rule(advertiser=advertiser, name=fields.pop("name", f"rule {next(_ids)}"), event_type=event_type,
                conditions=conditions or {"all": []}, actions=actions, **fields)
    made.full_clean()
    made.save()
    return made


def statuses(event) -> list[tuple[str, str, str]]:
    return sorted((m.action, m.target_type, m.status) for m in event.matches.all())


@pytest.fixture
def campaign(advertiser):
    return CampaignFactory(advertiser=advertiser)


@pytest.fixture
def line_item(campaign):
    return LineItemFactory(campaign=campaign, default_bid=D("0.75"))


# --- the two example rules ------------------------------------------------------------------------

def inventory_low_rule(advertiser, asin=ASIN):
    return rule(advertiser, "inventory_low", name="Pause ads of products running out",
                conditions={"path": "product.asin", "op": "equals", "value": asin},
                actions=[{"type": "pause", "target": {"kind": "product_ad", "where": {"asin": {"path": "product.asin"}}}}])


def price_drop_rule(advertiser, campaign, cap="1.00"):
    return rule(advertiser, "competitor_price_drop", name="Fight competitor price drops",
                conditions={"path": "price.drop_pct", "op": "gt", "value": 10},
                actions=[{"type": "adjust_bid", "target": {"kind": "keyword", "where": {"campaign": campaign.pk}},
                          "by_percent": 5, "max_bid": cap}])


def test_inventory_low_for_an_asin_pauses_its_product_ads_and_nothing_else(advertiser, line_item, campaign):
    other_line_item = LineItemFactory(campaign=campaign)
    ads = [ProductAdFactory(line_item=line_item, asin=ASIN), ProductAdFactory(line_item=other_line_item, asin=ASIN)]
    bystander = ProductAdFactory(line_item=line_item, asin="B000OTHER1")
    inventory_low_rule(advertiser)

    event = send(advertiser, "inventory_low", {"product": {"asin": ASIN}, "inventory": {"units": 2}})

    assert (event.status, event.rules_matched) == (EventStatus.PROCESSED, 1)
    assert {ad.state for ad in ProductAd.objects.filter(pk__in=[a.pk for a in ads])} == {EntityState.PAUSED}
    bystander.refresh_from_db()
    assert bystander.state == EntityState.ENABLED
    assert statuses(event) == [("pause", "productad", "applied")] * 2
    assert event.matches.first().detail == {"field": "state", "from": "enabled", "to": "paused"}


def test_inventory_low_for_another_asin_does_not_match(advertiser, line_item):
    ad = ProductAdFactory(line_item=line_item, asin=ASIN)
    inventory_low_rule(advertiser)
    event = send(advertiser, "inventory_low", {"product": {"asin": "B000OTHER1"}})
    ad.refresh_from_db()
    assert (event.rules_matched, ad.state, event.matches.count()) == (0, EntityState.ENABLED, 0)


def test_a_competitor_price_drop_over_10_percent_raises_keyword_bids_5_percent_up_to_the_cap(advertiser, campaign, line_item):
    low = KeywordFactory(line_item=line_item, bid=D("0.50"))
    near_cap = KeywordFactory(line_item=line_item, bid=D("0.98"))
    above_cap = KeywordFactory(line_item=line_item, bid=D("1.20"))
    inherits = KeywordFactory(line_item=line_item, bid=None)  # uses the line item's 0.75
    negative = KeywordFactory(line_item=line_item, bid=None, match_type="negativeExact")
    elsewhere = KeywordFactory(bid=D("0.50"))  # another campaign
    price_drop_rule(advertiser, campaign)

    event = send(advertiser, "competitor_price_drop", {"price": {"drop_pct": D("12.5")}})

    bids = {k.pk: k.bid for k in Keyword.objects.all()}
    assert bids[low.pk] == D("0.53")  # 0.525 rounds half-up
    assert bids[near_cap.pk] == D("1.00")  # 1.029 capped
    assert bids[above_cap.pk] == D("1.20")  # the cap limits raises; it never cuts
    assert bids[inherits.pk] == D("0.79")  # 0.7875 from the default bid
    assert bids[negative.pk] is None and bids[elsewhere.pk] == D("0.50")
    history = ChangeRecord.objects.filter(source="rule", field="bid").order_by("object_id")
    assert [(r.object_id, r.old_value, r.new_value) for r in history] == [
        (low.pk, "0.50", "0.53"), (near_cap.pk, "0.98", "1.00"), (inherits.pk, "", "0.79")]
    assert statuses(event) == [("adjust_bid", "keyword", "applied")] * 3 + [("adjust_bid", "keyword", "skipped")]


def test_a_price_drop_of_10_percent_or_less_changes_nothing(advertiser, campaign, line_item):
    keyword = KeywordFactory(line_item=line_item, bid=D("0.50"))
    price_drop_rule(advertiser, campaign)
    event = send(advertiser, "competitor_price_drop", {"price": {"drop_pct": 10}})
    keyword.refresh_from_db()
    assert (keyword.bid, event.rules_matched) == (D("0.50"), 0)


def test_processing_an_event_again_applies_nothing_twice(advertiser, campaign, line_item):
    keyword = KeywordFactory(line_item=line_item, bid=D("0.50"))
    price_drop_rule(advertiser, campaign)
    event = send(advertiser, "competitor_price_drop", {"price": {"drop_pct": 20}})
    # As after a worker lost between the rule's commit and the event's: queued again, delivered again.
    Event.objects.filter(pk=event.pk).update(status=EventStatus.QUEUED)
    assert event_process(event_id=event.pk) == "processed"
    assert event_process(event_id=event.pk) == "not-claimed"
    keyword.refresh_from_db()
    assert keyword.bid == D("0.53")
    assert RuleMatch.objects.count() == 1 and ChangeRecord.objects.filter(source="rule").count() == 1
    event.refresh_from_db()
    assert (event.attempts, event.rules_matched) == (2, 1)


# --- errors roll the rule back --------------------------------------------------------------------

def test_a_bid_beyond_the_marketplace_limit_is_an_error_and_nothing_of_the_rule_is_applied(advertiser, campaign, line_item):
    ad = ProductAdFactory(line_item=line_item, asin=ASIN)
    fine = KeywordFactory(line_item=line_item, bid=D("400.00"))
    too_high = KeywordFactory(line_item=line_item, bid=D("600.00"))  # doubled: 1200 > US max 1000
    rule(advertiser, "surge", actions=[
        {"type": "pause", "target": {"kind": "product_ad", "ids": [ad.pk]}},
        {"type": "adjust_bid", "target": {"kind": "keyword", "where": {"campaign": campaign.pk}}, "by_percent": 100},
    ])

    event = send(advertiser, "surge", {})

    ad.refresh_from_db()
    fine.refresh_from_db()
    too_high.refresh_from_db()
    assert (ad.state, fine.bid, too_high.bid) == (EntityState.ENABLED, D("400.00"), D("600.00"))
    assert not ChangeRecord.objects.filter(source="rule").exists()
    matches = {(m.target_type, m.target_id): m for m in event.matches.all()}
    assert matches[("keyword", too_high.pk)].status == MatchStatus.ERROR
    assert "Bid must be between 0.02 and 1000" in matches[("keyword", too_high.pk)].detail["error"]
    assert matches[("keyword", fine.pk)].status == MatchStatus.SKIPPED
    assert matches[("productad", ad.pk)].detail["reason"].startswith("not applied")
    assert event.status == EventStatus.PROCESSED


def test_an_archived_target_named_by_id_is_an_error_but_selectors_leave_archived_ones_out(advertiser, line_item):
    archived = ProductAdFactory(line_item=line_item, asin=ASIN, state=EntityState.ARCHIVED)
    live = ProductAdFactory(line_item=line_item, asin=ASIN)
    by_id = rule(advertiser, "inventory_low", actions=[{"type": "pause", "target": {"kind": "product_ad", "ids": [archived.pk]}}])
    inventory_low_rule(advertiser)

    event = send(advertiser, "inventory_low", {"product": {"asin": ASIN}})

    error = event.matches.get(rule=by_id)
    assert (error.status, error.detail["error"]) == (MatchStatus.ERROR, "archived; archived is final")
    live.refresh_from_db()
    assert live.state == EntityState.PAUSED
    assert not event.matches.filter(target_id=archived.pk, status=MatchStatus.APPLIED).exists()


def test_a_crashing_action_is_recorded_as_an_error_and_later_rules_still_run(advertiser, line_item):
    class Crash(ActionType):
        def apply(self, spec, ctx):
            raise RuntimeError("bug in an action")

    register_action("test_crash", Crash())
    ad = ProductAdFactory(line_item=line_item, asin=ASIN)
    crashing = Rule.objects.create(advertiser=advertiser, name="crash", event_type="inventory_low", priority=5,
                                   actions=[{"type": "test_crash"}])
    inventory_low_rule(advertiser)

    event = send(advertiser, "inventory_low", {"product": {"asin": ASIN}})

    assert "RuntimeError: bug in an action" in event.matches.get(rule=crashing).detail["error"]
    ad.refresh_from_db()
    assert (ad.state, event.status) == (EntityState.PAUSED, EventStatus.PROCESSED)


# --- other actions ----------------------------------------------------------------------------------

def test_rules_run_highest_priority_first(advertiser, line_item):
    keyword = KeywordFactory(line_item=line_item, bid=D("0.50"))
    target = {"kind": "keyword", "ids": [keyword.pk]}
    rule(advertiser, "reset", priority=0, actions=[{"type": "adjust_bid", "target": target, "by_percent": 10}])
    rule(advertiser, "reset", priority=10, actions=[{"type": "set_bid", "target": target, "bid": "1.00"}])
    send(advertiser, "reset", {})
    keyword.refresh_from_db()
    assert keyword.bid == D("1.10")


def test_set_bid_works_on_line_item_default_bids_and_product_targets(advertiser, line_item):
    target = ProductTargetFactory(line_item=line_item, bid=D("0.60"))
    rule(advertiser, "bid", actions=[
        {"type": "set_bid", "target": {"kind": "line_item", "ids": [line_item.pk]}, "bid": "0.90"},
        {"type": "adjust_bid", "target": {"kind": "product_target", "ids": [target.pk]}, "by_amount": "-0.50",
         "min_bid": "0.25"},
    ])
    send(advertiser, "bid", {})
    line_item.refresh_from_db()
    target.refresh_from_db()
    assert (line_item.default_bid, target.bid) == (D("0.90"), D("0.25"))
    assert set(ChangeRecord.objects.filter(source="rule").values_list("object_type", "new_value")) == {
        ("lineitem", "0.90"), ("producttarget", "0.25")}


def test_a_budget_cut_is_floored_recorded_and_refused_when_it_breaks_the_budget_rules(advertiser, campaign):
    rule(advertiser, "slow_sales", actions=[{"type": "adjust_budget", "target": {"kind": "campaign", "ids": [campaign.pk]},
                                             "by_percent": -50, "min_budget": "60.00"}])
    send(advertiser, "slow_sales", {})
    campaign.refresh_from_db()
    assert campaign.daily_budget == D("60.00")
    assert ChangeRecord.objects.get(source="rule", field="daily_budget").old_value == "100.00"

    rule(advertiser, "boom", actions=[{"type": "adjust_budget", "target": {"kind": "campaign", "ids": [campaign.pk]},
                                       "to": "5000.00"}])  # above the 3000 total budget
    event = send(advertiser, "boom", {})
    campaign.refresh_from_db()
    assert campaign.daily_budget == D("60.00")
    assert "cannot exceed the total budget" in event.matches.get().detail["error"]


def test_pause_and_enable_cover_campaigns_and_skip_what_is_already_there(advertiser, campaign, line_item):
    paused = KeywordFactory(line_item=line_item, state=EntityState.PAUSED)
    enabled = KeywordFactory(line_item=line_item)
    rule(advertiser, "restock", actions=[
        {"type": "enable", "target": {"kind": "keyword", "ids": [paused.pk, enabled.pk]}},
        {"type": "pause", "target": {"kind": "campaign", "ids": [campaign.pk]}},
    ])
    event = send(advertiser, "restock", {})
    paused.refresh_from_db()
    campaign.refresh_from_db()
    assert (paused.state, campaign.status) == (EntityState.ENABLED, CampaignStatus.PAUSED)
    assert event.matches.get(target_id=enabled.pk, target_type="keyword").detail == {"reason": "already enabled"}


def test_an_alert_is_recorded_with_the_payload_filled_in(advertiser):
    rule(advertiser, "inventory_low", actions=[{"type": "alert", "message": "Low stock for {product.asin}: {units} left",
                                                "severity": "critical"}])
    event = send(advertiser, "inventory_low", {"product": {"asin": ASIN}})
    assert event.matches.get().detail == {"message": f"Low stock for {ASIN}: ? left", "severity": "critical"}


def test_a_selector_matching_more_than_max_targets_is_an_error(advertiser, line_item):
    keywords = [KeywordFactory(line_item=line_item) for _ in range(3)]
    rule(advertiser, "pause_all", actions=[{"type": "pause", "target": {"kind": "keyword", "where": {"line_item": line_item.pk}},
                                            "max_targets": 2}])
    event = send(advertiser, "pause_all", {})
    assert "more than 2 targets" in event.matches.get().detail["error"]
    assert all(k.state == EntityState.ENABLED for k in Keyword.objects.filter(pk__in=[k.pk for k in keywords]))


def test_only_enabled_rules_of_the_events_advertiser_and_type_run(advertiser, line_item):
    ProductAdFactory(line_item=line_item, asin=ASIN)
    other = AdvertiserFactory()
    inventory_low_rule(other)
    rule(advertiser, "inventory_low", enabled=False, actions=[{"type": "alert", "message": "off"}])
    rule(advertiser, "inventory_high", actions=[{"type": "alert", "message": "wrong type"}])
    event = send(advertiser, "inventory_low", {"product": {"asin": ASIN}})
    assert (event.rules_matched, RuleMatch.objects.count()) == (0, 0)
    assert ProductAd.objects.get().state == EntityState.ENABLED


def test_a_selector_reading_a_missing_payload_field_selects_nothing(advertiser, line_item):
    ProductAdFactory(line_item=line_item, asin=ASIN)
    rule(advertiser, "inventory_low", actions=[{"type": "pause", "target": {"kind": "product_ad",
                                                                          "where": {"asin": {"path": "product.asin"}}}}])
    event = send(advertiser, "inventory_low", {"sku": "X"})
    assert event.matches.get().detail == {"reason": "payload has no product.asin"}


def test_a_target_deleted_after_the_rule_was_saved_is_reported_not_found(advertiser, line_item):
    ad = ProductAdFactory(line_item=line_item, asin=ASIN)
    made = rule(advertiser, "inventory_low", actions=[{"type": "pause", "target": {"kind": "product_ad", "ids": [ad.pk]}}])
    pk = ad.pk
    ad.delete()
    event = send(advertiser, "inventory_low", {})
    match = event.matches.get(rule=made)
    assert (match.status, match.target_id, match.detail) == (MatchStatus.ERROR, pk, {"error": "not found"})


def test_outcomes_carry_no_floats(advertiser, line_item):
    keyword = KeywordFactory(line_item=line_item, bid=D("0.50"))
    rule(advertiser, "x", actions=[{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]},
                                    "by_percent": D("2.5")}])
    event = send(advertiser, "x", {})
    assert event.matches.get().detail == {"field": "bid", "from": "0.50", "to": "0.51"}
    assert isinstance(Outcome(MatchStatus.APPLIED, {}).detail, dict)
