"""Stable face identities across frames (numpy and standard library only).

Detections are associated with tracks by a cost that mixes overlap (IoU) and the distance of
box centres from where each track's constant-velocity motion predicts it, solved greedily in
ascending cost order. Prediction is what keeps two people who walk past each other from
swapping ids: at the crossing both boxes overlap both tracks, but each is nearer its own
predicted position. A track that is not seen is kept for `keep_s` seconds; a new detection
that matches a lost track's appearance descriptor (at a size it could have reached) gets
that id back, so a face that leaves and returns keeps its identity. A box cannot continue a
track whose size it does not plausibly grow or shrink to in the time between them (a face does
not double in size between two frames; a cut to another picture or another person does): it is
a new face, and what was learned about the old one (an expression baseline) is not given to it.
Ids are never reused, not even after reset(), so state kept per id downstream never carries
from one face to another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Box = Tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(a[0], b[0])
    ih = min(ay2, by2) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def colour_descriptor(crop: np.ndarray, bins: int = 8) -> np.ndarray:
    """A small normalised hue/saturation histogram of an RGB face crop: cheap, and stable
    enough over a few seconds to recognise the same person coming back."""
    import cv2
    if crop.size == 0:
        return np.zeros(bins * bins, np.float32)
    # A histogram of every k-th pixel of a crop k x 64 px high is the same histogram to
    # within sampling noise, at a quarter of the conversion.
    step = max(1, crop.shape[0] // 64)
    crop = crop[::step, ::step]
    hsv = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [bins, bins], [0, 180, 0, 256]).ravel().astype(np.float32)
    total = float(hist.sum())
    return hist / total if total > 0 else hist


def descriptor_similarity(a: Optional[np.ndarray], b: Optional[np.ndarray]) -> float:
    """Histogram intersection, 0 (nothing shared) to 1 (identical); 0 when either is unknown."""
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    return float(np.minimum(a, b).sum())


@dataclass
class Track:
    track_id: int
    box: Box
    last_seen: float
    velocity: Tuple[float, float] = (0.0, 0.0)   # centre motion in frame units per second
    descriptor: Optional[np.ndarray] = None
    hits: int = 1
    extra: Dict[str, object] = field(default_factory=dict)

    def predicted(self, t: float) -> Box:
        dt = min(max(t - self.last_seen, 0.0), 1.0)
        x, y, w, h = self.box
        return (x + self.velocity[0] * dt, y + self.velocity[1] * dt, w, h)


class FaceTracker:
    """Assigns each frame's face boxes a stable track id.

    keep_s: how long a lost track can come back with its id.
    max_distance: centre distance (in face widths) beyond which a box cannot continue a track.
    reid_similarity: descriptor similarity a returning face needs to get a lost id back.
    max_scale: the size ratio (width or height, larger over smaller) a box may have to the
        track it continues from one frame to the next; `scale_per_s` more is allowed per second
        between them (a face leaning in, or being cut off at the frame's edge, over a few frames).
    """

    def __init__(self, *, keep_s: float = 4.0, max_distance: float = 1.5,
                 reid_similarity: float = 0.6, max_scale: float = 1.35, scale_per_s: float = 1.5) -> None:
        if keep_s < 0:
            raise ValueError(f"keep_s must be >= 0 seconds, got {keep_s}")
        self.keep_s = keep_s
        self.max_distance = max_distance
        self.reid_similarity = reid_similarity
        self.max_scale, self.scale_per_s = max_scale, scale_per_s
        self.tracks: Dict[int, Track] = {}
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track; ids go on counting (a face after a reset is a new face)."""
        self.tracks.clear()

    def _cost(self, track: Track, box: Box, t: Optional[float]) -> float:
        p = track.predicted(t) if t is not None else track.box
        scale = max((p[2] + box[2]) * 0.5, 1e-6)
        dx = (p[0] + p[2] / 2) - (box[0] + box[2] / 2)
        dy = (p[1] + p[3] / 2) - (box[1] + box[3] / 2)
        dist = float(np.hypot(dx, dy)) / scale
        if dist > self.max_distance:
            return float("inf")
        if not self._size_fits(track, box, t):
            return float("inf")
        return dist + (1.0 - iou(p, box))

    def _size_fits(self, track: Track, box: Box, t: Optional[float]) -> bool:
        """Whether box's size is one the track's face could have reached since it was seen."""
        dt = min(max(t - track.last_seen, 0.0), 1.0) if t is not None else 0.0
        limit = self.max_scale * (1.0 + self.scale_per_s * dt)
        p = track.box
        ratio = max(max(p[2], box[2]) / max(min(p[2], box[2]), 1e-6),
                    max(p[3], box[3]) / max(min(p[3], box[3]), 1e-6))
        return ratio <= limit

    def update(self, boxes: Sequence[Box], t: float,
               descriptors: Optional[Sequence[Optional[np.ndarray]]] = None) -> List[int]:
        """Track ids for `boxes` (same order), seen at time t (seconds, monotonic)."""
        descriptors = list(descriptors) if descriptors is not None else [None] * len(boxes)
        for tid in [k for k, tr in self.tracks.items() if t - tr.last_seen > self.keep_s]:
            del self.tracks[tid]
        recent = [tr for tr in self.tracks.values() if t - tr.last_seen <= 0.5]
        pairs = []
        for ti, tr in enumerate(recent):
            for bi, box in enumerate(boxes):
                c = self._cost(tr, box, t)
                if np.isfinite(c):
                    pairs.append((c, ti, bi))
        pairs.sort()
        ids: List[Optional[int]] = [None] * len(boxes)
        used = set()
        for c, ti, bi in pairs:
            if ids[bi] is not None or ti in used:
                continue
            used.add(ti)
            ids[bi] = recent[ti].track_id
        taken = {i for i in ids if i is not None}
        for bi, box in enumerate(boxes):
            if ids[bi] is not None:
                continue
            best, best_sim = None, self.reid_similarity
            for tr in self.tracks.values():
                if tr.track_id in taken or not self._size_fits(tr, box, t):
                    continue
                sim = descriptor_similarity(tr.descriptor, descriptors[bi])
                if sim >= best_sim:
                    best, best_sim = tr, sim
            if best is not None:
                ids[bi] = best.track_id
                best.velocity = (0.0, 0.0)
            else:
                ids[bi] = self._next_id
                self.tracks[self._next_id] = Track(self._next_id, tuple(box), t)
                self._next_id += 1
            taken.add(ids[bi])
        for bi, box in enumerate(boxes):
            tr = self.tracks[ids[bi]]
            dt = t - tr.last_seen
            if tr.hits > 0 and 0 < dt <= 0.5:
                vx = ((box[0] + box[2] / 2) - (tr.box[0] + tr.box[2] / 2)) / dt
                vy = ((box[1] + box[3] / 2) - (tr.box[1] + tr.box[3] / 2)) / dt
                tr.velocity = (0.5 * tr.velocity[0] + 0.5 * vx, 0.5 * tr.velocity[1] + 0.5 * vy)
            tr.box = tuple(box)
            tr.last_seen = t
            tr.hits += 1
            d = descriptors[bi]
            if d is not None:
                tr.descriptor = d if tr.descriptor is None else 0.8 * tr.descriptor + 0.2 * d
        return [int(i) for i in ids]
