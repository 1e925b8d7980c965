"""AmazonConnection: secrets encrypted at rest, never displayed, rotatable; usable by the client."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection as db

from integrations.amazon.client import AmazonAdsClient
from integrations.amazon.fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from integrations.crypto import CredentialsKeyMissing
from integrations.models import AmazonConnection
from tests.integrations.factories import AmazonAdvertiserLinkFactory, AmazonConnectionFactory

pytestmark = pytest.mark.django_db

SECRET = "amzn-client-secret-9f8e7d6c5b4a"
# The connection page's inline of the advertisers it serves, empty.
NO_LINKS = {"links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0", "links-MIN_NUM_FORMS": "0",
            "links-MAX_NUM_FORMS": "1000"}
REFRESH = "Atzr|IwEBIJ-refresh-token-abcdef123456"


def _raw_columns(pk):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret_encrypted, refresh_token_encrypted FROM integrations_amazonconnection WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_secrets_are_encrypted_in_the_database(encryption_key):
    conn = AmazonConnectionFactory(client_secret=SECRET, refresh_token=REFRESH)
    raw_secret, raw_refresh = _raw_columns(conn.pk)
    assert SECRET not in raw_secret and REFRESH not in raw_refresh
    assert Fernet(encryption_key.encode()).decrypt(raw_secret.encode()).decode() == SECRET
    fresh = AmazonConnection.objects.get(pk=conn.pk)
    assert (fresh.client_secret, fresh.refresh_token) == (SECRET, REFRESH)


def test_the_same_secret_encrypts_differently_each_time(encryption_key):
    first = AmazonConnectionFactory(client_secret=SECRET)
    second = AmazonConnectionFactory(client_secret=SECRET)
    assert _raw_columns(first.pk)[0] != _raw_columns(second.pk)[0]


def test_without_a_key_storing_a_secret_fails_clearly(settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    with pytest.raises(CredentialsKeyMissing, match="CREDENTIALS_ENCRYPTION_KEYS is not set"):
        AmazonConnection(name="x").client_secret = SECRET


def test_a_malformed_key_fails_clearly(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CREDENTIALS_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="not a Fernet key"):
        AmazonConnection(name="x").client_secret = SECRET


def test_secrets_are_not_in_str_or_repr(encryption_key):
    conn = AmazonConnectionFactory(name="Acme DSP", client_secret=SECRET, refresh_token=REFRESH)
    for text in (str(conn), repr(conn)):
        assert SECRET not in text and REFRESH not in text and "Acme DSP" in text


def test_a_connection_builds_a_client_that_works_against_the_fake(encryption_key, fake_dsp, advertiser):
    conn = AmazonConnectionFactory(
        client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=DEFAULT_REFRESH_TOKEN,
        base_url=fake_dsp.base_url("NA"), token_url=fake_dsp.token_url, profile_id=fake_dsp.profile_id("NA"),
    )
    link = AmazonAdvertiserLinkFactory(connection=conn, advertiser=advertiser,
                                       dsp_advertiser_id=fake_dsp.advertiser_ids("NA")[0])
    client = AmazonAdsClient.for_link(link)
    assert client.account_id == link.dsp_advertiser_id
    assert [a["advertiserId"] for a in client.iter_advertisers()] == fake_dsp.advertiser_ids("NA")
    assert SECRET not in repr(client) and DEFAULT_CLIENT_SECRET not in repr(client)
    assert AmazonAdsClient.for_connection(conn).account_id is None  # the agency login alone has no advertiser


# --- admin --------------------------------------------------------------------------------------

def test_the_admin_change_page_never_shows_the_secrets(encryption_key, admin_client_logged_in):
    conn = AmazonConnectionFactory(client_secret=SECRET, refresh_token=REFRESH)
    raw_secret, raw_refresh = _raw_columns(conn.pk)
    page = admin_client_logged_in.get(f"/admin/integrations/amazonconnection/{conn.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for hidden in (SECRET, REFRESH, raw_secret, raw_refresh):
        assert hidden not in html
    assert "client secret ••••••" in html and 'type="password"' in html


def test_the_admin_list_never_shows_the_secrets(encryption_key, admin_client_logged_in):
    AmazonConnectionFactory(client_secret=SECRET, refresh_token=REFRESH)
    html = admin_client_logged_in.get("/admin/integrations/amazonconnection/").content.decode()
    assert SECRET not in html and REFRESH not in html


def test_the_admin_stores_new_secrets_encrypted_and_keeps_them_when_left_blank(
    encryption_key, admin_client_logged_in, advertiser
):
    form = {"name": "Acme", "region": "EU", "client_id": "amzn1.application-oa2-client.x",
            "profile_id": "3333333333333333", "dsp_account_id": "", "base_url": "",
            "token_url": "", "new_client_secret": SECRET, "new_refresh_token": REFRESH, **NO_LINKS}
    response = admin_client_logged_in.post("/admin/integrations/amazonconnection/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    conn = AmazonConnection.objects.get(name="Acme")
    assert (conn.client_secret, conn.refresh_token) == (SECRET, REFRESH)
    assert SECRET not in _raw_columns(conn.pk)[0]

    edit = {**form, "name": "Acme renamed", "new_client_secret": "", "new_refresh_token": ""}
    response = admin_client_logged_in.post(f"/admin/integrations/amazonconnection/{conn.pk}/change/", edit)
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.name == "Acme renamed" and (conn.client_secret, conn.refresh_token) == (SECRET, REFRESH)

    replace = {**edit, "new_refresh_token": "Atzr|replacement"}
    admin_client_logged_in.post(f"/admin/integrations/amazonconnection/{conn.pk}/change/", replace)
    conn.refresh_from_db()
    assert conn.refresh_token == "Atzr|replacement" and conn.client_secret == SECRET


def test_adding_a_connection_without_secrets_is_refused(encryption_key, admin_client_logged_in):
    form = {"name": "Acme", "region": "NA", "client_id": "x", "new_client_secret": "", "new_refresh_token": "",
            **NO_LINKS}
    response = admin_client_logged_in.post("/admin/integrations/amazonconnection/add/", form)
    assert response.status_code == 200 and "Required: no value is stored yet." in response.content.decode()
    assert not AmazonConnection.objects.exists()


def test_staff_who_are_not_superusers_cannot_see_connections(encryption_key, client, django_user_model):
    staff = django_user_model.objects.create_user(username="staffer", password="x", is_staff=True)
    client.force_login(staff)
    conn = AmazonConnectionFactory()
    assert client.get(f"/admin/integrations/amazonconnection/{conn.pk}/change/").status_code in (302, 403)
    assert client.get("/admin/integrations/amazonconnection/").status_code in (302, 403)


# --- key rotation -------------------------------------------------------------------------------

def test_rotation_re_encrypts_every_secret_with_the_first_key(settings, encryption_key):
    old = encryption_key
    connections = [AmazonConnectionFactory(client_secret=f"{SECRET}-{n}", refresh_token=f"{REFRESH}-{n}")
                   for n in range(3)]
    new = Fernet.generate_key().decode()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_credentials_key", stdout=io.StringIO())
    settings.CREDENTIALS_ENCRYPTION_KEYS = [new]  # the old key can now go
    for n, conn in enumerate(connections):
        raw_secret, raw_refresh = _raw_columns(conn.pk)
        assert Fernet(new.encode()).decrypt(raw_secret.encode()).decode() == f"{SECRET}-{n}"
        fresh = AmazonConnection.objects.get(pk=conn.pk)
        assert fresh.refresh_token == f"{REFRESH}-{n}"


def test_rotation_with_an_unreadable_secret_changes_nothing_and_fails(settings, encryption_key):
    readable = AmazonConnectionFactory(client_secret=SECRET)
    before = _raw_columns(readable.pk)
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    unreadable = AmazonConnectionFactory(client_secret=SECRET)  # under a key about to be lost
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), encryption_key]
    with pytest.raises(CommandError, match=f"ids {unreadable.pk}"):
        call_command("rotate_credentials_key")
    assert _raw_columns(readable.pk) == before


def test_rotation_without_a_key_is_a_command_error(settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="CREDENTIALS_ENCRYPTION_KEYS"):
        call_command("rotate_credentials_key")


def test_the_demo_command_can_point_a_connection_at_the_fake(encryption_key, fake_dsp, advertiser, other_advertiser):
    from integrations.management.commands.run_fake_dsp import Command

    Command(stdout=io.StringIO())._store_connection(fake_dsp, "Demo (fake DSP)", "EU",
                                                    [advertiser.name, str(other_advertiser.pk)])
    conn = AmazonConnection.objects.get(name="Demo (fake DSP)")
    amazon = AmazonAdsClient.for_connection(conn)
    assert [p["countryCode"] for p in amazon.list_profiles()] == ["UK"]
    assert amazon.report_account_id == fake_dsp.entity_id("EU")
    links = {link.advertiser: link.dsp_advertiser_id for link in conn.links.all()}
    assert links == {advertiser: fake_dsp.advertiser_ids("EU")[0], other_advertiser: fake_dsp.advertiser_ids("EU")[1]}
    assert AmazonAdsClient.for_link(advertiser.amazon_link).account_id == fake_dsp.advertiser_ids("EU")[0]


def test_retry_and_timeout_defaults_come_from_settings(settings, encryption_key):
    settings.AMAZON_ADS_MAX_ATTEMPTS = 3
    settings.AMAZON_ADS_READ_TIMEOUT = 12
    amazon = AmazonAdsClient.for_connection(AmazonConnectionFactory())
    assert amazon.retry.max_attempts == 3 and amazon.timeout == (5.0, 12.0)
