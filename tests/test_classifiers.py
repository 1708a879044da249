"""Custom gesture models: Teachable-Machine-layout image models the tests generate (float and
uint8, checked against numpy), landmark classifiers, kinivi's real model on the evalset's
photos, and every kind of bad model or labels file."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from facefx import models
from facefx.analysis.classifiers import (GestureModelError, ImageClassifier, LandmarkClassifier,
                                         is_none_label, landmark_features, load_gesture_model, read_labels)
from facefx.analysis.tflite_writer import ModelBuilder, mlp_classifier
from facefx.results import Hand
from tests.conftest import EVALSET

KINIVI = models.path("kinivi_keypoint_classifier/keypoint_classifier.tflite")
HANDS = os.path.join(EVALSET, "hands")
TM_LABELS = "0 Thumbs\n1 Wave\n2 Background\n"


def _tm_weights(seed: int):
    rng = np.random.default_rng(seed)
    conv = rng.normal(0, 0.05, size=(4, 8, 8, 3)).astype(np.float32)     # OHWI
    conv_bias = rng.normal(0, 0.1, size=4).astype(np.float32)
    dense = rng.normal(0, 0.05, size=(3, 28 * 28 * 4)).astype(np.float32)
    dense_bias = np.array([0.0, 0.0, 0.0], np.float32)
    return conv, conv_bias, dense, dense_bias


def _tm_model(path, seed=0, quantised=False, dense_bias=None):
    """Teachable Machine's layout: [1, 224, 224, 3] in, softmax over the classes out; the
    quantised variant has uint8 input and output with their own scale and zero point."""
    conv, conv_bias, dense, bias = _tm_weights(seed)
    if dense_bias is not None:
        bias = np.asarray(dense_bias, np.float32)
    m = ModelBuilder()
    if quantised:
        raw = m.tensor([1, 224, 224, 3], "uint8", name="image", quant=(1 / 128, 128))
        x = m.tensor([1, 224, 224, 3], name="image_float")
        m.op("dequantize", [raw], [x])
    else:
        raw = x = m.tensor([1, 224, 224, 3], name="image")
    feat = m.tensor([1, 28, 28, 4], name="conv")
    m.op("conv_2d", [x, m.tensor(conv.shape, data=conv), m.tensor([4], data=conv_bias)], [feat],
         stride=8, activation="relu")
    flat = m.tensor([1, 28 * 28 * 4], name="flat")
    m.op("reshape", [feat, m.tensor([2], "int32", data=np.array([1, 28 * 28 * 4]))], [flat])
    logits = m.tensor([1, 3], name="logits")
    m.op("fully_connected", [flat, m.tensor(dense.shape, data=dense), m.tensor([3], data=bias)], [logits])
    probs = m.tensor([1, 3], name="probs")
    m.op("softmax", [logits], [probs])
    outputs = [probs]
    if quantised:
        q = m.tensor([1, 3], "uint8", name="probs_q", quant=(1 / 256, 0))
        m.op("quantize", [probs], [q])
        outputs = [q]
    with open(path, "wb") as f:
        f.write(m.build([raw], outputs))
    return conv, conv_bias, dense, bias


def _numpy_tm(x, conv, conv_bias, dense, bias):
    patches = x.reshape(28, 8, 28, 8, 3)
    feat = np.maximum(np.einsum("aibjc,oijc->abo", patches, conv) + conv_bias, 0)
    logits = dense @ feat.reshape(-1) + bias
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _teachable_machine_input(frame):
    """Teachable Machine's preprocessing, written out independently: centre square, 224x224."""
    h, w = frame.shape[:2]
    side = min(h, w)
    square = frame[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    if side != 224:
        square = cv2.resize(square, (224, 224), interpolation=cv2.INTER_AREA if side > 224 else cv2.INTER_LINEAR)
    return square


def _frame(h, w, seed):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@pytest.fixture
def tm_float(tmp_path):
    path = tmp_path / "model_unquant.tflite"
    weights = _tm_model(path)
    (tmp_path / "labels.txt").write_text(TM_LABELS)
    return str(path), weights


@pytest.fixture
def tm_uint8(tmp_path):
    path = tmp_path / "model.tflite"
    weights = _tm_model(path, quantised=True)
    (tmp_path / "labels.txt").write_text(TM_LABELS)
    return str(path), weights


@pytest.mark.parametrize("size", [(360, 640), (640, 480), (224, 224), (150, 200)])
def test_teachable_machine_float_matches_numpy(tm_float, size):
    path, weights = tm_float
    clf = load_gesture_model(path)
    assert isinstance(clf, ImageClassifier) and clf.kind == "image"
    assert clf.labels == ["Thumbs", "Wave", "Background"]
    frame = _frame(*size, seed=sum(size))
    expected = _numpy_tm(_teachable_machine_input(frame).astype(np.float32) / 127.5 - 1, *weights)
    got = clf.probabilities(frame)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_teachable_machine_uint8_is_fed_raw_bytes(tm_uint8):
    path, weights = tm_uint8
    clf = load_gesture_model(path)
    assert clf.kind == "image"
    frame = _frame(480, 640, seed=3)
    raw = _teachable_machine_input(frame)
    assert np.array_equal(clf.preprocess(frame), raw)
    expected = _numpy_tm((raw.astype(np.float32) - 128) / 128, *weights)
    np.testing.assert_allclose(clf.probabilities(frame), expected, atol=1 / 256 + 1e-6)


def test_only_the_centre_square_is_classified(tm_float):
    clf = load_gesture_model(tm_float[0])
    frame = _frame(224, 400, seed=5)
    base = clf.probabilities(frame)
    sides = frame.copy()
    sides[:, :88] = 0
    sides[:, 88 + 224:] = 255
    np.testing.assert_array_equal(clf.probabilities(sides), base)
    centre = frame.copy()
    centre[:, 150:200] = 255 - centre[:, 150:200]
    assert np.abs(clf.probabilities(centre) - base).max() > 1e-4


def test_image_hit_names_the_best_class_and_background_gives_none(tmp_path):
    frame = _frame(360, 640, seed=7)
    for bias, expected in (([8, 0, 0], "Thumbs"), ([0, 8, 0], "Wave"), ([0, 0, 8], None)):
        path = tmp_path / f"m{expected}.tflite"
        _tm_model(path, dense_bias=bias)
        (tmp_path / "labels.txt").write_text(TM_LABELS)
        hands = (Hand(tuple((0.5, 0.5, 0.0) for _ in range(21)), "right", 0.9),)
        hits = load_gesture_model(str(path)).classify(hands, frame)
        if expected is None:
            assert hits == []
        else:
            assert [h.name for h in hits] == [expected] and hits[0].hands == (0,) and hits[0].score > 0.9
    assert load_gesture_model(str(path)).classify((), None) == []


def test_min_score_rejects_unsure_images(tmp_path):
    path = tmp_path / "model_unquant.tflite"
    _tm_model(path, dense_bias=[0.2, 0.1, 0.0])
    (tmp_path / "labels.txt").write_text(TM_LABELS)
    frame = _frame(360, 640, seed=1)
    probs = load_gesture_model(str(path)).probabilities(frame)
    assert probs.max() < 0.9
    assert load_gesture_model(str(path), min_score=0.9).classify((), frame) == []
    assert len(load_gesture_model(str(path), min_score=0.0).classify((), frame)) == (probs.argmax() != 2)


@pytest.mark.parametrize("label,none", [("Background", True), ("background noise", True), ("Nothing", True),
                                        ("none", True), ("No_Gesture", True), ("Class 3", False),
                                        ("Thumbs up", False), ("OK", False)])
def test_none_labels(label, none):
    assert is_none_label(label) is none


def test_read_labels_formats(tmp_path):
    tm = tmp_path / "labels.txt"
    tm.write_text("0 Thumbs up\n1 Class 2\n2 Background\n")
    assert read_labels(str(tm)) == ["Thumbs up", "Class 2", "Background"]
    kinivi = tmp_path / "k.csv"
    kinivi.write_bytes("\ufeffOpen\r\nClose\r\nPointer\r\nOK\r\n".encode("utf-8"))
    assert read_labels(str(kinivi)) == ["Open", "Close", "Pointer", "OK"]
    plain = tmp_path / "p.txt"
    plain.write_text("1 up\n0 down\n")     # not numbered 0..n-1 in order: taken as written
    assert read_labels(str(plain)) == ["1 up", "0 down"]


def _hand(points, handedness="right"):
    return Hand(tuple((float(x), float(y), float(z)) for x, y, z in points), handedness, 0.9)


def _random_points(seed):
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(0.3, 0.7, 21), rng.uniform(0.2, 0.8, 21), rng.uniform(-0.05, 0.05, 21)])
    pts[0, 2] = 0.0
    return pts


