from django.core.management.base import BaseCommand, CommandError

from integrations.amazon.fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, FakeDsp


class Command(BaseCommand):
    help = (
        "Serve the bundled fake Amazon DSP (LWA token endpoint, profiles, advertisers, /dsp/v1 campaigns, "
        "ad groups, targets, creatives, associations, the asset library and DSP reports) on loopback until "
        "Ctrl-C. State lives in memory. Regional hosts are path prefixes: <url>/na, <url>/eu, <url>/fe; the "
        "token URL is <url>/auth/o2/token; faults and resets go through <url>/_fake/* (see "
        "integrations/amazon/fake/control.py). --connection NAME also stores an AmazonConnection pointing here "
        "with the fake's demo credentials (needs CREDENTIALS_ENCRYPTION_KEYS); --link ADVERTISER (repeatable) "
        "links our advertisers to it, each as the next of the fake's DSP advertisers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Bind address (default: loopback only).")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=0, help="Seed for fault injection and generated report data.")
        parser.add_argument("--advertisers", type=int, default=5, help="DSP advertisers seeded per region.")
        parser.add_argument("--token-ttl", type=int, default=3600, help="Access-token lifetime in seconds.")
        parser.add_argument("--connection", metavar="NAME", help="Create or update an AmazonConnection for this fake.")
        parser.add_argument("--region", default="NA", choices=["NA", "EU", "FE"], help="Region of --connection.")
        parser.add_argument("--link", action="append", default=[], metavar="ADVERTISER",
                            help="Our advertiser (id or exact name) the connection serves; repeatable.")

    def handle(self, *args, host, port, seed, advertisers, token_ttl, connection, region, link, **options):
        dsp = FakeDsp(host=host, port=port, seed=seed, advertisers_per_region=advertisers,
                      config={"token_ttl": token_ttl})
        try:
            dsp.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        try:
            if connection:
                self._store_connection(dsp, connection, region, link)
            elif link:
                raise CommandError("--link needs --connection.")
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

    def _store_connection(self, dsp: FakeDsp, name: str, region: str, advertisers: list[str] = ()) -> None:
        from campaigns.models import Advertiser
        from integrations.crypto import CredentialsKeyMissing
        from integrations.models import AmazonAdvertiserLink, AmazonConnection

        found = []
        for value in advertisers:
            advertiser = (Advertiser.objects.filter(pk=int(value)).first() if value.isdigit() else None) \
                or Advertiser.objects.filter(name=value).first()
            if advertiser is None:
                raise CommandError(f"No advertiser with id or name {value!r}.")
            found.append(advertiser)
        dsp_ids = dsp.advertiser_ids(region)
        if len(found) > len(dsp_ids):
            raise CommandError(f"The fake has {len(dsp_ids)} DSP advertisers in {region}; start it with "
                               f"--advertisers {len(found)} to link {len(found)}.")
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
        conn.dsp_account_id = dsp.entity_id(region)
        conn.save()
        self.stdout.write(f"AmazonConnection {name!r} (id {conn.pk}) now points at this fake.")
        for advertiser, dsp_id in zip(found, dsp_ids):
            AmazonAdvertiserLink.objects.filter(dsp_advertiser_id=dsp_id).exclude(advertiser=advertiser).delete()
            AmazonAdvertiserLink.objects.update_or_create(
                advertiser=advertiser, defaults={"connection": conn, "dsp_advertiser_id": dsp_id})
            self.stdout.write(f"  serves {advertiser} as DSP advertiser {dsp_id}")
