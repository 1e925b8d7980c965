"""POST /api/v1/campaigns/events/: 202 at once, idempotent on event_id, tenancy, exact numbers."""

import json

import pytest

from campaigns.choices import EntityState
from campaigns.models import Event, ProductAd, Rule, RuleMatch
from campaigns.rules.models import EventStatus
from tests.campaigns.factories import AdvertiserFactory, LineItemFactory, ProductAdFactory, CampaignFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/campaigns/events/"
ASIN = "B000TEST01"


def body(advertiser, event_id="evt-1", **overrides) -> dict:
    return {"event_id": event_id, "type": "inventory_low", "occurred_at": "2026-11-20T08:00:00Z",
            "advertiser": advertiser.pk, "payload": {"product": {"asin": ASIN}, "units": 2}, **overrides}


def post(client, data, **headers):
    return client.post(URL, json.dumps(data) if not isinstance(data, str) else data,
                       content_type="application/json", headers=headers)


@pytest.fixture
def client_(api_for, trader):
    return api_for(trader)


@pytest.fixture
def product_ad(advertiser):
    return ProductAdFactory(line_item=LineItemFactory(campaign=CampaignFactory(advertiser=advertiser)), asin=ASIN)


@pytest.fixture
def pause_rule(advertiser):
    return Rule.objects.create(advertiser=advertiser, name="pause", event_type="inventory_low", actions=[
        {"type": "pause", "target": {"kind": "product_ad", "where": {"asin": {"path": "product.asin"}}}}])


def test_an_event_is_accepted_with_202_and_processed_after_commit(client_, advertiser, product_ad, pause_rule,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client_, body(advertiser), **{"X-Request-ID": "req-evt-1"})
    assert response.status_code == 202
    answer = response.json()
    assert (answer["status"], answer["duplicate"], answer["event_id"]) == ("queued", False, "evt-1")
    assert len(callbacks) == 1  # the enqueue waits for the commit
    event = Event.objects.get()
    assert (event.status, event.request_id, event.rules_matched) == (EventStatus.PROCESSED, "req-evt-1", 1)
    product_ad.refresh_from_db()
    assert product_ad.state == EntityState.PAUSED


def test_the_same_event_twice_is_stored_and_processed_once_and_the_replay_says_so(
        client_, advertiser, product_ad, pause_rule, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client_, body(advertiser))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post(client_, body(advertiser, payload={"units": 2, "product": {"asin": ASIN}}))  # keys reordered
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["duplicate"] is True
    assert (again.json()["id"], again.json()["status"]) == (first.json()["id"], "processed")
    assert callbacks == []  # nothing enqueued the second time
    assert (Event.objects.count(), RuleMatch.objects.count()) == (1, 1)


def test_the_same_event_id_with_a_different_body_is_refused_with_409(client_, advertiser):
    assert post(client_, body(advertiser)).status_code == 202
    response = post(client_, body(advertiser, payload={"product": {"asin": ASIN}, "units": 3}))
    assert response.status_code == 409
    assert response.json()["event_id"] == "evt-1"
    assert Event.objects.get().payload["units"] == 2


def test_equal_numbers_written_differently_are_the_same_body(client_, advertiser):
    assert post(client_, '{"event_id": "n", "type": "t", "occurred_at": "2026-11-20T09:00:00+01:00", '
                         f'"advertiser": {advertiser.pk}, "payload": {{"p": 1.50}}}}').status_code == 202
    replay = post(client_, '{"event_id": "n", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", '
                           f'"advertiser": {advertiser.pk}, "payload": {{"p": 1.5}}}}')
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)


def test_the_idempotency_key_header_can_carry_the_event_id(client_, advertiser):
    data = body(advertiser)
    del data["event_id"]
    response = post(client_, data, **{"Idempotency-Key": "key-42"})
    assert (response.status_code, response.json()["event_id"]) == (202, "key-42")
    assert post(client_, data, **{"Idempotency-Key": "key-42"}).json()["duplicate"] is True
    conflict = post(client_, body(advertiser, event_id="other"), **{"Idempotency-Key": "key-43"})
    assert conflict.status_code == 400 and "Idempotency-Key" in conflict.json()["event_id"][0]
    assert post(client_, data).json() == {"event_id": ["Required (or send the Idempotency-Key header)."]}


