import json

import pytest
from django.core.management import CommandError, call_command

from bidding.models import AuditRun
from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_budgets", *args, stdout=out)
    return out.getvalue()


def test_it_prints_a_readable_report():
    ProductBidFactory(adjusted_cpc="1.50")
    text = run()
    assert "Budget audit #" in text and "flagged    1 (100.0%)" in text


def test_json_format_with_days_and_threshold():
    ProductBidFactory(adjusted_cpc="1.30")
    data = json.loads(run("--days", "2", "--threshold", "0.25", "--format", "json"))
    assert (data["days"], data["threshold"], data["total_bids"], data["flagged_bids"]) == (2, "0.25", 1, 1)
    assert data["status"] == "succeeded" and data["dry_run"] is False


def test_dry_run_writes_nothing():
    ProductBidFactory(adjusted_cpc="1.50")
    data = json.loads(run("--dry-run", "--format", "json"))
    assert data["dry_run"] is True and data["flagged_bids"] == 1 and len(data["sample"]) == 1
    assert AuditRun.objects.count() == 0


@pytest.mark.parametrize("args", [["--days", "0"], ["--threshold", "nan"], ["--threshold", "-1"]])
def test_bad_arguments_fail_with_a_clear_message(args):
    with pytest.raises(CommandError):
        run(*args)
    assert AuditRun.objects.count() == 0


def test_a_failed_audit_exits_non_zero(monkeypatch):
    from bidding import audit

    monkeypatch.setattr(audit, "_insert_findings", lambda run: 1 / 0)
    with pytest.raises(CommandError, match="failed"):
        run()


def test_the_exit_code_is_non_zero_from_the_shell():
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "audit_budgets", "--threshold", "abc"],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )
    assert result.returncode != 0 and "threshold" in result.stderr
