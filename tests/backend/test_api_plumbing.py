import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,path",
    [("get", "/api/v1/bidding/bids/"), ("post", "/api/bid/"), ("get", "/api/schema/"), ("get", "/api/docs/")],
)
def test_endpoints_refuse_anonymous_callers(anon_api, method, path):
    response = getattr(anon_api, method)(path)
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_token_made_by_drf_create_token_authenticates(anon_api, user):
    call_command("drf_create_token", user.username, verbosity=0)
    key = Token.objects.get(user=user).key
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert anon_api.get("/api/v1/bidding/bids/").status_code == 200


@pytest.mark.django_db
def test_a_session_login_authenticates(client, user):
    client.force_login(user)
    assert client.get("/api/v1/bidding/bids/").status_code == 200


@pytest.mark.django_db
def test_the_openapi_schema_lists_the_bid_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/bid/" in paths
    assert "/api/v1/bidding/bids/" in paths and "/api/v1/bidding/bids/{id}/" in paths


@pytest.mark.django_db
def test_swagger_ui_is_served_without_a_cdn(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


@pytest.mark.django_db
def test_throttling_answers_429_past_the_rate(api, settings):
    from rest_framework.settings import api_settings

    from backend.api.throttling import FixedWindowUserRateThrottle as UserRateThrottle
    from backend.api.throttling import throttle_reset

    throttle_reset()
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    try:
        codes = [api.get("/api/v1/bidding/bids/").status_code for _ in range(4)]
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        throttle_reset()
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_metrics_need_the_scrape_token(anon_api, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert anon_api.get("/metrics").status_code == 401
    assert anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert response.status_code == 200
    assert "django_http_requests_total_by_method_total" in response.content.decode()


@pytest.mark.django_db
def test_metrics_count_bids_calculated_and_audit_findings(api, anon_api, settings):
    from bidding.audit import budget_audit_run

    settings.METRICS_TOKEN = "scrape-me"

    def scrape():
        text = anon_api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
        return {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line.startswith("adops_") and " " in line
        }

    before = scrape().get('adops_bids_calculated_total{source="legacy_api"}', 0)
    for cpc in ("1.00", "2.00"):  # 2.00 @ 200 doubles: flagged by the audit
        api.post("/api/bid/", {"product_id": 9, "current_cpc": cpc, "target_roas": 200}, format="json")
    budget_audit_run()
    after = scrape()
    assert after['adops_bids_calculated_total{source="legacy_api"}'] == before + 2
    assert after["adops_audit_last_run_findings"] == 2
    assert after["adops_audit_findings_total"] >= 2


@pytest.mark.django_db
def test_the_throttle_keeps_one_counter_per_window_not_a_growing_history(api, user, monkeypatch):

    from backend.api import throttling

    throttling.throttle_reset()
    monkeypatch.setattr(throttling.time, "time", lambda: 1_000_040.0)
    for _ in range(30):
        api.get("/api/v1/bidding/bids/")
    window = int(1_000_040 // 3600)
    assert throttling.window_count(f"throttle_user_{user.pk}:{window}") == 30
    throttling.throttle_reset()


@pytest.mark.django_db
def test_the_throttle_window_resets_and_says_when(api, monkeypatch):
    from rest_framework.settings import api_settings

    from backend.api import throttling

    throttling.throttle_reset()
    monkeypatch.setattr(
        throttling.FixedWindowUserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/minute"}
    )
    clock = [1_000_040.0]  # 20 s into a minute window
    monkeypatch.setattr(throttling.time, "time", lambda: clock[0])
    codes = [api.get("/api/v1/bidding/bids/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert int(api.get("/api/v1/bidding/bids/")["Retry-After"]) == 40
    clock[0] += 40  # the next window
    assert api.get("/api/v1/bidding/bids/").status_code == 200
    throttling.throttle_reset()
