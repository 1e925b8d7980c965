from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def seed_demo(self, stdout, *, password: str) -> None:
        from campaigns.demo import seed_campaigns

        created, trader = seed_campaigns(password=password)
        stdout.write(f"  campaigns: {created} demo campaigns; trader login: {trader} / {password}")
