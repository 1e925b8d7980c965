"""Production settings: refusal without a secret, and a clean `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", env_overrides={"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        env_overrides={
            "DEBUG": "0",
            "SECRET_KEY": "k3y-" + "x7Qm2pL9vR4tW8zB1nC6dF0gH5jK3sY" * 2,
            "SECURE_SSL_REDIRECT": "1",
            "SESSION_COOKIE_SECURE": "1",
            "CSRF_COOKIE_SECURE": "1",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_mode_runs_without_a_secret_key_for_local_use():
    result = _manage("check", env_overrides={"DEBUG": "1", "SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
