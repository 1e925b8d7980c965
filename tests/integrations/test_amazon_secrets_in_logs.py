"""No secret ever reaches a log line, an exception message or a repr."""

import logging
from datetime import timedelta

import pytest

from backend.observability.logging import JsonFormatter
from integrations.amazon.auth import Credentials
from integrations.amazon.errors import AuthError
from tests.integrations.payloads import ad_group_payload


def _everything_logged(caplog) -> str:
    formatter = JsonFormatter()
    return caplog.text + "\n".join(formatter.format(record) for record in caplog.records)


def test_a_full_session_with_retries_refreshes_and_a_report_logs_no_secret(fake_dsp, amazon, campaign_id, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    fake_dsp.set_faults([
        {"route": "GET /v2/profiles", "status": 429, "times": 1},
        {"route": "POST /dsp/v1/adGroups", "status": 503, "retry_after": 1, "times": 1},
    ])
    amazon.list_profiles()
    fake_dsp.revoke_access_tokens()  # forces the refresh-on-401 path
    ids = amazon.create_ad_groups([ad_group_payload(campaign_id)]).ids("adGroupId")
    amazon.update_ad_groups([{"adGroupId": ids[0], "state": "ACTIVE"}])
    today = fake_dsp.app.state.now_dt().date()
    report = amazon.wait_for_report(amazon.create_report({
        "startDate": str(today - timedelta(days=1)), "endDate": str(today), "dimensions": ["LINE_ITEM"],
    })["reportId"], poll_interval=1)
    amazon.download_report(report["location"])

    logged = _everything_logged(caplog)
    assert "amazon.retry" in logged and "amazon.auth_refresh" in logged  # the session did log
    credentials = fake_dsp.credentials()
    secrets = [credentials.client_secret, credentials.refresh_token, *fake_dsp.issued_access_tokens(),
               report["location"].split("X-Amz-Signature=")[1]]
    assert len(fake_dsp.issued_access_tokens()) >= 1
    for secret in secrets:
        assert secret not in logged


def test_a_refused_refresh_token_is_not_in_the_error_or_the_logs(fake_dsp, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    credentials = fake_dsp.credentials()
    bad = Credentials(credentials.client_id, credentials.client_secret, "Atzr|a-refresh-token-that-was-revoked")
    amazon = make_client(credentials=bad)
    with pytest.raises(AuthError) as caught:
        amazon.list_profiles()
    for text in (str(caught.value), repr(caught.value), repr(caught.value.body), _everything_logged(caplog)):
        assert bad.refresh_token not in text and bad.client_secret not in text


def test_credentials_and_clients_do_not_show_secrets(fake_dsp, amazon):
    credentials = fake_dsp.credentials()
    amazon.list_profiles()
    for text in (repr(credentials), str(credentials), repr(amazon), repr(amazon.tokens.cache.get(
            credentials.cache_key(amazon.token_url)))):
        assert credentials.client_secret not in text and credentials.refresh_token not in text
        for token in fake_dsp.issued_access_tokens():
            assert token not in text
