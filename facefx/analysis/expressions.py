"""Facial expressions per tracked face: a CNN on an aligned crop, face-mesh geometry against
each person's own resting face, their combination, and hysteresis over time.

Why both: the FER2013 CNN reads texture (frowns, teeth) but confuses a closed-mouth smile or a
surprised face in poor light; the mesh geometry measures what moved (mouth corners, jaw, brows,
eyelids) but only relative to how that person looks at rest, since a fixed threshold misfires on
faces whose resting mouth turns down (DESIGN.md). The geometry therefore votes only where it is
decisive (a smile, an open-mouthed surprise) and the CNN decides the rest.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..results import EXPRESSIONS, Face
from . import Analysis, Stage
from .tflite import ModelError, load_interpreter

# Face-mesh indices (MediaPipe's 468-point topology).
EYE_OUTER = (33, 263)
MOUTH_CORNERS = (61, 291)
LIP_INNER = (13, 14)
LIP_OUTER = (0, 17)
EYE_LIDS = ((159, 145), (386, 374))
BROWS = (105, 334)
NOSE_BRIDGE, NOSE_TIP = 168, 1

FEATURES = ("mouth_lift", "lip_open", "brow_height", "eye_open", "nose_wrinkle", "mouth_width")
# A typical resting face, used until a person's own baseline is learned (and for single photos).
DEFAULT_BASELINE = {"mouth_lift": -0.01, "lip_open": 0.0, "brow_height": 0.29, "eye_open": 0.09,
                    "nose_wrinkle": 0.74, "mouth_width": 0.58}


class ExpressionModelError(ModelError):
    """An expression model or labels file that cannot be used; names the file and the expected form."""


def _aligned(points: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Mesh points in a roll-free frame with the inter-ocular distance as the unit, so features
    do not depend on head tilt, distance to the camera or frame size."""
    w, h = size
    p = points[:, :2].astype(np.float64) * (w, h)
    a, b = p[EYE_OUTER[0]], p[EYE_OUTER[1]]
    d = b - a
    iod = float(np.hypot(*d))
    if iod <= 1e-9:
        raise ValueError("face landmarks are degenerate: the outer eye corners coincide")
    c, s = d / iod
    rot = np.array([[c, s], [-s, c]])
    return ((p - (a + b) / 2) @ rot.T) / iod


def geometry_features(landmarks: Sequence[Tuple[float, float]], frame_size: Tuple[int, int] = (1, 1)
                      ) -> Dict[str, float]:
    """Expression features of one face mesh (y grows downwards, unit = eye distance):
    mouth_lift: how far the mouth corners sit above the upper lip's middle (smile > 0;
    an open mouth alone does not lift it);
    lip_open: gap between the inner lips; brow_height: brow above the eye line;
    eye_open: eyelid gap; nose_wrinkle: nose bridge to upper lip (shrinks in disgust);
    mouth_width: corner-to-corner distance (widens in a smile)."""
    pts = np.asarray(landmarks, np.float64)
    if pts.ndim != 2 or pts.shape[0] < 468 or pts.shape[1] < 2:
        raise ValueError(f"expected at least 468 face-mesh points (x, y), got shape {pts.shape}")
    q = _aligned(pts, frame_size)
    lip_centre_y = q[LIP_INNER[0], 1]
    corners_y = (q[MOUTH_CORNERS[0], 1] + q[MOUTH_CORNERS[1], 1]) / 2
    eye_open = np.mean([q[lo, 1] - q[up, 1] for up, lo in EYE_LIDS])
    brow = -np.mean([q[i, 1] for i in BROWS])
    return {
        "mouth_lift": float(lip_centre_y - corners_y),
        "lip_open": float(q[LIP_INNER[1], 1] - q[LIP_INNER[0], 1]),
        "brow_height": float(brow),
        "eye_open": float(eye_open),
        "nose_wrinkle": float(q[LIP_OUTER[0], 1] - q[NOSE_BRIDGE, 1]),
        "mouth_width": float(np.hypot(*(q[MOUTH_CORNERS[1]] - q[MOUTH_CORNERS[0]]))),
    }


