"""Events processed in batches: one task takes queued events along, each event keeps its own fate,
and rules are read afresh for every batch."""

import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.choices import EntityState
from campaigns.models import ChangeRecord, Event, Keyword, ProductAd, Rule, RuleMatch
from campaigns.rules.actions import ActionType, Outcome, register_action
from campaigns.rules.models import EventStatus, MatchStatus
from campaigns import tasks as campaigns_tasks
from campaigns.rules import processing
from campaigns.rules.processing import finished_here_recently
from campaigns.rules.services import event_ingest, event_process
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory, ProductAdFactory

pytestmark = pytest.mark.django_db
ASIN = "B000TEST01"


class DatabaseAwayOnBoom(ActionType):
    """Stands for a database error that only one event's processing runs into."""

    def apply(self, spec, ctx):
        if ctx.event.payload.get("boom"):
            raise OperationalError("deadlock detected")
        return [Outcome(MatchStatus.APPLIED, {"boom": False})]


class StealLeaseOnSteal(ActionType):
    """Another worker takes this one event over while its rule runs."""

    def apply(self, spec, ctx):
        if ctx.event.payload.get("steal"):
            Event.objects.filter(pk=ctx.event.pk).update(claim_token="another-worker")
        return [Outcome(MatchStatus.APPLIED, {})]


register_action("test_database_away_on_boom", DatabaseAwayOnBoom())
register_action("test_steal_lease_on_steal", StealLeaseOnSteal())


@pytest.fixture
def line_item(advertiser):
    return LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))


@pytest.fixture
def product_ad(line_item):
    return ProductAdFactory(line_item=line_item, asin=ASIN)


def pause_rule(advertiser, **fields):
    return Rule.objects.create(advertiser=advertiser, event_type="inventory_low", name=fields.pop("name", "pause"),
                               actions=[{"type": "pause", "target": {"kind": "product_ad",
                                                                     "where": {"asin": {"path": "product.asin"}}}}],
                               **fields)


def ingest(advertiser, event_id, payload=None, type_="inventory_low") -> Event:
    event, _ = event_ingest(advertiser=advertiser, event_id=event_id, type=type_, occurred_at=timezone.now(),
                            payload=payload if payload is not None else {"product": {"asin": ASIN}})
    return event


def state(event) -> tuple:
    event.refresh_from_db()
    return event.status, event.attempts


def test_one_task_processes_the_queued_events_with_its_own_and_the_others_tasks_find_nothing_left(
        advertiser, product_ad):
    pause_rule(advertiser)
    events = [ingest(advertiser, f"e{n}") for n in range(4)]
    assert event_process(event_id=events[2].pk) == "processed"
    assert [state(e) for e in events] == [(EventStatus.PROCESSED, 1)] * 4
    assert [event_process(event_id=e.pk) for e in events] == ["not-claimed"] * 4
    assert RuleMatch.objects.filter(status=MatchStatus.APPLIED).count() == 1  # paused once
    assert RuleMatch.objects.filter(status=MatchStatus.SKIPPED).count() == 3  # already paused


def test_a_batch_is_no_bigger_than_the_setting(advertiser, settings):
    settings.RULE_EVENT_BATCH_SIZE = 2
    events = [ingest(advertiser, f"e{n}") for n in range(3)]
    event_process(event_id=events[0].pk)
    assert [state(e)[0] for e in events] == [EventStatus.PROCESSED, EventStatus.PROCESSED, EventStatus.QUEUED]


def test_a_task_whose_event_is_taken_takes_no_others(advertiser):
    first, second = ingest(advertiser, "e1"), ingest(advertiser, "e2")
    Event.objects.filter(pk=first.pk).update(status=EventStatus.PROCESSED)
    assert event_process(event_id=first.pk) == "not-claimed"
    assert state(second) == (EventStatus.QUEUED, 0)  # left to its own task


