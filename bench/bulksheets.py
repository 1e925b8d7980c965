"""Bulk sheets: export of 100,000 rows against a bare openpyxl write-only loop, and import (parse
+ validate + diff) of the same file against a bare python-calamine read; peak memory of both.

What is measured, in one process, on the bench PostgreSQL database (bench/_common.py):

* export: `campaigns.bulksheets.writer.write_export` for an advertiser whose tree is --rows sheet
  rows (campaigns with a placement adjustment, 4 ad groups of 1 product ad, 40 keywords and 8
  targets, and 2 campaign negatives), with the performance columns filled over 30 days of
  delivery (METRICS_DAYS: every ad group delivers every day), i.e. the database read in tree
  order, the two grouped performance queries (sums and ratios in SQL), the cell values, the
  formula neutralisation and openpyxl write-only. Baseline: a bare openpyxl
  write-only loop that appends the very same cells (read back from that export before timing,
  held in memory) to a workbook with the same three sheets. Goal: ratio <= 1.3. The same export
  without the performance columns is timed too, for context.
* import: the safety checks (zip directory, inflating every part, DTD and formula scan), reading
  the Sponsored Products tab with python-calamine into rows, validating every row and diffing it
  against the stored tree (the dry run a job runs: all 100,000 rows come back unchanged).
  Baseline: python-calamine opening the same bytes and iterating every row of that tab.
  Goal: ratio <= 3. The same import with Python's cyclic garbage collector left running (the
  pause of backend/gc_pause.py replaced by a no-op) is timed too: what the pause saves.
* memory: each in a fresh subprocess, peak RSS above the RSS just before the work (the kernel's
  high-water mark, VmHWM, reset just before the work): export at --small-rows, --rows and
  --large-rows (it must not grow with the row count: each of its database streams holds at most
  two chunks of 500 rows, so the peak rises while the chunks fill, up to ~100,000 rows, and is
  flat after), import at --rows, and the bare calamine read at --rows.

Each timing is the best of --repeat after one warm-up, ours and bare alternating.

    .venv/bin/python bench/bulksheets.py [--rows 100000] [--small-rows 20000] [--large-rows 200000] [--repeat 3]

Give it a database of its own with BENCH_DATABASE_URL (default adops_bench, see _common.py).
"""

import argparse
import contextlib
import gc
import io
import json
import os
import subprocess
import sys
import time

from _common import PYTHON, ROOT, django_env, ensure_database, vacuum_analyze

ROWS_PER_CAMPAIGN = 1 + 1 + 4 * (1 + 1 + 40 + 8) + 2  # campaign, adjustment, 4 ad groups with children, negatives
METRICS_DAYS = 30
FIRST_DAY = (2026, 1, 1)


def metrics_span(days: int = METRICS_DAYS):
    from datetime import date, timedelta

    from campaigns.bulksheets.metrics import MetricsRange

    first = date(*FIRST_DAY)
    return MetricsRange(first, first + timedelta(days=days - 1))


