"""Built-in gesture rules: hand-built landmark sets (every gesture and look-alike, rolled to
+-45 degrees, either hand, mirrored) and the real photos of the shared evalset."""
from __future__ import annotations

import math
import os

import pytest

from facefx.analysis.gestures import classify, finger_states, one_hand_gesture
from facefx.results import BUILTIN_GESTURES, GestureHit, Hand

from .conftest import EVALSET

ASPECT = 16 / 9

# A right hand seen palm-on in an unmirrored frame, in palm lengths, y down, wrist at 0.
MCP = {"index": (-0.32, -0.95), "middle": (-0.08, -1.0), "ring": (0.15, -0.95), "pinky": (0.36, -0.85)}
SEGMENTS = {"index": (0.42, 0.26, 0.22), "middle": (0.46, 0.29, 0.24), "ring": (0.42, 0.27, 0.22),
            "pinky": (0.33, 0.2, 0.18)}
FAN = {"index": -12.0, "middle": 0.0, "ring": 8.0, "pinky": 16.0}


def _finger(name, state):
    x, y = MCP[name]
    a, b, c = SEGMENTS[name]
    pts = [(x, y, 0.0)]
    if state == "out":
        ang = math.radians(FAN[name])
        dx, dy = math.sin(ang), -math.cos(ang)
        for length in (a, b, c):
            x, y = x + dx * length, y + dy * length
            pts.append((x, y, 0.0))
    else:   # curled: up and towards the camera, then back down over the palm
        pts.append((x, y - a * 0.7, -a * 0.7))
        pts.append((x, y - a * 0.7 + b, -a * 0.7 - b * 0.3))
        pts.append((x, y - a * 0.7 + b + c * 0.8, -a * 0.4))
    return pts


def _thumb(state):
    if state == "out":     # straight, out to the side and a little up
        return [(-0.25, -0.22, 0.0), (-0.5, -0.4, 0.0), (-0.72, -0.55, 0.0), (-0.92, -0.68, 0.0)]
    if state == "ok":      # curved so its tip meets the index tip
        return [(-0.25, -0.22, 0.0), (-0.5, -0.45, 0.0), (-0.62, -0.7, -0.1), (-0.55, -1.05, -0.3)]
    # folded across the curled fingers
    return [(-0.25, -0.22, 0.0), (-0.42, -0.48, -0.1), (-0.3, -0.72, -0.3), (-0.1, -0.8, -0.45)]


def pose(thumb, index, middle, ring, pinky):
    """21 landmarks in palm units for the given states ('out', 'in'; thumb also 'ok')."""
    pts = [(0.0, 0.0, 0.0)] + _thumb(thumb)
    for name, state in zip(MCP, (index, middle, ring, pinky)):
        pts += _finger(name, state)
    if thumb == "ok":   # bend the index tip down to the thumb
        pts[6] = (-0.36, -1.3, -0.15)
        pts[7] = (-0.45, -1.35, -0.3)
        pts[8] = (-0.55, -1.1, -0.3)
    return pts


POSES = {
    "open_palm": pose("out", "out", "out", "out", "out"),
    "victory": pose("in", "out", "out", "in", "in"),
    "pointing_up": pose("in", "out", "in", "in", "in"),
    "fist": pose("in", "in", "in", "in", "in"),
    "i_love_you": pose("out", "out", "in", "in", "out"),
    "ok": pose("ok", "in", "out", "out", "out"),
}
LOOKALIKES = {
    "rock": pose("in", "out", "in", "in", "out"),
    "call": pose("out", "in", "in", "in", "out"),
    "four": pose("in", "out", "out", "out", "out"),
    "ok_like_grip": pose("ok", "in", "in", "in", "in"),
    "three": pose("out", "out", "out", "in", "in"),
}


def thumbs(direction_deg):
    """A fist with the thumb out, turned so that the thumb points direction_deg from up."""
    pts = pose("out", "in", "in", "in", "in")
    cur = math.degrees(math.atan2(pts[4][0] - pts[2][0], -(pts[4][1] - pts[2][1])))
    return turn(pts, direction_deg - cur)


def turn(pts, deg):
    """Roll the hand by deg (clockwise on screen) about its wrist."""
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return [(x * c - y * s, x * s + y * c, z) for x, y, z in pts]


def tilt(pts, deg):
    """Tip the hand about the horizontal axis (fingers towards the camera)."""
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return [(x, y * c - z * s, y * s + z * c) for x, y, z in pts]


def place(pts, *, mirror=False, cx=0.5, cy=0.6, size=0.18):
    """Palm units -> frame-normalised landmarks of a 16:9 frame (mirror: the other hand)."""
    sign = -1.0 if mirror else 1.0
    return tuple((cx + sign * x * size / ASPECT, cy + y * size, z * size / ASPECT) for x, y, z in pts)


