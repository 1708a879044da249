"""Expression emojis: tracked faces + ExpressionSettings + time -> emoji Sprites and Labels.

Standard library only: the Scene runs this on OBS's render thread as well as in the command
line, so both renderers draw the same emojis. No file is read per frame: the emoji set is
resolved (and each override's PNG header checked) once, when the settings change.

Display modes (settings.EXPRESSION_MODES):

- 'beside': each face's emoji next to its face box, `size` face heights tall, at eye level,
  on the side with room (inside the frame, not over this or another face; the side sticks
  until it no longer fits, so the emoji does not hop), else above the head, else shrunk into
  the roomier side (faces packed edge to edge may still be overlapped). Upright, so it stays
  readable.
- 'replace': each face's emoji centred on its face and turned with the head's roll, sized so
  the emoji's opaque disc covers the whole face box (its circumscribed circle), whatever the
  roll. `size` above 1 makes it larger; below 1 it never shrinks under full cover.
- 'panel': the main face (the largest, kept until another is clearly larger) shows its emoji
  large in `corner`, with its label under it (the look of the original desktop app).

`label` adds the expression's name under each emoji (always on in the panel).

Labels map to emoji by name, case-insensitively, with common synonyms (a Teachable Machine
class "Happiness" or "Smiling" shows the happy emoji); `emojis` overrides any label. A label
with no emoji (a custom class such as "wink" without an override) draws no emoji - showing
the neutral one would claim an expression the model did not report - and is warned about
once; its text label is still drawn when labels are on. Classes named none/background/other
draw nothing, silently. A missing or unreadable override draws nothing for its label
(warned once); a file that passes the header check but fails to decode is reported by the
renderer, which skips it.

Faces without an expression yet draw nothing; results older than STALE_S (a stalled worker)
draw nothing. A face that drops out of one result keeps its emoji for HOLD_S, fading out,
so a single missed detection does not flicker. Positions, sizes and roll are smoothed with a
time constant that shrinks as the movement grows: detector jitter is averaged away, a real
head movement is followed at once.
"""
from __future__ import annotations

import logging
import math
import os
import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .results import EXPRESSIONS

log = logging.getLogger(__name__)

# The bundled Noto emoji (stickers/emoji/*.png, 125x120): drawn width / height, and the radius
# of the disc around the centre that is fully opaque, as a fraction of the drawn height
# (measured: 55.6 px of 120).
BUNDLED_ASPECT = 125.0 / 120.0
BUNDLED_DISC = 0.463
# Custom pictures: assumed to fill the ellipse inscribed in them (conservative for full-bleed
# pictures, exact for round ones).
CUSTOM_DISC = 0.5

STALE_S = 1.0            # results older than this draw nothing
HOLD_S = 0.25            # a face missing from the latest result keeps its emoji this long
TAU_STILL_S = 0.12       # position smoothing of a (nearly) still face
TAU_MIN_S = 0.02         # ... and of a fast-moving one
SNAP_GAP_S = 0.5         # a plan this long after the previous one starts from the new position
MIN_SIDE_PX = 12.0
BESIDE_GAP = 0.08        # gap between face box and emoji, in emoji heights
BESIDE_MIN_SHRINK = 0.5  # beside may shrink to this fraction to fit; below that it overlaps
REPLACE_MARGIN = 1.04    # the emoji's disc radius over the face box's half diagonal
PANEL_SIDE = 0.28        # panel emoji height, fraction of the frame height (times `size`)
PANEL_MARGIN = 0.04      # fraction of the frame height between the panel and the frame edge
PANEL_SWITCH = 1.25      # another face must be this much larger (area) to become the main face
LABEL_FRACTION = 0.2     # label text height over emoji height
LABEL_MIN_PX = 12.0
LABEL_MAX = 0.055        # fraction of the frame height
LABEL_CHAR_WIDTH = 0.75  # rough text width per character, in text heights (for keeping it inside)
LABEL_COLOR = (255, 255, 255)

SYNONYMS = {
    "happiness": "happy", "joy": "happy", "smile": "happy", "smiling": "happy", "laugh": "happy",
    "sadness": "sad", "unhappy": "sad", "crying": "sad",
    "anger": "angry", "mad": "angry",
    "surprised": "surprise", "shock": "surprise", "shocked": "surprise", "wow": "surprise",
    "fearful": "fear", "scared": "fear", "afraid": "fear",
    "disgusted": "disgust",
    "calm": "neutral", "normal": "neutral", "rest": "neutral", "resting": "neutral",
}
NO_EMOJI_LABELS = ("none", "background", "other", "nothing", "no_face")


def canonical(label: str) -> str:
    """A label as the emoji set keys it: lower case, '_' for spaces and dashes."""
    return "_".join(str(label).strip().lower().replace("-", " ").split())


