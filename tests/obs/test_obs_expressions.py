"""Expression emojis in OBS: the panel's values, the recalibrate op, the filter's hand-off of
faces to its Scene, and end to end in a real, headless OBS (the bundled astronaut photo on an
Image Source, the emoji found on or beside the face box that MediaPipe's face detector finds
independently of FaceFX)."""
from __future__ import annotations

import os

import pytest

from facefx import results as R
from facefx.obs import props as P

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMOJI = os.path.join(ROOT, "stickers", "emoji")


# -- panel values -> Settings (no OBS) ---------------------------------------------------------

def test_panel_values_turn_expressions_on_with_faces_settings():
    cfg = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_BACKGROUND: False, P.K_EXPR_MODE: "replace",
                                  P.K_EXPR_LABEL: True, P.K_EXPR_SIZE: 150, P.K_EXPR_CORNER: "bottom-left",
                                  P.K_FACES_MAX: 2, P.K_FACES_DETECTOR: "full"})
    s = cfg.settings
    assert s.stages() == {"faces", "expressions"}
    assert (s.expressions.mode, s.expressions.label, s.expressions.size, s.expressions.corner) == (
        "replace", True, 1.5, "bottom-left")
    assert (s.faces.max_faces, s.faces.detector) == (2, "full")
    assert cfg.expr_warning == ""
    off = P.settings_from_values({P.K_EXPRESSIONS: False, P.K_EXPR_MODE: "panel"}).settings
    assert off.expressions.mode == "off" and "expressions" not in off.stages()


def test_emoji_overrides_and_their_file_problems(tmp_path):
    good = os.path.join(EMOJI, "surprise.png")
    cfg = P.settings_from_values({P.K_EXPRESSIONS: True, P.emoji_key("happy"): good,
                                  P.emoji_key("sad"): str(tmp_path / "gone.png"),
                                  P.emoji_key("angry"): str(tmp_path / "angry.jpg")})
    assert dict(cfg.settings.expressions.emojis) == {"happy": good}
    assert "emoji image for sad not found" in cfg.expr_warning and "gone.png" in cfg.expr_warning
    assert "emoji for angry must be a PNG" in cfg.expr_warning
    assert cfg.settings.expressions.active


def test_missing_model_falls_back_to_the_bundled_one_with_a_warning(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("0 Happy\n1 Sad\n")
    cfg = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_EXPR_MODEL: str(tmp_path / "m.tflite"),
                                  P.K_EXPR_LABELS: str(labels)})
    assert cfg.settings.expressions.model == "" and cfg.settings.expressions.labels == ""
    assert "expression model not found" in cfg.expr_warning and "m.tflite" in cfg.expr_warning
    cfg = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_EXPR_LABELS: str(labels)})
    assert cfg.settings.expressions.labels == "" and "goes with a custom expression model" in cfg.expr_warning


def test_toggle_and_recalibrate_hotkeys_follow_the_effect_toggles():
    from facefx.obs import filter as F
    assert (P.K_EXPRESSIONS, "facefx.toggle_expressions") == P.EFFECTS[1][:2]
    assert F.EXTRA_HOTKEYS.index(F.RECALIBRATE_HOTKEY) == 1 and F.EXTRA_HOTKEYS[0] == F.PAUSE_HOTKEY


def test_recalibrate_is_a_protocol_op():
    from facefx.obs import protocol
    assert protocol.OP_RECALIBRATE in protocol.OPS
    assert protocol.op(protocol.OP_RECALIBRATE, "7:cam") == {"op": "recalibrate", "source": "7:cam"}


# -- faces from a worker result into the Scene (no OBS) ----------------------------------------

def _face_results(expression="happy"):
    return R.FrameResults(frame_index=1, timestamp=0.5, faces=(
        R.Face(track_id=3, box=(0.4, 0.3, 0.2, 0.3), score=0.9, roll=0.0, expression=expression,
               expression_score=0.8),))


