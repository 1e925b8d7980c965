"""Health endpoints: liveness, readiness (database, task queue, migrations) and a detailed view.

Apps add facts to the detailed view with `register_detail` from their AppConfig.ready, so the
project package needs no import of any app.
"""

import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY

_details: dict[str, Callable[[], object]] = {}
_migrations_known_applied = False


def register_detail(name: str, fact: Callable[[], object]) -> None:
    _details[name] = fact


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_task_queue() -> None:
    storage = HUEY.storage
    conn = getattr(storage, "conn", None)
    if hasattr(conn, "ping"):
        conn.ping()
    else:
        storage.queue_size()


def check_migrations() -> None:
    # Once everything is applied it stays applied for this process: skip the plan afterwards.
    global _migrations_known_applied
    if _migrations_known_applied:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} unapplied migration(s)")
    _migrations_known_applied = True


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "task_queue": check_task_queue,
    "migrations": check_migrations,
}


def _run_checks() -> dict[str, dict]:
    results = {}
    for name, check in READINESS_CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; say which and why
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        else:
            results[name] = {"ok": True}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return results


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    checks = _run_checks()
    failed = sorted(name for name, result in checks.items() if not result["ok"])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_GET
def detailed(request):
    checks = _run_checks()
    try:
        checks["task_queue"]["queue_depth"] = HUEY.pending_count()
        checks["task_queue"]["scheduled"] = HUEY.scheduled_count()
    except Exception:  # already reported as failed by the check above
        pass
    details = {}
    for name, fact in _details.items():
        try:
            details[name] = fact()
        except Exception as exc:
            details[name] = {"error": f"{type(exc).__name__}: {exc}"}
    failed = sorted(name for name, result in checks.items() if not result["ok"])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "components": checks, **details}
    return JsonResponse(body, status=503 if failed else 200)
