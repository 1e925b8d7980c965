from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from backend import health
from backend.observability.metrics_view import metrics
from backend.security.swagger import CSPSwaggerView
from backend.security.views import otp_page

api_v1 = [
    path("bidding/", include("bidding.api.urls")),
    path("campaigns/", include("campaigns.api.urls")),
    path("creatives/", include("creatives.api.urls")),
    path("reporting/", include("reporting.api.urls")),
    path("auth/", include("backend.security.api.urls")),
]

# An unreachable database or Redis is a 503 with Retry-After, not a 500 (backend/unavailable.py).
handler500 = "backend.unavailable.server_error"
# A URL no route matches, or a body Django refuses, under /api/: JSON like every API error.
handler400 = "backend.api.errors.bad_request"
handler404 = "backend.api.errors.not_found"

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("health/detailed", health.detailed, name="health-detailed"),
    path("metrics", metrics, name="prometheus-django-metrics"),
    path("security/otp/", otp_page, name="security-otp"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", CSPSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("bidding.api.legacy_urls")),
    path("api/v1/", include(api_v1)),
]
