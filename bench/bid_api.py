"""Throughput of the bid API against a bare JSON view, on the production server config.

What is measured: requests/s of authenticated `POST /api/bid/` (token auth, throttling on, exact
Decimal validation, one durable INSERT per request under PostgreSQL's default synchronous_commit)
and of `GET /health/live` (a plain Django view returning a constant JSON body), both served by the
same gunicorn process (backend/gunicorn.conf.py, gthread) with the same settings, in the same run,
with the same load generator, connection count and duration, alternating bare/bid rounds; each
figure is the median of its rounds, so a burst of outside load on the machine hits both alike.

Why the baseline is fair: the bare view pays everything the bid view pays except the bid's own work
(the whole middleware stack including the JSON request log line, gunicorn, HTTP parsing, the client
on the same 2 cores), so bid/bare is the share of the server's capacity left after the API's work:
DRF dispatch, token lookup, the throttle's Redis round trip, parsing and one committed INSERT.

Every POST response is checked (2xx vs anything else, counted by the wrk Lua script) and the
ProductBid rows (of a product id only this benchmark uses) are counted before and after: rows added
must equal the 2xx POSTs. Those rows are deleted afterwards so the bench table does not grow.

    .venv/bin/python bench/bid_api.py [--duration 8] [--rounds 3] [--connections 16] [--workers 4] [--threads 4]
"""

import argparse
import json
import os
import statistics
import sys

import redis

from _common import REDIS_URL, Gunicorn, db_scalar, ensure_database, ensure_token, have_wrk, run_load

# Defaults: the best bid throughput among the workers x threads settings tried on this 2-core box
# (2x1 2x2 2x4 3x1 3x2 4x1 4x4); 4x4 is also what backend/gunicorn.conf.py picks for 2 CPUs.
DEFAULT_WORKERS = 4
DEFAULT_THREADS = 4
# A product id only this run posts, so its rows can be counted (and removed) even when another
# benchmark writes bids to the same database at the same time.
PRODUCT_ID = 900_000_000 + os.getpid()
BODY = json.dumps({"product_id": PRODUCT_ID, "current_cpc": 1.50, "target_roas": 150.0})
OUR_ROWS = "FROM bidding_productbid WHERE calculated_at >= %s AND product_id = %s"


def measure(server: Gunicorn, url: str, **kw) -> dict:
    """One load run, plus the gunicorn processes' CPU time per request over it."""
    cpu = server.cpu_seconds()
    result = run_load(url, **kw)
    result["cpu_ms"] = (server.cpu_seconds() - cpu) * 1000 / max(1, result["requests"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured round")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="bare/bid pairs, alternated; medians reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="GUNICORN_WORKERS")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="GUNICORN_THREADS")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL (INFO, the default: one JSON line per request)")
    args = parser.parse_args()

    ensure_database()
    token = ensure_token()
    user_id = db_scalar("SELECT user_id FROM authtoken_token WHERE key = %s", [token])
    # The throttle keeps one counter per user and window (backend/api/throttling.py).
    throttle_pattern = f"throttle:throttle_user_{user_id}:*"
    cache = redis.Redis.from_url(REDIS_URL)

    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    load = dict(connections=args.connections, threads=args.client_threads)
    started = db_scalar("SELECT now()")
    print(f"server: gunicorn gthread, workers={args.workers} threads={args.threads}, LOG_LEVEL={args.log_level}, "
          f"DEBUG=0, PostgreSQL defaults (synchronous_commit={db_scalar('SHOW synchronous_commit')})")
    print(f"client: {'wrk' if have_wrk() else 'python fallback (wrk not found: figures are lower bounds)'}, "
          f"{args.connections} connections, {args.rounds} x {args.duration}s per endpoint, alternated")
    print("load average (1/5/15 min) before: %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))

    bare_runs, bid_runs = [], []
    with Gunicorn(workers=args.workers, threads=args.threads, LOG_LEVEL=args.log_level,
                  API_THROTTLE_USER="100000000/hour") as server:
        bare_url, bid_url = f"{server.base_url}/health/live", f"{server.base_url}/api/bid/"
        post = dict(method="POST", body=BODY, headers=headers, **load)
        run_load(bare_url, duration=args.warmup, **load)
        warm = run_load(bid_url, duration=args.warmup, **post)
        for n in range(args.rounds):
            bare_runs.append(measure(server, bare_url, duration=args.duration, **load))
            bid_runs.append(measure(server, bid_url, duration=args.duration, **post))
            for name, r in (("bare", bare_runs[-1]), ("bid ", bid_runs[-1])):
                print(f"  round {n + 1} {name}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                      f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  gunicorn CPU {r['cpu_ms']:.3f} ms/req")
            print(f"  round {n + 1} ratio: {bid_runs[-1]['rps'] / bare_runs[-1]['rps']:.3f}")
    # The server has drained (graceful stop): every request it accepted is committed by now.
    rows_added = db_scalar(f"SELECT count(*) {OUR_ROWS}", [started, PRODUCT_ID])
    throttle_counted = sum(int(cache.get(key) or 0) for key in cache.scan_iter(throttle_pattern))
    db_scalar(f"WITH gone AS (DELETE {OUR_ROWS} RETURNING 1) SELECT count(*) FROM gone", [started, PRODUCT_ID])

    bare = statistics.median(r["rps"] for r in bare_runs)
    bid = statistics.median(r["rps"] for r in bid_runs)
    bare_errors = sum(r["errors"] for r in bare_runs)
    bid_errors = sum(r["errors"] for r in bid_runs + [warm])
    posted_ok = sum(r["ok"] for r in bid_runs + [warm])
    # wrk stops mid-flight: up to one request per connection per load run reaches the server (and is
    # stored) without its response being counted, so rows may exceed the 2xx count by that much.
    in_flight = args.connections * (args.rounds + 1)
    rows_ok = posted_ok <= rows_added <= posted_ok + in_flight
    print()
    print(f"GET  /health/live (bare JSON view): {bare:8.1f} req/s (median)  non-2xx/socket errors: {bare_errors}")
    print(f"POST /api/bid/    (token, INSERT) : {bid:8.1f} req/s (median)  non-2xx/socket errors: {bid_errors}")
    print(f"ProductBid rows added: {rows_added} for {posted_ok} 2xx POSTs incl. warm-up (wrk may cut up to "
          f"{in_flight} in flight){'' if rows_ok else '  <-- MISMATCH'}; removed again")
    print(f"throttle: requests counted this hour for the bench user: {throttle_counted:,} (one INCR each)")
    bare_cpu = statistics.median(r["cpu_ms"] for r in bare_runs)
    bid_cpu = statistics.median(r["cpu_ms"] for r in bid_runs)
    print(f"gunicorn CPU per request (median; PostgreSQL/Redis not included): bare {bare_cpu:.3f} ms, "
          f"bid {bid_cpu:.3f} ms -> bid/bare from app CPU alone: {bare_cpu / bid_cpu:.3f} (less sensitive to outside load)")
    print("load average (1/5/15 min) after: %.2f %.2f %.2f" % os.getloadavg())
    print(f"ratio bid/bare: {bid / bare:.3f}  (goal >= 0.20)")
    return 0 if bid_errors == 0 and bare_errors == 0 and rows_ok else 1


if __name__ == "__main__":
    sys.exit(main())
