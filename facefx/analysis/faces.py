"""Faces: MediaPipe face detection + face mesh for up to N faces, with stable identities.

Detection runs every frame; which of MediaPipe's two bundled detectors runs is chosen by face
size ('auto'): the short-range model (fast, good for a face filling a webcam frame) is tried
first, and the full-range model runs as well when short-range finds nothing confident or only
small faces, because short-range is weak on faces ~25% of a 16:9 frame's height (DESIGN.md).
The mesh (refine_landmarks) is the expensive part, so it runs per face on a padded crop only as
often as `mesh_budget_ms` allows, oldest mesh first; in between, a face's last landmarks move
with its tracked box. Each face's mesh is run in static mode on its own crop, so a track never
inherits another person's mesh state.
"""
from __future__ import annotations

import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..results import Face
from . import Analysis, Stage
from .tracking import FaceTracker, colour_descriptor, iou

DETECTORS = ("auto", "short", "full")


def _nms(dets: List[Tuple[Tuple[float, float, float, float], float]], thr: float = 0.4):
    dets = sorted(dets, key=lambda d: -d[1])
    kept: List[Tuple[Tuple[float, float, float, float], float]] = []
    for box, score in dets:
        if all(iou(box, k[0]) < thr for k in kept):
            kept.append((box, score))
    return kept


def roll_from_landmarks(points: np.ndarray, width: int, height: int) -> float:
    """Head roll (radians, clockwise on screen positive) from the outer eye corners 33 and 263,
    measured in pixels so a non-square frame does not skew the angle."""
    (x1, y1), (x2, y2) = points[33], points[263]
    return float(math.atan2((y2 - y1) * height, (x2 - x1) * width))


