"""Retries and typed errors, with faults injected by the fake over real HTTP."""

import pytest
import requests

from backend.observability.context import request_id_var
from integrations.amazon.errors import (
    ClientError,
    ConflictError,
    ForbiddenError,
    MediaTypeError,
    NotFound,
    RequestTimeout,
    ServerError,
    ThrottledError,
    TransportError,
    ValidationError,
)
from integrations.amazon.retry import NO_RETRIES, RetryPolicy, parse_retry_after
from tests.integrations.payloads import ad_group_payload, campaign_payload

PROFILES = "GET /v2/profiles"


def test_a_429_with_retry_after_waits_exactly_that_long(fake_dsp, amazon, clock):
    fake_dsp.set_faults([{"route": PROFILES, "status": 429, "retry_after": 7, "times": 2}])
    assert amazon.list_profiles()
    assert clock.sleeps == [7.0, 7.0]
    assert amazon.stats.counts["throttled"] == 2
    assert amazon.stats.counts["api"] == 3


def test_a_429_without_retry_after_backs_off_exponentially_with_jitter(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0))
    fake_dsp.set_faults([{"route": PROFILES, "status": 429, "times": 4}])
    assert amazon.list_profiles()
    assert len(clock.sleeps) == 4
    # Retry n waits within [ceiling/2, ceiling], ceiling = base * 2^n: 2, 4, 8, 16 seconds.
    for n, delay in enumerate(clock.sleeps, start=1):
        assert 2 ** n / 2 <= delay <= 2 ** n
    assert len(set(clock.sleeps)) == 4  # jittered, not a fixed ladder


def test_the_backoff_never_exceeds_its_cap(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=5.0, max_total_seconds=1000))
    fake_dsp.set_faults([{"route": PROFILES, "status": 503, "times": 7}])
    amazon.list_profiles()
    assert max(clock.sleeps) <= 5.0


def test_the_fake_sends_retry_after_on_some_429s_and_not_others(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_attempts=30, base_delay=0.01, max_delay=0.02, max_total_seconds=1000))
    fake_dsp.set_faults([{"route": PROFILES, "status": 429, "retry_after": 9, "retry_after_rate": 0.5, "times": 20}])
    amazon.list_profiles()
    honoured = [d for d in clock.sleeps if d == 9.0]
    assert 0 < len(honoured) < 20  # both paths exercised, deterministically for this seed


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retried_until_it_succeeds(fake_dsp, amazon, clock, status):
    fake_dsp.set_faults([{"route": PROFILES, "status": status, "times": 2}])
    assert amazon.list_profiles()
    assert amazon.stats.counts["api"] == 3
    assert amazon.stats.counts["server_error"] == 2
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("status,error", [
    (400, ValidationError), (403, ForbiddenError), (404, NotFound), (409, ConflictError), (422, ValidationError),
    (406, MediaTypeError), (413, ClientError),
])
def test_other_client_errors_are_never_retried(fake_dsp, amazon, clock, status, error):
    fake_dsp.set_faults([{"route": PROFILES, "status": status}])
    with pytest.raises(error) as caught:
        amazon.list_profiles()
    assert caught.value.status == status
    assert amazon.stats.counts["api"] == 1
    assert clock.sleeps == []


def test_the_number_of_attempts_is_capped(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_attempts=4, max_total_seconds=10_000))
    fake_dsp.set_faults([{"route": PROFILES, "status": 503}])
    with pytest.raises(ServerError) as caught:
        amazon.list_profiles()
    assert caught.value.attempts == 4
    assert amazon.stats.counts["api"] == 4
    assert len(clock.sleeps) == 3


def test_the_total_time_is_capped(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_attempts=10, max_total_seconds=60))
    fake_dsp.set_faults([{"route": PROFILES, "status": 429, "retry_after": 25}])
    with pytest.raises(ThrottledError) as caught:
        amazon.list_profiles()
    assert clock.sleeps == [25.0, 25.0]  # a third wait would end past 60 s
    assert caught.value.retry_after == 25.0
    assert caught.value.attempts == 3


def test_a_retry_after_beyond_the_budget_gives_up_at_once_for_the_caller_to_reschedule(fake_dsp, make_client, clock):
    amazon = make_client(retry=RetryPolicy(max_total_seconds=60))
    fake_dsp.set_faults([{"route": PROFILES, "status": 429, "retry_after": 600}])
    with pytest.raises(ThrottledError) as caught:
        amazon.list_profiles()
    assert clock.sleeps == []
    assert caught.value.retry_after == 600.0


def test_a_slow_answer_past_the_timeout_is_a_timeout_and_is_retried(fake_dsp, make_client, clock):
    amazon = make_client(timeout=(1.0, 0.2))
    fake_dsp.set_faults([{"route": PROFILES, "delay": 1.0, "times": 1}])
    assert amazon.list_profiles()
    assert amazon.stats.counts["network_error"] == 1
    assert len(clock.sleeps) == 1


def test_timeouts_on_every_attempt_raise_request_timeout(fake_dsp, make_client):
    amazon = make_client(timeout=(1.0, 0.2), retry=RetryPolicy(max_attempts=2))
    fake_dsp.set_faults([{"route": PROFILES, "delay": 1.0}])
    with pytest.raises(RequestTimeout) as caught:
        amazon.list_profiles()
    assert caught.value.attempts == 2
    assert caught.value.status is None


