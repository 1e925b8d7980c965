"""Fixtures and builders for the sync tests (imported by the test_sync_* modules; holds no tests).

Everything talks to the fake DSP over real HTTP on loopback. Clients come from the `make_client`
fixture (tests/integrations/conftest.py): a recording clock, so retry backoffs cost no wall time.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from campaigns.choices import CampaignStatus, EntityState, LineItemFormat
from campaigns.models import Campaign, Keyword, LineItem, ProductTarget
from integrations.models import AmazonAdvertiserLink, AmazonConnection, ExternalRef, SyncDirection, SyncScope
from integrations.sync import sync_run_execute, sync_run_start


def fake_connection(fake_dsp, name: str = "Fake DSP") -> AmazonConnection:
    """An agency-level connection to the fake's NA host (it serves the advertisers linked to it)."""
    connection = AmazonConnection(
        name=name, region="NA", client_id=fake_dsp.credentials().client_id, profile_id=fake_dsp.profile_id("NA"),
        dsp_account_id=fake_dsp.entity_id("NA"), base_url=fake_dsp.base_url("NA"), token_url=fake_dsp.token_url,
    )
    connection.client_secret = fake_dsp.credentials().client_secret
    connection.refresh_token = fake_dsp.credentials().refresh_token
    connection.save()
    return connection


@pytest.fixture
def dsp_connection(fake_dsp, encryption_key, advertiser):
    """The advertiser served by a connection to the fake, as the fake's first NA advertiser."""
    connection = fake_connection(fake_dsp)
    AmazonAdvertiserLink.objects.create(connection=connection, advertiser=advertiser,
                                        dsp_advertiser_id=fake_dsp.advertiser_ids("NA")[0])
    return connection


@pytest.fixture
def dsp_client(make_client):
    """One client per test (its own token cache and recording clock), like one worker's."""
    return make_client()


def sync(advertiser, direction=SyncDirection.PUSH, *, client, scope=SyncScope.ALL, dry_run=False, on_progress=None):
    run = sync_run_start(advertiser=advertiser, direction=direction, scope=scope, dry_run=dry_run, enqueue=False)
    return sync_run_execute(run_id=run.pk, client=client, on_progress=on_progress)


def fake_state(fake_dsp) -> dict:
    """The fake's own account of itself, over its HTTP control plane."""
    return requests.get(f"{fake_dsp.url}/_fake/state", timeout=5).json()


def set_faults(fake_dsp, rules: list[dict], seed: int = 7) -> None:
    response = requests.post(f"{fake_dsp.url}/_fake/faults", json={"rules": rules, "seed": seed}, timeout=5)
    response.raise_for_status()


def clear_faults(fake_dsp) -> None:
    requests.delete(f"{fake_dsp.url}/_fake/faults", timeout=5).raise_for_status()


def build_tree(advertiser, *, campaigns: int = 1, line_items: int = 1, targets: bool = False,
               status=CampaignStatus.ENABLED, line_item_status=EntityState.ENABLED) -> list[LineItem]:
    """Campaigns with display line items spread over them (bulk inserts: 1,000 rows in a blink)."""
    today = date.today()
    made = Campaign.objects.bulk_create([
        Campaign(advertiser=advertiser, name=f"Campaign {n}", status=status, start_date=today - timedelta(days=10),
                 end_date=today + timedelta(days=20), daily_budget=Decimal("100.00"), total_budget=Decimal("3000.00"))
        for n in range(campaigns)])
    items = LineItem.objects.bulk_create([
        LineItem(campaign=made[n % campaigns], name=f"Line item {n}", format=LineItemFormat.DISPLAY,
                 status=line_item_status, default_bid=Decimal("1.25"), budget=Decimal("500.00"))
        for n in range(line_items)])
    if targets:
        Keyword.objects.bulk_create([Keyword(line_item=li, text=f"tent {li.pk}", match_type="exact") for li in items])
        ProductTarget.objects.bulk_create([ProductTarget(line_item=li, expression=f'asin="B0{li.pk:08d}"')
                                           for li in items])
    return items


def remote_ad_groups(client) -> list[dict]:
    return list(client.iter_ad_groups())


def ref_of(obj) -> ExternalRef:
    from integrations.selectors import external_ref_for

    return external_ref_for(obj=obj)