def geometry_scores(features: Dict[str, float], baseline: Optional[Dict[str, float]] = None
                    ) -> Dict[str, float]:
    """0..1 evidence per expression from the change against the resting face. Only smiles,
    surprise and disgust have a geometric signature distinct enough to trust."""
    base = baseline or DEFAULT_BASELINE
    d = {k: features[k] - base[k] for k in FEATURES}

    def ramp(x: float, lo: float, hi: float) -> float:
        return float(min(max((x - lo) / (hi - lo), 0.0), 1.0))

    happy = max(ramp(d["mouth_lift"], 0.03, 0.09), ramp(d["mouth_width"], 0.08, 0.2) * ramp(d["mouth_lift"], 0.0, 0.05))
    surprise = ramp(d["lip_open"], 0.12, 0.3) * max(ramp(d["brow_height"], 0.02, 0.08), ramp(d["eye_open"], 0.015, 0.04))
    disgust = ramp(-d["nose_wrinkle"], 0.03, 0.08) * (1.0 - happy)
    moved = max(abs(d["mouth_lift"]) / 0.06, d["lip_open"] / 0.15, abs(d["brow_height"]) / 0.06)
    neutral = float(max(0.0, 1.0 - moved))
    return {"happy": happy, "surprise": surprise, "disgust": disgust, "neutral": neutral}


def combine(cnn: Optional[Dict[str, float]], geometry: Optional[Dict[str, float]]) -> Dict[str, float]:
    """One distribution from the CNN's and the geometry's evidence. A decisive geometric smile or
    surprise overrides the CNN (it reads a closed-mouth smile as neutral or sad); otherwise the
    CNN's distribution stands, nudged towards neutral when the face has not moved."""
    if cnn is None and geometry is None:
        return {"neutral": 1.0}
    if cnn is None:
        out = dict(geometry)
        total = sum(out.values()) or 1.0
        return {k: v / total for k, v in out.items()}
    out = dict(cnn)
    if geometry:
        for name in ("happy", "surprise"):
            g = geometry.get(name, 0.0)
            if g >= 0.5:
                out[name] = out.get(name, 0.0) + g
        if geometry.get("happy", 0.0) < 0.2 and geometry.get("surprise", 0.0) < 0.2:
            # No smile and no open-mouthed surprise: the CNN's happy/surprise is texture noise.
            out["happy"] = out.get("happy", 0.0) * 0.3
            out["surprise"] = out.get("surprise", 0.0) * 0.3
        out["neutral"] = out.get("neutral", 0.0) + 0.25 * geometry.get("neutral", 0.0)
    total = sum(out.values()) or 1.0
    return {k: v / total for k, v in out.items()}


def aligned_crop(image: np.ndarray, landmarks: Sequence[Tuple[float, float]], size: int,
                 *, scale: float = 2.2) -> np.ndarray:
    """A square crop of the face, rotated so the eyes are level and scaled from the mesh: its
    side is `scale` eye distances, centred a little below the eyes (the face's middle)."""
    h, w = image.shape[:2]
    pts = np.asarray(landmarks, np.float64)[:, :2] * (w, h)
    a, b = pts[EYE_OUTER[0]], pts[EYE_OUTER[1]]
    iod = float(np.hypot(*(b - a)))
    angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    eyes = (a + b) / 2
    mouth = (pts[MOUTH_CORNERS[0]] + pts[MOUTH_CORNERS[1]]) / 2
    centre = eyes * 0.55 + mouth * 0.45
    side = max(iod * scale, 2.0)
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, size / side)
    m[:, 2] += (size / 2 - centre[0], size / 2 - centre[1])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def box_crop(image: np.ndarray, box: Tuple[float, float, float, float], pad_px: int = 10) -> np.ndarray:
    """The tutorial crop: the face box padded by pad_px pixels, clipped to the image."""
    h, w = image.shape[:2]
    x0 = max(int(box[0] * w) - pad_px, 0)
    y0 = max(int(box[1] * h) - pad_px, 0)
    x1 = min(int((box[0] + box[2]) * w) + pad_px, w)
    y1 = min(int((box[1] + box[3]) * h) + pad_px, h)
    return image[y0:y1, x0:x1]


