"""Face privacy planning: faces (and heads) in, scene.Cover items out. Standard library only.

The planner is the fail-closed half of face privacy; the painters only draw what it says.
Whatever goes wrong upstream, the answer is more cover, never less:

- Every face of the latest result gets a cover: its box (and its mesh, which reaches the
  forehead and follows a profile) plus the margin, an ellipse or a rectangle turned with the
  head's roll. The cover also reaches as far as the face has moved since the result was taken
  (its velocity times the result's age), so a cover drawn at 60 fps from results at 15-30 fps
  does not trail behind a moving head.
- A face that detection loses keeps its cover for `hold` seconds, stretched the way it was
  moving and growing with the time since it was seen (where it may have gone).
- Heads the person mask shows with no face in them (a turned head, a face too small or too
  blurred to detect) are covered too (`cover_heads`; the head boxes come from the analysis).
- The whole frame is covered (blurred, or the captured plate) while no face result exists:
  until the first result after privacy is turned on, after a reset, while the owner says the
  results are stale (worker starting, restarting, stalled), when the latest result is older
  than `stale_frames` frames, and after a change of frame size until a result for the new size
  arrives. The notice says why.
- keep_face leaves one face uncovered (the largest, or the one nearest the centre); the choice
  sticks to that person while they are seen, so a bystander is never uncovered because the
  kept face blinked out of detection.

Times are seconds on the owner's clock (output frame times); tests drive it with a fake one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .scene import Cover, blur_geometry
from .settings import PrivacySettings

Box = Tuple[float, float, float, float]   # x, y, w, h normalised to the frame

# An ellipse through the corners of a box is sqrt(2) times the box: the face box then lies
# fully inside the ellipse, where the cover is opaque.
ELLIPSE_FIT = math.sqrt(2.0)
# The detector's box starts at the eyebrows; the forehead above it is part of the face.
FOREHEAD = 0.15
# A held cover grows by this fraction of its size per second since the face was last seen
# (besides stretching along the face's motion), up to HOLD_GROW_MAX.
HOLD_GROW_PER_S = 0.6
HOLD_GROW_MAX = 0.6
# Motion older than this is not extrapolated further (a face does not keep flying off).
MAX_EXTRAPOLATE_S = 0.5
VELOCITY_SMOOTHING = 0.5
# Blur sigma of a face cover at strength 100, as a fraction of the cover's smaller side.
FACE_SIGMA_AT_100 = 0.22
# Pixelate: at most this many blocks span a cover (larger blocks on a big face): with ten,
# MediaPipe's detector still found pixelated faces of the group photo at 0.9.
MAX_BLOCKS_ACROSS = 6
FULL_FRAME_BLUR = 100.0     # strength of the whole-frame cover (scene.blur_geometry scale)
# keep_face: another face takes over only when clearly better than the kept one.
KEEP_SWITCH = 1.5
# A head box and a face box that overlap this much (of the face box) are the same person.
HEAD_FACE_OVERLAP = 0.3

NOTICE_STARTING = "privacy: whole frame covered until the first face analysis arrives"
NOTICE_RESIZED = "privacy: whole frame covered, the frame size changed (waiting for analysis of the new size)"
NOTICE_NO_PLATE = "no background captured: blurring"


@dataclass
class _Track:
    box: Box
    roll: float
    seen: float                      # time of the result that last showed it
    velocity: Tuple[float, float] = (0.0, 0.0)   # centre motion, frame units per second
    landmarks: Tuple[Tuple[float, float], ...] = ()   # face-mesh points, normalised
    extent: Any = None               # ((width, height, cx, cy), mesh extent) cached for plan()


def _overlap_of(a: Box, b: Box) -> float:
    """The fraction of box a that lies inside box b."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0 or a[2] <= 0 or a[3] <= 0:
        return 0.0
    return iw * ih / (a[2] * a[3])