def test_events_that_failed_before_wait_for_their_own_delivery(advertiser):
    first, failed = ingest(advertiser, "e1"), ingest(advertiser, "e2")
    Event.objects.filter(pk=failed.pk).update(attempts=1, error="OperationalError: deadlock detected")
    event_process(event_id=first.pk)
    assert state(failed) == (EventStatus.QUEUED, 1)  # keeps its retry delay
    assert event_process(event_id=failed.pk) == "processed"


def test_the_work_of_a_batch_costs_a_fixed_number_of_queries_not_a_few_per_event(advertiser):
    Rule.objects.create(advertiser=advertiser, name="never", event_type="inventory_low",
                        conditions={"path": "never", "op": "exists"}, actions=[{"type": "alert", "message": "m"}])

    def queries_for(count: int, prefix: str) -> int:
        events = [ingest(advertiser, f"{prefix}{n}") for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            event_process(event_id=events[0].pk)
        assert all(state(e)[0] == EventStatus.PROCESSED for e in events)
        return len(captured.captured_queries)

    assert queries_for(2, "a") == queries_for(12, "b")


def test_a_database_error_in_one_event_releases_it_alone_and_the_batch_carries_on(advertiser, product_ad):
    from huey.contrib.djhuey import HUEY

    Rule.objects.create(advertiser=advertiser, name="db", event_type="inventory_low", priority=5,
                        actions=[{"type": "test_database_away_on_boom"}])
    pause_rule(advertiser)
    own, bad, other = (ingest(advertiser, "own", {"product": {"asin": "B000OTHER1"}}),
                       ingest(advertiser, "bad", {"product": {"asin": ASIN}, "boom": True}),
                       ingest(advertiser, "other", {"product": {"asin": ASIN}}))
    scheduled_before = len(HUEY.scheduled())

    assert event_process(event_id=own.pk) == "processed"

    bad.refresh_from_db()
    assert (bad.status, bad.attempts, bad.claim_token) == (EventStatus.QUEUED, 1, "")
    assert "deadlock detected" in bad.error
    assert not RuleMatch.objects.filter(event=bad).exists()  # its rule rolled back whole
    assert state(other) == (EventStatus.PROCESSED, 1)
    assert ProductAd.objects.get().state == EntityState.PAUSED  # by the other event
    # Its own task came and went while the batch held it: it is delivered again after the delay.
    assert [t.args for t in HUEY.scheduled()[scheduled_before:]] == [(bad.pk,)]


def test_a_database_error_in_the_tasks_own_event_is_raised_after_the_others_are_done(advertiser, product_ad):
    Rule.objects.create(advertiser=advertiser, name="db", event_type="inventory_low",
                        actions=[{"type": "test_database_away_on_boom"}])
    own, other = ingest(advertiser, "own", {"boom": True}), ingest(advertiser, "other", {})
    with pytest.raises(OperationalError):
        event_process(event_id=own.pk)
    assert state(own) == (EventStatus.QUEUED, 1)
    assert state(other) == (EventStatus.PROCESSED, 1)


def test_an_event_whose_lease_is_taken_stops_alone(advertiser, product_ad):
    Rule.objects.create(advertiser=advertiser, name="steal", event_type="inventory_low", priority=5,
                        actions=[{"type": "test_steal_lease_on_steal"}])
    pause_rule(advertiser)
    stolen = ingest(advertiser, "stolen", {"product": {"asin": "B000OTHER1"}, "steal": True})
    other = ingest(advertiser, "other", {"product": {"asin": ASIN}})
    assert event_process(event_id=stolen.pk) == "lease-lost"
    stolen.refresh_from_db()
    assert (stolen.status, stolen.claim_token) == (EventStatus.PROCESSING, "another-worker")
    assert list(RuleMatch.objects.filter(event=stolen).values_list("rule__name", flat=True)) == ["steal"]
    assert state(other) == (EventStatus.PROCESSED, 1)
    assert ProductAd.objects.get().state == EntityState.PAUSED


def test_a_rule_edited_between_batches_applies_as_edited(advertiser, line_item):
    keyword = KeywordFactory(line_item=line_item, bid=Decimal("0.50"))
    raise_bid = Rule.objects.create(advertiser=advertiser, name="raise", event_type="competitor_price_drop",
                                    actions=[{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]},
                                              "by_percent": 10}])
    event_process(event_id=ingest(advertiser, "e1", {}, "competitor_price_drop").pk)
    raise_bid.actions = [{"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]}, "by_percent": 20}]
    raise_bid.save()
    event_process(event_id=ingest(advertiser, "e2", {}, "competitor_price_drop").pk)
    Rule.objects.filter(pk=raise_bid.pk).update(enabled=False)  # .update(): no save() to hook into
    event_process(event_id=ingest(advertiser, "e3", {}, "competitor_price_drop").pk)
    keyword.refresh_from_db()
    assert keyword.bid == Decimal("0.66")  # 0.50 +10 % = 0.55, +20 % = 0.66, then nothing
    assert list(ChangeRecord.objects.filter(object_id=keyword.pk, source="rule").values_list(
        "new_value", flat=True).order_by("pk")) == ["0.55", "0.66"]


def test_targets_come_with_their_parents_and_only_from_the_events_advertiser(advertiser, other_advertiser, line_item):
    mine = [KeywordFactory(line_item=line_item, text=f"kw {n}", bid=Decimal("0.50")) for n in range(3)]
    archived = KeywordFactory(line_item=line_item, text="old", bid=Decimal("0.50"), state=EntityState.ARCHIVED)
    negative = KeywordFactory(line_item=line_item, text="neg", bid=None, match_type="negativeExact")
    theirs = KeywordFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=other_advertiser)),
                            bid=Decimal("0.50"))
    Rule.objects.create(advertiser=advertiser, name="raise", event_type="competitor_price_drop", actions=[
        {"type": "adjust_bid", "target": {"kind": "keyword", "where": {"campaign": line_item.campaign_id}},
         "by_percent": 10}])
    event_process(event_id=ingest(advertiser, "e1", {}, "competitor_price_drop").pk)
    bids = dict(Keyword.objects.values_list("pk", "bid"))
    assert [bids[k.pk] for k in mine] == [Decimal("0.55")] * 3
    assert (bids[archived.pk], bids[negative.pk], bids[theirs.pk]) == (Decimal("0.50"), None, Decimal("0.50"))
    assert sorted(RuleMatch.objects.values_list("target_id", flat=True)) == [k.pk for k in mine]



