"""Competitor price monitor: fetch a source's catalogue, keep the price history, tell the rules.

One fetch = every page of `/products?limit=&skip=` (DummyJSON's shape), then one transaction
that stores new products and changed prices (CompetitorPrice rows) and hands each move beyond
the source's threshold to the rules engine as `competitor_price_drop` / `competitor_price_rise`
(campaigns.rules.services.event_ingest, idempotent on an event id derived from the price row).
After commit the new prices are LPUSHed to the Redis list `competitor_prices` (trimmed to 1,000)
for consumers that read them there; that list is a convenience copy, so a Redis failure is
logged and never fails the fetch.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.rules.services import event_ingest
from integrations.models import CompetitorPrice, CompetitorProduct, CompetitorSource

log = logging.getLogger("integrations.competitors")

CENT = Decimal("0.01")
SELECT = "title,price,brand,category,sku,discountPercentage"  # DummyJSON's `select`: only what we store
DROP, RISE = "competitor_price_drop", "competitor_price_rise"


class CompetitorFetchFailed(Exception):
    pass


@dataclass
class FetchResult:
    products: int = 0
    new_products: int = 0
    price_changes: int = 0
    events: int = 0
    pages: int = 0
    redis_pushed: int = 0


def redis_key() -> str:
    return getattr(settings, "COMPETITOR_PRICES_REDIS_KEY", "competitor_prices")


def redis_max() -> int:
    return int(getattr(settings, "COMPETITOR_PRICES_REDIS_MAX", 1000))


def _get(session: requests.Session, url: str, params: dict) -> dict:
    """One page, retried on 5xx and network errors (a catalogue is read-only: repeating is safe)."""
    attempts = int(getattr(settings, "COMPETITOR_FETCH_ATTEMPTS", 3))
    timeout = float(getattr(settings, "COMPETITOR_FETCH_TIMEOUT_SECONDS", 10))
    for attempt in range(1, attempts + 1):
        try:
            response = session.get(url, params=params, timeout=timeout, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 400:
                # Prices as exact decimals: 19.99 must not become 19.989999999999998.
                return json.loads(response.text, parse_float=Decimal)
            error = f"HTTP {response.status_code} from {url}"
            if response.status_code < 500 and response.status_code != 429:
                break
        if attempt < attempts:
            time.sleep(min(5.0, 0.2 * 2 ** (attempt - 1)))
    raise CompetitorFetchFailed(error)


def fetch_catalogue(source: CompetitorSource, *, session: requests.Session | None = None) -> tuple[list[dict], int]:
    """Every product of the source (deduplicated by id, in case the catalogue shifts while we
    page) and the number of pages read."""
    session = session or requests.Session()
    url = source.base_url.rstrip("/") + "/products"
    limit = max(1, source.page_size)
    products: dict[str, dict] = {}
    skip = pages = 0
    while True:
        page = _get(session, url, {"limit": limit, "skip": skip, "select": SELECT})
        pages += 1
        items = page.get("products") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise CompetitorFetchFailed(f"{url} did not answer in the products shape")
        for item in items:
            if isinstance(item, dict) and item.get("id") is not None:
                products[str(item["id"])] = item
        skip += len(items)
        if not items or skip >= int(page.get("total") or 0):
            return list(products.values()), pages


def _price(value) -> Decimal | None:
    try:
        price = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return price if price.is_finite() and price >= 0 else None


def _change_percent(old: Decimal, new: Decimal) -> Decimal | None:
    if old == 0:
        return None
    return ((new - old) / old * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _event_type(change: Decimal | None, threshold: Decimal) -> str:
    if change is None:
        return ""
    if change <= -threshold:
        return DROP
    if change >= threshold:
        return RISE
    return ""


def competitor_prices_fetch(*, source: CompetitorSource, session: requests.Session | None = None,
                            now=None) -> FetchResult:
    """Fetch, store and announce one source's prices. Raises CompetitorFetchFailed (recorded on
    the source) when the source cannot be read; nothing is stored then. Safe to repeat: an
    unchanged price stores nothing, and event ids are those of the price rows."""
    now = now or timezone.now()
    CompetitorSource.objects.filter(pk=source.pk).update(last_attempt_at=now)
    try:
        items, pages = fetch_catalogue(source, session=session)
    except CompetitorFetchFailed as exc:
        CompetitorSource.objects.filter(pk=source.pk).update(last_error=str(exc)[:2000])
        log.warning("competitor fetch failed", extra={"source": source.pk, "error": str(exc)})
        raise
    result = FetchResult(products=len(items), pages=pages)
    with transaction.atomic():
        # One fetch of a source stores at a time (the periodic task and the admin's "fetch now").
        CompetitorSource.objects.select_for_update().filter(pk=source.pk).first()
        known = {p.external_id: p for p in CompetitorProduct.objects.filter(source=source)}
        new_products, changed_products, prices = [], [], []
        for item in items:
            price = _price(item.get("price"))
            if price is None:
                continue
            external_id = str(item["id"])
            fields = {"title": str(item.get("title") or "")[:300], "brand": str(item.get("brand") or "")[:200],
                      "category": str(item.get("category") or "")[:200], "sku": str(item.get("sku") or "")[:100]}
            product = known.get(external_id)
            discount = _price(item.get("discountPercentage"))
            if product is None:
                product = CompetitorProduct(source=source, external_id=external_id, price=price, first_seen_at=now,
                                            last_seen_at=now, **fields)
                new_products.append(product)
                prices.append(CompetitorPrice(product=product, price=price, observed_at=now,
                                              discount_percentage=discount))
                continue
            for name, value in fields.items():
                setattr(product, name, value)
            product.last_seen_at = now
            if price != product.price:
                change = _change_percent(product.price, price)
                prices.append(CompetitorPrice(
                    product=product, price=price, previous_price=product.price, change_percent=change,
                    discount_percentage=discount, observed_at=now,
                    event_type=_event_type(change, source.change_threshold_percent)))
                product.price = price
            changed_products.append(product)
        CompetitorProduct.objects.bulk_create(new_products)
        CompetitorProduct.objects.bulk_update(changed_products, ["title", "brand", "category", "sku", "price",
                                                                 "last_seen_at"], batch_size=500)
        for row in prices:
            row.product_id = row.product.pk  # new products got their pk in bulk_create
        CompetitorPrice.objects.bulk_create(prices, batch_size=500)
        result.new_products = len(new_products)
        result.price_changes = sum(1 for p in prices if p.previous_price is not None)
        result.events = _emit_events(source, [p for p in prices if p.event_type])
        CompetitorSource.objects.filter(pk=source.pk).update(
            last_success_at=now, last_error="", last_product_count=len(items))
        transaction.on_commit(lambda: _push_to_redis(source, prices, result), robust=True)
    log.info("competitor prices fetched", extra={"source": source.pk, "products": result.products,
                                                 "changes": result.price_changes, "events": result.events})
    return result


def _emit_events(source: CompetitorSource, moves: list[CompetitorPrice]) -> int:
    """One event per advertiser watching the source and per move; inside the fetch's transaction,
    so prices and events commit together (event_ingest enqueues the processing on commit)."""
    advertisers = list(source.advertisers.all())
    emitted = 0
    for row in moves:
        product = row.product
        payload = {
            "source": source.name, "product_id": product.external_id, "title": product.title, "brand": product.brand,
            "category": product.category, "sku": product.sku, "previous_price": row.previous_price,
            "price": row.price, "change_percent": row.change_percent,
            "threshold_percent": source.change_threshold_percent,
        }
        for advertiser in advertisers:
            _, created = event_ingest(advertiser=advertiser, event_id=f"competitor-price-{row.pk}", type=row.event_type,
                                      occurred_at=row.observed_at, payload=payload)
            emitted += int(created)
    return emitted


def _redis():
    url = settings.REDIS_URL
    if not url:
        return None
    import redis

    from backend.redis_options import client_options

    # The project's timeouts and retry policy: Redis away costs the fetch a bounded wait, not a hang.
    return redis.Redis.from_url(
        url, **client_options(connect_timeout=settings.REDIS_CONNECT_TIMEOUT, socket_timeout=settings.REDIS_SOCKET_TIMEOUT)
    )


def _push_to_redis(source: CompetitorSource, prices: list[CompetitorPrice], result: FetchResult) -> None:
    if not prices:
        return
    client = _redis()
    if client is None:
        return
    entries = [json.dumps({
        "source": source.name, "product_id": row.product.external_id, "title": row.product.title,
        "price": str(row.price), "previous_price": None if row.previous_price is None else str(row.previous_price),
        "change_percent": None if row.change_percent is None else str(row.change_percent),
        "observed_at": row.observed_at.isoformat(), "event": row.event_type or None,
    }) for row in prices]
    try:
        with client.pipeline() as pipe:
            # LPUSH in observation order leaves the newest at the head; LTRIM keeps the newest N.
            pipe.lpush(redis_key(), *entries)
            pipe.ltrim(redis_key(), 0, redis_max() - 1)
            pipe.execute()
        result.redis_pushed = len(entries)
    except Exception as exc:  # a convenience copy: never fail the fetch over it
        log.warning("competitor prices not pushed to Redis", extra={"source": source.pk, "error": str(exc)})


def competitor_sources_fetch() -> dict[str, int]:
    """Fetch every enabled source (the periodic task); one failing source does not stop the others."""
    counts = {"fetched": 0, "failed": 0}
    for source in CompetitorSource.objects.filter(enabled=True).order_by("pk"):
        try:
            competitor_prices_fetch(source=source)
            counts["fetched"] += 1
        except CompetitorFetchFailed:
            counts["failed"] += 1
    return counts