def test_event_ids_are_unique_per_advertiser_not_globally(api_for, make_member, advertiser, other_advertiser):
    both = make_member(advertiser, "trader")
    from campaigns.models import Membership

    Membership.objects.create(user=both, advertiser=other_advertiser, role="trader")
    client = api_for(both)
    assert post(client, body(advertiser)).status_code == 202
    assert post(client, body(other_advertiser, payload={"x": 1})).status_code == 202


@pytest.mark.parametrize("role", [None, "viewer"])
def test_an_advertiser_the_caller_cannot_write_to_is_refused_like_one_that_does_not_exist(
        api_for, make_member, advertiser, role):
    user = make_member(advertiser, role) if role else make_member(AdvertiserFactory(), "trader")
    client = api_for(user)
    refused = post(client, body(advertiser))
    missing = post(client, {**body(advertiser), "advertiser": 999999})
    assert refused.status_code == missing.status_code == 400
    assert refused.json()["advertiser"][0].replace(str(advertiser.pk), "N") == \
        missing.json()["advertiser"][0].replace("999999", "N")
    assert not Event.objects.exists()


@pytest.mark.parametrize("raw,field", [
    ('{"event_id": "e", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": ADV, "payload": [1]}', "payload"),
    ('{"event_id": "e", "type": "Bad Type", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": ADV, "payload": {}}', "type"),
    ('{"event_id": "e e", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": ADV, "payload": {}}', "event_id"),
    ('{"event_id": "e", "type": "t", "occurred_at": "yesterday", "advertiser": ADV, "payload": {}}', "occurred_at"),
    ('{"event_id": "e", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": ADV, "payload": {"p": NaN}}', "detail"),
    ('{"event_id": "e", "type": "t"', "detail"),
])
def test_bad_input_is_refused_whole_and_nothing_is_stored(client_, advertiser, raw, field):
    response = post(client_, raw.replace("ADV", str(advertiser.pk)))
    assert response.status_code == 400 and field in response.json()
    assert not Event.objects.exists()


def test_payload_numbers_are_stored_and_returned_with_their_exact_digits(client_, advertiser):
    raw = ('{"event_id": "d", "type": "price_change", "occurred_at": "2026-11-20T08:00:00Z", '
           f'"advertiser": {advertiser.pk}, "payload": {{"price": 19.990, "big": 12345678901234567890.123456789}}}}')
    response = post(client_, raw)
    assert '"price":19.990' in response.content.decode() and "12345678901234567890.123456789" in response.content.decode()
    stored = client_.get(f"{URL}{response.json()['id']}/").content.decode()
    assert '"price":19.990' in stored and "12345678901234567890.123456789" in stored


def test_events_are_listed_and_read_only_within_the_callers_advertisers(api_for, viewer, advertiser, other_advertiser, client_):
    post(client_, body(advertiser))
    theirs = Event.objects.create(advertiser=other_advertiser, event_id="x", type="t", occurred_at="2026-11-20T08:00:00Z",
                                  payload={}, body_hash="-")
    client = api_for(viewer)
    listed = client.get(URL).json()
    assert [e["event_id"] for e in listed["results"]] == ["evt-1"]
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.get(URL, {"advertiser": other_advertiser.pk}).json()["results"] == []
    assert client.get(URL, {"status": "processed"}).json()["results"] == []
    assert post(client, body(advertiser, event_id="by-viewer")).status_code == 400


def test_events_need_authentication(anon_api, advertiser):
    assert anon_api.post(URL, body(advertiser), format="json").status_code == 401
    assert anon_api.get(URL).status_code == 401


def test_listing_events_costs_the_same_queries_whatever_the_page_size(client_, advertiser, django_assert_num_queries):
    for n in range(12):
        post(client_, body(advertiser, event_id=f"e{n}"))
    with django_assert_num_queries(3) as small:  # token, count, page (the scope is a subquery)
        client_.get(URL, {"page_size": 2})
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client_.get(URL, {"page_size": 12}).json()["results"]) == 12


def test_a_viewer_cannot_see_events_of_an_advertiser_after_losing_the_membership(api_for, viewer, advertiser, client_):
    post(client_, body(advertiser))
    viewer.memberships.all().delete()
    assert api_for(viewer).get(URL).json()["results"] == []
    assert ProductAd.objects.count() == 0