def test_a_bid_rule_costs_the_same_statements_for_three_keywords_or_twelve(advertiser, line_item):
    """The targets come with everything validation and history read (their timestamps stay
    deferred and are never loaded one by one), and the services join the rule's transaction
    without savepoints of their own."""
    rule = Rule.objects.create(advertiser=advertiser, name="raise", event_type="competitor_price_drop", actions=[
        {"type": "adjust_bid", "target": {"kind": "keyword", "where": {"line_item": line_item.pk}}, "by_percent": 10}])

    def statements_for(count: int, event_id: str) -> list[str]:
        Keyword.objects.filter(line_item=line_item).delete()
        RuleMatch.objects.filter(rule=rule).delete()
        keywords = [KeywordFactory(line_item=line_item, text=f"kw {n}", bid=Decimal("0.50")) for n in range(count)]
        event = ingest(advertiser, event_id, {}, "competitor_price_drop")
        with CaptureQueriesContext(connection) as captured:
            event_process(event_id=event.pk)
        assert set(Keyword.objects.filter(pk__in=[k.pk for k in keywords]).values_list("bid", flat=True)) == {
            Decimal("0.55")}
        return [q["sql"].split()[0] for q in captured.captured_queries]

    few, many = statements_for(3, "few"), statements_for(12, "many")
    assert few == many
    assert few.count("SAVEPOINT") == 1  # the rule's own transaction (a savepoint inside the test's)


@pytest.fixture
def fresh_memory():
    processing._finished_here.clear()
    yield processing._finished_here
    processing._finished_here.clear()


