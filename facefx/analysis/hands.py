"""Hand tracking with MediaPipe's bundled hand models (palm detection + hand landmarks).

MediaPipe 0.10.21's legacy Hands solution runs the lite (model_complexity 0) or full (1)
landmark model from its own wheel, so nothing is downloaded. Two of its habits shape this
module:

- Its handedness label assumes a mirrored (selfie) image. FaceFX reports the person's own
  hand, so the label is swapped unless the caller says the frames are mirrored.
- With max_num_hands=2 and only one hand in view it reruns palm detection on every frame
  (about 3x the cost of one tracked hand), so one hand is the default and two are asked for
  only when a two-hand gesture is enabled.

Landmarks come out normalised to the image given, which has the frame's aspect, so they are
frame-normalised whatever size the stage ran at.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..results import HAND_LANDMARKS, Hand
from . import Analysis, FrameError, Stage
from .segmentation import quiet_mediapipe
from .tflite import ModelError

__all__ = ["HandsStage", "HandTracker", "detect_hands", "hands_input_size", "HANDS_WIDTH"]

_SWAP = {"left": "right", "right": "left"}

# Hands read the full frame up to this width (wider frames are reduced to it), not the 256 px
# segmentation image. Measured on the evalset's 1280x720 fist-then-thumbs-up clip (2 shared
# cores, hands + resize + gestures median): 640 px 61.5 ms, 960 px 69.3 ms, full 1280 px
# 53.0 ms. MediaPipe resizes for its models itself, so a reduction buys nothing, and at 640 px
# the defocused thumb is lost long enough (3.1-3.5 s) that the thumbs up fires a second time
# after its cooldown; at full width it fires once.
HANDS_WIDTH = 1280


def hands_input_size(width: int, height: int) -> Tuple[int, int]:
    """The size the hands (and gesture) stages read a width x height frame at."""
    if width <= HANDS_WIDTH:
        return (width, height)
    return (HANDS_WIDTH, max(2, round(height * HANDS_WIDTH / width)))


def max_hands_for(gestures: Sequence[str]) -> int:
    """2 when an enabled gesture needs two hands, else 1 (two cost ~3x with one in view)."""
    from ..results import TWO_HAND_GESTURES
    return 2 if any(g in TWO_HAND_GESTURES for g in gestures) else 1


class HandTracker:
    """MediaPipe Hands with FaceFX's conventions: RGB uint8 in, a tuple of results.Hand out.

    max_hands: 1 or 2 (2 costs ~3x when only one hand is visible; see the module docstring).
    model_complexity: 0 (lite landmark model, default) or 1 (full).
    static: True for unrelated photos (palm detection on every image), False for video
        (landmarks tracked from the previous frame).
    mirrored: True when the frames are mirrored (selfie preview); handedness is then taken
        as MediaPipe reports it, otherwise swapped, so it always names the person's own hand.

    Raises:
        ValueError: an option out of range.
        ModelError: MediaPipe or its bundled hand models cannot be loaded.
    """

    def __init__(self, *, max_hands: int = 1, model_complexity: int = 0, static: bool = False,
                 mirrored: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if max_hands not in (1, 2):
            raise ValueError(f"max_hands must be 1 or 2, got {max_hands!r}")
        if model_complexity not in (0, 1):
            raise ValueError(f"model_complexity must be 0 (lite) or 1 (full), got {model_complexity!r}")
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        self.max_hands = max_hands
        self.model_complexity = model_complexity
        self.static = bool(static)
        self.mirrored = bool(mirrored)
        quiet_mediapipe()
        try:
            from mediapipe.python.solutions import hands as mp_hands
        except ImportError as exc:
            raise ModelError(f"MediaPipe is not installed ({exc}); install FaceFX's dependencies: "
                             "pip install -e .") from None
        try:
            self._solution = mp_hands.Hands(static_image_mode=self.static, max_num_hands=max_hands,
                                            model_complexity=model_complexity,
                                            min_detection_confidence=min_detection_confidence,
                                            min_tracking_confidence=min_tracking_confidence)
        except Exception as exc:  # a missing or corrupt bundled model file
            raise ModelError(f"cannot load MediaPipe's hand models: {exc}") from None

    def __call__(self, image: np.ndarray) -> Tuple[Hand, ...]:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[2] not in (3, 4):
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise FrameError(f"expected an HxWx3 uint8 RGB image, got {got}")
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if not image.flags["C_CONTIGUOUS"]:
            image = np.ascontiguousarray(image)
        result = self._solution.process(image)
        if not result.multi_hand_landmarks:
            return ()
        hands: List[Hand] = []
        for lms, handed in zip(result.multi_hand_landmarks, result.multi_handedness or ()):
            points = tuple((float(p.x), float(p.y), float(p.z)) for p in lms.landmark)
            if len(points) != HAND_LANDMARKS:
                continue
            cls = handed.classification[0]
            label = cls.label.lower()
            if not self.mirrored:
                label = _SWAP.get(label, label)
            hands.append(Hand(points, label, float(cls.score)))
        return tuple(hands)

    def reset(self) -> None:
        """Forget the tracked hands (the next frame runs palm detection afresh)."""
        self._solution.reset()

    def close(self) -> None:
        solution, self._solution = getattr(self, "_solution", None), None
        if solution is not None:
            solution.close()


class HandsStage(Stage):
    """Engine stage: tracks hands and sets analysis.hands (a tuple of results.Hand).

    The options are those of HandTracker. configure() follows the gestures settings: one hand
    unless an enabled gesture needs two (max_hands_for); it rebuilds the tracker only when an
    option changed. The model loads on the first frame, not in the constructor. While the
    engine's budget is tight the stage runs every 2nd frame (its result carried forward).
    """

    name = "hands"
    outputs = ("hands",)
    every_when_tight = 2

    def __init__(self, *, max_hands: int = 1, model_complexity: int = 0, static: bool = False,
                 mirrored: bool = False, threads: Optional[int] = None) -> None:
        self._options = self._check(max_hands, model_complexity, static, mirrored)
        self._tracker: Optional[HandTracker] = None
        self.last: Tuple[Hand, ...] = ()

    @staticmethod
    def _check(max_hands: Any, model_complexity: Any, static: Any, mirrored: Any) -> dict:
        if max_hands not in (1, 2):
            raise ValueError(f"max_hands must be 1 or 2, got {max_hands!r}")
        if model_complexity not in (0, 1):
            raise ValueError(f"model_complexity must be 0 (lite) or 1 (full), got {model_complexity!r}")
        return {"max_hands": int(max_hands), "model_complexity": int(model_complexity),
                "static": bool(static), "mirrored": bool(mirrored)}

    @property
    def options(self) -> dict:
        return dict(self._options)

    def input_size(self, settings: Any, width: int, height: int) -> Tuple[int, int]:
        return hands_input_size(width, height)

    def configure(self, settings: Any) -> None:
        gestures = getattr(settings, "gestures", None)
        section = getattr(settings, "hands", None)   # an explicit hands section wins
        o = self._options
        max_hands = o["max_hands"]
        if gestures is not None and getattr(gestures, "gestures", None) is not None:
            max_hands = max_hands_for(gestures.gestures)
        options = self._check(getattr(section, "max_hands", max_hands),
                              getattr(section, "model_complexity", o["model_complexity"]),
                              getattr(section, "static", o["static"]),
                              getattr(section, "mirrored", o["mirrored"]))
        if options != self._options:
            self._options = options
            self.close()

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        if self._tracker is None:
            self._tracker = HandTracker(**self._options)
        self.last = self._tracker(image)
        analysis.hands = self.last

    def reset(self) -> None:
        self.last = ()
        if self._tracker is not None:
            self._tracker.reset()

    def close(self) -> None:
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.close()


def detect_hands(images: Sequence[np.ndarray] | np.ndarray, *, max_hands: int = 2,
                 model_complexity: int = 0, mirrored: bool = False,
                 video: bool = False) -> List[Tuple[Hand, ...]]:
    """Hands in each image: a list with one tuple of results.Hand per image.

    For unrelated photos (video=False) every image gets palm detection of its own; for the
    frames of one video (video=True) hands are tracked from frame to frame as in the engine.
    A single image may be passed instead of a sequence.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    tracker = HandTracker(max_hands=max_hands, model_complexity=model_complexity,
                          static=not video, mirrored=mirrored)
    try:
        return [tracker(image) for image in images]
    finally:
        tracker.close()
