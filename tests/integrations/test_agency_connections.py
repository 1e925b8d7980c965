"""One agency connection (one Amazon login) serving several of our advertisers, each linked to its
own DSP advertiser: syncs go to the right account, tenants never see each other's links, the
secrets stay masked, and the migration carries existing per-advertiser connections over."""

import pytest
from django.db import IntegrityError, connection as db, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from campaigns.models import Advertiser
from integrations.models import AmazonAdvertiserLink, AmazonConnection, ExternalRef, SyncRun, SyncStatus
from integrations.sync import NoConnection, sync_run_start, sync_runs_schedule
from tests.campaigns.factories import AdvertiserFactory
from tests.integrations.test_sync_support import build_tree, dsp_client, fake_connection, fake_state, sync  # noqa: F401

pytestmark = pytest.mark.django_db

SECRET_MARKERS = ("fake-dsp-client-secret", "fake-dsp-refresh-token")


@pytest.fixture
def agency(fake_dsp, encryption_key, advertiser, other_advertiser):
    """One login serving two of our advertisers as the fake's first two NA DSP advertisers."""
    connection = fake_connection(fake_dsp, name="Agency login NA")
    first, second = fake_dsp.advertiser_ids("NA")[:2]
    AmazonAdvertiserLink.objects.create(connection=connection, advertiser=advertiser, dsp_advertiser_id=first)
    AmazonAdvertiserLink.objects.create(connection=connection, advertiser=other_advertiser, dsp_advertiser_id=second)
    return connection


def test_each_advertiser_syncs_into_its_own_dsp_advertiser(fake_dsp, agency, make_client, advertiser,
                                                            other_advertiser):
    build_tree(advertiser, line_items=2)
    build_tree(other_advertiser, line_items=3)
    first, second = fake_dsp.advertiser_ids("NA")[:2]

    runs = [sync(a, client=make_client(account_id=None)) for a in (advertiser, other_advertiser)]

    assert [r.status for r in runs] == [SyncStatus.SUCCEEDED, SyncStatus.SUCCEEDED]
    assert [r.connection_id for r in runs] == [agency.pk, agency.pk]
    groups = fake_dsp.app.state.ad_groups.values()
    assert sorted(g["advertiserId"] for g in groups) == [first] * 2 + [second] * 3
    accounts = {r["account"] for r in fake_dsp.recent_requests() if r["path"].startswith("/dsp/v1/")}
    assert accounts == {first, second}
    assert set(ExternalRef.objects.filter(advertiser=other_advertiser).values_list("account_id", flat=True)) == {second}


def test_one_login_means_one_token_for_every_advertiser(fake_dsp, agency, advertiser, other_advertiser):
    from integrations.amazon.auth import DEFAULT_TOKEN_CACHE
    from integrations.sync import sync_run_execute

    DEFAULT_TOKEN_CACHE.clear()
    build_tree(advertiser, line_items=1)
    build_tree(other_advertiser, line_items=1)

    for a in (advertiser, other_advertiser):  # the production client, built from the link
        run = sync_run_start(advertiser=a, direction="push", enqueue=False)
        assert sync_run_execute(run_id=run.pk).status == SyncStatus.SUCCEEDED

    assert fake_state(fake_dsp)["requests"]["by_route"]["POST /auth/o2/token"]["count"] == 1
    DEFAULT_TOKEN_CACHE.clear()


def test_the_schedule_starts_a_run_for_every_linked_advertiser(agency, advertiser, other_advertiser, db):
    AdvertiserFactory(name="Not on Amazon")

    started = sync_runs_schedule(direction="pull")

    assert sorted(r.advertiser.name for r in started) == sorted([advertiser.name, other_advertiser.name])


def test_an_advertiser_without_a_link_cannot_start_a_sync(agency):
    lonely = AdvertiserFactory(name="Lonely")
    with pytest.raises(NoConnection, match="linked to no Amazon DSP advertiser"):
        sync_run_start(advertiser=lonely, direction="push", enqueue=False)
    assert not SyncRun.objects.exists()


def test_a_dsp_advertiser_is_linked_to_one_of_our_advertisers_only(agency, fake_dsp):
    with pytest.raises(IntegrityError), transaction.atomic():
        AmazonAdvertiserLink.objects.create(connection=agency, advertiser=AdvertiserFactory(),
                                            dsp_advertiser_id=fake_dsp.advertiser_ids("NA")[0])


