"""Typed analysis results that are not pixels: hands and faces.

Standard library only: the worker produces these, the OBS side (inside OBS's interpreter) and
the command line consume them, and the Scene turns them into a RenderPlan. Coordinates are
normalised to the *frame* (x, y in 0..1 of the frame's width and height; points may lie a
little outside when a hand or face is cut by the frame edge), so results do not depend on the
analysis size a stage ran at.

The binary form that carries these across the process boundary lives beside them: encode() and
decode() of a FrameResults (versioned, every count and value range-checked on read, no silent
truncation on write).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Sequence, Tuple

Point3 = Tuple[float, float, float]
Point2 = Tuple[float, float]
Box = Tuple[float, float, float, float]   # x, y, width, height, normalised to the frame

# Built-in gestures, by canonical name. One-hand gestures are classified per hand; two-hand
# gestures need both hands in the frame.
ONE_HAND_GESTURES = ("thumbs_up", "thumbs_down", "open_palm", "victory", "pointing_up", "fist",
                     "ok", "i_love_you")
TWO_HAND_GESTURES = ("heart_hands", "two_thumbs_up", "two_thumbs_down", "two_victories")
BUILTIN_GESTURES = ONE_HAND_GESTURES + TWO_HAND_GESTURES

# FER2013 class order (the order of the bundled expression CNN's outputs).
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

HAND_LANDMARKS = 21


@dataclass(frozen=True)
class Hand:
    """One tracked hand in one frame.

    landmarks: MediaPipe's 21 hand landmarks (wrist first) as (x, y, z); x, y normalised to the
        frame, z MediaPipe's relative depth (wrist = 0, smaller = nearer the camera), scaled
        like x.
    handedness: 'left' or 'right': the person's own hand, whatever the video's mirroring.
    score: hand presence/handedness confidence, 0..1.
    """

    landmarks: Tuple[Point3, ...]
    handedness: str
    score: float


@dataclass(frozen=True)
class GestureHit:
    """A gesture seen in one frame (before hold/hysteresis/cooldown decide whether it fires).

    name: a BUILTIN_GESTURES name, or a custom model's label.
    score: 0..1 confidence.
    hands: indices into the frame's hands tuple that make the gesture (one or two).
    """

    name: str
    score: float
    hands: Tuple[int, ...]


@dataclass(frozen=True)
class Face:
    """One tracked face in one frame.

    track_id: stable identity across frames (the same person keeps the same id).
    box: face box (x, y, w, h), normalised to the frame.
    score: detection confidence 0..1.
    roll: head roll in radians (positive = clockwise on screen, eyes level = 0).
    landmarks: face-mesh points (x, y) normalised to the frame, empty when only a box is known.
    expression: one of EXPRESSIONS or a custom label; '' when unknown.
    expression_score: 0..1 confidence of `expression`.
    """

    track_id: int
    box: Box
    score: float
    roll: float = 0.0
    landmarks: Tuple[Point2, ...] = ()
    expression: str = ""
    expression_score: float = 0.0


# -- binary form ----------------------------------------------------------------------------
# One frame's results cross the worker -> OBS boundary in this layout (little-endian, struct):
#
#   header   magic b"FXR1", version u16, flags u16 (bit 0: the faces stage produced this
#            record), payload size u32 (the whole record, header included), frame_index u32,
#            timestamp f64, hands_age f32, faces_age f32, n_hands u8, n_gestures u8,
#            n_faces u8, n_heads u8, frame width u16, frame height u16 (0 = unknown)
#   hand     handedness u8 (0 left, 1 right), pad 3, score f32, 21 x (x, y, z) f32
#   gesture  name length u8 + UTF-8 name, score f32, n_hands u8 + that many hand indices u8
#   face     track_id u32, box 4 x f32, score f32, roll f32, expression_score f32,
#            n_landmarks u16 + that many (x, y) f32, expression length u8 + UTF-8 name
#   head     box 4 x f32 (a head the person mask shows, for face privacy)
#
# Capacities are fixed so a reader can size its buffer once (MAX_ENCODED_SIZE). The encoder
# never truncates: results over a capacity raise ResultsError, so the producer limits its
# stages (e.g. the hands stage's maximum number of hands) instead of losing data unseen.

class ResultsError(ValueError):
    """Results that cannot be encoded (over a capacity, out of range) or a record that is not a
    valid results record (corrupt, truncated, another version); the message names the field,
    what it held and what is expected."""


RESULTS_MAGIC = b"FXR1"
RESULTS_VERSION = 2           # 2: heads, has_faces flag, frame size
MAX_HANDS = 4
MAX_GESTURES = 16
MAX_FACES = 8
MAX_HEADS = 8
FLAG_HAS_FACES = 1
MAX_FACE_LANDMARKS = 478          # MediaPipe face mesh with irises
MAX_NAME_BYTES = 64
MAX_GESTURE_HANDS = 2
# Coordinates are normalised to the frame but may lie outside it (a hand cut by the edge);
# anything beyond this margin is corrupt data, not a hand.
COORD_MIN, COORD_MAX = -2.0, 3.0
HANDEDNESS = ("left", "right")

_HEADER = struct.Struct("<4sHHIIdffBBBBHH")
_HAND = struct.Struct("<B3xf" + "f" * (3 * HAND_LANDMARKS))
_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_F32 = struct.Struct("<f")
_FACE_HEAD = struct.Struct("<Ifffffff")
_POINT2 = struct.Struct("<ff")
_BOX = struct.Struct("<ffff")

MAX_ENCODED_SIZE = (
    _HEADER.size + MAX_HANDS * _HAND.size
    + MAX_GESTURES * (1 + MAX_NAME_BYTES + 4 + 1 + MAX_GESTURE_HANDS)
    + MAX_FACES * (_FACE_HEAD.size + 2 + MAX_FACE_LANDMARKS * _POINT2.size + 1 + MAX_NAME_BYTES)
    + MAX_HEADS * _BOX.size)


@dataclass(frozen=True)
class FrameResults:
    """A frame's non-pixel results, as they travel between processes.

    hands_age / faces_age: seconds since the stage that produced them last ran (0 = computed on
    this frame; more when the engine carried an earlier result forward on a skipped frame).
    heads: head boxes (x, y, w, h, normalised) the person mask shows, for face privacy's
        cover of heads without a detected face.
    has_faces: the faces stage produced this record (an empty `faces` then means "no face",
        not "nobody looked"): face privacy covers the whole frame until such a record arrives.
    frame_size: the analysed frame's (width, height), (0, 0) when unknown.
    """

    frame_index: int = 0
    timestamp: float = 0.0
    hands: Tuple[Hand, ...] = ()
    gestures: Tuple[GestureHit, ...] = ()
    faces: Tuple[Face, ...] = ()
    hands_age: float = 0.0
    faces_age: float = 0.0
    heads: Tuple[Box, ...] = ()
    has_faces: bool = False
    frame_size: Tuple[int, int] = (0, 0)


def _finite(name: str, value: float, lo: float, hi: float) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        raise ResultsError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")
    if not (lo <= value <= hi):   # also rejects NaN
        raise ResultsError(f"{name} must be from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def _finite_coords(name: str, values: Sequence[Any]) -> None:
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))
           or not COORD_MIN <= v <= COORD_MAX]
    if bad:
        _finite(name, bad[0], COORD_MIN, COORD_MAX)


def _name_bytes(field_name: str, name: str, allow_empty: bool) -> bytes:
    if not isinstance(name, str):
        raise ResultsError(f"{field_name} must be a string, got {name!r}")
    raw = name.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES or (not raw and not allow_empty):
        raise ResultsError(f"{field_name} must be 1 to {MAX_NAME_BYTES} UTF-8 bytes, got {len(raw)} ({name[:80]!r})")
    return raw


def _count(what: str, n: int, cap: int) -> None:
    if n > cap:
        raise ResultsError(f"{n} {what} exceed the results record's capacity of {cap}; "
                           f"limit the stage that produces them")


def encode(results: FrameResults) -> bytes:
    """The binary record of one frame's results (at most MAX_ENCODED_SIZE bytes).

    Raises:
        ResultsError: a count over its capacity or a value out of range (nothing is dropped).
    """
    _count("hands", len(results.hands), MAX_HANDS)
    _count("gestures", len(results.gestures), MAX_GESTURES)
    _count("faces", len(results.faces), MAX_FACES)
    _count("heads", len(results.heads), MAX_HEADS)
    fw, fh = results.frame_size
    if not all(isinstance(v, int) and 0 <= v <= 0xFFFF for v in (fw, fh)):
        raise ResultsError(f"frame_size must be two whole numbers 0..65535, got {results.frame_size!r}")
    if not (isinstance(results.frame_index, int) and 0 <= results.frame_index <= 0xFFFFFFFF):
        raise ResultsError(f"frame_index must be a whole number 0..2**32-1, got {results.frame_index!r}")
    ts = _finite("timestamp", results.timestamp, -1e12, 1e12)
    parts = []
    for i, hand in enumerate(results.hands):
        if hand.handedness not in HANDEDNESS:
            raise ResultsError(f"hand {i} handedness must be 'left' or 'right', got {hand.handedness!r}")
        if len(hand.landmarks) != HAND_LANDMARKS:
            raise ResultsError(f"hand {i} must have {HAND_LANDMARKS} landmarks, got {len(hand.landmarks)}")
        if any(len(p) != 3 for p in hand.landmarks):
            raise ResultsError(f"hand {i} landmarks must be (x, y, z), got {hand.landmarks!r:.200}")
        coords = [c for p in hand.landmarks for c in p]
        _finite_coords(f"hand {i} landmark coordinate", coords)
        parts.append(_HAND.pack(HANDEDNESS.index(hand.handedness),
                                _finite(f"hand {i} score", hand.score, 0.0, 1.0), *coords))
    for i, hit in enumerate(results.gestures):
        raw = _name_bytes(f"gesture {i} name", hit.name, allow_empty=False)
        if not 1 <= len(hit.hands) <= MAX_GESTURE_HANDS:
            raise ResultsError(f"gesture {i} ({hit.name}) must name 1 or {MAX_GESTURE_HANDS} hands, got {hit.hands!r}")
        for h in hit.hands:
            if not (isinstance(h, int) and 0 <= h < len(results.hands)):
                raise ResultsError(f"gesture {i} ({hit.name}) names hand {h!r}; the frame has {len(results.hands)} hands")
        parts.append(_U8.pack(len(raw)) + raw + _F32.pack(_finite(f"gesture {i} score", hit.score, 0.0, 1.0))
                     + bytes([len(hit.hands), *hit.hands]))
    for i, face in enumerate(results.faces):
        _count(f"landmarks on face {i}", len(face.landmarks), MAX_FACE_LANDMARKS)
        if not (isinstance(face.track_id, int) and 0 <= face.track_id <= 0xFFFFFFFF):
            raise ResultsError(f"face {i} track_id must be a whole number 0..2**32-1, got {face.track_id!r}")
        if len(face.box) != 4:
            raise ResultsError(f"face {i} box must be (x, y, w, h), got {face.box!r}")
        box = [_finite(f"face {i} box", v, COORD_MIN, COORD_MAX) for v in face.box]
        if box[2] < 0 or box[3] < 0:
            raise ResultsError(f"face {i} box width and height must be >= 0, got {face.box!r}")
        expr = _name_bytes(f"face {i} expression", face.expression, allow_empty=True)
        head = _FACE_HEAD.pack(face.track_id, *box, _finite(f"face {i} score", face.score, 0.0, 1.0),
                               _finite(f"face {i} roll", face.roll, -math.pi * 2, math.pi * 2),
                               _finite(f"face {i} expression score", face.expression_score, 0.0, 1.0))
        if any(len(p) != 2 for p in face.landmarks):
            raise ResultsError(f"face {i} landmarks must be (x, y), got {face.landmarks!r:.200}")
        flat_pts = [c for p in face.landmarks for c in p]
        _finite_coords(f"face {i} landmark coordinate", flat_pts)
        pts = struct.pack(f"<{len(flat_pts)}f", *flat_pts)
        parts.append(head + _U16.pack(len(face.landmarks)) + pts + _U8.pack(len(expr)) + expr)
    for i, box in enumerate(results.heads):
        if len(box) != 4:
            raise ResultsError(f"head {i} box must be (x, y, w, h), got {box!r}")
        vals = [_finite(f"head {i} box", v, COORD_MIN, COORD_MAX) for v in box]
        if vals[2] < 0 or vals[3] < 0:
            raise ResultsError(f"head {i} box width and height must be >= 0, got {box!r}")
        parts.append(_BOX.pack(*vals))
    body = b"".join(parts)
    flags = FLAG_HAS_FACES if results.has_faces else 0
    header = _HEADER.pack(RESULTS_MAGIC, RESULTS_VERSION, flags, _HEADER.size + len(body), results.frame_index, ts,
                          _finite("hands_age", results.hands_age, 0.0, 1e6),
                          _finite("faces_age", results.faces_age, 0.0, 1e6),
                          len(results.hands), len(results.gestures), len(results.faces), len(results.heads),
                          fw, fh)
    return header + body


class _Reader:
    def __init__(self, buf: memoryview, end: int) -> None:
        self.buf, self.pos, self.end = buf, _HEADER.size, end

    def take(self, n: int, what: str) -> memoryview:
        if self.pos + n > self.end:
            raise ResultsError(f"results record is truncated: {what} needs {n} bytes at offset {self.pos}, "
                               f"the record ends at {self.end}")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, s: struct.Struct, what: str) -> tuple:
        return s.unpack(self.take(s.size, what))

    def name(self, what: str, allow_empty: bool) -> str:
        (n,) = self.unpack(_U8, what)
        if n > MAX_NAME_BYTES or (n == 0 and not allow_empty):
            raise ResultsError(f"{what} length {n} is outside {0 if allow_empty else 1}..{MAX_NAME_BYTES}")
        try:
            return bytes(self.take(n, what)).decode("utf-8")
        except UnicodeDecodeError:
            raise ResultsError(f"{what} is not valid UTF-8") from None


def _check(name: str, value: float, lo: float, hi: float) -> float:
    if not lo <= value <= hi:   # also rejects NaN
        raise ResultsError(f"corrupt results record: {name} is {value!r}, expected {lo:g}..{hi:g}")
    return value


def _check_coords(name: str, values: Sequence[float]) -> None:
    """Every coordinate within the frame's margin (one pass; NaN fails the comparison too)."""
    bad = [v for v in values if not COORD_MIN <= v <= COORD_MAX]
    if bad:
        _check(name, bad[0], COORD_MIN, COORD_MAX)


