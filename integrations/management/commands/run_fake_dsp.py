from django.core.management.base import BaseCommand, CommandError

from integrations.amazon.fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, FakeDsp


class Command(BaseCommand):
    help = (
        "Serve the bundled fake Amazon DSP (LWA token endpoint, profiles, advertisers, /dsp/v1 campaigns, "
        "ad groups, targets, creatives, associations, the asset library and DSP reports) on loopback until "
        "Ctrl-C. State lives in memory. Regional hosts are path prefixes: <url>/na, <url>/eu, <url>/fe; the "
        "token URL is <url>/auth/o2/token; faults and resets go through <url>/_fake/* (see "
        "integrations/amazon/fake/control.py). --connection NAME also stores an AmazonConnection pointing here "
        "with the fake's demo credentials (needs CREDENTIALS_ENCRYPTION_KEYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Bind address (default: loopback only).")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=0, help="Seed for fault injection and generated report data.")
        parser.add_argument("--advertisers", type=int, default=5, help="DSP advertisers seeded per region.")
        parser.add_argument("--token-ttl", type=int, default=3600, help="Access-token lifetime in seconds.")
        parser.add_argument("--connection", metavar="NAME", help="Create or update an AmazonConnection for this fake.")
        parser.add_argument("--region", default="NA", choices=["NA", "EU", "FE"], help="Region of --connection.")

    def handle(self, *args, host, port, seed, advertisers, token_ttl, connection, region, **options):
        dsp = FakeDsp(host=host, port=port, seed=seed, advertisers_per_region=advertisers,
                      config={"token_ttl": token_ttl})
        try:
            dsp.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        try:
            if connection:
                self._store_connection(dsp, connection, region)
            self.stdout.write(
                f"Fake Amazon DSP on {dsp.url} (seed {seed})\n"
                f"  API hosts:  {dsp.base_url('NA')}  {dsp.base_url('EU')}  {dsp.base_url('FE')}\n"
                f"  token URL:  {dsp.token_url}\n"
                f"  client id:  {DEFAULT_CLIENT_ID}\n"
                "  secret and refresh token: integrations.amazon.fake.DEFAULT_CLIENT_SECRET / DEFAULT_REFRESH_TOKEN\n"
                f"  NA agency profile {dsp.profile_id('NA')}, advertisers {', '.join(dsp.advertiser_ids('NA'))}\n"
                f"  control:    {dsp.url}/_fake/state  /_fake/faults  /_fake/reset\n"
                "Ctrl-C to stop."
            )
            dsp.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            dsp.stop()

    def _store_connection(self, dsp: FakeDsp, name: str, region: str) -> None:
        from integrations.crypto import CredentialsKeyMissing
        from integrations.models import AmazonConnection

        conn = AmazonConnection.objects.filter(name=name).first() or AmazonConnection(name=name)
        conn.region = region
        conn.client_id = DEFAULT_CLIENT_ID
        try:
            conn.client_secret = DEFAULT_CLIENT_SECRET
            conn.refresh_token = DEFAULT_REFRESH_TOKEN
        except CredentialsKeyMissing as exc:
            raise CommandError(str(exc)) from None
        conn.base_url = dsp.base_url(region)
        conn.token_url = dsp.token_url
        conn.profile_id = dsp.profile_id(region)
        conn.dsp_advertiser_id = dsp.advertiser_ids(region)[0] if dsp.advertiser_ids(region) else ""
        conn.dsp_account_id = dsp.entity_id(region)
        conn.save()
        self.stdout.write(f"AmazonConnection {name!r} (id {conn.pk}) now points at this fake.")
