"""Restore a dump made by backup_db.

PostgreSQL: pg_restore into the configured database (replacing what is there: needs --yes), or
into another, empty one with --target-url (a restore drill, or a move to a new server):

    python manage.py restore_db var/backups/adops-20260101T031500Z.dump --yes
    python manage.py restore_db adops.dump --target-url postgres://adops@db2:5432/adops_restored

SQLite: refused; stop the site and copy the backup file over the database file (see
docs/operations.md). Exit code 1 on failure.
"""

import subprocess  # nosec B404: runs pg_restore, a fixed program, without a shell
from pathlib import Path

import environ
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ._dbtools import is_postgres, libpq_env, tool


class Command(BaseCommand):
    help = ("Restore a backup_db dump (PostgreSQL, pg_restore). Into the configured database with "
            "--yes (its objects are replaced), or into another empty database with --target-url.")

    def add_arguments(self, parser):
        parser.add_argument("dump", help="A file written by backup_db (pg_dump custom format).")
        parser.add_argument("--target-url", help="postgres://… of the database to restore into "
                                                 "(default: the configured one).")
        parser.add_argument("--yes", action="store_true",
                            help="Confirm replacing the configured database's contents.")
        parser.add_argument("--jobs", type=int, default=2, help="Parallel pg_restore jobs (default 2).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args, dump, target_url=None, yes=False, jobs=2, database=DEFAULT_DB_ALIAS, **options):
        path = Path(dump)
        if not path.is_file():
            raise CommandError(f"No dump at {path}.")
        if target_url:
            db = environ.Env.db_url_config(target_url)
        else:
            db = connections[database].settings_dict
            if not yes:
                raise CommandError("This replaces the configured database's contents: add --yes "
                                   "(or restore elsewhere with --target-url).")
        if not is_postgres(db):
            raise CommandError(
                f"restore_db restores PostgreSQL dumps; the target is {db['ENGINE']}. For SQLite, stop "
                "the web and worker processes and copy the backup file over the database file."
            )
        connections[database].close()  # ours must not hold locks the restore needs
        command = [tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                   "--exit-on-error", f"--jobs={max(1, jobs)}", "--dbname", db["NAME"], str(path)]
        env = libpq_env(db)
        env.pop("PGDATABASE", None)
        result = subprocess.run(command, env=env, capture_output=True, text=True)  # nosec B603
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed ({result.returncode}): {result.stderr.strip()}")
        self.stdout.write(f"Restored {path} into {db['NAME']} on {db.get('HOST') or 'localhost'}.")
