"""Request bodies refused by their declared size (413) before anything reads them.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE bounds form and JSON bodies but not files, and anything
read before a view's own checks has already been received. This middleware compares the
Content-Length header with the limit for the path (REQUEST_BODY_LIMITS: first matching regex
wins, else REQUEST_BODY_DEFAULT_LIMIT) and answers 413 without touching the body. A body without
Content-Length (chunked) is not readable by Django at all (it reads Content-Length bytes), so
the header is the whole story. The apps keep their own streaming caps as a second line
(creatives.api.uploads.CappedUploadHandler, reporting.uploads, campaigns.bulksheets.safety).
"""

import re
from functools import lru_cache

from django.conf import settings
from django.http import JsonResponse


@lru_cache(maxsize=8)
def _compiled(rules: tuple) -> list[tuple[re.Pattern, int]]:
    return [(re.compile(pattern), int(limit)) for pattern, limit in rules]


def limit_for(path: str) -> int:
    rules = tuple(tuple(rule) for rule in getattr(settings, "REQUEST_BODY_LIMITS", ()))
    for pattern, limit in _compiled(rules):
        if pattern.match(path):
            return limit
    return int(getattr(settings, "REQUEST_BODY_DEFAULT_LIMIT", settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length."}, status=400)
        limit = limit_for(request.path)
        if length > limit:
            response = JsonResponse(
                {"detail": f"The request body is {_mib(length)}; {request.path} accepts at most {_mib(limit)}.",
                 "limit_bytes": limit},
                status=413,
            )
            # No "Connection: close" here: WSGI forbids hop-by-hop headers from the application
            # (runserver refuses them). The server deals with the unread body: gunicorn discards
            # it before the next request on the connection, runserver closes the connection.
            return response
        return self.get_response(request)
