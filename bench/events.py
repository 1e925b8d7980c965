"""Rule events end to end: ingest through the API, processing by a real Huey worker, and the lag.

What is measured, in one run, against the bench PostgreSQL database and Redis:

(a) Ingest: requests/s of authenticated `POST /api/v1/campaigns/events/` (token auth, throttle,
    exact-decimal JSON parsing, validation with the advertiser scope check, body hash, one
    INSERT committed, the Huey enqueue to Redis on commit) against `GET /health/live` (a bare JSON
    view), both served by the same gunicorn (backend/gunicorn.conf.py, gthread), alternating rounds
    with the same wrk connections and duration. Every POST carries a fresh event_id (wrk Lua),
    so every one is a real insert; rows added are checked against 2xx answers.
(b) Processing: events/s of `campaigns.tasks.process_event` (claim, the advertiser's rules for the
    event type, conditions, actions through campaigns.services with history, RuleMatch rows,
    finish) against a bare task that only marks each event processed (one UPDATE), both run by the
    same `run_huey` consumer (same threads), on the same queue, over the same event rows, one task
    per event for both (as ingest enqueues them), all enqueued before the worker starts. A rules
    task takes other queued events of its advertiser along (campaigns/rules/processing.py), so
    the tasks of those find nothing left to do: that is the production path, not a bench shortcut. Rate = (N - 1) / (last processed_at - first processed_at),
    so worker start-up is not counted. The bare drains run before and after the real one and are
    averaged. The bare task runs twice over: committing as the project does by default (each
    commit waits for the WAL flush, ~3 ms on the bench disk) and committing like the rules worker
    does (synchronous_commit off: see campaigns/rules/processing.py for why that is safe there;
    SET LOCAL in the same round trip, as the worker does it), so the second ratio compares like
    with like.
(c) Lag: with the worker running, events are posted at a steady rate (half the slower of the two
    measured capacities) and lag = processed_at - received_at per event, p50/p99.

Every phase starts from vacuumed, analyzed event tables (this machine's PostgreSQL runs with
autovacuum off; production's autovacuum never lets a few drains' dead rows pile up).

Wall-clock ratios move with whatever else the machine runs, so each side's CPU time is reported
too (gunicorn's per request, as bench/bid_api.py does; the consumer's per event, start-up left
out): the CPU ratios say how much work the code does, whatever the load.

The workload: --advertisers advertisers (default 5), each with 2 campaigns x 2 line items x (10
keywords + 4 product ads over 4 ASINs) and 20 rules over four event types (inventory_low,
inventory_restored, competitor_price_drop, competitor_price_rise): pause/enable product ads by the
payload's ASIN, raise/cut keyword bids by percent within caps/floors, set a line-item bid, move a
budget, alerts; conditions use equals, lt/gt, between, in, exists, all/any/not. Event types and
values are drawn at random, so some rules match and write, some match and find nothing to change.

    .venv/bin/python bench/events.py [--events 10000] [--duration 10] [--workers 2 --threads 2] [--huey-workers 2]
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import (
    PYTHON,
    REDIS_URL,
    ROOT,
    Gunicorn,
    django_env,
    ensure_database,
    ensure_token,
    have_wrk,
    parse_wrk,
    run_load,
    vacuum_analyze,
)

QUEUE = "bench-events"
ENV = django_env(HUEY_NAME=QUEUE, HUEY_IMMEDIATE="0", LOG_LEVEL="WARNING", API_THROTTLE_USER="100000000/hour")
TYPES = ("inventory_low", "inventory_restored", "competitor_price_drop", "competitor_price_rise")
BARE_TASK = None


def django_setup() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    _register_bare_task()


def _register_bare_task():
    """The baseline job: mark the event processed, nothing else. Defined in this module in both
    the orchestrator and the worker (both run it as __main__), so Huey names it the same."""
    global BARE_TASK
    from django.utils import timezone
    from huey.contrib.djhuey import db_task

    from django.db import connection

    from campaigns.models import Event
    from campaigns.rules.processing import _execute

    @db_task()
    def bench_mark_processed(event_id: int, wait_for_flush: bool = True) -> None:
        if wait_for_flush:
            Event.objects.filter(pk=event_id).update(status="processed", processed_at=timezone.now())
            return
        # The rules worker's commit mode, the way it does it: SET LOCAL in the same round trip as
        # the statement (campaigns.rules.processing._execute), so one round trip per event here too.
        with connection.cursor() as cursor:
            _execute(cursor, f"UPDATE {Event._meta.db_table} SET status = 'processed', processed_at = %s WHERE id = %s",
                     [timezone.now(), event_id], no_flush_wait=True)

    BARE_TASK = bench_mark_processed


def asin(advertiser_index: int, k: int) -> str:
    return f"B0{advertiser_index:02d}{k:06d}"


# --- data ---------------------------------------------------------------------------------------

def _rules(adv, index, campaigns, line_items) -> list[dict]:
    c1, c2 = campaigns
    keywords_of = lambda c: {"kind": "keyword", "where": {"campaign": c.pk}}  # noqa: E731
    ads = {"kind": "product_ad", "where": {"asin": {"path": "product.asin"}}}
    rules = []
    for k in range(4):
        rules.append(("inventory_low", {"all": [{"path": "product.asin", "op": "equals", "value": asin(index, k)},
                                                {"path": "inventory.units", "op": "lt", "value": 5}]},
                      [{"type": "pause", "target": ads}]))
        rules.append(("inventory_restored", {"path": "product.asin", "op": "equals", "value": asin(index, k)},
                      [{"type": "enable", "target": ads}]))
    rules += [
        ("inventory_low", {"path": "inventory.units", "op": "equals", "value": 0},
         [{"type": "alert", "message": "Out of stock: {product.asin}", "severity": "critical"}]),
        ("inventory_restored", {"path": "inventory.units", "op": "gte", "value": 100},
         [{"type": "alert", "message": "Restocked {product.asin}", "severity": "info"}]),
        ("competitor_price_drop", {"path": "price.drop_pct", "op": "gt", "value": 10},
         [{"type": "adjust_bid", "target": keywords_of(c1), "by_percent": 5, "max_bid": "1.00"}]),
        ("competitor_price_drop", {"path": "price.drop_pct", "op": "gt", "value": 20},
         [{"type": "adjust_bid", "target": keywords_of(c2), "by_percent": 10, "max_bid": "1.50"}]),
        ("competitor_price_drop", {"path": "price.drop_pct", "op": "between", "value": [30, 100]},
         [{"type": "alert", "message": "{competitor} cut {price.drop_pct} %"}]),
        ("competitor_price_drop", {"all": [{"path": "competitor", "op": "in", "value": ["rival-a", "rival-b"]},
                                           {"path": "price.drop_pct", "op": "gt", "value": 15}]},
         [{"type": "set_bid", "target": {"kind": "line_item", "ids": [line_items[0].pk]}, "bid": "0.80"}]),
        ("competitor_price_drop", {"all": [{"not": {"path": "competitor", "op": "equals", "value": "rival-a"}},
                                           {"path": "price.drop_pct", "op": "gt", "value": 50}]},
         [{"type": "adjust_budget", "target": {"kind": "campaign", "ids": [c1.pk]}, "by_percent": 5,
           "max_budget": "150.00"}]),
        ("competitor_price_rise", {"path": "price.rise_pct", "op": "gt", "value": 10},
         [{"type": "adjust_bid", "target": keywords_of(c1), "by_percent": -5, "min_bid": "0.30"}]),
        ("competitor_price_rise", {"path": "price.rise_pct", "op": "gt", "value": 20},
         [{"type": "adjust_bid", "target": keywords_of(c2), "by_percent": -10, "min_bid": "0.40"}]),
        ("competitor_price_rise", {"path": "price.rise_pct", "op": "gt", "value": 40},
         [{"type": "alert", "message": "{competitor} raised prices {price.rise_pct} %"}]),
        ("competitor_price_rise", {"any": [{"path": "price.rise_pct", "op": "gt", "value": 55},
                                           {"path": "competitor", "op": "equals", "value": "rival-c"}]},
         [{"type": "alert", "message": "watch {competitor}"}]),
        ("competitor_price_rise", {"all": [{"path": "product.asin", "op": "exists"},
                                           {"path": "price.rise_pct", "op": "lt", "value": 5}]},
         [{"type": "alert", "message": "small rise on {product.asin}"}]),
    ]
    assert len(rules) == 20
    return [{"advertiser": adv, "name": f"bench rule {n}", "event_type": t, "conditions": c, "actions": a,
             "priority": 20 - n} for n, (t, c, a) in enumerate(rules)]


def prepare(advertiser_count: int, username: str) -> list[tuple[int, int]]:
    """Bench advertisers with their tree and 20 rules each, reset to the same state every run;
    returns (advertiser id, index) pairs."""
    from django.contrib.auth import get_user_model

    from campaigns.models import Advertiser, Campaign, Event, Keyword, LineItem, Membership, ProductAd, Rule, RuleMatch

    user = get_user_model().objects.get(username=username)
    found = []
    for index in range(advertiser_count):
        adv, _ = Advertiser.objects.get_or_create(name=f"Bench events {index}",
                                                  defaults={"currency": "USD", "country": "US", "timezone": "UTC"})
        Membership.objects.get_or_create(user=user, advertiser=adv, defaults={"role": "manager"})
        campaigns = list(Campaign.objects.filter(advertiser=adv).order_by("pk"))
        if len(campaigns) < 2:
            for n in range(2):
                campaign = Campaign.objects.create(advertiser=adv, name=f"Bench campaign {n}", status="enabled",
                                                   start_date="2026-01-01", daily_budget="100.00", total_budget="100000.00")
                for m in range(2):
                    item = LineItem.objects.create(campaign=campaign, name=f"Line item {m}", default_bid="0.75")
                    Keyword.objects.bulk_create([Keyword(line_item=item, text=f"kw {n} {m} {k}", match_type="exact",
                                                         bid="0.50") for k in range(10)])
                    ProductAd.objects.bulk_create([ProductAd(line_item=item, asin=asin(index, k)) for k in range(4)])
            campaigns = list(Campaign.objects.filter(advertiser=adv).order_by("pk"))
        RuleMatch.objects.filter(advertiser=adv).delete()
        Event.objects.filter(advertiser=adv).delete()
        Rule.objects.filter(advertiser=adv).delete()
        Campaign.objects.filter(advertiser=adv).update(daily_budget="100.00")
        line_items = list(LineItem.objects.filter(campaign__advertiser=adv).order_by("pk"))
        LineItem.objects.filter(pk__in=[li.pk for li in line_items]).update(default_bid="0.75")
        Keyword.objects.filter(line_item__in=line_items).update(bid="0.50", state="enabled")
        ProductAd.objects.filter(line_item__in=line_items).update(state="enabled")
        for spec in _rules(adv, index, campaigns, line_items):
            rule = Rule(**spec)
            rule.full_clean()
            rule.save()
        found.append((adv.pk, index))
    return found


# --- ingest -------------------------------------------------------------------------------------

_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token %(token)s"
local advertisers = {%(advertisers)s}
local types = {"inventory_low", "inventory_restored", "competitor_price_drop", "competitor_price_rise"}
local rivals = {"rival-a", "rival-b", "rival-c", "rival-d"}
local threads = {}
local counter = 0
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) ok = 0; bad = 0; math.randomseed(tid * 7919 + %(seed)d) end
local function asin(index) return string.format("B0%%02d%%06d", index, math.random(0, 3)) end
-- Price moves are mostly small: exponential with a mean of 6 %% (19 %% above 10, 4 %% above 20).
local function move() return string.format("%%.1f", -6 * math.log(1 - math.random())) end
function request()
  counter = counter + 1
  local adv = advertisers[math.random(#advertisers)]
  local kind = math.random(4)
  local payload
  if kind == 1 then
    payload = string.format('{"product":{"asin":"%%s"},"inventory":{"units":%%d}}', asin(adv[2]), math.random(0, 10))
  elseif kind == 2 then
    payload = string.format('{"product":{"asin":"%%s"},"inventory":{"units":%%d}}', asin(adv[2]), math.random(20, 200))
  elseif kind == 3 then
    payload = string.format('{"competitor":"%%s","price":{"drop_pct":%%s}}', rivals[math.random(4)], move())
  else
    payload = string.format('{"competitor":"%%s","product":{"asin":"%%s"},"price":{"rise_pct":%%s}}', rivals[math.random(4)], asin(adv[2]), move())
  end
  local body = string.format('{"event_id":"%(run)s-%%d-%%d","type":"%%s","occurred_at":"2026-11-23T10:00:00Z","advertiser":%%d,"payload":%%s}',
    tid, counter, types[kind], adv[1], payload)
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("BENCH_STATUS ok=%%d bad=%%d\n", o, b))
end
"""


