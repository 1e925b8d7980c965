"""The budget audit service against the bare SQL aggregate of the same predicate, on 1,000,000 bids.

What is measured: wall time of `bidding.audit.budget_audit_run(days=7, threshold="0.20")`, run
in-process exactly as the management command and the Huey task call it: it commits an AuditRun
row, scans the 7-day window, INSERTs one AuditFinding per flagged bid, commits and records the
totals (include_spend=False: the overspend/under-delivery checks answer another question, and
their cost grows with spend history; they are timed on their own and printed beside). The baseline is the
least any implementation must do to answer the bid question:

    SELECT count(*) FROM bidding_productbid
    WHERE calculated_at >= %s AND calculated_at <= %s AND abs(adjusted_cpc - current_cpc) > 0.20 * current_cpc

Why the baseline is fair: same window (the service's own audit_window), same predicate, same
database, same Django connection, same process, same run; each is timed best of 5 after one warm-up,
alternating service/bare so cache state and machine noise hit both alike. The ratio service/bare is
therefore the price of recording the findings (and the run) on top of finding them. Each run's
AuditRun and findings are deleted (and the findings table vacuumed) between runs, untimed.

The dataset: 1,000,000 bids spread uniformly over the 30 days before an anchor time, loaded with
COPY (not the ORM) and VACUUM ANALYZEd, then reused by later runs (a marker row in bench_dataset
records seed, size and anchor). The audit is called with now=anchor so the 7-day window holds the
same ~233,000 bids on every run, and bids written later by bench/bid_api.py fall outside it.
current_cpc: uniform 0.0500-5.0000 (4 places); target_roas: normal(100, 12) to 4 places, > 0;
adjusted_cpc: exact Decimal cpc * roas / 100, ROUND_HALF_UP to cents (checked against the app's
own adjusted_cpc_decimal on a sample).

    .venv/bin/python bench/audit.py [--rows 1000000] [--repeat 5] [--no-naive]
"""

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from _common import ROOT, django_env, ensure_database

SEED = 20240601
DAYS_OF_DATA = 30
CENT = Decimal("0.01")
BARE_SQL = (
    "SELECT count(*) FROM bidding_productbid WHERE calculated_at >= %s AND calculated_at <= %s "
    "AND abs(adjusted_cpc - current_cpc) > 0.20 * current_cpc"
)


