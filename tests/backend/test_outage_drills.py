"""Outage drills: Redis and PostgreSQL go away under a running gunicorn, and come back.

Each drill runs the app as production does (backend/gunicorn.conf.py, gthread) in a subprocess,
keeps requests flowing from a background thread, breaks one dependency, checks what callers and
the readiness probe see, restores it, and checks that everything recovers with no restart. What
is expected, and the timeouts involved, are in docs/operations.md ("When Redis or PostgreSQL goes
away"). Every wait is bounded; each drill takes well under 30 s.

Redis: a redis-server of the drill's own on a free port is SIGKILLed and started again (never the
machine's shared one). PostgreSQL: the app reaches the test database through a proxy the drill
controls, which drops connections ("away") or accepts and never answers them ("stall"); and a real
lock held on a table stands for a saturated database, which statement_timeout must cut short.
"""

import io
import re
import time
import uuid

import psycopg
import pytest
import requests
from django.db import connection

from creatives.choices import RunStatus
from tests.backend.drills import AppServer, BackgroundLoad, PausableProxy, PrivateRedis, have_redis_server
from tests.workers import wait_for
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, member_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# No request may take longer than this, whatever is down: the longest wait any of them has is one
# connect timeout (2 s here) or one statement timeout (1.5 s), plus a busy machine's slack.
BOUND_S = 8.0
METRICS_TOKEN = "drill-metrics-token"


@pytest.fixture
def tenant(requires_postgres):
    """A trader's API token, an advertiser and a few campaigns, committed for the app subprocess."""
    from rest_framework.authtoken.models import Token

    advertiser = AdvertiserFactory(name="Drill advertiser")
    CampaignFactory.create_batch(3, advertiser=advertiser)
    user = member_of(advertiser, "trader", username=f"drill-{uuid.uuid4().hex[:8]}")
    return {"advertiser": advertiser, "token": Token.objects.create(user=user).key}


def database_address() -> tuple[str, int]:
    s = connection.settings_dict
    return s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)