def test_an_accepted_event_costs_two_queries_the_token_and_the_insert(client_, advertiser, django_assert_num_queries):
    with django_assert_num_queries(2) as captured:  # the caller's access is checked inside the INSERT
        assert post(client_, body(advertiser)).status_code == 202
    assert captured.captured_queries[1]["sql"].startswith("INSERT")


@pytest.mark.parametrize("raw,field,message", [
    ("[1, 2]", "non_field_errors", "Invalid data. Expected a dictionary, but got list."),
    ('{"event_id": "e", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": true, "payload": {}}',
     "advertiser", "Incorrect type. Expected pk value, received bool."),
    ('{"event_id": "e", "type": "t", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": -3, "payload": {}}',
     "advertiser", 'Invalid pk "-3" - object does not exist.'),
    ('{"event_id": "e", "occurred_at": "2026-11-20T08:00:00Z", "advertiser": 1, "payload": {}}',
     "type", "This field is required."),
])
def test_refusals_read_as_drf_would_word_them(client_, advertiser, raw, field, message):
    response = post(client_, raw)
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not Event.objects.exists()


def test_an_event_sent_inside_a_transaction_twice_leaves_the_transaction_usable(advertiser):
    from django.db import transaction
    from django.utils import timezone

    from campaigns.rules.services import event_ingest

    with transaction.atomic():
        first, created = event_ingest(advertiser=advertiser, event_id="tx", type="t", occurred_at=timezone.now(),
                                      payload={"a": 1})
        again, created_again = event_ingest(advertiser=advertiser, event_id="tx", type="t",
                                            occurred_at=first.occurred_at, payload={"a": 1})
        assert (created, created_again, again.pk) == (True, False, first.pk)
        assert Event.objects.count() == 1  # the transaction still answers


@pytest.mark.parametrize("header,message", [
    ("Token 0000000000000000000000000000000000000000", "Invalid token."),
    ("Token '--OR--'1'='1", "Invalid token."),
    ("Token", "Invalid token header. No credentials provided."),
])
def test_the_intakes_token_check_refuses_bad_tokens_with_401_and_stores_nothing(anon_api, advertiser, header, message):
    anon_api.credentials(HTTP_AUTHORIZATION=header)
    response = anon_api.post(URL, body(advertiser), format="json")
    assert (response.status_code, response.json()) == (401, {"detail": message})
    assert not Event.objects.exists()


def test_the_intake_refuses_the_token_of_a_deactivated_user(api_for, trader, advertiser):
    client = api_for(trader)
    trader.is_active = False
    trader.save(update_fields=["is_active"])
    response = post(client, body(advertiser))
    assert (response.status_code, response.json()) == (401, {"detail": "User inactive or deleted."})
    assert not Event.objects.exists()


def test_the_intake_authenticates_the_tokens_own_user(api_for, trader, viewer, advertiser):
    """The lookup reads the user row joined to the token: another user's token acts as that user."""
    assert post(api_for(trader), body(advertiser)).status_code == 202
    refused = post(api_for(viewer), body(advertiser, event_id="evt-2"))  # a viewer may not send events
    assert refused.status_code == 400 and "advertiser" in refused.json()
    assert list(Event.objects.values_list("event_id", flat=True)) == ["evt-1"]


@pytest.mark.parametrize("advertiser_value,message", [
    ("9223372036854775808", 'Invalid pk "9223372036854775808" - object does not exist.'),
    (10**30, f'Invalid pk "{10**30}" - object does not exist.'),
    ("abc", "Incorrect type. Expected pk value, received str."),
    (1.5, "Incorrect type. Expected pk value, received Decimal."),
    (None, "Incorrect type. Expected pk value, received NoneType."),
])
def test_advertiser_ids_out_of_range_or_of_the_wrong_type_are_refused(client_, advertiser, advertiser_value, message):
    response = post(client_, {**body(advertiser), "advertiser": advertiser_value})
    assert (response.status_code, response.json()) == (400, {"advertiser": [message]})
    assert not Event.objects.exists()


def test_a_payload_over_the_size_limit_is_refused(client_, advertiser):
    from campaigns.rules.api.serializers import MAX_PAYLOAD_BYTES

    response = post(client_, body(advertiser, payload={"blob": "x" * MAX_PAYLOAD_BYTES}))
    assert response.status_code == 400 and "larger than" in response.json()["payload"][0]
    assert not Event.objects.exists()