def test_landmark_features_follow_kinivi(tmp_path):
    pts = _random_points(1)
    w, h = 640, 360
    # kinivi's app: mirror the frame, landmarks in pixels, relative to the wrist, / max |value|.
    px = np.column_stack([(1 - pts[:, 0]) * w, pts[:, 1] * h])
    rel = (px - px[0]).ravel()
    np.testing.assert_allclose(landmark_features(pts, (w, h)), rel / np.abs(rel).max(), atol=1e-6)
    mirrored = pts.copy()
    mirrored[:, 0] = 1 - mirrored[:, 0]
    np.testing.assert_allclose(landmark_features(mirrored, (w, h), mirrored=True), landmark_features(pts, (w, h)))
    f63 = landmark_features(pts, (w, h), with_z=True).reshape(21, 3)
    assert f63.shape == (21, 3) and np.abs(f63).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="21 landmarks"):
        landmark_features(pts[:20], (w, h))


@pytest.mark.parametrize("inputs", [42, 63])
def test_landmark_model_matches_numpy(tmp_path, inputs):
    rng = np.random.default_rng(inputs)
    layers = [(rng.normal(size=(16, inputs)), rng.normal(size=16)), (rng.normal(size=(3, 16)), rng.normal(size=3))]
    path = tmp_path / "gestures.tflite"
    path.write_bytes(mlp_classifier(layers))
    (tmp_path / "gestures_labels.txt").write_text("none\nwave\nrock\n")
    clf = load_gesture_model(str(path))
    assert isinstance(clf, LandmarkClassifier) and clf.kind == "landmarks" and clf.labels == ["none", "wave", "rock"]
    hands = [_hand(_random_points(s)) for s in range(12)]
    hits = clf.classify(hands, frame_size=(640, 360))
    expected_hits = []
    for i, hand in enumerate(hands):
        x = landmark_features(hand.landmarks, (640, 360), with_z=inputs == 63)
        logits = np.maximum(x @ layers[0][0].T + layers[0][1], 0) @ layers[1][0].T + layers[1][1]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        np.testing.assert_allclose(clf.probabilities(hand, (640, 360)), p, atol=1e-5)
        if p.argmax() != 0 and p.max() >= 0.5:
            expected_hits.append((clf.labels[p.argmax()], i))
    assert [(h.name, h.hands[0]) for h in hits] == expected_hits
    assert expected_hits and len(expected_hits) < len(hands)   # both hits and "none" occurred
    frame = np.zeros((360, 640, 3), np.uint8)
    assert clf.classify(hands, frame) == hits
    with pytest.raises(ValueError, match="frame_size"):
        clf.classify(hands)