def test_filter_feeds_faces_to_the_scene_and_takes_its_emoji(tmp_path):
    from facefx import ipc
    from facefx.obs.channel import read_result
    from facefx.obs.filter import _SceneInput
    from facefx.scene import Scene
    chan = ipc.ChannelFile.create(str(tmp_path / "c.shm"), 4096)
    try:
        chan.results.write(b"", width=0, height=0, stride=0, frame_seq=1,
                           aux=ipc.pack_aux(b"{}", R.encode(_face_results())), flags=ipc.FLAG_NO_MASK)
        res = read_result(chan.results, 0)[1]
    finally:
        chan.close()
    inp = _SceneInput(res)
    assert [f.expression for f in inp.faces] == ["happy"] and not hasattr(inp, "mask")
    settings = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_BACKGROUND: False,
                                       P.K_EXPR_MODE: "replace", P.K_EXPR_LABEL: True}).settings
    scene = Scene(settings)
    scene.update(inp, 1.0)
    plan = scene.plan(1.0, 640, 360)
    assert [os.path.basename(s.image) for s in plan.sprites] == ["happy.png"]
    sp = plan.sprites[0]
    # Replace mode: the emoji is centred on the face box (0.4..0.6 x 0.3..0.6 of 640x360).
    assert abs(sp.x - 320) < 2 and abs(sp.y - 162) < 2 and sp.height >= 0.3 * 360
    assert [lb.text for lb in plan.labels] == ["Happy"]


# -- the worker's recalibrate op (real engine, no OBS) -----------------------------------------

class _Out:
    def __init__(self):
        self.events = []

    def send(self, event, **fields):
        self.events.append(dict(event=event, **fields))


@pytest.fixture(scope="module")
def astronaut():
    import cv2
    return cv2.cvtColor(cv2.imread(os.path.join(ROOT, "facefx", "assets", "astronaut.png")), cv2.COLOR_BGR2RGB)


def test_recalibrate_op_reaches_the_expressions_stage(astronaut):
    from facefx.analysis import Engine
    from facefx.obs import protocol
    from facefx.worker import Worker
    settings = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_BACKGROUND: False}).settings
    out = _Out()
    w = Worker(out)
    w.handle(protocol.op(protocol.OP_OPEN, "s"))
    w.handle(protocol.op(protocol.OP_SETTINGS, "s", settings=settings.to_dict()))
    src = w.sources["s"]
    src.engine = Engine(src.settings, threads=1)
    try:
        for i in range(12):   # 3 s of frames: long enough to learn the baseline (2 s)
            src.engine.analyze(astronaut, timestamp=i * 0.25)
        src.cold = False
        stage = w._stage(src, "expressions")
        people = stage.tracker.people
        assert people and all(p.baseline is not None for p in people.values())
        assert w._expressions_state(src)["calibrating"] == 0
        w.handle(protocol.op(protocol.OP_RECALIBRATE, "s"))
        assert all(p.baseline is None for p in people.values()), "recalibrate did not reach the tracker"
        state = w._expressions_state(src)
        assert state["calibrating"] == len(people) and state["recalibrations"] == 1
        assert state["state"] == "ready" and state["model"] == ""
        assert not [e for e in out.events if e["event"] == protocol.EV_ERROR]
    finally:
        src.close()


