"""Idle expiry for sessions: a session unused for SESSION_IDLE_TIMEOUT seconds is logged out.

SESSION_COOKIE_AGE bounds a session's whole life; this bounds the gap between two requests.
The last-activity stamp is refreshed at most every SESSION_IDLE_TOUCH_SECONDS, so an active
session costs a session write once a minute, not on every request (SESSION_SAVE_EVERY_REQUEST
would write on every one).
"""

import time

from django.conf import settings
from django.contrib.auth import logout

LAST_ACTIVITY_KEY = "_security_last_activity"


class IdleSessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        timeout = int(getattr(settings, "SESSION_IDLE_TIMEOUT", 0) or 0)
        if session is not None and timeout > 0 and request.user.is_authenticated:
            now = int(time.time())
            last = session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - int(last) > timeout:
                logout(request)  # flushes the session; the request continues as anonymous
            elif last is None or now - int(last) >= int(getattr(settings, "SESSION_IDLE_TOUCH_SECONDS", 60)):
                session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
