"""`facefx eval segmentation`: metrics with known answers, input errors, the command end to end."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facefx.demo import SAMPLE
from facefx.eval_segmentation import EvalError, band_width, find_pairs, inner_boundary, metrics

EVALSET = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "evalset", "portraits")


def _disc_mask(shift=0, size=200):
    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, (100 + shift, 100), 60, 255, -1)
    return m


def test_perfect_prediction_scores_one():
    gt = _disc_mask()
    r = metrics(gt, gt)
    assert r == {"iou": 1.0, "boundary_iou": 1.0, "alpha_error": 0.0}


def test_boundary_iou_punishes_a_shift_more_than_iou():
    gt, pred = _disc_mask(), _disc_mask(shift=4)
    r = metrics(pred, gt)
    assert 0.85 < r["iou"] < 0.95
    assert r["boundary_iou"] < r["iou"] - 0.2
    assert 0.2 < r["alpha_error"] < 0.8


def test_band_is_one_percent_of_the_diagonal_and_inside_the_mask():
    assert band_width((300, 400)) == 5
    gt = _disc_mask() > 0
    band = inner_boundary(gt, 3)
    assert (band <= gt).all() and band.sum() < gt.sum() / 4


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(EvalError, match="folder not found"):
        find_pairs(str(tmp_path / "missing"))
    with pytest.raises(EvalError, match="no NAME.ext"):
        find_pairs(str(tmp_path))
    with pytest.raises(EvalError, match="differ in size"):
        metrics(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8))


def test_command_writes_the_figures(tmp_path):
    photo = cv2.imread(SAMPLE)
    cv2.imwrite(str(tmp_path / "astro.png"), photo)
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, (photo.shape[1] // 2, photo.shape[0] // 2), (photo.shape[1] // 4, photo.shape[0] // 2),
                0, 0, 360, 255, -1)
    cv2.imwrite(str(tmp_path / "astro_mask.png"), mask)
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, "-m", "facefx", "eval", "segmentation", "--data", str(tmp_path),
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 pictures" in proc.stdout
    report = json.loads(out.read_text())
    for key in ("iou", "raw_iou", "boundary_iou", "raw_boundary_iou", "alpha_error", "raw_alpha_error"):
        assert 0.0 <= report[key] <= 1.0, key
    assert report["per_image"][0]["model"] == "general"       # the photo is square
    bad = subprocess.run([sys.executable, "-m", "facefx", "eval", "segmentation", "--data", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "folder not found" in bad.stderr


@pytest.mark.skipif(not os.path.isdir(EVALSET), reason="needs ../shared/evalset/portraits")
def test_refinement_does_not_lose_iou_on_the_portraits():
    from facefx.eval_segmentation import evaluate
    from facefx.settings import SegmentationSettings, Settings
    report = evaluate(EVALSET, Settings(segmentation=SegmentationSettings(refine=True)))
    assert report["iou"] >= report["raw_iou"] - 0.002
    assert report["boundary_iou"] > report["raw_boundary_iou"]
    assert report["alpha_error"] < report["raw_alpha_error"]
