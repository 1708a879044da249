"""A worker that cannot start: OBS keeps running, the video passes through unchanged, and the
status line names the exact command that fixes it."""
from __future__ import annotations

import os

import cv2
import numpy as np

from .conftest import require_obs
from .harness import ASTRONAUT, ROOT, ObsSession, facefx_filter, image_source


def test_missing_worker_interpreter_passes_video_through_and_says_what_to_run():
    require_obs()
    missing = os.path.join(ROOT, "no-such-venv", "bin", "python")
    session = ObsSession({"Main": [image_source("Photo", ASTRONAUT, [facefx_filter("FaceFX", bg_mode="color")])]},
                         script_settings={"python": missing})
    try:
        session.start()
        st = session.wait_for(
            lambda: (lambda s: s if s and s["worker"] and s["worker"]["state"] == "failed"
                     and s["frames_passed"] > 0 else None)(session.filter_status("FaceFX")),
            30, "the worker to be reported as failed")
        assert missing in st["status"]
        assert "bootstrap.py setup" in st["status"], st["status"]
        assert "passes through unchanged" in st["status"]
        raw = cv2.cvtColor(cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(session.screenshot("Photo")[:, :, :3], raw)
        assert st["frames_drawn"] == 0
    finally:
        assert session.stop() == 0
        session.cleanup()
