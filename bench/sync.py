"""Pushing 10,000 line items (and creatives on them) to the fake Amazon DSP: requests made against
the minimum the batch limits allow, and our time against the fake's own time serving them,
measured in the same run.

What is measured: `integrations.sync.sync_run_execute` for one push run, in-process as the Huey
task and `manage.py sync_dsp` call it, with the production client (`AmazonAdsClient.for_connection`)
talking HTTP on loopback to `manage.py run_fake_dsp` in its own process (so the fake's serving time
is not inflated by our process's GIL, nor ours by its).

The minimum: every object has to reach Amazon, at most `limits.*_PER_WRITE` per request, and
Amazon creates everything INACTIVE, so an enabled object needs one more write (a PATCH, at the
same limit) to become ACTIVE. Plus one token request. For C campaigns and L line items, all
enabled: 1 + 2·ceil(C/100) + 2·ceil(L/100). Each of the R creatives (one rendition each, spread
over the line items: A = L assignments) costs what the asset library and the creative API allow
at least: upload, PUT of the bytes, register, P+1 polls (the fake answers PROCESSING P times),
the ad creative, its ad experience; and the associations go 20 per call: R·(P+6) + ceil(A/20).
Goal: requests ≤ 1.1 × that.

The time baseline is the fake's own `serving_seconds` from /_fake/state (the sum over requests of
the time between reading a request and having its answer ready), reset just before the push. The
ratio ours/fake is what the sync adds on top of Amazon itself: building payloads, the create
journal, the per-batch transactions, HTTP and JSON on our side. A no-op push (nothing changed)
follows, to show that unchanged objects cost no request.

    .venv/bin/python bench/sync.py [--line-items 10000] [--campaigns 50] [--creatives 20] [--faults 0.0]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from _common import PYTHON, ROOT, django_env, ensure_database, free_port

BENCH_PREFIX = "bench-sync-"


def _http(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def start_fake(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([PYTHON, "manage.py", "run_fake_dsp", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _http(f"{url}/_fake/state")
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the fake DSP did not start")


def clean_previous_runs() -> None:
    """Bench rows from earlier runs (bench database only): their Amazon ids would collide with
    the new fake's, which numbers from 1 again."""
    from campaigns.models import Advertiser, Campaign
    from creatives.models import Creative
    from integrations.models import AmazonAdvertiserLink, AmazonConnection, ExternalRef, SyncRun

    old = Advertiser.objects.filter(name__startswith=BENCH_PREFIX)
    ExternalRef.objects.filter(advertiser__in=old).delete()
    SyncRun.objects.filter(advertiser__in=old).delete()
    AmazonAdvertiserLink.objects.filter(advertiser__in=old).delete()
    AmazonConnection.objects.filter(name__startswith=BENCH_PREFIX).delete()
    Creative.objects.filter(advertiser__in=old).delete()
    Campaign.objects.filter(advertiser__in=old).delete()
    old.delete()


def build(line_items: int, campaigns: int, fake_url: str):
    from datetime import date, timedelta
    from decimal import Decimal

    from campaigns.models import Advertiser, Campaign, LineItem
    from integrations.amazon.fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
    from integrations.models import AmazonAdvertiserLink, AmazonConnection

    advertiser = Advertiser.objects.create(name=f"{BENCH_PREFIX}{uuid.uuid4().hex[:8]}", currency="USD",
                                           timezone="America/New_York", country="US")
    today = date.today()
    made = Campaign.objects.bulk_create([
        Campaign(advertiser=advertiser, name=f"Bench campaign {n}", status="enabled", start_date=today,
                 end_date=today + timedelta(days=30), daily_budget=Decimal("100.00"), total_budget=Decimal("3000.00"))
        for n in range(campaigns)])
    LineItem.objects.bulk_create([
        LineItem(campaign=made[n % campaigns], name=f"Bench line item {n}", format="display", status="enabled",
                 default_bid=Decimal("1.25") + Decimal(n % 100) / 100, budget=Decimal("500.00"))
        for n in range(line_items)], batch_size=2000)
    connection = AmazonConnection(
        name=advertiser.name, region="NA", client_id=DEFAULT_CLIENT_ID, profile_id="1111111111111111",
        dsp_account_id="ENTITY2XYZ1234", base_url=f"{fake_url}/na", token_url=f"{fake_url}/auth/o2/token")
    connection.client_secret, connection.refresh_token = DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
    connection.save()
    AmazonAdvertiserLink.objects.create(connection=connection, advertiser=advertiser, dsp_advertiser_id="4728736040201")
    return advertiser, connection


