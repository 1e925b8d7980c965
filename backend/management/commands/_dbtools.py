"""Shared by backup_db and restore_db: libpq connection parameters for a database, as the
environment of pg_dump / pg_restore (the password never appears on a command line)."""

import os
import shutil

from django.core.management.base import CommandError


def libpq_env(settings_dict: dict) -> dict:
    env = {**os.environ}
    options = settings_dict.get("OPTIONS", {})
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD"),
                     ("NAME", "PGDATABASE")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    if options.get("sslmode"):
        env["PGSSLMODE"] = options["sslmode"]
    env.setdefault("PGCONNECT_TIMEOUT", str(options.get("connect_timeout", 10)))
    return env


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def is_postgres(settings_dict: dict) -> bool:
    return "postgresql" in settings_dict["ENGINE"]


def is_sqlite(settings_dict: dict) -> bool:
    return "sqlite3" in settings_dict["ENGINE"]
