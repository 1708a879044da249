"""Custom gesture classifiers run in LiteRT: models people already have, and taught ones.

Two kinds of model are recognised from their input tensor:

- **image** (`[1, H, W, 3]`): Teachable Machine's image export. `model_unquant.tflite` is float
  and takes x/127.5 - 1; `model.tflite` is quantised with uint8 input and output and takes the
  raw bytes. The frame is preprocessed as Teachable Machine does: the centre square (for a
  non-square model input, the centred region of the model's aspect), resized to the model's
  size. The whole frame is classified, hands or not.
- **landmarks** (`[1, 42]` or `[1, 63]`): the convention of kinivi's
  hand-gesture-recognition-mediapipe project, whose classifier ships in models/: the 21
  landmarks in pixels of the *mirrored* (selfie) image that project analyses, made relative to
  the wrist, flattened x0, y0, x1, y1, ... (x, y, z with 63 inputs), divided by the largest
  absolute value. FaceFX analyses frames as captured, so x is mirrored before the features are
  made (classify(mirrored=True) for frames that are mirrored already). Pixels, not frame
  fractions: the frame's aspect ratio is part of the features. One hit per hand.

Labels come from `labels.txt` (Teachable Machine: lines "0 Label") or a label CSV (kinivi: one
label per line, optionally with a byte-order mark). A class whose label means "nothing"
(NONE_LABELS, compared case-insensitively without spaces, '_' or '-') never produces a hit: the
Teachable Machine habit of a "Background" class, kinivi-style "None"/"Nothing" classes and the
"none" class that teaching adds.

Interpreters are not thread-safe: one classifier per analysis thread.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from facefx.results import HAND_LANDMARKS, GestureHit, Hand

NONE_LABELS = frozenset({"none", "nothing", "background", "backgroundnoise", "nogesture", "nohand",
                         "empty", "other", "unknown", "idle"})

LABEL_FILES = ("labels.txt", "{stem}_label.csv", "{stem}_labels.csv", "{stem}_labels.txt", "labels.csv")

_EXPECTED = ("expected a TFLite gesture model: a Teachable Machine image export (input [1, H, W, 3], "
             "float or uint8) or a hand-landmark classifier (input [1, 42] or [1, 63] float)")


class GestureModelError(ValueError):
    """A gesture model or its labels cannot be used; the message names the file and the
    expected form."""


def is_none_label(label: str) -> bool:
    """Whether a class label means "no gesture" (it maps to no hit)."""
    return re.sub(r"[\s_\-]+", "", label).lower() in NONE_LABELS


def read_labels(path: str) -> List[str]:
    """Class labels in output order, from a Teachable Machine labels.txt ("0 Label" lines) or a
    one-label-per-line file such as kinivi's keypoint_classifier_label.csv."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise GestureModelError(f"labels file not found: {path} (expected one label per line, "
                                "or Teachable Machine's labels.txt with lines \"0 Label\")") from None
    except OSError as exc:
        raise GestureModelError(f"cannot read labels file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GestureModelError(f"labels file {path} is not UTF-8 text (expected one label per line, "
                                "or lines \"0 Label\")") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise GestureModelError(f"labels file {path} is empty (expected one label per line, "
                                "or lines \"0 Label\")")
    numbered = [re.match(r"^(\d+)\s+(.+)$", line) for line in lines]
    if all(numbered) and [int(m.group(1)) for m in numbered] == list(range(len(lines))):
        return [m.group(2).strip() for m in numbered]
    return [line.strip('"') for line in lines]


def find_labels(model_path: str) -> Optional[str]:
    """The labels file that sits beside a model under one of the usual names, if any."""
    folder = os.path.dirname(os.path.abspath(model_path))
    stem = os.path.splitext(os.path.basename(model_path))[0]
    for pattern in LABEL_FILES:
        candidate = os.path.join(folder, pattern.format(stem=stem))
        if os.path.isfile(candidate):
            return candidate
    return None


def landmark_features(landmarks: Sequence[Sequence[float]], frame_size: Tuple[int, int], *,
                      mirrored: bool = False, with_z: bool = False) -> np.ndarray:
    """kinivi's pre_process_landmark for one hand: 42 (or 63 with z) float32 values.

    landmarks: 21 (x, y, z) normalised to the frame; frame_size: (width, height) in pixels;
    mirrored: the frame is already the selfie view that convention is defined on.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[0] != HAND_LANDMARKS or points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"expected {HAND_LANDMARKS} landmarks (x, y[, z]), got shape {points.shape}")
    width, height = frame_size
    x = points[:, 0] if mirrored else 1.0 - points[:, 0]
    columns = [x * width, points[:, 1] * height]
    if with_z:
        z = points[:, 2] if points.shape[1] > 2 else np.zeros(HAND_LANDMARKS)
        columns.append(z * width)
    rel = np.stack(columns, axis=1)
    rel = rel - rel[0]
    flat = rel.ravel()
    peak = float(np.abs(flat).max())
    if peak > 0:
        flat = flat / peak
    return flat.astype(np.float32)


def _softmax_if_needed(scores: np.ndarray) -> np.ndarray:
    """Models usually end in softmax; logits (outside 0..1 or not summing to 1) are made
    probabilities so min_score means the same for every model."""
    if scores.min() >= -1e-6 and scores.max() <= 1 + 1e-6 and abs(float(scores.sum()) - 1.0) < 0.05:
        return scores
    e = np.exp(scores - scores.max())
    return e / e.sum()


class GestureClassifier:
    """A loaded gesture model. Use load_gesture_model() to make one.

    labels: class labels in output order; kind: 'image' or 'landmarks'; path: the model file;
    min_score: a class below this probability gives no hit.
    """

    kind = ""

    def __init__(self, path: str, interpreter, labels: List[str], min_score: float) -> None:
        self.path = path
        self.labels = list(labels)
        self.min_score = float(min_score)
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        self._none = np.array([is_none_label(label) for label in self.labels])

    def _run(self, x: np.ndarray, quantise: bool = True) -> np.ndarray:
        """Probabilities for one input; float input is quantised (when the model's input is
        integer and `quantise`) and output dequantised with the model's own parameters."""
        dtype = self._input["dtype"]
        if dtype != np.float32 and quantise:
            x = self._quantise_input(x)
        self._interpreter.set_tensor(self._input["index"], x.reshape(self._input["shape"]).astype(dtype))
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._output["index"]).reshape(-1)
        if y.dtype != np.float32:
            scale, zero = self._output.get("quantization", (0.0, 0))
            y = (y.astype(np.float32) - zero) * scale if scale else y.astype(np.float32) / 255.0
        return _softmax_if_needed(y.astype(np.float32))

    def _quantise_input(self, x: np.ndarray) -> np.ndarray:
        scale, zero = self._input.get("quantization", (0.0, 0))
        info = np.iinfo(self._input["dtype"])
        return np.clip(np.round(x / scale + zero), info.min, info.max)

    def _hit(self, probs: np.ndarray, hands: Tuple[int, ...]) -> Optional[GestureHit]:
        best = int(np.argmax(probs))
        if self._none[best] or probs[best] < self.min_score:
            return None
        return GestureHit(self.labels[best], float(probs[best]), hands)

    def classify(self, hands: Sequence[Hand], frame_rgb: Optional[np.ndarray] = None, *,
                 mirrored: bool = False, frame_size: Optional[Tuple[int, int]] = None) -> List[GestureHit]:
        """Gesture hits for one frame (before hold and cooldown decide what fires)."""
        raise NotImplementedError


