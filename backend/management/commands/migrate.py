"""Django's migrate, with no statement timeout while it runs.

DB_STATEMENT_TIMEOUT_MS bounds what a web request or a task may wait for the database; a migration
that rewrites or indexes a large table is a single statement that may rightly take longer, and
cancelling it half-way through a deploy helps nobody.
"""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DatabaseError, connections


class Command(DjangoMigrateCommand):
    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(*args, **options)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")  # this session only
        try:
            return super().handle(*args, **options)
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("RESET statement_timeout")  # the connection's own setting again
            except DatabaseError:  # the connection broke: the next one starts with its own setting
                pass
