"""Login with Amazon against the fake: caching, proactive refresh, refresh on 401, refusals."""

import pytest
import requests

from integrations.amazon.auth import REFRESH_MARGIN_SECONDS, Credentials, TokenCache
from integrations.amazon.client import AmazonAdsClient
from integrations.amazon.errors import AuthError, ValidationError
from integrations.amazon.fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def test_it_fetches_one_token_and_reuses_it_for_every_call(amazon):
    for _ in range(3):
        amazon.list_profiles()
    assert amazon.stats.counts["token"] == 1
    assert amazon.stats.counts["api"] == 3


def test_it_refreshes_sixty_seconds_before_the_token_expires(fake_dsp, amazon, clock):
    fake_dsp.configure(token_ttl=120)
    amazon.list_profiles()
    clock.advance(120 - REFRESH_MARGIN_SECONDS - 1)
    amazon.list_profiles()
    assert amazon.stats.counts["token"] == 1
    clock.advance(2)  # now inside the last 60 s of the token's life
    amazon.list_profiles()
    assert amazon.stats.counts["token"] == 2
    assert amazon.stats.counts["auth_refresh"] == 0  # proactive, not after a 401


def test_a_token_expired_on_amazons_side_gets_one_refresh_and_the_call_succeeds(fake_dsp, amazon):
    amazon.list_profiles()
    fake_dsp.advance_time(3601)  # the fake's clock passes the expiry; ours does not know
    assert amazon.list_profiles()
    assert amazon.stats.counts["token"] == 2
    assert amazon.stats.counts["auth_refresh"] == 1
    statuses = [r["status"] for r in fake_dsp.recent_requests() if r["path"] == "/v2/profiles"]
    assert statuses == [200, 401, 200]


def test_a_revoked_token_is_refreshed_once(fake_dsp, amazon):
    amazon.list_profiles()
    fake_dsp.revoke_access_tokens()
    amazon.list_profiles()
    assert amazon.stats.counts["auth_refresh"] == 1


def test_a_second_401_after_the_refresh_is_an_auth_error(fake_dsp, amazon):
    fake_dsp.set_faults([{"route": "GET /v2/profiles", "status": 401, "times": 2}])
    with pytest.raises(AuthError) as caught:
        amazon.list_profiles()
    assert caught.value.status == 401
    assert amazon.stats.counts["token"] == 2  # the first token, then exactly one refresh
    assert amazon.stats.counts["api"] == 2
    assert amazon.stats.counts.get("retried", 0) == 0


def test_an_unknown_refresh_token_is_an_invalid_grant_auth_error(make_client):
    unknown = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "Atzr|revoked-or-never-issued")
    amazon = make_client(credentials=unknown)
    with pytest.raises(AuthError) as caught:
        amazon.list_profiles()
    assert caught.value.code == "invalid_grant"
    assert caught.value.status == 400
    assert amazon.stats.counts["token"] == 1  # a 400 is never retried
    assert amazon.stats.counts.get("api", 0) == 0


def test_a_wrong_client_secret_is_an_invalid_client_auth_error(fake_dsp, make_client):
    credentials = fake_dsp.credentials()
    amazon = make_client(credentials=Credentials(credentials.client_id, "not-the-secret", credentials.refresh_token))
    with pytest.raises(AuthError) as caught:
        amazon.list_profiles()
    assert caught.value.code == "invalid_client"
    assert caught.value.status == 401


def test_a_throttled_token_endpoint_is_retried(fake_dsp, amazon, clock):
    fake_dsp.set_faults([{"route": "POST /auth/o2/token", "status": 429, "retry_after": 3, "times": 1}])
    assert amazon.list_profiles()
    assert clock.sleeps == [3.0]
    assert amazon.stats.counts["token"] == 2


def test_clients_sharing_a_cache_share_the_token_of_the_same_credentials(fake_dsp, make_client):
    cache = TokenCache()
    first, second = make_client(token_cache=cache), make_client(token_cache=cache)
    first.list_profiles()
    second.list_profiles()
    assert second.stats.counts.get("token", 0) == 0

    fake_dsp.register_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "Atzr|another-user")
    other_user = make_client(token_cache=cache,
                             credentials=Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "Atzr|another-user"))
    other_user.list_profiles()
    assert other_user.stats.counts["token"] == 1


def test_a_missing_client_id_header_is_refused_by_the_fake(fake_dsp, amazon):
    amazon.list_profiles()
    with pytest.raises(AuthError):
        amazon.request("GET", "/v2/profiles", headers={"Amazon-Advertising-API-ClientId": ""})


@pytest.mark.parametrize("region,api,token", [
    ("NA", "https://advertising-api.amazon.com", "https://api.amazon.com/auth/o2/token"),
    ("EU", "https://advertising-api-eu.amazon.com", "https://api.amazon.co.uk/auth/o2/token"),
    ("FE", "https://advertising-api-fe.amazon.com", "https://api.amazon.co.jp/auth/o2/token"),
])
def test_each_region_defaults_to_amazons_hosts(region, api, token):
    amazon = AmazonAdsClient(credentials=Credentials("id", "secret", "Atzr|x"), region=region)
    assert (amazon.base_url, amazon.token_url) == (api, token)


def test_an_unknown_region_is_refused():
    with pytest.raises(ValueError, match="Unknown Amazon Ads region"):
        AmazonAdsClient(credentials=Credentials("id", "secret", "Atzr|x"), region="SA")


def test_each_regional_host_of_the_fake_lists_only_its_profiles(fake_dsp, make_client):
    eu = make_client(region="EU", base_url=fake_dsp.base_url("EU"), profile_id=fake_dsp.profile_id("EU"))
    assert [p["countryCode"] for p in eu.list_profiles()] == ["UK"]
    assert eu.dsp_agency_profile()["profileId"] == int(fake_dsp.profile_id("EU"))
    na_advertiser = fake_dsp.advertiser_ids("NA")[0]
    assert na_advertiser not in {a["advertiserId"] for a in eu.iter_advertisers()}


def test_a_token_shorter_lived_than_two_minutes_is_refreshed_at_half_its_life(fake_dsp, amazon, clock):
    fake_dsp.configure(token_ttl=30)
    amazon.list_profiles()
    clock.advance(14)
    amazon.list_profiles()
    assert amazon.stats.counts["token"] == 1
    clock.advance(2)
    amazon.list_profiles()
    assert amazon.stats.counts["token"] == 2


def test_unauthenticated_calls_get_each_api_familys_error_shape(fake_dsp):
    profiles = requests.get(f"{fake_dsp.base_url()}/v2/profiles", timeout=5)
    assert profiles.status_code == 401 and profiles.json()["code"] == "UNAUTHORIZED"
    legacy = requests.get(f"{fake_dsp.base_url()}/dsp/advertisers", timeout=5)
    assert legacy.status_code == 401
    assert legacy.json()["message"] == "Unauthenticated Request" and legacy.json()["requestId"]
    assert legacy.headers["Content-Type"] == "application/vnd.dsperror.v1+json"


def test_a_legacy_dsp_call_without_the_scope_header_is_refused(amazon):
    with pytest.raises(ValidationError, match="Scope header is missing"):
        amazon.request("GET", "/dsp/advertisers", scope=None)


def test_a_seller_profile_cannot_scope_dsp_calls(make_client, amazon):
    seller = next(p for p in amazon.list_profiles() if p["accountInfo"]["type"] == "seller")
    with pytest.raises(AuthError, match="No matching advertiser found for scope"):
        list(make_client(profile_id=seller["profileId"]).iter_advertisers())
