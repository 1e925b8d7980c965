"""A fake competitor catalogue in the DummyJSON products shape, for tests and the demo.

    GET /products?limit=30&skip=0[&select=title,price]
        → {"products": [{id, title, description, category, price, discountPercentage, rating,
                         stock, brand, sku}], "total": N, "skip": S, "limit": L}
    GET /products/{id}
    GET /_fake/state   → {"requests": n, "products": N}

As on dummyjson.com, `limit` defaults to 30 and `limit=0` returns everything. Prices are
seeded and deterministic; tests move them with `set_price`, and `fail_next` makes the next
requests answer 5xx. Standalone for the demo:

    python -m integrations.competitors.fake --port 8766
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_BRANDS = ("Northpeak", "TrailCo", "Summit Supply", "Riverbend", "Alpine Works", "Basecamp")
_CATEGORIES = ("tents", "backpacks", "footwear", "jackets", "sleeping-bags")


def _catalogue(count: int, seed: int) -> dict[int, dict]:
    rng = random.Random(seed)
    products = {}
    for n in range(1, count + 1):
        products[n] = {
            "id": n, "title": f"{rng.choice(_BRANDS)} {rng.choice(_CATEGORIES).rstrip('s')} {n}",
            "description": f"Competitor product {n}", "category": rng.choice(_CATEGORIES),
            "price": Decimal(rng.randint(500, 50000)) / 100, "discountPercentage": Decimal(rng.randint(0, 2500)) / 100,
            "rating": round(rng.uniform(2.5, 5), 2), "stock": rng.randint(0, 500), "brand": rng.choice(_BRANDS),
            "sku": f"CMP-{n:05d}",
        }
    return products


def _json(value) -> bytes:
    # Decimals go out as JSON numbers with their own digits (19.99, never 19.990000000000002).
    def encode(obj):
        if isinstance(obj, Decimal):
            return float(obj)
        raise TypeError(type(obj).__name__)

    return json.dumps(value, default=encode).encode()


class FakeCatalog:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, count: int = 120, seed: int = 0):
        self._address, self._count, self._seed = (host, port), count, seed
        self.lock = threading.Lock()
        self.reset()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.products = _catalogue(self._count, self._seed)
            self.requests = 0
            self._failures: list[int] = []

    def set_price(self, product_id: int, price) -> None:
        with self.lock:
            self.products[product_id]["price"] = Decimal(str(price))

    def price(self, product_id: int) -> Decimal:
        with self.lock:
            return self.products[product_id]["price"]

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self.lock:
            self._failures.extend([status] * n)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "FakeCatalog":
        if self._server is None:
            self._server = ThreadingHTTPServer(self._address, _handler(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-competitors", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = self._thread = None

    def __enter__(self) -> "FakeCatalog":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- serving ------------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            self.requests += 1
            if self._failures:
                return self._failures.pop(0), {"message": "Injected failure"}
            if path == "/_fake/state":
                return 200, {"requests": self.requests, "products": len(self.products)}
            ordered = [self.products[k] for k in sorted(self.products)]
            if path.startswith("/products/"):
                product = self.products.get(int(path.rsplit("/", 1)[1])) if path.rsplit("/", 1)[1].isdigit() else None
                return (200, product) if product else (404, {"message": "Product not found"})
            if path != "/products":
                return 404, {"message": f"No route {path}"}
            try:
                limit, skip = int(query.get("limit", 30)), int(query.get("skip", 0))
            except ValueError:
                return 400, {"message": "limit and skip are integers"}
            page = ordered[skip:] if limit == 0 else ordered[skip:skip + limit]
            select = [f.strip() for f in query.get("select", "").split(",") if f.strip()]
            if select:
                page = [{"id": p["id"], **{f: p[f] for f in select if f in p}} for p in page]
            shown = len(page) if limit == 0 else limit
            return 200, {"products": page, "total": len(ordered), "skip": skip, "limit": shown}


def _handler(catalog: FakeCatalog):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, body = catalog.answer(parts.path, query)
            payload = _json(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # quiet: tests and the demo do not want access logs
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake competitor catalogue (DummyJSON shape).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--products", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    catalog = FakeCatalog(host=args.host, port=args.port, count=args.products, seed=args.seed).start()
    print(f"Fake competitor catalogue on {catalog.url}/products ({args.products} products). Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        catalog.stop()


if __name__ == "__main__":
    main()
