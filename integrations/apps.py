from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        from backend.health import register_detail
        from integrations import selectors

        # Facts for /health/detailed: the project package imports no app, apps register here.
        register_detail("competitor_prices", selectors.competitor_health)
        register_detail("amazon_sync", selectors.sync_health)