def test_unusable_custom_model_is_reported_and_the_bundled_one_used(tmp_path):
    from facefx.obs import protocol
    from facefx.worker import Worker
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"this is not a TFLite flatbuffer" * 10)
    settings = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_BACKGROUND: False,
                                       P.K_EXPR_MODEL: str(bad)}).settings
    assert settings.expressions.model == str(bad)
    out = _Out()
    w = Worker(out)
    w.handle(protocol.op(protocol.OP_OPEN, "s"))
    w.handle(protocol.op(protocol.OP_SETTINGS, "s", settings=settings.to_dict()))
    src = w.sources["s"]
    assert src.settings.expressions.active and src.settings.expressions.model == ""
    errors = [e["message"] for e in out.events if e["event"] == protocol.EV_ERROR]
    assert len(errors) == 1 and "expression model not used" in errors[0] and "model.tflite" in errors[0], errors
    state = w._expressions_state(src)
    assert state["state"] == "failed" and "model.tflite" in state["message"]
    # The same settings again (a slider moved elsewhere): no second load, the same report.
    w.handle(protocol.op(protocol.OP_SETTINGS, "s", settings=settings.to_dict()))
    assert w._expressions_state(src)["state"] == "failed"


# -- in a real, headless OBS ------------------------------------------------------------------

@pytest.fixture(scope="module")
def obs():
    from .conftest import require_obs
    from .harness import ASTRONAUT, ObsSession, facefx_filter, image_source
    require_obs()
    session = ObsSession({"Main": [
        image_source("Photo", ASTRONAUT, [facefx_filter("EmojiFX", background=False, expressions=True,
                                                        expr_mode="replace")]),
    ]})
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


@pytest.fixture(scope="module")
def face_box(astronaut):
    """The astronaut's face box in pixels (x0, y0, x1, y1), from MediaPipe's face detector run
    here, not through FaceFX."""
    from mediapipe.python.solutions import face_detection
    with face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as det:
        found = det.process(astronaut).detections
    assert found and len(found) == 1
    b = found[0].location_data.relative_bounding_box
    h, w = astronaut.shape[:2]
    return int(b.xmin * w), int(b.ymin * h), int((b.xmin + b.width) * w), int((b.ymin + b.height) * h)


