"""Face privacy in a real, headless OBS Studio: the GPU cover painter and the filter's
fail-closed behaviour (issue 9, the OBS part).

Painter tests draw fixed Cover items through the filter's debug_covers hook on an exact
input (a static all-person mask, no ML) and compare the screenshot with the bare frame:
inside every cover nothing of the frame is left as it was, outside nothing changed.
Fail-closed tests run the real worker on a face photo and check screenshots and a real OBS
recording: the face is covered on the first frame after enabling, after a resolution change,
and on every frame recorded while the worker is killed and restarted.
"""
from __future__ import annotations

import glob
import json
import math
import os
import signal
import time

import cv2
import numpy as np
import pytest

from facefx.obs.covers import FEATHER_PX

from .conftest import require_obs
from .harness import ASTRONAUT, ObsSession, facefx_filter, image_source, pid_alive

STICKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "stickers")
COVERED_MAD = 12.0     # mean |shot - bare| over the face box at least this: the face is covered


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("privacy")
    person = d / "person.pgm"
    with open(person, "wb") as fh:   # an all-person mask: the background layer changes nothing
        fh.write(b"P5 64 64 255\n" + b"\xff" * 64 * 64)
    img = cv2.imread(ASTRONAUT)
    wide = d / "astronaut-wide.png"
    cv2.imwrite(str(wide), cv2.resize(img, (640, 400), interpolation=cv2.INTER_AREA))
    stripes = d / "stripes.png"
    s = np.zeros((512, 512, 3), np.uint8)
    s[:, ::8] = (0, 0, 255)
    cv2.imwrite(str(stripes), s)
    return {"person": str(person), "wide": str(wide), "stripes": str(stripes), "dir": str(d)}


@pytest.fixture(scope="module")
def obs(files):
    require_obs()
    session = ObsSession({"Main": [
        image_source("Paint", ASTRONAUT, [facefx_filter("PaintFX", background=True, bg_mode="color",
                                                         debug_mask=files["person"])]),
        image_source("Face", ASTRONAUT, [facefx_filter("PrivFX", background=False, privacy=False)]),
    ]})
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


def _rgb(shot):
    return shot[:, :, :3].astype(np.int16)


def _save(tmp_path, name, img):
    path = str(tmp_path / name)
    cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path


