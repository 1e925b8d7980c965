"""The client address django-axes locks on (AXES_CLIENT_IP_CALLABLE).

Directly exposed: REMOTE_ADDR. Behind TRUSTED_PROXY_COUNT trusted proxies that each append to
X-Forwarded-For: the address the outermost trusted proxy saw, i.e. the TRUSTED_PROXY_COUNT-th entry
from the right (entries further left are whatever the client chose to send, and are ignored).
"""

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return hops[-count] if len(hops) >= count else remote
