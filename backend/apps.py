from django.apps import AppConfig


class BackendConfig(AppConfig):
    name = "backend"
    verbose_name = "Platform"

    def ready(self):
        from backend.observability import ops_metrics

        ops_metrics.register_collectors()
