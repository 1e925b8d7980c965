"""A grouped 90-day performance report over 10,000 line items against the bare SQL aggregate.

What is measured: wall time to get every row of the report "by line item, last 90 days, one
advertiser" the way the API and the exports get it: `reporting.reports.report_rows` over
`DailyPerformance.objects.visible_to(member)` (the tenancy subquery included), 10,000 groups
with their names, currency, nine sums and eight metrics, each row a dict with public names.

Baselines, same database, same Django connection, same process, same run, alternating with the
report so cache state and noise hit all alike, each best of --repeat after one warm-up:

* bare SQL, same output: the hand-written query returning the same columns, written for speed
  (sums by line item id first, then names and currency joined to the 10,000 groups; the same
  ROUND(x / NULLIF(y, 0)) metrics, same order), fetched as tuples. The ratio report / this is
  the price of the ORM, the tenancy subquery and the dicts: goal <= 1.5.
* bare SQL, sums only: SELECT line_item_id, SUM(...) ... GROUP BY line_item_id, no joins, no
  metrics, no order: the least any report must ask the database, for context.

The dataset: one advertiser, 100 campaigns x 100 line items, 90 days each (900,000 daily rows,
loaded with COPY, then VACUUM ANALYZEd), plus a reused marker row in bench_dataset. Figures vary
per line item and day from a seeded RNG.

    .venv/bin/python bench/reports.py [--line-items 10000] [--days 90] [--repeat 5]
"""

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta

from _common import ROOT, django_env, ensure_database, random_day_figures, vacuum_analyze

SEED = 20240901
ADVERTISER = "Bench reports advertiser"
MEMBER = "bench-reports-viewer"
ITEMS_PER_CAMPAIGN = 100

# Hand-written the way one would for speed: aggregate by id first, then attach names and
# currency to the 10,000 groups (grouping by names would sort 900,000 rows by text).
SAME_OUTPUT_SQL = """
WITH sums AS (
    SELECT dp.line_item_id,
           SUM(dp.impressions) AS impressions, SUM(dp.clicks) AS clicks, SUM(dp.conversions) AS conversions,
           SUM(dp.spend) AS spend, SUM(dp.sales) AS sales, SUM(dp.viewable_impressions) AS viewable,
           SUM(dp.measurable_impressions) AS measurable, SUM(dp.video_starts) AS starts,
           SUM(dp.video_completions) AS completions
    FROM reporting_dailyperformance dp
    JOIN campaigns_lineitem li ON li.id = dp.line_item_id
    JOIN campaigns_campaign c ON c.id = li.campaign_id
    WHERE dp.date >= %s AND dp.date <= %s AND c.advertiser_id = %s
    GROUP BY dp.line_item_id
)
SELECT s.line_item_id, li.name, a.currency,
       s.impressions, s.clicks, s.conversions, s.spend, s.sales, s.viewable, s.measurable, s.starts, s.completions,
       ROUND(s.clicks::numeric / NULLIF(s.impressions, 0), 6),
       ROUND(s.spend / NULLIF(s.clicks, 0), 4),
       ROUND(s.spend * 1000 / NULLIF(s.impressions, 0), 4),
       ROUND(s.spend / NULLIF(s.conversions, 0), 4),
       ROUND(s.sales / NULLIF(s.spend, 0), 4),
       ROUND(s.spend / NULLIF(s.sales, 0), 6),
       ROUND(s.viewable::numeric / NULLIF(s.measurable, 0), 6),
       ROUND(s.completions::numeric / NULLIF(s.starts, 0), 6)
FROM sums s
JOIN campaigns_lineitem li ON li.id = s.line_item_id
JOIN campaigns_campaign c ON c.id = li.campaign_id
JOIN campaigns_advertiser a ON a.id = c.advertiser_id
ORDER BY li.name, s.line_item_id
"""
SUMS_ONLY_SQL = """
SELECT line_item_id, SUM(impressions), SUM(clicks), SUM(conversions), SUM(spend), SUM(sales),
       SUM(viewable_impressions), SUM(measurable_impressions), SUM(video_starts), SUM(video_completions)
FROM reporting_dailyperformance WHERE date >= %s AND date <= %s GROUP BY line_item_id
"""


