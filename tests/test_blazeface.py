"""MediaPipe's face detectors run directly in LiteRT (facefx.analysis.blazeface) against
MediaPipe's own FaceDetection graph on the evalset's photos, and the pieces with known answers."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from facefx.analysis.blazeface import LiteFaceDetector, anchors, weighted_nms
from facefx.analysis.tracking import iou

from .conftest import EVALSET

PHOTOS = sorted(p for p in glob.glob(os.path.join(EVALSET, "faces", "*", "*"))
                + glob.glob(os.path.join(EVALSET, "people", "*")) if not p.endswith("_mask.png"))


def test_anchor_grids_match_the_models_outputs():
    short = anchors(128, (8, 16, 16, 16))
    full = anchors(192, (4,))
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # stride 8: 16x16 cells, two anchors each, row by row; then 8x8 cells, six anchors each
    assert np.allclose(short[0], short[1]) and np.allclose(short[0], (0.5 / 16, 0.5 / 16))
    assert np.allclose(short[2], (1.5 / 16, 0.5 / 16))
    assert np.allclose(short[512:518], (0.5 / 8, 0.5 / 8)) and np.allclose(short[-1], (7.5 / 8, 7.5 / 8))
    assert np.allclose(full[1], (1.5 / 48, 0.5 / 48)) and np.allclose(full[48], (0.5 / 48, 1.5 / 48))


def test_weighted_nms_merges_overlaps_by_score_and_keeps_the_rest():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [2.0, 2.0, 3.0, 3.0]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    kps[1] += 1.0
    scores = np.array([0.9, 0.3, 0.5], np.float32)
    (b1, k1, s1), (b2, _, s2) = weighted_nms(boxes, kps, scores)
    assert s1 == pytest.approx(0.9) and s2 == pytest.approx(0.5)
    assert b1[0] == pytest.approx(0.1 * 0.3 / 1.2) and k1[0, 0] == pytest.approx(0.3 / 1.2)
    assert np.allclose(b2, boxes[2])


@pytest.mark.skipif(not PHOTOS, reason="../shared/evalset is not here")
@pytest.mark.parametrize("model, selection", [("short", 0), ("full", 1)])
def test_the_same_faces_as_mediapipes_graph(model, selection):
    """Every photo: as many faces as MediaPipe's FaceDetection graph finds (the full-range
    model may find one more face in the group photo), boxes overlapping by IoU >= 0.75 and
    scores within 0.1 (0.5 and 0.2 for faces under a tenth of the picture wide, a few pixels
    at the model's input, where a pixel of resampling moves the box)."""
    from mediapipe.python.solutions import face_detection

    from facefx.imageio import load_image_rgb
    ours = LiteFaceDetector(model)
    graph = face_detection.FaceDetection(model_selection=selection, min_detection_confidence=0.5)
    try:
        for path in PHOTOS:
            rgb = load_image_rgb(path)
            mine = ours(rgb, 0.5)
            theirs = []
            for d in graph.process(rgb).detections or ():
                bb = d.location_data.relative_bounding_box
                theirs.append(((bb.xmin, bb.ymin, bb.width, bb.height), float(d.score[0])))
            assert len(theirs) <= len(mine) <= len(theirs) + (model == "full"), path
            for box, score in theirs:
                best = max(mine, key=lambda m: iou(m[0], box))
                small = box[2] < 0.1
                assert iou(best[0], box) >= (0.5 if small else 0.75), path
                assert abs(best[1] - score) < (0.2 if small else 0.1), path
    finally:
        graph.close()
        ours.close()


def test_keypoints_are_the_eyes_nose_and_mouth_in_order():
    from facefx.imageio import load_image_rgb
    path = os.path.join(EVALSET, "faces", "neutral", "neutral__faceapi_neutral.jpg")
    if not os.path.exists(path):
        pytest.skip("../shared/evalset is not here")
    (box, _, kp), = LiteFaceDetector("short")(load_image_rgb(path), 0.5)
    x, y, w, h = box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in kp[:4])
    right_eye, left_eye, nose, mouth = kp[:4]
    assert right_eye[0] < nose[0] < left_eye[0]                 # the person's right eye on the left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_bad_model_name():
    with pytest.raises(ValueError, match="short, full"):
        LiteFaceDetector("medium")


HAND_PHOTOS = sorted(glob.glob(os.path.join(EVALSET, "hands", "*", "*")))


def test_palm_detector_finds_the_hands_mediapipe_finds_and_their_landmarks():
    """MediaPipe's palm detector run here (LitePalmDetector) and the landmark model on the crop
    MediaPipe derives from a palm (_LandmarkCrop.from_palm) against MediaPipe's Hands graph in
    photo mode, on the evalset's hand photos (reduced to 1280 px wide, as the hands stage
    reads them): a palm is found wherever the graph finds a hand, and the hand's landmarks
    land where the graph's do."""
    import cv2
    from mediapipe.python.solutions import hands as mp_hands

    from facefx.analysis.blazeface import LitePalmDetector
    from facefx.analysis.hands import _LandmarkCrop
    palms, crop = LitePalmDetector(0), _LandmarkCrop(0, mirrored=True)
    compared = 0
    with mp_hands.Hands(static_image_mode=True, max_num_hands=1) as graph:
        for path in HAND_PHOTOS:
            bgr = cv2.imread(path)
            if bgr is None:
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if rgb.shape[1] > 1280:
                rgb = cv2.resize(rgb, (1280, rgb.shape[0] * 1280 // rgb.shape[1]), interpolation=cv2.INTER_AREA)
            theirs = graph.process(rgb).multi_hand_landmarks
            found = palms(rgb, 0.5)
            if not theirs:
                continue
            assert found, f"{path}: no palm where MediaPipe finds a hand"
            hand, presence = crop.from_palm(rgb, found[0][0], found[0][2])
            ref = np.array([(p.x, p.y) for p in theirs[0].landmark])
            size = float(np.ptp(ref, axis=0).max())
            err = float(np.linalg.norm(np.array(hand.landmarks)[:, :2] - ref, axis=1).mean())
            assert presence >= 0.5 and err < 0.1 * size, (path, presence, err / size)
            compared += 1
    assert compared >= 15