def post_events(url, *, token, advertisers, run, seed, duration, connections, threads) -> dict:
    lua = _LUA % {"token": token, "advertisers": ",".join(f"{{{pk},{index}}}" for pk, index in advertisers),
                  "run": run, "seed": seed}
    with tempfile.NamedTemporaryFile("w", prefix="bench-events-", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                               script.name, url], capture_output=True, text=True)
    finally:
        os.unlink(script.name)
    result = parse_wrk(done.stdout)
    if result["rps"] is None:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    return result


def with_cpu(server, run) -> dict:
    """One load run, plus gunicorn's CPU time per request over it (as bench/bid_api.py reports)."""
    before = server.cpu_seconds()
    result = run()
    result["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / max(1, result["requests"])
    return result


# --- worker -------------------------------------------------------------------------------------

class Worker:
    """`manage.py run_huey` plus the bare task, in a process of its own; stopped with SIGINT."""

    def __init__(self, huey_workers: int):
        self.args = [PYTHON, str(Path(__file__).resolve()), "--worker", "--huey-workers", str(huey_workers)]

    def __enter__(self):
        self.log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=ENV, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def cpu_seconds(self) -> float:
        """User + system CPU of the consumer process (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if exc[0] is None:
            os.unlink(self.log.name)


def worker_main(huey_workers: int) -> None:
    django_setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "run_huey", "--workers", str(huey_workers), "--no-periodic"])


def _drain(events, *, worker=None, timeout: float = 1800) -> tuple[float, float | None]:
    """Wait until every event is processed. Returns events/s between the first and the last, and
    the worker's CPU ms per event from its first processed event on (start-up left out; less
    sensitive than wall time to other load on the machine)."""
    from django.db.models import Count, Max, Min

    total = events.count()
    deadline = time.monotonic() + timeout
    start = None
    while (done := events.filter(status="processed").count()) < total:
        if start is None and done and worker:
            start = (worker.cpu_seconds(), done)
        if time.monotonic() > deadline or events.filter(status="failed").exists():
            raise RuntimeError(f"not drained: {dict(events.values_list('status').annotate(n=Count('pk')))}")
        time.sleep(0.05 if start is None else 0.5)
    cpu_ms = None
    if worker and start and total > start[1]:
        cpu_ms = (worker.cpu_seconds() - start[0]) * 1000 / (total - start[1])
    span = events.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    seconds = (span["last"] - span["first"]).total_seconds()  # 0 when one batch finished them all
    return (total - 1) / seconds if seconds > 0 else float("inf"), cpu_ms


def vacuum() -> None:
    """VACUUM ANALYZE the tables the phases churn. This machine's PostgreSQL runs with autovacuum
    off, so without it every phase would inherit the previous ones' dead rows and index entries
    (hundreds of thousands after a few drains) and stale planner statistics, which production's
    autovacuum never lets pile up. Each phase, bare or not, starts from the same clean state."""
    from campaigns.models import ChangeRecord, Event, RuleMatch

    vacuum_analyze(*(model._meta.db_table for model in (Event, RuleMatch, ChangeRecord)))
    # And fresh statistics everywhere: the bench database may hold other benchmarks' bulk-loaded
    # trees (bench/bulksheets.py adds 300,000 keywords), never analyzed without autovacuum, and
    # with row estimates from an empty table the planner scans all keywords for one campaign's.
    vacuum_analyze()


def _requeue(events) -> None:
    from django.utils import timezone

    events.update(status="queued", attempts=0, claim_token="", started_at=None, processed_at=None,
                  heartbeat_at=timezone.now())
    vacuum()


def _enqueue_all(enqueue, ids) -> None:
    from huey.contrib.djhuey import HUEY

    HUEY.storage.flush_queue()
    for pk in ids:
        enqueue(pk)


PHASES = (
    ("bare, flush", "the bare task, committing as the project does by default (waits for the WAL flush)"),
    ("bare, async", "the bare task, committing like the rules worker (synchronous_commit off)"),
    ("rules", "campaigns.tasks.process_event"),
)


def measure_processing(events, huey_workers: int) -> dict:
    from campaigns.tasks import process_event

    enqueue = {
        "bare, flush": lambda pk: BARE_TASK(pk),
        "bare, async": lambda pk: BARE_TASK(pk, wait_for_flush=False),
        "rules": lambda pk: process_event(pk),
    }
    ids = list(events.values_list("pk", flat=True))
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    # bare, rules, bare: the baselines bracket the measured run, so drift hits both sides.
    for name in ("bare, flush", "bare, async", "rules", "bare, flush", "bare, async"):
        _requeue(events)
        _enqueue_all(enqueue[name], ids)
        with Worker(huey_workers) as worker:
            rate, cpu_ms = _drain(events, worker=worker)
        rates.setdefault(name, []).append(rate)
        cpu.setdefault(name, []).append(cpu_ms)
        print(f"  {name:12s}: {rate:8.1f} events/s over {len(ids)} events   worker CPU {cpu_ms:.3f} ms/event"
              f"   load average {os.getloadavg()[0]:.2f}")
    return ({name: statistics.mean(values) for name, values in rates.items()},
            {name: statistics.mean(values) for name, values in cpu.items()})


# --- lag ----------------------------------------------------------------------------------------

def paced_posts(base_url: str, token: str, advertisers, *, rate: float, seconds: float, run: str) -> int:
    """Post events at a steady `rate` for `seconds` from 4 keep-alive connections; returns 2xx count."""
    host, port = base_url.split("//")[1].split(":")
    per_thread, threads, ok = rate / 4, [], [0]
    lock = threading.Lock()

    def client(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        start, sent = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            pk, index = advertisers[sent % len(advertisers)]
            body = json.dumps({"event_id": f"{run}-{n}-{sent}", "type": "inventory_low", "occurred_at": "2026-11-23T10:00:00Z",
                               "advertiser": pk, "payload": {"product": {"asin": asin(index, sent % 4)},
                                                             "inventory": {"units": sent % 8}}})
            conn.request("POST", "/api/v1/campaigns/events/", body=body,
                         headers={"Content-Type": "application/json", "Authorization": f"Token {token}"})
            response = conn.getresponse()
            response.read()
            with lock:
                ok[0] += 200 <= response.status < 300
            sent += 1
            time.sleep(max(0.0, start + sent / per_thread - time.monotonic()))

    for n in range(4):
        threads.append(threading.Thread(target=client, args=(n,)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    return ok[0]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="at least this many events are ingested")
    parser.add_argument("--advertisers", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds per ingest round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="GUNICORN_WORKERS")
    parser.add_argument("--threads", type=int, default=2, help="GUNICORN_THREADS")
    parser.add_argument("--huey-workers", type=int, default=2, help="run_huey --workers (threads)")
    parser.add_argument("--lag-seconds", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.huey_workers)
        return 0
    if not have_wrk():
        print("wrk is required (apt-get install wrk)")
        return 2

    ensure_database()
    token = ensure_token()
    django_setup()
    import redis
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from campaigns.models import ChangeRecord, Event, RuleMatch

    User = get_user_model()

    advertisers = prepare(args.advertisers, "bench")
    vacuum()
    run = uuid.uuid4().hex[:8]
    load = dict(connections=args.connections, threads=args.client_threads)
    print(f"server: gunicorn gthread workers={args.workers} threads={args.threads}; worker: run_huey "
          f"--workers {args.huey_workers} (threads); {len(advertisers)} advertisers x 20 rules; queue {QUEUE} on Redis")
    print("load average (1/5/15 min) before: %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))

    # (a) ingest: no worker running, so every task waits in Redis and the server has the CPU.
    bare_runs, event_runs, posted = [], [], 0
    with Gunicorn(workers=args.workers, threads=args.threads, **{k: ENV[k] for k in ("HUEY_NAME", "HUEY_IMMEDIATE",
                                                                                     "LOG_LEVEL", "API_THROTTLE_USER")}) as server:
        events_url = f"{server.base_url}/api/v1/campaigns/events/"
        run_load(f"{server.base_url}/health/live", duration=3, **load)
        post_events(events_url, token=token, advertisers=advertisers, run=f"{run}-warm", seed=0, duration=3, **load)
        n = 0
        throttle = redis.Redis.from_url(REDIS_URL)
        throttle_key = f":1:throttle_user_{User.objects.get(username='bench').pk}"
        while posted < args.events or n < 2:
            n += 1
            # DRF's throttle keeps every request's timestamp of the window in one cache entry that
            # each request reads and rewrites; start each round empty, as bench/bid_api.py does.
            throttle.delete(throttle_key)
            bare_runs.append(with_cpu(server, lambda: run_load(f"{server.base_url}/health/live",
                                                               duration=args.duration, **load)))
            event_runs.append(with_cpu(server, lambda: post_events(
                events_url, token=token, advertisers=advertisers, run=f"{run}-r{n}", seed=n,
                duration=args.duration, **load)))
            posted += event_runs[-1]["ok"]
            for name, r in (("bare  ", bare_runs[-1]), ("events", event_runs[-1])):
                print(f"  round {n} {name}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
                      f"  errors {r['errors']}  gunicorn CPU {r['cpu_ms']:.3f} ms/req")
        ingest_url = server.base_url

        time.sleep(2)  # requests in flight when wrk stopped still finish
        bench_events = Event.objects.filter(event_id__startswith=f"{run}-r")
        stored = bench_events.count()
        bare_rps = statistics.mean(r["rps"] for r in bare_runs)
        events_rps = statistics.mean(r["rps"] for r in event_runs)
        errors = sum(r["errors"] for r in bare_runs + event_runs)
        # wrk stops counting at the deadline: requests in flight then are stored but not counted.
        in_flight_ok = posted <= stored <= posted + args.connections * len(event_runs)
        bare_cpu = statistics.median(r["cpu_ms"] for r in bare_runs)
        events_cpu = statistics.median(r["cpu_ms"] for r in event_runs)
        print(f"\n(a) ingest: events {events_rps:.1f} req/s vs bare {bare_rps:.1f} req/s -> ratio "
              f"{events_rps / bare_rps:.3f} (goal >= 0.20); stored {stored}, 2xx counted {posted}"
              f"{'' if in_flight_ok else '  <-- MISMATCH'}; errors {errors}")
        print(f"    gunicorn CPU per request (median): events {events_cpu:.3f} ms, bare {bare_cpu:.3f} ms -> "
              f"{bare_cpu / events_cpu:.3f} from app CPU alone (PostgreSQL and Redis not included)\n")
        Event.objects.filter(event_id__startswith=f"{run}-warm").delete()

        # (b) processing: bare, rules, bare over the same rows, all enqueued before the worker starts.
        history_before = ChangeRecord.objects.filter(source="rule").count()
        rates, cpu = measure_processing(bench_events, args.huey_workers)
        matches = dict(RuleMatch.objects.filter(event__in=bench_events).values_list("status").annotate(n=Count("pk")))
        matched = sum(bench_events.values_list("rules_matched", flat=True))
        history = ChangeRecord.objects.filter(source="rule").count() - history_before
        print(f"\n(b) processing: rules {rates['rules']:.1f} events/s")
        for name, what in PHASES[:2]:
            print(f"    vs {name} {rates[name]:.1f} events/s ({what}): ratio {rates['rules'] / rates[name]:.3f}"
                  f" (goal >= 0.50); from worker CPU per event: {cpu[name] / cpu['rules']:.3f}")
        print(f"    per event: {matched / stored:.2f} matching rules, {sum(matches.values()) / stored:.2f} rule matches"
              f" {matches}, {history / stored:.2f} history rows (bid/budget changes)")

        # (c) lag at a steady rate the system sustains.
        rate = 0.5 * min(rates["rules"], events_rps)
        vacuum()
        with Worker(args.huey_workers):
            paced_posts(ingest_url, token, advertisers, rate=4, seconds=1, run=f"{run}-ready")
            _drain(Event.objects.filter(event_id__startswith=f"{run}-ready"), timeout=120)  # the worker is up
            throttle.delete(throttle_key)
            sent = paced_posts(ingest_url, token, advertisers, rate=rate, seconds=args.lag_seconds, run=f"{run}-lag")
            lag_events = Event.objects.filter(event_id__startswith=f"{run}-lag")
            _drain(lag_events, timeout=300)
        Event.objects.filter(event_id__startswith=f"{run}-ready").delete()
    lags = [(p - r).total_seconds() * 1000 for r, p in lag_events.values_list("received_at", "processed_at")]
    print(f"\n(c) lag at {rate:.0f} events/s ({sent} events): p50 {percentile(lags, 0.5):.1f} ms, "
          f"p99 {percentile(lags, 0.99):.1f} ms, max {max(lags):.1f} ms")
    total = stored + len(lags)
    print(f"\nevents through the API this run: {total}; failed: {Event.objects.filter(status='failed').count()}")
    return 0 if errors == 0 and in_flight_ok and sent == len(lags) else 1


if __name__ == "__main__":
    sys.exit(main())
