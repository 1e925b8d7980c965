"""Shared plumbing for the benchmarks in bench/: the bench database, a user + token, gunicorn, load.

Everything runs against a dedicated PostgreSQL database (`adops_bench` by default, override with
BENCH_DATABASE_URL) so benchmarks never touch the development or test databases.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/adops_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_USER = "bench"


def django_env(**extra) -> dict:
    """Environment for Django processes: production settings, pointed at the bench database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-not-used-anywhere-else-0123456789abcdef",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=BENCH_DATABASE_URL,
        REDIS_URL=REDIS_URL,
        # Dataset loads (COPY of a million rows, VACUUM) are single statements that may run past
        # the production statement timeout; a server that should have it passes it explicitly.
        DB_STATEMENT_TIMEOUT_MS="0",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def ensure_database() -> None:
    """Create the bench database if it is missing, then apply migrations (a no-op when current)."""
    base, _, name = BENCH_DATABASE_URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    # Benchmarks may start together: one migrate at a time (a session advisory lock), or two
    # would race to create the same tables.
    with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext('bench migrate'))")
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=django_env(), check=True
        )


def ensure_token(username: str = BENCH_USER) -> str:
    """A user and its DRF token in the bench database (created once); returns the key."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        "print(Token.objects.get_or_create(user=user)[0].key)\n"
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=django_env(), check=True,
        capture_output=True, text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def db_scalar(sql: str, params=()) -> object:
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        return conn.execute(sql, params).fetchone()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """The production gunicorn config (backend/gunicorn.conf.py) on a free loopback port."""

    def __init__(self, *, workers: int, threads: int, **env):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.env = django_env(
            GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=workers, GUNICORN_THREADS=threads, **env
        )
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "backend/gunicorn.conf.py", "backend.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.wait_ready()
        return self

    def wait_ready(self, path: str = "/health/live", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout}s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the master and all its workers, reaped ones included."""
        tick = os.sysconf("SC_CLK_TCK")

        def times(pid, with_children):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:15 if with_children else 13]) / tick

        total = times(self.proc.pid, True)
        for child in self.worker_pids():
            try:
                total += times(child, False)
            except FileNotFoundError:  # a worker recycled just now: its time moved to the master
                pass
        return total

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]

    def worker_rss_kib(self) -> dict[int, int]:
        """Resident memory (VmRSS, KiB) of each worker process, by pid."""
        found = {}
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:  # recycled just now
                continue
            found[pid] = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
        return found

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if exc[0] is None:
            os.unlink(self.log.name)  # keep the log only when something went wrong


# --- Load generation ------------------------------------------------------------------------------

# One script for every request kind, so the client does the same work per response for each: it
# counts 2xx vs everything else (wrk's own "Non-2xx or 3xx" line would let a 301 pass as success).
_WRK_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("BENCH_STATUS ok=%d bad=%d\\n", o, b))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def run_load(url: str, *, method="GET", body=None, headers=None, duration=10, connections=16, threads=2) -> dict:
    """Drive `url` for `duration` seconds; returns rps, ok, errors, latency and the tool used."""
    if not have_wrk():
        return _python_load(url, method=method, body=body, headers=headers, duration=duration, connections=connections)
    lua = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lua.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        lua.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", prefix="bench-", suffix=".lua", delete=False) as script:
        script.write("\n".join(lua) + _WRK_LUA)
    try:
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, url],
            capture_output=True, text=True,
        )
    finally:
        os.unlink(script.name)
    result = parse_wrk(done.stdout)
    if result["rps"] is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stdout}{done.stderr}")
    return result


def parse_wrk(out: str) -> dict:
    def find(pattern, cast=float, default=None):
        match = re.search(pattern, out)
        return cast(match.group(1)) if match else default

    status = re.search(r"BENCH_STATUS ok=(\d+) bad=(\d+)", out)
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "tool": "wrk",
        "rps": find(r"Requests/sec:\s+([\d.]+)"),
        "requests": find(r"(\d+) requests in", int),
        "ok": int(status.group(1)) if status else None,
        "errors": (int(status.group(2)) if status else find(r"Non-2xx or 3xx responses: (\d+)", int, 0))
        + socket_errors,
        "p50_ms": _ms(find(r"50%\s+([\d.]+\w+)", str)),
        "p99_ms": _ms(find(r"99%\s+([\d.]+\w+)", str)),
        "raw": out,
    }


def _ms(text):
    if not text:
        return None
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _python_load(url, *, method, body, headers, duration, connections) -> dict:
    """Fallback when wrk is missing: keep-alive http.client connections, one thread each.

    Much slower than wrk (the GIL, and it shares the server's cores), so figures are lower bounds.
    """
    host, port_path = url.split("//", 1)[1].split(":", 1)
    port, _, path = port_path.partition("/")
    path = "/" + path
    payload = body.encode() if body is not None else None
    counts = {"ok": 0, "bad": 0}
    latencies = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def worker():
        ok = bad = 0
        mine = []
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers or {})
                response = conn.getresponse()
                response.read()
                ok, bad = (ok + 1, bad) if 200 <= response.status < 300 else (ok, bad + 1)
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    total = counts["ok"] + counts["bad"]
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None  # noqa: E731
    return {
        "tool": "python http.client fallback (wrk not found)",
        "rps": total / elapsed, "requests": total, "ok": counts["ok"], "errors": counts["bad"],
        "p50_ms": pick(0.50), "p99_ms": pick(0.99), "raw": "",
    }


def random_day_figures(rng) -> dict:
    """One line item's figures for one day, as the reporting benchmarks load them (bench/reports.py
    with COPY, bench/soak.py with bulk_create): money in cents, counts consistent with each other."""
    impressions = rng.randint(0, 20_000)
    clicks = rng.randint(0, impressions // 50)
    measurable = impressions * 9 // 10
    starts = impressions // 5
    return {"impressions": impressions, "clicks": clicks,  # drawn in the order reports.py always drew them
            "spend_cents": rng.randint(0, 4_000), "conversions": rng.randint(0, clicks), "sales_cents": rng.randint(0, 16_000),
            "viewable_impressions": measurable * rng.randint(40, 80) // 100, "measurable_impressions": measurable,
            "video_starts": starts, "video_completions": starts * rng.randint(30, 90) // 100}


def vacuum_analyze(*tables: str) -> None:
    """Fresh statistics (and no dead rows) for tables a benchmark just loaded or churned, or with no
    table named, fresh statistics for the whole database: this machine's PostgreSQL runs without
    autovacuum, and with stale statistics (another benchmark's dataset, say) the planner guesses."""
    from django.db import connection

    with connection.cursor() as cursor:  # Django runs in autocommit: VACUUM is allowed here
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        if not tables:
            cursor.execute("ANALYZE")