def label_text(label: str) -> str:
    """The text shown for an expression: 'surprise' -> 'Surprise', 'big_smile' -> 'Big smile'."""
    words = canonical(label).replace("_", " ")
    return words[:1].upper() + words[1:]


def png_size(path: str) -> Tuple[int, int]:
    """Width and height from a PNG file's header (ValueError naming the file when it is
    missing or not a PNG)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError as exc:
        raise ValueError(f"cannot read emoji image {path}: {exc.strerror or exc}; expected an RGBA .png") from None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"emoji image {path} is not a PNG picture; expected an RGBA .png")
    w, h = struct.unpack(">II", head[16:24])
    if w < 1 or h < 1:
        raise ValueError(f"emoji image {path} is {w}x{h} pixels; expected an RGBA .png")
    return int(w), int(h)


def _bundled_emoji(name: str) -> str:
    from .animations import bundled_sticker   # installed package and source checkout alike
    return bundled_sticker(os.path.join("emoji", name + ".png"))


@dataclass(frozen=True)
class Emoji:
    """One label's picture: path, drawn width / height, opaque disc radius / drawn height."""

    path: str
    aspect: float = BUNDLED_ASPECT
    disc: float = BUNDLED_DISC


class EmojiSet:
    """label -> Emoji (or None: nothing drawn), resolved once per settings.

    overrides: (label, png path) pairs (ExpressionSettings.emojis); their headers are read here.
    """

    def __init__(self, overrides: Iterable[Tuple[str, str]] = ()) -> None:
        self._map: Dict[str, Optional[Emoji]] = {n: Emoji(_bundled_emoji(n)) for n in EXPRESSIONS}
        self.problems: Dict[str, str] = {}
        for label, path in overrides:
            key = canonical(label)
            try:
                w, h = png_size(path)
            except ValueError as exc:
                self._map[key] = None
                self.problems[key] = str(exc)
                log.warning("expression %r: %s; no emoji is drawn for it", label, exc)
                continue
            self._map[key] = Emoji(path, w / h, CUSTOM_DISC * min(w, h) / h)
        self._warned: set = set()

    def get(self, label: str) -> Optional[Emoji]:
        key = canonical(label)
        if key in self._map:
            return self._map[key]
        alias = SYNONYMS.get(key)
        if alias is not None and alias in self._map:
            return self._map[alias]
        if key not in NO_EMOJI_LABELS and key not in self._warned:
            self._warned.add(key)
            log.warning("expression %r has no emoji; nothing is drawn for it (give it one with "
                        "--emoji %s=PATH.png or \"emojis\" in the settings)", label, key)
        return None

    def has(self, label: str) -> bool:
        key = canonical(label)
        return self._map.get(key) is not None or (
            SYNONYMS.get(key) is not None and self._map.get(SYNONYMS[key]) is not None)


@dataclass
class _Track:
    """What the planner knows of one face: its latest detection and the smoothed geometry."""

    box: Tuple[float, float, float, float]      # normalised, latest result
    roll: float                                 # degrees, latest result
    label: str
    seen: float                                 # result time it was last present
    x: float = 0.0                              # smoothed centre / box size / roll, output px
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    r: float = 0.0
    planned: Optional[float] = None             # plan time of the smoothed values
    size: Tuple[int, int] = (0, 0)              # output size they are in
    side: int = 1                               # beside: +1 right of the face, -1 left