def name_of(pts, **kw):
    return one_hand_gesture(place(pts, **kw), aspect=ASPECT)


@pytest.mark.parametrize("roll", [-45, -25, 0, 25, 45])
@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("gesture", sorted(POSES))
def test_each_gesture_at_any_roll_for_either_hand(gesture, roll, mirror):
    assert name_of(turn(POSES[gesture], roll), mirror=mirror) == gesture


@pytest.mark.parametrize("angle", [-45, -20, 0, 20, 45])
@pytest.mark.parametrize("mirror", [False, True])
def test_thumbs_up_and_down_within_45_degrees(angle, mirror):
    assert name_of(thumbs(angle), mirror=mirror) == "thumbs_up"
    assert name_of(thumbs(180 + angle), mirror=mirror) == "thumbs_down"


@pytest.mark.parametrize("angle", [90, -90])
def test_a_sideways_thumb_is_neither_up_nor_down(angle):
    assert name_of(thumbs(angle)) is None


@pytest.mark.parametrize("roll", [-30, 0, 30])
@pytest.mark.parametrize("lookalike", sorted(LOOKALIKES))
def test_lookalikes_are_rejected(lookalike, roll):
    assert name_of(turn(LOOKALIKES[lookalike], roll)) is None


def test_upside_down_or_sideways_hands_are_not_forced_into_a_class():
    for gesture in ("open_palm", "victory", "pointing_up", "ok", "i_love_you"):
        assert name_of(turn(POSES[gesture], 100)) is None, gesture
        assert name_of(turn(POSES[gesture], 180)) is None, gesture


def test_an_open_hand_with_palm_up_towards_the_camera_is_not_open_palm():
    assert name_of(tilt(POSES["open_palm"], 75)) is None


def test_a_hand_held_low_resting_or_cut_by_the_frame_edge_is_ignored():
    assert name_of(POSES["fist"], cy=0.97) is None           # wrist at the bottom edge
    assert name_of(POSES["open_palm"], cy=0.15) is None      # fingers out of the top of the frame


def test_low_confidence_hands_give_nothing():
    lm = place(POSES["victory"])
    assert one_hand_gesture(lm, aspect=ASPECT, score=0.95) == "victory"
    assert one_hand_gesture(lm, aspect=ASPECT, score=0.4) is None


def test_plain_tuples_without_z_are_accepted():
    lm = tuple((x, y) for x, y, _ in place(POSES["open_palm"]))
    assert finger_states(lm, aspect=ASPECT).index == "extended"


@pytest.mark.parametrize("bad, match", [((), "21 hand landmarks"), (((0.5, 0.5, 0.0),) * 5, "21")])
def test_wrong_landmark_counts_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        finger_states(bad)


def test_bad_aspect_is_rejected():
    with pytest.raises(ValueError, match="aspect"):
        finger_states(place(POSES["fist"]), aspect=0)


def _hands(*sets):
    return tuple(Hand(lm, hand, 0.98) for lm, hand in sets)


def test_two_equal_hands_make_the_two_hand_gesture_only():
    left = place(thumbs(10), mirror=True, cx=0.3)
    right = place(thumbs(-10), cx=0.7)
    assert classify(_hands((left, "left"), (right, "right")), aspect=ASPECT) == [
        GestureHit("two_thumbs_up", 0.98, (0, 1))]
    down = _hands((place(thumbs(170), mirror=True, cx=0.3), "left"), (place(thumbs(190), cx=0.7), "right"))
    assert [h.name for h in classify(down, aspect=ASPECT)] == ["two_thumbs_down"]
    vv = _hands((place(POSES["victory"], mirror=True, cx=0.3), "left"), (place(POSES["victory"], cx=0.7), "right"))
    assert [h.name for h in classify(vv, aspect=ASPECT)] == ["two_victories"]


def _half_bent_index(pts):
    """The hand with its index finger half bent (neither extended nor curled), as MediaPipe
    places a folded index it cannot see behind the other hand."""
    pts = list(pts)
    x, y = MCP["index"]
    a, b, c = SEGMENTS["index"]
    heading = 0.0
    for i, (length, bend) in enumerate(((a, 0.0), (b, 35.0), (c, 35.0)), start=6):
        heading += math.radians(bend)
        x, y = x - math.sin(heading) * length, y - math.cos(heading) * length
        pts[i] = (x, y, 0.0)
    return pts


@pytest.mark.parametrize("direction, single, pair", [(0, "thumbs_up", "two_thumbs_up"),
                                                     (180, "thumbs_down", "two_thumbs_down")])