class PrivacyPlanner:
    """Per-stream face privacy state. update() takes each result's faces and heads;
    face_covers() gives the covers for any output time, full_frame() the one cover of the whole
    frame (the Scene decides when: it knows whether results can be trusted). Not thread-safe
    (one owner, like the Scene)."""

    def __init__(self, settings: Optional[PrivacySettings] = None) -> None:
        self.settings = settings or PrivacySettings()
        self._tracks: Dict[int, _Track] = {}
        self._heads: Tuple[Box, ...] = ()
        self._result_t: Optional[float] = None
        self._kept: Optional[int] = None
        self._visible: Tuple[int, ...] = ()

    # -- state in ---------------------------------------------------------------------------
    def configure(self, settings: PrivacySettings) -> None:
        """New settings; tracks are kept (a margin or style change must not uncover anyone)."""
        if settings.keep_face != self.settings.keep_face:
            self._kept = None
        self.settings = settings

    def reset(self) -> None:
        """Forget every face (has_result is False until the next update())."""
        self._tracks.clear()
        self._heads = ()
        self._result_t = None
        self._kept = None
        self._visible = ()

    @property
    def has_result(self) -> bool:
        return self._result_t is not None

    def update(self, faces: Sequence[Any], heads: Sequence[Box], t: float) -> None:
        """A result taken at time t: results.Face items (box normalised, roll in radians,
        landmarks optional) and head boxes (normalised x, y, w, h) from the person mask."""
        visible = []
        for face in faces:
            tid = int(face.track_id)
            box = tuple(float(v) for v in face.box)
            if box[2] <= 0 or box[3] <= 0:
                continue
            roll = float(getattr(face, "roll", 0.0) or 0.0)
            landmarks = tuple(getattr(face, "landmarks", ()) or ())
            old = self._tracks.get(tid)
            if old is not None and t > old.seen:
                dt = t - old.seen
                if dt <= MAX_EXTRAPOLATE_S:
                    vx = (box[0] + box[2] / 2 - old.box[0] - old.box[2] / 2) / dt
                    vy = (box[1] + box[3] / 2 - old.box[1] - old.box[3] / 2) / dt
                    k = VELOCITY_SMOOTHING
                    velocity = (k * old.velocity[0] + (1 - k) * vx, k * old.velocity[1] + (1 - k) * vy)
                else:
                    velocity = (0.0, 0.0)
            else:
                velocity = old.velocity if old is not None else (0.0, 0.0)
            self._tracks[tid] = _Track(box, roll, t, velocity, landmarks)   # type: ignore[arg-type]
            visible.append(tid)
        self._visible = tuple(visible)
        self._heads = tuple(tuple(float(v) for v in h) for h in heads if h[2] > 0 and h[3] > 0)  # type: ignore[misc]
        self._result_t = t
        self._choose_kept()

    def _choose_kept(self) -> None:
        mode = self.settings.keep_face
        if mode == "none" or not self._visible:
            if mode == "none":
                self._kept = None
            return

        def score(tid: int) -> float:
            b = self._tracks[tid].box
            if mode == "largest":
                return b[2] * b[3]
            dx, dy = b[0] + b[2] / 2 - 0.5, b[1] + b[3] / 2 - 0.5
            return 1.0 / (1e-3 + math.hypot(dx, dy))

        best = max(self._visible, key=score)
        cur = self._kept
        if cur is None or cur not in self._tracks:
            self._kept = best
        elif cur in self._visible and best != cur and score(best) > KEEP_SWITCH * score(cur):
            self._kept = best
        # The kept face, while lost but held, stays the kept one: nobody else is uncovered.

    # -- covers out -------------------------------------------------------------------------
    @property
    def kept_face(self) -> Optional[int]:
        """The track id left uncovered (keep_face), or None."""
        return self._kept

    def full_frame(self, width: int, height: int, *, plate_ready: bool) -> Cover:
        """The one cover that hides the whole frame: the plate when one is captured and the
        style asks for it, else a strong blur."""
        style = "plate" if self.settings.style == "plate" and plate_ready else "blur"
        g = blur_geometry(FULL_FRAME_BLUR, width, height)
        sigma = g.sigma_small * g.downscale
        return Cover(width / 2.0, height / 2.0, float(width), float(height), "rect", style, sigma,
                     self.settings.color, "", 0.0)

    def face_covers(self, t: float, width: int, height: int, *, plate_ready: bool,
                    emoji: str = "") -> Tuple[Tuple[Cover, ...], str]:
        """Covers of the faces and heads known at time t (no whole-frame cover here)."""
        s = self.settings
        style, notice = s.style, ""
        if style == "plate" and not plate_ready:
            style, notice = "blur", NOTICE_NO_PLATE
        for tid in [k for k, tr in self._tracks.items() if t - tr.seen > s.hold and k not in self._visible]:
            del self._tracks[tid]
        if self._kept is not None and self._kept not in self._tracks:
            self._kept = None
        covers: List[Cover] = []
        face_boxes = []
        for tid, tr in self._tracks.items():
            if tid in self._visible:      # a held face is no proof of where the head is now
                face_boxes.append(tr.box)
            if tid == self._kept:
                continue
            covers.append(self._face_cover(tr, t, width, height, style, emoji, lost=tid not in self._visible))
        for head in self._heads:
            if any(_overlap_of(f, head) >= HEAD_FACE_OVERLAP or _overlap_of(head, f) >= HEAD_FACE_OVERLAP
                   for f in face_boxes):
                continue
            covers.append(self._box_cover(head, 0.0, width, height, style, emoji))
        return tuple(covers), notice

    def _face_cover(self, tr: _Track, t: float, width: int, height: int, style: str, emoji: str, *,
                    lost: bool) -> Cover:
        s = self.settings
        x, y, w, h = tr.box
        # The face in its own (rolled) frame, in pixels: the detector box raised by the forehead,
        # and the mesh's extent where there is one.
        cx, cy = (x + w / 2) * width, (y + h / 2) * height
        bw, bh = w * width, h * height * (1 + FOREHEAD)
        # The detector's box is upright around a turned face: the turned cover holds all of it.
        c, sn = abs(math.cos(tr.roll)), abs(math.sin(tr.roll))
        fw, fh = c * bw + sn * bh, sn * bw + c * bh
        lift = h * height * FOREHEAD / 2           # towards the top of the (rolled) head
        cx, cy = cx + math.sin(tr.roll) * lift, cy - math.cos(tr.roll) * lift
        key = (width, height, cx, cy)
        if tr.extent is None or tr.extent[0] != key:
            tr.extent = (key, _landmarks_extent(tr.landmarks, cx, cy, tr.roll, width, height))
        extent = tr.extent[1]
        if extent is not None:
            lx, ly, lw, lh = extent
            x0, y0 = min(-fw / 2, lx), min(-fh / 2, ly)
            x1, y1 = max(fw / 2, lx + lw), max(fh / 2, ly + lh)
            cx, cy = cx + (x0 + x1) / 2, cy + (y0 + y1) / 2
            fw, fh = x1 - x0, y1 - y0
        age = max(0.0, t - tr.seen)
        grow = 1.0 + (min(HOLD_GROW_MAX, HOLD_GROW_PER_S * age) if lost else 0.0)
        fw, fh = fw * grow, fh * grow
        # Stretch along the motion: from where it was to where it may be now.
        reach = min(age, MAX_EXTRAPOLATE_S) if not lost else min(age + 0.1, s.hold, MAX_EXTRAPOLATE_S * 2)
        dx, dy = tr.velocity[0] * width * reach, tr.velocity[1] * height * reach
        return self._cover(cx, cy, fw, fh, tr.roll, dx, dy, width, height, style, emoji)

    def _box_cover(self, box: Box, roll: float, width: int, height: int, style: str, emoji: str) -> Cover:
        x, y, w, h = box
        return self._cover((x + w / 2) * width, (y + h / 2) * height, w * width, h * height, roll,
                           0.0, 0.0, width, height, style, emoji)

    def _cover(self, cx: float, cy: float, fw: float, fh: float, roll: float, dx: float, dy: float,
               width: int, height: int, style: str, emoji: str) -> Cover:
        """A cover around a face of size fw x fh (pixels, in its own frame turned by roll)
        centred at cx, cy, stretched by the motion (dx, dy) in pixels."""
        s = self.settings
        if dx or dy:
            # The motion in the face's own frame widens it along that direction, both ways
            # from the midpoint of where it was and where it may be.
            c, sn = math.cos(-roll), math.sin(-roll)
            ldx, ldy = c * dx - sn * dy, sn * dx + c * dy
            fw, fh = fw + abs(ldx), fh + abs(ldy)
            cx, cy = cx + dx / 2, cy + dy / 2
        if s.shape == "ellipse":
            cw, ch = fw * ELLIPSE_FIT * (1 + s.margin), fh * ELLIPSE_FIT * (1 + s.margin)
        else:
            cw, ch = fw * (1 + 2 * s.margin), fh * (1 + 2 * s.margin)
        side = max(1.0, min(cw, ch))
        if style == "pixelate":
            strength = float(max(s.block, side / MAX_BLOCKS_ACROSS))
        else:
            strength = max(2.0, s.blur / 100.0 * FACE_SIGMA_AT_100 * side)
        return Cover(cx, cy, cw, ch, s.shape, style, strength, s.color, emoji if style == "emoji" else "",
                     math.degrees(roll))


def _landmarks_extent(landmarks: Sequence[Tuple[float, float]], cx: float, cy: float, roll: float,
                      width: int, height: int) -> Optional[Box]:
    """The mesh's bounding box in the face's own frame (turned back by roll about the box
    centre cx, cy), in pixels relative to that centre; None without landmarks. Computed once
    per result and frame size (the planner caches it), not per output frame."""
    if not landmarks:
        return None
    c, s = math.cos(-roll), math.sin(-roll)
    xs, ys = [], []
    for p in landmarks:
        px, py = p[0] * width - cx, p[1] * height - cy
        xs.append(c * px - s * py)
        ys.append(s * px + c * py)
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
