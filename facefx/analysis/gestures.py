"""Built-in hand gestures from MediaPipe's 21 hand landmarks, by geometry.

Each finger is judged extended, curled or uncertain from rotation-free measures (how much its
joints bend and how far its tip reaches from the wrist compared with its middle joint), and
directions are compared with the frame's "up" with generous cones, so a gesture is recognised
for either hand, mirrored or not, at any roll up to about 45 degrees. A pose is classified only
when every finger the gesture depends on is clearly in its state: uncertain fingers, a thumb
that is neither out nor folded, or a look-alike (rock/horns: thumb folded; "call": index
folded; four fingers: thumb folded; an OK-like grip: the other fingers curled) give no gesture
instead of the nearest one. Hands that are barely tracked (low score, as in motion blur), cut
by the frame edge, or held low at the bottom of the frame (resting on a desk) give none either;
the trigger's hold time then filters the flicker that remains.

Standard library only: the rule functions take plain tuples of (x, y, z) points normalised to
the frame, so they run in the worker, inside OBS, or on hand-built test data alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..results import HAND_LANDMARKS, GestureHit, Hand

__all__ = ["FingerStates", "GestureRules", "StabilityGate", "classify", "finger_states", "one_hand_gesture",
           "two_hand_gesture", "DEFAULT_RULES"]

WRIST = 0
THUMB = (1, 2, 3, 4)
FINGERS = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
           "pinky": (17, 18, 19, 20)}

EXTENDED, CURLED, UNSURE = "extended", "curled", "unsure"

Vec = Tuple[float, float, float]


@dataclass(frozen=True)
class GestureRules:
    """Thresholds of the rules (angles in degrees, lengths in palm lengths).

    The defaults were set on MediaPipe's and HaGRID's sample photos in the shared evalset and
    on synthetic hands rotated to +-45 degrees (see tests/test_gestures.py).
    """

    min_score: float = 0.7          # hand score below this: not trusted (motion blur, occlusion)
    edge_margin: float = 0.02       # landmarks further outside the frame than this: hand is cut
    low_wrist_y: float = 0.93       # wrist below this (frame fraction): held low or resting
    up_cone: float = 60.0           # how far from "up" a pointing finger or thumb may lean
    palm_up_cone: float = 60.0      # how far from "up" the hand (wrist -> middle knuckle) may lean
    extended_bend: float = 55.0     # finger joints bend less than this in total: extended
    curled_bend: float = 80.0       # ...more than this (or tip folded back): curled
    thumb_out_ratio: float = 1.12   # thumb tip this much further from the pinky knuckle than its IP
    thumb_tucked: float = 0.3       # thumb tip this close to a finger's middle joints: folded over
    ok_touch: float = 0.42          # thumb and index tips this close: the OK ring
    fist_min_pinch: float = 0.3     # a fist's thumb tip is at least this far from the index tip
    victory_spread: float = 8.0     # index and middle apart by at least this angle
    facing_min: float = 0.35        # |palm normal . camera axis| at least this for open palm
    heart_touch: float = 0.6        # the two hands' index tips / thumb tips this close


DEFAULT_RULES = GestureRules()


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _norm(v: Vec) -> float:
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _angle(a: Vec, b: Vec) -> float:
    na, nb = _norm(a), _norm(b)
    if na == 0.0 or nb == 0.0:
        return 180.0
    c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def _from_up(v: Vec) -> float:
    """Angle in the image plane between v and the frame's up (y grows downwards)."""
    x, y = v[0], v[1]
    if x == 0.0 and y == 0.0:
        return 180.0
    return math.degrees(math.atan2(abs(x), -y))


def _points(landmarks: Sequence[Sequence[float]], aspect: float) -> List[Vec]:
    """Landmarks in one isotropic unit (frame heights): x and z are normalised to the width."""
    if len(landmarks) != HAND_LANDMARKS:
        raise ValueError(f"expected {HAND_LANDMARKS} hand landmarks, got {len(landmarks)}")
    if not aspect > 0:
        raise ValueError(f"aspect (frame width / height) must be positive, got {aspect!r}")
    out = []
    for p in landmarks:
        z = float(p[2]) if len(p) > 2 else 0.0
        out.append((float(p[0]) * aspect, float(p[1]), z * aspect))
    return out