# --- bad input ---------------------------------------------------------------------------

def test_missing_model(tmp_path):
    with pytest.raises(GestureModelError, match=r"not found: .*nope\.tflite.*expected a TFLite gesture model"):
        load_gesture_model(str(tmp_path / "nope.tflite"))


def test_not_tflite(tmp_path):
    path = tmp_path / "model.tflite"
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((4, 4, 3), np.uint8))
    path.write_bytes((tmp_path / "x.png").read_bytes())
    with pytest.raises(GestureModelError, match=r"model\.tflite is not a TFLite model .*Teachable Machine"):
        load_gesture_model(str(path))


def test_corrupt_tflite(tmp_path, tm_float):
    data = open(tm_float[0], "rb").read()
    path = tmp_path / "broken.tflite"
    path.write_bytes(data[:64])
    with pytest.raises(GestureModelError, match=r"broken\.tflite.*expected a TFLite gesture model"):
        load_gesture_model(str(path), str(tmp_path / "labels.txt"))


@pytest.mark.parametrize("shape", [[1, 10], [1, 224, 224, 1], [1, 3, 224, 224]])
def test_input_shape_facefx_cannot_feed(tmp_path, shape):
    m = ModelBuilder()
    x = m.tensor(shape, name="in")
    flat = m.tensor([1, int(np.prod(shape))])
    m.op("reshape", [x, m.tensor([2], "int32", data=np.array([1, int(np.prod(shape))]))], [flat])
    out = m.tensor([1, 2])
    w = np.zeros((2, int(np.prod(shape))), np.float32)
    m.op("fully_connected", [flat, m.tensor(w.shape, data=w), m.tensor([2], data=np.zeros(2))], [out])
    path = tmp_path / "odd.tflite"
    path.write_bytes(m.build([x], [out]))
    (tmp_path / "labels.txt").write_text("0 a\n1 b\n")
    with pytest.raises(GestureModelError, match=r"odd\.tflite has input \[.*cannot feed.*\[1, 42\] or \[1, 63\]"):
        load_gesture_model(str(path))