def _angle_diff(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


class ExpressionPlanner:
    """Per-stream state from faces to emoji sprites and labels (one per Scene).

    update(faces, t) takes each result's results.Face items; plan(t, width, height) gives the
    (sprites, labels) to draw at output time t. Not thread-safe (the Scene's owner calls both).
    """

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self.emojis = EmojiSet()
        self._emoji_key: Any = ()
        self._tracks: Dict[int, _Track] = {}
        self._result_t: Optional[float] = None
        self._main: Optional[int] = None
        if settings is not None:
            self.configure(settings)

    def configure(self, settings: Any) -> None:
        """settings: an ExpressionSettings. The emoji set is rebuilt only when `emojis` changed."""
        self.settings = settings
        if settings.emojis != self._emoji_key:
            self.emojis = EmojiSet(settings.emojis)
            self._emoji_key = settings.emojis

    def reset(self) -> None:
        self._tracks.clear()
        self._result_t = None
        self._main = None

    def update(self, faces: Sequence[Any], t: float) -> None:
        self._result_t = t
        for face in faces:
            if not face.expression:
                continue
            tr = self._tracks.get(face.track_id)
            roll = math.degrees(face.roll)
            if tr is None:
                self._tracks[face.track_id] = _Track(tuple(face.box), roll, face.expression, t)
            else:
                tr.box, tr.roll, tr.label, tr.seen = tuple(face.box), roll, face.expression, t
        for tid in [k for k, tr in self._tracks.items() if t - tr.seen > HOLD_S or tr.seen > t]:
            del self._tracks[tid]

    def plan(self, t: float, width: int, height: int) -> Tuple[Tuple[Any, ...], Tuple[Any, ...]]:
        from .scene import Label, Sprite   # here: scene imports this module

        s = self.settings
        if s is None or not s.active or self._result_t is None or t - self._result_t > STALE_S:
            return (), ()
        live = [(tid, tr) for tid, tr in self._tracks.items()
                if tr.seen >= self._result_t or t - tr.seen <= HOLD_S]
        if not live:
            return (), ()
        for _, tr in live:
            self._smooth(tr, t, width, height)
        sprites: List[Any] = []
        labels: List[Any] = []
        if s.mode == "panel":
            tid, tr = self._main_face(live)
            self._panel(tr, t, width, height, sprites, labels, Sprite, Label)
            return tuple(sprites), tuple(labels)
        boxes = [(tr.x - tr.w / 2, tr.y - tr.h / 2, tr.x + tr.w / 2, tr.y + tr.h / 2) for _, tr in live]
        for tid, tr in sorted(live, key=lambda item: item[0]):
            opacity = self._opacity(tr, t)
            emoji = self.emojis.get(tr.label)
            others = [b for (otid, _), b in zip(live, boxes) if otid != tid]
            if s.mode == "replace":
                placed = self._replace(tr, emoji)
            else:
                placed = self._beside(tr, emoji, width, height, others)
            x, y, sw, sh, rot = placed
            if emoji is not None:
                sprites.append(Sprite(emoji.path, x, y, sw, sh, rot, opacity))
            if s.label:
                labels.append(self._label(tr.label, x, y, sh / 2, sh, width, height, opacity, Label))
        return tuple(sprites), tuple(labels)

    # -- geometry ------------------------------------------------------------------------
    def _smooth(self, tr: _Track, t: float, width: int, height: int) -> None:
        bx, by, bw, bh = tr.box
        tx, ty, tw, th = (bx + bw / 2) * width, (by + bh / 2) * height, bw * width, bh * height
        if tr.planned is None or tr.size != (width, height) or t < tr.planned or t - tr.planned > SNAP_GAP_S:
            tr.x, tr.y, tr.w, tr.h, tr.r = tx, ty, tw, th, tr.roll
        else:
            # Movement in face heights: jitter (a few %) is smoothed with TAU_STILL_S, a move of
            # half a face is followed within a frame or two.
            move = math.hypot(tx - tr.x, ty - tr.y) / max(th, 1.0) + abs(th - tr.h) / max(th, 1.0)
            tau = max(TAU_MIN_S, TAU_STILL_S / (1.0 + 12.0 * move))
            a = 1.0 - math.exp(-(t - tr.planned) / tau)
            tr.x += a * (tx - tr.x)
            tr.y += a * (ty - tr.y)
            tr.w += a * (tw - tr.w)
            tr.h += a * (th - tr.h)
            tr.r += a * _angle_diff(tr.roll, tr.r)
        tr.planned, tr.size = t, (width, height)

    def _opacity(self, tr: _Track, t: float) -> float:
        """1 while the face is in the latest result; fading out over HOLD_S once it is not."""
        if self._result_t is None or tr.seen >= self._result_t:
            return 1.0
        return max(0.0, min(1.0, 1.0 - (t - tr.seen) / HOLD_S))

    def _replace(self, tr: _Track, emoji: Optional[Emoji]) -> Tuple[float, float, float, float, float]:
        aspect, disc = (emoji.aspect, emoji.disc) if emoji else (BUNDLED_ASPECT, BUNDLED_DISC)
        radius = math.hypot(tr.w, tr.h) / 2 * REPLACE_MARGIN
        sh = max(1.0, float(self.settings.size)) * radius / disc
        return tr.x, tr.y, sh * aspect, sh, tr.r

    def _beside(self, tr: _Track, emoji: Optional[Emoji], width: int, height: int,
                others: Sequence[Tuple[float, float, float, float]]) -> Tuple[float, float, float, float, float]:
        """Beside the face at eye level, on the side with room: the room on a side ends at the
        frame edge or at the nearest other face in the emoji's band. Full size on the sticky
        side, else the other side, else above the head, else shrunk (to BESIDE_MIN_SHRINK) into
        the roomier side; with no room anywhere it overlaps on the roomier side."""
        aspect = emoji.aspect if emoji else BUNDLED_ASPECT
        sh = min(max(MIN_SIDE_PX, float(self.settings.size) * tr.h), 0.6 * height)
        fx0, fx1 = tr.x - tr.w / 2, tr.x + tr.w / 2
        fy0 = tr.y - tr.h / 2
        eye = tr.y - 0.1 * tr.h

        def room(side: int, h: float) -> float:
            y0, y1 = eye - h / 2, eye + h / 2
            band = [b for b in others if min(y1, b[3]) > max(y0, b[1])]
            if side > 0:
                return min([width] + [b[0] for b in band if b[0] >= tr.x]) - fx1
            return fx0 - max([0.0] + [b[2] for b in band if b[2] <= tr.x])

        def need(h: float) -> float:
            return h * aspect + BESIDE_GAP * h

        def place(side: int, h: float) -> Tuple[float, float, float, float, float]:
            tr.side = side
            w = h * aspect
            x = tr.x + side * (tr.w / 2 + BESIDE_GAP * h + w / 2)
            x = min(max(x, w / 2), width - w / 2) if w <= width else width / 2
            y = min(max(eye, h / 2), height - h / 2) if h <= height else height / 2
            return x, y, w, h, 0.0

        for side in (tr.side, -tr.side):
            if room(side, sh) >= need(sh):
                return place(side, sh)
        above = fy0 - BESIDE_GAP * sh - sh
        if above >= 0 and not any(min(tr.x + sh * aspect / 2, b[2]) > max(tr.x - sh * aspect / 2, b[0])
                                  and min(fy0, b[3]) > max(above, b[1]) for b in others):
            w = sh * aspect
            return min(max(tr.x, w / 2), width - w / 2), above + sh / 2, w, sh, 0.0
        side = max((tr.side, -tr.side), key=lambda sd: room(sd, sh * BESIDE_MIN_SHRINK))
        fit = room(side, sh * BESIDE_MIN_SHRINK) / (aspect + BESIDE_GAP)
        return place(side, max(MIN_SIDE_PX, min(sh, fit) if fit >= sh * BESIDE_MIN_SHRINK else sh * BESIDE_MIN_SHRINK))

    def _main_face(self, live: List[Tuple[int, _Track]]) -> Tuple[int, _Track]:
        area = {tid: tr.w * tr.h for tid, tr in live}
        best = max(area, key=lambda k: (area[k], -k))
        if self._main in area and area[best] < PANEL_SWITCH * area[self._main]:
            best = self._main
        self._main = best
        return best, dict(live)[best]

    def _panel(self, tr: _Track, t: float, width: int, height: int, sprites: List[Any], labels: List[Any],
               Sprite: Any, Label: Any) -> None:
        s = self.settings
        emoji = self.emojis.get(tr.label)
        aspect = emoji.aspect if emoji else BUNDLED_ASPECT
        sh = min(max(0.1, PANEL_SIDE * float(s.size)), 0.6) * height
        sw = sh * aspect
        lh = max(LABEL_MIN_PX, LABEL_FRACTION * sh)
        margin = PANEL_MARGIN * height
        plate = lh * 1.6                       # the label's plate height (text + padding)
        left = s.corner.endswith("left")
        x = margin + sw / 2 if left else width - margin - sw / 2
        if s.corner.startswith("top"):
            y = margin + sh / 2
            ly = margin + sh + 0.2 * lh + plate / 2
        else:
            ly = height - margin - plate / 2
            y = ly - plate / 2 - 0.2 * lh - sh / 2
        opacity = self._opacity(tr, t)
        if emoji is not None:
            sprites.append(Sprite(emoji.path, x, y, sw, sh, 0.0, opacity))
        labels.append(Label(label_text(tr.label), self._inside_x(tr.label, x, lh, width), ly, lh,
                            LABEL_COLOR, opacity))

    @staticmethod
    def _inside_x(label: str, x: float, lh: float, width: int) -> float:
        half = (len(label_text(label)) * LABEL_CHAR_WIDTH * lh + lh) / 2
        return min(max(x, half), width - half) if 2 * half <= width else width / 2

    def _label(self, label: str, x: float, y: float, reach: float, sh: float, width: int, height: int,
               opacity: float, Label: Any) -> Any:
        """The name under the emoji (above it where the frame ends), kept inside the frame."""
        lh = max(LABEL_MIN_PX, min(LABEL_FRACTION * sh, LABEL_MAX * height))
        plate = lh * 1.6
        ly = y + reach + 0.2 * lh + plate / 2
        if ly + plate / 2 > height:
            ly = y - reach - 0.2 * lh - plate / 2
        ly = min(max(ly, plate / 2), height - plate / 2)
        return Label(label_text(label), self._inside_x(label, x, lh, width), ly, lh, LABEL_COLOR, opacity)
