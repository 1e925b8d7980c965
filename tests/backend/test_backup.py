"""Backup and restore: backup_db dumps PostgreSQL (custom format), restore_db restores it into a
fresh database, and the copy has the same row counts and the same report totals (the drill CI
runs). SQLite: an online copy, and a clear refusal to restore."""

import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.bidding.factories import ProductBidFactory
from tests.campaigns.factories import CampaignFactory, LineItemFactory
from tests.reporting.factories import deliver

TABLES = ["bidding_productbid", "campaigns_campaign", "campaigns_lineitem", "reporting_dailyperformance",
          "auth_user", "django_migrations"]
TOTALS = {
    "spend": "SELECT COALESCE(SUM(spend), 0) FROM reporting_dailyperformance",
    "adjusted_cpc": "SELECT COALESCE(SUM(adjusted_cpc), 0) FROM bidding_productbid",
}


def _facts(cursor) -> dict:
    facts = {}
    for table in TABLES:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # nosec B608: fixed table names
        facts[table] = cursor.fetchone()[0]
    for name, sql in TOTALS.items():
        cursor.execute(sql)
        facts[name] = Decimal(cursor.fetchone()[0])
    return facts


def _conninfo(name: str) -> dict:
    db = connection.settings_dict
    return {"dbname": name, "host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"] or None,
            "password": db["PASSWORD"] or None, "autocommit": True}


@pytest.fixture
def fresh_database(requires_postgres):
    name = f"adops_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**_conninfo("postgres")) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**_conninfo("postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_a_fresh_database_with_the_same_rows_and_totals(
    fresh_database, advertiser, tmp_path, superuser
):
    for name in ("Spring", "Summer"):
        line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser, name=name))
        deliver(line_item, days=14, spend=Decimal("123.45"), sales=Decimal("400.00"))
    ProductBidFactory.create_batch(25)
    with connection.cursor() as cursor:
        before = _facts(cursor)
    assert before["reporting_dailyperformance"] == 28 and before["spend"] == Decimal("3456.60")

    dump = tmp_path / "adops.dump"
    call_command("backup_db", "--output", str(dump), verbosity=0)
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    db = connection.settings_dict
    port = f":{db['PORT']}" if db["PORT"] else ""
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    target = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}{port}/{fresh_database}"
    call_command("restore_db", str(dump), "--target-url", target, verbosity=0)

    with psycopg.connect(**_conninfo(fresh_database)) as restored:
        after = _facts(restored.cursor())
    assert after == before


@pytest.mark.postgres
def test_restoring_over_the_live_database_needs_yes(requires_postgres, tmp_path):
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore_db", str(dump))


@pytest.mark.django_db(transaction=True)
def test_sqlite_gets_an_online_copy_and_a_clear_refusal_to_restore(tmp_path, settings):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite path: runs on the embedded default")
    ProductBidFactory.create_batch(3)
    copy = tmp_path / "copy.sqlite3"
    call_command("backup_db", "--output", str(copy), verbosity=0)
    # The test database may live in memory; either way the copy holds the rows.
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT COUNT(*) FROM bidding_productbid").fetchone()[0] == 3
    with pytest.raises(CommandError, match="copy the backup file"):
        call_command("restore_db", str(copy), "--yes")


def test_restore_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No dump"):
        call_command("restore_db", str(tmp_path / "nothing.dump"), "--yes")


def test_the_commands_explain_themselves():
    from backend.management.commands import backup_db, restore_db

    assert "pg_dump custom format" in backup_db.Command.help
    assert "--target-url" in restore_db.Command.help
    assert Path(backup_db.__file__).name == "backup_db.py"
