import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads (performance imports) are stored under a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
