"""Two-factor for staff: a TOTP device (django-otp) must be enrolled and verified in the session
before any staff session reaches the console, the API docs or anything else behind a login.

The gate runs after django-otp's OTPMiddleware (which gives `request.user.is_verified()`). An
unverified staff session is sent to the enrolment/verification page (HTML) or refused with 403
(API paths). Token-authenticated API calls carry no session and never meet the gate.
"""

import re

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.http import urlencode

# Paths an unverified staff session may still reach: logging in and out, the two-factor pages
# themselves, static files and the health probes.
DEFAULT_EXEMPT = (
    r"^/admin/login/",
    r"^/admin/logout/",
    r"^/security/otp/",
    r"^/static/",
    r"^/health/",
)


def _exempt_patterns():
    return [re.compile(p) for p in getattr(settings, "OTP_GATE_EXEMPT_PATHS", DEFAULT_EXEMPT)]


def needs_second_factor(user) -> bool:
    return bool(
        getattr(settings, "OTP_REQUIRED_FOR_STAFF", True)
        and user.is_authenticated
        and (user.is_staff or user.is_superuser)
        and not user.is_verified()
    )


def safe_next(request, default: str = "/admin/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return default


class StaffOTPRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = _exempt_patterns()

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and not any(p.match(request.path) for p in self.exempt) and needs_second_factor(user):
            if request.path.startswith("/api/") or request.path == "/metrics":
                return JsonResponse(
                    {"detail": "Staff sessions need two-factor verification: visit /security/otp/ first, "
                               "or use an API token."},
                    status=403,
                )
            return HttpResponseRedirect(f"{reverse('security-otp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