def _emoji_yellow():
    import cv2
    import numpy as np
    e = cv2.cvtColor(cv2.imread(os.path.join(EMOJI, "happy.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    return np.median(e[e[:, :, 3] == 255][:, :3], axis=0)


def _yellow(shot, yellow):
    import numpy as np
    return np.abs(shot[:, :, :3].astype(np.int16) - yellow).max(axis=2) < 40


def _wait_status(obs, name, needle, timeout=90):
    """Wait until the filter's status line holds `needle` (or every string of a tuple)."""
    needles = (needle,) if isinstance(needle, str) else tuple(needle)
    seen = []

    def ok():
        st = obs.filter_status(name) or {}
        if not seen or seen[-1] != st.get("status"):
            seen.append(st.get("status"))
        return all(n in st.get("status", "") for n in needles) and st
    try:
        return obs.wait_for(ok, timeout, f"{needle!r} in {name}'s status line")
    except AssertionError as e:
        raise AssertionError(f"status lines seen: {seen[-5:]}\n{e}") from None


def _save(tmp_path, name, shot):
    import cv2
    path = tmp_path / name
    cv2.imwrite(str(path), cv2.cvtColor(shot[:, :, :3], cv2.COLOR_RGB2BGR))
    print("screenshot:", path)
    return path


def test_replace_mode_covers_the_face_with_its_emoji(obs, astronaut, face_box, tmp_path):
    import numpy as np
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "replace", "expr_label": False,
                                        P.emoji_key("happy"): ""})
    # The model's state rides the worker's heartbeat (every 0.5 s), the reading each result: the
    # first readings can come before the heartbeat that says the model is ready.
    st = _wait_status(obs, "EmojiFX", ("main face: happy", "face geometry (ready)"))
    assert "Expressions (replace): 1 face" in st["status"], st["status"]
    assert "bundled FER2013 + face geometry (ready)" in st["status"], st["status"]
    assert st["heavy_modules"] == [], "OBS's interpreter imported " + ", ".join(st["heavy_modules"])
    x0, y0, x1, y1 = face_box
    last = {}

    def covered():
        # The emoji fades in and settles on the face over a few frames: wait for the settled
        # picture (the asserts below then report what the last screenshot showed).
        s = obs.screenshot("Photo")
        last["shot"] = s
        last["inside"] = _yellow(s, _emoji_yellow())[y0:y1, x0:x1].mean()
        last["changed"] = (np.abs(s[y0:y1, x0:x1, :3].astype(np.int16) - astronaut[y0:y1, x0:x1]).max(axis=2) > 40).mean()
        return last["changed"] > 0.9 and last["inside"] > 0.4
    try:
        obs.wait_for(covered, 20, "the emoji covering the face in OBS's output")
    except AssertionError:
        pass
    shot = last["shot"]
    path = _save(tmp_path, "replace.png", shot)
    print("face box", face_box, "emoji-yellow share %.3f, changed share %.3f" % (last["inside"], last["changed"]))
    assert last["changed"] > 0.9, f"the face box is not covered ({last['changed']:.3f} changed); see {path}"
    assert last["inside"] > 0.4, f"the face box is not emoji-coloured ({last['inside']:.3f}); see {path}"
    # Away from the face, the photo passes through unchanged.
    far = np.abs(shot[420:, :, :3].astype(np.int16) - astronaut[420:]).max(axis=2)
    assert np.percentile(far, 99) < 16


def test_beside_mode_puts_the_emoji_next_to_the_face_with_its_label(obs, astronaut, face_box, tmp_path):
    import numpy as np
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "beside", "expr_label": False})
    _wait_status(obs, "EmojiFX", "Expressions (beside): 1 face; main face: happy")
    yellow = _emoji_yellow()

    def beside():
        s = obs.screenshot("Photo")
        x0, y0, x1, y1 = face_box
        band = _yellow(s, yellow)[y0:y1]
        outside = np.concatenate([band[:, :x0], band[:, x1:]], axis=1)
        return [s] if outside.mean() > 0.05 and _yellow(s, yellow)[y0:y1, x0:x1].mean() < 0.05 else None
    plain, = obs.wait_for(beside, 20, "the emoji beside the face (and not on it)")
    _save(tmp_path, "beside.png", plain)
    x0, y0, x1, y1 = face_box
    face = np.abs(plain[y0:y1, x0:x1, :3].astype(np.int16) - astronaut[y0:y1, x0:x1]).max(axis=2)
    assert np.percentile(face, 95) < 16, "beside mode must leave the face visible"
    obs.set_filter("Photo", "EmojiFX", {"expr_label": True})

    import cv2

    def plate(s):
        """The largest blob the label darkened (its 72% dark plate) and the white share inside it;
        the emoji's outline may move by a pixel between screenshots and darken a sliver too."""
        darker = (plain[:, :, :3].astype(np.int16) - s[:, :, :3]).min(axis=2) > 50
        n, comp, stats, _ = cv2.connectedComponentsWithStats(darker.astype(np.uint8), connectivity=8)
        if n < 2:
            return None
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        ys, xs = np.nonzero(comp == biggest)
        region = s[ys.min():ys.max() + 1, xs.min():xs.max() + 1, :3].astype(np.int16)
        return xs, ys, float((region.min(axis=2) > 200).mean())

    def labelled():
        s = obs.screenshot("Photo")
        found = plate(s)
        if found is None:
            return None
        xs, ys, white = found
        wide = xs.max() - xs.min() > 1.5 * (ys.max() - ys.min()) and len(xs) > 200
        return [s, xs, ys, white] if wide and white > 0.05 else None
    shot, xs, ys, white = obs.wait_for(labelled, 20, "the expression label (white text on a dark plate)")
    path = _save(tmp_path, "beside_label.png", shot)
    print("label plate x %d..%d y %d..%d, white share %.3f" % (xs.min(), xs.max(), ys.min(), ys.max(), white))
    assert ys.min() > face_box[1], f"the label sits above the face; see {path}"
    st = obs.filter_status("EmojiFX")
    assert "Expression labels:" not in st["status"], st["status"]


