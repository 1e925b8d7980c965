"""Django's own error answers under /api/ in the API's shape: JSON ``{"detail": …}``, not HTML.

DRF answers the errors its views raise; these are the ones raised before a view runs: a URL no
route matches (``/api/v1/campaigns/campaigns/abc/``: ids are digits) is Django's 404, and a body
Django refuses while reading it (too many fields or files in a multipart form) is its 400. A
client of the API gets the same shape as from any view, as the OpenAPI schema documents
(backend/api/schema.py). Everything else (the admin, health) keeps Django's pages.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"
# Refusals whose message is about the client's request and safe to show; other suspicious
# operations (a forged host, a path traversal) are logged by Django, not explained to the client.
_EXPLAINED = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def is_api_request(request) -> bool:
    """Whether `request` is the API's, whose errors are JSON (here, and in backend.unavailable)."""
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception):
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    detail = str(exception) if isinstance(exception, _EXPLAINED) else "Bad request."
    return JsonResponse({"detail": detail}, status=400)


def not_found(request, exception):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)
