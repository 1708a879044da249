"""HandsStage / HandTracker / detect_hands with MediaPipe's real bundled hand models."""
from __future__ import annotations

import os

import numpy as np
import pytest

from facefx.analysis import Analysis, Engine, FrameError
from facefx.analysis.hands import HandsStage, HandTracker, detect_hands
from facefx.results import HAND_LANDMARKS, Hand

from .conftest import EVALSET

PALM = os.path.join(EVALSET, "hands", "open_palm", "open_palm__hagrid_gestures_palm.png")
THUMBS = os.path.join(EVALSET, "hands", "thumbs_up", "thumbs_up__mediapipe_samples_thumbs-up.png")
CLIP = os.path.join(EVALSET, "clips", "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(EVALSET, "hands")),
                                reason="../shared/evalset/hands is not here")


def load(path):
    from facefx.imageio import load_image_rgb
    return load_image_rgb(path)


def test_one_hand_in_a_photo_with_frame_normalised_landmarks():
    rgb = load(THUMBS)
    (hands,) = detect_hands(rgb)
    assert len(hands) == 1
    hand = hands[0]
    assert isinstance(hand, Hand) and len(hand.landmarks) == HAND_LANDMARKS
    assert 0.5 < hand.score <= 1.0
    xs = [p[0] for p in hand.landmarks]
    ys = [p[1] for p in hand.landmarks]
    assert 0.0 <= min(xs) < max(xs) <= 1.0 and 0.0 <= min(ys) < max(ys) <= 1.0
    # The thumb tip is the highest point of a thumbs-up.
    assert min(range(HAND_LANDMARKS), key=lambda i: ys[i]) == 4


def test_landmarks_do_not_depend_on_the_analysis_size():
    import cv2
    rgb = load(THUMBS)
    small = cv2.resize(rgb, (rgb.shape[1] // 4, rgb.shape[0] // 4), interpolation=cv2.INTER_AREA)
    (big,), (little,) = detect_hands([rgb, small])
    big, little = big.landmarks, little.landmarks
    assert np.abs(np.array(big)[:, :2] - np.array(little)[:, :2]).max() < 0.05


def test_handedness_names_the_persons_hand_mirrored_or_not():
    rgb = load(PALM)
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    (plain,) = detect_hands(rgb, mirrored=False)
    (flipped,) = detect_hands(mirrored, mirrored=True)
    (wrong,) = detect_hands(mirrored, mirrored=False)
    assert len(plain) == len(flipped) == len(wrong) == 1
    assert plain[0].handedness in ("left", "right")
    assert flipped[0].handedness == plain[0].handedness
    assert wrong[0].handedness != plain[0].handedness
    # Mirroring the picture mirrors the landmarks.
    assert flipped[0].landmarks[0][0] == pytest.approx(1.0 - plain[0].landmarks[0][0], abs=0.03)


def test_the_palm_photo_shows_a_left_hand_palm_on():
    """HaGRID's palm crop (looked at): the palm faces the camera with the thumb on the image's
    left, so it is the person's left hand (a right hand shown palm-on has its thumb on the right)."""
    (hands,) = detect_hands(load(PALM))
    hand = hands[0]
    assert hand.landmarks[4][0] < hand.landmarks[20][0]   # thumb left of the little finger
    assert hand.handedness == "left"


def test_an_image_without_hands_gives_none():
    assert detect_hands(np.full((240, 320, 3), 127, np.uint8)) == [()]


def test_stage_sets_the_analysis_extras_and_tracks_a_video():
    import cv2
    cap = cv2.VideoCapture(CLIP)
    frames = []
    for _ in range(100):
        ok, bgr = cap.read()
        assert ok
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    stage = HandsStage()
    with Engine(stages=[stage]) as engine:
        found = 0
        for i, frame in enumerate(frames[50:]):
            analysis = engine.analyze(frame, timestamp=i / 25.0)
            hands = analysis.hands
            assert isinstance(hands, tuple) and len(hands) <= 1
            found += len(hands)
            assert "hands" in analysis.stage_ms
        assert found >= 45   # the raised hand is tracked through the fist and thumbs-up
        stage.reset()
        assert stage.last == ()
    stage.close()   # twice is fine


def test_stage_reconfigures_from_a_hands_settings_section():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class HandsSection:
        max_hands: int = 2
        mirrored: bool = True

    @dataclass(frozen=True)
    class Settings:
        hands: HandsSection = HandsSection()

    stage = HandsStage()
    stage.configure(Settings())
    assert stage.options["max_hands"] == 2 and stage.options["mirrored"] is True
    analysis = Analysis(0, 0.0, (320, 240), (320, 240))
    stage.process(np.zeros((240, 320, 3), np.uint8), analysis)
    assert analysis.hands == ()
    stage.close()


@pytest.mark.parametrize("kw, match", [({"max_hands": 3}, "max_hands"), ({"model_complexity": 2}, "model_complexity")])
def test_bad_options_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        HandsStage(**kw)
    with pytest.raises(ValueError, match=match):
        HandTracker(**kw)


def test_bad_frames_are_rejected():
    tracker = HandTracker()
    try:
        with pytest.raises(FrameError, match="uint8"):
            tracker(np.zeros((10, 10, 3), np.float32))
        with pytest.raises(FrameError, match="HxWx3"):
            tracker(np.zeros((10, 10), np.uint8))
    finally:
        tracker.close()


def test_two_hands_when_asked_for_two_with_opposite_handedness():
    heart = load(os.path.join(EVALSET, "hands", "two_hand_heart", "two_hand_heart__hagrid_gestures_heart.png"))
    (one,) = detect_hands(heart, max_hands=1)
    (two,) = detect_hands(heart, max_hands=2)
    assert len(one) == 1 and len(two) == 2
    assert {h.handedness for h in two} == {"left", "right"}
    # The person's right hand is on the image's left in an unmirrored photo.
    right = next(h for h in two if h.handedness == "right")
    left = next(h for h in two if h.handedness == "left")
    assert right.landmarks[0][0] < left.landmarks[0][0]
