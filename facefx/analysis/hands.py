"""Hand tracking with MediaPipe's bundled hand models (palm detection + hand landmarks).

MediaPipe 0.10.21's legacy Hands solution runs the lite (model_complexity 0) or full (1)
landmark model from its own wheel, so nothing is downloaded. Two of its habits shape this
module:

- Its handedness label assumes a mirrored (selfie) image. FaceFX reports the person's own
  hand, so the label is swapped unless the caller says the frames are mirrored.
- In video it runs its whole graph on every frame (the frame copied and converted first),
  and with max_num_hands=2 and one hand in view it reruns palm detection on every frame
  (15.6 against 6.3 ms for one tracked hand on the evalset clip at 1280x720). So in video
  FaceFX runs the same two models itself in LiteRT, as MediaPipe's graph does: the landmark
  model on the crop MediaPipe derives from the previous frame's landmarks (_LandmarkCrop; a
  hand is kept while the model's presence is at least min_tracking_confidence), and the palm
  detector (blazeface.LitePalmDetector, then the landmark model on the palm's crop) only when
  fewer hands are followed than asked for: on every frame while none is, every
  PAIR_SEARCH_EVERY-th frame for a second hand. Photos keep MediaPipe's graph in photo mode.

Landmarks come out normalised to the image given, which has the frame's aspect, so they are
frame-normalised whatever size the stage ran at.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..results import HAND_LANDMARKS, Hand
from . import Analysis, FrameError, Stage
from .segmentation import INFERENCE_THREADS, quiet_mediapipe
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

# Photos: the landmark model's hand presence needed to accept a close-up hand found without
# palm detection (whole-picture pass; evalset people photos score 0.0004-0.003, a close-up
# hand 0.99), and after each of the crop passes that place its landmarks.
CLOSEUP_PRESENCE = 0.9
REFINED_PRESENCE = 0.5
REFINE_PASSES = 2
# MediaPipe's hand ROI from landmarks (hand_landmark_landmarks_to_roi): the palm and finger-base
# landmarks, a box in the hand's own frame (wrist -> middle-finger base pointing up) scaled 2x
# and moved 10% towards the fingers, squared.
# The hands found are painted over, grown by this fraction of their size (more also hides the
# hand behind), before detection runs again; two results are one hand below SAME_HAND.
COVER_GROW = 0.03
# Video, two hands: the two-hand graph looks for a second hand on every n-th frame (a second
# hand is found within 0.2 s at 30 fps; a two-hand gesture is held 0.5 s before it fires).
PAIR_SEARCH_EVERY = 6
SAME_HAND = 0.25
ROI_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
ROI_SCALE = 2.0
PALM_SCALE = 2.6      # palm_detection_detection_to_roi: scale 2.6, shift_y -0.5, square_long
ROI_SHIFT_Y = -0.1


def hands_input_size(width: int, height: int) -> Tuple[int, int]:
    """The size the hands (and gesture) stages read a width x height frame at."""
    if width <= HANDS_WIDTH:
        return (width, height)
    return (HANDS_WIDTH, max(2, round(height * HANDS_WIDTH / width)))


def max_hands_for(gestures: Sequence[str]) -> int:
    """2 when an enabled gesture needs two hands, else 1 (see the module docstring for the cost)."""
    from ..results import TWO_HAND_GESTURES
    return 2 if any(g in TWO_HAND_GESTURES for g in gestures) else 1


class HandTracker:
    """MediaPipe Hands with FaceFX's conventions: RGB uint8 in, a tuple of results.Hand out.

    max_hands: 1 or 2 (see the module docstring for what 2 costs and how it is kept down).
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
                 min_tracking_confidence: float = 0.5, threads: Optional[int] = None) -> None:
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
        self.threads = max(1, int(threads or INFERENCE_THREADS))
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.min_detection_confidence = float(min_detection_confidence)
        self._landmarks: Optional[_LandmarkCrop] = None
        self._tracked: List[Hand] = []     # video: the hands followed from the last frame
        self._quiet = False         # the photo graph has not projected a hand yet
        quiet_mediapipe()
        try:
            from mediapipe.python.solutions import hands as mp_hands
        except ImportError as exc:
            raise ModelError(f"MediaPipe is not installed ({exc}); install FaceFX's dependencies: "
                             "pip install -e .") from None
        self._mp_hands = mp_hands
        self._options = dict(model_complexity=model_complexity,
                             min_detection_confidence=min_detection_confidence,
                             min_tracking_confidence=min_tracking_confidence)
        # Photos: MediaPipe's graph in photo mode (palm detection on each call). Video: the
        # same two models run here in LiteRT (_track), the graph is not built.
        self._frame = 0
        self._palms: Any = None
        self._solution = self._new_solution() if self.static else None
        if not self.static:
            try:               # both models load now, not on the first frame with a hand
                from .blazeface import LitePalmDetector
                self._crop()
                self._palms = LitePalmDetector(model_complexity, threads=self.threads)
            except ModelError as exc:
                raise ModelError(f"cannot load MediaPipe's hand models: {exc}") from None

    def _new_solution(self) -> Any:
        """MediaPipe's Hands graph in photo mode (palm detection on every call)."""
        from ..nativelogs import quiet_stderr
        try:
            with quiet_stderr():   # the graph's start-up notes (TFLite, absl), see _detect
                solution = self._mp_hands.Hands(static_image_mode=True, max_num_hands=self.max_hands,
                                                **self._options)
                # the graph opens its models on its own threads after the constructor returns;
                # one blank frame waits for that inside this block (no hand: no state is kept)
                solution.process(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:  # a missing or corrupt bundled model file
            raise ModelError(f"cannot load MediaPipe's hand models: {exc}") from None
        self._quiet = True
        return solution

    def __call__(self, image: np.ndarray) -> Tuple[Hand, ...]:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[2] not in (3, 4):
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise FrameError(f"expected an HxWx3 uint8 RGB image, got {got}")
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if not image.flags["C_CONTIGUOUS"]:
            image = np.ascontiguousarray(image)
        if not self.static:
            return tuple(self._track(image))
        hands = self._detect(image)
        if len(hands) < self.max_hands:
            hands = self._search_more(image, hands)
        return tuple(hands)

    def _track(self, image: np.ndarray) -> List[Hand]:
        """Video: each hand of the last frame is looked for again on the crop its landmarks
        give (MediaPipe's tracking step); palm detection runs on every frame while no hand is
        tracked, and every PAIR_SEARCH_EVERY-th frame while fewer than max_hands are. A found
        hand that is one already tracked keeps the tracked landmarks."""
        self._frame += 1
        crop = self._crop()
        kept: List[Hand] = []
        for hand in self._tracked:
            found = crop.refine(image, hand)
            if found is not None and found[1] >= self.min_tracking_confidence \
                    and all(not _same_hand(found[0], k) for k in kept):
                kept.append(found[0])
        if len(kept) < self.max_hands and (not kept or self._frame % PAIR_SEARCH_EVERY == 0):
            for hand in self._find(image, kept):
                if len(kept) < self.max_hands and all(not _same_hand(hand, k) for k in kept):
                    kept.append(hand)
        self._tracked = kept
        return list(kept)

    def _find(self, image: np.ndarray, known: Sequence[Hand]) -> List[Hand]:
        """Video: new hands, best palm first: MediaPipe's palm detector (LitePalmDetector),
        then the landmark model on the crop MediaPipe derives from each palm. A palm that lies
        on a hand already followed is skipped before its landmarks run (MediaPipe's graph
        does the same)."""
        out: List[Hand] = []
        for box, _, kp in self._palms(image, self.min_detection_confidence):
            if len(out) + len(known) >= self.max_hands:
                break
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            if any(_inside(cx, cy, k) for k in list(known) + out):
                continue
            found = self._crop().from_palm(image, box, kp)
            if found is not None and found[1] >= self.min_tracking_confidence:
                out.append(found[0])
        return out

    def _detect(self, image: np.ndarray) -> List[Hand]:
        """Photos: MediaPipe's graph in photo mode."""
        solution = self._solution
        if self._quiet:
            # MediaPipe's graph warns once on stderr (absl, which no variable quiets) when it
            # first projects a hand's landmarks; nothing is wrong, so the user is not shown it
            from ..nativelogs import quiet_stderr
            with quiet_stderr():
                result = solution.process(image)
            if result.multi_hand_landmarks:
                self._quiet = False
        else:
            result = solution.process(image)
        if not result.multi_hand_landmarks:
            return []
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
        return hands

    def _search_more(self, image: np.ndarray, hands: List[Hand]) -> List[Hand]:
        """Photos only: look again where MediaPipe's palm detector found fewer hands than asked
        for. Its two known blind spots (tests/test_gestures.py's evalset photos):

        - a hand that fills the picture (a close-up): no palm is found at any scale, so the
          landmark model is run on the whole picture, and the hand is kept if the model is
          sure a hand is there (presence >= CLOSEUP_PRESENCE; people photos score < 0.01);
        - a second hand overlapping the first: the palm detector's suppression keeps the
          nearer one, so the hands found are painted over and detection runs again.

        A hand found either way gets its landmarks from the model on a crop derived from the
        first landmarks (_LandmarkCrop, as MediaPipe's own tracking does on the next frame).
        """
        try:
            crop = self._crop()
        except ModelError:
            return hands
        height, width = image.shape[:2]
        found: List[Tuple[Hand, np.ndarray]] = []   # a hand, and the picture it was found in
        if not hands:
            first = crop.whole(image)
            if first is not None and first[1] >= CLOSEUP_PRESENCE:
                found.append((first[0], image))
        else:
            covered = image.copy()
            fill = tuple(int(v) for v in image.reshape(-1, 3).mean(axis=0))
            for hand in hands:
                pts = np.array([(x * width, y * height) for x, y, _ in hand.landmarks], np.float32)
                hull = cv2.convexHull(pts.astype(np.int32))
                grow = max(3, int(COVER_GROW * float(np.ptp(pts, axis=0).max())))
                mask = np.zeros((height, width), np.uint8)
                cv2.fillConvexPoly(mask, hull, 255)
                mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
                covered[mask > 0] = fill
            found.extend((hand, covered) for hand in self._detect(covered))
        out = list(hands)
        for hand, picture in found[: self.max_hands - len(hands)]:
            for _ in range(REFINE_PASSES):
                # in the picture it was found in: on the whole photo the crop of a hand partly
                # behind another slides onto the nearer hand
                refined = crop.refine(picture, hand)
                if refined is None or refined[1] < REFINED_PRESENCE:
                    hand = None
                    break
                hand = refined[0]
            if hand is not None and all(not _same_hand(hand, h) for h in out):
                out.append(hand)
        return out

    def _crop(self) -> "_LandmarkCrop":
        if self._landmarks is None:
            self._landmarks = _LandmarkCrop(self.model_complexity, self.mirrored, self.threads)
        return self._landmarks

    def reset(self) -> None:
        """Forget the tracked hands (the next frame runs palm detection afresh)."""
        self._tracked = []
        self._frame = 0

    def close(self) -> None:
        solution = getattr(self, "_solution", None)
        self._solution = None
        self._landmarks = self._palms = None
        self._tracked = []
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
        # Up to two threads whatever the engine asks for (OBS's worker asks for one): MediaPipe's
        # graph, which ran the landmark model here before, used threads of its own, and with
        # one thread beside a busy OBS the hands stage took 34 ms a run instead of 17-21 ms
        # (tests/obs/bench_obs.py --gestures, 2 cores).
        self.threads = max(threads or 1, INFERENCE_THREADS)
        self._tracker: Optional[HandTracker] = None
        self._still: Optional[HandTracker] = None
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
        if getattr(analysis, "still", False) and not self._options["static"]:
            # a picture on its own: palm detection of its own and the photo search
            # (HandTracker._search_more), in a tracker that keeps no state between pictures
            if self._still is None:
                self._still = HandTracker(**dict(self._options, static=True), threads=self.threads)
            self.last = self._still(image)
        else:
            if self._tracker is None:
                self._tracker = HandTracker(**self._options, threads=self.threads)
            self.last = self._tracker(image)
        analysis.hands = self.last

    def reset(self) -> None:
        self.last = ()
        if self._tracker is not None:
            self._tracker.reset()

    def close(self) -> None:
        for tracker in (self._tracker, self._still):
            if tracker is not None:
                tracker.close()
        self._tracker = self._still = None


def _inside(x: float, y: float, hand: Hand) -> bool:
    """Whether the frame point (x, y) lies in the bounding box of the hand's landmarks."""
    xs = [p[0] for p in hand.landmarks]
    ys = [p[1] for p in hand.landmarks]
    return min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys)


