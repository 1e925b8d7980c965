from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = "Bidding"

    def ready(self):
        from backend.health import register_detail
        from bidding import metrics
        from bidding.selectors import last_audit_run_summary

        register_detail("last_audit_run", last_audit_run_summary)
        metrics.register_collectors()

    def seed_demo(self, stdout, **kwargs) -> None:
        from bidding.demo import seed_bids

        created = seed_bids()
        stdout.write(f"  bidding: {created} demo bids (30 days) and a budget audit run")
