"""`facefx eval gestures` on folders the tests lay out from the shared evalset (symlinks only)."""
from __future__ import annotations

import json
import os
import sys
import types

import pytest

from facefx.cli import main
from facefx.results import GestureHit

from .conftest import EVALSET

HANDS = os.path.join(EVALSET, "hands")
CLIPS = os.path.join(EVALSET, "clips")
FIST_THEN_THUMBS = os.path.join(CLIPS, "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")
PALM_UP = os.path.join(CLIPS, "video_open_hand_palm_up__mediapipe_samples_hand_test_video.mp4")

pytestmark = pytest.mark.skipif(not os.path.isdir(HANDS), reason="../shared/evalset is not here")


def layout(root, files):
    """{label: [paths]} -> root/label/<links>."""
    for label, paths in files.items():
        os.makedirs(os.path.join(root, label), exist_ok=True)
        for p in paths:
            os.symlink(p, os.path.join(root, label, os.path.basename(p)))
    return str(root)


def run(args, capsys):
    rc = main(["eval", "gestures", "-q"] + args)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def photos(tmp_path):
    return layout(tmp_path / "data", {
        "fist": [os.path.join(HANDS, "fist", "fist__hagrid_gestures_fist.png")],
        "thumbs_up": [os.path.join(HANDS, "thumbs_up", "thumbs_up__mediapipe_samples_thumbs-up.png")],
        "two_hand_heart": [os.path.join(HANDS, "two_hand_heart", "two_hand_heart__hagrid_gestures_heart.png")],
        "none": [os.path.join(HANDS, "none", "other_rock__mp_modelmaker_rock_09a619ab.jpg"),
                 os.path.join(HANDS, "none", "other_four__mp_modelmaker_four_07fdea90.jpg")],
    })


def test_photos_report_and_json(photos, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    rc, out, _ = run(["--data", photos, "--json", str(out_json)], capsys)
    assert rc == 0
    data = json.loads(out_json.read_text())
    assert data["accuracy"] == 1.0 and data["photos"] == 5
    assert data["false_triggers"] == 0
    assert data["confusion"]["heart_hands"]["heart_hands"] == 1
    assert data["per_class"]["none"]["recall"] == 1.0
    assert "photos: 5/5 correct" in out and "confusion" in out and "false triggers: 0" in out


def test_a_lookalike_filed_as_a_gesture_shows_in_the_matrix(tmp_path, capsys):
    data_dir = layout(tmp_path / "d", {"open_palm": [os.path.join(HANDS, "none", "other_four__mp_modelmaker_four_07fdea90.jpg")]})
    out_json = tmp_path / "r.json"
    rc, out, _ = run(["--data", data_dir, "--json", str(out_json)], capsys)
    data = json.loads(out_json.read_text())
    assert rc == 0 and data["accuracy"] == 0.0
    assert data["confusion"]["open_palm"]["none"] == 1
    assert "wrong:" in out


def test_videos_fire_at_media_time(tmp_path, capsys):
    data_dir = layout(tmp_path / "v", {"clips": [FIST_THEN_THUMBS], "none": [PALM_UP]})
    out_json = tmp_path / "v.json"
    rc, out, _ = run(["--data", data_dir, "--json", str(out_json)], capsys)
    assert rc == 0
    data = json.loads(out_json.read_text())
    videos = {os.path.basename(v["file"]): v for v in data["videos"]}
    events = videos[os.path.basename(FIST_THEN_THUMBS)]["events"]
    thumbs = [e for e in events if e["gesture"] == "thumbs_up"]
    assert len(thumbs) == 1 and 2.5 <= thumbs[0]["time"] <= 3.5
    assert {e["gesture"] for e in events} <= {"thumbs_up", "fist"}
    assert videos[os.path.basename(PALM_UP)]["events"] == []
    assert data["false_triggers"] == 0
    assert "thumbs_up@" in out


def test_custom_classifier_interface(photos, tmp_path, capsys, monkeypatch):
    """--model goes through facefx.analysis.classifiers.load_gesture_model(model, labels)."""
    calls = []

    class Always:
        labels = ("Close", "fist")

        def classify(self, hands, frame_rgb):
            assert frame_rgb.ndim == 3
            return [GestureHit("fist", 0.9, (0,))] if hands else []

    module = types.ModuleType("facefx.analysis.classifiers")
    module.load_gesture_model = lambda model, labels: calls.append((model, labels)) or Always()
    monkeypatch.setitem(sys.modules, "facefx.analysis.classifiers", module)
    out_json = tmp_path / "c.json"
    rc, _, _ = run(["--data", photos, "--model", "m.tflite", "--labels", "l.txt", "--json", str(out_json)], capsys)
    assert rc == 0 and calls == [("m.tflite", "l.txt")]
    data = json.loads(out_json.read_text())
    assert data["confusion"]["fist"]["fist"] == 1
    assert data["false_triggers"] == 2   # both look-alikes have a hand, so 'fist' for both


def test_missing_classifier_module_is_reported(photos, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "facefx.analysis.classifiers", None)
    rc, _, err = run(["--data", photos, "--model", "m.tflite"], capsys)
    assert rc == 2 and "facefx.analysis.classifiers" in err and "without --model" in err


@pytest.mark.parametrize("args, words", [
    (["--data", "/nonexistent/dir"], ["/nonexistent/dir", "not a folder"]),
    (["--labels", "l.txt"], ["--labels needs --model"]),
])
def test_bad_input_gets_one_clear_message(args, words, capsys, tmp_path):
    if "--data" not in args:
        args = ["--data", str(tmp_path)] + args
    rc, _, err = run(args, capsys)
    assert rc == 2
    for w in words:
        assert w in err


def test_an_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "fist").mkdir()
    rc, _, err = run(["--data", str(tmp_path)], capsys)
    assert rc == 2 and "no labelled images or videos" in err


def test_unknown_eval_task(capsys):
    assert main(["eval", "faces"]) == 2
    assert "unknown task 'faces'" in capsys.readouterr().err