def _shape_masks(h, w, cover, grow):
    """(inside, outside): pixels well inside the cover and pixels clear of its soft edge."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    a = math.radians(cover.get("rotation", 0.0))
    dx, dy = xx - cover["x"], yy - cover["y"]
    lx, ly = dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)
    hw, hh = cover["width"] / 2.0, cover["height"] / 2.0

    def within(m):
        if cover.get("shape", "ellipse") == "rect":
            return (np.abs(lx) <= hw + m) & (np.abs(ly) <= hh + m)
        return (lx / (hw + m)) ** 2 + (ly / (hh + m)) ** 2 <= 1.0
    return within(-2.0), ~within(grow)


def _covers_shot(obs, covers):
    obs.set_filter("Paint", "PaintFX", {"debug_covers": json.dumps(covers)})

    def drawn():
        st = obs.filter_status("PaintFX") or {}
        return not st.get("error") and st
    obs.wait_for(drawn, 20, "PaintFX to draw")
    time.sleep(0.2)   # settings apply on the next video tick; one more frame renders them
    return obs.screenshot("Paint")


def _wait_bare(obs):
    obs.set_filter("Paint", "PaintFX", {"debug_covers": ""})
    ref = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB).astype(np.int16)
    out = []

    def bare():
        shot = obs.screenshot("Paint")
        if np.abs(_rgb(shot) - ref).max() <= 3:
            out.append(shot)
            return True
        return False
    obs.wait_for(bare, 20, "the painter source without covers")
    return out[-1]


STYLE_CASES = [
    dict(style="color", shape="ellipse", rotation=30.0, color=[255, 0, 255]),
    dict(style="color", shape="rect", rotation=-20.0, color=[0, 255, 0]),
    dict(style="blur", shape="ellipse", rotation=0.0, strength=18.0),
    dict(style="pixelate", shape="rect", rotation=0.0, strength=16.0),
    dict(style="emoji", shape="ellipse", rotation=15.0, image=os.path.join(STICKERS, "ok.png"), color=[20, 20, 20]),
    dict(style="plate", shape="ellipse", rotation=0.0, strength=18.0),   # no plate captured: blur
]


@pytest.mark.parametrize("case", STYLE_CASES, ids=lambda c: "%s-%s-%g" % (c["style"], c["shape"], c["rotation"]))
def test_cover_styles_hide_the_inside_and_leave_the_outside(obs, tmp_path, case):
    bare = _rgb(_wait_bare(obs))
    cover = dict(x=250.5, y=150.0, width=150.0, height=190.0, **case)   # over the astronaut's face
    shot = _covers_shot(obs, [cover])
    for _ in range(20):   # an emoji picture is decoded off the render thread: a frame or two
        if case["style"] != "emoji" or np.abs(_rgb(shot) - np.array(case["color"])).max(axis=2).mean() > 0:
            break
        time.sleep(0.2)
        shot = obs.screenshot("Paint")
    print("screenshot:", _save(tmp_path, "cover.png", shot))
    s = _rgb(shot)
    h, w = s.shape[:2]
    inside, outside = _shape_masks(h, w, cover, FEATHER_PX + 2)
    diff = np.abs(s - bare).max(axis=2)
    assert diff[outside].mean() < 0.5 and np.percentile(diff[outside], 99.9) <= 3, "outside the cover changed"
    if case["style"] == "color":
        assert np.abs(s[inside] - np.array(case["color"])).max() <= 2
    elif case["style"] in ("blur", "plate"):
        # Strong: far from the frame, and smooth (little of the frame's fine detail left).
        assert np.abs(s - bare)[inside].mean() > COVERED_MAD
        grad = lambda im: np.abs(np.diff(im, axis=1))[inside[:, 1:]].mean()  # noqa: E731
        assert grad(s) < 0.25 * grad(bare), (grad(s), grad(bare))
    elif case["style"] == "pixelate":
        n = math.ceil(w / case["strength"])
        cell = w / n
        ys, xs = np.nonzero(inside)
        keys = (ys // cell).astype(int) * 1000 + (xs // cell).astype(int)
        vals = s[inside]
        for k in np.unique(keys)[::7]:
            block = vals[keys == k]
            assert np.ptp(block, axis=0).max() <= 2, "a pixelate block is not one colour"
        assert len(np.unique(keys)) > 50
    elif case["style"] == "emoji":
        # The picture (yellow, the bundled "ok" emoji) over the colour, both far from the face.
        assert (diff[inside] > 20).mean() > 0.9
        yellow = (s[inside][:, 0] > 200) & (s[inside][:, 1] > 150) & (s[inside][:, 2] < 80)
        assert yellow.mean() > 0.2


def test_many_covers_and_a_whole_frame_cover(obs, tmp_path):
    bare = _rgb(_wait_bare(obs))
    covers = [dict(x=100.0 + 80 * i, y=120.0 + 40 * (i % 2), width=70.0, height=90.0, style="pixelate",
                   strength=10.0) for i in range(4)]
    covers.append(dict(x=256.0, y=256.0, width=512.0, height=512.0, shape="rect", style="blur", strength=24.0))
    shot = _covers_shot(obs, covers)
    print("screenshot:", _save(tmp_path, "full.png", shot))
    s = _rgb(shot)
    assert np.abs(s - bare).max(axis=2).mean() > COVERED_MAD


def test_blur_covers_of_different_strengths_share_the_frame_halvings_exactly(obs, tmp_path):
    """Faces of different sizes get different blur strengths; the frame's halvings are made
    once per frame and shared. Each cover drawn beside the other must look exactly as drawn
    alone (a wrong or stale halving would show as a different blur)."""
    bare = _rgb(_wait_bare(obs))
    weak = dict(x=130.0, y=150.0, width=150.0, height=190.0, style="blur", strength=12.0)
    strong = dict(x=380.0, y=300.0, width=180.0, height=220.0, style="blur", strength=60.0)

    def shot_of(covers):
        """A screenshot once every cover in the list shows (settings apply on a later tick)."""
        shot = _rgb(_covers_shot(obs, covers))
        for _ in range(25):
            if all(np.abs(shot - bare).max(axis=2)[_shape_masks(shot.shape[0], shot.shape[1], c, 0)[0]].mean() > 3
                   for c in covers):
                return shot
            time.sleep(0.2)
            shot = _rgb(obs.screenshot("Paint"))
        raise AssertionError("the covers never showed")
    alone = {}
    for name, cover in (("weak", weak), ("strong", strong)):
        alone[name] = shot_of([cover])
        _wait_bare(obs)
    both = shot_of([weak, strong])
    print("screenshot:", _save(tmp_path, "both.png", both.astype(np.uint8)))
    for name, cover in (("weak", weak), ("strong", strong)):
        inside, _ = _shape_masks(both.shape[0], both.shape[1], cover, 0)
        diff = np.abs(both - alone[name]).max(axis=2)[inside]
        assert diff.max() <= 2, f"the {name} cover differs from itself drawn alone by up to {diff.max()}"
    # ... and the two really are different blurs of the picture
    inside, _ = _shape_masks(both.shape[0], both.shape[1], weak, 0)
    assert np.abs(alone["weak"] - alone["strong"]).max(axis=2)[inside].mean() > 3


# ---------------------------------------------------------------------------- fail-closed
_FACE_BOX = {}


def _face_box(img):
    """The face's box (x0, y0, x1, y1) in an RGB picture, by MediaPipe's full-range detector
    (the same model family as the worker, run here on the bare picture), grown by 10%."""
    key = img.shape
    if key not in _FACE_BOX:
        import mediapipe as mp
        with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
            res = fd.process(np.ascontiguousarray(img[:, :, :3]).astype(np.uint8))
        assert res.detections, "no face found in the test picture"
        b = res.detections[0].location_data.relative_bounding_box
        h, w = img.shape[:2]
        x0, y0 = b.xmin * w, b.ymin * h
        x1, y1 = x0 + b.width * w, y0 + b.height * h
        mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
        _FACE_BOX[key] = (max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(x1 + mx)), min(h, int(y1 + my)))
    return _FACE_BOX[key]


def _face_mad(shot, bare):
    x0, y0, x1, y1 = _face_box(bare)
    return float(np.abs(_rgb(shot)[y0:y1, x0:x1] - bare[y0:y1, x0:x1].astype(np.int16)).mean())


def _priv(obs, **values):
    obs.set_filter("Face", "PrivFX", values)


def _bare_face(obs):
    _priv(obs, privacy=False, background=False, debug_covers="")
    ref = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB)

    def bare() -> bool:
        shot = _rgb(obs.screenshot("Face"))
        # Until an earlier test's other picture (the resolution change) is replaced again.
        return shot.shape == ref.shape and np.abs(shot - ref).max() <= 3
    obs.wait_for(bare, 20, "the face source bare")
    return ref


MARK = dict(x=4.0, y=4.0, width=8.0, height=8.0, shape="rect", style="color", color=[255, 0, 255])


def _marked(shot, color=MARK["color"]):
    """The frame was drawn with the new settings: they carry a marker cover (top left)."""
    return bool(np.abs(_rgb(shot)[1:3, 1:3] - np.array(color)).max() <= 8)


def _enable(obs, color=MARK["color"], **values):
    """Turn privacy on together with the marker, so a screenshot shows which settings drew it
    (OBS applies a filter's new settings on its next video tick, after the request returns)."""
    _priv(obs, privacy=True, debug_covers=json.dumps([dict(MARK, color=color)]), **values)


def _watch(obs, source, bare, seconds, tmp_path, name, color=MARK["color"], least=3, limit=90.0):
    """Screenshots for `seconds`, and on until `least` of them were drawn with the new settings
    (a loaded machine takes seconds per screenshot), at most `limit` seconds; returns (marked
    shots, least face difference among them)."""
    worst, worst_shot, marked, series = 1e9, None, 0, []
    start = time.monotonic()
    while (time.monotonic() - start < seconds or marked < least) and time.monotonic() - start < limit:
        shot = obs.screenshot(source)
        if not _marked(shot, color) or shot.shape[:2] != bare.shape[:2]:
            series.append("-")
            continue
        marked += 1
        mad = _face_mad(shot, bare)
        series.append("%.0f" % mad)
        if mad < worst:
            worst, worst_shot = mad, shot
    print("%s: %d marked screenshots, least face difference %.1f; series %s" % (name, marked, worst, " ".join(series)))
    if worst_shot is not None:
        print("least covered:", _save(tmp_path, name + ".png", worst_shot))
    return marked, worst


def test_face_is_covered_from_the_first_frame_after_enabling(obs, tmp_path):
    bare = _bare_face(obs)
    _enable(obs, privacy_style="color", privacy_color=0xFF00FF00)
    marked, worst = _watch(obs, "Face", bare, 8.0, tmp_path, "enabling", least=10)
    st = obs.filter_status("PrivFX")
    print("status:", st and st["status"])
    assert st["heavy_modules"] == [], "OBS's interpreter imported %s with privacy on" % st["heavy_modules"]
    assert marked >= 10
    assert worst > COVERED_MAD, f"a frame showed the face (mean difference {worst:.1f}); see {tmp_path}"


def test_resolution_change_is_covered(obs, tmp_path, files):
    bare = _bare_face(obs)
    _priv(obs, privacy=True, privacy_style="color", privacy_color=0xFF00FF00)
    obs.wait_results("PrivFX", 3)
    wide = cv2.cvtColor(cv2.imread(files["wide"]), cv2.COLOR_BGR2RGB)
    obs.client.set_input_settings("Face", {"file": files["wide"]}, True)
    try:
        worst, n, start = 1e9, 0, time.monotonic()
        while time.monotonic() - start < 5.0:
            shot = obs.screenshot("Face")
            if shot.shape[:2] != wide.shape[:2]:
                assert _face_mad(shot, bare) > COVERED_MAD
                continue
            n += 1
            mad = _face_mad(shot, wide)
            if mad < worst:
                worst, worst_shot = mad, shot
        print("least covered:", _save(tmp_path, "resized.png", worst_shot), "difference %.1f over %d" % (worst, n))
        assert n >= 5 and worst > COVERED_MAD
    finally:
        obs.client.set_input_settings("Face", {"file": ASTRONAUT}, True)


def _record(obs):
    obs.client.start_record()
    obs.wait_for(lambda: obs.client.get_record_status().output_active, 10, "the recording to start")


def _stop_record(obs):
    path = obs.client.stop_record().output_path
    obs.wait_for(lambda: not obs.client.get_record_status().output_active, 20, "the recording to stop")
    return path


def test_every_frame_recorded_while_the_worker_restarts_is_covered(obs, tmp_path):
    """Kill the worker with privacy on while OBS records the program output; every recorded
    frame shows the face covered (whole-frame blur while the worker is gone, face covers
    before and after)."""
    _bare_face(obs)
    # The canvas shows the sources side by side; "Face" is the right half.
    half = obs.width // 2
    canvas_bare = obs.screenshot("Scene", obs.width, obs.height)[:, half:, :3]
    bx0, by0, bx1, by1 = _face_box(canvas_bare)
    _priv(obs, privacy=True, privacy_style="color", privacy_color=0xFF00FF00)
    st = obs.wait_results("PrivFX", 3)
    old = st["worker"]["pid"]
    _record(obs)
    try:
        time.sleep(1.0)
        os.kill(old, signal.SIGKILL)
        obs.wait_for(lambda: not pid_alive(old), 5, "the worker to die")
        obs.wait_for(lambda: (lambda s: s and s["worker"]["state"] == "running"
                              and s["worker"]["pid"] not in (None, old) and s)(obs.filter_status("PrivFX")),
                     60, "a restarted worker")
        obs.wait_results("PrivFX", 3)
        time.sleep(1.0)
    finally:
        path = _stop_record(obs)
    cap = cv2.VideoCapture(path)
    mads, whole = [], 0
    worst = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)[:, half:]
        mad = _face_mad(rgb, canvas_bare)
        # Whole frame covered (not just the face): the picture's top left corner is blurred too.
        whole += np.abs(rgb[by0:by1, :bx0 // 2].astype(np.int16) - canvas_bare[by0:by1, :bx0 // 2]).mean() > 8
        if worst is None or mad < worst[0]:
            worst = (mad, rgb)
        mads.append(mad)
    cap.release()
    print("recording:", path, "frames %d (%d with the whole frame covered), least face difference %.1f, "
          "median %.1f" % (len(mads), whole, worst[0], float(np.median(mads))), _save(tmp_path, "worst.png", worst[1]))
    assert len(mads) > 60, f"only {len(mads)} frames recorded"
    assert worst[0] > COVERED_MAD, f"a recorded frame showed the face (difference {worst[0]:.1f})"


def _status_has(obs, name, text, timeout=20):
    return obs.wait_for(lambda: (lambda st: st and text.lower() in st["status"].lower() and st)(obs.filter_status(name)),
                        timeout, f"{text!r} in {name}'s status line")


def test_thorough_face_search_runs_in_the_worker_and_keeps_the_face_covered(obs, tmp_path):
    """The panel's thorough search (the recordings' analysis, live): the status line says so,
    the worker's results keep coming, and the face stays covered while it is switched."""
    bare = _bare_face(obs)
    _enable(obs, privacy_style="color", privacy_color=0xFF00FF00, privacy_full_analysis=True)
    try:
        st = _status_has(obs, "PrivFX", "thorough face search")
        print("status:", st["status"])
        obs.wait_results("PrivFX", 3)
        marked, worst = _watch(obs, "Face", bare, 3.0, tmp_path, "thorough")
        assert marked >= 3 and worst > COVERED_MAD, f"a frame showed the face ({worst:.1f}); see {tmp_path}"
    finally:
        _priv(obs, privacy=False, privacy_full_analysis=False, debug_covers="")


def test_plate_is_captured_by_the_hotkey_and_shows_where_faces_are(obs, tmp_path, files):
    """Capture background of the 'empty scene' (the stripes picture), then the astronaut comes
    in: wherever her face is covered the stripes show. Before the capture: blur, and the status
    line says so."""
    _bare_face(obs)
    obs.client.set_input_settings("Face", {"file": files["stripes"]}, True)
    try:
        # A generous lag limit: on a loaded machine the whole frame is covered (with the
        # plate too) most of the time otherwise, and the face covers are what this is about.
        _enable(obs, privacy_style="plate", privacy_stale_frames=60)
        _status_has(obs, "PrivFX", "no background captured yet")
        obs.client.trigger_hotkey_by_name("facefx.capture_background.PrivFX")
        _status_has(obs, "PrivFX", "background captured at 512x512")
        obs.client.set_input_settings("Face", {"file": ASTRONAUT}, True)
        bare = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB)
        stripes = cv2.cvtColor(cv2.imread(files["stripes"]), cv2.COLOR_BGR2RGB).astype(np.int16)
        x0, y0, x1, y1 = _face_box(bare)
        obs.wait_results("PrivFX", 3)
        seen, worst = 0, 0.0
        for _ in range(8):
            shot = obs.screenshot("Face")
            if not _marked(shot) or _face_mad(shot, bare) < COVERED_MAD:
                assert _face_mad(shot, bare) > COVERED_MAD, "a frame showed the face"
                continue
            seen += 1
            # Inside the face box (well within the cover) the plate shows: the stripes.
            inner = _rgb(shot)[y0 + 15:y1 - 15, x0 + 15:x1 - 15]
            worst = max(worst, float(np.abs(inner - stripes[y0 + 15:y1 - 15, x0 + 15:x1 - 15]).mean()))
        print("plate:", _save(tmp_path, "plate.png", shot), "largest difference from the plate %.1f" % worst)
        assert seen >= 3 and worst < 6.0
    finally:
        obs.client.set_input_settings("Face", {"file": ASTRONAUT}, True)


def test_plate_of_another_size_is_rescaled_with_a_note(obs, files):
    _bare_face(obs)
    obs.client.set_input_settings("Face", {"file": files["wide"]}, True)
    try:
        _enable(obs, privacy_style="plate")
        obs.wait_for(lambda: obs.screenshot("Face").shape[:2] == (400, 640), 20, "the wide picture")
        obs.client.trigger_hotkey_by_name("facefx.capture_background.PrivFX")
        _status_has(obs, "PrivFX", "background captured at 640x400")
        obs.client.set_input_settings("Face", {"file": ASTRONAUT}, True)
        _status_has(obs, "PrivFX", "background captured at 640x400, rescaled to 512x512")
    finally:
        obs.client.set_input_settings("Face", {"file": ASTRONAUT}, True)


def test_panel_has_the_face_privacy_group(obs):
    _bare_face(obs)
    _priv(obs, privacy=True, privacy_style="pixelate")
    path = os.path.join(obs.debug_dir, "PrivFX.props.json")

    def group():
        try:
            with open(path) as fh:
                props = json.load(fh)
        except (OSError, ValueError):
            return None
        found = [p for p in props if p[0] == "privacy"]
        return found and {c[0]: c[2] for c in found[0][3]}
    # visible flags follow the style: pixelate shows the block size, not the picture
    children = obs.wait_for(lambda: (lambda g: g and g.get("privacy_block") and g)(group()), 20,
                            "the Face privacy group in the panel")
    for key in ("privacy_style", "privacy_shape", "privacy_margin", "privacy_blur", "privacy_block",
                "privacy_color", "privacy_image", "privacy_hold_ms", "privacy_cover_heads",
                "privacy_keep_face", "privacy_full_analysis", "privacy_capture"):
        assert key in children, key
    assert children["privacy_block"] and not children["privacy_image"] and not children["privacy_capture"]


def test_privacy_shader_that_does_not_compile_fills_instead_of_showing_the_face(tmp_path):
    """Fail closed at the last resort: with privacy.effect (and the background's composite)
    broken, covers become OBS's solid-colour fill; never the bare face. Nothing leaks."""
    require_obs()
    import shutil

    from facefx.obs.gpu import EFFECTS_DIR
    effects = tmp_path / "effects"
    shutil.copytree(EFFECTS_DIR, effects)
    (effects / "privacy.effect").write_text("this is not HLSL {\n")
    (effects / "composite.effect").write_text("nor this {\n")
    green = 0xFF00FF00
    session = ObsSession({"Main": [
        image_source("Only", ASTRONAUT, [facefx_filter("OnlyFX", background=False, privacy=True,
                                                       privacy_style="blur", privacy_color=green)]),
        image_source("Both", ASTRONAUT, [facefx_filter("BothFX", bg_mode="color", privacy=True,
                                                       privacy_style="blur", privacy_color=green)]),
    ]}, env={"FACEFX_DEBUG_EFFECTS_DIR": str(effects)})
    bare = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB)
    try:
        session.start()
        session.wait_for(lambda: (lambda s: s and "could not compile privacy.effect" in s["status"])(
            session.filter_status("OnlyFX")), 60, "the privacy shader's failure in the status line")
        session.wait_results("BothFX", 2, timeout=90)
        for name in ("Only", "Both"):
            for _ in range(3):
                shot = session.screenshot(name)
                x0, y0, x1, y1 = _face_box(bare)
                face = _rgb(shot)[y0:y1, x0:x1]
                assert (np.abs(face - np.array([0, 255, 0])).max(axis=2) <= 2).mean() > 0.95, \
                    _save(tmp_path, name + ".png", shot)
        st = session.filter_status("BothFX")
        assert "whole frame is covered" in st["status"] or "whole frame covered" in st["status"], st["status"]
    finally:
        rc = session.stop()
        log = session.log_text()
        session.cleanup()
    assert rc == 0, log[-2000:]
    assert "Number of memory leaks: 0" in log, [ln for ln in log.splitlines() if "leak" in ln]


