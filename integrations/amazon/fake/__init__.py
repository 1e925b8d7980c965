"""A faithful fake of Amazon's DSP APIs for tests, benchmarks and the demo (see server.py for
the URL layout, faults.py for fault injection, control.py for the /_fake control plane)."""

from integrations.amazon.fake.server import FakeDsp, FakeDspApp
from integrations.amazon.fake.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_REFRESH_TOKEN", "FakeDsp", "FakeDspApp"]
