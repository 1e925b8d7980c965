from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Advertiser
from integrations.models import CompetitorSource


class Command(BaseCommand):
    help = (
        "Fetch competitor prices now: every enabled CompetitorSource, or the ones named. A source is an HTTP "
        "catalogue in the DummyJSON products shape (/products?limit=&skip=). New products and changed prices "
        "are stored as history, pushed to the Redis list competitor_prices when REDIS_URL is set, and moves "
        "beyond the source's threshold become competitor_price_drop / competitor_price_rise events for its "
        "advertisers' rules. --url creates or updates a source first; --fake serves the bundled fake catalogue "
        "for the length of the command (demo). Exits non-zero if a source could not be fetched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", action="append", default=[], help="Source id or name (repeatable).")
        parser.add_argument("--url", help="Create or update the source with this base URL, then fetch it.")
        parser.add_argument("--name", help="Name of the --url source (default: the URL).")
        parser.add_argument("--threshold", help="Percent move that emits an event (e.g. 5).")
        parser.add_argument("--advertiser", action="append", default=[],
                            help="Advertiser id or name whose rules get this source's events (repeatable).")
        parser.add_argument("--fake", action="store_true", help="Serve the fake catalogue and use it as --url.")

    def handle(self, *args, source, url, name, threshold, advertiser, fake, **options):
        from integrations.competitors import CompetitorFetchFailed, competitor_prices_fetch
        from integrations.competitors.fake import FakeCatalog

        catalog = FakeCatalog().start() if fake else None
        try:
            if catalog is not None:
                url, name = catalog.url, name or "Fake competitor catalogue"
            sources = [self._source_from_url(url, name, threshold, advertiser)] if url else []
            sources += [self._find(value) for value in source]
            if not sources:
                sources = list(CompetitorSource.objects.filter(enabled=True).order_by("pk"))
            if not sources:
                raise CommandError("No enabled competitor source; add one in the admin or pass --url.")
            failed = []
            for item in sources:
                try:
                    result = competitor_prices_fetch(source=item)
                except CompetitorFetchFailed as exc:
                    failed.append(f"{item}: {exc}")
                    self.stderr.write(f"{item}: FAILED {exc}")
                    continue
                self.stdout.write(
                    f"{item}: {result.products} products in {result.pages} page(s); {result.new_products} new, "
                    f"{result.price_changes} price change(s), {result.events} event(s), "
                    f"{result.redis_pushed} pushed to Redis")
            if failed:
                raise CommandError(f"{len(failed)} source(s) failed: " + "; ".join(failed))
        finally:
            if catalog is not None:
                catalog.stop()

    def _find(self, value: str) -> CompetitorSource:
        found = (CompetitorSource.objects.filter(pk=int(value)).first() if value.isdigit() else None) \
            or CompetitorSource.objects.filter(name=value).first()
        if found is None:
            raise CommandError(f"No competitor source with id or name {value!r}.")
        return found

    def _source_from_url(self, url: str, name: str | None, threshold: str | None, advertisers: list[str]):
        source = CompetitorSource.objects.filter(base_url=url).first() or CompetitorSource(base_url=url)
        source.name = name or source.name or url[:200]
        if threshold is not None:
            try:
                source.change_threshold_percent = Decimal(threshold)
            except InvalidOperation:
                raise CommandError(f"--threshold {threshold!r} is not a number.") from None
        source.full_clean()
        source.save()
        for value in advertisers:
            found = (Advertiser.objects.filter(pk=int(value)).first() if value.isdigit() else None) \
                or Advertiser.objects.filter(name=value).first()
            if found is None:
                raise CommandError(f"No advertiser with id or name {value!r}.")
            source.advertisers.add(found)
        return source
