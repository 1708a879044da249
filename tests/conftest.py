"""Shared fixtures. Real-model fixtures load MediaPipe once per session (it costs ~0.5 s)."""
from __future__ import annotations

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASTRONAUT = os.path.join(ROOT, "facefx", "assets", "astronaut.png")
EVALSET = os.path.join(os.path.dirname(ROOT), "shared", "evalset")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from facefx.imageio import load_image_rgb
    return load_image_rgb(ASTRONAUT)
