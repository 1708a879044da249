"""Typed analysis results that are not pixels: hands and faces.

Standard library only: the worker produces these, the OBS side (inside OBS's interpreter) and
the command line consume them, and the Scene turns them into a RenderPlan. Coordinates are
normalised to the *frame* (x, y in 0..1 of the frame's width and height; points may lie a
little outside when a hand or face is cut by the frame edge), so results do not depend on the
analysis size a stage ran at.

The binary form that carries these across the process boundary lives beside them (versioned,
range-checked on read); see encode()/decode() once they exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

Point3 = Tuple[float, float, float]
Point2 = Tuple[float, float]
Box = Tuple[float, float, float, float]   # x, y, width, height, normalised to the frame

# Built-in gestures, by canonical name. One-hand gestures are classified per hand; two-hand
# gestures need both hands in the frame.
ONE_HAND_GESTURES = ("thumbs_up", "thumbs_down", "open_palm", "victory", "pointing_up", "fist",
                     "ok", "i_love_you")
TWO_HAND_GESTURES = ("heart_hands", "two_thumbs_up", "two_thumbs_down", "two_victories")
BUILTIN_GESTURES = ONE_HAND_GESTURES + TWO_HAND_GESTURES

# FER2013 class order (the order of the bundled expression CNN's outputs).
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

HAND_LANDMARKS = 21


@dataclass(frozen=True)
class Hand:
    """One tracked hand in one frame.

    landmarks: MediaPipe's 21 hand landmarks (wrist first) as (x, y, z); x, y normalised to the
        frame, z MediaPipe's relative depth (wrist = 0, smaller = nearer the camera), scaled
        like x.
    handedness: 'left' or 'right': the person's own hand, whatever the video's mirroring.
    score: hand presence/handedness confidence, 0..1.
    """

    landmarks: Tuple[Point3, ...]
    handedness: str
    score: float


@dataclass(frozen=True)
class GestureHit:
    """A gesture seen in one frame (before hold/hysteresis/cooldown decide whether it fires).

    name: a BUILTIN_GESTURES name, or a custom model's label.
    score: 0..1 confidence.
    hands: indices into the frame's hands tuple that make the gesture (one or two).
    """

    name: str
    score: float
    hands: Tuple[int, ...]


@dataclass(frozen=True)
class Face:
    """One tracked face in one frame.

    track_id: stable identity across frames (the same person keeps the same id).
    box: face box (x, y, w, h), normalised to the frame.
    score: detection confidence 0..1.
    roll: head roll in radians (positive = clockwise on screen, eyes level = 0).
    landmarks: face-mesh points (x, y) normalised to the frame, empty when only a box is known.
    expression: one of EXPRESSIONS or a custom label; '' when unknown.
    expression_score: 0..1 confidence of `expression`.
    """

    track_id: int
    box: Box
    score: float
    roll: float = 0.0
    landmarks: Tuple[Point2, ...] = ()
    expression: str = ""
    expression_score: float = 0.0
