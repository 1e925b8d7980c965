from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def seed_demo(self, stdout, **kwargs) -> None:
        from reporting.demo import seed_performance

        stdout.write(f"  reporting: {seed_performance()} demo days of line-item delivery")
