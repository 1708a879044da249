"""Teaching: data folder, names, training on features, and `facefx teach` end to end from a
video made at test time from the evalset's photos."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from facefx import teach
from facefx.analysis.classifiers import load_gesture_model
from facefx.cli import main
from tests.conftest import EVALSET
from tests.test_classifiers import photo_hands

HANDS = os.path.join(EVALSET, "hands")
PALM = os.path.join(HANDS, "open_palm", "open_palm__hagrid_gestures_palm.png")
FIST = os.path.join(HANDS, "fist", "fist__hagrid_gestures_fist.png")
POINT = os.path.join(HANDS, "pointing_up", "pointing_up__mediapipe_google_sample_pointing_up.jpg")
needs_evalset = pytest.mark.skipif(not os.path.isdir(HANDS), reason="optional: ../shared/evalset/hands not present")


@pytest.fixture(autouse=True)
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFX_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_data_dir_follows_platform_conventions(monkeypatch, tmp_path):
    assert teach.gestures_dir() == str(tmp_path / "data" / "gestures")
    monkeypatch.delenv("FACEFX_DATA_DIR")
    monkeypatch.setattr(teach.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert teach.data_dir() == str(tmp_path / "xdg" / "facefx")
    monkeypatch.setattr(teach.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    assert teach.data_dir() == str(tmp_path / "roaming" / "facefx")
    monkeypatch.setattr(teach.sys, "platform", "darwin")
    assert teach.data_dir().endswith(os.path.join("Library", "Application Support", "facefx"))


@pytest.mark.parametrize("name", ["", "none", "Background", "a/b", "../x", "x" * 41])
def test_bad_names(name):
    with pytest.raises(teach.TeachError, match="expected 1-40 letters"):
        teach.check_name(name)


def _pose(seed, fingers_out):
    """Features of a simple upright hand with the given fingers stretched (others folded)."""
    rng = np.random.default_rng(seed)
    pts = np.zeros((21, 2))
    for f, finger in enumerate(teach.FINGERS):
        a = np.radians([-150, -110, -95, -80, -65][f]) + rng.normal(0, 0.03)
        knuckle = np.array([np.cos(a), np.sin(a)]) * (0.45 if f == 0 else 0.9)
        pts[finger[0]] = knuckle
        for k, j in enumerate(finger[1:]):
            step = 0.3 if f in fingers_out else -0.12
            pts[j] = pts[finger[k]] + np.array([np.cos(a), np.sin(a)]) * step + rng.normal(0, 0.01, 2)
    return teach._normalise(pts[None])[0].astype(np.float32)


def test_train_separates_taught_poses_from_near_misses():
    taught = {"point": np.array([_pose(s, {1}) for s in range(40)]),
              "peace": np.array([_pose(100 + s, {1, 2}) for s in range(40)])}
    layers, labels = teach.train(taught)
    assert labels == ["none", "peace", "point"]

    def predict(x):
        h = np.maximum(x @ layers[0][0].T + layers[0][1], 0)
        return labels[int(np.argmax(h @ layers[1][0].T + layers[1][1]))]
    assert [predict(_pose(500 + s, {1})) for s in range(10)] == ["point"] * 10
    assert [predict(_pose(600 + s, {1, 2})) for s in range(10)] == ["peace"] * 10
    # Look-alikes never taught: an open hand, a fist, a pinky: the "none" class.
    others = [predict(_pose(700 + s, f)) for s in range(10) for f in ({0, 1, 2, 3, 4}, set(), {4})]
    assert others.count("none") >= 27, others


def test_teach_list_delete_on_samples():
    with pytest.raises(teach.TeachError, match="only 3 frames with a hand"):
        teach.teach("wave", [_pose(s, {1}) for s in range(3)])
    model, labels = teach.teach("point", [_pose(s, {1}) for s in range(30)])
    assert teach.model_paths() == (model, labels)
    assert load_gesture_model(model, labels).labels == ["none", "point"]
    teach.teach("peace", [_pose(s, {1, 2}) for s in range(30)])
    assert teach.list_gestures() == [("peace", 30), ("point", 30)]
    assert load_gesture_model(*teach.model_paths()).labels == ["none", "peace", "point"]
    teach.delete_gesture("point")
    assert load_gesture_model(*teach.model_paths()).labels == ["none", "peace"]
    with pytest.raises(teach.TeachError, match="no taught gesture named 'point' \\(taught: peace\\)"):
        teach.delete_gesture("point")
    teach.delete_gesture("peace")
    assert teach.list_gestures() == [] and teach.model_paths() is None


def _video_from_photo(photo, path, frames=40, fps=10):
    """A short clip of the photo drifting and rolling a little, like a hand held in view."""
    from facefx.imageio import load_image_rgb
    rgb = load_image_rgb(photo)
    h, w = rgb.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w - w % 2, h - h % 2))
    assert writer.isOpened()
    for i in range(frames):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 6 * np.sin(i / 5), 1.0 + 0.03 * np.cos(i / 7))
        m[:, 2] += (4 * np.sin(i / 3), 3 * np.cos(i / 4))
        frame = cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        writer.write(cv2.cvtColor(frame[:h - h % 2, :w - w % 2], cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


@pytest.fixture(scope="module")
def mp_hands():
    import mediapipe as mp
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1, model_complexity=1) as hands:
        yield hands


@needs_evalset
def test_facefx_teach_end_to_end_from_a_video(tmp_path, capsys, mp_hands):
    video = _video_from_photo(PALM, tmp_path / "palm.mp4")
    assert main(["teach", "high five", "--input", video, "--seconds", "3"]) == 0
    assert "taught 'high five'" in capsys.readouterr().out
    (name, count), = teach.list_gestures()
    assert name == "high five" and 25 <= count <= 31      # 3 s at 10 fps, a hand in (nearly) every frame

    clf = load_gesture_model(*teach.model_paths())
    rgb, hands = photo_hands(mp_hands, PALM)
    assert [h.name for h in clf.classify(hands, rgb)] == ["high five"]
    for other in (FIST, POINT):
        rgb, hands = photo_hands(mp_hands, other)
        assert len(hands) == 1 and clf.classify(hands, rgb) == [], other

    assert main(["teach", "--list"]) == 0
    assert "high five\t" in capsys.readouterr().out
    assert main(["teach", "--delete", "high five"]) == 0
    assert teach.list_gestures() == [] and teach.model_paths() is None


def test_facefx_teach_bad_input(tmp_path, capsys):
    assert main(["teach", "wave", "--input", str(tmp_path / "missing.mp4")]) == 2
    assert "input not found" in capsys.readouterr().err
    assert main(["teach", "none", "--input", "synth"]) == 2
    assert "invalid gesture name 'none'" in capsys.readouterr().err
    assert main(["teach", "--delete", "wave"]) == 2
    assert "no taught gesture named 'wave'" in capsys.readouterr().err
    assert main(["teach", "wave"]) == 2
    assert "expected: facefx teach NAME --input SOURCE" in capsys.readouterr().err
    # A stream with no hand in it: nothing to learn from.
    assert main(["teach", "wave", "--input", "synth:frames=15:fps=15", "--seconds", "1"]) == 2
    assert "only 0 frames with a hand" in capsys.readouterr().err
    assert teach.list_gestures() == []