def test_a_dropped_connection_is_retried(fake_dsp, amazon):
    fake_dsp.set_faults([{"route": PROFILES, "drop": True, "times": 1}])
    assert amazon.list_profiles()
    assert amazon.stats.counts["network_error"] == 1


def test_a_connection_that_always_drops_is_a_transport_error(fake_dsp, make_client):
    amazon = make_client(retry=RetryPolicy(max_attempts=3))
    fake_dsp.set_faults([{"route": PROFILES, "drop": True}])
    with pytest.raises(TransportError):
        amazon.list_profiles()
    assert amazon.stats.counts["api"] == 3


def test_errors_carry_amazons_request_id_and_body(fake_dsp, amazon):
    with pytest.raises(NotFound) as caught:
        amazon.get_advertiser("999999999")
    served = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/advertisers/999999999"][-1]
    assert caught.value.request_id == served["amzn_request_id"]
    assert caught.value.body["errors"][0]["errorType"] == "NOT_FOUND"
    assert caught.value.request_id in str(caught.value)


def test_the_documented_422_for_a_non_numeric_advertiser_filter_is_a_validation_error(amazon):
    with pytest.raises(ValidationError) as caught:
        list(amazon.iter_advertisers(advertiserIdFilter="12,abc"))
    assert caught.value.status == 422
    assert caught.value.code == "DSP_INVALID_QUERY_PARAM"


def test_an_unknown_dsp_advertiser_header_is_forbidden(make_client):
    amazon = make_client(account_id="1")
    with pytest.raises(ForbiddenError):
        list(amazon.iter_campaigns())


def test_the_429_answer_has_amazons_throttling_headers(fake_dsp, amazon):
    amazon.list_profiles()
    fake_dsp.set_faults([{"route": PROFILES, "status": 429}])
    token = fake_dsp.issued_access_tokens()[0]
    raw = requests.get(f"{fake_dsp.base_url()}/v2/profiles", timeout=5, headers={
        "Authorization": f"Bearer {token}", "Amazon-Advertising-API-ClientId": fake_dsp.credentials().client_id})
    assert raw.status_code == 429
    assert raw.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert raw.headers["amazon-advertising-api-throttled"] == "true"
    assert raw.headers["x-amzn-RequestId"]
    assert "Retry-After" not in raw.headers
    assert raw.json() == {"message": "Too Many Requests"}


def test_our_request_id_travels_with_every_attempt(fake_dsp, amazon):
    fake_dsp.set_faults([{"route": PROFILES, "status": 500, "times": 1}])
    token = request_id_var.set("req-abc-123")
    try:
        amazon.list_profiles()
    finally:
        request_id_var.reset(token)
    sent = [r["x_request_id"] for r in fake_dsp.recent_requests() if r["path"] == "/v2/profiles"]
    assert sent == ["req-abc-123", "req-abc-123"]


def test_without_a_request_in_progress_one_id_is_made_per_call(fake_dsp, amazon):
    fake_dsp.set_faults([{"route": PROFILES, "status": 500, "times": 1}])
    amazon.list_profiles()
    amazon.list_profiles()
    sent = [r["x_request_id"] for r in fake_dsp.recent_requests() if r["path"] == "/v2/profiles"]
    assert sent[0] == sent[1] != sent[2]


def test_partial_failures_in_a_batch_are_reported_per_item_and_retrying_them_creates_each_once(
    fake_dsp, amazon, campaign_id
):
    fake_dsp.set_faults([{"route": "POST /dsp/v1/adGroups", "partial": 0.3}])
    items = [ad_group_payload(campaign_id, name=f"AG {n}") for n in range(40)]
    result = amazon.create_ad_groups(items)
    failed = result.transient_indices()
    assert failed and not result.ok
    assert all(e["errorCode"] == "INTERNAL_ERROR" for e in result.error)
    fake_dsp.clear_faults()
    retry = amazon.create_ad_groups([items[i] for i in failed])
    assert retry.ok
    names = sorted(a["name"] for a in amazon.iter_ad_groups())
    assert names == sorted(i["name"] for i in items)


def test_a_lost_answer_after_a_create_means_the_create_happened(fake_dsp, amazon):
    """Why the sync looks objects up by externalId before creating them again."""
    fake_dsp.set_faults([{"route": "POST /dsp/v1/campaigns", "status": 502, "phase": "after", "times": 1}])
    amazon.create_campaigns([campaign_payload(externalId="ours-1")])
    found = list(amazon.iter_campaigns(externalIdFilter={"include": ["ours-1"]}))
    assert len(found) == 2  # the first, unacknowledged create and the retried one


def test_the_same_seed_replays_the_same_faults(fake_dsp, make_client):
    def run() -> list:
        fake_dsp.reset(seed=99)
        fake_dsp.set_faults([{"route": PROFILES, "status": [429, 500, 503], "rate": 0.5}])
        amazon = make_client(retry=NO_RETRIES)
        outcomes = []
        for _ in range(20):
            try:
                amazon.list_profiles()
                outcomes.append(200)
            except (ThrottledError, ServerError) as exc:
                outcomes.append(exc.status)
        return outcomes

    first, second = run(), run()
    assert first == second
    assert {200, 429, 500, 503} <= set(first)


@pytest.mark.parametrize("value,seconds", [("7", 7.0), ("0.5", 0.5), ("", None), ("soon", None), ("-3", 0.0),
                                           ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_is_read_as_seconds_or_an_http_date(value, seconds):
    assert parse_retry_after(value) == seconds
