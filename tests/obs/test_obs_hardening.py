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