def ensure_dataset(line_items: int, days: int, last: date):
    """The advertiser, its member, campaigns and line items (ORM) and the daily rows (COPY),
    unless the marker says they are there; returns (advertiser, member)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection

    from campaigns.models import Advertiser, Campaign, LineItem, Membership
    from reporting.models import DailyPerformance

    advertiser, _ = Advertiser.objects.get_or_create(
        name=ADVERTISER, defaults={"currency": "USD", "country": "US", "timezone": "America/New_York"}
    )
    member, _ = get_user_model().objects.get_or_create(username=MEMBER)
    Membership.objects.get_or_create(user=member, advertiser=advertiser, defaults={"role": "viewer"})
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_dataset (name text PRIMARY KEY, rows bigint, "
                    "seed bigint, anchor timestamptz)")
        cur.execute("SELECT rows, seed, anchor::date FROM bench_dataset WHERE name = 'reports'")
        marker = cur.fetchone()
    rows = line_items * days
    existing = LineItem.objects.filter(campaign__advertiser=advertiser)
    loaded = DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser).count()
    if marker == (rows, SEED, last) and existing.count() == line_items and loaded == rows:
        print(f"dataset: {line_items:,} line items x {days} days already loaded (last day {last})")
        return advertiser, member

    print(f"dataset: loading {line_items:,} line items x {days} days = {rows:,} daily rows with COPY ...", flush=True)
    clock = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM reporting_dailyperformance WHERE line_item_id IN (SELECT li.id FROM campaigns_lineitem li "
            "JOIN campaigns_campaign c ON c.id = li.campaign_id WHERE c.advertiser_id = %s)", [advertiser.pk]
        )
    existing.delete()
    Campaign.objects.filter(advertiser=advertiser).delete()
    first = last - timedelta(days=days - 1)
    campaigns = Campaign.objects.bulk_create(
        Campaign(advertiser=advertiser, name=f"Bench campaign {n:03d}", status="enabled", start_date=first,
                 end_date=last + timedelta(days=30), daily_budget=Decimal("500.00"), total_budget=Decimal("60000.00"))
        for n in range(-(-line_items // ITEMS_PER_CAMPAIGN))
    )
    items = LineItem.objects.bulk_create(
        LineItem(campaign=campaigns[n // ITEMS_PER_CAMPAIGN], name=f"Bench line item {n:05d}",
                 default_bid=Decimal("0.75"), budget=Decimal("500.00"))
        for n in range(line_items)
    )
    rng = random.Random(SEED)
    columns = ("date, line_item_id, impressions, clicks, conversions, spend, sales, viewable_impressions, "
               "measurable_impressions, video_starts, video_completions, source, updated_at")
    with connection.cursor() as cur:
        with connection.connection.cursor().copy(f"COPY reporting_dailyperformance ({columns}) FROM STDIN") as copy:
            batch = []
            for item in items:
                for offset in range(days):
                    d = random_day_figures(rng)
                    batch.append(
                        f"{first + timedelta(days=offset)}\t{item.pk}\t{d['impressions']}\t{d['clicks']}\t"
                        f"{d['conversions']}\t{d['spend_cents'] // 100}.{d['spend_cents'] % 100:02d}\t"
                        f"{d['sales_cents'] // 100}.{d['sales_cents'] % 100:02d}\t{d['viewable_impressions']}\t"
                        f"{d['measurable_impressions']}\t{d['video_starts']}\t{d['video_completions']}\t"
                        f"upload\t2024-01-01T00:00:00+00:00\n"
                    )
                    if len(batch) == 50_000:
                        copy.write("".join(batch))
                        batch.clear()
            copy.write("".join(batch))
        cur.execute("DELETE FROM bench_dataset WHERE name = 'reports'")
        cur.execute("INSERT INTO bench_dataset VALUES ('reports', %s, %s, %s)", [rows, SEED, last])
    vacuum_analyze("reporting_dailyperformance", "campaigns_lineitem", "campaigns_campaign")
    print(f"dataset: loaded in {time.perf_counter() - clock:.1f} s")
    return advertiser, member


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--line-items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (after 1 warm-up)")
    args = parser.parse_args()

    ensure_database()
    os.environ.update(django_env(LOG_LEVEL="WARNING"))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import django

    django.setup()
    from django.db import connection

    from reporting.exports import csv_chunks
    from reporting.models import DailyPerformance
    from reporting.reports import ReportSpec, report_rows

    last = date(2024, 9, 30)  # a fixed range: the dataset is reused between runs
    advertiser, member = ensure_dataset(args.line_items, args.days, last)
    first = last - timedelta(days=args.days - 1)
    spec = ReportSpec(group_by=("line_item",), start=first, end=last, advertiser_ids=(advertiser.pk,))

    def report():
        return list(report_rows(DailyPerformance.objects.visible_to(member), spec))

    def bare(sql, params):
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    timings = {"report": [], "same": [], "sums": [], "csv": []}
    for i in range(args.repeat + 1):  # run 0 is the warm-up
        clock = time.perf_counter()
        rows = report()
        timings["report"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        same = bare(SAME_OUTPUT_SQL, [first, last, advertiser.pk])
        timings["same"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        sums = bare(SUMS_ONLY_SQL, [first, last])
        timings["sums"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        columns = spec.columns()
        exported = sum(len(chunk) for chunk in csv_chunks(columns, ([r[c] for c in columns] for r in report_rows(DailyPerformance.objects.visible_to(member), spec))))
        timings["csv"].append(time.perf_counter() - clock)
        print(f"  {'warm-up' if not i else f'run {i}':8s} report {timings['report'][-1] * 1000:7.1f} ms   "
              f"same-output SQL {timings['same'][-1] * 1000:7.1f} ms   sums-only SQL {timings['sums'][-1] * 1000:7.1f} ms   "
              f"CSV export {timings['csv'][-1] * 1000:7.1f} ms ({exported / 2**20:.1f} MiB)")

    # The report and the hand-written query must agree on every figure.
    assert len(rows) == len(same) == args.line_items, (len(rows), len(same))
    for row, raw in zip(rows, same):
        assert (row["line_item_id"], row["spend"], row["impressions"], row["roas"], row["ctr"], row["viewability_rate"]) == (
            raw[0], raw[6], raw[3], raw[16], raw[12], raw[18]
        ), (row, raw)
    assert len(sums) >= args.line_items

    best = {name: min(values[1:]) for name, values in timings.items()}
    print()
    print(f"report: by line item, {first} .. {last} ({args.days} days), {args.line_items:,} groups "
          f"from {args.line_items * args.days:,} daily rows")
    print(f"report_rows (ORM, scoped, dicts)   best of {args.repeat}: {best['report'] * 1000:8.1f} ms")
    print(f"bare SQL, same output (tuples)     best of {args.repeat}: {best['same'] * 1000:8.1f} ms")
    print(f"bare SQL, sums only                best of {args.repeat}: {best['sums'] * 1000:8.1f} ms")
    print(f"CSV export of the report (streamed) best of {args.repeat}: {best['csv'] * 1000:8.1f} ms")
    print(f"ratio report / same-output SQL: {best['report'] / best['same']:.2f}  (goal <= 1.5)")
    print(f"ratio report / sums-only SQL:   {best['report'] / best['sums']:.2f}  (context)")
    print("load average (1/5/15 min): %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))
    return 0 if best["report"] / best["same"] <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
