"""Swagger UI under a strict CSP: the init script is served as its own request (drf-spectacular's
split view) and the page's one small <style> block carries the request's CSP nonce."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class CSPSwaggerView(SpectacularSwaggerSplitView):
    template_name = "security/swagger_ui.html"
