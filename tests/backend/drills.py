"""Parts for the outage drills (test_outage_drills.py): the app under gunicorn in a subprocess, a
Redis server of the drill's own, a TCP proxy in front of PostgreSQL that can drop or stall
connections, and a background load that records every answer.

Nothing here touches the machine's shared PostgreSQL or Redis beyond ordinary connections: the
Redis that is killed is one the drill started on a free port, and "the database going away" is
the proxy closing its side.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the app --------------------------------------------------------------------------------------

class AppServer:
    """backend/gunicorn.conf.py (gthread) on a free loopback port, with the environment given."""

    def __init__(self, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="drill-gunicorn-", suffix=".log", delete=False)
        inherited = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE"}}
        self.env = {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DEBUG": "0",
            "SECRET_KEY": "drill-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "1",  # one process: its counters are the ones /metrics shows
            "GUNICORN_THREADS": "4",
            "HUEY_IMMEDIATE": "0",
            "LOG_LEVEL": "WARNING",
            **{k: str(v) for k, v in env.items()},
        }
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(GUNICORN), "-c", "backend/gunicorn.conf.py", "backend.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self._live, timeout=60, interval=0.2, what="gunicorn answering /health/live")
        except AssertionError as failure:
            tail = self.log_tail()
            self.__exit__(None, None, None)
            raise AssertionError(f"{failure}; its log ends:\n{tail}") from None
        return self

    def _live(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.proc.returncode}")
        try:
            return requests.get(f"{self.url}/health/live", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


# --- a Redis of the drill's own -------------------------------------------------------------------

def have_redis_server() -> bool:
    return shutil.which("redis-server") is not None


class PrivateRedis:
    """redis-server on a free loopback port, no persistence; kill() and start() again on that port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def kill(self) -> None:
        """SIGKILL: Redis gone at once, as in a crash; connections see a reset, new ones a refusal."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.kill()


# --- a proxy in front of PostgreSQL ---------------------------------------------------------------

class PausableProxy:
    """A TCP proxy on a free loopback port to `upstream`, in one of three modes:

    - "forward": pass bytes both ways (the database is there);
    - "away": every open connection is closed and new ones are closed on accept (the server went
      down: clients see the connection end during the handshake);
    - "stall": new connections are accepted and never answered (a host that does not answer, or
      a server too busy to take a connection): only the client's connect timeout ends the wait.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.mode = "forward"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self._close_all()

    def set_mode(self, mode: str) -> None:
        assert mode in ("forward", "away", "stall")
        with self._lock:
            self.mode = mode
        if mode == "away":
            self._close_all()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.1)
            if not ready:
                continue
            client, _ = self._listener.accept()
            with self._lock:
                mode = self.mode
            if mode == "away":
                client.close()
            elif mode == "stall":
                with self._lock:
                    self._open.append(client)  # held open, never read
            else:
                try:
                    server = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                with self._lock:
                    if self.mode != "forward":  # went away while we connected
                        client.close()
                        server.close()
                        continue
                    self._open += [client, server]
                for src, dst in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# --- load -----------------------------------------------------------------------------------------

@dataclass
class Answer:
    kind: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no HTTP answer (the error says why)
    error: str = ""


class BackgroundLoad:
    """Keeps requests flowing from one thread while the drill breaks things: `requests` is a list
    of (kind, method, path, json body or None). Every answer is recorded; each call has a client
    timeout, so a hang shows up as an error here instead of a stuck test."""

    def __init__(self, base_url: str, token: str, requests_: list[tuple], *, client_timeout: float = 15):
        self.base_url = base_url
        self.requests = requests_
        self.client_timeout = client_timeout
        self.answers: list[Answer] = []
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Token {token}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=self.client_timeout + 5)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            kind, method, path, body = self.requests[n % len(self.requests)]
            n += 1
            started = time.monotonic()
            try:
                response = self._session.request(method, self.base_url + path, json=body(n) if callable(body) else body,
                                                 timeout=self.client_timeout)
                self.answers.append(Answer(kind, started, time.monotonic() - started, response.status_code))
            except requests.RequestException as exc:
                self.answers.append(Answer(kind, started, time.monotonic() - started, None, f"{type(exc).__name__}: {exc}"))
            time.sleep(0.02)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in list(self.answers) if start <= a.started < end]
