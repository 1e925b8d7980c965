"""The fault drill (issue #7): a full push of a whole tree (campaigns, line items, keywords and
product targets, creatives with their associations) and then a pull, against the fake DSP
failing about 30 % of the requests in every way it knows, seeded so every run meets the same
faults. The sync must end with the right counts and exactly the right objects on Amazon.

Waits cost no wall time: the client sleeps on a recording clock (its retry policy is injected),
and only the injected timeouts are real (a quarter second each, a handful per run).
"""

import json
import logging
from io import BytesIO

import pytest

from backend.observability.logging import JsonFormatter
from creatives.services import creative_create_tag, creative_upload, renditions_assign
from integrations.amazon.retry import RetryPolicy
from integrations.models import ExternalRef, SyncDirection, SyncScope, SyncStatus
from integrations.sync import push_dirty_count
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    clear_faults,
    dsp_connection,
    fake_state,
    set_faults,
    sync,
)

pytestmark = pytest.mark.django_db

DRILL_SEED = 30
# About 30 % of the requests fail: each rule draws on its own for the requests it matches, so
# together 1 - 0.94·0.94·0.95·0.96 ≈ 0.19 of the reads and 1 - 0.94·0.94·0.95·0.96·0.75 ≈ 0.4 of
# the batch writes on /dsp/v1, and 0.3 of the asset library's requests.
DSP_FAULTS = [
    {"route": "/dsp/v1/*", "rate": 0.06, "status": 429, "retry_after": 1, "retry_after_rate": 0.5},  # ± Retry-After
    {"route": "/dsp/v1/*", "rate": 0.06, "status": [500, 502, 503, 504]},  # refused before doing anything
    {"route": "/dsp/v1/*", "rate": 0.05, "status": [500, 504], "phase": "after"},  # done, answer lost
    {"route": "/dsp/v1/*", "rate": 0.04, "delay": 0.5, "phase": "after"},  # done, answer too late: a timeout
    # Batch writes (creates end in "s", updates are PATCHes; lists end in "list"): a share of the
    # items fail, retryably.
    {"route": "POST /dsp/v1/*s", "rate": 0.25, "partial": 0.3},
    {"route": "PATCH /dsp/v1/*", "rate": 0.25, "partial": 0.3},
]
# The asset library has no lookup by our name (see integrations.sync.creatives): its faults are
# the ones that happen before anything is registered.
LIBRARY_FAULTS = [
    {"route": "/assets*", "rate": 0.3, "status": [429, 500, 503], "retry_after": 1, "retry_after_rate": 0.5},
    {"route": "/_s3/*", "rate": 0.3, "status": [500, 503]},
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AMAZON_ASSET_POLL_SECONDS = 5


@pytest.fixture
def drill_client(make_client):
    """A worker's client with a retry budget sized for 30 % faults (0.3^12: never spent), waiting
    on the recording clock, and a short read timeout so the injected slow answers time out."""
    return make_client(retry=RetryPolicy(max_attempts=12, max_total_seconds=3600, base_delay=0.5, max_delay=8),
                       timeout=(2.0, 0.25))


def _whole_tree(advertiser, django_capture_on_commit_callbacks):
    """3 campaigns, 150 line items, 300 keywords and product targets; 4 banners with 2 renditions
    each on 30 line items apiece (240 associations) and a third-party tag on 20 more."""
    items = build_tree(advertiser, campaigns=3, line_items=150, targets=True)
    specs = [AdSpecFactory(width=300, height=250, allowed_formats=["png"]),
             AdSpecFactory(width=728, height=90, allowed_formats=["png"])]
    tag_spec = AdSpecFactory(delivery="tag", width=320, height=50, allowed_formats=[])
    with django_capture_on_commit_callbacks(execute=True):
        banners = [creative_upload(advertiser=advertiser, fh=BytesIO(media.png(900 + n, 600)),
                                   filename=f"banner-{n}.png", specs=specs).creative for n in range(4)]
        tag = creative_create_tag(advertiser=advertiser, name="Rich media", width=320, height=50, specs=[tag_spec],
                                  third_party_tag='<div><script src="https://cdn.example.com/r.js"></script></div>'
                                  ).creative
    for n, banner in enumerate(banners):
        banner.refresh_from_db()
        renditions_assign(creative=banner, line_items=items[30 * n:30 * (n + 1)])
    tag.refresh_from_db()
    renditions_assign(creative=tag, line_items=items[130:])
    return items


def test_a_full_push_then_pull_under_30_percent_faults_ends_with_exactly_the_right_objects(
        fake_dsp, dsp_connection, drill_client, advertiser, django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    _whole_tree(advertiser, django_capture_on_commit_callbacks)
    expected = {"campaigns": 3, "adGroups": 150, "targets": 300, "assets": 8, "adCreatives": 9, "associations": 260}
    set_faults(fake_dsp, DSP_FAULTS + LIBRARY_FAULTS, seed=DRILL_SEED)

    push = sync(advertiser, client=drill_client)
    pull = sync(advertiser, SyncDirection.PULL, client=drill_client, scope=SyncScope.ENTITIES)

    state = fake_state(fake_dsp)
    fired = state["faults"]["fired"]
    assert push.status == SyncStatus.SUCCEEDED, (push.error, push.errors[:5])
    created = sum(expected.values()) - expected["assets"]  # an asset is a step of its creative, not an object
    assert (push.created, push.updated, push.failed, push.conflicts) == (created, 0, 0, 0)
    assert push.progress_done == push.progress_total
    assert {k: state["entities"][k] for k in expected} == expected
    assert {"status_429", "status_429_retry_after", "partial", "delay"} <= set(fired)
    assert any(k.startswith("status_50") for k in fired)
    served = state["requests"]["total"]
    assert sum(fired.values()) >= 0.2 * served  # the drill really failed a good share of the requests
    app = fake_dsp.app.state
    assert {c["state"] for c in app.campaigns.values()} == {g["state"] for g in app.ad_groups.values()} == {"ACTIVE"}
    for store in (app.campaigns, app.ad_groups, app.targets, app.ad_creatives):  # no object twice
        assert len({e["externalId"] for e in store.values()}) == len(store)
    assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()
    assert (pull.status, pull.updated, pull.conflicts, pull.errors) == (SyncStatus.SUCCEEDED, 0, 0, [])
    assert pull.unchanged == 3 + 150 + 300
    assert push_dirty_count(advertiser=advertiser) == 0
    clear_faults(fake_dsp)
    assert sync(advertiser, client=drill_client).stats["requests"] == {}
    # Nothing secret in what the drill logged or stored: credentials, tokens, upload signatures.
    credentials = fake_dsp.credentials()
    secrets = [credentials.client_secret, credentials.refresh_token, *fake_dsp.issued_access_tokens(),
               *(app.signature(token) for token in app.uploads)]
    stored = json.dumps([push.errors, push.stats, pull.errors, pull.stats, push.error])
    logged = caplog.text + "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "amazon.retry" in logged and len(app.uploads) == 8
    for secret in secrets:
        assert secret not in logged and secret not in stored