def test_the_worker_remembers_what_its_batch_finished_for_half_the_reconcilers_threshold(
        advertiser, other_advertiser, product_ad, fresh_memory, settings):
    pause_rule(advertiser)
    events = [ingest(advertiser, f"m{n}") for n in range(3)]
    stray = ingest(other_advertiser, "elsewhere")
    event_process(event_id=events[0].pk)
    assert [finished_here_recently(e.pk) for e in events] == [True, True, True]
    assert not finished_here_recently(stray.pk)  # another advertiser's: not in the batch
    settings.RULE_EVENT_HEARTBEAT_STALE_SECONDS = 0.02  # the memory lasts 0.01 s now
    time.sleep(0.02)
    assert [finished_here_recently(e.pk) for e in events] == [False, False, False]


def test_a_workers_task_for_an_event_its_batch_finished_costs_no_query(
        advertiser, product_ad, fresh_memory, monkeypatch, django_assert_num_queries):
    pause_rule(advertiser)
    events = [ingest(advertiser, f"t{n}") for n in range(2)]
    event_process(event_id=events[0].pk)
    monkeypatch.setattr(campaigns_tasks, "HUEY", SimpleNamespace(immediate=False))  # as in a worker
    with django_assert_num_queries(0):
        campaigns_tasks.process_event.call_local(events[1].pk)
    assert state(events[1]) == (EventStatus.PROCESSED, 1)


def test_inline_runs_always_ask_the_database(advertiser, product_ad, fresh_memory, django_assert_max_num_queries):
    """Immediate mode shares its process with rolled-back test transactions that can hand an id
    out again (SQLite): the memory is not consulted there."""
    pause_rule(advertiser)
    events = [ingest(advertiser, f"i{n}") for n in range(2)]
    event_process(event_id=events[0].pk)
    Event.objects.filter(pk=events[1].pk).update(status=EventStatus.QUEUED, claim_token="")  # as a reused id would be
    campaigns_tasks.process_event.call_local(events[1].pk)
    assert state(events[1])[0] == EventStatus.PROCESSED
    assert RuleMatch.objects.filter(event=events[1]).exists()


class StealLeaseWritingNothing(ActionType):
    """Declares no writes (like an alert), and meanwhile another worker takes the event over."""

    writes_to_database = False

    def apply(self, spec, ctx):
        Event.objects.filter(pk=ctx.event.pk).update(claim_token="another-worker")
        return [Outcome(MatchStatus.APPLIED, {})]


register_action("test_steal_lease_writing_nothing", StealLeaseWritingNothing())


def alert_rule(advertiser, **fields):
    return Rule.objects.create(advertiser=advertiser, event_type="inventory_low", name=fields.pop("name", "alert"),
                               actions=fields.pop("actions", [{"type": "alert", "message": "low: {product.asin}"}]),
                               **fields)


def test_an_alert_rule_is_recorded_by_one_statement_that_checks_the_lease(advertiser):
    rule = alert_rule(advertiser)
    event = ingest(advertiser, "alert-1")
    with CaptureQueriesContext(connection) as queries:
        assert event_process(event_id=event.pk) == "processed"
    match = RuleMatch.objects.get(event=event, rule=rule)
    assert (match.status, match.detail["message"]) == (MatchStatus.APPLIED, f"low: {ASIN}")
    sql = [q["sql"] for q in queries.captured_queries]
    recorded = [s for s in sql if "INSERT INTO" in s and "rulematch" in s]
    assert len(recorded) == 1 and "claim_token" in recorded[0]
    if connection.vendor == "postgresql":  # by the finish itself, for the events it marks
        assert recorded[0].startswith("WITH done AS (UPDATE") and "JOIN done" in recorded[0]
        assert len([s for s in sql if s.startswith(("UPDATE", "WITH")) and "processed_at =" in s]) == 1
    else:  # one INSERT that checks the lease in its WHERE
        assert "WHERE EXISTS" in recorded[0]
    assert not any(s.lstrip().startswith("SELECT status") or "SELECT status FROM" in s for s in sql)  # no separate fence


