"""Kargo tests: the fake DSP fixtures of the integrations tests, and Kargo builders."""

import pytest

from tests.integrations.conftest import (  # noqa: F401 (fixtures)
    _fake_dsp_server,
    amazon,
    clock,
    encryption_key,
    fake_dsp,
    make_client,
)
from tests.integrations.test_sync_support import dsp_client, dsp_connection  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a service queued with on_commit (the test transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
