"""The OBS side under conditions a healthy worker and a static scene never produce."""
from __future__ import annotations

from .conftest import require_obs
from .harness import ASTRONAUT, ObsSession, facefx_filter, image_source


def _scene_item_id(session: ObsSession, source: str) -> int:
    return session.client.get_scene_item_id("Scene", source).scene_item_id


def test_hidden_source_stops_analysis_and_resumes_when_shown():
    require_obs()
    session = ObsSession({"Main": [
        image_source("Photo", ASTRONAUT, [facefx_filter("FaceFX", bg_mode="color")]),
        image_source("Other", ASTRONAUT, [facefx_filter("OtherFX", bg_mode="blur")]),
    ]})
    try:
        session.start()
        session.wait_results("FaceFX", 3)
        session.wait_results("OtherFX", 3)
        item = _scene_item_id(session, "Photo")
        session.client.set_scene_item_enabled("Scene", item, False)
        # Deactivated: its channel is released (no analysis, no shared memory for it) ...
        st = session.wait_for(lambda: (lambda s: s if s and s["analysis"] is None else None)(
            session.filter_status("FaceFX")), 20, "the hidden source's channel to be released")
        assert st["results"] == 0
        # ... while the shown source keeps getting masks from the same worker.
        session.wait_results("OtherFX", 3)
        session.client.set_scene_item_enabled("Scene", item, True)
        st = session.wait_results("FaceFX", 3)
        assert st["analysis"] is not None and st["frames_drawn"] > 0
        assert "render failed" not in session.log_text()
    finally:
        assert session.stop() == 0
        session.cleanup()


def test_shader_that_does_not_compile_passes_video_through_and_leaks_nothing(tmp_path):
    require_obs()
    import shutil

    import cv2
    import numpy as np

    from facefx.obs.gpu import EFFECTS_DIR
    effects = tmp_path / "effects"
    shutil.copytree(EFFECTS_DIR, effects)
    (effects / "composite.effect").write_text("this is not HLSL {\n")
    mask = tmp_path / "mask.pgm"
    mask.write_bytes(b"P5 4 4 255\n" + b"\xff" * 16)
    session = ObsSession({"Main": [image_source("Photo", ASTRONAUT, [
        facefx_filter("FaceFX", bg_mode="color", debug_mask=str(mask))])]},
        env={"FACEFX_DEBUG_EFFECTS_DIR": str(effects)})
    try:
        session.start()
        st = session.wait_for(lambda: (lambda s: s if s and "could not compile composite.effect"
                                       in s["error"] else None)(session.filter_status("FaceFX")),
                              30, "the compile error in the status")
        assert "passes through unchanged" in st["status"]
        raw = cv2.cvtColor(cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(session.screenshot("Photo")[:, :, :3], raw)
    finally:
        rc = session.stop()
        log = session.log_text()
        session.cleanup()
    assert rc == 0, log[-2000:]
    # libobs counts every bmalloc'd block still alive at exit: the compiler's error string too.
    assert "Number of memory leaks: 0" in log, [ln for ln in log.splitlines() if "leak" in ln]