def database_url(host: str, port: int) -> str:
    """The test database (committed rows, transaction=True), reached at host:port."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


class Api:
    """Timed calls to the app; a client timeout past BOUND_S fails the drill instead of hanging it."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, **kwargs) -> tuple[requests.Response, float]:
        started = time.monotonic()
        response = self.session.request(method, self.base_url + path, timeout=BOUND_S + 5, **kwargs)
        elapsed = time.monotonic() - started
        print(f"{time.strftime('%H:%M:%S')} {method} {path} -> {response.status_code} in {elapsed:.2f} s")  # shown on failure
        return response, elapsed

    def bid(self, product_id: int = 4242):
        return self.call("POST", "/api/bid/", json={"product_id": product_id, "current_cpc": 1.5, "target_roas": 150})

    def campaigns(self):
        return self.call("GET", "/api/v1/campaigns/campaigns/?status=enabled&ordering=name")

    def event(self, advertiser_id: int):
        return self.call("POST", "/api/v1/campaigns/events/", json={
            "event_id": f"drill-{uuid.uuid4().hex}", "type": "inventory_low",
            "occurred_at": "2026-11-23T10:00:00Z", "advertiser": advertiser_id,
            "payload": {"product": {"asin": "B000DRILL1"}, "inventory": {"units": 1}},
        })

    def ready(self):
        return self.call("GET", "/health/ready")

    def metric(self, name: str, **labels) -> float:
        response = requests.get(f"{self.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                                timeout=BOUND_S)
        assert response.status_code == 200, response.text[:300]
        wanted = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
        match = re.search(rf"^{re.escape(name + wanted)} ([0-9.e+]+)$", response.text, re.M)
        return float(match.group(1)) if match else 0.0


def background_requests(advertiser_id: int) -> list[tuple]:
    return [
        ("bid", "POST", "/api/bid/", {"product_id": 4243, "current_cpc": 2.0, "target_roas": 200}),
        ("campaigns", "GET", f"/api/v1/campaigns/campaigns/?advertiser={advertiser_id}", None),
    ]


def assert_unavailable(response, elapsed: float, dependency: str) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert elapsed < BOUND_S, f"took {elapsed:.1f} s"
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["unavailable"] == dependency
    assert response.json()["detail"]


# --- Redis ----------------------------------------------------------------------------------------

@pytest.fixture
def private_redis():
    if not have_redis_server():
        pytest.skip("needs redis-server on PATH (apt-get install redis-server); CI has it")
    with PrivateRedis() as server:
        yield server


@pytest.fixture
def processed_creative(tenant, settings, tmp_path):
    """A creative whose first processing run is done (run inline here: the test process's Huey is
    immediate), so reprocessing it queues a new run: a request that needs the task queue."""
    from creatives.services import creative_upload
    from tests.creatives import media
    from tests.creatives.factories import AdSpecFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    spec = AdSpecFactory(width=300, height=250, max_bytes=150_000)
    result = creative_upload(advertiser=tenant["advertiser"], fh=io.BytesIO(media.jpeg(600, 500)),
                             filename="drill.jpg", specs=[spec])
    assert not result.creative.runs.filter(status__in=RunStatus.active()).exists(), "first run did not finish"
    return result.creative


def test_redis_restart_fails_queue_work_fast_keeps_the_rest_up_and_recovers(tenant, private_redis, processed_creative,
                                                                            settings):
    from campaigns.models import Event

    queue = f"drill_{uuid.uuid4().hex[:8]}"  # Huey keeps [A-Za-z0-9_] of the name in its keys
    advertiser_id = tenant["advertiser"].pk
    with AppServer(DATABASE_URL=database_url(*database_address()), REDIS_URL=private_redis.url,
                   HUEY_NAME=queue, MEDIA_ROOT=settings.MEDIA_ROOT, METRICS_TOKEN=METRICS_TOKEN,
                   THROTTLE_FAIL_OPEN_SECONDS=1) as app:
        api = Api(app.url, tenant["token"])
        reprocess = f"/api/v1/creatives/creatives/{processed_creative.pk}/reprocess/"
        assert api.ready()[0].status_code == 200, api.ready()[0].text
        with BackgroundLoad(app.url, tenant["token"], background_requests(advertiser_id)) as load:
            time.sleep(0.5)
            private_redis.kill()
            down_at = time.monotonic()

            # What does not need Redis keeps working: the throttle lets requests through.
            response, elapsed = api.bid()
            assert response.status_code == 200 and elapsed < BOUND_S, response.text
            response, elapsed = api.campaigns()
            assert response.status_code == 200 and elapsed < BOUND_S, response.text
            # An event is stored; its processing is queued later by the reconciler.
            response, elapsed = api.event(advertiser_id)
            assert response.status_code == 202 and elapsed < BOUND_S, response.text
            assert Event.objects.get(pk=response.json()["id"]).status == "queued"

            # What needs the queue fails fast, saying so.
            response, elapsed = api.call("POST", reprocess)
            assert_unavailable(response, elapsed, "redis")

            response, elapsed = api.ready()
            assert response.status_code == 503 and elapsed < BOUND_S
            assert response.json()["failed"] == ["task_queue"], response.json()
            time.sleep(1)  # Redis stays down a moment longer under the background load

            private_redis.start()  # same port, empty: Redis restarted without persistence
            up_at = time.monotonic()
            wait_for(lambda: api.ready()[0].status_code == 200, timeout=BOUND_S, what="/health/ready back to 200")
            response, _ = api.event(advertiser_id)
            assert response.status_code == 202, response.text
            assert private_redis.client().llen(f"huey.redis.{queue}") == 1  # its task reached the queue
            # The throttle counts again once its fail-open pause (1 s here) is over.
            time.sleep(1.2)
            api.bid()
            assert private_redis.client().keys("throttle:*"), "the throttle did not go back to Redis"
            time.sleep(0.3)
        during = load.between(down_at, up_at)
        after = load.between(up_at + 0.5, time.monotonic())
        assert during and after, "the background load did not run through the outage"
        assert {a.status for a in load.answers} == {200}, [a for a in load.answers if a.status != 200][:5]
        assert max(a.seconds for a in load.answers) < BOUND_S
        assert api.metric("adops_unavailable_responses_total", dependency="redis") >= 1
        assert api.metric("adops_throttle_failed_open_total") >= 1


# --- PostgreSQL -----------------------------------------------------------------------------------

def test_database_away_stalled_or_saturated_fails_fast_with_503_and_recovers(tenant, private_redis):
    host, port = database_address()
    s = connection.settings_dict
    with PausableProxy((host, port)) as proxy, AppServer(
        DATABASE_URL=database_url("127.0.0.1", proxy.port), DB_CONNECT_TIMEOUT=2, DB_STATEMENT_TIMEOUT_MS=1500,
        REDIS_URL=private_redis.url, METRICS_TOKEN=METRICS_TOKEN,
    ) as app:
        api = Api(app.url, tenant["token"])
        assert api.ready()[0].status_code == 200
        with BackgroundLoad(app.url, tenant["token"], background_requests(tenant["advertiser"].pk)) as load:
            time.sleep(0.5)

            # Away: every connection dropped, new ones closed at once.
            proxy.set_mode("away")
            away_at = time.monotonic()
            assert_unavailable(*api.bid(), "database")
            assert_unavailable(*api.campaigns(), "database")
            # A staff member's browser: its session cookie makes the page read the database.
            page, elapsed = api.call("GET", "/admin/", cookies={"sessionid": "drill0session0cookie0value0abcd"})
            assert page.status_code == 503 and elapsed < BOUND_S
            assert page.headers["Content-Type"].startswith("text/html") and "Service unavailable" in page.text
            assert page.headers["Retry-After"]
            response, elapsed = api.ready()
            assert response.status_code == 503 and elapsed < BOUND_S
            assert "database" in response.json()["failed"], response.json()

            # Stalled: connections accepted, never answered; the connect timeout ends each wait.
            proxy.set_mode("stall")
            assert_unavailable(*api.bid(), "database")
            response, elapsed = api.ready()
            assert response.status_code == 503 and elapsed < BOUND_S
            assert "database" in response.json()["failed"]

            # Back: the next requests reconnect by themselves.
            proxy.set_mode("forward")
            back_at = time.monotonic()
            wait_for(lambda: api.ready()[0].status_code == 200, timeout=BOUND_S, what="/health/ready back to 200")
            assert api.bid()[0].status_code == 200
            assert api.campaigns()[0].status_code == 200

            # Saturated: the database answers but the bid's INSERT waits behind a lock; the
            # statement timeout (1.5 s here) cancels it and the caller gets a 503, not a hang.
            with psycopg.connect(host=host, port=port, user=s["USER"], password=s["PASSWORD"] or None,
                                 dbname=s["NAME"]) as blocker:
                blocker.execute("LOCK TABLE bidding_productbid IN ACCESS EXCLUSIVE MODE")
                assert_unavailable(*api.bid(), "database")
                assert "canceling statement due to statement timeout" in app.log_tail(200)
                assert api.campaigns()[0].status_code == 200  # other tables are not locked
            assert api.bid()[0].status_code == 200
            time.sleep(0.3)
        outage = load.between(away_at, back_at)
        assert outage and {a.status for a in outage} == {503}, {a.status for a in outage}
        assert all(a.status in (200, 503) for a in load.answers), [a for a in load.answers if a.status not in (200, 503)]
        assert max(a.seconds for a in load.answers) < BOUND_S
        assert load.answers[-1].status == 200
        assert api.metric("adops_unavailable_responses_total", dependency="database") >= 5
