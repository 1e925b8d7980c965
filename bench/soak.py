"""Soak: a minute of mixed API traffic through gunicorn on PostgreSQL and Redis.

What is measured: four kinds of authenticated requests at once, each from its own wrk process
(closed loop: every connection sends its next request when the last is answered, as the
single-endpoint benchmarks do, so the server runs at its capacity for the mix), against the
production server config (backend/gunicorn.conf.py, gthread, --workers x --threads):

* bids: `POST /api/bid/` (legacy) and `POST /api/v1/bidding/bids/` alternately, one durable
  INSERT each, under a product id only this run uses;
* campaigns: `GET /api/v1/campaigns/campaigns/` for the soak advertiser, filtered by status and
  phase, ordered, a random page of 50;
* reports: `GET /api/v1/reporting/report/`, grouped by campaign, line item, day or phase and
  campaign, over 7, 30 or 90 days of seeded DailyPerformance (400 line items x 90 days);
* events: `POST /api/v1/campaigns/events/`, every one a fresh event_id (stored, its processing
  task enqueued to Redis; no worker runs, the queue is emptied afterwards).

The connections per kind (--mix, 16 in all like bench/bid_api.py and bench/events.py) set the
share of each. Reported per kind and in total: requests/s, p50/p99 latency (wrk's), errors. An
error is any answer that is not 2xx, or a socket error/timeout; nothing else is expected. Rows
stored are checked against the 2xx answers for bids and events. A bare view (`GET /health/live`)
is driven first (--baseline s, same server, same connection count): on a machine shared with
other work, that figure says how much of it the server had, so the mix's rates can be read
against it (the single-endpoint benchmarks report their ratios the same way).

Memory: the RSS (VmRSS from /proc) of each gunicorn worker after a warm-up of the same mix
(--warmup s, not counted), sampled through the run, and at the end. Worker recycling
(max_requests) is switched off for the run, so a leak cannot hide behind a fresh process; the
workers' pids are checked unchanged. Goal: growth under 10 %.

Everything runs against the bench database (BENCH_DATABASE_URL, default adops_bench) and
BENCH_REDIS_URL (default db 0); give a run its own of each when others share the machine:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/adops_bench_soak \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/soak.py [--duration 60]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta

from _common import (
    REDIS_URL,
    ROOT,
    Gunicorn,
    django_env,
    ensure_database,
    ensure_token,
    have_wrk,
    parse_wrk,
    random_day_figures,
    run_load,
    vacuum_analyze,
)

QUEUE = "bench_soak"  # Huey keeps only [A-Za-z0-9_] of a name in its Redis keys
ADVERTISER = "Bench soak advertiser"
CAMPAIGNS = 200
ITEMS_PER_CAMPAIGN = 2
DAYS = 90
SEED = 20261123
KINDS = ("bids", "campaigns", "reports", "events")
PRODUCT_ID = 800_000_000 + os.getpid()  # only this run's bids carry it: they can be counted
SERVER_ENV = {
    "HUEY_NAME": QUEUE,
    "HUEY_IMMEDIATE": "0",
    "API_THROTTLE_USER": "100000000/hour",  # counted on every request, never reached
    "GUNICORN_MAX_REQUESTS": "0",  # no recycling: memory growth must show, not be reset
    "DB_STATEMENT_TIMEOUT_MS": "30000",  # as in production (django_env lifts it for loaders)
}


def django_setup() -> None:
    os.environ.update(django_env(LOG_LEVEL="WARNING", HUEY_NAME=QUEUE, HUEY_IMMEDIATE="0"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_dataset(username: str) -> tuple[int, int, date]:
    """The soak advertiser (the bench user a manager of it), its campaigns and line items, and
    DAYS of daily performance, unless already there; returns (advertiser id, enabled campaigns,
    last day)."""
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from campaigns.models import Advertiser, Campaign, LineItem, Membership
    from reporting.models import DailyPerformance

    last = date.today() - timedelta(days=1)
    advertiser, _ = Advertiser.objects.get_or_create(
        name=ADVERTISER, defaults={"currency": "USD", "country": "US", "timezone": "UTC"}
    )
    user = get_user_model().objects.get(username=username)
    Membership.objects.get_or_create(user=user, advertiser=advertiser, defaults={"role": "manager"})
    rows = DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser)
    expected = CAMPAIGNS * ITEMS_PER_CAMPAIGN * DAYS
    enabled = Campaign.objects.filter(advertiser=advertiser, status="enabled").count()
    if rows.count() == expected and rows.filter(date=last).exists():
        print(f"dataset: {CAMPAIGNS} campaigns, {expected:,} daily rows already there (last day {last})")
        return advertiser.pk, enabled, last

    print(f"dataset: {CAMPAIGNS} campaigns x {ITEMS_PER_CAMPAIGN} line items x {DAYS} days ...", flush=True)
    rng = random.Random(SEED)
    first = last - timedelta(days=DAYS - 1)
    phases = ("awareness", "consideration", "conversion")
    with transaction.atomic():
        rows.delete()
        LineItem.objects.filter(campaign__advertiser=advertiser).delete()
        Campaign.objects.filter(advertiser=advertiser).delete()
        campaigns = Campaign.objects.bulk_create(
            Campaign(advertiser=advertiser, name=f"Soak campaign {n:03d}", phase=phases[n % 3],
                     status="paused" if n % 4 == 3 else "enabled", start_date=first,
                     end_date=last + timedelta(days=30), daily_budget=Decimal(100 + n), total_budget=Decimal("90000.00"))
            for n in range(CAMPAIGNS)
        )
        items = LineItem.objects.bulk_create(
            LineItem(campaign=campaign, name=f"Soak line item {campaign.name[-3:]}-{k}", default_bid=Decimal("0.75"),
                     budget=Decimal("50.00"))
            for campaign in campaigns for k in range(ITEMS_PER_CAMPAIGN)
        )
        daily = []
        for item in items:
            for offset in range(DAYS):
                d = random_day_figures(rng)
                spend, sales = Decimal(d.pop("spend_cents")) / 100, Decimal(d.pop("sales_cents")) / 100
                daily.append(DailyPerformance(date=first + timedelta(days=offset), line_item=item, spend=spend,
                                              sales=sales, **d))
        DailyPerformance.objects.bulk_create(daily, batch_size=5_000)
    # Fresh statistics, or the planner guesses (reports 4x slower).
    vacuum_analyze("reporting_dailyperformance", "campaigns_lineitem", "campaigns_campaign")
    enabled = Campaign.objects.filter(advertiser=advertiser, status="enabled").count()
    return advertiser.pk, enabled, last


# --- the load: one wrk process per kind, each with its own Lua script ---------------------------

_LUA_COMMON = r"""
wrk.headers["Authorization"] = "Token %(token)s"
wrk.headers["Content-Type"] = "application/json"
local threads = {}
local counter = 0
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) ok = 0; bad = 0; math.randomseed(tid * 7919 + %(seed)d) end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("BENCH_STATUS ok=%%d bad=%%d\n", o, b))
end
"""

_LUA_REQUEST = {
    "bids": r"""
