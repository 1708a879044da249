"""Expressions: geometry on constructed landmark sets, baseline and hysteresis with a fake
clock, generated FER- and Teachable-Machine-layout models, and the bundled smiling photo."""
import math
import os

import cv2
import numpy as np
import pytest

from facefx.analysis import Analysis
from facefx.analysis.expressions import (ExpressionModel, ExpressionModelError, ExpressionsStage,
                                         ExpressionTracker, aligned_crop, combine, geometry_features,
                                         geometry_scores, read_labels)
from facefx.analysis.faces import FacesStage
from facefx.results import EXPRESSIONS

ASTRONAUT = os.path.join(os.path.dirname(__file__), "..", "facefx", "assets", "astronaut.png")
SIZE = (1000, 1000)


def mesh(smile=0.0, open_mouth=0.0, brows=0.0, lift_at_rest=0.0, roll_deg=0.0):
    """A 478-point face with the points the features read placed like a resting face; other
    points sit at the face centre. Units: the eye distance is 0.1 of the frame."""
    u = 0.1
    p = np.full((478, 2), (0.5, 0.45))
    p[33], p[263] = (0.5 - u / 2, 0.4), (0.5 + u / 2, 0.4)
    p[159], p[145] = (0.465, 0.4 - 0.045 * u), (0.465, 0.4 + 0.045 * u)
    p[386], p[374] = (0.535, 0.4 - 0.045 * u), (0.535, 0.4 + 0.045 * u)
    p[105] = p[334] = (0.5, 0.4 - (0.29 + brows) * u)
    p[168] = (0.5, 0.4)
    p[0] = (0.5, 0.4 + 0.74 * u)
    lip = 0.4 + 0.78 * u
    p[13] = (0.5, lip)
    p[14] = (0.5, lip + open_mouth * u)
    corner_y = lip + (0.01 - smile - lift_at_rest) * u
    half = (0.29 + smile * 0.2) * u
    p[61], p[291] = (0.5 - half, corner_y), (0.5 + half, corner_y)
    if roll_deg:
        a = math.radians(roll_deg)
        c = p - (0.5, 0.45)
        p = c @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]]) + (0.5, 0.45)
    return [tuple(v) for v in p]


def top(d):
    return max(d, key=d.get)


def test_features_of_a_resting_face_match_their_definitions():
    f = geometry_features(mesh(), SIZE)
    assert f["mouth_lift"] == pytest.approx(-0.01, abs=1e-6)
    assert f["lip_open"] == pytest.approx(0.0, abs=1e-6)
    assert f["brow_height"] == pytest.approx(0.29, abs=1e-6)
    assert f["eye_open"] == pytest.approx(0.09, abs=1e-6)
    assert f["nose_wrinkle"] == pytest.approx(0.74, abs=1e-6)
    assert f["mouth_width"] == pytest.approx(0.58, abs=1e-6)


def test_features_do_not_depend_on_head_roll():
    a, b = geometry_features(mesh(smile=0.05), SIZE), geometry_features(mesh(smile=0.05, roll_deg=25), SIZE)
    for k in a:
        assert b[k] == pytest.approx(a[k], abs=1e-6)


@pytest.mark.parametrize("face, expected", [
    (dict(), "neutral"),
    (dict(smile=0.08), "happy"),
    (dict(open_mouth=0.3, brows=0.08), "surprise"),
])
def test_geometry_decides_from_the_constructed_face(face, expected):
    assert top(geometry_scores(geometry_features(mesh(**face), SIZE))) == expected


def test_open_mouth_without_smile_is_not_happy():
    s = geometry_scores(geometry_features(mesh(open_mouth=0.3, brows=0.08), SIZE))
    assert s["happy"] < 0.1


def test_bad_landmarks_are_refused():
    with pytest.raises(ValueError, match="468"):
        geometry_features([(0.0, 0.0)] * 10)
    with pytest.raises(ValueError, match="degenerate"):
        geometry_features([(0.5, 0.5)] * 478)


