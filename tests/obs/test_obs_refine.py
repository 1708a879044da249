"""Edge refinement in a real OBS on a 1280x720 picture, where both renderers apply the guided
filter's coefficients at half resolution (refine.apply_factor) and upsample the refined level:
the GPU output must match the CPU renderer as closely as on the 512x512 photo
(test_obs_filter.py covers the full-resolution path there)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from facefx.imageio import cover_fit, load_image_rgb
from facefx.render.refine import apply_factor

from .conftest import require_obs
from .harness import ASTRONAUT, ObsSession, facefx_filter, image_source
from .test_obs_filter import _assert_matches_cpu

W, H = 1280, 720


@pytest.fixture(scope="module")
def obs(tmp_path_factory):
    require_obs()
    wide = str(tmp_path_factory.mktemp("wide") / "wide.png")
    cv2.imwrite(wide, cv2.cvtColor(cover_fit(load_image_rgb(ASTRONAUT), W, H), cv2.COLOR_RGB2BGR))
    session = ObsSession({"Main": [image_source("Wide", wide, [facefx_filter("WideFX", bg_mode="color")])]},
                         width=W, height=H)
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


@pytest.mark.parametrize("mode,extra", [("color", {"bg_color": 0xFF40B100}), ("transparent", {}),
                                        ("hologram", {})])
def test_half_resolution_refinement_matches_cpu_renderer(obs, mode, extra):
    values = {"background": True, "bg_mode": mode, "debug_freeze": False, "seg_refine": True, **extra}
    obs.set_filter("Wide", "WideFX", values)
    obs.wait_results("WideFX", 2)
    dump = obs.freeze("Wide", "WideFX", 1.25)
    try:
        assert dump["frame"].shape[:2] == (H, W)
        assert dump["settings"]["segmentation"]["refine"]
        assert apply_factor(W, H, dump["mask"].shape[1]) == 2, "this test is for the half-resolution path"
        _assert_matches_cpu(obs.screenshot("Wide"), dump)
    finally:
        obs.unfreeze("Wide", "WideFX")
