"""Connection options for every Redis client of the project: the task queue, the cache, the throttle.

Redis going away must cost a request a short, bounded wait, never a hang: each client connects
within REDIS_CONNECT_TIMEOUT seconds and waits at most REDIS_SOCKET_TIMEOUT for an answer.

One immediate retry on a connection error, none on a timeout: after Redis restarts, every pooled
connection is dead, and one retry on a fresh connection makes the first command after the restart
succeed instead of failing. redis-py's own default (ten retries with backoff, or each timeout
waited again) would stretch a refused or black-holed server into seconds per command.

Imported by settings.py: nothing here may read Django's settings.
"""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def client_options(*, connect_timeout: float, socket_timeout: float) -> dict:
    """Keyword arguments for `redis.Redis.from_url` / `redis.ConnectionPool.from_url`."""
    return {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
    }
