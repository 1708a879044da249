"""`facefx eval expressions` on a small labelled folder the test builds, and on the evalset."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from facefx.cli import main
from facefx.evaluate.expressions import EvalError, evaluate

ASTRONAUT = os.path.join(os.path.dirname(__file__), "..", "facefx", "assets", "astronaut.png")
EVALSET = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "evalset", "faces")


@pytest.fixture
def data(tmp_path):
    (tmp_path / "happy").mkdir()
    (tmp_path / "neutral").mkdir()
    (tmp_path / "multi_face").mkdir()
    shutil.copy(ASTRONAUT, tmp_path / "happy" / "astronaut.png")
    cv2.imwrite(str(tmp_path / "neutral" / "wall.png"), np.full((200, 300, 3), 120, np.uint8))
    photo = cv2.imread(ASTRONAUT)
    face = photo[60:260, 150:350]
    cv2.imwrite(str(tmp_path / "multi_face" / "three.png"), np.hstack([face] * 3))
    return tmp_path


def test_json_has_accuracy_per_class_no_face_and_baseline(data, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", "expressions", "--data", str(data), "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["photos"] == 2
    assert r["accuracy"] == pytest.approx(0.5)            # happy right; the wall has no face
    assert r["baseline_accuracy"] == pytest.approx(0.5)
    assert r["no_face"] == [str(data / "neutral" / "wall.png")]
    assert r["per_class"]["happy"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert r["per_class"]["neutral"]["recall"] == 0.0
    assert r["confusion"]["neutral"][""] == 1
    assert r["multi_face"][0]["faces"] == 3
    printed = capsys.readouterr().out
    assert "precision" in printed and "confusion" in printed and "accuracy 0.500" in printed


def test_missing_data_folder_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(EvalError, match="data folder not found"):
        evaluate(str(tmp_path / "nope"))
    assert main(["eval", "expressions", "--data", str(tmp_path / "nope")]) == 2
    assert "data folder not found" in capsys.readouterr().err


def test_folder_without_labels_is_refused(tmp_path):
    with pytest.raises(EvalError, match="no label folders"):
        evaluate(str(tmp_path))


@pytest.mark.skipif(not os.path.isdir(EVALSET), reason="shared evalset not present")
def test_evalset_targets():
    r = evaluate(EVALSET)
    for p in r["predictions"]:
        if p["label"] in ("happy", "surprise", "neutral"):
            assert p["predicted"] == p["label"], p["file"]
    assert r["accuracy"] >= 0.8
    assert r["accuracy"] >= r["baseline_accuracy"]
    assert r["accuracy"] >= r["cnn_only_accuracy"] and r["accuracy"] > r["geometry_only_accuracy"]
    assert r["no_face"] == []
    counts = {os.path.basename(m["file"]): m["faces"] for m in r["multi_face"]}
    assert counts == {"multi_face__face_classification_test_image.jpg": 6,
                      "multi_face__mediapipe_samples_two_kids.jpeg": 2}