def test_the_alerts_of_a_batch_are_recorded_each_with_its_own_event(advertiser):
    rule = alert_rule(advertiser)
    events = [ingest(advertiser, f"alerts-{n}", {"product": {"asin": f"B00000000{n}"}}) for n in range(5)]
    assert event_process(event_id=events[0].pk) == "processed"
    assert dict(RuleMatch.objects.filter(rule=rule).values_list("event_id", "detail__message")) == {
        e.pk: f"low: B00000000{n}" for n, e in enumerate(events)}
    assert {state(e)[0] for e in events} == {EventStatus.PROCESSED}



def test_alert_texts_are_recorded_exactly_whatever_their_characters(advertiser):
    rule = alert_rule(advertiser)
    awkward = ['quote " backslash \\ braces {x} comma, ü 日本', "NULL", "", "'; DROP TABLE x; --", "\\N"]
    events = [ingest(advertiser, f"odd-{n}", {"product": {"asin": text}}) for n, text in enumerate(awkward)]
    event_process(event_id=events[0].pk)
    assert [RuleMatch.objects.get(event=e, rule=rule).detail["message"] for e in events] == [
        f"low: {text}" for text in awkward]

def test_an_event_failing_after_its_alert_ran_has_that_alert_recorded_once(advertiser):
    alert = alert_rule(advertiser, priority=10)
    Rule.objects.create(advertiser=advertiser, event_type="inventory_low", name="boom", priority=1,
                        actions=[{"type": "test_database_away_on_boom"}])
    event = ingest(advertiser, "alert-boom", {"product": {"asin": ASIN}, "boom": True})
    with pytest.raises(OperationalError):
        event_process(event_id=event.pk)
    assert state(event) == (EventStatus.QUEUED, 1)
    if connection.vendor == "postgresql":  # waiting for the finish, it went with the failed attempt
        assert not RuleMatch.objects.filter(event=event, rule=alert).exists()
    Event.objects.filter(pk=event.pk).update(payload={"product": {"asin": ASIN}})  # the cause fixed
    assert event_process(event_id=event.pk) == "processed"
    assert RuleMatch.objects.filter(event=event, rule=alert).count() == 1


def test_an_alert_rule_whose_lease_is_gone_records_nothing(advertiser):
    rule = alert_rule(advertiser, actions=[{"type": "test_steal_lease_writing_nothing"}])
    event = ingest(advertiser, "alert-stolen")
    assert event_process(event_id=event.pk) == "lease-lost"
    assert not RuleMatch.objects.filter(event=event, rule=rule).exists()
    assert Event.objects.get(pk=event.pk).claim_token == "another-worker"  # left to the new holder


def test_an_alert_rule_already_recorded_is_not_recorded_twice(advertiser):
    rule = alert_rule(advertiser)
    event = ingest(advertiser, "alert-again")
    event_process(event_id=event.pk)
    # As after a finish lost with its attempt count: the rule runs again, its match is already there
    # (the unique constraint refuses the second one, inside the same single statement).
    Event.objects.filter(pk=event.pk).update(status=EventStatus.QUEUED, claim_token="", error="", attempts=0)
    assert event_process(event_id=event.pk) == "processed"
    assert RuleMatch.objects.filter(event=event, rule=rule).count() == 1


def test_a_batch_finishes_in_one_statement_and_each_event_keeps_its_own_match_count(advertiser, product_ad):
    alert_rule(advertiser, name="low", conditions={"path": "inventory.units", "op": "lt", "value": 5})
    alert_rule(advertiser, name="very low", conditions={"path": "inventory.units", "op": "lt", "value": 2})
    events = [ingest(advertiser, f"count-{units}", {"product": {"asin": ASIN}, "inventory": {"units": units}})
              for units in (9, 3, 1)]
    with CaptureQueriesContext(connection) as queries:
        event_process(event_id=events[0].pk)
    finishing = [q["sql"] for q in queries.captured_queries if "processed_at" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(finishing) == 1
    assert [Event.objects.get(pk=e.pk).rules_matched for e in events] == [0, 1, 2]
    assert {Event.objects.get(pk=e.pk).status for e in events} == {EventStatus.PROCESSED}