def test_per_person_baseline_from_the_first_seconds_and_recalibrate():
    """A person whose resting mouth corners turn up looks half-smiling against the default
    baseline; against their own learned baseline their rest is neutral and a smile is happy."""
    tracker = ExpressionTracker(calibrate_s=2.0)
    rest = geometry_features(mesh(lift_at_rest=0.06), SIZE)
    assert geometry_scores(rest)["happy"] >= 0.4
    base = None
    for n in range(75):
        base = tracker.observe_geometry(7, rest, n / 30)
    assert base is not None
    assert geometry_scores(rest, base)["happy"] == 0.0
    assert top(geometry_scores(rest, base)) == "neutral"
    smile = geometry_features(mesh(lift_at_rest=0.06, smile=0.08), SIZE)
    assert top(geometry_scores(smile, base)) == "happy"
    tracker.recalibrate(7, t=10.0)
    assert tracker.baseline(7) is None
    assert tracker.observe_geometry(7, smile, 10.5) is None


def _probs(main, p, rng, noise=0.1):
    d = {k: float(rng.uniform(0, noise)) for k in EXPRESSIONS}
    d[main] += p
    s = sum(d.values())
    return {k: v / s for k, v in d.items()}


def test_hysteresis_still_face_holds_for_10_s_then_a_change_shows_within_half_a_second():
    rng = np.random.default_rng(0)
    tr = ExpressionTracker()
    shown = set()
    t = 0.0
    for n in range(300):                      # 10 s at 30 fps, neutral with noisy rivals
        t = n / 30
        probs = _probs("neutral", 0.45, rng, noise=0.25)
        if n % 7 == 0:                        # single-frame misreads
            probs = _probs("sad", 0.6, rng)
        shown.add(tr.update(1, probs, t)[0])
    assert shown == {"neutral"}
    t_change = t + 1 / 30
    for n in range(30):
        t = t_change + n / 30
        label, score = tr.update(1, _probs("happy", 0.7, rng), t)
        if label == "happy":
            break
    assert label == "happy" and t - t_change <= 0.5
    assert 0.4 <= score <= 1.0


def test_below_confidence_the_face_keeps_its_last_expression():
    tr = ExpressionTracker(min_confidence=0.4)
    for n in range(30):
        tr.update(1, {"happy": 0.9, "neutral": 0.1}, n / 30)
    uniform = {k: 1 / 7 for k in EXPRESSIONS}
    for n in range(30, 120):
        label, _ = tr.update(1, uniform, n / 30)
    assert label == "happy"
    first, _ = ExpressionTracker().update(2, uniform, 0.0)
    assert first == "neutral"


def test_combine_trusts_a_geometric_smile_over_a_cnn_reading_sad():
    cnn = {k: 0.02 for k in EXPRESSIONS}
    cnn.update(sad=0.6, neutral=0.3)
    geo = geometry_scores(geometry_features(mesh(smile=0.08), SIZE))
    assert top(combine(cnn, geo)) == "happy"
    rest = geometry_scores(geometry_features(mesh(), SIZE))
    assert top(combine(cnn, rest)) == "sad"
    assert sum(combine(cnn, geo).values()) == pytest.approx(1.0)


# --- generated models ------------------------------------------------------------------------

def build_model(in_shape, weights, bias):
    """A TFLite model: RESHAPE to a vector, FULLY_CONNECTED, SOFTMAX (built without TensorFlow,
    by the project's own writer)."""
    from facefx.analysis.tflite_writer import ModelBuilder
    n_out, n_in = weights.shape
    m = ModelBuilder()
    x = m.tensor(list(in_shape), name="image")
    shape = m.tensor([2], "int32", np.asarray([1, n_in], np.int32), name="shape")
    flat = m.tensor([1, n_in], name="flat")
    m.op("reshape", [x, shape], [flat])
    w = m.tensor([n_out, n_in], data=np.asarray(weights, np.float32), name="weights")
    b = m.tensor([n_out], data=np.asarray(bias, np.float32), name="bias")
    logits = m.tensor([1, n_out], name="logits")
    m.op("fully_connected", [flat, w, b], [logits])
    probs = m.tensor([1, n_out], name="probabilities")
    m.op("softmax", [logits], [probs])
    return m.build([x], [probs])


@pytest.fixture
def fer48(tmp_path):
    """48x48 grayscale, 7 outputs: bright crops read 'happy', dark ones 'sad'."""
    w = np.zeros((7, 48 * 48), np.float32)
    w[3], w[4] = 4.0 / 2304, -4.0 / 2304
    path = tmp_path / "fer48.tflite"
    path.write_bytes(build_model([1, 48, 48, 1], w, np.zeros(7)))
    return str(path)


