"""History and match rows: backend.db_rows.insert_instances vs bulk_create, against a bare INSERT.

What the rules worker and bulk bids write per change: ChangeRecord rows, 1 or 10 at a time (a rule
moves one bid, or a campaign's ten keywords). Three ways, measured in CPU time of this process (the
database's own work is the same INSERT for all three), inside one transaction rolled back at the
end, alternating rounds so drift hits all of them:

- bare: the same multi-row INSERT with values already prepared (one cursor.execute, nothing else);
- insert_instances: unsaved model instances → fields' pre_save/get_db_prep_save → one INSERT;
- bulk_create: Django's bulk_create of the same instances (returns ids on PostgreSQL).

Building the instances is timed in every variant but bare, as callers build them either way.

    .venv/bin/python bench/db_rows.py [--rounds 7] [--repeat 500]
"""

import argparse
import os
import statistics
import sys
import time

from _common import ROOT, django_env, ensure_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    ensure_database()
    os.environ.update(django_env(LOG_LEVEL="WARNING"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, transaction

    from backend import db_rows
    from campaigns.models import Advertiser, ChangeRecord

    advertiser, _ = Advertiser.objects.get_or_create(name="Bench rows", defaults={
        "currency": "USD", "country": "US", "timezone": "UTC"})

    def records(n):
        return [ChangeRecord(advertiser=advertiser, object_type="keyword", object_id=k, field="bid",
                             old_value="0.50", new_value="0.55", source="rule") for k in range(n)]

    fields = [f for f in ChangeRecord._meta.concrete_fields if not f.primary_key]
    print(f"ChangeRecord rows, {args.rounds} rounds x {args.repeat} inserts, CPU ms per insert (median of rounds)")
    for n in (1, 10):
        prepared = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in records(n)]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = f"INSERT INTO {ChangeRecord._meta.db_table} ({columns}) VALUES " + ", ".join([row] * n)
        flat = [value for values in prepared for value in values]

        def bare():
            with connection.cursor() as cursor:
                cursor.execute(sql, flat)

        variants = {
            "bare": bare,
            "insert_instances": lambda: db_rows.insert_instances(ChangeRecord, records(n)),
            "bulk_create": lambda: ChangeRecord.objects.bulk_create(records(n)),
        }
        cpu: dict[str, list[float]] = {}
        with transaction.atomic():
            for _ in range(args.rounds):
                for name, insert in variants.items():
                    start = time.process_time()
                    for _ in range(args.repeat):
                        insert()
                    cpu.setdefault(name, []).append((time.process_time() - start) / args.repeat * 1000)
            transaction.set_rollback(True)
        base = statistics.median(cpu["bare"])
        line = ", ".join(f"{name} {statistics.median(v):.3f} ms ({statistics.median(v) / base:.2f}x)"
                         for name, v in cpu.items())
        print(f"  {n:2d} row(s): {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