class FacesStage(Stage):
    """Finds up to `max_faces` faces per frame and fills analysis.extras['faces'] with
    results.Face items (frame-normalised box and landmarks, roll, stable track_id).

    detector: 'auto' (by face size), 'short' or 'full'.
    mesh_budget_ms: time per frame the mesh may use; at least one face is meshed per frame.
    min_score: detection confidence below which a box is ignored.
    tiled: also run full-range on the left and right 60% of the frame when the faces found are
        small; finds the faces of a group photo the single 192x192 pass misses, at ~2x the cost
        (for recordings and evaluation, where every face matters more than speed).
    min_size: faces narrower than this fraction of the frame width are ignored (too few
        pixels to mesh or classify).
    """

    name = "faces"

    def __init__(self, *, max_faces: int = 4, detector: str = "auto", mesh_budget_ms: float = 4.0,
                 min_score: float = 0.5, min_size: float = 0.02, keep_s: float = 4.0, tiled: bool = False,
                 threads: Optional[int] = None) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {detector!r}")
        if not isinstance(max_faces, int) or max_faces < 1:
            raise ValueError(f"max_faces must be a whole number >= 1, got {max_faces!r}")
        self.max_faces = max_faces
        self.detector = detector
        self.mesh_budget_ms = float(mesh_budget_ms)
        self.min_score = float(min_score)
        self.min_size = float(min_size)
        self.tiled = bool(tiled)
        self.tracker = FaceTracker(keep_s=keep_s)
        self._det: Dict[int, object] = {}
        self._mesh = None
        self._meshes: Dict[int, Tuple[np.ndarray, Tuple[float, float, float, float], int]] = {}
        self._frame = 0
        self.last_detector = ""

    def _detector(self, model: int):
        if model not in self._det:
            from mediapipe.python.solutions import face_detection
            self._det[model] = face_detection.FaceDetection(model_selection=model,
                                                            min_detection_confidence=self.min_score)
        return self._det[model]

    def _mesher(self):
        if self._mesh is None:
            from mediapipe.python.solutions import face_mesh
            self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                            refine_landmarks=True, min_detection_confidence=0.3)
        return self._mesh

    def _run_detector(self, model: int, image: np.ndarray):
        out = []
        res = self._detector(model).process(image)
        for d in res.detections or ():
            bb = d.location_data.relative_bounding_box
            x0, y0 = max(bb.xmin, 0.0), max(bb.ymin, 0.0)
            x1, y1 = min(bb.xmin + bb.width, 1.0), min(bb.ymin + bb.height, 1.0)
            if x1 - x0 < self.min_size or y1 <= y0:
                continue
            out.append(((x0, y0, x1 - x0, y1 - y0), float(d.score[0])))
        return out

    def detect(self, image: np.ndarray) -> List[Tuple[Tuple[float, float, float, float], float]]:
        """Face boxes (frame-normalised x, y, w, h, clipped to the frame) with scores."""
        if self.detector == "short":
            dets, self.last_detector = self._run_detector(0, image), "short"
        elif self.detector == "full":
            dets, self.last_detector = self._run_detector(1, image), "full"
        else:
            dets, self.last_detector = self._run_detector(0, image), "short"
            if not dets or min(b[3] for b, _ in dets) < 0.3 or max(s for _, s in dets) < 0.75:
                dets = dets + self._run_detector(1, image)
                self.last_detector = "short+full"
        if self.tiled and (not dets or min(b[3] for b, _ in dets) < 0.15):
            w = image.shape[1]
            for x0, x1 in ((0.0, 0.6), (0.4, 1.0)):
                tile = np.ascontiguousarray(image[:, int(x0 * w):int(x1 * w)])
                for (bx, by, bw, bh), score in self._run_detector(1, tile):
                    dets.append(((x0 + bx * (x1 - x0), by, bw * (x1 - x0), bh), score))
            self.last_detector += "+tiles"
        return _nms(dets)[: self.max_faces]

    def mesh(self, image: np.ndarray, box: Tuple[float, float, float, float]) -> Optional[np.ndarray]:
        """468+10 mesh points (frame-normalised x, y) for the face in box, or None."""
        h, w = image.shape[:2]
        x, y, bw, bh = box
        side = max(bw * w, bh * h) * 1.6
        cx, cy = (x + bw / 2) * w, (y + bh / 2) * h
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
        pad = [max(-y0, 0), max(y1 - h, 0), max(-x0, 0), max(x1 - w, 0)]
        crop = image[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
        if crop.size == 0:
            return None
        if any(pad):
            crop = cv2.copyMakeBorder(crop, *pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        size = crop.shape[0]
        scale = 1.0
        if size > 256:
            scale = 256.0 / size
            crop = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)
        elif size < 128:
            scale = 192.0 / size
            crop = cv2.resize(crop, (192, 192), interpolation=cv2.INTER_LINEAR)
        res = self._mesher().process(np.ascontiguousarray(crop))
        if not res.multi_face_landmarks:
            return None
        lm = res.multi_face_landmarks[0].landmark
        cs = crop.shape[0]
        pts = np.array([(p.x, p.y) for p in lm], np.float32) * (cs / scale)
        pts[:, 0] = (pts[:, 0] + x0) / w
        pts[:, 1] = (pts[:, 1] + y0) / h
        return pts

    def analyse(self, image: np.ndarray, t: float) -> List[Face]:
        """Faces in one RGB frame seen at time t (seconds, monotonic)."""
        if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        image = np.ascontiguousarray(image[:, :, :3])
        h, w = image.shape[:2]
        self._frame += 1
        dets = self.detect(image)
        descs = []
        for (x, y, bw, bh), _ in dets:
            descs.append(colour_descriptor(image[int(y * h):int((y + bh) * h), int(x * w):int((x + bw) * w)]))
        ids = self.tracker.update([d[0] for d in dets], t, descs)
        live = set(ids)
        for tid in [k for k in self._meshes if k not in self.tracker.tracks]:
            del self._meshes[tid]
        order = sorted(range(len(dets)), key=lambda i: self._meshes.get(ids[i], (None, None, -1))[2])
        start = time.perf_counter()
        for n, i in enumerate(order):
            if n > 0 and (time.perf_counter() - start) * 1000.0 >= self.mesh_budget_ms:
                break
            pts = self.mesh(image, dets[i][0])
            if pts is not None:
                self._meshes[ids[i]] = (pts, dets[i][0], self._frame)
        faces = []
        for (box, score), tid in zip(dets, ids):
            landmarks: Tuple[Tuple[float, float], ...] = ()
            roll = 0.0
            known = self._meshes.get(tid)
            if known is not None and tid in live:
                pts, mbox, _ = known
                sx, sy = box[2] / max(mbox[2], 1e-6), box[3] / max(mbox[3], 1e-6)
                moved = np.empty_like(pts)
                moved[:, 0] = box[0] + (pts[:, 0] - mbox[0]) * sx
                moved[:, 1] = box[1] + (pts[:, 1] - mbox[1]) * sy
                landmarks = tuple(map(tuple, moved.tolist()))
                roll = roll_from_landmarks(moved, w, h)
            faces.append(Face(track_id=tid, box=tuple(float(v) for v in box), score=score,
                              roll=roll, landmarks=landmarks))
        return faces

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        analysis.extras["faces"] = self.analyse(image, analysis.timestamp)

    def reset(self) -> None:
        self.tracker.reset()
        self._meshes.clear()

    def close(self) -> None:
        for d in self._det.values():
            d.close()
        self._det.clear()
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