local cpcs = {"0.35", "1.50", "2.25", "0.99", "12.40"}
local roases = {"80", "150", "200.5", "320", "999.9"}
function request()
  counter = counter + 1
  local body = string.format('{"product_id": %(product_id)d, "current_cpc": %%s, "target_roas": %%s}',
    cpcs[math.random(#cpcs)], roases[math.random(#roases)])
  local path = (counter %% 2 == 0) and "/api/v1/bidding/bids/" or "/api/bid/"
  return wrk.format("POST", path, nil, body)
end
""",
    "campaigns": r"""
local statuses = {"&status=enabled", "&status=enabled&phase=conversion", "&phase=awareness", ""}
local orderings = {"name", "-daily_budget", "start_date", "-name"}
function request()
  local filter = statuses[math.random(#statuses)]
  local page = (filter == "" or filter == "&status=enabled") and math.random(1, 3) or 1
  local path = string.format("/api/v1/campaigns/campaigns/?advertiser=%(advertiser)d%%s&ordering=%%s&page=%%d",
    filter, orderings[math.random(#orderings)], page)
  return wrk.format("GET", path, nil, nil)
end
""",
    "reports": r"""
local groups = {"campaign", "line_item", "day", "phase,campaign"}
local starts = {"%(start7)s", "%(start30)s", "%(start90)s"}
function request()
  local path = string.format("/api/v1/reporting/report/?group_by=%%s&start=%%s&end=%(end)s&advertiser=%(advertiser)d",
    groups[math.random(#groups)], starts[math.random(#starts)])
  return wrk.format("GET", path, nil, nil)
end
""",
    "events": r"""
local types = {"inventory_low", "inventory_restored", "competitor_price_drop", "competitor_price_rise"}
function request()
  counter = counter + 1
  local body = string.format('{"event_id":"%(run)s-%%d-%%d","type":"%%s","occurred_at":"2026-11-23T10:00:00Z","advertiser":%(advertiser)d,"payload":{"product":{"asin":"B0SOAK%%04d"},"inventory":{"units":%%d}}}',
    tid, counter, types[math.random(#types)], math.random(0, 9999), math.random(0, 200))
  return wrk.format("POST", "/api/v1/campaigns/events/", nil, body)
end
""",
}


def lua_script(kind: str, **values) -> str:
    return (_LUA_COMMON + _LUA_REQUEST[kind]) % values


class Mix:
    """The four wrk processes, started together, each `connections[kind]` connections on 1 thread."""

    def __init__(self, base_url: str, connections: dict[str, int], values: dict):
        self.base_url = base_url
        self.connections = {kind: n for kind, n in connections.items() if n > 0}
        self.values = values

    def run(self, duration: int, *, event_prefix: str, seed: int) -> dict[str, dict]:
        scripts, procs, results = {}, {}, {}
        try:
            for n, kind in enumerate(self.connections):
                with tempfile.NamedTemporaryFile("w", prefix=f"soak-{kind}-", suffix=".lua", delete=False) as script:
                    script.write(lua_script(kind, seed=seed + n, **{**self.values, "run": event_prefix}))
                scripts[kind] = script.name
            for kind, connections in self.connections.items():
                procs[kind] = subprocess.Popen(
                    ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
                     "-s", scripts[kind], self.base_url],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )
            for kind, proc in procs.items():
                out, err = proc.communicate(timeout=duration + 60)
                result = parse_wrk(out)
                if result["rps"] is None:
                    raise RuntimeError(f"wrk ({kind}) failed: {out}{err}")
                results[kind] = result
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
            for name in scripts.values():
                os.unlink(name)
        return results


class RssSampler:
    """Samples the workers' RSS every `every` seconds in a thread while the load runs."""

    def __init__(self, server: Gunicorn, every: float = 5.0):
        self.server, self.every = server, every
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        started = time.monotonic()
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic() - started, self.server.worker_rss_kib()))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def parse_mix(text: str) -> dict[str, int]:
    mix = {kind: 0 for kind in KINDS}
    for part in text.split(","):
        kind, _, n = part.partition("=")
        if kind not in mix or not n.isdigit():
            raise argparse.ArgumentTypeError(f"--mix wants kind=connections among {', '.join(KINDS)}; got {part!r}")
        mix[kind] = int(n)
    return mix


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of measured load")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of the same mix before, not counted")
    parser.add_argument("--baseline", type=int, default=5,
                        help="seconds of a bare view first, for the machine's capacity at the time (0: skip)")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix("bids=6,campaigns=3,reports=2,events=5"),
                        help="wrk connections per kind (default bids=6,campaigns=3,reports=2,events=5)")
    parser.add_argument("--workers", type=int, default=4, help="GUNICORN_WORKERS")
    parser.add_argument("--threads", type=int, default=4, help="GUNICORN_THREADS")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL (INFO: one JSON line per request, as production)")
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is required (apt-get install wrk)")
        return 2

    ensure_database()
    token = ensure_token()
    django_setup()
    import redis

    from bidding.models import ProductBid
    from campaigns.models import Event

    advertiser, enabled, last = ensure_dataset("bench")
    run = f"soak-{uuid.uuid4().hex[:8]}"
    values = {"token": token, "advertiser": advertiser, "product_id": PRODUCT_ID, "run": run,
              "end": last.isoformat(), "start7": (last - timedelta(days=6)).isoformat(),
              "start30": (last - timedelta(days=29)).isoformat(), "start90": (last - timedelta(days=89)).isoformat()}
    queue = redis.Redis.from_url(REDIS_URL)
    print(f"server: gunicorn gthread workers={args.workers} threads={args.threads}, LOG_LEVEL={args.log_level}, "
          f"max_requests off; PostgreSQL {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}, Redis {REDIS_URL}")
    print(f"mix (wrk connections): {', '.join(f'{k} {n}' for k, n in args.mix.items())}; "
          f"{enabled} enabled campaigns, {CAMPAIGNS * ITEMS_PER_CAMPAIGN * DAYS:,} daily rows")
    print("load average (1/5/15 min) before: %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))

    with Gunicorn(workers=args.workers, threads=args.threads, LOG_LEVEL=args.log_level, **SERVER_ENV) as server:
        mix = Mix(server.base_url, args.mix, values)
        if args.baseline:
            bare = run_load(f"{server.base_url}/health/live", duration=args.baseline,
                            connections=sum(args.mix.values()), threads=2)
            print(f"bare view (GET /health/live, same server, {sum(args.mix.values())} connections): "
                  f"{bare['rps']:.1f} req/s, p50 {bare['p50_ms']:.2f} ms: what the machine gives a request now")
        mix.run(args.warmup, event_prefix=f"{run}-w", seed=100)
        time.sleep(1)  # the warm-up's last requests finish before the counts are taken
        pids_before = sorted(server.worker_pids())
        rss_before = server.worker_rss_kib()
        bids_before = ProductBid.objects.filter(product_id=PRODUCT_ID).count()
        cpu_before = server.cpu_seconds()
        started = time.perf_counter()
        with RssSampler(server) as sampler:
            results = mix.run(args.duration, event_prefix=f"{run}-m", seed=0)
        elapsed = time.perf_counter() - started
        cpu = server.cpu_seconds() - cpu_before
        time.sleep(2)  # requests in flight when wrk stopped finish
        rss_after = server.worker_rss_kib()
        pids_after = sorted(server.worker_pids())

    bids_stored = ProductBid.objects.filter(product_id=PRODUCT_ID).count() - bids_before
    events_stored = Event.objects.filter(event_id__startswith=f"{run}-m-").count()

    print(f"\n{'kind':10s} {'requests':>9s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    total_requests = total_errors = 0
    for kind, r in results.items():
        total_requests += r["requests"]
        total_errors += r["errors"]
        print(f"{kind:10s} {r['requests']:9d} {r['rps']:8.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7d}")
    print(f"{'total':10s} {total_requests:9d} {sum(r['rps'] for r in results.values()):8.1f} {'':8s} {'':8s} {total_errors:7d}")
    print(f"gunicorn CPU {cpu:.1f} s over {elapsed:.1f} s ({cpu * 1000 / max(1, total_requests):.2f} ms per request)")

    # wrk stops counting at its deadline: requests in flight then are stored but not counted.
    checks = []
    for kind, stored in (("bids", bids_stored), ("events", events_stored)):
        if kind in results:
            ok = results[kind]["ok"]
            fine = ok <= stored <= ok + args.mix[kind]
            checks.append(fine)
            print(f"{kind} stored {stored}, 2xx counted {ok}{'' if fine else '  <-- MISMATCH'}")

    print("\nworker RSS after warm-up -> end:")
    growth = []
    for pid in sorted(rss_before):
        before, after = rss_before[pid], rss_after.get(pid)
        if after is None:
            print(f"  pid {pid}: {mib(before)} -> gone")
            continue
        growth.append(after / before - 1)
        trail = " ".join(mib(sample[pid]).replace(" MiB", "") for _, sample in sampler.samples if pid in sample)
        print(f"  pid {pid}: {mib(before)} -> {mib(after)} ({(after / before - 1) * 100:+.1f} %); every 5 s: {trail}")
    total_before, total_after = sum(rss_before.values()), sum(rss_after.values())
    total_growth = total_after / total_before - 1
    print(f"  all workers: {mib(total_before)} -> {mib(total_after)} ({total_growth * 100:+.1f} %, goal < 10 %); "
          f"largest single growth {max(growth, default=0) * 100:+.1f} %")
    same_workers = pids_before == pids_after
    if not same_workers:
        print(f"  worker pids changed {pids_before} -> {pids_after}: a worker was replaced during the run")
    print("load average (1/5/15 min) after: %.2f %.2f %.2f" % os.getloadavg())

    # Leave the bench database and Redis as they were: this run's bids, events and queued tasks.
    ProductBid.objects.filter(product_id=PRODUCT_ID).delete()
    Event.objects.filter(event_id__startswith=f"{run}-").delete()
    queue.delete(f"huey.redis.{QUEUE}")

    passed = total_errors == 0 and all(checks) and same_workers and total_growth < 0.10
    print(f"\nsoak {'passed' if passed else 'FAILED'}: errors {total_errors}, RSS growth {total_growth * 100:+.1f} %")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
