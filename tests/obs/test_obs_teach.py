"""Teaching a gesture from the filter's panel in a real, headless OBS: the "Teach it" button
records the clip's hand in the worker, the taught gesture appears in the panel and fires in
the same session (no restart), and "Forget" removes it again.

An OBS session of its own: its HOME (and so the taught-gestures folder) is fresh, so nothing
taught here reaches another test file's session.
"""
from __future__ import annotations

import json
import os

import pytest

from facefx.obs import actions as A
from facefx.obs import props as P
from facefx.obs.debug import K_DEBUG_PRESS

CLIP = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "evalset", "clips",
                    "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")


@pytest.fixture(scope="module")
def obs():
    from .conftest import require_obs
    from .harness import ObsSession, facefx_filter, media_source
    require_obs()
    if not os.path.exists(CLIP):
        if os.environ.get("CI"):
            pytest.fail(f"evaluation clip missing under CI: {CLIP}")
        pytest.skip(f"the evalset clip is absent: {CLIP}")
    session = ObsSession({"Teach": [
        media_source("Clip", os.path.abspath(CLIP),
                     [facefx_filter("TeachFX", background=False, gestures=True, gestures_hold_ms=300,
                                    gestures_cooldown_ms=1000)]),
    ]})
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


def _status(obs) -> str:
    return (obs.filter_status("TeachFX") or {}).get("status", "")


def _gesture_group(obs):
    try:
        with open(os.path.join(obs.debug_dir, "TeachFX.props.json")) as fh:
            props = json.load(fh)
    except (OSError, ValueError):
        return None
    for entry in props:
        if entry[0] == P.K_GESTURES:
            return {c[0]: c for c in entry[3]}
    return None


def test_teach_button_then_the_taught_gesture_fires_and_forget_removes_it(obs):
    obs.set_filter("Clip", "TeachFX", {P.K_GEST_MODEL: "", P.K_GEST_LABELS: ""})   # taught gestures apply
    obs.wait_results("TeachFX", 3)
    group = obs.wait_for(lambda: _gesture_group(obs), 20, "the Gesture stickers group in the panel")
    assert P.gesture_key("wave") not in group
    # The panel's own button: the name typed in the group, then "Teach it".
    # Ten seconds: enough frames with a hand even when analysis runs at a few fps on a loaded machine.
    obs.set_filter("Clip", "TeachFX", {A.K_TEACH_NAME: "wave", A.K_TEACH_SECONDS: 10.0,
                                       K_DEBUG_PRESS: A.K_TEACH_BUTTON + "#1"})
    obs.wait_for(lambda: "Teaching 'wave'" in _status(obs), 20, "the recording countdown in the status line")
    st = obs.wait_for(lambda: ("taught 'wave'" in _status(obs) or "Teach a gesture: only" in _status(obs))
                      and _status(obs), 60, "the teaching outcome")
    assert "taught 'wave' from" in st, st
    # Without a restart: the worker's rebuilt engine reports the label, the filter re-reads its
    # settings with it (enabled by default), the panel offers it, and it fires.
    group = obs.wait_for(lambda: (_gesture_group(obs) or {}).get(P.gesture_key("wave")) and _gesture_group(obs),
                         30, "the taught gesture in the panel")
    assert "wave" in [c[0] for c in group.values() if c[0] == P.gesture_key("wave")][0]
    obs.wait_for(lambda: "last fired: wave" in _status(obs), 60, "the taught gesture to fire on the clip")
    # Forget it: the taught list's selection, then the panel's "Forget" button.
    obs.set_filter("Clip", "TeachFX", {A.K_TAUGHT: "wave", K_DEBUG_PRESS: A.K_FORGET_BUTTON + "#2"})
    obs.wait_for(lambda: "forgot 'wave'" in _status(obs), 30, "the forget outcome in the status line")
    obs.wait_for(lambda: P.gesture_key("wave") not in (_gesture_group(obs) or {P.gesture_key("wave"): 1}),
                 30, "the forgotten gesture to leave the panel")
    assert obs.running


KINIVI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models",
                      "kinivi_keypoint_classifier", "keypoint_classifier.tflite")


def test_a_custom_models_labels_become_gestures_with_actions(obs):
    """The panel's model picker with kinivi's landmark classifier (labels found beside it):
    its labels appear as gestures, and the clip's fist ("Close") switches the scene."""
    obs.client.create_scene("Fist seen")
    obs.client.set_current_program_scene("Scene")
    try:
        obs.set_filter("Clip", "TeachFX", {P.K_GEST_MODEL: KINIVI, A.action_key("Close"): "scene",
                                           A.target_key("Close"): "Fist seen"})
        group = obs.wait_for(lambda: (_gesture_group(obs) or {}).get(P.gesture_key("Close")) and _gesture_group(obs),
                             60, "kinivi's labels in the panel")
        assert {P.gesture_key(n) for n in ("Open", "Pointer", "OK")} <= set(group)
        obs.wait_for(lambda: obs.client.get_current_program_scene().current_program_scene_name == "Fist seen",
                     90, "the fist (kinivi's Close) to switch the scene")
    finally:
        obs.set_filter("Clip", "TeachFX", {P.K_GEST_MODEL: "", A.action_key("Close"): "none"})
        obs.client.set_current_program_scene("Scene")