def read_labels(path: str) -> List[str]:
    """Labels from a Teachable Machine style file: one "INDEX Label" line per class."""
    if not os.path.isfile(path):
        raise ExpressionModelError(f"labels file not found: {path} (expected a text file with one "
                                   "'INDEX Label' line per class)")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ExpressionModelError(f"cannot read labels file {path}: {exc}") from None
    labels = []
    for n, line in enumerate(lines):
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != n:
            raise ExpressionModelError(f"labels file {path}, line {n + 1}: {line!r}; expected '{n} Label' "
                                       "(index, space, name, numbered from 0)")
        labels.append(parts[1].strip().lower().replace(" ", "_"))
    if not labels:
        raise ExpressionModelError(f"labels file {path} is empty; expected one 'INDEX Label' line per class")
    return labels


def default_model_path() -> str:
    from .. import models
    return models.path("fer_emotion/emotion_model_quantized.tflite")


class ExpressionModel:
    """An image classifier in LiteRT whose layout is read from the model itself:
    'fer': [1, 48|64, 48|64, 1] grayscale float, input scaled to -1..1, 7 FER2013 classes;
    'teachable': [1, 224, 224, 3] RGB (float x/127.5-1, or uint8 raw 0-255), labels from labels.txt.
    """

    def __init__(self, path: Optional[str] = None, labels: Optional[str] = None, *, threads: int = 1) -> None:
        path = path or default_model_path()
        self.path = path
        self._it = load_interpreter(path, num_threads=threads)
        inp = self._it.get_input_details()
        out = self._it.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ExpressionModelError(f"{path}: expected one input and one output tensor, got "
                                       f"{len(inp)} and {len(out)}")
        self._in, self._out = inp[0], out[0]
        shape = tuple(int(v) for v in self._in["shape"])
        n_out = int(np.prod(self._out["shape"]))
        if len(shape) == 4 and shape[3] == 1 and shape[1] == shape[2] and shape[1] in (48, 64):
            self.layout = "fer"
        elif len(shape) == 4 and shape[3] == 3 and shape[1] == shape[2] == 224:
            self.layout = "teachable"
        else:
            raise ExpressionModelError(f"{path}: input shape {list(shape)} is not a supported layout; expected "
                                       "[1,48,48,1] or [1,64,64,1] (FER) or [1,224,224,3] (Teachable Machine)")
        self.size = shape[1]
        if labels is not None:
            self.labels = read_labels(labels)
        elif self.layout == "fer" and n_out == len(EXPRESSIONS):
            self.labels = list(EXPRESSIONS)
        else:
            raise ExpressionModelError(f"{path}: a {self.layout} model with {n_out} outputs needs a labels file "
                                       "(one 'INDEX Label' line per output)")
        if len(self.labels) != n_out:
            raise ExpressionModelError(f"{labels or path}: {len(self.labels)} labels for a model with {n_out} "
                                       "outputs; expected one label per output")

    def prepare(self, crop_rgb: np.ndarray) -> np.ndarray:
        """The model's input tensor for an RGB face crop of any size."""
        img = cv2.resize(crop_rgb, (self.size, self.size), interpolation=cv2.INTER_AREA)
        dtype = self._in["dtype"]
        if self.layout == "fer":
            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, :, None]
        if dtype == np.uint8:
            return img[None].astype(np.uint8)
        x = img[None].astype(np.float32)
        return (x / 255.0 - 0.5) * 2.0 if self.layout == "fer" else x / 127.5 - 1.0

    def classify(self, crop_rgb: np.ndarray) -> Dict[str, float]:
        """Probabilities per label for one RGB face crop."""
        self._it.set_tensor(self._in["index"], self.prepare(crop_rgb))
        self._it.invoke()
        y = self._it.get_tensor(self._out["index"]).reshape(-1).astype(np.float64)
        if self._out["dtype"] == np.uint8:
            y = y / 255.0
        if y.min() < 0 or y.sum() <= 0 or abs(y.sum() - 1.0) > 0.05:
            e = np.exp(y - y.max())
            y = e / e.sum()
        return {lab: float(v) for lab, v in zip(self.labels, y)}