def test_bad_emoji_file_passes_the_face_through_with_a_message(obs, astronaut, face_box, tmp_path):
    import numpy as np
    bad = tmp_path / "broken_happy.png"
    bad.write_bytes(b"definitely not a PNG file" * 4)
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "replace", "expr_label": False,
                                        P.emoji_key("happy"): str(bad)})
    try:
        st = _wait_status(obs, "EmojiFX", ("broken_happy.png", "main face: happy"))
        assert "no emoji" in st["status"], st["status"]

        def untouched():
            s = obs.screenshot("Photo")
            x0, y0, x1, y1 = face_box
            d = np.abs(s[y0:y1, x0:x1, :3].astype(np.int16) - astronaut[y0:y1, x0:x1]).max(axis=2)
            return [s] if np.percentile(d, 95) < 16 else None
        shot, = obs.wait_for(untouched, 20, "the face to show through without an emoji")
        _save(tmp_path, "bad_emoji.png", shot)
        assert obs.running
    finally:
        obs.set_filter("Photo", "EmojiFX", {P.emoji_key("happy"): ""})


def test_hotkeys_recalibrate_the_baseline_and_toggle_the_emojis(obs, tmp_path):
    """The recalibrate hotkey (through OBS's hotkey system, as a key press routes it) reaches
    the worker's ExpressionsStage: the face learns its resting look again, which the status
    line reports; the toggle hotkey turns the emojis off and on."""
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "replace", "expr_label": False})

    def settled():
        st = obs.filter_status("EmojiFX") or {}
        text = st.get("status", "")
        return "main face: happy" in text and "learning the resting face" not in text and st
    obs.wait_for(settled, 60, "the face's baseline to be learned")
    obs.client.trigger_hotkey_by_name("facefx.recalibrate_expressions.EmojiFX")
    st = _wait_status(obs, "EmojiFX", "learning the resting face of 1 face(s)", timeout=20)
    assert "recalibrate:" not in st["status"], st["status"]
    obs.wait_for(settled, 20, "the baseline to be learned again after recalibrating")
    obs.client.trigger_hotkey_by_name("facefx.toggle_expressions.EmojiFX")
    _wait_status(obs, "EmojiFX", "All effects are off", timeout=20)
    obs.client.trigger_hotkey_by_name("facefx.toggle_expressions.EmojiFX")
    _wait_status(obs, "EmojiFX", "Expressions (replace): 1 face", timeout=60)


def test_panel_has_the_expression_emojis_group(obs):
    """The properties panel OBS would show (written by the debug hooks) has the group, its
    recalibrate button and the seven emoji pickers."""
    import json
    path = os.path.join(obs.debug_dir, "EmojiFX.props.json")
    obs.wait_for(lambda: os.path.exists(path), 20, "the filter's properties panel dump")
    with open(path) as fh:
        tree = json.load(fh)
    groups = {name: (desc, children) for name, desc, _, children in tree}
    desc, children = groups[P.K_EXPRESSIONS]
    assert desc == "Expression emojis"
    names = {c[0]: c[1] for c in children}
    for key in (P.K_EXPR_MODE, P.K_EXPR_LABEL, P.K_EXPR_SIZE, P.K_EXPR_CORNER, P.K_EXPR_MODEL,
                P.K_EXPR_LABELS, P.K_FACES_MAX, P.K_FACES_DETECTOR):
        assert key in names, key
    assert names[P.K_EXPR_RECALIBRATE] == "Recalibrate expression baseline"
    assert all(P.emoji_key(e) in names for e in R.EXPRESSIONS)
    hotkeys = obs.client.get_hotkey_list().hotkeys
    for name in ("facefx.toggle_expressions.EmojiFX", "facefx.recalibrate_expressions.EmojiFX",
                 "facefx.pause_gestures.EmojiFX"):
        assert name in hotkeys, hotkeys


