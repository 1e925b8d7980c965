"""The OpenAPI schema integrations generate clients from: drf-spectacular raises no warning while
building it (a warning means a guessed or clashing component), and it validates as OpenAPI 3."""

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats

pytestmark = pytest.mark.django_db


def test_schema_builds_without_warnings_and_validates(tmp_path):
    reset_generator_stats()  # earlier schema builds in this process leave their stats behind
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert not GENERATOR_STATS
    text = out.read_text()
    assert "eventTokenAuth:" in text and "tokenAuth:" in text  # one name per authentication class