PARITY = [  # (case, mean |GPU - CPU| allowed over the cover, share of pixels within 24)
    (dict(style="color", shape="ellipse", rotation=30.0, color=[255, 0, 255]), 1.5, 0.99),
    (dict(style="emoji", shape="rect", rotation=-15.0, image=os.path.join(STICKERS, "ok.png")), 6.0, 0.9),
    (dict(style="pixelate", shape="rect", rotation=0.0, strength=16.0), 20.0, 0.7),
    (dict(style="blur", shape="ellipse", rotation=0.0, strength=18.0), 10.0, 0.8),
]


@pytest.mark.parametrize("case,mean_tol,share", PARITY, ids=lambda c: c["style"] if isinstance(c, dict) else "")
def test_gpu_covers_look_like_the_cpu_painter(obs, tmp_path, case, mean_tol, share):
    """The same Cover on the same frame, drawn by OBS and by facefx/render/painters.py.
    Colour and picture match closely; blur and pixelate are the same idea computed on
    other grids (the CPU blurs and blocks the cover's own box, the GPU the whole frame at
    small size), so they are compared loosely."""
    from facefx.render.painters import CoverPainter, ImageCache
    from facefx.scene import Cover
    bare = _wait_bare(obs)
    cover = dict(x=250.5, y=150.0, width=150.0, height=190.0, **case)
    shot = _covers_shot(obs, [cover])
    for _ in range(20):
        if case["style"] != "emoji" or (_rgb(shot)[150, 250] != _rgb(bare)[150, 250]).any():
            break
        time.sleep(0.2)
        shot = obs.screenshot("Paint")
    ref = np.ascontiguousarray(bare[:, :, :3]).copy()
    CoverPainter()(ref, Cover(**dict(cover, color=tuple(cover.get("color", (0, 0, 0))))), ImageCache())
    _save(tmp_path, "gpu.png", shot)
    print("cpu:", _save(tmp_path, "cpu.png", ref))
    inside, _ = _shape_masks(ref.shape[0], ref.shape[1], cover, 0)
    diff = np.abs(_rgb(shot) - ref.astype(np.int16)).max(axis=2)[inside]
    print("%s: mean %.2f, within 24: %.3f" % (case["style"], diff.mean(), (diff <= 24).mean()))
    assert diff.mean() < mean_tol and (diff <= 24).mean() > share