def test_panel_mode_shows_the_main_face_in_the_corner(obs, astronaut, face_box, tmp_path):
    import numpy as np
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "panel", "expr_corner": "bottom-left",
                                        "expr_label": False})
    _wait_status(obs, "EmojiFX", "Expressions (panel): 1 face; main face: happy")
    yellow = _emoji_yellow()

    def in_corner():
        s = obs.screenshot("Photo")
        y = _yellow(s, yellow)
        h, w = y.shape
        corner, rest = y[h // 2:, :w // 2], y[:h // 2]
        return [s] if corner.mean() > 0.03 and rest.mean() < 0.002 else None
    shot, = obs.wait_for(in_corner, 20, "the main face's emoji in the bottom-left panel")
    path = _save(tmp_path, "panel.png", shot)
    x0, y0, x1, y1 = face_box
    face = np.abs(shot[y0:y1, x0:x1, :3].astype(np.int16) - astronaut[y0:y1, x0:x1]).max(axis=2)
    assert np.percentile(face, 95) < 16, f"the panel must leave the face visible; see {path}"
    obs.set_filter("Photo", "EmojiFX", {"expr_mode": "replace", "expr_corner": "top-right"})


TWO_KIDS = os.path.join(ROOT, os.pardir, "shared", "evalset", "faces", "multi_face",
                        "multi_face__mediapipe_samples_two_kids.jpeg")


def test_every_face_of_a_group_photo_gets_its_emoji(obs, tmp_path):
    """Two faces (an evaluation photo, not copied into the repository): in replace mode each
    face box MediaPipe finds here is covered by an emoji, and the status line counts both."""
    import cv2
    import numpy as np
    if not os.path.exists(TWO_KIDS):
        if os.environ.get("CI"):
            pytest.fail(f"evaluation photo missing under CI: {TWO_KIDS}")
        pytest.skip(f"evaluation photo not available: {TWO_KIDS}")
    from mediapipe.python.solutions import face_detection
    photo = cv2.cvtColor(cv2.imread(TWO_KIDS), cv2.COLOR_BGR2RGB)
    h, w = photo.shape[:2]
    with face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as det:
        found = det.process(photo).detections
    boxes = [(int(b.xmin * w), int(b.ymin * h), int((b.xmin + b.width) * w), int((b.ymin + b.height) * h))
             for b in (d.location_data.relative_bounding_box for d in found)]
    assert len(boxes) == 2
    from .harness import ASTRONAUT
    obs.client.set_input_settings("Photo", {"file": os.path.abspath(TWO_KIDS)}, True)
    try:
        obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "replace", "expr_label": False})
        _wait_status(obs, "EmojiFX", "Expressions (replace): 2 faces")

        def covered():
            s = obs.screenshot("Photo")
            if s.shape[:2] != (h, w):
                return None
            shares = [float((np.abs(s[y0:y1, x0:x1, :3].astype(np.int16) - photo[y0:y1, x0:x1]).max(axis=2) > 40).mean())
                      for x0, y0, x1, y1 in boxes]
            return [s, shares] if min(shares) > 0.85 else None
        shot, shares = obs.wait_for(covered, 30, "both faces covered by their emojis")
        _save(tmp_path, "two_faces.png", shot)
        print("changed share per face box:", ["%.3f" % v for v in shares])
    finally:
        obs.client.set_input_settings("Photo", {"file": ASTRONAUT}, True)
    _wait_status(obs, "EmojiFX", "Expressions (replace): 1 face")


