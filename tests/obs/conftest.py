"""Real-OBS tests: skipped (with the reason) where OBS is not installed, but a failure under
CI=true, where .ci/run installs OBS and a missing OBS means a broken CI image."""
from __future__ import annotations

import os

import pytest

from .harness import obs_available


def require_obs() -> None:
    reason = obs_available()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"OBS tests must run in CI but cannot: {reason}", pytrace=False)
    pytest.skip(reason)
