"""The rules engine in the ops console: scoped pages, matches inline, rules edited by traders."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Event, Rule, RuleMatch
from campaigns.rules.models import EventStatus
from campaigns.rules.services import event_ingest, event_process
from tests.campaigns.factories import CampaignFactory

pytestmark = pytest.mark.django_db
EVENTS = "/admin/campaigns/event/"
RULES = "/admin/campaigns/rule/"
MATCHES = "/admin/campaigns/rulematch/"


def staff(user):
    user.is_staff = True
    user.save()
    return user


def processed_event(advertiser, event_id="evt-1", message="alert for {sku}") -> Event:
    Rule.objects.get_or_create(advertiser=advertiser, name="alert", event_type="inventory_low",
                               defaults={"actions": [{"type": "alert", "message": message}]})
    event, _ = event_ingest(advertiser=advertiser, event_id=event_id, type="inventory_low",
                            occurred_at=timezone.now(), payload={"sku": f"SKU-{event_id}"})
    event_process(event_id=event.pk)
    return event


def rule_form(advertiser, **overrides) -> dict:
    return {"advertiser": advertiser.pk, "name": "Pause out of stock", "event_type": "inventory_low",
            "priority": 0, "enabled": "on",
            "conditions": json.dumps({"path": "units", "op": "lt", "value": 3}),
            "actions": json.dumps([{"type": "alert", "message": "low"}]), **overrides}


def test_an_event_page_shows_what_each_rule_did(admin_client_logged_in, advertiser):
    event = processed_event(advertiser)
    page = admin_client_logged_in.get(f"{EVENTS}{event.pk}/change/")
    assert page.status_code == 200
    assert "alert for SKU-evt-1" in page.content.decode()
    listing = admin_client_logged_in.get(EVENTS, {"status__exact": "processed"}).content.decode()
    assert "evt-1" in listing
    assert admin_client_logged_in.get(MATCHES).status_code == 200


def test_a_trader_sees_only_their_advertisers_events_rules_and_matches(client, trader, advertiser, other_advertiser):
    mine = processed_event(advertiser, "mine-1")
    theirs = processed_event(other_advertiser, "theirs-1")
    client.force_login(staff(trader))
    listing = client.get(EVENTS).content.decode()
    assert "mine-1" in listing and "theirs-1" not in listing
    assert other_advertiser.name not in listing  # not even in the advertiser filter
    assert client.get(f"{EVENTS}{mine.pk}/change/").status_code == 200
    assert client.get(f"{EVENTS}{theirs.pk}/change/").status_code == 302  # "does not exist"
    their_rule = Rule.objects.get(advertiser=other_advertiser)
    assert client.get(f"{RULES}{their_rule.pk}/change/").status_code == 302
    their_match = RuleMatch.objects.get(advertiser=other_advertiser)
    assert client.get(f"{MATCHES}{their_match.pk}/change/").status_code == 302
    assert "theirs-1" not in client.get(MATCHES).content.decode()


def test_a_trader_adds_a_rule_and_malformed_ones_are_shown_why(client, trader, advertiser):
    client.force_login(staff(trader))
    bad = client.post(f"{RULES}add/", rule_form(advertiser, conditions=json.dumps({"path": "units", "op": "below", "value": 3})))
    assert bad.status_code == 200 and "unknown operator" in bad.content.decode()
    budget = client.post(f"{RULES}add/", rule_form(advertiser, actions=json.dumps([
        {"type": "adjust_budget", "target": {"kind": "campaign", "ids": [CampaignFactory(advertiser=advertiser).pk]},
         "by_percent": 10}])))
    assert "need the manager role" in budget.content.decode()
    assert client.post(f"{RULES}add/", rule_form(advertiser)).status_code == 302
    rule = Rule.objects.get()
    assert (rule.created_by, str(rule.conditions["value"])) == (trader, "3")


def test_a_viewer_reads_rules_but_cannot_change_them(client, viewer, advertiser):
    rule = Rule.objects.create(advertiser=advertiser, name="r", event_type="x", actions=[{"type": "alert", "message": "m"}])
    client.force_login(staff(viewer))
    assert client.get(f"{RULES}{rule.pk}/change/").status_code == 200
    assert client.post(f"{RULES}{rule.pk}/change/", rule_form(advertiser)).status_code == 403
    assert client.post(f"{RULES}add/", rule_form(advertiser)).status_code == 403
    assert Rule.objects.get().name == "r"


def test_failed_events_are_retried_from_the_changelist(client, trader, advertiser, django_capture_on_commit_callbacks):
    event = processed_event(advertiser)
    RuleMatch.objects.all().delete()
    Event.objects.filter(pk=event.pk).update(status=EventStatus.FAILED, error="boom")
    client.force_login(staff(trader))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EVENTS, {"action": "retry_failed", "_selected_action": [event.pk]}, follow=True)
    assert "Queued 1 failed event(s) again" in response.content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED


@pytest.mark.parametrize("url", [EVENTS, RULES, MATCHES])
def test_changelists_cost_the_same_queries_whatever_the_number_of_rows(client, trader, advertiser, url,
                                                                      django_assert_num_queries):
    client.force_login(staff(trader))
    processed_event(advertiser, "e0")
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(1, 8):
        processed_event(advertiser, f"e{n}")
        Rule.objects.create(advertiser=advertiser, name=f"r{n}", event_type="other", actions=[{"type": "alert", "message": "m"}])
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)