def decode(data: Any) -> FrameResults:
    """Read a record written by encode(). `data` may be longer than the record (a fixed-size
    shared-memory area): the header's payload size says where it ends.

    Raises:
        ResultsError: wrong magic or version, a count over its capacity, a value out of range,
            a record shorter than its header says, or bytes left over inside the record.
    """
    buf = memoryview(data).cast("B")
    if len(buf) < _HEADER.size:
        raise ResultsError(f"results record is truncated: {len(buf)} bytes, the header alone is {_HEADER.size}")
    (magic, version, flags, size, frame_index, ts, hands_age, faces_age,
     n_hands, n_gestures, n_faces, n_heads, fw, fh) = _HEADER.unpack(buf[:_HEADER.size])
    if magic != RESULTS_MAGIC:
        raise ResultsError(f"not a FaceFX results record: magic {bytes(magic)!r}, expected {RESULTS_MAGIC!r}")
    if version != RESULTS_VERSION:
        raise ResultsError(f"results record version {version} is not supported; expected version {RESULTS_VERSION} "
                           f"(the worker and the OBS side come from different FaceFX versions)")
    if not _HEADER.size <= size <= MAX_ENCODED_SIZE:
        raise ResultsError(f"corrupt results record: size {size}, expected {_HEADER.size}..{MAX_ENCODED_SIZE}")
    if size > len(buf):
        raise ResultsError(f"results record is truncated: header says {size} bytes, got {len(buf)}")
    for what, n, cap in (("hands", n_hands, MAX_HANDS), ("gestures", n_gestures, MAX_GESTURES),
                         ("faces", n_faces, MAX_FACES), ("heads", n_heads, MAX_HEADS)):
        if n > cap:
            raise ResultsError(f"corrupt results record: {n} {what}, expected at most {cap}")
    _check("timestamp", ts, -1e12, 1e12)
    _check("hands_age", hands_age, 0.0, 1e6)
    _check("faces_age", faces_age, 0.0, 1e6)
    r = _Reader(buf, size)
    hands = []
    for i in range(n_hands):
        vals = r.unpack(_HAND, f"hand {i}")
        if vals[0] >= len(HANDEDNESS):
            raise ResultsError(f"corrupt results record: hand {i} handedness code {vals[0]}, expected 0 or 1")
        coords = vals[2:]
        _check_coords(f"hand {i} landmark coordinate", coords)
        hands.append(Hand(tuple(tuple(coords[k:k + 3]) for k in range(0, len(coords), 3)),  # type: ignore[misc]
                          HANDEDNESS[vals[0]], _check(f"hand {i} score", vals[1], 0.0, 1.0)))
    gestures = []
    for i in range(n_gestures):
        name = r.name(f"gesture {i} name", allow_empty=False)
        (score,) = r.unpack(_F32, f"gesture {i} score")
        (n,) = r.unpack(_U8, f"gesture {i} hand count")
        if not 1 <= n <= MAX_GESTURE_HANDS:
            raise ResultsError(f"corrupt results record: gesture {i} names {n} hands, expected 1..{MAX_GESTURE_HANDS}")
        idx = tuple(r.take(n, f"gesture {i} hands"))
        if any(h >= n_hands for h in idx):
            raise ResultsError(f"corrupt results record: gesture {i} names hands {idx}, the frame has {n_hands}")
        gestures.append(GestureHit(name, _check(f"gesture {i} score", score, 0.0, 1.0), idx))
    faces = []
    for i in range(n_faces):
        tid, bx, by, bw, bh, score, roll, escore = r.unpack(_FACE_HEAD, f"face {i}")
        box = tuple(_check(f"face {i} box", v, COORD_MIN, COORD_MAX) for v in (bx, by, bw, bh))
        if bw < 0 or bh < 0:
            raise ResultsError(f"corrupt results record: face {i} box size {bw}x{bh} is negative")
        (n,) = r.unpack(_U16, f"face {i} landmark count")
        if n > MAX_FACE_LANDMARKS:
            raise ResultsError(f"corrupt results record: face {i} has {n} landmarks, expected at most {MAX_FACE_LANDMARKS}")
        raw = r.take(n * _POINT2.size, f"face {i} landmarks")
        flat = struct.unpack(f"<{2 * n}f", raw)
        _check_coords(f"face {i} landmark coordinate", flat)
        pts = tuple(zip(flat[0::2], flat[1::2]))
        expr = r.name(f"face {i} expression", allow_empty=True)
        faces.append(Face(tid, box, _check(f"face {i} score", score, 0.0, 1.0),  # type: ignore[arg-type]
                          _check(f"face {i} roll", roll, -math.pi * 2, math.pi * 2), pts, expr,
                          _check(f"face {i} expression score", escore, 0.0, 1.0)))
    if flags & ~FLAG_HAS_FACES:
        raise ResultsError(f"corrupt results record: unknown flags {flags:#x}, expected {FLAG_HAS_FACES:#x} or 0")
    heads = []
    for i in range(n_heads):
        box = r.unpack(_BOX, f"head {i}")
        _check_coords(f"head {i} box", box)
        if box[2] < 0 or box[3] < 0:
            raise ResultsError(f"corrupt results record: head {i} box size {box[2]}x{box[3]} is negative")
        heads.append(tuple(box))
    if r.pos != size:
        raise ResultsError(f"corrupt results record: {size - r.pos} bytes left over after the last head")
    return FrameResults(frame_index, ts, tuple(hands), tuple(gestures), tuple(faces), hands_age, faces_age,
                        tuple(heads), bool(flags & FLAG_HAS_FACES), (fw, fh))
