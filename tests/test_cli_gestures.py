"""Gesture stickers end to end: engine stages, the command line's gesture flags and bad input,
and the fist-then-thumbs-up clip producing one thumbs-up sticker."""
from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facefx.analysis import Engine
from facefx.settings import GestureSettings, Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVALSET = os.path.join(ROOT, "..", "shared", "evalset")
CLIP = os.path.join(EVALSET, "clips", "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")
THUMBS_UP_PHOTO = os.path.join(EVALSET, "hands", "thumbs_up", "thumbs_up__mediapipe_samples_thumbs-up.png")
KINIVI = os.path.join(ROOT, "..", "shared", "models", "kinivi_keypoint_classifier")
needs_clip = pytest.mark.skipif(not os.path.exists(CLIP), reason="../shared/evalset is not here (the clip is not in the repo)")


def facefx(*args: str, timeout: float = 240, data_dir: str = "") -> subprocess.CompletedProcess:
    """Run the CLI with an empty data folder unless given one (no taught gestures of the user's)."""
    env = {**os.environ, "PYTHONPATH": ROOT, "FACEFX_DATA_DIR": data_dir or os.path.join(ROOT, ".no-such-data")}
    return subprocess.run([sys.executable, "-m", "facefx", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _png(path: str, channels: int = 4, size: int = 64) -> str:
    img = np.zeros((size, size, channels), np.uint8)
    img[..., 0] = 200
    if channels == 4:
        img[size // 4:-size // 4, size // 4:-size // 4, 3] = 255
    assert cv2.imwrite(path, img)
    return path


def _read_frames(path: str, start: int, stop: int):
    cap = cv2.VideoCapture(path)
    frames = []
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok or i >= stop:
            break
        if i >= start:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return frames


# --- engine -------------------------------------------------------------------------------------

@needs_clip
def test_engine_runs_hands_and_gestures_from_settings():
    settings = Settings().replace(background=Settings().background.__class__(mode="none"),
                                  gestures=GestureSettings(enabled=True, gestures=("thumbs_up", "fist")))
    assert settings.stages() == {"hands", "gestures"}
    frames = _read_frames(CLIP, 95, 125)   # ~3.8-5 s: a held thumbs up
    names = []
    with Engine(settings) as engine:
        assert [s.name for s in engine.stages] == ["hands", "gestures"]
        assert engine.stages[0].options["max_hands"] == 1
        for i, frame in enumerate(frames):
            a = engine.analyze(frame, timestamp=i / 25.0)
            assert a.mask is None
            names += [g.name for g in a.gestures]
            assert all(isinstance(h.landmarks, tuple) for h in a.hands)
    assert names.count("thumbs_up") >= len(frames) // 2, names


def test_two_hand_gesture_asks_for_two_hands():
    from facefx.analysis.hands import HandsStage, hands_input_size
    stage = HandsStage()
    stage.configure(Settings(gestures=GestureSettings(enabled=True, gestures=("thumbs_up",))))
    assert stage.options["max_hands"] == 1
    stage.configure(Settings(gestures=GestureSettings(enabled=True, gestures=("thumbs_up", "heart_hands"))))
    assert stage.options["max_hands"] == 2
    assert hands_input_size(1920, 1080) == (1280, 720)
    assert hands_input_size(1280, 720) == (1280, 720)


def test_tight_budget_runs_hands_every_second_frame():
    from facefx.analysis.gestures import GestureStage
    from facefx.analysis.hands import HandsStage
    ticks = iter(np.arange(0, 1000, 0.05))   # every clock read advances 50 ms: far over a 1 ms budget
    settings = Settings(gestures=GestureSettings(enabled=True))
    with Engine(settings, stages=[HandsStage(), GestureStage()], budget_ms=1.0,
                clock=lambda: float(next(ticks))) as engine:
        ran = []
        for i in range(6):
            a = engine.analyze(np.zeros((120, 160, 3), np.uint8), timestamp=i / 30)
            ran.append("hands" in a.stage_ms)
    assert ran[0] and ran.count(True) == 3, ran


def test_gesture_settings_map_to_one_trigger_settings():
    g = GestureSettings(enabled=True, gestures=("fist",), hold=0.8, cooldown=4.0)
    t = g.trigger_settings()
    assert (t.hold, t.cooldown, t.enabled) == (0.8, 4.0, frozenset({"fist"}))


def test_custom_landmark_model_fills_gestures():
    if not os.path.isdir(KINIVI):
        pytest.skip("../shared/models/kinivi_keypoint_classifier is not here")
    from facefx.analysis import Analysis
    from facefx.analysis.gestures import GestureStage
    from facefx.analysis.hands import detect_hands
    if not os.path.exists(THUMBS_UP_PHOTO):
        pytest.skip("../shared/evalset is not here")
    model = [os.path.join(KINIVI, f) for f in os.listdir(KINIVI) if f.endswith(".tflite")][0]
    stage = GestureStage()
    stage.configure(Settings(gestures=GestureSettings(enabled=True, gestures=(), model=model)))
    rgb = cv2.cvtColor(cv2.imread(os.path.join(EVALSET, "hands", "fist", sorted(
        os.listdir(os.path.join(EVALSET, "hands", "fist")))[0])), cv2.COLOR_BGR2RGB)
    hands = detect_hands(rgb, max_hands=1)[0]
    assert hands
    a = Analysis(0, 0.0, (rgb.shape[1], rgb.shape[0]), (rgb.shape[1], rgb.shape[0]), hands=hands)
    stage.process(rgb, a)
    assert "Close" in [g.name for g in a.gestures], a.gestures


# --- command line: bad input -------------------------------------------------------------------

@pytest.mark.parametrize("make, needle", [
    (lambda d: os.path.join(d, "missing.png"), "no such file"),
    (lambda d: open(os.path.join(d, "bad.png"), "wb").write(b"not a png") and os.path.join(d, "bad.png"),
     "not a readable PNG"),
    (lambda d: _png(os.path.join(d, "rgb.png"), channels=3), "no alpha"),
    (lambda d: _png(os.path.join(d, "huge.png"), size=2100), "too large"),
])
def test_bad_sticker_exits_2_naming_the_file(tmp_path, make, needle):
    path = make(str(tmp_path))
    r = facefx("process", "synth:frames=2", "-o", str(tmp_path / "out.mp4"), "--background", "none",
               "--sticker", f"thumbs_up={path}")
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and path in lines[0] and needle in lines[0] and "RGBA .png" in lines[0], r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--sticker", "thumbs_up"], "expected GESTURE=PATH_OR_NAME"),
    (["--sticker", "thumbs_up=no_such_sticker"], "no bundled sticker named"),
    (["--gesture-labels", "labels.txt"], "--gesture-labels needs --gesture-model"),
    (["--gestures", ","], "comma-separated list"),
])
def test_bad_gesture_flags_exit_2(tmp_path, args, needle):
    r = facefx("process", "synth:frames=2", "-o", str(tmp_path / "out.mp4"), *args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr


def test_bad_gesture_model_exits_2(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"definitely not a flatbuffer")
    r = facefx("process", "synth:frames=2", "-o", str(tmp_path / "out.mp4"), "--gesture-model", str(bad))
    assert r.returncode == 2 and "--gesture-model" in r.stderr and str(bad) in r.stderr, r.stderr
    r = facefx("process", "synth:frames=2", "-o", str(tmp_path / "out.mp4"),
               "--gesture-model", str(tmp_path / "nope.tflite"))
    assert r.returncode == 2 and "nope.tflite" in r.stderr, r.stderr


def test_good_gesture_flags_are_accepted(tmp_path):
    sticker = _png(str(tmp_path / "star.png"))
    out = tmp_path / "out.mp4"
    r = facefx("process", "synth:frames=3", "-o", str(out), "--background", "none", "--gestures", "thumbs_up,victory",
               "--sticker", f"thumbs_up={sticker}", "--sticker", "victory=confetti", "--sticker", "fist=ok")
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_settings_from_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFX_DATA_DIR", str(tmp_path))
    from facefx.cli import build_parser, settings_from_args
    args = build_parser().parse_args(["process", "0", "--gestures", "thumbs_up", "--sticker", "victory=rain",
                                      "--background", "none"])
    g = settings_from_args(args).gestures
    assert g.active and g.gestures == ("thumbs_up", "victory")
    assert g.effect("victory").animation == "rain" and g.effect("victory").placement == "fullscreen"
    args = build_parser().parse_args(["process", "0"])
    assert not settings_from_args(args).gestures.active


def test_preview_key_g_pauses_gestures():
    from facefx.io.preview import HELP_LINES, PreviewSink
    assert any(k == "g" for k, _ in HELP_LINES)
    sink = PreviewSink.__new__(PreviewSink)
    sink._open = False
    assert PreviewSink.handle_key(sink, ord("g")) == ["pause_gestures"]


# --- end to end ----------------------------------------------------------------------------------

def _sticker_pixels(frame: np.ndarray, ref: np.ndarray) -> int:
    """Emoji-yellow pixels (BGR) drawn over the input frame: the sticker, not the white arming ring."""
    def yellow(img: np.ndarray) -> np.ndarray:
        b, g, r = (img[..., k].astype(np.int16) for k in range(3))
        return (r > 180) & (g > 120) & (b < 90)
    return int((yellow(frame) & ~yellow(ref)).sum())


@needs_clip
def test_clip_shows_the_thumbs_up_sticker_once_around_3s(tmp_path):
    out = tmp_path / "out.mp4"
    r = facefx("process", CLIP, "-o", str(out), "--background", "none", "--gestures", "thumbs_up",
               "-q", timeout=600)
    assert r.returncode == 0, r.stderr
    src, dst = cv2.VideoCapture(CLIP), cv2.VideoCapture(str(out))
    fps = src.get(cv2.CAP_PROP_FPS) or 25.0
    shown = []
    while True:
        ok1, a = src.read()
        ok2, b = dst.read()
        if not (ok1 and ok2):
            break
        shown.append(_sticker_pixels(b, a) > 800)
    src.release()
    dst.release()
    onsets = [i for i in range(len(shown)) if shown[i] and (i == 0 or not shown[i - 1])]
    assert len(onsets) == 1, onsets
    assert 2.5 <= onsets[0] / fps <= 3.6, onsets[0] / fps


@pytest.mark.skipif(not os.path.exists(THUMBS_UP_PHOTO), reason="../shared/evalset is not here")
def test_a_photo_shows_its_gestures_sticker(tmp_path):
    """A picture fires its gesture at once (no hold to wait for) and shows the sticker settled;
    the command stays quiet (no native start-up chatter from the photo hand tracker)."""
    small = tmp_path / "thumbs.png"
    rgb = cv2.imread(THUMBS_UP_PHOTO)
    cv2.imwrite(str(small), cv2.resize(rgb, (rgb.shape[1] // 3, rgb.shape[0] // 3), interpolation=cv2.INTER_AREA))
    out = tmp_path / "out.png"
    r = facefx("process", str(small), "-o", str(out), "--gestures", "thumbs_up")
    assert r.returncode == 0, r.stderr
    assert (r.stdout + r.stderr).strip().splitlines() == [f"facefx: wrote {out} (1 picture)"], r.stderr
    assert _sticker_pixels(cv2.imread(str(out)), cv2.imread(str(small))) > 800
    bare = tmp_path / "bare.png"
    r = facefx("process", str(small), "-o", str(bare), "--gestures", "victory")   # not this gesture
    assert r.returncode == 0, r.stderr
    assert _sticker_pixels(cv2.imread(str(bare)), cv2.imread(str(small))) < 50
