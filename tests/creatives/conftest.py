"""Fixtures for the creatives tests: a temporary MEDIA_ROOT, uploads that run the pipeline, media."""

from io import BytesIO

import pytest

from creatives.models import Creative
from creatives.services import creative_upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    """Where ffmpeg-made files are kept for the session (made once, read by many tests)."""
    return tmp_path_factory.mktemp("av")


@pytest.fixture
def upload(advertiser, django_capture_on_commit_callbacks):
    """upload(bytes, filename) → the creative, processed (Huey runs tasks immediately in tests)."""

    def make(data: bytes, filename: str = "creative.bin", *, to=None, specs=None, name="") -> Creative:
        with django_capture_on_commit_callbacks(execute=True):
            result = creative_upload(advertiser=to or advertiser, fh=BytesIO(data), filename=filename, specs=specs, name=name)
        result.creative.refresh_from_db()
        return result.creative

    return make


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a service queued with on_commit (the test transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