def test_without_the_script_a_privacy_filter_shows_nothing_rather_than_the_face():
    """The script unloads (here: a scene collection without it, as during a reload or after
    removing it): a FaceFX filter with privacy on draws nothing, one without passes through."""
    require_obs()
    from facefx.obs import props as P
    from facefx.obs.registry import PRIVACY_KEY
    assert PRIVACY_KEY.decode() == P.K_PRIVACY
    session = ObsSession({
        "Main": [image_source("Face", ASTRONAUT, [facefx_filter("PrivFX", background=False, privacy=True)])],
        "NoScript": [image_source("Kept", ASTRONAUT, [facefx_filter("KeptFX", background=False, privacy=True)]),
                     image_source("Plain", ASTRONAUT, [facefx_filter("PlainFX", bg_mode="color")])],
    }, script_map={"NoScript": []})
    bare = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB)
    try:
        session.start()
        session.wait_results("PrivFX", 2, timeout=90)
        session.client.set_current_scene_collection("NoScript")
        session.wait_for(lambda: "Unloaded python script: obs_facefx.py" in session.log_text(), 20,
                         "the script to unload")
        plain = session.wait_for(lambda: (lambda s: np.abs(_rgb(s) - bare).max() <= 3 and s)(
            session.screenshot("Plain")) is not False, 20, "the filter without privacy to pass video through")
        assert plain
        for _ in range(5):
            shot = session.screenshot("Kept")
            assert _face_mad(shot, bare) > COVERED_MAD, "the face showed without the script"
    finally:
        session.stop()
        session.cleanup()