@dataclass(frozen=True)
class FingerStates:
    """Per-finger states plus the directions the rules need (see finger_states())."""

    thumb: str
    index: str
    middle: str
    ring: str
    pinky: str
    thumb_from_up: float      # degrees between the thumb (MCP -> tip) and up, in the image
    hand_from_up: float       # degrees between wrist -> middle knuckle and up
    finger_from_up: Dict[str, float]
    palm: float               # palm length (wrist -> middle knuckle), frame heights
    facing: float             # |palm normal . camera axis|: 1 = palm (or back) faces the camera
    ok_gap: float             # thumb tip to index tip, in palm lengths
    spread: float             # degrees between the index and middle fingers

    def fingers(self) -> Tuple[str, str, str, str]:
        return (self.index, self.middle, self.ring, self.pinky)


def finger_states(landmarks: Sequence[Sequence[float]], *, aspect: float = 1.0,
                  rules: GestureRules = DEFAULT_RULES) -> FingerStates:
    """Judge each finger of one hand. landmarks: 21 (x, y[, z]) points normalised to the frame;
    aspect: the frame's width / height (so that angles are measured in true proportions)."""
    p = _points(landmarks, aspect)
    wrist = p[WRIST]
    palm = _norm(_sub(p[9], wrist)) or 1e-6
    states: Dict[str, str] = {}
    directions: Dict[str, float] = {}
    vectors: Dict[str, Vec] = {}
    for name, (mcp, pip, dip, tip) in FINGERS.items():
        v1, v2, v3 = _sub(p[pip], p[mcp]), _sub(p[dip], p[pip]), _sub(p[tip], p[dip])
        bend = _angle(v1, v2) + _angle(v2, v3)
        reach = _norm(_sub(p[tip], wrist)) / (_norm(_sub(p[pip], wrist)) or 1e-6)
        if bend < rules.extended_bend and reach > 1.1:
            states[name] = EXTENDED
        elif bend > rules.curled_bend or reach < 1.0:
            states[name] = CURLED
        else:
            states[name] = UNSURE
        vectors[name] = _sub(p[tip], p[mcp])
        directions[name] = _from_up(vectors[name])

    # The thumb: out when its tip reaches clearly beyond its IP joint away from the pinky
    # knuckle and it is fairly straight; folded when the tip tucks towards the palm.
    cmc, mcp, ip, tip = (p[i] for i in THUMB)
    thumb_bend = _angle(_sub(ip, mcp), _sub(tip, ip))
    out_ratio = _norm(_sub(tip, p[17])) / (_norm(_sub(ip, p[17])) or 1e-6)
    tip_to_index = _norm(_sub(tip, p[5])) / palm
    tucked = min(_norm(_sub(tip, p[i])) for i in (6, 7, 10, 11, 14, 15, 18, 19)) / palm
    if tucked < rules.thumb_tucked:
        thumb = CURLED   # lying over the folded fingers, as in victory or a fist
    elif out_ratio > rules.thumb_out_ratio and thumb_bend < 50.0 and tip_to_index > 0.45:
        thumb = EXTENDED
    elif out_ratio < 1.05 or tip_to_index < 0.35:
        thumb = CURLED
    else:
        thumb = UNSURE

    a, b = _sub(p[5], wrist), _sub(p[17], wrist)
    normal = (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
    facing = abs(normal[2]) / (_norm(normal) or 1e-6)
    return FingerStates(
        thumb=thumb, index=states["index"], middle=states["middle"], ring=states["ring"],
        pinky=states["pinky"], thumb_from_up=_from_up(_sub(tip, mcp)),
        hand_from_up=_from_up(_sub(p[9], wrist)), finger_from_up=directions, palm=palm,
        facing=facing, ok_gap=_norm(_sub(tip, p[8])) / palm,
        spread=_angle(vectors["index"], vectors["middle"]))


def _trusted(landmarks: Sequence[Sequence[float]], score: float, rules: GestureRules) -> bool:
    if score < rules.min_score:
        return False
    lo, hi = -rules.edge_margin, 1.0 + rules.edge_margin
    return all(lo <= pt[0] <= hi and lo <= pt[1] <= hi for pt in landmarks)


def one_hand_gesture(landmarks: Sequence[Sequence[float]], *, aspect: float = 1.0, score: float = 1.0,
                     rules: GestureRules = DEFAULT_RULES) -> Optional[str]:
    """The built-in one-hand gesture these landmarks show, or None when the pose is none of them
    or is not clear enough (see the module docstring)."""
    if not _trusted(landmarks, score, rules):
        return None
    s = finger_states(landmarks, aspect=aspect, rules=rules)
    four = s.fingers()
    curled4 = all(f == CURLED for f in four)
    up = rules.up_cone
    hand_up = s.hand_from_up <= rules.palm_up_cone
    if landmarks[WRIST][1] > rules.low_wrist_y:
        return None   # held low or resting on the desk
    if curled4 and s.thumb == EXTENDED:
        if s.thumb_from_up <= up:
            return "thumbs_up"
        if s.thumb_from_up >= 180.0 - up:
            return "thumbs_down"
        return None
    if curled4 and s.thumb == CURLED:
        # A thumb tip pressed on the index tip is a pinch or grip (an OK-like grip), not a fist.
        return "fist" if hand_up and s.ok_gap > rules.fist_min_pinch else None
    if not hand_up:
        return None
    i, m, r, k = four
    if all(f == EXTENDED for f in four):
        if s.thumb == EXTENDED and s.facing >= rules.facing_min \
                and s.finger_from_up["middle"] <= up \
                and all(d <= up + 25.0 for d in s.finger_from_up.values()):
            return "open_palm"
        return None
    if s.ok_gap <= rules.ok_touch and m == r == k == EXTENDED and i != EXTENDED:
        return "ok"
    if i == m == EXTENDED and r == k == CURLED and s.thumb != EXTENDED:
        if s.spread >= rules.victory_spread and s.finger_from_up["index"] <= up \
                and s.finger_from_up["middle"] <= up:
            return "victory"
        return None
    if i == EXTENDED and m == r == k == CURLED and s.thumb != EXTENDED:
        return "pointing_up" if s.finger_from_up["index"] <= up else None
    if i == k == EXTENDED and m == r == CURLED and s.thumb == EXTENDED:
        return "i_love_you"
    return None


_PAIRS = {"thumbs_up": "two_thumbs_up", "thumbs_down": "two_thumbs_down", "victory": "two_victories"}


def two_hand_gesture(first: Sequence[Sequence[float]], second: Sequence[Sequence[float]], *,
                     aspect: float = 1.0, scores: Tuple[float, float] = (1.0, 1.0),
                     rules: GestureRules = DEFAULT_RULES) -> Optional[str]:
    """Heart hands (index tips together above thumb tips together, the other fingers folded
    away), or None. Pairs of equal one-hand gestures are found by classify()."""
    if not (_trusted(first, scores[0], rules) and _trusted(second, scores[1], rules)):
        return None
    a, b = _points(first, aspect), _points(second, aspect)
    palm = (_norm(_sub(a[9], a[0])) + _norm(_sub(b[9], b[0]))) / 2.0 or 1e-6
    index_gap = _norm(_sub(a[8], b[8])) / palm
    thumb_gap = _norm(_sub(a[4], b[4])) / palm
    if index_gap > rules.heart_touch or thumb_gap > rules.heart_touch:
        return None
    top = tuple((a[8][k] + b[8][k]) / 2.0 for k in range(3))
    bottom = tuple((a[4][k] + b[4][k]) / 2.0 for k in range(3))
    height = _norm(_sub(top, bottom)) / palm
    if height < 0.4 or _from_up(_sub(top, bottom)) > rules.palm_up_cone:
        return None
    return "heart_hands"


_THUMBS = ("thumbs_up", "thumbs_down")


def _hidden_thumb(hand: Hand, aspect: float, rules: GestureRules) -> Optional[str]:
    """The thumbs up or down of a hand partly hidden behind the other hand: beside a clear
    thumbs up (down), a hand whose thumb is out and points the same way and none of whose
    fingers is extended, at least three of them curled, is taken as the pair's second thumb
    (its folded index is often hidden, so MediaPipe places it half bent). Only as the second
    hand of a pair: alone it is not a gesture."""
    if not _trusted(hand.landmarks, hand.score, rules) or hand.landmarks[WRIST][1] > rules.low_wrist_y:
        return None
    s = finger_states(hand.landmarks, aspect=aspect, rules=rules)
    four = s.fingers()
    if s.thumb != EXTENDED or EXTENDED in four or sum(f == CURLED for f in four) < 3:
        return None
    if s.thumb_from_up <= rules.up_cone:
        return "thumbs_up"
    if s.thumb_from_up >= 180.0 - rules.up_cone:
        return "thumbs_down"
    return None


def classify(hands: Sequence[Hand], *, aspect: float = 1.0,
             rules: GestureRules = DEFAULT_RULES) -> List[GestureHit]:
    """The built-in gestures in one frame's hands.

    aspect: the frame's width / height (results.Hand landmarks are normalised to the frame).
    A two-hand gesture replaces the one-hand gestures of the hands it uses, so one pose gives
    one hit: two thumbs up is 'two_thumbs_up', not also two 'thumbs_up'.
    """
    names = [one_hand_gesture(h.landmarks, aspect=aspect, score=h.score, rules=rules) for h in hands]
    hits: List[GestureHit] = []
    used = set()
    for i in range(len(hands)):
        for j in range(i + 1, len(hands)):
            if i in used or j in used:
                continue
            pair = _PAIRS.get(names[i] or "") if names[i] == names[j] else None
            if pair is None and (names[i] is None) != (names[j] is None):
                clear, other = (i, j) if names[j] is None else (j, i)
                if names[clear] in _THUMBS and _hidden_thumb(hands[other], aspect, rules) == names[clear]:
                    pair = _PAIRS[names[clear]]
            if pair is None:
                pair = two_hand_gesture(hands[i].landmarks, hands[j].landmarks, aspect=aspect,
                                        scores=(hands[i].score, hands[j].score), rules=rules)
            if pair is not None:
                hits.append(GestureHit(pair, min(hands[i].score, hands[j].score), (i, j)))
                used.update((i, j))
    for i, name in enumerate(names):
        if name is not None and i not in used:
            hits.append(GestureHit(name, hands[i].score, (i,)))
    return hits


def _shape(landmarks: Sequence[Sequence[float]], aspect: float) -> Tuple[List[Vec], float, Vec]:
    p = _points(landmarks, aspect)
    palm = _norm(_sub(p[9], p[0])) or 1e-6
    return [tuple(c / palm for c in _sub(q, p[0])) for q in p], palm, p[0]


class StabilityGate:
    """Drops the gestures of hands whose landmarks are unreliable from frame to frame.

    In motion blur MediaPipe still reports a hand, but its finger landmarks jump about; a
    single frame can then look like any gesture. The gate compares each hand's shape (landmarks
    relative to the wrist, in palm lengths) with the nearest hand of the previous frame and
    keeps hits only for hands whose shape changed by at most `max_jitter` palm lengths (mean
    over the landmarks) and whose wrist moved at most `max_speed` palm lengths per second. A
    hand seen for the first time passes (the trigger's hold time covers it).
    """

    def __init__(self, *, max_jitter: float = 0.25, max_speed: float = 8.0) -> None:
        if not max_jitter > 0 or not max_speed > 0:
            raise ValueError(f"max_jitter and max_speed must be positive, got {max_jitter!r}, {max_speed!r}")
        self.max_jitter = max_jitter
        self.max_speed = max_speed
        self._prev: List[Tuple[List[Vec], float, Vec]] = []
        self._t: Optional[float] = None

    def steady(self, hands: Sequence[Hand], t: float, *, aspect: float = 1.0) -> List[bool]:
        """For each hand of this frame (at time t, seconds): is it steady enough to classify?"""
        shapes = [_shape(h.landmarks, aspect) for h in hands]
        dt = None if self._t is None else t - self._t
        out = []
        for shape, palm, wrist in shapes:
            if not self._prev or dt is None or dt <= 0:
                out.append(True)
                continue
            prev = min(self._prev, key=lambda s: _norm(_sub(s[2], wrist)))
            jitter = sum(_norm(_sub(a, b)) for a, b in zip(shape, prev[0])) / len(shape)
            speed = _norm(_sub(wrist, prev[2])) / ((palm + prev[1]) / 2.0) / dt
            out.append(jitter <= self.max_jitter and speed <= self.max_speed)
        self._prev, self._t = shapes, t
        return out

    def filter(self, hits: Sequence[GestureHit], hands: Sequence[Hand], t: float, *,
               aspect: float = 1.0) -> List[GestureHit]:
        """The hits whose every hand is steady."""
        ok = self.steady(hands, t, aspect=aspect)
        return [h for h in hits if all(0 <= i < len(ok) and ok[i] for i in h.hands)]

    def reset(self) -> None:
        self._prev, self._t = [], None


def _stage_base():
    """analysis.Stage, imported on use: the rules above stay importable without the engine's
    numpy/cv2 dependencies being touched at module import."""
    from . import Stage
    return Stage


class GestureStage(_stage_base()):
    """Engine stage: this frame's hands -> analysis.gestures (a tuple of results.GestureHit).

    Runs after the hands stage (STAGES order) on the same input image. The built-in rules are
    judged on every frame through a StabilityGate (hands in motion blur give no hit); when the
    gestures settings name a custom model (`model`, `labels`) its hits are added, a label
    meaning "nothing" giving none (classifiers.is_none_label). A custom label the user enabled
    wins over a built-in hit of the same hands, because it is what the user asked for.

    Raises (from configure):
        classifiers.GestureModelError: the custom model or labels file cannot be used.
    """

    name = "gestures"
    outputs = ("gestures",)
    needs = ("hands",)
    every_when_tight = 2   # follows the hands stage, whose result it reads

    def __init__(self, *, threads=None, rules: GestureRules = DEFAULT_RULES, mirrored: bool = False) -> None:
        self.rules = rules
        self.mirrored = mirrored
        self._gate = StabilityGate()
        self._model = None
        self._model_key: Tuple[str, str] = ("", "")
        self._enabled: Tuple[str, ...] = ()

    def input_size(self, settings, width: int, height: int) -> Tuple[int, int]:
        from .hands import hands_input_size
        return hands_input_size(width, height)

    def configure(self, settings) -> None:
        g = getattr(settings, "gestures", None)
        if g is None:
            return
        self._enabled = tuple(g.gestures)
        key = (getattr(g, "model", "") or "", getattr(g, "labels", "") or "")
        if key != self._model_key:
            self._model, self._model_key = None, key
            if key[0]:
                from .classifiers import load_gesture_model
                self._model = load_gesture_model(key[0], key[1] or None)

    @property
    def labels(self) -> Tuple[str, ...]:
        """The gesture names the custom model adds (its "nothing" labels left out)."""
        if self._model is None:
            return ()
        from .classifiers import is_none_label
        return tuple(label for label in self._model.labels if not is_none_label(label))

    def process(self, image, analysis) -> None:
        hands = analysis.hands
        if not hands:
            self._gate.steady((), analysis.timestamp)
            analysis.gestures = ()
            return
        h, w = image.shape[:2]
        aspect = w / h
        hits = list(classify(hands, aspect=aspect, rules=self.rules))
        if self._model is not None:
            custom = [x for x in self._model.classify(hands, image, mirrored=self.mirrored,
                                                      frame_size=analysis.frame_size)
                      if x.name in self._enabled or not self._enabled]
            taken = {i for x in custom for i in x.hands}
            hits = custom + [x for x in hits if not taken.intersection(x.hands)]
        analysis.gestures = tuple(self._gate.filter(hits, hands, analysis.timestamp, aspect=aspect))

    def reset(self) -> None:
        self._gate.reset()

    def close(self) -> None:
        self._model = None
        self._model_key = ("", "")