@dataclass
class _Person:
    first_seen: float
    samples: List[Dict[str, float]] = field(default_factory=list)
    baseline: Optional[Dict[str, float]] = None
    smoothed: Dict[str, float] = field(default_factory=dict)
    last_t: float = 0.0
    current: str = "neutral"
    score: float = 0.0
    candidate: str = ""
    candidate_since: float = 0.0


class ExpressionTracker:
    """Per-face temporal state: the neutral baseline and the hysteresis that keeps an emoji
    steady. A new expression replaces the shown one only when its smoothed probability beats the
    shown one's by `margin` for `hold_s` (a change shows within tau + hold, under 0.5 s);
    below `min_confidence` the face keeps what it had. A new face starts neutral (its first
    frames go through the same hold, so a misread first frame never shows).

    calibrate_s: how long, from when a face is first seen, its geometry is collected for its
        resting baseline (the median, so a brief expression meanwhile does not shift it).
    """

    def __init__(self, *, tau_s: float = 0.15, hold_s: float = 0.2, margin: float = 0.15,
                 min_confidence: float = 0.4, calibrate_s: float = 2.0, keep_s: float = 5.0,
                 clock: Optional[Callable[[], float]] = None) -> None:
        self.tau_s, self.hold_s, self.margin = tau_s, hold_s, margin
        self.min_confidence, self.calibrate_s, self.keep_s = min_confidence, calibrate_s, keep_s
        self.people: Dict[int, _Person] = {}

    def recalibrate(self, track_id: Optional[int] = None, t: Optional[float] = None) -> None:
        """Learn the resting face again (for one face, or all): the next calibrate_s seconds count."""
        for tid, p in self.people.items():
            if track_id is None or tid == track_id:
                p.samples.clear()
                p.baseline = None
                p.first_seen = p.last_t if t is None else t

    def baseline(self, track_id: int) -> Optional[Dict[str, float]]:
        p = self.people.get(track_id)
        return p.baseline if p else None

    def observe_geometry(self, track_id: int, features: Dict[str, float], t: float) -> Optional[Dict[str, float]]:
        """Feed one frame's geometry; returns the person's baseline once learned."""
        p = self.people.setdefault(track_id, _Person(first_seen=t, last_t=t))
        if p.baseline is None:
            if t - p.first_seen <= self.calibrate_s:
                p.samples.append(features)
            elif p.samples:
                p.baseline = {k: float(np.median([s[k] for s in p.samples])) for k in FEATURES}
        return p.baseline

    def update(self, track_id: int, probs: Dict[str, float], t: float) -> Tuple[str, float]:
        """The expression to show for this face at time t, and its confidence."""
        p = self.people.setdefault(track_id, _Person(first_seen=t, last_t=t))
        for tid in [k for k, q in self.people.items() if t - q.last_t > self.keep_s and k != track_id]:
            del self.people[tid]
        dt = max(t - p.last_t, 0.0)
        a = 1.0 if not p.smoothed else 1.0 - math.exp(-dt / self.tau_s)
        keys = set(p.smoothed) | set(probs)
        p.smoothed = {k: (1 - a) * p.smoothed.get(k, 0.0) + a * probs.get(k, 0.0) for k in keys}
        p.last_t = t
        best = max(p.smoothed, key=p.smoothed.get)
        conf = p.smoothed[best]
        cur = p.smoothed.get(p.current, 0.0)
        if best != p.current and conf >= self.min_confidence and conf >= cur + self.margin:
            if p.candidate != best:
                p.candidate, p.candidate_since = best, t
            if t - p.candidate_since >= self.hold_s:
                p.current, p.candidate = best, ""
        else:
            p.candidate = ""
        p.score = p.smoothed.get(p.current, 0.0)
        return p.current, p.score

    def reset(self) -> None:
        self.people.clear()


