"""A dependency away: 503 with Retry-After (backend/unavailable.py), the throttle failing open
(backend/api/throttling.py), and the database timeouts from settings. In-process and quick; the
drills with a real gunicorn, a killed Redis and a cut-off PostgreSQL are test_outage_drills.py."""

import logging

import pytest
import redis
from django.db import OperationalError, connection
from django.test import Client
from prometheus_client import REGISTRY

from backend import unavailable
from backend.api import throttling


def served_503s(dependency: str) -> float:
    return REGISTRY.get_sample_value("adops_unavailable_responses_total", {"dependency": dependency}) or 0.0


@pytest.fixture
def database_away(monkeypatch):
    """Every query of this request fails as Django reports a refused connection."""

    def refused(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    return lambda: monkeypatch.setattr(connection, "cursor", refused)


@pytest.mark.django_db
def test_an_api_call_gets_a_json_503_with_retry_after_when_the_database_is_away(api, database_away, settings):
    settings.UNAVAILABLE_RETRY_AFTER = 7
    before = served_503s("database")
    database_away()
    response = api.get("/api/v1/campaigns/campaigns/")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json() == {"detail": "The database is unavailable. Try again shortly.",
                               "code": "service_unavailable", "unavailable": "database"}
    assert served_503s("database") == before + 1


@pytest.mark.django_db
def test_the_legacy_bid_endpoint_503_also_carries_its_errors_list(api, database_away):
    database_away()
    response = api.post("/api/bid/", {"product_id": 1, "current_cpc": 1.5, "target_roas": 150}, format="json")
    assert response.status_code == 503
    assert response.json()["errors"] == ["The database is unavailable. Try again shortly."]


@pytest.mark.django_db
def test_a_page_whose_middleware_reads_the_session_gets_a_plain_503_page(user, database_away):
    client = Client(raise_request_exception=False)
    client.force_login(user)  # a session cookie: the middleware loads the session from the database
    database_away()
    response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Service unavailable" in response.content and response["Retry-After"]


def test_the_500_handler_answers_503_for_redis_and_500_for_anything_else(rf):
    request = rf.get("/api/v1/campaigns/events/")
    try:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    except redis.exceptions.ConnectionError:
        response = unavailable.server_error(request)
    assert response.status_code == 503
    assert b'"unavailable": "redis"' in response.content
    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        assert unavailable.server_error(request).status_code == 500


@pytest.fixture
def unreachable_redis(settings):
    """The throttle pointed at a port nothing listens on (a Redis that is down)."""
    from tests.backend.drills import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    throttling._redis_client.cache_clear()
    throttling._fail_open_until = 0.0
    yield
    throttling._redis_client.cache_clear()
    throttling._fail_open_until = 0.0


@pytest.mark.django_db
def test_the_throttle_lets_requests_through_and_says_so_once_when_redis_is_away(api, unreachable_redis, caplog):
    before = REGISTRY.get_sample_value("adops_throttle_failed_open_total") or 0.0
    with caplog.at_level(logging.WARNING, logger="backend.api.throttling"):
        codes = [api.get("/api/v1/bidding/bids/").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert [r.getMessage() for r in caplog.records] == ["throttle failing open: Redis unreachable"]
    assert "Connection refused" in caplog.records[0].error
    assert REGISTRY.get_sample_value("adops_throttle_failed_open_total") == before + 3


@pytest.mark.django_db
def test_the_throttle_asks_redis_again_once_its_pause_is_over(api, unreachable_redis, settings, caplog):
    settings.THROTTLE_FAIL_OPEN_SECONDS = 0  # no pause: every request tries Redis again
    with caplog.at_level(logging.WARNING, logger="backend.api.throttling"):
        api.get("/api/v1/bidding/bids/")
        api.get("/api/v1/bidding/bids/")
    assert len(caplog.records) == 2


def test_redis_clients_time_out_and_retry_a_dead_connection_once():
    from django.conf import settings

    from backend.redis_options import client_options

    options = client_options(connect_timeout=settings.REDIS_CONNECT_TIMEOUT, socket_timeout=settings.REDIS_SOCKET_TIMEOUT)
    assert (options["socket_connect_timeout"], options["socket_timeout"]) == (1.0, 2.0)
    assert options["retry"].get_retries() == 1


@pytest.mark.django_db
def test_postgresql_sessions_have_a_statement_timeout_that_migrate_lifts_while_it_runs(requires_postgres):
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    seen = []
    original = MigrationExecutor.migration_plan

    def plan_and_look(self, *args, **kwargs):  # runs inside migrate, on its connection
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])
        return original(self, *args, **kwargs)

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(MigrationExecutor, "migration_plan", plan_and_look)
            call_command("migrate", verbosity=0)
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
    assert seen and set(seen) == {"0"}
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 3