def test_settings_change_is_covered(obs, tmp_path):
    """A new margin and style: results analysed under the old settings no longer decide; the
    frames drawn with the new ones (a new marker colour) are all covered."""
    bare = _bare_face(obs)
    _enable(obs, privacy_style="color", privacy_color=0xFF00FF00)
    obs.wait_results("PrivFX", 3)
    _enable(obs, color=[0, 255, 255], privacy_style="pixelate", privacy_margin=5, privacy_shape="rect")
    marked, worst = _watch(obs, "Face", bare, 5.0, tmp_path, "changed", color=[0, 255, 255], least=5)
    assert marked >= 5 and worst > COVERED_MAD


def test_stalled_worker_covers_the_whole_frame_and_says_why(obs, tmp_path):
    """SIGSTOP the worker (alive but silent): results go stale, the whole frame is covered
    and the status line says the analysis is behind; SIGCONT (or the client's hang timeout
    restarts it) and results return."""
    bare = _bare_face(obs)
    _enable(obs, privacy_style="color", privacy_color=0xFF00FF00)
    st = obs.wait_results("PrivFX", 3)
    pid = st["worker"]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        st = _status_has(obs, "PrivFX", "frames behind", timeout=20)
        print("status:", st["status"])
        # Whole frame: the corner away from the face is covered too. Judged first, while the
        # results are stale: 5 s after the stop the client's hang timeout restarts the worker,
        # and once the new one catches up only the face is covered again, as it should be.
        shot = obs.screenshot("Face")
        after = (obs.filter_status("PrivFX") or {}).get("status", "")
        assert "frames behind" in after, f"results were no longer stale after the screenshot: {after}"
        assert np.abs(_rgb(shot)[20:80, 440:500] - bare[20:80, 440:500]).mean() > 8
        marked, worst = _watch(obs, "Face", bare, 3.0, tmp_path, "stalled")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass    # silent for longer than the client's hang timeout: killed and restarted
    assert marked >= 3 and worst > COVERED_MAD
    obs.wait_results("PrivFX", 3)


