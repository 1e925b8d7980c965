"""Helpers for tests that run real worker processes: poll until something happens, and start a
Huey consumer (`manage.py run_huey`, one worker, no periodic tasks) with a given environment."""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `condition()` until it returns something truthy (and return that); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true after {timeout} s")
        time.sleep(interval)


def huey_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "run_huey", "--workers", "1", "--no-periodic"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
