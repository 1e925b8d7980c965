"""The fake's control plane over HTTP (how benchmarks in another process drive it), and the
`run_fake_dsp` command."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from integrations.amazon.auth import Credentials
from integrations.amazon.errors import AmazonAdsError
from integrations.amazon.fake import DEFAULT_CLIENT_ID
from integrations.amazon.retry import NO_RETRIES


def test_faults_are_set_over_http_and_counted_in_the_state(fake_dsp, amazon):
    answer = requests.post(f"{fake_dsp.url}/_fake/faults", timeout=5, json={
        "seed": 5, "rules": [{"route": "GET /v2/profiles", "status": 503, "times": 1}]})
    assert answer.status_code == 200 and answer.json()["rules"][0]["status"] == 503
    amazon.list_profiles()
    state = requests.get(f"{fake_dsp.url}/_fake/state", timeout=5).json()
    route = state["requests"]["by_route"]["GET /v2/profiles"]
    assert route["count"] == 2 and route["statuses"] == {"200": 1, "503": 1}
    assert route["serving_seconds"] > 0
    assert state["requests"]["total"] == 3  # with the token request
    assert state["faults"]["fired"] == {"status_503": 1}
    assert state["faults"]["rules"][0]["fired"] == 1


def test_control_calls_are_not_counted_as_served_requests(fake_dsp):
    for _ in range(3):
        requests.get(f"{fake_dsp.url}/_fake/state", timeout=5)
    assert requests.get(f"{fake_dsp.url}/_fake/state", timeout=5).json()["requests"]["total"] == 0


def test_reset_forgets_entities_tokens_faults_and_counters(fake_dsp, amazon, campaign_id):
    fake_dsp.set_faults([{"route": "*", "delay": 0.01}])
    requests.post(f"{fake_dsp.url}/_fake/reset", json={"seed": 42}, timeout=5)
    state = requests.get(f"{fake_dsp.url}/_fake/state", timeout=5).json()
    assert state["seed"] == 42 and state["entities"]["campaigns"] == 0
    assert state["faults"]["rules"] == [] and state["requests"]["total"] == 0
    assert fake_dsp.issued_access_tokens() == []


def test_stats_can_be_zeroed_alone(fake_dsp, amazon, campaign_id):
    requests.post(f"{fake_dsp.url}/_fake/stats/reset", timeout=5)
    state = requests.get(f"{fake_dsp.url}/_fake/state", timeout=5).json()
    assert state["requests"]["total"] == 0 and state["entities"]["campaigns"] == 1


def test_time_warp_and_config_are_settable_over_http(fake_dsp, amazon):
    assert requests.post(f"{fake_dsp.url}/_fake/config", json={"token_ttl": 300}, timeout=5).json()["token_ttl"] == 300
    amazon.list_profiles()
    requests.post(f"{fake_dsp.url}/_fake/time", json={"advance": 301}, timeout=5)
    amazon.list_profiles()
    assert amazon.stats.counts["auth_refresh"] == 1


def test_recent_requests_are_listed_on_demand(fake_dsp, amazon):
    amazon.list_profiles()
    recent = requests.get(f"{fake_dsp.url}/_fake/state", params={"recent": 5}, timeout=5).json()["recent"]
    assert [r["route"] for r in recent] == ["POST /auth/o2/token", "GET /v2/profiles"]


@pytest.mark.parametrize("body", [
    {"rules": [{"route": "*"}]},  # no action
    {"rules": [{"status": 200}]},  # not an error status
    {"rules": [{"status": 500, "rate": 2}]},
    {"rules": [{"status": 500, "colour": "red"}]},
    {"rules": "all of them"},
])
def test_malformed_fault_rules_are_refused(fake_dsp, body):
    assert requests.post(f"{fake_dsp.url}/_fake/faults", json=body, timeout=5).status_code == 400


def test_more_credentials_and_advertisers_can_be_added_over_http(fake_dsp, make_client):
    requests.post(f"{fake_dsp.url}/_fake/apps", timeout=5, json={
        "client_id": "amzn1.application-oa2-client.second", "client_secret": "s2", "refresh_token": "Atzr|r2"})
    added = requests.post(f"{fake_dsp.url}/_fake/advertisers", timeout=5, json={
        "region": "EU", "advertisers": [{"advertiserId": "777000111", "name": "Added"}]}).json()["advertisers"]
    assert added[0]["currency"] == "GBP"
    amazon = make_client(credentials=Credentials("amzn1.application-oa2-client.second", "s2", "Atzr|r2"),
                         base_url=fake_dsp.base_url("EU"), profile_id=fake_dsp.profile_id("EU"))
    assert "777000111" in {a["advertiserId"] for a in amazon.iter_advertisers()}


def test_a_token_bucket_throttles_a_burst(fake_dsp, make_client, clock):
    fake_dsp.set_faults([{"route": "GET /v2/profiles", "bucket": {"rate": 0.001, "burst": 3}, "retry_after_rate": 0}])
    amazon = make_client(retry=NO_RETRIES)
    outcomes = []
    for _ in range(5):
        try:
            amazon.list_profiles()
            outcomes.append(200)
        except AmazonAdsError as exc:
            outcomes.append(exc.status)
    assert outcomes == [200, 200, 200, 429, 429]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_run_fake_dsp_command_serves_until_interrupted():
    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DEBUG": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_fake_dsp", "--port", str(port), "--seed", "3"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                state = requests.get(f"http://127.0.0.1:{port}/_fake/state", timeout=1).json()
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    output = process.stdout.read() if process.poll() is not None else ""
                    pytest.fail(f"the fake did not start: {output}")
                time.sleep(0.1)
        assert state["seed"] == 3
        token = requests.post(f"http://127.0.0.1:{port}/auth/o2/token", timeout=5, data={
            "grant_type": "refresh_token", "client_id": DEFAULT_CLIENT_ID, "client_secret": "wrong",
            "refresh_token": "x"})
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output and "Stopped." in output