@pytest.fixture
def teachable(tmp_path):
    """224x224 RGB, 3 classes: the dominant colour channel wins."""
    n = 224 * 224 * 3
    w = np.zeros((3, n), np.float32)
    for c in range(3):
        w[c, c::3] = 10.0 / (224 * 224)
    path = tmp_path / "model_unquant.tflite"
    path.write_bytes(build_model([1, 224, 224, 3], w, np.zeros(3)))
    labels = tmp_path / "labels.txt"
    labels.write_text("0 Angry\n1 Happy\n2 Sad\n")
    return str(path), str(labels)


def test_fer_layout_model_read_from_the_model(fer48):
    m = ExpressionModel(fer48)
    assert (m.layout, m.size, m.labels) == ("fer", 48, list(EXPRESSIONS))
    assert top(m.classify(np.full((80, 80, 3), 250, np.uint8))) == "happy"
    assert top(m.classify(np.full((80, 80, 3), 5, np.uint8))) == "sad"


def test_teachable_machine_model_with_its_labels(teachable):
    model, labels = teachable
    m = ExpressionModel(model, labels)
    assert (m.layout, m.size, m.labels) == ("teachable", 224, ["angry", "happy", "sad"])
    for c, name in enumerate(m.labels):
        img = np.zeros((50, 50, 3), np.uint8)
        img[..., c] = 255
        assert top(m.classify(img)) == name


def test_custom_model_drives_the_stage(teachable):
    model, labels = teachable
    stage = ExpressionsStage(model=model, labels=labels)
    img = np.zeros((200, 200, 3), np.uint8)
    img[..., 1] = 255
    from facefx.results import Face
    for n in range(10):
        a = Analysis(n, n / 30, (200, 200), (200, 200), faces=(Face(1, (0.2, 0.2, 0.5, 0.5), 0.9),))
        stage.process(img, a)
    assert a.faces[0].expression == "happy"


def test_bad_models_and_labels_name_the_file_and_the_form(tmp_path, teachable):
    model, labels = teachable
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(Exception, match="bad.tflite"):
        ExpressionModel(str(bad))
    with pytest.raises(ExpressionModelError, match="needs a labels file"):
        ExpressionModel(model)
    two = tmp_path / "two.txt"
    two.write_text("0 Happy\n1 Sad\n")
    with pytest.raises(ExpressionModelError, match="2 labels for a model with 3 outputs"):
        ExpressionModel(model, str(two))
    odd = tmp_path / "odd.txt"
    odd.write_text("Happy\nSad\n")
    with pytest.raises(ExpressionModelError, match=r"odd.txt, line 1.*'0 Label'"):
        read_labels(str(odd))
    with pytest.raises(ExpressionModelError, match="not found"):
        read_labels(str(tmp_path / "missing.txt"))
    wrong = tmp_path / "wrong.tflite"
    wrong.write_bytes(build_model([1, 32, 32, 1], np.zeros((7, 1024), np.float32), np.zeros(7)))
    with pytest.raises(ExpressionModelError, match=r"wrong.tflite.*\[1, 32, 32, 1\].*expected"):
        ExpressionModel(str(wrong))


# --- the real pipeline -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def astronaut_faces():
    img = cv2.cvtColor(cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    s = FacesStage(mesh_budget_ms=1e9)
    faces = s.analyse(img, 0.0)
    s.close()
    return img, faces


def test_bundled_smiling_photo_is_happy(astronaut_faces):
    img, faces = astronaut_faces
    stage = ExpressionsStage()
    assert stage.classify_still(img, faces[0])[0] == "happy"
    for n in range(10):                        # the same photo as a 1/3 s video
        a = Analysis(n, n / 30, img.shape[1::-1], img.shape[1::-1], faces=tuple(faces))
        stage.process(img, a)
    assert a.faces[0].expression == "happy"
    assert a.faces[0].expression_score > 0.4


def test_aligned_crop_levels_the_eyes(astronaut_faces):
    img, faces = astronaut_faces
    lm = faces[0].landmarks
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    rot = cv2.warpAffine(img, m, (w, h))
    pts = np.c_[np.asarray(lm) * (w, h), np.ones(len(lm))] @ m.T / (w, h)
    a, b = aligned_crop(img, lm, 96), aligned_crop(rot, [tuple(p) for p in pts], 96)
    diff = np.abs(a.astype(int) - b.astype(int))[16:80, 16:80].mean()
    assert diff < 12
