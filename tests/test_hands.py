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


# --- photos: the second look where the palm detector misses ------------------------------------

CLOSEUP = os.path.join(EVALSET, "hands", "victory", "victory__mediapipe_samples_hand_victory.jpg")
OVERLAP = os.path.join(EVALSET, "hands", "two_thumbs_up",
                       "thumbs_up_x2__mediapipe_samples_hand_landmarker_test_image.jpg")


def test_a_close_up_hand_the_palm_detector_misses_is_found_in_a_photo():
    import cv2
    from facefx.analysis import hands as hands_module
    rgb = cv2.resize(load(CLOSEUP), (750, 1000), interpolation=cv2.INTER_AREA)
    tracker = HandTracker(max_hands=1, static=True)
    try:
        assert tracker._detect(rgb) == []                  # MediaPipe alone finds nothing
        (hand,) = tracker(rgb)
    finally:
        tracker.close()
    pts = np.array(hand.landmarks)
    # the victory's two finger tips are the highest points, the wrist the lowest, as looked at
    assert set(np.argsort(pts[:, 1])[:2]) == {8, 12}
    assert pts[0, 1] == pts[:, 1].max() and pts[0, 1] > 0.7
    assert hand.handedness == "right"   # the back of a right hand, thumb on the image's left
    assert pts[4, 0] < pts[20, 0] or pts[4, 0] < pts[0, 0]


@pytest.mark.parametrize("mirrored", [False, True])
def test_the_second_look_keeps_the_handedness_convention(mirrored):
    """A hand found by the crop pass names the person's hand as MediaPipe's results do."""
    rgb = load(PALM)
    if mirrored:
        rgb = np.ascontiguousarray(rgb[:, ::-1])
    tracker = HandTracker(max_hands=1, static=True, mirrored=mirrored)
    try:
        (mp_hand,) = tracker._detect(rgb)
        refined, presence = tracker._crop().refine(rgb, mp_hand)
    finally:
        tracker.close()
    assert presence > 0.9
    assert refined.handedness == mp_hand.handedness == "left"
    assert np.abs(np.array(refined.landmarks)[:, :2] - np.array(mp_hand.landmarks)[:, :2]).max() < 0.05


def test_a_hand_behind_another_is_found_in_a_photo():
    tracker = HandTracker(max_hands=2, static=True)
    rgb = load(OVERLAP)
    try:
        assert len(tracker._detect(rgb)) == 1               # MediaPipe keeps only the nearer hand
        front, behind = tracker(rgb)
    finally:
        tracker.close()
    # the hand behind is the one further left in the picture, its thumb up too
    assert np.mean([p[0] for p in behind.landmarks]) < np.mean([p[0] for p in front.landmarks])
    assert behind.landmarks[4][1] < behind.landmarks[0][1]


@pytest.mark.parametrize("folder", ["people", "faces", "portraits"])
def test_photos_of_people_get_no_phantom_hand_from_the_second_look(folder):
    """The second look adds no hand to photos of people (the close-up pass is sure of a hand
    only when one fills the picture, and painting over the hands found shows no new one):
    each keeps what the palm detector found (the hands in view: none in most, one or two)."""
    tracker = HandTracker(max_hands=2, static=True)
    root = os.path.join(EVALSET, folder)
    try:
        for base, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                if name.endswith("_mask.png") or not name.lower().endswith((".jpg", ".jpeg", ".png")):
                    continue
                rgb = load(os.path.join(base, name))
                assert len(tracker(rgb)) == len(tracker._detect(rgb)), name
    finally:
        tracker.close()


def test_the_stage_gives_a_still_picture_the_photo_search():
    import cv2
    rgb = cv2.resize(load(CLOSEUP), (750, 1000), interpolation=cv2.INTER_AREA)
    stage = HandsStage()
    with Engine(stages=[stage]) as engine:
        assert engine.analyze(rgb).hands == ()                 # a video frame: tracking only
        engine.reset()
        assert len(engine.analyze(rgb, still=True).hands) == 1


# --- video: hands followed by the landmark model, palm detection only where it is needed ----

def _graph_calls(tracker):
    """Frame numbers on which palm detection ran."""
    calls = []
    real = tracker._find

    def find(image, known):
        calls.append(tracker._frame)
        return real(image, known)
    tracker._find = find
    return calls


def test_video_two_hands_are_found_and_then_tracked_without_palm_detection():
    heart = load(os.path.join(EVALSET, "hands", "two_hand_heart", "two_hand_heart__hagrid_gestures_heart.png"))
    tracker = HandTracker(max_hands=2)
    calls = _graph_calls(tracker)
    try:
        out = [tracker(heart) for _ in range(12)]
    finally:
        tracker.close()
    assert [len(h) for h in out] == [2] * 12
    assert calls == [1]                      # found on the first frame, then only tracked
    assert sorted(h.handedness for h in out[-1]) == ["left", "right"]


def test_video_one_hand_of_two_looks_for_the_second_every_nth_frame():
    from facefx.analysis.hands import PAIR_SEARCH_EVERY
    tracker = HandTracker(max_hands=2)
    calls = _graph_calls(tracker)
    rgb = load(THUMBS)
    try:
        counts = [len(tracker(rgb)) for _ in range(4 * PAIR_SEARCH_EVERY)]
    finally:
        tracker.close()
    assert set(counts) == {1}
    assert calls == [1] + [PAIR_SEARCH_EVERY * k for k in range(1, 5)]


def test_video_tracking_follows_the_landmarks_mediapipe_finds():
    """The tracked landmarks are MediaPipe's landmark model on MediaPipe's crop: on the evalset
    clip they stay within a few pixels of MediaPipe's own video graph, with the hand found on the
    same frames (but for one or two as it comes into view)."""
    import cv2
    from mediapipe.python.solutions import hands as mp_hands
    cap = cv2.VideoCapture(os.path.join(EVALSET, "clips", "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4"))
    frames = []
    while len(frames) < 120:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), (640, 360)))
    cap.release()
    assert len(frames) == 120
    tracker = HandTracker(max_hands=1)
    with mp_hands.Hands(static_image_mode=False, max_num_hands=1) as graph, \
            mp_hands.Hands(static_image_mode=True, max_num_hands=1) as photo:
        ours = [tracker(f) for f in frames]
        theirs = [graph.process(f).multi_hand_landmarks for f in frames]
        fresh = [photo.process(f).multi_hand_landmarks for f in frames]
    tracker.close()
    differ = [i for i, (h, t) in enumerate(zip(ours, theirs)) if bool(h) != bool(t)]
    assert len(differ) <= 3, differ          # (a frame as the hand comes into view)

    def pts(lms):
        return np.array([(p.x, p.y) for p in lms[0].landmark])
    ours_vs_graph = [np.abs(np.array(h[0].landmarks)[:, :2] - pts(t)).mean()
                     for h, t in zip(ours, theirs) if h and t]
    graph_vs_fresh = [np.abs(pts(t) - pts(f)).mean() for t, f in zip(theirs, fresh) if t and f]
    # MediaPipe's own two ways (tracking, detecting afresh) differ by as much as ours does
    assert len(ours_vs_graph) > 80 and len(graph_vs_fresh) > 80
    assert np.median(ours_vs_graph) < max(0.006, 1.5 * np.median(graph_vs_fresh)), (
        np.median(ours_vs_graph), np.median(graph_vs_fresh))
