"""Faces: MediaPipe's face detectors + face mesh for up to N faces, with stable identities.

Detection runs every frame; which of MediaPipe's two bundled detectors runs is chosen by face
size ('auto'): the short-range model (fast, good for a face filling a webcam frame) is tried
first, and the full-range model runs as well when short-range finds nothing confident or only
small faces, because short-range is weak on faces ~25% of a 16:9 frame's height (DESIGN.md).
The mesh is the expensive part, so it runs per face on a padded crop only as often as
`mesh_budget_ms` allows, oldest mesh first; in between, a face's last landmarks move with its
tracked box. The default mesh ('litert') runs MediaPipe's bundled face_landmark.tflite (468
points) straight in LiteRT on the crop the detector gave: MediaPipe's FaceMesh graph would run
its own detector again inside every call (~10 ms more per face). 'mediapipe' runs FaceMesh with
refine_landmarks (478 points, with irises) in static mode per crop, so a track never inherits
another person's mesh state.
"""
from __future__ import annotations

import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..results import Face
from . import Analysis, Stage
from .segmentation import INFERENCE_THREADS
from .tracking import FaceTracker, colour_descriptor, iou

DETECTORS = ("auto", "short", "full")
# Face privacy covers every face it can find: more faces, a lower confidence (a false cover is
# harmless, a missed face is a leak), and for recordings (full_analysis) every frame detected
# with both models and the tiles, and every face meshed.
PRIVACY_MAX_FACES = 8
PRIVACY_MIN_SCORE = 0.4
FULL_ANALYSIS_MIN_SCORE = 0.3
# Live privacy: short-range on every frame and full-range on every n-th frame, so the small
# faces of bystanders entering behind the streamer are found at a bounded cost; while there are
# faces only full-range finds, full-range on every frame (FacesStage._live_privacy_detect).
# Privacy needs the mesh only for roll and the face's full extent: one face is meshed per
# frame, in turn.
PRIVACY_FULL_EVERY = 3
# Frames full-range runs alone once it found faces short-range did not (both "auto" and live
# privacy), and the overlap at which a short-range and a full-range box are the same face.
FULL_SPELL_FRAMES = 15
SAME_FACE_IOU = 0.3


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
    """Finds up to `max_faces` faces per frame and fills analysis.faces with
    results.Face items (frame-normalised box and landmarks, roll, stable track_id).

    detector: 'auto' (by face size), 'short' or 'full'.
    detect_every: run the detector on every n-th frame only; in between each face's box
        follows its mesh (run on the last box, every face), which costs one mesh per face
        instead of one or two detector passes. A face that enters waits for the next detection.
    mesh_budget_ms: time per frame the mesh may use; at least one face is meshed per frame.
    min_score: detection confidence below which a box is ignored.
    tiled: also run full-range on the whole frame and on its left and right 60%; finds the faces of a group photo the single 192x192 pass misses, at ~2x the cost
        (for recordings and evaluation, where every face matters more than speed).
    min_size: faces narrower than this fraction of the frame width are ignored (too few
        pixels to mesh or classify).
    """

    name = "faces"
    outputs = ("faces",)

    def __init__(self, *, max_faces: int = 4, detector: str = "auto", mesh_budget_ms: float = 4.0,
                 min_score: float = 0.5, min_size: float = 0.02, keep_s: float = 4.0, tiled: bool = False,
                 mesh_model: str = "litert", detect_every: int = 1, threads: Optional[int] = None) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {detector!r}")
        if not isinstance(max_faces, int) or max_faces < 1:
            raise ValueError(f"max_faces must be a whole number >= 1, got {max_faces!r}")
        if mesh_model not in ("litert", "mediapipe"):
            raise ValueError(f"mesh_model must be 'litert' or 'mediapipe', got {mesh_model!r}")
        self.mesh_model = mesh_model
        if not isinstance(detect_every, int) or detect_every < 1:
            raise ValueError(f"detect_every must be a whole number >= 1, got {detect_every!r}")
        self.detect_every = detect_every
        self._last: List[Face] = []
        self._fit: Dict[int, Tuple[float, float, float, float]] = {}
        self.threads = max(1, int(threads or INFERENCE_THREADS))
        self._lm = None
        self.max_faces = max_faces
        self.detector = detector
        self.mesh_budget_ms = float(mesh_budget_ms)
        self.min_score = float(min_score)
        self.min_size = float(min_size)
        self.tiled = bool(tiled)
        self.full_every = 0
        self.keep_doubtful = False
        self._defaults = (self.tiled, self.detect_every, self.mesh_budget_ms)
        self.tracker = FaceTracker(keep_s=keep_s)
        self._det: Dict[int, object] = {}
        self._mesh = None
        self._meshes: Dict[int, Tuple[np.ndarray, Tuple[float, float, float, float], int]] = {}
        self._frame = 0
        self._full_until = 0
        self._angles: Dict[Tuple[float, float, float, float], float] = {}
        self.last_detector = ""
        self.meshed: set = set()    # track ids whose mesh ran on the latest frame

    def _detector(self, model: int):
        if model not in self._det:
            from .blazeface import LiteFaceDetector
            self._det[model] = LiteFaceDetector("short" if model == 0 else "full", threads=self.threads)
        return self._det[model]

    def _mesher(self):
        if self._mesh is None:
            from mediapipe.python.solutions import face_mesh
            self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                            refine_landmarks=True, min_detection_confidence=0.3)
        return self._mesh

    def _run_detector(self, model: int, image: np.ndarray):
        """Boxes from one detector (0 = short-range, 1 = full-range), run directly in LiteRT
        (facefx.analysis.blazeface: MediaPipe's graph would copy and convert the whole frame
        first, which at 720p costs more than the model)."""
        out = []
        # short-range from ~320 px, full-range from ~640 px (the sizes FaceFX gave MediaPipe's
        # graph); tiled mode gives full-range the whole frame: reduced, it lost the smallest
        # faces of the group photo, which are the reason to tile
        prescale = None if (model == 1 and self.tiled) else (320 if model == 0 else 640)
        for (bx, by, bw, bh), score, kp in self._detector(model)(image, self.min_score, prescale):
            x0, y0 = max(bx, 0.0), max(by, 0.0)
            x1, y1 = min(bx + bw, 1.0), min(by + bh, 1.0)
            if x1 - x0 < self.min_size or y1 <= y0:
                continue
            box = (x0, y0, x1 - x0, y1 - y0)
            # the eyes: the mesh crop is turned upright by their line
            self._angles[box] = math.atan2((kp[1, 1] - kp[0, 1]) * image.shape[0],
                                           (kp[1, 0] - kp[0, 0]) * image.shape[1])
            out.append((box, float(score)))
        return out

    def _live_privacy_detect(self, image: np.ndarray) -> List[Tuple[Tuple[float, float, float, float], float]]:
        """Live face privacy: short-range on every frame and full-range on every full_every-th
        (the first after a reset too) for faces entering behind a near one; while full-range
        finds faces short-range does not (too small for it), full-range alone on every frame
        (it finds the large ones too), so those faces are found on every frame and their covers
        follow them; when that spell ends both run again to decide."""
        if self._full_until > self._frame:
            self.last_detector = "full"
            return self._run_detector(1, image)
        dets, self.last_detector = self._run_detector(0, image), "short"
        if (self._frame - 1) % self.full_every == 0 or self._frame == self._full_until:
            full = self._run_detector(1, image)
            if any(all(iou(f[0], d[0]) <= SAME_FACE_IOU for d in dets) for f in full):
                self._full_until = self._frame + FULL_SPELL_FRAMES
            dets = dets + full
            self.last_detector = "short+full"
        return dets

    def detect(self, image: np.ndarray) -> List[Tuple[Tuple[float, float, float, float], float]]:
        """Face boxes (frame-normalised x, y, w, h, clipped to the frame) with scores."""
        if self.full_every:
            dets = self._live_privacy_detect(image)
        elif self.detector == "short":
            dets, self.last_detector = self._run_detector(0, image), "short"
        elif self.detector == "full":
            dets, self.last_detector = self._run_detector(1, image), "full"
        elif self._full_until > self._frame:
            # Auto found small faces recently: full-range alone (it finds large faces too) until
            # the next retry of short-range, rather than both models every frame.
            dets, self.last_detector = self._run_detector(1, image), "full"
            if not dets or min(b[3] for b, _ in dets) >= 0.3:
                self._full_until = 0
        else:
            dets, self.last_detector = self._run_detector(0, image), "short"
            if not dets or min(b[3] for b, _ in dets) < 0.2 or min(s for _, s in dets) < 0.75:
                full = self._run_detector(1, image)
                # A doubtful short-range box that full-range (which finds large faces too) does
                # not confirm is dropped: short-range reads blurred backgrounds as faces (0.65
                # on the happy evalset photo's building).
                if not self.keep_doubtful:
                    dets = [d for d in dets if d[1] >= 0.75 or any(iou(d[0], f[0]) > SAME_FACE_IOU for f in full)]
                dets = dets + full
                self.last_detector = "short+full"
                if full:
                    self._full_until = self._frame + FULL_SPELL_FRAMES
        if self.tiled:
            w = image.shape[1]
            if "full" not in self.last_detector:
                dets += self._run_detector(1, image)
            for x0, x1 in ((0.0, 0.6), (0.4, 1.0)):
                tile = np.ascontiguousarray(image[:, int(x0 * w):int(x1 * w)])
                for (bx, by, bw, bh), score in self._run_detector(1, tile):
                    dets.append(((x0 + bx * (x1 - x0), by, bw * (x1 - x0), bh), score))
            self.last_detector += "+tiles"
        return _nms(dets)[: self.max_faces]

    def mesh(self, image: np.ndarray, box: Tuple[float, float, float, float]) -> Optional[np.ndarray]:
        """468 (litert) or 478 (mediapipe) mesh points (frame-normalised x, y) for the face in box, or None."""
        h, w = image.shape[:2]
        x, y, bw, bh = box
        side = max(bw * w, bh * h) * 1.6
        cx, cy = (x + bw / 2) * w, (y + bh / 2) * h
        if self.mesh_model == "litert":
            angle = math.degrees(self._angles.get(tuple(box), 0.0))
            m = cv2.getRotationMatrix2D((cx, cy), angle, 192.0 / side)
            m[:, 2] += (96.0 - cx, 96.0 - cy)
            crop = cv2.warpAffine(image, m, (192, 192), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
            rel = self._landmarks_litert(crop)
            if rel is None:
                return None
            inv = cv2.invertAffineTransform(m)
            pts = (rel * 192.0) @ inv[:, :2].T + inv[:, 2]
            return (pts / (w, h)).astype(np.float32)
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
        rel = np.array([(p.x, p.y) for p in res.multi_face_landmarks[0].landmark], np.float32)
        pts = rel * (crop.shape[0] / scale)
        pts[:, 0] = (pts[:, 0] + x0) / w
        pts[:, 1] = (pts[:, 1] + y0) / h
        return pts

    def _landmarks_litert(self, crop: np.ndarray) -> Optional[np.ndarray]:
        """468 points (x, y) relative to the crop (0..1), or None when the model sees no face."""
        if self._lm is None:
            from .tflite import load_interpreter, mediapipe_model
            it = load_interpreter(mediapipe_model("modules/face_landmark/face_landmark.tflite"),
                                  num_threads=self.threads)
            outs = {tuple(d["shape"]): d["index"] for d in it.get_output_details()}
            self._lm = (it, it.get_input_details()[0]["index"], outs[(1, 1, 1, 1404)], outs[(1, 1, 1, 1)],
                        np.empty((1, 192, 192, 3), np.float32))
        it, i_in, i_pts, i_flag, buf = self._lm
        np.multiply(crop, 1.0 / 255.0, out=buf[0], casting="unsafe")
        it.set_tensor(i_in, buf)
        it.invoke()
        if float(it.get_tensor(i_flag).reshape(-1)[0]) < 0.0:   # presence logit: below 0 = p < 0.5
            return None
        return it.get_tensor(i_pts).reshape(468, 3)[:, :2] / 192.0

    def analyse(self, image: np.ndarray, t: float) -> List[Face]:
        """Faces in one RGB frame seen at time t (seconds, monotonic)."""
        if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        image = np.ascontiguousarray(image[:, :, :3])
        h, w = image.shape[:2]
        self._frame += 1
        self._angles.clear()
        if self.detect_every > 1 and self._last and self._frame % self.detect_every != 1:
            return self._follow_meshes(image, t)
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
        self.meshed = set()
        for n, i in enumerate(order):
            if n > 0 and (time.perf_counter() - start) * 1000.0 >= self.mesh_budget_ms:
                break
            pts = self.mesh(image, dets[i][0])
            if pts is not None:
                self._meshes[ids[i]] = (pts, dets[i][0], self._frame)
                self.meshed.add(ids[i])
        faces = []
        for (box, score), tid in zip(dets, ids):
            landmarks: Tuple[Tuple[float, float], ...] = ()
            roll = 0.0
            known = self._meshes.get(tid)
            if known is not None and tid in live:
                moved = self._moved(known[0], known[1], box)
                landmarks = tuple(map(tuple, moved.tolist()))
                roll = roll_from_landmarks(moved, w, h)
                self._fit[tid] = self._box_fit(moved, box)
            faces.append(Face(track_id=tid, box=tuple(float(v) for v in box), score=score,
                              roll=roll, landmarks=landmarks))
        self._last = faces
        return faces

    @staticmethod
    def _box_fit(pts: np.ndarray, box) -> Tuple[float, float, float, float]:
        """How a detector box sits on the mesh's bounding box (offset and scale), so a box
        derived from the mesh alone keeps the detector's framing."""
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        mw, mh = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        return ((box[0] - x0) / mw, (box[1] - y0) / mh, box[2] / mw, box[3] / mh)

    def _follow_meshes(self, image: np.ndarray, t: float) -> List[Face]:
        """A frame without detection: each face's mesh runs on its predicted box; the mesh's
        bounds (framed like the detector's box) become the new box. A lost mesh drops the face.
        Meshes run oldest first within mesh_budget_ms (at least one per frame); a face left
        over moves its last mesh (or, without one, its box) with its track until its turn."""
        h, w = image.shape[:2]
        found = []
        start = time.perf_counter()
        ran = 0
        order = sorted(self._last, key=lambda f: self._meshes.get(f.track_id, (None, None, -1))[2])
        for face in order:
            track = self.tracker.tracks.get(face.track_id)
            guess = tuple(track.predicted(t)) if track is not None else tuple(face.box)
            known = self._meshes.get(face.track_id)
            if ran > 0 and (time.perf_counter() - start) * 1000.0 >= self.mesh_budget_ms:
                pts = self._moved(known[0], known[1], guess) if known is not None else None
                found.append((guess, face.score, pts, known[2] if known is not None else -1, face.roll))
                continue
            self._angles[guess] = face.roll
            pts = self.mesh(image, guess)   # on the predicted box: the mesh leans to its crop's centre
            ran += 1
            if pts is None:
                continue
            fit = self._fit.get(face.track_id) or self._box_fit(pts, guess)
            (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
            mw, mh = x1 - x0, y1 - y0
            box = (float(x0 + fit[0] * mw), float(y0 + fit[1] * mh), float(fit[2] * mw), float(fit[3] * mh))
            bx0, by0 = max(box[0], 0.0), max(box[1], 0.0)
            box = (bx0, by0, min(box[0] + box[2], 1.0) - bx0, min(box[1] + box[3], 1.0) - by0)
            if box[2] <= 0 or box[3] <= 0:
                continue
            self._fit.setdefault(face.track_id, fit)
            found.append((box, face.score, pts, self._frame, roll_from_landmarks(pts, w, h)))
        ids = self.tracker.update([f[0] for f in found], t)
        faces = []
        self.meshed = set()
        for (box, score, pts, frame, roll), tid in zip(found, ids):
            landmarks: Tuple[Tuple[float, float], ...] = ()
            if pts is not None:
                self._meshes[tid] = (pts, box, frame)
                landmarks = tuple(map(tuple, pts.tolist()))
                roll = roll_from_landmarks(pts, w, h)
            if frame == self._frame:
                self.meshed.add(tid)
            faces.append(Face(track_id=tid, box=tuple(float(v) for v in box), score=score, roll=roll,
                              landmarks=landmarks))
        self._last = faces
        return faces

    @staticmethod
    def _moved(pts: np.ndarray, mbox, box) -> np.ndarray:
        """Mesh points fitted to mbox, moved and scaled onto box."""
        sx, sy = box[2] / max(mbox[2], 1e-6), box[3] / max(mbox[3], 1e-6)
        moved = np.empty_like(pts)
        moved[:, 0] = box[0] + (pts[:, 0] - mbox[0]) * sx
        moved[:, 1] = box[1] + (pts[:, 1] - mbox[1]) * sy
        return moved

    def input_size(self, settings, width: int, height: int) -> Tuple[int, int]:
        """The full frame up to 1280 px wide: the detectors reduce it themselves, and the mesh
        and expression crops need the face's own pixels (at 256 px a face 1 m away is ~20 px)."""
        from .hands import hands_input_size
        return hands_input_size(width, height)

    def configure(self, settings) -> None:
        """Apply settings.faces (detector, max_faces, min_score, detect_every); the detectors
        are rebuilt only when the confidence changes."""
        section = getattr(settings, "faces", None)
        if section is None:
            return
        if section.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {section.detector!r}")
        self.detector = section.detector
        self.max_faces = int(section.max_faces)
        min_score = float(section.min_score)
        privacy = getattr(settings, "privacy", None)
        self.tiled, _, self.mesh_budget_ms = self._defaults
        self.detect_every = int(getattr(section, "detect_every", self._defaults[1]))
        self.full_every = 0
        # Face privacy covers every box (a false cover is cheap, a missed face is a leak), so
        # doubtful short-range boxes are kept for it; expressions alone drop them.
        self.keep_doubtful = privacy is not None and privacy.active
        if privacy is not None and privacy.active:
            self.max_faces = max(self.max_faces, PRIVACY_MAX_FACES)
            min_score = min(min_score, PRIVACY_MIN_SCORE)
            self.full_every = PRIVACY_FULL_EVERY
            self.detect_every = 1      # a face that walks in is looked for on every frame
            expressions = getattr(settings, "expressions", None)
            if expressions is None or not expressions.active:
                self.mesh_budget_ms = 0.0
            if privacy.full_analysis:
                min_score = min(min_score, FULL_ANALYSIS_MIN_SCORE)
                self.tiled, self.detect_every, self.mesh_budget_ms = True, 1, 1e9
                self.full_every = 0
        self.min_score = min_score    # passed to the detectors on each call: nothing reloads

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        if not getattr(analysis, "still", False):
            analysis.faces = tuple(self.analyse(image, analysis.timestamp))
            analysis.extras["faces_meshed"] = frozenset(self.meshed)
            return
        # A photo: every face matters more than speed (tiled detection finds the small faces
        # of a group photo), and every face is meshed, as `facefx eval expressions` does.
        saved = self.tiled, self.mesh_budget_ms, self.detect_every
        self.tiled, self.mesh_budget_ms, self.detect_every = True, float("inf"), 1
        try:
            analysis.faces = tuple(self.analyse(image, analysis.timestamp))
        finally:
            self.tiled, self.mesh_budget_ms, self.detect_every = saved

    def reset(self) -> None:
        self._frame = 0
        self.tracker.reset()
        self._full_until = 0
        self._last = []
        self._fit.clear()
        self._meshes.clear()

    def close(self) -> None:
        for d in self._det.values():
            d.close()
        self._det.clear()
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
        self._lm = None
