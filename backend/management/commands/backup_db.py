"""Dump the database to one file: PostgreSQL with pg_dump's custom format (compressed, restorable
with restore_db / pg_restore, table by table); SQLite with SQLite's online backup (a consistent
copy while the site runs).

    python manage.py backup_db                         # var/backups/adops-<UTC time>.dump
    python manage.py backup_db --output /backups/adops.dump

Prints the file written; exit code 1 on failure.
"""

import sqlite3
import subprocess  # nosec B404: runs pg_dump, a fixed program, without a shell
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ._dbtools import is_postgres, is_sqlite, libpq_env, tool


class Command(BaseCommand):
    help = ("Dump the database to a file: pg_dump custom format for PostgreSQL (restore with "
            "restore_db), an online copy for SQLite. Prints the path written.")

    def add_arguments(self, parser):
        parser.add_argument("--output", help="File to write (default var/backups/adops-<UTC time>.dump).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args, output=None, database=DEFAULT_DB_ALIAS, **options):
        db = connections[database].settings_dict
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        suffix = ".dump" if is_postgres(db) else ".sqlite3"
        target = Path(output) if output else Path(settings.BASE_DIR) / "var" / "backups" / f"adops-{stamp}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_postgres(db):
            self._pg_dump(db, target)
        elif is_sqlite(db):
            self._sqlite_copy(db, target)
        else:
            raise CommandError(f"No backup method for {db['ENGINE']}.")
        self.stdout.write(str(target))

    def _pg_dump(self, db, target: Path) -> None:
        partial = target.with_name(target.name + ".partial")
        command = [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)]
        result = subprocess.run(command, env=libpq_env(db), capture_output=True, text=True)  # nosec B603
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()}")
        partial.replace(target)  # a file named .dump is always a complete dump

    def _sqlite_copy(self, db, target: Path) -> None:
        name = str(db["NAME"])
        source = sqlite3.connect(name, uri=name.startswith("file:"))
        try:
            copy = sqlite3.connect(str(target))
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