def test_a_link_moved_to_another_connection_fails_the_queued_run_instead_of_crossing_logins(
        fake_dsp, agency, advertiser, make_client):
    from integrations.sync import sync_run_execute

    run = sync_run_start(advertiser=advertiser, direction="push", enqueue=False)
    other = fake_connection(fake_dsp, name="Another login")
    AmazonAdvertiserLink.objects.filter(advertiser=advertiser).update(connection=other)

    run = sync_run_execute(run_id=run.pk, client=make_client())

    assert run.status == SyncStatus.FAILED and "now served by connection Another login" in run.error
    assert fake_state(fake_dsp)["entities"]["campaigns"] == 0


def test_the_sync_console_reads_each_link_through_one_join_and_sorts_by_it(
        fake_dsp, agency, advertiser, other_advertiser, admin_client_logged_in):
    from integrations.selectors import with_sync_state

    lonely = AdvertiserFactory(name="Lonely")
    first, second = fake_dsp.advertiser_ids("NA")[:2]
    AmazonAdvertiserLink.objects.filter(advertiser=other_advertiser).update(
        connection=fake_connection(fake_dsp, name="Aardvark login"))
    annotated = with_sync_state(Advertiser.objects.all())

    rows = {a.pk: (a.connection_name, a.dsp_advertiser_id) for a in annotated}
    assert rows == {advertiser.pk: ("Agency login NA", first), other_advertiser.pk: ("Aardvark login", second),
                    lonely.pk: (None, None)}
    sql, table = str(annotated.query), AmazonAdvertiserLink._meta.db_table
    assert sql.count(f'LEFT OUTER JOIN "{table}"') == 1 and f'FROM "{table}"' not in sql

    def names_in_order(order):
        page = admin_client_logged_in.get(
            reverse("admin:integrations_amazonsyncadvertiser_changelist"), {"o": order}).content.decode()
        return sorted([advertiser.name, other_advertiser.name], key=page.index)

    assert names_in_order("2") == [other_advertiser.name, advertiser.name]  # by connection: Aardvark first
    assert names_in_order("-2") == [advertiser.name, other_advertiser.name]
    assert names_in_order("3") == sorted([advertiser.name, other_advertiser.name],
                                         key={advertiser.name: first, other_advertiser.name: second}.get)


# --- the console: tenancy and masking --------------------------------------------------------------

@pytest.fixture
def staff_of(make_member):
    """staff_of(advertiser) → a console session (its own client) of a staff member of that advertiser."""
    from django.test import Client

    def login(advertiser, role="trader"):
        user = make_member(advertiser, role)
        user.is_staff = True
        user.save()
        client = Client()
        client.force_login(user)
        return client
    return login


def test_a_tenant_sees_its_own_link_and_nothing_of_the_others(agency, staff_of, advertiser, other_advertiser):
    client = staff_of(advertiser)
    theirs = other_advertiser.amazon_link

    listing = client.get(reverse("admin:integrations_amazonadvertiserlink_changelist")).content.decode()
    own = client.get(reverse("admin:integrations_amazonadvertiserlink_change", args=[advertiser.amazon_link.pk]))
    other = client.get(reverse("admin:integrations_amazonadvertiserlink_change", args=[theirs.pk]))
    sync_page = client.get(reverse("admin:integrations_amazonsyncadvertiser_changelist")).content.decode()

    assert advertiser.amazon_link.dsp_advertiser_id in listing and "Agency login NA" in listing
    assert theirs.dsp_advertiser_id not in listing and other_advertiser.name not in listing
    assert own.status_code == 200 and other.status_code in (302, 404)
    assert advertiser.amazon_link.dsp_advertiser_id in sync_page and theirs.dsp_advertiser_id not in sync_page
    for page in (listing, own.content.decode(), sync_page):
        assert not any(marker in page for marker in SECRET_MARKERS)


def test_only_superusers_open_the_connection_and_its_secrets_stay_masked(agency, staff_of, advertiser,
                                                                         admin_client_logged_in):
    tenant = staff_of(advertiser, "manager")
    assert tenant.get(reverse("admin:integrations_amazonconnection_change", args=[agency.pk])).status_code in (302, 403)

    page = admin_client_logged_in.get(reverse("admin:integrations_amazonconnection_change", args=[agency.pk]))

    html = page.content.decode()
    assert page.status_code == 200 and "client secret ••••••" in html
    assert not any(marker in html for marker in SECRET_MARKERS)
    assert agency.client_secret_encrypted not in html
    for link in agency.links.all():  # the superuser sees every advertiser it serves
        assert link.dsp_advertiser_id in html


