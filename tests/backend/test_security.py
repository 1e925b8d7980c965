"""Security: login throttling and lockout, staff two-factor, idle sessions, API token
self-service, security headers (CSP, HSTS, CORS)."""

import time

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from backend.security.sessions import LAST_ACTIVITY_KEY
from backend.security.testing import totp_code

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="sam-staff", password=PASSWORD, is_staff=True)


def login(client, username, password, ip="10.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


# --- django-axes: throttling and lockout ---------------------------------------------------------

def test_a_username_is_locked_out_from_an_address_after_five_failures(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert login(client, "sam-staff", "wrong").status_code == 200  # the form again, with an error
    locked = login(client, "sam-staff", "wrong")
    assert locked.status_code == 429
    assert "too many failed login attempts" in locked.content.decode()
    assert "axes_reset_username" in locked.content.decode()
    # Even the right password is refused while locked.
    assert login(client, "sam-staff", PASSWORD).status_code == 429


def test_the_lockout_is_per_username_and_address(client, staff, settings):
    for _ in range(5):
        login(client, "sam-staff", "wrong", ip="10.0.0.1")
    assert login(client, "sam-staff", "wrong", ip="10.0.0.1").status_code == 429
    # Another address may still log in as the same user: an attacker cannot lock staff out.
    response = login(client, "sam-staff", PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302


@pytest.mark.otp_unverified
def test_axes_reset_username_unlocks(client, staff):
    for _ in range(5):
        login(client, "sam-staff", "wrong")
    assert login(client, "sam-staff", PASSWORD).status_code == 429
    call_command("axes_reset_username", "sam-staff", verbosity=0)
    response = login(client, "sam-staff", PASSWORD)
    assert response.status_code == 302
    # The password alone does not open the console: the second factor comes next.
    assert client.get("/admin/").url.startswith("/security/otp/")


# --- django-otp: staff two-factor ----------------------------------------------------------------

@pytest.mark.otp_unverified
def test_a_staff_member_enrols_a_totp_device_and_then_reaches_the_console(client, staff):
    assert login(client, "sam-staff", PASSWORD).status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url == "/security/otp/?next=%2Fadmin%2F"

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="otp-qr"' in html and "<path" in html and "Set up two-factor authentication" in html
    device = TOTPDevice.objects.get(user=staff, confirmed=False)

    wrong = client.post("/security/otp/", {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()

    device.refresh_from_db()  # a failed try is throttled: let it pass for this test
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    done = client.post("/security/otp/", {"token": totp_code(device), "next": "/admin/"})
    assert done.status_code == 302 and done.url == "/admin/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/admin/").status_code == 200


@pytest.mark.otp_unverified
def test_an_enrolled_staff_member_verifies_each_new_session_without_a_new_qr_code(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    login(client, "sam-staff", PASSWORD)
    page = client.get("/security/otp/?next=/admin/")
    assert "otp-qr" not in page.content.decode() and "Two-factor verification" in page.content.decode()
    response = client.post("/security/otp/", {"token": totp_code(device), "next": "/admin/"})
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.otp_unverified
def test_the_otp_page_never_redirects_off_site(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    login(client, "sam-staff", PASSWORD)
    response = client.post("/security/otp/", {"token": totp_code(device), "next": "https://evil.example/"})
    assert response.url == "/admin/"


@pytest.mark.otp_unverified
def test_an_unverified_staff_session_is_refused_by_the_api_and_metrics(client, staff):
    client.force_login(staff)
    assert client.get("/api/v1/bidding/bids/").status_code == 403
    assert client.get("/api/docs/").status_code == 403
    assert client.get("/metrics").status_code == 403
    assert client.get("/health/live").status_code == 200


@pytest.mark.otp_unverified
def test_a_non_staff_session_needs_no_second_factor(client, user):
    client.force_login(user)
    assert client.get("/api/v1/bidding/bids/").status_code == 200


def test_force_login_in_tests_gives_a_verified_staff_session(admin_client_logged_in):
    assert admin_client_logged_in.get("/admin/").status_code == 200


# --- Sessions ------------------------------------------------------------------------------------

def test_an_idle_session_is_logged_out(client, staff, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    session = client.session
    assert session[LAST_ACTIVITY_KEY] >= int(time.time()) - 5
    session[LAST_ACTIVITY_KEY] = int(time.time()) - 601
    session.save()
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_an_active_session_stays(client, staff, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    client.force_login(staff)
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time()) - 300
    session.save()
    assert client.get("/admin/").status_code == 200
    assert client.session[LAST_ACTIVITY_KEY] >= int(time.time()) - 5  # refreshed


def test_sessions_have_an_absolute_lifetime_and_safe_cookies(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY
    assert 0 < settings.SESSION_IDLE_TIMEOUT <= settings.SESSION_COOKIE_AGE


# --- API tokens: list (masked), rotate, revoke ---------------------------------------------------

def test_the_owner_lists_a_masked_token(api, user):
    key = Token.objects.get(user=user).key
    body = api.get("/api/v1/auth/token/").json()
    assert body["count"] == 1
    assert body["results"][0]["prefix"] == key[:6]
    assert key not in str(body)


def test_rotation_returns_a_new_key_once_and_retires_the_old_one(api, anon_api, user):
    old = Token.objects.get(user=user).key
    response = api.post("/api/v1/auth/token/")
    assert response.status_code == 201
    new = response.json()["key"]
    assert new != old and Token.objects.get(user=user).key == new
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert anon_api.get("/api/v1/bidding/bids/").status_code == 401
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert anon_api.get("/api/v1/bidding/bids/").status_code == 200
    assert new not in str(anon_api.get("/api/v1/auth/token/").json())


def test_revocation_ends_the_token(api, user):
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert not Token.objects.filter(user=user).exists()
    assert api.get("/api/v1/bidding/bids/").status_code == 401


def test_one_user_cannot_touch_anothers_token(api_for, user, django_user_model):
    other = django_user_model.objects.create_user(username="other", password=PASSWORD)
    other_key = Token.objects.create(user=other).key
    client = api_for(user)
    client.post("/api/v1/auth/token/")
    client.delete("/api/v1/auth/token/")
    assert Token.objects.get(user=other).key == other_key


def test_token_management_needs_authentication(anon_api):
    assert anon_api.get("/api/v1/auth/token/").status_code == 401
    assert anon_api.post("/api/v1/auth/token/").status_code == 401


# --- Headers: CSP, HSTS, CORS --------------------------------------------------------------------

def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def test_pages_carry_a_strict_content_security_policy(admin_client_logged_in):
    response = admin_client_logged_in.get("/admin/")
    policy = _csp(response)
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in policy.get(directive, "") and "'unsafe-eval'" not in policy.get(directive, "")
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    # The one documented exception: style attributes (ops/security-exceptions.md).
    assert policy["style-src-attr"] == "style-src-attr 'unsafe-inline'"
    assert "script-src-attr" not in policy  # inline event handlers stay blocked (script-src applies)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_swagger_ui_styles_carry_the_nonce_and_its_script_is_a_file(admin_client_logged_in):
    response = admin_client_logged_in.get("/api/docs/")
    html = response.content.decode()
    nonce = _csp(response)["style-src"].split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in html
    assert "<script>" not in html
    script = admin_client_logged_in.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_cors_is_closed_by_default(api):
    response = api.get("/api/v1/bidding/bids/", HTTP_ORIGIN="https://elsewhere.example")
    assert "Access-Control-Allow-Origin" not in response


def test_cors_opens_to_configured_origins_only(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]
    ok = api.get("/api/v1/bidding/bids/", HTTP_ORIGIN="https://partner.example")
    assert ok["Access-Control-Allow-Origin"] == "https://partner.example"
    other = api.get("/api/v1/bidding/bids/", HTTP_ORIGIN="https://elsewhere.example")
    assert "Access-Control-Allow-Origin" not in other


def test_hsts_and_the_other_production_headers(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/health/live", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    admin = client.get("/admin/login/", secure=True)
    assert admin["X-Frame-Options"] == "DENY"


def test_the_lockout_address_comes_from_the_trusted_proxy_hop(rf, settings):
    from backend.security.client_ip import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"  # the client's own "6.6.6.6" is ignored
