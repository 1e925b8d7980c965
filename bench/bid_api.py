"""Throughput of the bid API against a bare JSON view, on the production server config.

What is measured: requests/s of authenticated `POST /api/bid/` (token auth, throttling on, exact
Decimal validation, one durable INSERT per request under PostgreSQL's default synchronous_commit)
and of `GET /health/live` (a plain Django view returning a constant JSON body), both served by the
same gunicorn process (backend/gunicorn.conf.py, gthread) with the same settings, in the same run,
with the same load generator, connection count and duration, alternating bare/bid rounds.

Why the baseline is fair: the bare view pays everything the bid view pays except the bid's own work
(the whole middleware stack including the JSON request log line, gunicorn, HTTP parsing, the client
on the same 2 cores), so bid/bare is the share of the server's capacity left after the API's work:
DRF dispatch, token lookup, the throttle's Redis round trip, parsing and one committed INSERT.

Every POST response is checked (2xx vs anything else, counted by the wrk Lua script) and the
ProductBid rows are counted before and after: rows added must equal the 2xx POSTs.

    .venv/bin/python bench/bid_api.py [--duration 10] [--connections 16] [--workers 2] [--threads 2]
"""

import argparse
import json
import sys

import redis

from _common import REDIS_URL, Gunicorn, db_scalar, ensure_database, ensure_token, have_wrk, run_load

# Best of the settings tried on a 2-core machine (see the sweep in the report): workers x threads.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 2
BODY = json.dumps({"product_id": 123, "current_cpc": 1.50, "target_roas": 150.0})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured round")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--rounds", type=int, default=2, help="bare/bid pairs, alternated; rps are averaged")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="GUNICORN_WORKERS")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="GUNICORN_THREADS")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL (INFO: one JSON line per request)")
    parser.add_argument("--keep-throttle-history", action="store_true",
                        help="do not clear the bench user's throttle history in Redis first")
    args = parser.parse_args()

    ensure_database()
    token = ensure_token()
    user_id = db_scalar("SELECT user_id FROM authtoken_token WHERE key = %s", [token])
    throttle_key = f":1:throttle_user_{user_id}"  # DRF UserRateThrottle's key in Django's cache
    if not args.keep_throttle_history:
        # DRF keeps one timestamp per request for the whole rate window (an hour here); start empty
        # so repeated runs within the hour measure the same thing.
        redis.Redis.from_url(REDIS_URL).delete(throttle_key)

    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    load = dict(connections=args.connections, threads=args.client_threads)
    rows_before = db_scalar("SELECT count(*) FROM bidding_productbid")
    print(f"server: gunicorn gthread, workers={args.workers} threads={args.threads}, LOG_LEVEL={args.log_level}, "
          f"DEBUG=0, PostgreSQL defaults (synchronous_commit={db_scalar('SHOW synchronous_commit')})")
    print(f"client: {'wrk' if have_wrk() else 'python fallback (wrk not found: figures are lower bounds)'}, "
          f"{args.connections} connections, {args.duration}s x {args.rounds} rounds per endpoint")

    with Gunicorn(workers=args.workers, threads=args.threads, LOG_LEVEL=args.log_level,
                  API_THROTTLE_USER="100000000/hour") as server:
        bare_url, bid_url = f"{server.base_url}/health/live", f"{server.base_url}/api/bid/"
        posted_ok = 0
        run_load(bare_url, duration=args.warmup, **load)
        warm = run_load(bid_url, method="POST", body=BODY, headers=headers, duration=args.warmup, **load)
        posted_ok += warm["ok"] or 0
        bare_runs, bid_runs = [], []
        for n in range(args.rounds):
            bare_runs.append(run_load(bare_url, duration=args.duration, **load))
            bid_runs.append(run_load(bid_url, method="POST", body=BODY, headers=headers, duration=args.duration, **load))
            posted_ok += bid_runs[-1]["ok"] or 0
            for name, r in (("bare", bare_runs[-1]), ("bid ", bid_runs[-1])):
                print(f"  round {n + 1} {name}: {r['rps']:9.1f} req/s  p50 {r['p50_ms']:.2f} ms  "
                      f"p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
    rows_added = db_scalar("SELECT count(*) FROM bidding_productbid") - rows_before
    throttle_len = redis.Redis.from_url(REDIS_URL).strlen(throttle_key)

    bare = sum(r["rps"] for r in bare_runs) / len(bare_runs)
    bid = sum(r["rps"] for r in bid_runs) / len(bid_runs)
    bare_errors = sum(r["errors"] for r in bare_runs)
    bid_errors = sum(r["errors"] for r in bid_runs) + warm["errors"]
    print()
    print(f"GET  /health/live (bare JSON view): {bare:9.1f} req/s   non-2xx/socket errors: {bare_errors}")
    print(f"POST /api/bid/    (token, INSERT) : {bid:9.1f} req/s   non-2xx/socket errors: {bid_errors}")
    print(f"ProductBid rows added: {rows_added} (2xx POSTs incl. warm-up: {posted_ok})"
          f"{'' if rows_added == posted_ok else '  <-- MISMATCH'}")
    print(f"throttle history in Redis after the run: {throttle_len} bytes")
    print(f"ratio bid/bare: {bid / bare:.3f}  (goal >= 0.20)")
    return 0 if bid_errors == 0 and bare_errors == 0 and rows_added == posted_ok else 1


if __name__ == "__main__":
    sys.exit(main())