class ImageClassifier(GestureClassifier):
    """A Teachable Machine image model: the whole frame, centre-cropped and resized."""

    kind = "image"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        _, self.height, self.width, _ = (int(v) for v in self._input["shape"])

    def preprocess(self, frame_rgb: np.ndarray) -> np.ndarray:
        """The model's input for a frame: the centred region of the model's aspect, resized
        to the model's size (area interpolation, like a browser's canvas downscale), as
        x/127.5 - 1 for float models and raw bytes for uint8 ones (int8: bytes - 128)."""
        import cv2

        frame = np.asarray(frame_rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        fh, fw = frame.shape[:2]
        target = self.width / self.height
        if fw / fh > target:
            cw, ch = max(1, round(fh * target)), fh
        else:
            cw, ch = fw, max(1, round(fw / target))
        x0, y0 = (fw - cw) // 2, (fh - ch) // 2
        crop = frame[y0:y0 + ch, x0:x0 + cw]
        if (cw, ch) != (self.width, self.height):
            shrinking = cw > self.width
            crop = cv2.resize(crop, (self.width, self.height),
                              interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        dtype = self._input["dtype"]
        if dtype == np.uint8:
            return crop.copy()
        if dtype == np.int8:
            return (crop.astype(np.int16) - 128).astype(np.int8)
        return crop.astype(np.float32) / 127.5 - 1.0

    def probabilities(self, frame_rgb: np.ndarray) -> np.ndarray:
        """Class probabilities for a frame, in label order."""
        return self._run(self.preprocess(frame_rgb), quantise=False)

    def classify(self, hands, frame_rgb=None, *, mirrored=False, frame_size=None):
        """At most one hit for the frame; its hands are all the frame's hands (the image shows
        them), so a sticker that follows the hand has one to follow. No frame, no hit."""
        if frame_rgb is None:
            return []
        hit = self._hit(self.probabilities(frame_rgb), tuple(range(len(hands))))
        return [hit] if hit else []


class LandmarkClassifier(GestureClassifier):
    """A hand-landmark classifier (kinivi's convention): one hit per hand."""

    kind = "landmarks"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.with_z = int(np.prod(self._input["shape"])) == 3 * HAND_LANDMARKS

    def probabilities(self, hand: Hand, frame_size: Tuple[int, int], *, mirrored: bool = False) -> np.ndarray:
        """Class probabilities for one hand, in label order."""
        return self._run(landmark_features(hand.landmarks, frame_size, mirrored=mirrored, with_z=self.with_z))

    def classify(self, hands, frame_rgb=None, *, mirrored=False, frame_size=None):
        """One hit per hand whose best class is a gesture above min_score. The frame (or
        frame_size=(width, height)) gives the aspect ratio the features need."""
        if frame_size is None:
            if frame_rgb is None:
                raise ValueError("landmark classifiers need the frame or frame_size=(width, height)")
            frame_size = (frame_rgb.shape[1], frame_rgb.shape[0])
        hits = []
        for i, hand in enumerate(hands):
            hit = self._hit(self.probabilities(hand, frame_size, mirrored=mirrored), (i,))
            if hit:
                hits.append(hit)
        return hits


def load_gesture_model(model_path: str, labels_path: Optional[str] = None, *, min_score: float = 0.5,
                       num_threads: int = 1) -> GestureClassifier:
    """Load a custom gesture model and its labels.

    labels_path: default a labels file beside the model (labels.txt, NAME_label.csv, ...).

    Raises:
        GestureModelError: the model is missing, not a TFLite file, corrupt, has an input
            FaceFX cannot feed, or its labels are missing or do not match its outputs.
    """
    from facefx.analysis.tflite import ModelError, load_interpreter

    if not os.path.isfile(model_path):
        raise GestureModelError(f"gesture model not found: {model_path} ({_EXPECTED})")
    try:
        with open(model_path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise GestureModelError(f"cannot read gesture model {model_path}: {exc.strerror}") from None
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise GestureModelError(f"{model_path} is not a TFLite model ({_EXPECTED})")
    try:
        interpreter = load_interpreter(model_path, num_threads=num_threads)
    except ModelError as exc:
        raise GestureModelError(f"{exc} ({_EXPECTED})") from None

    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise GestureModelError(f"{model_path} has {len(inputs)} inputs and {len(outputs)} outputs; "
                                f"{_EXPECTED}, with one output of class scores")
    shape = [int(v) for v in inputs[0]["shape"]]
    dtype = inputs[0]["dtype"]
    quantised = dtype in (np.uint8, np.int8)
    if len(shape) == 4 and shape[0] == 1 and shape[3] == 3 and shape[1] >= 8 and shape[2] >= 8 \
            and (dtype == np.float32 or quantised):
        cls = ImageClassifier
    elif int(np.prod(shape)) in (2 * HAND_LANDMARKS, 3 * HAND_LANDMARKS) and len(shape) <= 2 \
            and (dtype == np.float32 or (quantised and inputs[0]["quantization"][0] > 0)):
        cls = LandmarkClassifier
    else:
        raise GestureModelError(f"{model_path} has input {shape} {np.dtype(dtype).name}, which FaceFX "
                                f"cannot feed; {_EXPECTED}")
    classes = int(np.prod(outputs[0]["shape"]))

    if labels_path is None:
        labels_path = find_labels(model_path)
        if labels_path is None:
            raise GestureModelError(f"no labels file beside {model_path}: expected labels.txt (lines "
                                    "\"0 Label\") or one of " + ", ".join(LABEL_FILES) + ", or pass the labels path")
    labels = read_labels(labels_path)
    if len(labels) != classes:
        raise GestureModelError(f"labels file {labels_path} has {len(labels)} labels but {model_path} "
                                f"has {classes} outputs; expected one label per output, in order")
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be within 0..1, got {min_score}")
    return cls(os.path.abspath(model_path), interpreter, labels, min_score)