def test_labels_count_differs(tm_float, tmp_path):
    bad = tmp_path / "two.txt"
    bad.write_text("0 Thumbs\n1 Wave\n")
    with pytest.raises(GestureModelError, match=r"two\.txt has 2 labels but .*model_unquant\.tflite has 3 outputs"):
        load_gesture_model(tm_float[0], str(bad))


def test_labels_missing(tm_float, tmp_path):
    os.remove(tmp_path / "labels.txt")
    with pytest.raises(GestureModelError, match=r"no labels file beside .*model_unquant\.tflite: expected labels\.txt"):
        load_gesture_model(tm_float[0])
    with pytest.raises(GestureModelError, match=r"labels file not found: .*gone\.txt"):
        load_gesture_model(tm_float[0], str(tmp_path / "gone.txt"))


def test_labels_not_text(tm_float, tmp_path):
    (tmp_path / "labels.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(GestureModelError, match=r"labels\.txt is not UTF-8"):
        load_gesture_model(tm_float[0])


# --- kinivi's real model -----------------------------------------------------------------

def test_kinivi_model_loads_as_shipped():
    clf = load_gesture_model(KINIVI)
    assert clf.kind == "landmarks" and clf.labels == ["Open", "Close", "Pointer", "OK"] and not clf.with_z


KINIVI_PHOTOS = [("open_palm/open_palm__hagrid_gestures_palm.png", "Open"),
                 ("fist/fist__hagrid_gestures_fist.png", "Close"),
                 ("pointing_up/pointing_up__mediapipe_google_sample_pointing_up.jpg", "Pointer"),
                 ("ok/ok__hagrid_gestures_ok.png", "OK")]


@pytest.fixture(scope="module")
def mp_hands():
    import mediapipe as mp
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1, model_complexity=1) as hands:
        yield hands


def photo_hands(mp_hands, path):
    """Hands of an (unmirrored) photo as FaceFX's results, from MediaPipe's Hands."""
    from facefx.imageio import load_image_rgb
    rgb = load_image_rgb(path)
    result = mp_hands.process(rgb)
    hands = []
    for lms, handed in zip(result.multi_hand_landmarks or (), result.multi_handedness or ()):
        # Legacy Hands assumes a mirrored image: on a photo as taken its label is the other hand.
        own = "left" if handed.classification[0].label == "Right" else "right"
        hands.append(Hand(tuple((p.x, p.y, p.z) for p in lms.landmark), own, handed.classification[0].score))
    return rgb, tuple(hands)


@pytest.mark.skipif(not os.path.isdir(HANDS), reason="optional: ../shared/evalset/hands not present")
@pytest.mark.parametrize("photo,label", KINIVI_PHOTOS)
def test_kinivi_classifies_evalset_photos(mp_hands, photo, label):
    rgb, hands = photo_hands(mp_hands, os.path.join(HANDS, photo))
    assert len(hands) == 1, f"MediaPipe found {len(hands)} hands in {photo}"
    hits = load_gesture_model(KINIVI).classify(hands, rgb)
    assert [(h.name, h.hands) for h in hits] == [(label, (0,))], f"{photo}: {hits}"
    assert hits[0].score > 0.6
