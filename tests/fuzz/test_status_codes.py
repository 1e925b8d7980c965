"""Every operation documents the errors it can answer (backend/api/schema.py), and the answers
match: what turning on schemathesis' status_code_conformance found, kept as plain tests."""

import io

import pytest
from rest_framework.authtoken.models import Token
from werkzeug import Client

from campaigns.choices import CampaignStatus
from campaigns.models import Keyword
from campaigns.services import campaigns_set_status
from tests.campaigns.factories import campaign_tree
from tests.fuzz.openapi import APP, assert_conforms, call, keep_test_connection, openapi_schema

METHODS = ("get", "post", "put", "patch", "delete")


def _operations():
    schema = openapi_schema()
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


@pytest.mark.django_db
def test_every_operation_documents_authentication_throttling_and_its_lookups():
    for path, method, operation in _operations():
        codes = set(operation["responses"])
        label = f"{method.upper()} {path}"
        assert {"401", "429", "503"} <= codes, label
        if "{" in path:
            assert "404" in codes, label
            if method != "get":
                assert {"403", "409"} <= codes, label
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, label


@pytest.mark.django_db
def test_the_error_bodies_are_documented_once_as_components():
    schema = openapi_schema()
    components = schema["components"]["schemas"]
    assert {"ErrorDetail", "ValidationErrors", "RequestTooLarge"} <= set(components)
    campaign = schema["paths"]["/api/v1/campaigns/campaigns/{id}/"]["get"]["responses"]
    assert campaign["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorDetail"}



@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/campaigns/campaigns/abc/", "/api/v1/campaigns/campaigns/1.5/",
                                  "/api/v1/campaigns/no-such-thing/"])
def test_a_url_no_route_matches_under_the_api_is_a_json_404(token, path):
    # Was Django's HTML page: a client of the API got a body in a media type the schema does not list.
    response = call("GET", path, token)

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json == {"detail": "Not found."}
    if path.endswith("abc/"):  # a malformed id of a documented operation
        assert_conforms("GET", "/api/v1/campaigns/campaigns/{id}/", response)


@pytest.mark.django_db
def test_outside_the_api_a_404_stays_a_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_multipart_body_with_too_many_files_is_a_json_400(token, settings, advertiser):
    # Django refuses it while parsing (TooManyFilesSent), before the view: it was an HTML page.

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    form = {"advertiser": str(advertiser.pk), "files": [(io.BytesIO(b"\x89PNG"), f"f{n}.png") for n in range(3)]}
    with keep_test_connection():
        response = Client(APP).post("/api/v1/creatives/batches/", headers={"Authorization": f"Token {token}"},
                                    data=form)

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert "DATA_UPLOAD_MAX_NUMBER_FILES" in response.json["detail"]
    assert_conforms("POST", "/api/v1/creatives/batches/", response)



@pytest.mark.django_db
def test_a_forged_host_under_the_api_is_a_json_400_that_does_not_echo_it(token):
    # Django's DisallowedHost: logged, not explained (the message would repeat the forged header).
    with keep_test_connection():
        response = Client(APP).get("/api/v1/campaigns/campaigns/", headers={
            "Authorization": f"Token {token}", "Host": "evil.example<script>"})
    assert response.status_code == 400
    assert response.json == {"detail": "Bad request."}


@pytest.mark.django_db
def test_a_form_with_too_many_fields_is_a_json_400_that_says_why(token, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    with keep_test_connection():
        response = Client(APP).post("/api/v1/creatives/batches/", headers={"Authorization": f"Token {token}"},
                                    data={f"f{n}": "x" for n in range(5)})
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json["detail"]
    assert_conforms("POST", "/api/v1/creatives/batches/", response)


@pytest.mark.django_db
def test_outside_the_api_a_refused_request_stays_a_page(client):
    response = client.get("/admin/", HTTP_HOST="evil.example<script>")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_503_answer_conforms_to_the_schema(token, monkeypatch):
    from django.db import OperationalError, connection

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refused)
    response = call("GET", "/api/v1/campaigns/campaigns/", token)
    monkeypatch.undo()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert_conforms("GET", "/api/v1/campaigns/campaigns/", response, unavailable=True)

@pytest.mark.django_db
def test_creating_under_an_archived_line_item_is_a_documented_409(token, advertiser):
    tree = campaign_tree(advertiser)
    campaigns_set_status(campaigns=[tree.campaign], status=CampaignStatus.ARCHIVED)
    count = Keyword.objects.count()

    response = call("POST", "/api/v1/campaigns/keywords/", token,
                    json_body={"line_item": tree.line_item.pk, "text": "tents", "match_type": "exact", "bid": "1.00"})

    assert response.status_code == 409
    assert Keyword.objects.count() == count
    assert_conforms("POST", "/api/v1/campaigns/keywords/", response)


@pytest.mark.django_db
def test_changing_an_archived_campaign_is_a_documented_409(token, advertiser):
    tree = campaign_tree(advertiser)
    campaigns_set_status(campaigns=[tree.campaign], status=CampaignStatus.ARCHIVED)

    response = call("PATCH", f"/api/v1/campaigns/campaigns/{tree.campaign.pk}/", token, json_body={"name": "Again"})

    assert response.status_code == 409
    assert_conforms("PATCH", "/api/v1/campaigns/campaigns/{id}/", response)


@pytest.mark.django_db
def test_deleting_a_rule_with_history_is_a_documented_409(advertiser, make_member):
    from campaigns.rules.models import MatchStatus, Rule, RuleMatch
    from campaigns.rules.services import event_ingest

    tree = campaign_tree(advertiser)
    token = Token.objects.create(user=make_member(advertiser, "trader")).key
    event, _ = event_ingest(advertiser=advertiser, event_id="e-1", type="inventory.low",
                            occurred_at=tree.campaign.created_at, payload={})
    rule = Rule.objects.create(advertiser=advertiser, name="Low stock", event_type="inventory.low", conditions=[],
                               actions=[{"type": "pause", "target": "keyword", "id": tree.keyword.pk}])
    RuleMatch.objects.create(event=event, rule=rule, advertiser=advertiser, action_index=0, action="pause",
                             target_type="keyword", target_id=tree.keyword.pk, status=MatchStatus.APPLIED)

    response = call("DELETE", f"/api/v1/campaigns/rules/{rule.pk}/", token)

    assert response.status_code == 409
    assert Rule.objects.filter(pk=rule.pk).exists()
    assert_conforms("DELETE", "/api/v1/campaigns/rules/{id}/", response)


@pytest.mark.django_db
def test_an_oversized_body_is_a_documented_413(token, settings):
    settings.REQUEST_BODY_LIMITS = [(r"^/api/v1/campaigns/", 64)]
    response = call("POST", "/api/v1/campaigns/keywords/", token, json_body={"text": "x" * 200})

    assert response.status_code == 413
    assert response.json["limit_bytes"] == 64
    assert_conforms("POST", "/api/v1/campaigns/keywords/", response)
