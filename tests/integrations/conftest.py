"""The fake Amazon DSP on a free loopback port, and clients pointed at it.

One server per test session (per xdist worker), reset before every test. Clients get a clock
and a sleep that record instead of waiting, so retry and polling tests run in milliseconds and
can assert the exact delays the client chose.
"""

import random

import pytest
from cryptography.fernet import Fernet

from integrations.amazon.auth import TokenCache
from integrations.amazon.client import AmazonAdsClient
from integrations.amazon.fake import FakeDsp
from tests.integrations.payloads import campaign_payload

FAKE_SEED = 1234


class FakeClock:
    """Monotonic time that only moves when the client sleeps (or a test advances it)."""

    def __init__(self, start: float = 10_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def _fake_dsp_server():
    with FakeDsp(seed=FAKE_SEED) as dsp:
        yield dsp


@pytest.fixture
def fake_dsp(_fake_dsp_server):
    _fake_dsp_server.reset(seed=FAKE_SEED)
    yield _fake_dsp_server
    _fake_dsp_server.reset(seed=FAKE_SEED)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_client(fake_dsp, clock):
    """make_client(**overrides) → an AmazonAdsClient on the fake's NA host, first advertiser."""

    def make(**overrides) -> AmazonAdsClient:
        kwargs = dict(
            credentials=fake_dsp.credentials(),
            region="NA",
            base_url=fake_dsp.base_url("NA"),
            token_url=fake_dsp.token_url,
            profile_id=fake_dsp.profile_id("NA"),
            account_id=fake_dsp.advertiser_ids("NA")[0],
            token_cache=TokenCache(),
            sleep=clock.sleep,
            clock=clock,
            rng=random.Random(0),
            timeout=(2.0, 5.0),
        )
        kwargs.update(overrides)
        return AmazonAdsClient(**kwargs)

    return make


@pytest.fixture
def amazon(make_client):
    return make_client()


@pytest.fixture
def encryption_key(settings):
    key = Fernet.generate_key().decode()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [key]
    return key


@pytest.fixture
def campaign_id(amazon):
    return amazon.create_campaigns([campaign_payload()]).ids("campaignId")[0]