def test_filter_removed_and_added_again_covers_from_its_first_frame(obs, tmp_path):
    bare = _bare_face(obs)
    obs.client.remove_source_filter("Face", "PrivFX")
    try:
        obs.client.create_source_filter("Face", "PrivFX", "facefx_filter",
                                        {"background": False, "privacy": True, "privacy_style": "color",
                                         "debug_covers": json.dumps([MARK])})
        marked, worst = _watch(obs, "Face", bare, 5.0, tmp_path, "re-added", least=5)
        assert marked >= 5 and worst > COVERED_MAD
    finally:
        _priv(obs, privacy=False, debug_covers="")


def test_plate_survives_the_source_being_hidden_and_shown(obs, files):
    _bare_face(obs)
    _enable(obs, privacy_style="plate")
    obs.client.trigger_hotkey_by_name("facefx.capture_background.PrivFX")
    _status_has(obs, "PrivFX", "background captured at 512x512")
    item = obs.client.get_scene_item_id("Scene", "Face").scene_item_id
    obs.client.set_scene_item_enabled("Scene", item, False)
    obs.wait_for(lambda: (obs.filter_status("PrivFX") or {}).get("analysis") is None, 20,
                 "the hidden source's channel to be released")
    obs.client.set_scene_item_enabled("Scene", item, True)
    obs.wait_results("PrivFX", 2)
    st = _status_has(obs, "PrivFX", "Face privacy")
    assert "no background captured" not in st["status"].lower(), st["status"]


def test_corrupt_cover_picture_covers_with_the_colour_and_says_so(obs, tmp_path):
    bare = _bare_face(obs)
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 50)
    _enable(obs, privacy_style="emoji", privacy_image=str(bad), privacy_color=0xFF00FF00,
            privacy_stale_frames=60)
    st = _status_has(obs, "PrivFX", "cannot read privacy picture", timeout=60)
    print("status:", st["status"])
    marked, worst = _watch(obs, "Face", bare, 3.0, tmp_path, "corrupt")
    assert marked >= 3 and worst > COVERED_MAD