def generate(rows: int, anchor: datetime, rng: random.Random):
    """Yield (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) as Decimals/ints."""
    start = anchor.timestamp() - DAYS_OF_DATA * 86400
    for _ in range(rows):
        cpc = Decimal(rng.randint(500, 50000)).scaleb(-4)
        roas = Decimal(max(1, round(rng.gauss(100, 12) * 10000))).scaleb(-4)
        adjusted = (cpc * roas / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        at = start + rng.random() * DAYS_OF_DATA * 86400
        yield rng.randint(1, 50_000), cpc, roas, adjusted, at


def ensure_dataset(rows: int) -> datetime:
    """Load the dataset unless the marker and the row count say it is already there; return anchor."""
    from django.db import connection

    from bidding.price_helper import adjusted_cpc_decimal

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_dataset (name text PRIMARY KEY, rows bigint, "
                    "seed bigint, anchor timestamptz)")
        cur.execute("SELECT rows, seed, anchor FROM bench_dataset WHERE name = 'audit'")
        marker = cur.fetchone()
        if marker and marker[0] == rows and marker[1] == SEED:
            cur.execute("SELECT count(*) FROM bidding_productbid WHERE calculated_at <= %s", [marker[2]])
            if cur.fetchone()[0] == rows:
                print(f"dataset: {rows:,} bids already loaded (anchor {marker[2].isoformat()})")
                return marker[2]

    anchor = datetime.now(timezone.utc).replace(microsecond=0)
    print(f"dataset: loading {rows:,} bids over {DAYS_OF_DATA} days with COPY ...", flush=True)
    clock = time.perf_counter()
    rng = random.Random(SEED)
    for product_id, cpc, roas, adjusted, _ in generate(10_000, anchor, random.Random(SEED + 1)):
        assert adjusted == adjusted_cpc_decimal(cpc, roas), (cpc, roas, adjusted)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE bidding_productbid RESTART IDENTITY CASCADE")  # bench database only
        copy_sql = ("COPY bidding_productbid (product_id, current_cpc, target_roas, adjusted_cpc, "
                    "calculated_at) FROM STDIN")
        with connection.connection.cursor().copy(copy_sql) as copy:  # psycopg, under Django
            batch = []
            for product_id, cpc, roas, adjusted, at in generate(rows, anchor, rng):
                stamp = datetime.fromtimestamp(at, timezone.utc).isoformat()
                batch.append(f"{product_id}\t{cpc}\t{roas}\t{adjusted}\t{stamp}\n")
                if len(batch) == 50_000:
                    copy.write("".join(batch))
                    batch.clear()
            copy.write("".join(batch))
        cur.execute("DELETE FROM bench_dataset WHERE name = 'audit'")
        cur.execute("INSERT INTO bench_dataset VALUES ('audit', %s, %s, %s)", [rows, SEED, anchor])
    with connection.cursor() as cur:  # Django runs in autocommit: VACUUM is allowed here
        cur.execute("VACUUM ANALYZE bidding_productbid")
    print(f"dataset: loaded in {time.perf_counter() - clock:.1f} s (anchor {anchor.isoformat()})")
    return anchor


def clear_runs(run_ids) -> None:
    """Delete the bench's own runs (findings cascade), then VACUUM so each run starts alike."""
    from django.db import connection

    from bidding.models import AuditRun

    AuditRun.objects.filter(pk__in=run_ids).delete()
    with connection.cursor() as cur:
        cur.execute("VACUUM bidding_auditfinding")


def naive_orm(start, end) -> tuple[int, float]:
    """Reference only: every bid of the window through the ORM, the predicate in Python."""
    from bidding.models import ProductBid

    clock = time.perf_counter()
    flagged = 0
    threshold = Decimal("0.20")
    for bid in ProductBid.objects.calculated_between(start, end).order_by().iterator(chunk_size=5000):
        if abs(bid.adjusted_cpc - bid.current_cpc) > threshold * bid.current_cpc:
            flagged += 1
    return flagged, time.perf_counter() - clock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (after 1 warm-up)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive ORM loop reference")
    args = parser.parse_args()

    ensure_database()
    os.environ.update(django_env(LOG_LEVEL="WARNING"))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import django

    django.setup()
    from django.db import connection

    from bidding.audit import audit_window, budget_audit_run
    from bidding.choices import AuditStatus
    from bidding.spend_audit import spend_issues

    anchor = ensure_dataset(args.rows)
    start, end = audit_window(days=7, now=anchor)
    window_params = [start, end]

    service_times, bare_times, spend_times, flagged, bare_count, total = [], [], [], set(), set(), None
    for i in range(args.repeat + 1):  # run 0 is the warm-up
        clock = time.perf_counter()
        # The bid audit exactly as the command and the task run it, minus the spend checks, which
        # answer another question (overspend over spend history) and are timed on their own below.
        run = budget_audit_run(days=7, threshold="0.20", now=anchor, include_spend=False)
        elapsed = time.perf_counter() - clock
        if run.status != AuditStatus.SUCCEEDED:
            print(f"audit run failed: {run.error}")
            return 1
        assert (run.window_start, run.window_end) == (start, end)
        flagged.add(run.flagged_count)
        total = run.total_bids
        clear_runs([run.pk])  # untimed: the next run starts from the same state

        with connection.cursor() as cur:
            clock = time.perf_counter()
            cur.execute(BARE_SQL, window_params)
            bare_count.add(cur.fetchone()[0])
            bare_elapsed = time.perf_counter() - clock
        clock = time.perf_counter()
        spend_issues(days=7, now=anchor)
        spend = time.perf_counter() - clock
        if i:
            service_times.append(elapsed)
            bare_times.append(bare_elapsed)
            spend_times.append(spend)
        print(f"  {'warm-up' if not i else f'run {i}':8s} bid audit {elapsed * 1000:8.1f} ms   "
              f"bare {bare_elapsed * 1000:8.1f} ms   spend checks {spend * 1000:7.1f} ms")

    service, bare, spend = min(service_times), min(bare_times), min(spend_times)
    print()
    print(f"window: {start.isoformat()} .. {end.isoformat()} (7 days): {total:,} of {args.rows:,} bids")
    print(f"flagged by the service: {sorted(flagged)}   bare count: {sorted(bare_count)}")
    if len(flagged) != 1 or flagged != bare_count:
        print("MISMATCH: the service and the bare aggregate disagree")
        return 1
    print(f"budget_audit_run, bid findings (best of {args.repeat}): {service * 1000:8.1f} ms")
    print(f"bare SQL count                 (best of {args.repeat}): {bare * 1000:8.1f} ms")
    print(f"ratio service/bare: {service / bare:.2f}  (goal <= 3)")
    with connection.cursor() as cur:
        sizes = []
        for table in ("campaigns_campaign", "campaigns_lineitem", "reporting_dailyperformance"):
            cur.execute(f"SELECT count(*) FROM {table}")
            sizes.append(f"{cur.fetchone()[0]:,} {table}")
    print(f"spend checks (the audit's second part, best): {spend * 1000:.1f} ms over {', '.join(sizes)}")
    print("load average (1/5/15 min): %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))

    if not args.no_naive:
        naive_flagged, naive_time = naive_orm(start, end)
        note = "" if naive_flagged == bare_count.pop() else "  <-- differs!"
        print(f"reference, naive ORM loop over the window: {naive_time * 1000:8.1f} ms, "
              f"{naive_flagged:,} flagged{note}  ({naive_time / bare:.0f}x bare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
