import json
import logging

import pytest

from backend.observability.context import current_request_id
from backend.observability.logging import JsonFormatter, RequestIdFilter


@pytest.mark.django_db
def test_a_given_request_id_is_echoed(anon_api):
    response = anon_api.get("/health/live", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


@pytest.mark.django_db
def test_a_request_id_is_generated_when_missing(anon_api):
    first = anon_api.get("/health/live")["X-Request-ID"]
    second = anon_api.get("/health/live")["X-Request-ID"]
    assert len(first) == 32 and first != second


@pytest.mark.django_db
def test_an_unsafe_request_id_is_replaced_not_echoed(anon_api):
    response = anon_api.get("/health/live", HTTP_X_REQUEST_ID="evil\r\nSet-Cookie: x=1" + "a" * 200)
    assert "evil" not in response["X-Request-ID"]


def _json_lines(caplog_records):
    formatter, id_filter = JsonFormatter(), RequestIdFilter()
    lines = []
    for record in caplog_records:
        id_filter.filter(record)
        lines.append(json.loads(formatter.format(record)))
    return lines


@pytest.mark.django_db
def test_every_log_line_of_a_request_carries_its_id(api, caplog):
    caplog.set_level(logging.INFO)
    api.post("/api/bid/", {"product_id": 5, "current_cpc": "1.50", "target_roas": 150}, format="json",
             HTTP_X_REQUEST_ID="req-42")
    lines = [line for line in _json_lines(caplog.records) if line["logger"] == "backend.request"]
    assert lines, "the request was not logged"
    assert lines[-1]["request_id"] == "req-42"
    assert lines[-1]["path"] == "/api/bid/" and lines[-1]["status"] == 200


def test_a_json_log_line_is_one_parseable_line_with_extras():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.total_bids = 3
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "hello world" and parsed["total_bids"] == 3


@pytest.mark.django_db
def test_the_request_id_reaches_tasks_the_request_causes(settings):
    from huey.contrib.djhuey import HUEY

    from backend.observability.context import request_id_var

    seen = {}

    @HUEY.task()
    def remember_request_id(marker):
        seen[marker] = current_request_id()

    token = request_id_var.set("from-the-request")
    try:
        remember_request_id("a")
    finally:
        request_id_var.reset(token)
    assert seen == {"a": "from-the-request"}
    assert current_request_id() is None
