import pytest
from django.db import connection

from backend import health


@pytest.mark.django_db
def test_live_answers_without_authentication(anon_api):
    response = anon_api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_is_200_when_database_queue_and_migrations_answer(anon_api):
    response = anon_api.get("/health/ready")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "task_queue", "migrations"}


@pytest.mark.django_db
def test_ready_is_503_and_names_the_database_when_it_fails(anon_api, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    # Break the real connection's cursor for this request only.
    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = anon_api.get("/health/ready")
    assert response.status_code == 503
    assert "database" in response.json()["failed"]
    assert "connection refused" in response.json()["checks"]["database"]["error"]


@pytest.mark.django_db(transaction=True)
def test_ready_is_503_while_a_migration_is_unapplied(anon_api):
    from django.core.management import call_command

    health._migrations_known_applied = False
    call_command("migrate", "bidding", "zero", verbosity=0)
    try:
        response = anon_api.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["failed"] == ["migrations"]
    finally:
        call_command("migrate", verbosity=0)
        health._migrations_known_applied = False
    assert anon_api.get("/health/ready").status_code == 200


@pytest.mark.django_db
def test_ready_names_the_task_queue_when_redis_is_unreachable(anon_api, monkeypatch):
    from huey import RedisHuey

    unreachable = RedisHuey("health-probe", url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(health, "HUEY", unreachable)
    response = anon_api.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["task_queue"]


@pytest.mark.django_db
def test_detailed_reports_latency_queue_depth_and_the_last_audit(anon_api):
    from bidding.audit import budget_audit_run

    run = budget_audit_run()
    body = anon_api.get("/health/detailed").json()
    assert body["components"]["database"]["ok"] is True
    assert "latency_ms" in body["components"]["database"]
    assert isinstance(body["components"]["task_queue"]["queue_depth"], int)
    assert body["last_audit_run"]["id"] == run.pk
    assert body["last_audit_run"]["status"] == "succeeded"