def _same_hand(a: Hand, b: Hand) -> bool:
    """Whether two results are one hand: their landmarks lie within SAME_HAND of the hand's
    size (the smaller one's) of each other on average (two overlapping hands differ by more)."""
    pa = np.array([p[:2] for p in a.landmarks])
    pb = np.array([p[:2] for p in b.landmarks])
    size = max(min(float(np.ptp(pa, axis=0).max()), float(np.ptp(pb, axis=0).max())), 1e-6)
    return float(np.linalg.norm(pa - pb, axis=1).mean()) < SAME_HAND * size


class _LandmarkCrop:
    """MediaPipe's bundled hand landmark model run directly in LiteRT on a crop FaceFX chooses
    (the palm detector is what misses, not the landmark model): input 224x224 RGB in 0..1; out
    21 x,y,z in crop pixels, hand presence and handedness (probability of MediaPipe's 'Right',
    which assumes a mirrored picture)."""

    SIZE = 224

    def __init__(self, model_complexity: int, mirrored: bool, threads: int = 1) -> None:
        from .tflite import load_interpreter, mediapipe_model
        name = "full" if model_complexity else "lite"
        self._it = load_interpreter(mediapipe_model(f"modules/hand_landmark/hand_landmark_{name}.tflite"),
                                    num_threads=threads)
        self._input = self._it.get_input_details()[0]["index"]
        out = {d["name"]: d["index"] for d in self._it.get_output_details()}
        self._points, self._presence, self._handed = out["Identity"], out["Identity_1"], out["Identity_2"]
        self.mirrored = mirrored

    def _run(self, image: np.ndarray, centre: np.ndarray, side: float, up: np.ndarray
             ) -> Optional[Tuple[Hand, float]]:
        """The hand in the square of `side` pixels at `centre` whose top points along `up`."""
        height, width = image.shape[:2]
        n = self.SIZE
        s = side / n
        right = np.array([-up[1], up[0]], np.float64)
        down = -up
        m = np.array([[right[0] * s, down[0] * s, 0.0], [right[1] * s, down[1] * s, 0.0]])
        m[:, 2] = centre - (n / 2.0) * s * (right + down)
        crop = cv2.warpAffine(image, m, (n, n), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        self._it.set_tensor(self._input, (crop.astype(np.float32) * np.float32(1 / 255.0))[None])
        self._it.invoke()
        raw = self._it.get_tensor(self._points).reshape(HAND_LANDMARKS, 3).astype(np.float64)
        presence = float(self._it.get_tensor(self._presence).ravel()[0])
        right_p = float(self._it.get_tensor(self._handed).ravel()[0])
        xy = raw[:, :2] @ m[:, :2].T + m[:, 2]
        points = tuple((float(x / width), float(y / height), float(z * s / width))
                       for (x, y), z in zip(xy, raw[:, 2]))
        label = "left" if right_p >= 0.5 else "right"
        if not self.mirrored:
            label = _SWAP[label]
        return Hand(points, label, max(right_p, 1.0 - right_p)), presence

    def whole(self, image: np.ndarray) -> Optional[Tuple[Hand, float]]:
        """The landmark model on the whole picture, upright, padded to a square."""
        height, width = image.shape[:2]
        return self._run(image, np.array([width / 2.0, height / 2.0]), float(max(width, height)),
                         np.array([0.0, -1.0]))

    def from_palm(self, image: np.ndarray, box: Tuple[float, float, float, float], keypoints: np.ndarray
                  ) -> Optional[Tuple[Hand, float]]:
        """The landmark model on the crop MediaPipe derives from a palm detection (palm box
        and keypoints frame-normalised): turned so the wrist-to-middle-finger line points up,
        moved half the box's height towards the fingers, its longer side x PALM_SCALE."""
        height, width = image.shape[:2]
        wrist = keypoints[0] * (width, height)
        up = keypoints[2] * (width, height) - wrist
        norm = float(np.hypot(*up))
        if norm < 1e-6:
            return None
        up = up / norm
        bw, bh = box[2] * width, box[3] * height
        centre = np.array([(box[0] + box[2] / 2) * width, (box[1] + box[3] / 2) * height]) + 0.5 * bh * up
        side = max(bw, bh) * PALM_SCALE
        if side < 8:
            return None
        return self._run(image, centre, side, up)

    def refine(self, image: np.ndarray, hand: Hand) -> Optional[Tuple[Hand, float]]:
        """The landmark model on the ROI MediaPipe derives from `hand`'s landmarks."""
        height, width = image.shape[:2]
        pts = np.array([(x * width, y * height) for x, y, _ in hand.landmarks], np.float64)
        up = pts[9] - pts[0]
        norm = float(np.hypot(*up))
        if norm < 1e-6:
            return None
        up /= norm
        right = np.array([-up[1], up[0]])
        sub = pts[list(ROI_LANDMARKS)]
        u, v = sub @ right, sub @ -up           # coordinates in the hand's frame (v downwards)
        w, h = float(u.max() - u.min()), float(v.max() - v.min())
        cu, cv_ = (u.max() + u.min()) / 2.0 + 0.0, (v.max() + v.min()) / 2.0 + ROI_SHIFT_Y * h
        centre = cu * right + cv_ * -up
        side = max(w, h) * ROI_SCALE
        if side < 8:
            return None
        return self._run(image, centre, side, up)


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
