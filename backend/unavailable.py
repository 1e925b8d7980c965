"""503 Service Unavailable, not 500, when the database or Redis is away.

A request that needs the database (nearly all of them) or Redis (enqueueing work) while it is
unreachable, refusing connections, or cancelling statements (statement_timeout) gets a quick 503
with Retry-After: a JSON body under /api/, a plain page elsewhere. It is the caller's cue to try
again; a 500 would say our code is broken. Each one is counted by dependency
(`adops_unavailable_responses_total`), and logged as a warning with the error.

Two entry points, because Django turns an exception into a response where it is raised:
`DependencyUnavailableMiddleware.process_exception` sees those raised by views, and `server_error`
(the project's handler500) sees those raised in middleware, e.g. loading the session or the user.
Recovery needs nothing from here: Django drops a connection that errored at the end of the request
and checks reused ones first (CONN_HEALTH_CHECKS), and redis-py reconnects on the next command.
"""

import json
import logging
import sys

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.views.defaults import server_error as django_server_error
from prometheus_client import Counter

from backend.api.errors import is_api_request

log = logging.getLogger(__name__)

UNAVAILABLE_RESPONSES = Counter(
    "adops_unavailable_responses",
    "Requests answered 503 because a dependency was unreachable, by dependency.",
    ["dependency"],
)

MESSAGES = {
    "database": "The database is unavailable. Try again shortly.",
    "redis": "The task queue (Redis) is unavailable. Try again shortly.",
}
# The legacy bid endpoint's callers read a list of messages under "errors" (its own error shape).
LEGACY_PATHS = ("/api/bid/",)

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>
<body><h1>Service unavailable</h1><p>{message}</p></body></html>
"""


def unavailable_dependency(exc: BaseException | None) -> str | None:
    """"database" or "redis" when `exc` says that dependency could not be reached; else None."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return "database"
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "redis"
    return None


def unavailable_response(request, dependency: str, exc: BaseException) -> HttpResponse:
    UNAVAILABLE_RESPONSES.labels(dependency=dependency).inc()
    log.warning(
        "dependency unavailable",
        extra={"dependency": dependency, "path": request.path, "error": f"{type(exc).__name__}: {exc}"},
    )
    message = MESSAGES[dependency]
    if is_api_request(request):
        body = {"detail": message, "code": "service_unavailable", "unavailable": dependency}
        if request.path in LEGACY_PATHS:
            body["errors"] = [message]
        response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    else:
        response = HttpResponse(_HTML.format(message=message), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DependencyUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        dependency = unavailable_dependency(exception)
        if dependency is None:
            return None
        return unavailable_response(request, dependency, exception)


def server_error(request, template_name="500.html"):
    """handler500: a 503 when the exception being handled is an unreachable dependency."""
    exc = sys.exc_info()[1]
    dependency = unavailable_dependency(exc)
    if dependency is not None:
        return unavailable_response(request, dependency, exc)
    return django_server_error(request, template_name=template_name)