def test_a_half_hidden_second_thumb_completes_the_pair(direction, single, pair):
    hidden = _half_bent_index(thumbs(direction))
    assert finger_states(place(hidden), aspect=ASPECT).index == "unsure"
    assert name_of(hidden) is None                    # alone it is no gesture
    clear = place(thumbs(direction), cx=0.6)
    behind = place(hidden, mirror=True, cx=0.4)
    hits = classify(_hands((clear, "right"), (behind, "left")), aspect=ASPECT)
    assert [(h.name, h.hands) for h in hits] == [(pair, (0, 1))]
    # only beside a clear thumbs up (down) of the same direction, and only with no finger out
    other = place(thumbs(180 - direction), cx=0.6)
    assert pair not in [h.name for h in classify(_hands((other, "right"), (behind, "left")), aspect=ASPECT)]
    pointing = place(pose("out", "out", "in", "in", "in"), mirror=True, cx=0.4)   # an L: index out
    assert [h.name for h in classify(_hands((clear, "right"), (pointing, "left")), aspect=ASPECT)] == [single]


def test_two_different_hands_give_one_hit_each():
    hands = _hands((place(POSES["fist"], mirror=True, cx=0.3), "left"),
                   (place(POSES["victory"], cx=0.7), "right"))
    assert sorted((h.name, h.hands) for h in classify(hands, aspect=ASPECT)) == [
        ("fist", (0,)), ("victory", (1,))]


def test_no_hands_no_hits():
    assert classify((), aspect=ASPECT) == []


# --- the real photos ---------------------------------------------------------------------------

HANDS_DIR = os.path.join(EVALSET, "hands")
FOLDER_LABEL = {"two_hand_heart": "heart_hands"}


def _photos():
    if not os.path.isdir(HANDS_DIR):
        return []
    out = []
    for folder in sorted(os.listdir(HANDS_DIR)):
        for f in sorted(os.listdir(os.path.join(HANDS_DIR, folder))):
            out.append(pytest.param(os.path.join(HANDS_DIR, folder, f), FOLDER_LABEL.get(folder, folder), id=f))
    return out


@pytest.fixture(scope="module")
def tracker():
    from facefx.analysis.hands import HandTracker
    t = HandTracker(max_hands=2, static=True)
    yield t
    t.close()


@pytest.mark.skipif(not os.path.isdir(HANDS_DIR), reason="../shared/evalset/hands is not here")
@pytest.mark.parametrize("path, label", _photos())
def test_evalset_photo(path, label, tracker):
    from facefx.evaluate.gestures import predicted_name
    from facefx.imageio import load_image_rgb
    rgb = load_image_rgb(path)
    hits = classify(tracker(rgb), aspect=rgb.shape[1] / rgb.shape[0])
    assert predicted_name(hits) == label
    assert label == "none" or label in BUILTIN_GESTURES


# --- stability gate (motion blur) ----------------------------------------------------------------

def _frame(pts, **kw):
    hands = (Hand(place(pts, **kw), "right", 0.98),)
    return hands, classify(hands, aspect=ASPECT)


def test_a_steady_hand_keeps_its_gesture():
    from facefx.analysis.gestures import StabilityGate
    gate = StabilityGate()
    for i in range(5):
        hands, hits = _frame(POSES["victory"], cx=0.5 + 0.002 * i)
        assert [h.name for h in gate.filter(hits, hands, i / 30.0, aspect=ASPECT)] == ["victory"]


def test_jumping_landmarks_or_a_fast_hand_are_dropped():
    from facefx.analysis.gestures import StabilityGate
    gate = StabilityGate()
    hands, hits = _frame(POSES["fist"])
    assert gate.filter(hits, hands, 0.0, aspect=ASPECT) == hits          # first sight passes
    hands, hits = _frame(POSES["open_palm"])                            # every finger jumps at once
    assert hits and gate.filter(hits, hands, 1 / 30, aspect=ASPECT) == []
    hands, hits = _frame(POSES["open_palm"])
    assert gate.filter(hits, hands, 2 / 30, aspect=ASPECT) == hits      # settled again
    hands, hits = _frame(POSES["open_palm"], cx=0.8)                    # 0.3 frame widths in 1/30 s
    assert hits and gate.filter(hits, hands, 3 / 30, aspect=ASPECT) == []
    gate.reset()
    assert gate.filter(hits, hands, 0.0, aspect=ASPECT) == hits


def test_gate_rejects_bad_limits():
    from facefx.analysis.gestures import StabilityGate
    with pytest.raises(ValueError, match="max_jitter"):
        StabilityGate(max_jitter=0)