class ExpressionsStage(Stage):
    """Adds an expression to each face in analysis.faces (run after FacesStage).

    mode: 'combined' (CNN + geometry), 'cnn' or 'geometry'.
    model/labels: a custom LiteRT model (FER or Teachable Machine layout) and its labels file.
    """

    name = "expressions"
    outputs = ("faces",)
    needs = ("faces",)

    def __init__(self, *, mode: str = "combined", model: Optional[str] = None, labels: Optional[str] = None,
                 threads: Optional[int] = None, tracker: Optional[ExpressionTracker] = None) -> None:
        if mode not in ("combined", "cnn", "geometry"):
            raise ValueError(f"mode must be combined, cnn or geometry, got {mode!r}")
        self.mode = mode
        self.threads = threads or 1
        self.model = None if mode == "geometry" else ExpressionModel(model, labels, threads=self.threads)
        self.custom = model is not None
        self._source = (model or "", labels or "")
        self.tracker = tracker or ExpressionTracker()
        self._probs: Dict[int, Dict[str, float]] = {}     # each face's latest frame reading

    def input_size(self, settings, width: int, height: int) -> Tuple[int, int]:
        """The faces stage's image: the landmarks and the crop come from the same pixels."""
        from .hands import hands_input_size
        return hands_input_size(width, height)

    def configure(self, settings) -> None:
        """Apply settings.expressions: a custom model (and labels) is loaded when it changes;
        a bad one raises ExpressionModelError naming the file, and the last model stays."""
        section = getattr(settings, "expressions", None)
        if section is None:
            return
        self.tracker.min_confidence = float(section.min_confidence)
        if self.mode == "geometry":
            return
        source = (section.model or "", section.labels or "")
        if source == self._source:
            return
        self.model = ExpressionModel(source[0] or None, source[1] or None, threads=self.threads)
        self.custom = bool(source[0])
        self._source = source
        self.tracker.reset()

    def frame_probs(self, image: np.ndarray, face: Face, t: Optional[float]) -> Dict[str, float]:
        """One frame's expression distribution for one face (no smoothing)."""
        h, w = image.shape[:2]
        cnn = geo = None
        # One array for the features and the crop: converting 468 point tuples costs ~0.15 ms.
        pts = np.asarray(face.landmarks, np.float64) if len(face.landmarks) >= 468 else None
        if pts is not None:
            feats = geometry_features(pts, (w, h))
            base = self.tracker.observe_geometry(face.track_id, feats, t) if t is not None else None
            if not self.custom:
                geo = geometry_scores(feats, base)
        if self.model is not None:
            if pts is not None:
                crop = aligned_crop(image, pts, max(self.model.size, 96))
            else:
                crop = box_crop(image, face.box)
            if crop.size:
                cnn = self.model.classify(crop)
        if self.mode == "cnn" or self.custom:
            return cnn or {"neutral": 1.0}
        if self.mode == "geometry":
            return combine(None, geo) if geo else {"neutral": 1.0}
        return combine(cnn, geo)

    def classify_still(self, image: np.ndarray, face: Face) -> Tuple[str, float]:
        """The expression of a face in a single photo (no history, default baseline)."""
        probs = self.frame_probs(image, face, None)
        best = max(probs, key=probs.get)
        return best, probs[best]

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        out = []
        still = getattr(analysis, "still", False)
        live = {f.track_id for f in analysis.faces}
        for tid in [k for k in self._probs if k not in live]:
            del self._probs[tid]
        for face in analysis.faces:
            if still:
                # A photo: its most likely expression, against the typical resting face (what
                # `facefx eval expressions` measures). min_confidence is not applied: it keeps a
                # video's last emoji through an uncertain moment, and a photo has no last one.
                label, score = self.classify_still(image, face)
            else:
                meshed = analysis.extras.get("faces_meshed")
                probs = self._probs.get(face.track_id)
                if probs is None or meshed is None or face.track_id in meshed:
                    # A face whose mesh did not run this frame (the faces stage's budget)
                    # has only moved landmarks: its last reading stands.
                    probs = self._probs[face.track_id] = self.frame_probs(image, face, analysis.timestamp)
                label, score = self.tracker.update(face.track_id, probs, analysis.timestamp)
            out.append(replace(face, expression=label, expression_score=float(score)))
        analysis.faces = tuple(out)

    def recalibrate(self, track_id: Optional[int] = None) -> None:
        self.tracker.recalibrate(track_id)

    def reset(self) -> None:
        self.tracker.reset()
        self._probs.clear()
