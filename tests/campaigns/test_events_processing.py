"""Processing events: claims, leases, the reconciler, retries and give-ups (database-level contracts)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone

from campaigns.choices import EntityState
from campaigns.models import Event, ProductAd, Rule, RuleMatch
from campaigns.rules.actions import ActionType, Outcome, register_action
from campaigns.rules.models import EventStatus, MatchStatus
from campaigns.rules.services import MAX_ATTEMPTS, event_ingest, event_process, events_reconcile, events_retry
from campaigns.tasks import process_event, reconcile_events
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory, ProductAdFactory

pytestmark = pytest.mark.django_db
ASIN = "B000TEST01"


class StealLease(ActionType):
    """Another worker takes the event over while this rule runs (its heartbeat looked stale)."""

    def apply(self, spec, ctx):
        Event.objects.filter(pk=ctx.event.pk).update(claim_token="another-worker")
        return [Outcome(MatchStatus.APPLIED, {"stole": True})]


class DatabaseAway(ActionType):
    def apply(self, spec, ctx):
        raise OperationalError("server closed the connection unexpectedly")


register_action("test_steal_lease", StealLease())
register_action("test_database_away", DatabaseAway())


@pytest.fixture
def product_ad(advertiser):
    return ProductAdFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)), asin=ASIN)


def pause_rule(advertiser, **fields):
    return Rule.objects.create(advertiser=advertiser, event_type="inventory_low", name=fields.pop("name", "pause"),
                               actions=[{"type": "pause", "target": {"kind": "product_ad",
                                                                     "where": {"asin": {"path": "product.asin"}}}}],
                               **fields)


def new_event(advertiser, event_id="e1", **fields) -> Event:
    event, _ = event_ingest(advertiser=advertiser, event_id=event_id, type="inventory_low",
                            occurred_at=timezone.now(), payload={"product": {"asin": ASIN}})
    if fields:
        Event.objects.filter(pk=event.pk).update(**fields)
    return event


def ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def test_an_event_held_by_a_live_worker_is_not_claimed_again(advertiser, product_ad):
    pause_rule(advertiser)
    event = new_event(advertiser, status=EventStatus.PROCESSING, claim_token="alive", heartbeat_at=timezone.now(), attempts=1)
    assert event_process(event_id=event.pk) == "not-claimed"
    product_ad.refresh_from_db()
    assert product_ad.state == EntityState.ENABLED


def test_an_event_whose_worker_went_silent_is_claimed_and_finished(advertiser, product_ad):
    pause_rule(advertiser)
    event = new_event(advertiser, status=EventStatus.PROCESSING, claim_token="dead", heartbeat_at=ago(10), attempts=1)
    assert event_process(event_id=event.pk) == "processed"
    event.refresh_from_db()
    assert (event.status, event.attempts, event.claim_token) == (EventStatus.PROCESSED, 2, "")


def test_a_worker_that_lost_its_lease_writes_nothing_more(advertiser, product_ad):
    Rule.objects.create(advertiser=advertiser, name="steal", event_type="inventory_low", priority=9,
                        actions=[{"type": "test_steal_lease"}])
    pause_rule(advertiser)
    event = new_event(advertiser)
    assert event_process(event_id=event.pk) == "lease-lost"
    product_ad.refresh_from_db()
    event.refresh_from_db()
    assert product_ad.state == EntityState.ENABLED  # the second rule never ran for this worker
    assert (event.status, event.claim_token) == (EventStatus.PROCESSING, "another-worker")
    assert list(RuleMatch.objects.values_list("rule__name", flat=True)) == ["steal"]


def test_a_database_outage_releases_the_event_for_a_retry_and_gives_up_after_the_last_attempt(advertiser):
    Rule.objects.create(advertiser=advertiser, name="db", event_type="inventory_low", actions=[{"type": "test_database_away"}])
    event = new_event(advertiser)
    with pytest.raises(OperationalError):
        event_process(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.QUEUED, 1)
    assert "server closed the connection" in event.error
    Event.objects.filter(pk=event.pk).update(attempts=MAX_ATTEMPTS - 1)
    with pytest.raises(OperationalError):
        event_process(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.FAILED, MAX_ATTEMPTS)
    assert event_process(event_id=event.pk) == "not-claimed"


def test_the_reconciler_requeues_lost_work_resends_forgotten_events_and_fails_exhausted_ones(
        advertiser, product_ad, django_capture_on_commit_callbacks):
    pause_rule(advertiser)
    lost = new_event(advertiser, "lost", status=EventStatus.PROCESSING, claim_token="dead", heartbeat_at=ago(10), attempts=1)
    forgotten = new_event(advertiser, "forgotten", heartbeat_at=ago(60))
    exhausted = new_event(advertiser, "exhausted", status=EventStatus.PROCESSING, heartbeat_at=ago(10), attempts=MAX_ATTEMPTS)
    alive = new_event(advertiser, "alive", status=EventStatus.PROCESSING, claim_token="alive", heartbeat_at=ago(0), attempts=1)
    recent = new_event(advertiser, "recent")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # Huey runs immediately in tests
        counts = events_reconcile()

    assert counts == {"requeued": 1, "resent": 1, "failed": 1}
    assert len(callbacks) == 1
    state = {e.event_id: (e.status, e.attempts) for e in Event.objects.all()}
    assert state["lost"] == (EventStatus.PROCESSED, 2)
    assert state["forgotten"] == (EventStatus.PROCESSED, 1)
    assert state["exhausted"] == (EventStatus.FAILED, MAX_ATTEMPTS)
    assert state["alive"] == (EventStatus.PROCESSING, 1)
    # Not resent (counts above), but the worker's batch took the queued event along.
    assert state["recent"] == (EventStatus.PROCESSED, 1)
    assert "Gave up after" in Event.objects.get(pk=exhausted.pk).error
    assert {lost.pk, forgotten.pk, alive.pk, recent.pk} >= set(RuleMatch.objects.values_list("event_id", flat=True))
    assert ProductAd.objects.get().state == EntityState.PAUSED


def test_the_reconcile_task_takes_thresholds_for_operators_who_know_the_workers_are_gone(advertiser, product_ad):
    pause_rule(advertiser)
    new_event(advertiser, status=EventStatus.PROCESSING, claim_token="dead", heartbeat_at=ago(0), attempts=1)
    reconcile_events.call_local()
    assert Event.objects.get().status == EventStatus.PROCESSING
    reconcile_events.call_local(heartbeat_stale_seconds=0)
    assert Event.objects.get().status == EventStatus.QUEUED


def test_the_task_processes_an_event_and_is_safe_to_deliver_twice(advertiser, product_ad):
    pause_rule(advertiser)
    event = new_event(advertiser)
    process_event(event.pk)  # HUEY_IMMEDIATE: runs now
    process_event(event.pk)
    event.refresh_from_db()
    assert (event.status, event.attempts, RuleMatch.objects.count()) == (EventStatus.PROCESSED, 1, 1)


def test_failed_events_can_be_retried_and_rules_that_ran_are_not_run_again(advertiser, product_ad,
                                                                            django_capture_on_commit_callbacks):
    keyword = KeywordFactory(line_item=product_ad.line_item, bid=Decimal("0.50"))
    Rule.objects.create(advertiser=advertiser, name="bid", event_type="inventory_low", priority=5, actions=[
        {"type": "adjust_bid", "target": {"kind": "keyword", "ids": [keyword.pk]}, "by_percent": 10}])
    flaky = Rule.objects.create(advertiser=advertiser, name="db", event_type="inventory_low",
                                actions=[{"type": "test_database_away"}])
    event = new_event(advertiser, attempts=MAX_ATTEMPTS - 1)
    with pytest.raises(OperationalError):
        event_process(event_id=event.pk)
    flaky.delete()  # the cause is fixed
    with django_capture_on_commit_callbacks(execute=True):
        assert events_retry(events=Event.objects.all()) == 1
    event.refresh_from_db()
    keyword.refresh_from_db()
    assert (event.status, keyword.bid) == (EventStatus.PROCESSED, Decimal("0.55"))


def test_an_invalid_rule_saved_around_validation_is_reported_not_fatal(advertiser, product_ad):
    broken = Rule.objects.create(advertiser=advertiser, name="broken", event_type="inventory_low",
                                 conditions={"path": "x", "op": "nope"}, actions=[{"type": "alert", "message": "m"}])
    pause_rule(advertiser)
    event = new_event(advertiser)
    event_process(event_id=event.pk)
    assert "invalid conditions" in RuleMatch.objects.get(rule=broken).detail["error"]
    assert ProductAd.objects.get().state == EntityState.PAUSED
