"""Our OpenAPI schema and an in-process client, shared by the fuzzer (tests/fuzz) and the regression
tests it left behind (tests/<app>/test_fuzz_regressions.py), so a regression is checked with the
same schema and the same validator that found it."""

import json
from contextlib import contextmanager
from functools import cache

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer


def openapi_schema() -> dict:
    """The schema /api/schema/ serves, as plain JSON."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


APP = WSGIHandler()


@contextmanager
def keep_test_connection():
    """Requests sent straight to the WSGI handler would close the test's database connection (and
    with it the test transaction) when they finish; the Django test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@cache
def _validation_schema():
    config = schemathesis.Config.from_dict(
        {"checks": {"enabled": False, "response_schema_conformance": {"enabled": True}}}
    )
    return schemathesis.openapi.from_dict(openapi_schema(), config=config)


def call(method: str, path: str, token: str, *, json_body=None, query=None):
    """One request through the WSGI application, as the fuzzer sends it; a werkzeug TestResponse."""
    from werkzeug import Client

    headers = {"Authorization": f"Token {token}"}
    with keep_test_connection():
        return Client(APP).open(path, method=method, headers=headers, json=json_body, query_string=query)


def assert_conforms(method: str, path_template: str, response, *, unavailable: bool = False) -> None:
    """The operation documents the response's status code and media type, and the body matches
    the schema documented for that code (FailureGroup if not): the fuzzer's checks, on one answer.
    A server error fails it, but for the 503 of a dependency a test took away (`unavailable`)."""
    if not (unavailable and response.status_code == 503):
        assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    operation = _validation_schema()[path_template][method.upper()]
    definition = operation.responses.find_by_status_code(response.status_code)
    assert definition is not None, f"{method.upper()} {path_template} does not document {response.status_code}"
    media_types = list((operation.definition.raw["responses"].get(str(response.status_code)) or {}).get("content", {}))
    if media_types and response.get_data():
        assert response.mimetype in media_types, f"{response.mimetype} is not documented: {media_types}"
    operation.validate_response(response)
