from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        from backend.health import register_detail
        from campaigns.admin_console.access import register_external_id_search
        from campaigns.bulksheets.ids import register_external_ids
        from integrations import external_ids, selectors

        # Facts for /health/detailed: the project package imports no app, apps register here.
        register_detail("competitor_prices", selectors.competitor_health)
        register_detail("amazon_sync", selectors.sync_health)
        # Campaigns never imports integrations: the Amazon ids it shows and takes come from these.
        register_external_ids(resolve=external_ids.resolve, record=external_ids.record)
        register_external_id_search(external_ids.search)