def test_a_superuser_links_another_advertiser_on_the_connection_page(agency, admin_client_logged_in, fake_dsp):
    third = AdvertiserFactory(name="Third tenant")
    url = reverse("admin:integrations_amazonconnection_change", args=[agency.pk])
    links = list(agency.links.order_by("pk"))
    form = {"name": agency.name, "region": "NA", "client_id": agency.client_id, "profile_id": agency.profile_id,
            "dsp_account_id": agency.dsp_account_id, "base_url": agency.base_url, "token_url": agency.token_url,
            "new_client_secret": "", "new_refresh_token": "",
            "links-TOTAL_FORMS": "3", "links-INITIAL_FORMS": "2", "links-MIN_NUM_FORMS": "0",
            "links-MAX_NUM_FORMS": "1000"}
    for n, link in enumerate(links):
        form.update({f"links-{n}-id": link.pk, f"links-{n}-connection": agency.pk,
                     f"links-{n}-advertiser": link.advertiser_id, f"links-{n}-dsp_advertiser_id": link.dsp_advertiser_id})
    form.update({"links-2-connection": agency.pk, "links-2-advertiser": third.pk,
                 "links-2-dsp_advertiser_id": fake_dsp.advertiser_ids("NA")[2]})

    response = admin_client_logged_in.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert third.amazon_link.connection == agency
    assert AmazonConnection.objects.get(pk=agency.pk).client_secret == fake_dsp.credentials().client_secret


def test_the_connection_page_refuses_a_dsp_advertiser_already_linked(agency, admin_client_logged_in, fake_dsp):
    third = AdvertiserFactory(name="Third tenant")
    url = reverse("admin:integrations_amazonconnection_change", args=[agency.pk])
    form = {"name": agency.name, "region": "NA", "client_id": agency.client_id, "profile_id": agency.profile_id,
            "dsp_account_id": "", "base_url": agency.base_url, "token_url": agency.token_url,
            "new_client_secret": "", "new_refresh_token": "", "links-TOTAL_FORMS": "1", "links-INITIAL_FORMS": "0",
            "links-MIN_NUM_FORMS": "0", "links-MAX_NUM_FORMS": "1000", "links-0-connection": agency.pk,
            "links-0-advertiser": third.pk, "links-0-dsp_advertiser_id": fake_dsp.advertiser_ids("NA")[0]}

    response = admin_client_logged_in.post(url, form)

    assert response.status_code == 200
    assert "already linked to another of our advertisers" in response.content.decode()
    assert not AmazonAdvertiserLink.objects.filter(advertiser=third).exists()


# --- the migration ---------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_each_advertisers_connection_into_its_link(encryption_key):
    before, after = ("integrations", "0002_sync_and_competitor_prices"), ("integrations", "0005_connection_without_advertiser")
    executor = MigrationExecutor(db)
    try:
        executor.migrate([before])
        old = executor.loader.project_state([before]).apps
        Connection = old.get_model("integrations", "AmazonConnection")
        OldAdvertiser = old.get_model("campaigns", "Advertiser")
        acme = OldAdvertiser.objects.create(name="Acme", currency="USD", timezone="UTC", country="US")
        rival = OldAdvertiser.objects.create(name="Rival", currency="USD", timezone="UTC", country="US")
        kept = Connection.objects.create(name="Acme login", advertiser=acme, dsp_advertiser_id="111",
                                         client_id="c", client_secret_encrypted="x", refresh_token_encrypted="y")
        Connection.objects.create(name="Acme second", advertiser=acme, dsp_advertiser_id="222", client_id="c",
                                  client_secret_encrypted="x", refresh_token_encrypted="y")
        Connection.objects.create(name="Rival login", advertiser=rival, dsp_advertiser_id="111", client_id="c",
                                  client_secret_encrypted="x", refresh_token_encrypted="y")
        Connection.objects.create(name="Agency, unused", client_id="c", client_secret_encrypted="x",
                                  refresh_token_encrypted="y")

        executor = MigrationExecutor(db)
        executor.migrate([after])

        links = {link.advertiser.name: (link.connection.name, link.dsp_advertiser_id)
                 for link in AmazonAdvertiserLink.objects.select_related("advertiser", "connection")}
        assert links == {"Acme": ("Acme login", "111"), "Rival": ("Rival login", "")}
        assert AmazonConnection.objects.count() == 4 and AmazonConnection.objects.get(pk=kept.pk).name == "Acme login"

        executor = MigrationExecutor(db)
        executor.migrate([before])  # and back: the first link of each connection returns onto it
        Connection = executor.loader.project_state([before]).apps.get_model("integrations", "AmazonConnection")
        assert Connection.objects.get(name="Acme login").dsp_advertiser_id == "111"
    finally:
        executor = MigrationExecutor(db)
        executor.migrate(executor.loader.graph.leaf_nodes())
    Advertiser.objects.all().delete()
