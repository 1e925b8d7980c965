"""The competitor price monitor against the fake catalogue over HTTP on loopback."""

import json
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.rules.models import Event
from integrations.competitors import DROP, RISE, CompetitorFetchFailed, competitor_prices_fetch
from integrations.competitors.fake import FakeCatalog
from integrations.models import CompetitorPrice, CompetitorProduct, CompetitorSource

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _catalog_server():
    with FakeCatalog(count=120, seed=3) as catalog:
        yield catalog


@pytest.fixture
def catalog(_catalog_server):
    _catalog_server.reset()
    return _catalog_server


@pytest.fixture
def source(catalog, advertiser, other_advertiser):
    source = CompetitorSource.objects.create(name="Rival outdoor store", base_url=catalog.url, page_size=50,
                                             change_threshold_percent=Decimal("10"))
    source.advertisers.add(advertiser, other_advertiser)
    return source


def test_a_fetch_pages_through_the_catalogue_and_stores_every_product_once(catalog, source):
    result = competitor_prices_fetch(source=source)

    assert (result.products, result.new_products, result.pages, result.price_changes) == (120, 120, 3, 0)
    assert catalog.requests == 3  # 50 + 50 + 20
    assert CompetitorProduct.objects.count() == 120 == CompetitorPrice.objects.count()
    product = CompetitorProduct.objects.get(external_id="7")
    assert product.price == catalog.price(7) and product.sku == "CMP-00007"
    source.refresh_from_db()
    assert source.last_success_at is not None and source.last_product_count == 120


def test_an_unchanged_catalogue_adds_no_history(catalog, source):
    competitor_prices_fetch(source=source)

    again = competitor_prices_fetch(source=source)

    assert (again.new_products, again.price_changes, again.events) == (0, 0, 0)
    assert CompetitorPrice.objects.count() == 120


def test_moves_beyond_the_threshold_become_rule_events_for_each_advertiser(catalog, source, advertiser):
    competitor_prices_fetch(source=source)
    before = {n: catalog.price(n) for n in (1, 2, 3)}
    catalog.set_price(1, (before[1] * Decimal("0.80")).quantize(Decimal("0.01")))  # -20 %: a drop
    catalog.set_price(2, (before[2] * Decimal("1.25")).quantize(Decimal("0.01")))  # +25 %: a rise
    catalog.set_price(3, (before[3] * Decimal("1.05")).quantize(Decimal("0.01")))  # +5 %: history only

    result = competitor_prices_fetch(source=source)

    assert (result.price_changes, result.events) == (3, 4)
    drop = CompetitorPrice.objects.get(product__external_id="1", previous_price__isnull=False)
    assert (drop.event_type, drop.previous_price, drop.price) == (DROP, before[1], catalog.price(1))
    assert CompetitorPrice.objects.get(product__external_id="3", previous_price__isnull=False).event_type == ""
    event = Event.objects.get(advertiser=advertiser, type=DROP)
    assert event.payload["product_id"] == "1"
    assert Decimal(str(event.payload["change_percent"])) <= Decimal("-19.9")
    assert Event.objects.filter(type=RISE).count() == 2
    assert competitor_prices_fetch(source=source).events == 0  # nothing moved since: nothing new


def test_a_source_that_stays_down_fails_the_fetch_and_stores_nothing(catalog, source, settings):
    settings.COMPETITOR_FETCH_ATTEMPTS = 2
    catalog.fail_next(2, status=503)

    with pytest.raises(CompetitorFetchFailed, match="503"):
        competitor_prices_fetch(source=source)

    source.refresh_from_db()
    assert "503" in source.last_error and source.last_success_at is None
    assert not CompetitorProduct.objects.exists()


def test_a_single_server_error_is_retried(catalog, source):
    catalog.fail_next(1, status=502)

    assert competitor_prices_fetch(source=source).products == 120


def test_new_prices_are_pushed_newest_first_to_a_trimmed_redis_list(
        catalog, source, settings, requires_redis, django_capture_on_commit_callbacks):
    import redis

    key = f"competitor_prices_test_{uuid.uuid4().hex[:8]}"
    settings.REDIS_URL, settings.COMPETITOR_PRICES_REDIS_KEY, settings.COMPETITOR_PRICES_REDIS_MAX = (
        requires_redis, key, 100)
    client = redis.Redis.from_url(requires_redis)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            competitor_prices_fetch(source=source)
        catalog.set_price(5, Decimal("1.99"))
        with django_capture_on_commit_callbacks(execute=True):
            result = competitor_prices_fetch(source=source)

        assert result.redis_pushed == 1
        assert client.llen(key) == 100
        newest = json.loads(client.lindex(key, 0))
        assert (newest["product_id"], newest["price"], newest["event"]) == ("5", "1.99", DROP)
    finally:
        client.delete(key)


def test_health_shows_the_last_successful_fetch(catalog, source, client):
    competitor_prices_fetch(source=source)

    body = client.get("/health/detailed").json()

    assert body["competitor_prices"]["sources"] == 1
    assert body["competitor_prices"]["last_success_at"] is not None
    assert body["competitor_prices"]["stale"] is False
    assert "amazon_sync" in body


def test_the_command_fetches_a_url_and_links_advertisers(catalog, advertiser):
    out = StringIO()

    call_command("fetch_competitor_prices", "--url", catalog.url, "--name", "Rival", "--threshold", "7.5",
                 "--advertiser", advertiser.name, stdout=out)

    source = CompetitorSource.objects.get(name="Rival")
    assert "120 products in 2 page(s)" in out.getvalue()
    assert source.change_threshold_percent == Decimal("7.5")
    assert list(source.advertisers.all()) == [advertiser]


def test_the_command_fails_loudly_when_a_source_is_down(catalog, source, settings):
    settings.COMPETITOR_FETCH_ATTEMPTS = 1
    catalog.fail_next(1, status=500)

    with pytest.raises(CommandError, match="1 source"):
        call_command("fetch_competitor_prices", stdout=StringIO(), stderr=StringIO())


def test_the_command_can_serve_the_fake_for_a_demo(db):
    out = StringIO()

    call_command("fetch_competitor_prices", "--fake", stdout=out)

    assert "120 products" in out.getvalue()
    assert CompetitorProduct.objects.count() == 120
