"""Faces within the frame budget: detection every n-th frame, meshes between detections oldest
first within the budget, and expressions read only from faces whose mesh ran."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from facefx.analysis import Analysis, Engine
from facefx.analysis.expressions import ExpressionsStage
from facefx.analysis.faces import FacesStage
from facefx.settings import BackgroundSettings, ExpressionSettings, FaceSettings, Settings, SettingsError


@pytest.fixture(scope="module")
def two_faces(astronaut):
    head = cv2.resize(astronaut[0:300, 90:330], (320, 400))
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[160:560, 200:520] = head
    frame[160:560, 760:1080] = head
    return frame


def run(stage, expr, frame, i):
    a = Analysis(i, i / 30, (frame.shape[1], frame.shape[0]), (frame.shape[1], frame.shape[0]))
    stage.process(frame, a)
    if expr is not None:
        expr.process(frame, a)
    return a


def test_between_detections_meshes_take_turns_within_the_budget(two_faces):
    stage = FacesStage(detect_every=3, mesh_budget_ms=0.0)   # budget spent after the first mesh
    try:
        first = run(stage, None, two_faces, 0)
        assert len(first.faces) == 2
        turns = []
        for i in range(1, 6):
            frame = np.ascontiguousarray(np.roll(two_faces, 4 * i, axis=1))
            a = run(stage, None, frame, i)
            assert len(a.faces) == 2 and all(len(f.landmarks) == 468 for f in a.faces)
            turns.append(a.extras["faces_meshed"])
        assert all(len(m) == 1 for m in turns)
        assert set().union(*turns) == {f.track_id for f in first.faces}   # both get their turn
        ids = {f.track_id for f in first.faces}
        assert {f.track_id for f in a.faces} == ids                       # identities kept
    finally:
        stage.close()


def test_expressions_read_only_faces_whose_mesh_ran(two_faces, monkeypatch):
    stage = FacesStage(detect_every=3, mesh_budget_ms=0.0)
    expr = ExpressionsStage()
    calls = []
    real = expr.frame_probs
    monkeypatch.setattr(expr, "frame_probs", lambda img, face, t: calls.append(face.track_id) or real(img, face, t))
    try:
        a = run(stage, expr, two_faces, 0)
        assert len(calls) == 2 and all(f.expression for f in a.faces)
        calls.clear()
        a = run(stage, expr, two_faces, 1)
        assert calls == list(a.extras["faces_meshed"]) and len(calls) == 1
        assert all(f.expression for f in a.faces)                         # the other keeps its reading
    finally:
        stage.close()


def test_detect_every_comes_from_the_settings():
    settings = Settings(background=BackgroundSettings(mode="none"), expressions=ExpressionSettings(mode="beside"),
                        faces=FaceSettings(detect_every=5, max_faces=2))
    with Engine(settings) as engine:
        stage = engine.stage("faces")
        assert stage.detect_every == 5 and stage.max_faces == 2
        assert engine.stage("no such stage") is None
    with pytest.raises(SettingsError, match="face detection interval"):
        FaceSettings(detect_every=0)


def test_a_still_detects_every_face_whatever_the_interval(two_faces):
    settings = Settings(background=BackgroundSettings(mode="none"), expressions=ExpressionSettings(mode="beside"),
                        faces=FaceSettings(detect_every=30))
    with Engine(settings) as engine:
        before = engine.analyze(two_faces, 0.0, still=True)
        moved = np.ascontiguousarray(np.roll(two_faces, 200, axis=1))   # another picture
        engine.reset()
        a = engine.analyze(moved, 0.0, still=True)
    assert len(a.faces) == 2 and all(f.expression for f in a.faces)
    xs, xs0 = sorted(f.box[0] for f in a.faces), sorted(f.box[0] for f in before.faces)
    assert xs[0] == pytest.approx(xs0[0] + 200 / 1280, abs=0.01)      # found where this picture has it
