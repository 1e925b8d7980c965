"""Operations: the Prometheus alert rules are valid (promtool when installed, else their shape),
every adops_* metric they use is exposed on /metrics, and the runbook covers the issue's list."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"
PROMTOOL = shutil.which("promtool")


def _rules() -> list[dict]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_alert_rules_have_a_valid_shape():
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names))
    for rule in _rules():
        assert ("alert" in rule) != ("record" in rule), rule
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"page", "warning"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s"))


def test_the_alerts_cover_what_operators_page_on():
    alerts = {rule["alert"]: rule["expr"] for rule in _rules() if "alert" in rule}
    assert "adops_sync_last_success_timestamp_seconds" in alerts["AmazonSyncPullFailing"]
    assert "26 * 3600" in alerts["BudgetAuditNotRun"]
    assert "adops_task_queue_depth" in alerts["TaskQueueGrowing"]
    assert "5xx" in alerts["HighServerErrorRate"]


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (apt-get install prometheus); CI installs it")
def test_promtool_checks_and_unit_tests_the_rules():
    check = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=ALERTS.parent,
                          capture_output=True, text=True, timeout=60)
    assert unit.returncode == 0, unit.stdout + unit.stderr


@pytest.mark.django_db
def test_every_adops_metric_the_alerts_use_is_exposed(anon_api, settings):
    from bidding.audit import budget_audit_run

    budget_audit_run()
    settings.METRICS_TOKEN = "scrape-me"
    text = anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    exposed = set(re.findall(r"^# TYPE (\S+)", text, flags=re.M))
    used = {name for rule in _rules() for name in re.findall(r"\b(adops_[a-z_]+)", rule["expr"])}
    assert used and used <= exposed, used - exposed
    assert "django_http_responses_total_by_status_total" in text
    depth = re.search(r"^adops_task_queue_depth (\S+)$", text, flags=re.M)
    assert depth and float(depth.group(1)) >= 0


@pytest.mark.django_db
def test_the_sync_gauges_follow_the_runs(anon_api, settings, monkeypatch):
    from backend import health

    settings.METRICS_TOKEN = "scrape-me"
    monkeypatch.setitem(health._details, "amazon_sync", lambda: {
        "last_push": "2026-01-02T02:10:00+00:00", "last_pull": None, "live_runs": 2, "stuck_runs": 1,
        "open_conflicts": 0,
    })
    text = anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'adops_sync_last_success_timestamp_seconds{direction="push"} 1.7673198e+09' in text
    assert 'direction="pull"' not in text
    assert "adops_sync_live_runs 2.0" in text and "adops_sync_stuck_runs 1.0" in text


def test_the_runbook_covers_the_operations_list():
    text = (ROOT / "docs" / "operations.md").read_text()
    for topic in ("docker compose", "--scale", "SIGINT", "audit_budgets", "sync_dsp", "/health/ready", "/metrics",
                  "rotate_credentials_key", "SECRET_KEY", "migrate --plan", "backup_db", "restore_db",
                  "axes_reset_username", "promtool"):
        assert topic in text, topic