def add_creatives(advertiser, count: int) -> int:
    """`count` ready PNG creatives (one 300x250 rendition each, made by the real pipeline), spread
    over the line items so each line item runs one. Returns the number of assignments."""
    import io

    from PIL import Image

    from campaigns.models import LineItem
    from creatives.models import AdSpec, RenditionAssignment
    from creatives.services import creative_upload

    spec, _ = AdSpec.objects.get_or_create(code="bench-sync-300x250", defaults=dict(
        name="Bench 300x250", kind="display", width=300, height=250, allowed_formats=["png"]))
    renditions = []
    for n in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (600, 500), ((n * 37) % 256, (n * 91) % 256, 120)).save(buffer, "PNG")
        buffer.seek(0)
        creative = creative_upload(advertiser=advertiser, fh=buffer, filename=f"bench-{n}.png", specs=[spec]).creative
        creative.refresh_from_db()
        assert creative.status == "ready", creative.rejection_reason
        renditions.append(creative.renditions.get())
    line_items = list(LineItem.objects.filter(campaign__advertiser=advertiser).order_by("pk").values_list("pk", flat=True))
    RenditionAssignment.objects.bulk_create([
        RenditionAssignment(rendition=renditions[n % count], line_item_id=pk) for n, pk in enumerate(line_items)],
        batch_size=2000)
    return len(line_items)


def timed_session():
    """A requests.Session that adds up the wall time of its HTTP round trips, so our time can be
    split into waiting on the (fake) API and everything else (DB, payloads, bookkeeping)."""
    import requests

    class TimedSession(requests.Session):
        http_seconds = 0.0

        def request(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().request(*args, **kwargs)
            finally:
                TimedSession.http_seconds += time.perf_counter() - started

    return TimedSession()


def push(advertiser, connection) -> tuple[object, float, object]:
    from integrations.amazon.client import AmazonAdsClient
    from integrations.sync import sync_run_execute, sync_run_start

    from django.db import connection as db

    client = AmazonAdsClient.for_link(advertiser.amazon_link, session=timed_session())
    run = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)
    started = time.perf_counter()
    with db.execute_wrapper(DB_TIMER):
        run = sync_run_execute(run_id=run.pk, client=client)
    return run, time.perf_counter() - started, client


class DbTimer:
    """Statements and their wall time, through Django's execute wrapper (commits not included)."""

    def __init__(self):
        self.statements, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started


