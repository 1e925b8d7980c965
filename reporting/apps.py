from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        # Bulk-sheet exports carry delivery figures; campaigns may not import reporting, so the
        # figures are handed to it here.
        from campaigns.bulksheets.metrics import register_metrics_source
        from reporting.bulksheet_metrics import bulk_sheet_metrics

        register_metrics_source(bulk_sheet_metrics)

    def seed_demo(self, stdout, **kwargs) -> None:
        from reporting.demo import seed_performance

        stdout.write(f"  reporting: {seed_performance()} demo days of line-item delivery")
