"""FacesStage with MediaPipe's real face detection and mesh on the bundled photo."""
import math
import os

import cv2
import numpy as np
import pytest

from facefx.analysis import Analysis
from facefx.analysis.faces import FacesStage, roll_from_landmarks

ASTRONAUT = os.path.join(os.path.dirname(__file__), "..", "facefx", "assets", "astronaut.png")


@pytest.fixture(scope="module")
def photo():
    img = cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR)
    assert img is not None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@pytest.fixture
def stage():
    s = FacesStage(mesh_budget_ms=1e9)
    yield s
    s.close()
    s.close()


def _canvas(photo, size=(1280, 720), at=(400, 100), scale=1.0):
    canvas = np.full((size[1], size[0], 3), 90, np.uint8)
    p = cv2.resize(photo, None, fx=scale, fy=scale) if scale != 1.0 else photo
    x, y = at
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + p.shape[1], size[0]), min(y + p.shape[0], size[1])
    canvas[y0:y1, x0:x1] = p[y0 - y:y1 - y, x0 - x:x1 - x]
    return canvas


def test_bundled_photo_face_has_box_mesh_and_level_eyes(stage, photo):
    faces = stage.analyse(photo, 0.0)
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.box
    assert 0.25 < x + w / 2 < 0.6 and 0.1 < y + h / 2 < 0.4 and 0.1 < w < 0.35
    assert len(f.landmarks) == 468
    lx = [p[0] for p in f.landmarks]
    assert x - 0.05 < min(lx) and max(lx) < x + w + 0.05
    assert abs(f.roll) < 0.2


def test_roll_follows_a_tilted_head(stage, photo):
    h, w = photo.shape[:2]
    f0 = stage.analyse(photo, 0.0)[0]
    cx, cy = (f0.box[0] + f0.box[2] / 2) * w, (f0.box[1] + f0.box[3] / 2) * h
    m = cv2.getRotationMatrix2D((cx, cy), -20, 1.0)       # cv2: negative = clockwise on screen
    tilted = cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    stage.reset()
    f = stage.analyse(tilted, 0.0)[0]
    assert f.roll - f0.roll == pytest.approx(math.radians(20), abs=0.08)


def test_mediapipe_mesh_option_gives_refined_478_points(photo):
    s = FacesStage(mesh_model="mediapipe", mesh_budget_ms=1e9)
    try:
        (f,) = s.analyse(photo, 0.0)
        assert len(f.landmarks) == 478 and abs(f.roll) < 0.2
    finally:
        s.close()


def test_roll_from_eye_corners_in_pixels():
    pts = np.zeros((478, 2))
    pts[33], pts[263] = (0.4, 0.5), (0.6, 0.5 + 0.2 * 16 / 9)
    assert roll_from_landmarks(pts, 1600, 900) == pytest.approx(math.radians(45))


def test_far_small_face_is_found_by_auto_detection(photo):
    """Short-range alone misses a face ~8% of the frame height; auto adds full-range."""
    far = _canvas(photo, at=(700, 250), scale=0.45)
    expected = ((700 + 0.445 * 230) / 1280, (250 + 0.255 * 230) / 720)
    found = {}
    for detector in ("short", "auto", "full"):
        s = FacesStage(detector=detector)
        try:
            found[detector] = [f for f in s.analyse(far, 0.0)
                               if math.dist((f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2), expected) < 0.03]
        finally:
            s.close()
    assert found["short"] == []
    assert len(found["auto"]) == 1 and len(found["full"]) == 1


def test_no_face_gives_an_empty_list(stage):
    assert stage.analyse(np.full((360, 640, 3), 128, np.uint8), 0.0) == []


def test_face_cut_by_the_frame_edge_stays_inside_the_frame(stage, photo):
    canvas = _canvas(photo, at=(-150, 100))   # face 2% from the left edge
    faces = stage.analyse(canvas, 0.0)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert x >= 0.0 and x + w <= 1.0 and w > 0


def test_more_faces_than_the_limit_are_cut_to_the_most_confident(photo):
    face = photo[60:260, 150:350]
    grid = np.vstack([np.hstack([face] * 3)] * 2)
    s = FacesStage(max_faces=4, mesh_budget_ms=1e9)
    try:
        faces = s.analyse(grid, 0.0)
        assert len(faces) == 4
        assert len({f.track_id for f in faces}) == 4
        s8 = FacesStage(max_faces=8)
        assert len(s8.analyse(grid, 0.0)) == 6
        s8.close()
    finally:
        s.close()


def test_identity_kept_while_the_face_moves_and_mesh_budget_skips(photo):
    s = FacesStage(mesh_budget_ms=0.0)
    try:
        ids = set()
        for n in range(12):
            faces = s.analyse(_canvas(photo, at=(200 + 25 * n, 100)), n / 30)
            assert len(faces) == 1
            ids.add(faces[0].track_id)
            assert len(faces[0].landmarks) == 468
        assert len(ids) == 1
    finally:
        s.close()


def test_boxes_follow_the_mesh_between_detections(photo):
    """detect_every=3: two of three frames have no detector pass; the box still follows the
    face's known motion (20 px right, 5 px down per frame) and keeps its size."""
    s = FacesStage(detect_every=3)
    try:
        first = None
        for n in range(9):
            (f,) = s.analyse(_canvas(photo, at=(200 + 20 * n, 100 + 5 * n)), n / 30)
            first = first or f
            assert f.track_id == first.track_id and len(f.landmarks) == 468
            expected = (first.box[0] + 20 * n / 1280, first.box[1] + 5 * n / 720)
            assert math.dist(f.box[:2], expected) < 0.015, n
            assert abs(f.box[2] - first.box[2]) < 0.015
        assert s.analyse(np.full((720, 1280, 3), 90, np.uint8), 0.4) == []
    finally:
        s.close()


def test_process_fills_analysis_faces(stage, photo):
    a = Analysis(0, 0.0, (512, 512), (512, 512))
    stage.process(photo, a)
    assert len(a.faces) == 1


@pytest.mark.parametrize("kwargs, word", [({"detector": "medium"}, "detector"), ({"max_faces": 0}, "max_faces"),
                                           ({"detect_every": 0}, "detect_every"), ({"mesh_model": "x"}, "mesh_model")])
def test_bad_parameters_are_refused(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FacesStage(**kwargs)


def test_privacy_keeps_the_doubtful_boxes_expressions_drop(monkeypatch):
    """A weak short-range box full-range does not confirm (a face cut by the frame's edge, or
    a blurred background) is dropped for expression emojis but covered by face privacy."""
    from facefx.settings import PrivacySettings, Settings
    weak = ((0.4, 0.0, 0.2, 0.15), 0.6)

    def run(settings):
        stage = FacesStage()
        stage.configure(settings)
        monkeypatch.setattr(stage, "_run_detector", lambda model, image: [weak] if model == 0 else [])
        return stage.detect(np.zeros((72, 128, 3), np.uint8))
    assert run(Settings()) == []
    assert [d[0] for d in run(Settings(privacy=PrivacySettings(style="blur", full_analysis=True)))] == [weak[0]]
    assert [d[0] for d in run(Settings(privacy=PrivacySettings(style="blur")))] == [weak[0]]