DB_TIMER = DbTimer()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--line-items", type=int, default=10_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--creatives", type=int, default=20, help="Creatives spread over the line items (0: none).")
    parser.add_argument("--faults", type=float, default=0.0,
                        help="Share of /dsp/v1 requests answered 429/5xx (0: none; shows the retry cost).")
    args = parser.parse_args()

    ensure_database()
    # Creatives are processed in this process (no worker), their files go to a scratch folder.
    env = django_env(LOG_LEVEL="ERROR", HUEY_IMMEDIATE="1", MEDIA_ROOT=tempfile.mkdtemp(prefix="bench-sync-media-"))
    env.setdefault("CREDENTIALS_ENCRYPTION_KEYS", "")
    if not env["CREDENTIALS_ENCRYPTION_KEYS"]:
        from cryptography.fernet import Fernet

        env["CREDENTIALS_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from integrations.amazon import limits

    fake, fake_url = start_fake(env)
    try:
        clean_previous_runs()
        advertiser, connection = build(args.line_items, args.campaigns, fake_url)
        assignments = add_creatives(advertiser, args.creatives) if args.creatives else 0
        # Assets active on the first poll: the push then never sleeps between polling rounds (the
        # real library takes minutes; that wait is Amazon's, not ours).
        asset_polls = int(_http(f"{fake_url}/_fake/config", {"asset_processing_polls": 0})["asset_processing_polls"])
        if args.faults:
            _http(f"{fake_url}/_fake/faults", {"seed": 1, "rules": [
                {"route": "/dsp/v1/*", "rate": args.faults, "status": [429, 500, 502, 503, 504], "retry_after": 0}]})
        _http(f"{fake_url}/_fake/stats/reset", {})
        run, seconds, client = push(advertiser, connection)
        db_statements, db_seconds = DB_TIMER.statements, DB_TIMER.seconds
        served = _http(f"{fake_url}/_fake/state")
        noop, noop_seconds, noop_client = push(advertiser, connection)
    finally:
        fake.terminate()
        fake.wait(timeout=10)

    creative_minimum = args.creatives * (asset_polls + 6) + math.ceil(assignments / limits.ASSOCIATIONS_PER_WRITE)
    minimum = (1 + 2 * math.ceil(args.campaigns / limits.CAMPAIGNS_PER_WRITE)
               + 2 * math.ceil(args.line_items / limits.AD_GROUPS_PER_WRITE) + creative_minimum)
    made = client.requests_made
    fake_seconds = served["requests"]["serving_seconds"]
    objects = args.campaigns + args.line_items + args.creatives + assignments
    entities = served["entities"]
    print(f"push of {args.line_items:,} line items under {args.campaigns} campaigns, {args.creatives} creatives"
          f" on them{f' with {args.faults:.0%} faults' if args.faults else ''}: run {run.pk} {run.status}, "
          f"created {run.created:,}, failed {run.failed}, on the fake: {entities['adGroups']:,} ad groups, "
          f"{entities['adCreatives']:,} ad creatives, {entities['associations']:,} associations")
    print(f"  requests made      {made:>8,}   (by kind: {dict(sorted(client.stats.snapshot().items()))})")
    print(f"  requests served    {served['requests']['total']:>8,}   (the fake's own count)")
    print(f"  minimum possible   {minimum:>8,}   (1 token + creates and activations at 100 per call + "
          f"{creative_minimum:,} for the creatives: {asset_polls + 6} per creative, associations at 20 per call)")
    verdict = "met" if made <= 1.1 * minimum else "MISSED"
    if args.faults:  # each failed request is sent again, and a create in doubt is looked up first
        verdict = f"not applicable with faults (re-sending alone costs ≥ {1 / (1 - args.faults):.2f}×)"
    print(f"  ratio              {made / minimum:>8.3f}   goal ≤ 1.100: {verdict}")
    print(f"  our time           {seconds:>8.2f} s ({seconds / objects * 1e3:.3f} ms per object)")
    print(f"  fake serving time  {fake_seconds:>8.2f} s ({fake_seconds / max(1, served['requests']['total']) * 1e3:.1f}"
          f" ms per request)")
    http = type(client.session).http_seconds
    print(f"  ours / fake        {seconds / fake_seconds:>8.2f}×  (what the sync adds on top of serving)")
    print(f"    of which HTTP    {http:>8.2f} s  (round trips seen by our client: loopback, JSON, the fake's parsing)")
    print(f"    of which SQL     {db_seconds:>8.2f} s  ({db_statements:,} statements: loads, the create journal, "
          "refs, the run row)")
    print(f"    the rest         {seconds - http - db_seconds:>8.2f} s  (commits, payloads, hashing, retry waits)")
    print(f"  no-op push again   {noop_client.requests_made:>8,} requests, {noop_seconds:.2f} s, "
          f"unchanged {noop.unchanged:,}")
    ok = (run.status == "succeeded" and entities["adGroups"] == args.line_items
          and entities["adCreatives"] == args.creatives and entities["associations"] == assignments)
    ok = ok and (bool(args.faults) or made <= 1.1 * minimum)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
