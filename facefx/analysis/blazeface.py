"""MediaPipe's bundled face detectors (BlazeFace short-range and full-range) run directly in
LiteRT, with the pre- and post-processing of MediaPipe's face_detection graphs done here.

MediaPipe's FaceDetection solution copies and converts the whole frame inside its graph on
every call, which at 1280x720 costs more than the model (short-range: ~4 ms per call against
1.1 ms for the model). Here the frame is halved (reduce()) and letterboxed to the model's
input (128 or 192 px, aspect kept, black borders, values in [-1, 1], as the graph's
ImageToTensorCalculator does), the SSD anchors are those of the graph's SsdAnchorsCalculator options, boxes and the six
keypoints are decoded as its TensorsToDetectionsCalculator does (sigmoid scores clipped at
+-100, x/y/w/h scaled by the input size, fixed-size anchors), overlapping boxes are merged by
MediaPipe's weighted non-maximum suppression (IoU 0.3), and the letterbox is removed.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .tflite import load_interpreter, mediapipe_model

Box = Tuple[float, float, float, float]

# model -> (file, input size, anchor strides); both use min/max scale 0.1484375/0.75, offset 0.5,
# aspect ratio 1 and fixed-size anchors, so only the grid matters.
MODELS: Dict[str, Tuple[str, int, Tuple[int, ...]]] = {
    "short": ("modules/face_detection/face_detection_short_range.tflite", 128, (8, 16, 16, 16)),
    "full": ("modules/face_detection/face_detection_full_range_sparse.tflite", 192, (4,)),
}
NMS_IOU = 0.3
KEYPOINTS = 6    # right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion


def anchors(size: int, strides: Tuple[int, ...]) -> np.ndarray:
    """(N, 2) anchor centres (x, y in 0..1), in the order of the model's outputs: per layer,
    row by row, each cell repeated once per anchor; layers of equal stride share one grid
    with an anchor per layer (SsdAnchorsCalculator with aspect ratio 1 and
    interpolated_scale_aspect_ratio 1: two anchors per layer)."""
    out = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        same = 0
        while i < len(strides) and strides[i] == stride:
            same += 1
            i += 1
        # each layer yields two anchors per cell (aspect 1 plus the interpolated scale), except
        # a single-layer model built with interpolated_scale_aspect_ratio 0 (full-range): one
        per_cell = 2 * same if len(strides) > 1 else 1
        cells = int(np.ceil(size / stride))
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def reduce(rgb: np.ndarray, width: int) -> np.ndarray:
    """The frame halved (2x2 means: fast, and small faces are not aliased away) while it stays
    at least `width` pixels wide."""
    img = rgb
    while img.shape[1] >= 2 * width and img.shape[0] >= 4:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return img


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = NMS_IOU) -> List[Tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-maximum suppression: boxes (N, 4 as x0, y0, x1, y1) that
    overlap the best remaining one by more than `threshold` are merged into it, weighted by
    score (its keypoints too); the merged detection keeps the best score."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    out = []
    remaining = np.arange(len(scores))
    while remaining.size:
        best = remaining[0]
        overlap = _iou(boxes[best], boxes[remaining])
        group = remaining[overlap > threshold]
        if group.size == 0:
            group = remaining[:1]
        w = scores[group][:, None]
        merged_box = (boxes[group] * w).sum(0) / w.sum()
        merged_kp = (keypoints[group] * w[:, :, None] if keypoints.ndim == 3 else keypoints[group] * w).sum(0) / w.sum()
        out.append((merged_box, merged_kp, float(scores[best])))
        remaining = remaining[overlap <= threshold]
    return out


class _LiteSsd:
    """A MediaPipe SSD detector (BlazeFace, the palm detector) run in LiteRT with its graph's
    processing: the frame letterboxed to the model's square input (aspect kept, black borders,
    values scaled to `value_range`), sigmoid scores clipped at +-100, boxes and `keypoints`
    keypoints decoded against fixed-size anchors, weighted NMS, the letterbox removed.

    __call__(rgb, min_score, prescale) -> [(box, score, keypoints)], box (x, y, w, h)
    normalised to the frame (not clipped), keypoints (K, 2) normalised (x, y), best first.
    """

    def __init__(self, path: str, size: int, strides: Tuple[int, ...], keypoints: int,
                 value_range: Tuple[float, float], *, threads: int = 1) -> None:
        self.size, self.keypoints, self.value_range = size, keypoints, value_range
        self._it = load_interpreter(mediapipe_model(path), num_threads=threads)
        self._in = self._it.get_input_details()[0]["index"]
        outs = sorted(self._it.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self._reg, self._cls = outs[0]["index"], outs[1]["index"]
        self.anchors = anchors(size, strides)
        n = int(outs[0]["shape"][1])
        if n != len(self.anchors):
            raise ValueError(f"{path}: {n} boxes, expected {len(self.anchors)} anchors")
        self._buf = np.zeros((1, size, size, 3), np.float32)

    def __call__(self, rgb: np.ndarray, min_score: float = 0.5, prescale: Optional[int] = None
                 ) -> List[Tuple[Box, float, np.ndarray]]:
        """prescale: first halve the frame down to about this width (reduce()); then, as
        MediaPipe's graph does, a bilinear resize to the model's input."""
        h, w = rgb.shape[:2]
        s = self.size
        scale = s / max(w, h)
        nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        img = reduce(rgb[:, :, :3], prescale) if prescale else rgb[:, :, :3]
        small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        ox, oy = (s - nw) // 2, (s - nh) // 2
        lo, hi = self.value_range
        buf = self._buf
        buf.fill(lo)   # black borders: MediaPipe pads the picture with 0 before scaling it
        np.multiply(small, (hi - lo) / 255.0, out=buf[0, oy:oy + nh, ox:ox + nw], casting="unsafe")
        if lo:
            buf[0, oy:oy + nh, ox:ox + nw] += lo
        self._it.set_tensor(self._in, buf)
        self._it.invoke()
        raw = self._it.get_tensor(self._reg)[0]
        logits = np.clip(self._it.get_tensor(self._cls)[0, :, 0].astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= min_score
        if not keep.any():
            return []
        raw, scores, anc = raw[keep], scores[keep], self.anchors[keep]
        k = self.keypoints
        cx = raw[:, 0] / s + anc[:, 0]
        cy = raw[:, 1] / s + anc[:, 1]
        bw, bh = raw[:, 2] / s, raw[:, 3] / s
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        kps = raw[:, 4:4 + 2 * k].reshape(-1, k, 2) / s + anc[:, None, :]
        out = []
        # letterbox removal: input-square coordinates -> frame-normalised
        fx, fy = s / nw, s / nh
        px, py = ox / s, oy / s
        for box, kp, score in weighted_nms(boxes, kps, scores):
            x0, y0 = (box[0] - px) * fx, (box[1] - py) * fy
            x1, y1 = (box[2] - px) * fx, (box[3] - py) * fy
            kp = np.stack([(kp[:, 0] - px) * fx, (kp[:, 1] - py) * fy], axis=1)
            out.append(((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), score, kp))
        return out

    def close(self) -> None:
        """Release the interpreter (safe to call twice)."""
        self._it = None


class LiteFaceDetector(_LiteSsd):
    """One of MediaPipe's face detectors ('short' or 'full') on an RGB uint8 frame of any
    size: input in [-1, 1], six keypoints (KEYPOINTS)."""

    def __init__(self, model: str = "short", *, threads: int = 1) -> None:
        if model not in MODELS:
            raise ValueError(f"face detector model must be one of {', '.join(MODELS)}, got {model!r}")
        path, size, strides = MODELS[model]
        self.model = model
        super().__init__(path, size, strides, KEYPOINTS, (-1.0, 1.0), threads=threads)


class LitePalmDetector(_LiteSsd):
    """MediaPipe's palm detector (the first half of its hand tracking), with the
    palm_detection_cpu graph's processing: 192 px input in [0, 1], SSD anchors strides 8, 16,
    16, 16 (2016), seven keypoints (0 = wrist centre, 2 = middle finger base). The frame is
    first halved down to about twice the input size."""

    SIZE = 192
    KEYPOINTS = 7

    def __init__(self, model_complexity: int = 0, *, threads: int = 1) -> None:
        name = "full" if model_complexity else "lite"
        super().__init__(f"modules/palm_detection/palm_detection_{name}.tflite", self.SIZE, (8, 16, 16, 16),
                         self.KEYPOINTS, (0.0, 1.0), threads=threads)

    def __call__(self, rgb: np.ndarray, min_score: float = 0.5, prescale: Optional[int] = None
                 ) -> List[Tuple[Box, float, np.ndarray]]:
        return super().__call__(rgb, min_score, prescale or 2 * self.SIZE)
