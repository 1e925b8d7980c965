"""Shared fixtures: users, API clients, and skips for tests that need the real services."""

import os
import shutil

import pytest
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests share two cores with the rest of the suite (and xdist): judge them on their
# properties, never on how fast examples were generated. HYPOTHESIS_SEED reproduces a run.
hypothesis_settings.register_profile(
    "project",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
hypothesis_settings.load_profile("project")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 costs ~0.25 s per user; tests create hundreds. Production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ops", password="correct horse battery staple")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="correct horse battery staple"
    )


@pytest.fixture
def api(user):
    """An API client authenticated with a real DRF token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def anon_api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(autouse=True)
def force_login_is_otp_verified(request, monkeypatch):
    """Staff sessions need a verified second factor (backend/security/otp.py). Tests that log in
    with `client.force_login(staff)` stand for a staff member who did that, so force_login also
    verifies the session. Tests of the gate itself opt out with @pytest.mark.otp_unverified."""
    if request.node.get_closest_marker("otp_unverified"):
        return
    from django.test.client import ClientMixin

    from backend.security.testing import otp_verify_session

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff or user.is_superuser:
            otp_verify_session(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


@pytest.fixture
def admin_client_logged_in(client, superuser):
    """A superuser's admin session, logged in and two-factor verified."""
    client.force_login(superuser)  # verifies the session too (force_login_is_otp_verified)
    return client


@pytest.fixture
def requires_postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI runs it")


@pytest.fixture
def requires_redis():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs a Redis server (set REDIS_URL); CI runs it")
    return os.environ["REDIS_URL"]


@pytest.fixture
def requires_php():
    if shutil.which("php") is None:
        pytest.skip("needs the php CLI (apt-get install php-cli); CI installs it")


@pytest.fixture
def make_member(db):
    """make_member(advertiser, role) → a user holding `role` on `advertiser`."""
    from campaigns.models import Membership
    from tests.campaigns.factories import UserFactory

    def make(advertiser, role="trader", username=None):
        user = UserFactory(**({"username": username} if username else {}))
        Membership.objects.create(user=user, advertiser=advertiser, role=role)
        return user

    return make


@pytest.fixture
def api_for():
    """api_for(user) → an APIClient authenticated with that user's DRF token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def advertiser(db):
    from tests.campaigns.factories import AdvertiserFactory

    return AdvertiserFactory(name="Acme Outdoor")


@pytest.fixture
def other_advertiser(db):
    from tests.campaigns.factories import AdvertiserFactory

    return AdvertiserFactory(name="Rival Goods")


@pytest.fixture
def trader(advertiser, make_member):
    return make_member(advertiser, "trader", username="tina-trader")


@pytest.fixture
def token(trader):
    """The trader's DRF token key, for requests sent straight to the WSGI app (tests/fuzz/openapi.call)."""
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=trader)[0].key


@pytest.fixture
def viewer(advertiser, make_member):
    return make_member(advertiser, "viewer", username="victor-viewer")


@pytest.fixture
def manager(advertiser, make_member):
    return make_member(advertiser, "manager", username="maria-manager")