def test_unusable_custom_model_is_named_in_the_status_and_emojis_keep_working(obs, tmp_path):
    bad = tmp_path / "not_a_model.tflite"
    bad.write_bytes(b"\0" * 64)
    obs.set_filter("Photo", "EmojiFX", {"expressions": True, "expr_mode": "replace", P.K_EXPR_MODEL: str(bad)})
    try:
        st = _wait_status(obs, "EmojiFX", "not_a_model.tflite cannot be used")
        assert "bundled FER2013 used instead" in st["status"], st["status"]
        _wait_status(obs, "EmojiFX", "main face: happy")
        obs.wait_for(lambda: _yellow(obs.screenshot("Photo"), _emoji_yellow()).mean() > 0.02, 20,
                     "the emoji drawn with the bundled model")
        assert obs.running
    finally:
        obs.set_filter("Photo", "EmojiFX", {P.K_EXPR_MODEL: ""})


@pytest.mark.parametrize("values,size", [
    ({}, (256, 144)),                                              # background only
    ({P.K_EXPRESSIONS: True}, (640, 360)),                         # faces need their pixels
    ({P.K_EXPRESSIONS: True, P.K_SEG_WIDTH: 640}, (640, 360)),
])
def test_frames_go_to_the_worker_large_enough_for_faces(values, size):
    from facefx.obs.filter import staged_size
    assert staged_size(P.settings_from_values(values).settings, 1280, 720) == size
    assert staged_size(P.settings_from_values(values).settings, 200, 100) == (200, 100)   # never enlarged


def test_label_plate_matches_the_cpu_painters_and_stays_inside_the_frame():
    from facefx.obs import labels as L
    from facefx.render import painters
    from facefx.scene import Label
    assert (L.LABEL_PLATE, L.LABEL_PLATE_ALPHA, L.LABEL_PAD) == (
        painters.LABEL_PLATE, painters.LABEL_PLATE_ALPHA, painters.LABEL_PAD)
    x0, y0, pw, ph, scale = L.plate_geometry(Label("Happy", 320, 180, 20), 260, 88, 640, 360)
    cpu = painters.label_patch("Happy", 20, (255, 255, 255))
    assert abs(ph - cpu.shape[0]) <= 0.15 * cpu.shape[0], (ph, cpu.shape)
    assert abs(x0 + pw / 2 - 320) < 1e-6 and abs(y0 + ph / 2 - 180) < 1e-6
    x0, y0, pw, ph, _ = L.plate_geometry(Label("Happy", 630, 355, 20), 260, 88, 640, 360)
    assert x0 + pw <= 640 and y0 + ph <= 360 and x0 >= 0 and y0 >= 0


def test_label_count_that_differs_from_the_model_is_reported_and_a_good_pair_is_used(tmp_path):
    """A Teachable Machine layout model with three outputs (generated): two labels are refused
    with the count named, its own three labels are used as they are."""
    import numpy as np

    from facefx.obs import protocol
    from facefx.worker import Worker
    from tests.test_expressions import build_model
    n = 224 * 224 * 3
    model = tmp_path / "model_unquant.tflite"
    model.write_bytes(build_model([1, 224, 224, 3], np.zeros((3, n), np.float32), np.zeros(3)))
    short, good = tmp_path / "two.txt", tmp_path / "labels.txt"
    short.write_text("0 Happy\n1 Sad\n")
    good.write_text("0 Angry\n1 Happy\n2 Sad\n")
    out = _Out()
    w = Worker(out)
    w.handle(protocol.op(protocol.OP_OPEN, "s"))
    for labels, fails in ((short, True), (good, False)):
        settings = P.settings_from_values({P.K_EXPRESSIONS: True, P.K_BACKGROUND: False,
                                           P.K_EXPR_MODEL: str(model), P.K_EXPR_LABELS: str(labels)}).settings
        w.handle(protocol.op(protocol.OP_SETTINGS, "s", settings=settings.to_dict()))
        src = w.sources["s"]
        state = w._expressions_state(src)
        if fails:
            assert state["state"] == "failed" and "2 labels" in state["message"] and "3" in state["message"], state
            assert src.settings.expressions.model == ""
        else:
            assert state["state"] != "failed" and src.settings.expressions.model == str(model), state
            assert src.settings.expressions.labels == str(good)