def ensure_delivery(advertiser, days: int) -> None:
    """Every ad group of the advertiser delivers on each of `days` days (figures vary by id and day)."""
    from datetime import timedelta
    from decimal import Decimal

    from campaigns.models import LineItem
    from reporting.models import DailyPerformance

    span = metrics_span(days)
    line_items = list(LineItem.objects.filter(campaign__advertiser=advertiser).values_list("pk", flat=True))
    rows = DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser)
    if rows.between(span.start, span.end).count() == len(line_items) * days:
        return
    print(f"dataset: {len(line_items) * days:,} days of delivery for {advertiser.name} ...", flush=True)
    rows.delete()
    batch = []
    for pk in line_items:
        for d in range(days):
            impressions = 2000 + (pk * 7919 + d * 104729) % 8000
            clicks = impressions * (1 + (pk + d) % 4) // 100
            batch.append(DailyPerformance(
                line_item_id=pk, date=span.start + timedelta(days=d), impressions=impressions, clicks=clicks,
                conversions=clicks // 9, spend=Decimal(clicks * (37 + (pk + d) % 50)) / 100,
                sales=Decimal(clicks // 9 * (2999 + (pk * d) % 4000)) / 100,
                measurable_impressions=impressions, viewable_impressions=impressions * 7 // 10,
            ))
            if len(batch) >= 5000:
                DailyPerformance.objects.bulk_create(batch)
                batch = []
    DailyPerformance.objects.bulk_create(batch)


def setup_django() -> None:
    os.environ.update(django_env(LOG_LEVEL="WARNING"))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import django

    django.setup()


def ensure_advertiser(rows: int):
    """An advertiser whose export has about `rows` rows (reused when it is already there)."""
    from datetime import date
    from decimal import Decimal

    from campaigns.bulksheets.models import CampaignNegativeKeyword, PlacementAdjustment
    from campaigns.bulksheets.writer import export_row_count
    from campaigns.models import Advertiser, Campaign, Keyword, LineItem, ProductAd, ProductTarget
    from reporting.models import DailyPerformance

    campaigns = -(-rows // ROWS_PER_CAMPAIGN)
    advertiser, _ = Advertiser.objects.get_or_create(
        name=f"Bench bulk sheets {rows}", defaults={"currency": "USD", "country": "US", "timezone": "America/New_York"}
    )
    if export_row_count(advertiser) == campaigns * ROWS_PER_CAMPAIGN:
        return advertiser
    print(f"dataset: {campaigns} campaigns = {campaigns * ROWS_PER_CAMPAIGN:,} rows for {advertiser.name} ...", flush=True)
    DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser).delete()  # protects line items
    Campaign.objects.filter(advertiser=advertiser).delete()
    made = Campaign.objects.bulk_create(
        Campaign(advertiser=advertiser, name=f"Bench campaign {n:04d}", status="enabled", start_date=date(2026, 1, 1),
                 end_date=date(2027, 12, 31) if n % 2 else None, daily_budget=Decimal("150.00"),
                 targeting_type="manual", bidding_strategy="legacyForSales")
        for n in range(campaigns)
    )
    PlacementAdjustment.objects.bulk_create(PlacementAdjustment(campaign=c, placement="top", percentage=25) for c in made)
    CampaignNegativeKeyword.objects.bulk_create(
        CampaignNegativeKeyword(campaign=c, text=text, match_type="negativePhrase") for c in made for text in ("free", "used")
    )
    groups = LineItem.objects.bulk_create(
        LineItem(campaign=c, name=f"Ad group {g}", default_bid=Decimal("0.85")) for c in made for g in range(4)
    )
    ProductAd.objects.bulk_create(ProductAd(line_item=g, sku=f"SKU-{g.pk}", asin=f"B0{g.pk:08d}") for g in groups)
    Keyword.objects.bulk_create(
        Keyword(line_item=g, text=f"trail shoe {g.pk} {k}", match_type=("exact", "phrase", "broad")[k % 3],
                bid=Decimal(50 + k) / 100, state="paused" if k % 10 == 0 else "enabled")
        for g in groups for k in range(40)
    )
    ProductTarget.objects.bulk_create(
        ProductTarget(line_item=g, expression=f'asin="B1{g.pk:05d}{t:03d}"', bid=Decimal("0.70")) for g in groups for t in range(8)
    )
    return advertiser


def export_bytes(advertiser, metrics=True) -> bytes:
    from campaigns.bulksheets.writer import write_export

    buffer = io.BytesIO()
    write_export(advertiser=advertiser, handle=buffer, metrics=metrics_span() if metrics else None)
    return buffer.getvalue()


def sheet_cells(data: bytes) -> dict[str, list[list]]:
    """Every sheet's cells as written, for the bare loop (None for empty cells, as openpyxl skips)."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: [[None if v == "" else v for v in row] for row in workbook.get_sheet_by_name(name).iter_rows()]
            for name in workbook.sheet_names}


def bare_export(cells: dict[str, list[list]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for name, rows in cells.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(io.BytesIO())


def our_import(advertiser, data: bytes):
    from campaigns.bulksheets.reader import read_sheet
    from campaigns.bulksheets.safety import check_workbook
    from campaigns.bulksheets.services import sheet_plan

    handle = io.BytesIO(data)
    check_workbook(handle)
    return sheet_plan(advertiser=advertiser, sheet=read_sheet(handle, checked=True))


def bare_import(data: bytes) -> int:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(1 for _ in workbook.get_sheet_by_name("Sponsored Products Campaigns").iter_rows())


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the high-water mark (VmHWM) to the current RSS, so the
    # peak measured is the work's, not the dataset check's or the setup's.
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


@contextlib.contextmanager
def cyclic_gc_left_running():
    """The import as it would run without backend.gc_pause: its two users get a no-op instead."""
    from campaigns.bulksheets import reader, services

    paused = (reader.cyclic_gc_paused, services.cyclic_gc_paused)
    reader.cyclic_gc_paused = services.cyclic_gc_paused = contextlib.nullcontext
    try:
        yield
    finally:
        reader.cyclic_gc_paused, services.cyclic_gc_paused = paused


def child(what: str, rows: int) -> None:
    """One measurement in a fresh process: prints {"peak_mib": …, "seconds": …}."""
    setup_django()
    import openpyxl  # noqa: F401  (imports are not the work being measured)
    import python_calamine  # noqa: F401

    from campaigns.bulksheets import reader, safety, services, writer  # noqa: F401

    advertiser = ensure_advertiser(rows)
    ensure_delivery(advertiser, METRICS_DAYS)
    data = export_bytes(advertiser) if what in ("import", "bare-import") else b""
    gc.collect()
    _reset_peak()
    before = _status_kib("VmRSS")
    clock = time.perf_counter()
    if what == "export":
        import tempfile

        from campaigns.bulksheets.writer import write_export

        with tempfile.TemporaryFile() as handle:
            write_export(advertiser=advertiser, handle=handle, metrics=metrics_span())
    elif what == "import":
        our_import(advertiser, data)
    else:
        bare_import(data)
    seconds = time.perf_counter() - clock
    peak = _status_kib("VmHWM")
    print(json.dumps({"peak_mib": max(0, peak - before) / 1024, "seconds": seconds}))


def measure_memory(what: str, rows: int) -> dict:
    out = subprocess.run([PYTHON, __file__, "--child", what, "--rows", str(rows)], cwd=ROOT,
                         env=django_env(LOG_LEVEL="WARNING"), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--large-rows", type=int, default=200_000,
                        help="a third export size for the memory check (0: skip): the peak must level off")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (after 1 warm-up)")
    parser.add_argument("--child", choices=["export", "import", "bare-import"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return 0

    ensure_database()
    setup_django()
    advertiser = ensure_advertiser(args.rows)
    ensure_delivery(advertiser, METRICS_DAYS)
    ensure_delivery(ensure_advertiser(args.small_rows), METRICS_DAYS)
    if args.large_rows:  # made here: a child creating it would start its measurement inflated
        ensure_delivery(ensure_advertiser(args.large_rows), METRICS_DAYS)
    # The statistics as the datasets are now: another benchmark may have analyzed a different
    # delivery table (a planner that thinks it holds a thousand rows made the export 5x slower).
    vacuum_analyze()
    data = export_bytes(advertiser)
    print(f"file: {len(data) / 2**20:.1f} MiB, {args.rows:,}-row dataset, performance columns over {METRICS_DAYS} days")

    timings = {"export": [], "bare_export": [], "import": [], "bare_import": [], "export_no_metrics": [],
               "import_gc_running": []}
    plan = None
    for i in range(args.repeat + 1):  # run 0 is the warm-up
        cells = sheet_cells(data)
        gc.collect()
        clock = time.perf_counter()
        bare_export(cells)
        timings["bare_export"].append(time.perf_counter() - clock)
        del cells
        gc.collect()
        clock = time.perf_counter()
        export_bytes(advertiser)
        timings["export"].append(time.perf_counter() - clock)
        gc.collect()
        clock = time.perf_counter()
        export_bytes(advertiser, metrics=False)
        timings["export_no_metrics"].append(time.perf_counter() - clock)
        gc.collect()
        clock = time.perf_counter()
        bare_import(data)
        timings["bare_import"].append(time.perf_counter() - clock)
        gc.collect()
        clock = time.perf_counter()
        plan = our_import(advertiser, data)
        timings["import"].append(time.perf_counter() - clock)
        del plan
        gc.collect()
        with cyclic_gc_left_running():
            clock = time.perf_counter()
            plan = our_import(advertiser, data)
            timings["import_gc_running"].append(time.perf_counter() - clock)
        print(f"  {'warm-up' if not i else f'run {i}':8s} export {timings['export'][-1]:6.2f} s  bare openpyxl "
              f"{timings['bare_export'][-1]:6.2f} s   import {timings['import'][-1]:6.2f} s  bare calamine "
              f"{timings['bare_import'][-1]:6.2f} s", flush=True)
        del plan
    plan = our_import(advertiser, data)
    counts = plan.counts()
    assert counts["unchanged"] == counts["rows"] and not plan.errors, counts

    best = {name: min(values[1:]) for name, values in timings.items()}
    memory = {
        f"export {args.small_rows:,} rows": measure_memory("export", args.small_rows),
        f"export {args.rows:,} rows": measure_memory("export", args.rows),
        **({f"export {args.large_rows:,} rows": measure_memory("export", args.large_rows)} if args.large_rows else {}),
        f"import {args.rows:,} rows (ours)": measure_memory("import", args.rows),
        f"import {args.rows:,} rows (bare calamine)": measure_memory("bare-import", args.rows),
    }
    export_ratio = best["export"] / best["bare_export"]
    import_ratio = best["import"] / best["bare_import"]
    print()
    print(f"export ({counts['rows']:,} rows, best of {args.repeat}): {best['export']:.2f} s; bare openpyxl write-only "
          f"{best['bare_export']:.2f} s; ratio {export_ratio:.2f} (goal <= 1.3)")
    print(f"  the same export without performance columns: {best['export_no_metrics']:.2f} s "
          f"(ratio {best['export_no_metrics'] / best['bare_export']:.2f})")
    print(f"import, parse + validate + diff (best of {args.repeat}): {best['import']:.2f} s; bare python-calamine "
          f"read {best['bare_import']:.2f} s; ratio {import_ratio:.2f} (goal <= 3)")
    print(f"  the same import with the cyclic GC left running (no backend/gc_pause.py): {best['import_gc_running']:.2f} s "
          f"(ratio {best['import_gc_running'] / best['bare_import']:.2f}; the pause saves "
          f"{1 - best['import'] / best['import_gc_running']:.0%})")
    for name, figures in memory.items():
        print(f"peak memory above start, {name:34s} {figures['peak_mib']:7.1f} MiB  ({figures['seconds']:.2f} s)")
    print("load average (1/5/15 min): %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))
    return 0 if export_ratio <= 1.3 and import_ratio <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
