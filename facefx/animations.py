"""Sticker and full-frame animations as pure functions of output-frame time.

Standard library only: the Scene calls these inside OBS's interpreter as well as on the
command line, and both renderers draw the Sprites they return. Every function here maps
(what, age, duration, frame size, seed) to a list of scene.Sprite and keeps no state, so:

- animation follows the *output* frame's clock: at 60 fps each frame asks for its own age and
  gets positions that are continuous in age, however slowly hands are analysed;
- the same arguments give the same picture in both renderers, in tests and across processes:
  particle parameters come from a local random.Random seeded by (kind, seed), never from a
  shared generator or per-call randomness;
- nothing is drawn before age 0 or from age `duration` on, and every particle fades in when it
  is born and everything fades out over the last moments (an exit transition), so starting or
  ending an animation never pops.

Sizes are fractions of the frame's shorter side, vertical positions and speeds fractions of its
height and horizontal positions fractions of its width, so an animation looks the same at
640x360 and 3840x2160, and particles do not crowd a portrait (vertical-video) frame.

Particle parameters for one (kind, seed, duration) are computed once and cached; a call then
costs one pass over at most a few hundred particles and returns at most about 130 sprites
(fireworks sparks are single motion-stretched sprites rather than trails of copies), which
keeps the per-frame work on OBS's render thread and the number of draws small.
"""
from __future__ import annotations

import bisect
import functools
import math
import os
import random
import struct
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .scene import Sprite

try:
    from .stickers import path as _sticker_path
except ImportError:
    # OBS imports facefx straight from the source checkout, where the artwork is the top-level
    # stickers/ folder that an installed package maps to facefx.stickers.
    _STICKERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "stickers")

    def _sticker_path(name: str) -> str:
        return os.path.join(_STICKERS_DIR, name)


def bundled_sticker(name: str) -> str:
    """Absolute path of a bundled sticker file, installed package or source checkout alike."""
    return _sticker_path(name)


ANIMATIONS = ("hearts", "confetti", "fireworks", "balloons", "rain")

# Which full-frame animation a gesture plays by default (issue 7); other gestures show their
# sticker.
DEFAULT_ANIMATION: Dict[str, str] = {
    "heart_hands": "hearts",
    "two_victories": "confetti",
    "two_thumbs_up": "fireworks",
    "victory": "balloons",
    "two_thumbs_down": "rain",
}

DEFAULT_DURATION = 3.0          # seconds, full-frame animations
DEFAULT_STICKER_DURATION = 2.0  # seconds, single stickers
DEFAULT_STICKER_SIZE = 0.22     # fraction of the frame height

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
PLACEMENTS = ("hand",) + CORNERS
CORNER_MARGIN = 0.04            # fraction of the frame height between a corner sticker and the edge

POP_TIME = 0.35                 # seconds a sticker takes to pop in
POP_OVERSHOOT = 1.7             # easeOutBack constant: peaks about 10% above full size
FADE_TIME = 0.4                 # seconds of a sticker's or an animation's fade-out (at most)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_path(name: str) -> str:
    """Absolute path of bundled artwork, e.g. image_path('particles/heart_red.png')."""
    return _sticker_path(name)


@functools.lru_cache(maxsize=256)
def image_size(path: str) -> Tuple[int, int]:
    """(width, height) of a PNG from its header, read once per file.

    Raises:
        ValueError: the file is missing, unreadable or not a PNG.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as e:
        raise ValueError(f"sticker image {path}: cannot be read ({e.strerror}); "
                         "expected an RGBA PNG file") from None
    if len(head) < 24 or head[:8] != _PNG_MAGIC or head[12:16] != b"IHDR":
        raise ValueError(f"sticker image {path}: not a PNG file; expected an RGBA PNG file")
    w, h = struct.unpack(">II", head[16:24])
    if w == 0 or h == 0:
        raise ValueError(f"sticker image {path}: has size {w}x{h}; expected a non-empty image")
    return int(w), int(h)


def _aspect(path: str) -> float:
    w, h = image_size(path)
    return w / h


# ---------------------------------------------------------------------------------------------
# Easing: all continuous, all mapping 0 -> 0 and 1 -> 1.

def _clamp01(x: float) -> float:
    return 0.0 if x <= 0.0 else 1.0 if x >= 1.0 else x


def _smooth(x: float) -> float:
    x = _clamp01(x)
    return x * x * (3.0 - 2.0 * x)


def _ease_out(x: float) -> float:
    x = _clamp01(x)
    return 1.0 - (1.0 - x) ** 3


def _ease_out_back(x: float, c: float = POP_OVERSHOOT) -> float:
    x = _clamp01(x)
    return 1.0 + (c + 1.0) * (x - 1.0) ** 3 + c * (x - 1.0) ** 2


def _exit_fade(age: float, duration: float) -> float:
    """Opacity factor of the whole animation: 1, then smoothly to 0 at `duration`."""
    fade = min(FADE_TIME * 1.5, 0.3 * duration)
    return _smooth((duration - age) / fade)


# ---------------------------------------------------------------------------------------------
# Validation at the public boundary, one message naming what was wrong and what is expected.

def _check_common(age: float, duration: float, width: int, height: int) -> None:
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise ValueError(f"animation duration {duration!r}: expected seconds > 0")
    if not (isinstance(age, (int, float)) and math.isfinite(age)):
        raise ValueError(f"animation age {age!r}: expected a finite number of seconds")
    for label, v in (("width", width), ("height", height)):
        if not (isinstance(v, int) and v > 0):
            raise ValueError(f"frame {label} {v!r}: expected a whole number of pixels > 0")


# ---------------------------------------------------------------------------------------------
# Single stickers.

def sticker(image: str, placement: str, anchor: Optional[Tuple[float, float]], age: float,
            duration: float, size: float, width: int, height: int) -> Optional[Sprite]:
    """One sticker at output time `age` seconds after it fired, or None when nothing is drawn.

    image: PNG path (see image_path()); its aspect ratio is kept.
    placement: 'hand' (centred on `anchor`, (x, y) in frame pixels, following it as the Scene
        updates it; None while no hand is known, which draws nothing) or one of CORNERS.
    size: the sticker's longer side as a fraction of the frame height.
    The sticker pops in (grows past full size and settles, with a small turn) and fades out
    over the last FADE_TIME seconds; before 0 and from `duration` on it is None. It is kept
    entirely inside the frame, so a hand at the edge does not push it out of view.

    Raises:
        ValueError: an unknown placement, a size outside (0, 1], a bad age, duration or frame
            size, or an image that is not a readable PNG.
    """
    _check_common(age, duration, width, height)
    if placement not in PLACEMENTS:
        raise ValueError(f"sticker placement {placement!r}: expected one of "
                         f"{', '.join(PLACEMENTS)}")
    if not (isinstance(size, (int, float)) and 0 < size <= 1):
        raise ValueError(f"sticker size {size!r}: expected a fraction of the frame height, "
                         "0 < size <= 1")
    if age < 0 or age >= duration:
        return None
    if placement == "hand" and anchor is None:
        return None
    aspect = _aspect(image)
    full = size * height
    w_full, h_full = (full, full / aspect) if aspect >= 1 else (full * aspect, full)

    pop = POP_TIME if duration > 2 * POP_TIME else duration / 2
    fade = min(FADE_TIME, 0.3 * duration)
    grow = _ease_out_back(age / pop)
    scale = 0.25 + 0.75 * grow
    opacity = _smooth(age / (0.35 * pop))
    left = duration - age
    if left < fade:
        opacity *= _smooth(left / fade)
        scale *= 0.85 + 0.15 * _smooth(left / fade)
    rotation = -14.0 * (1.0 - grow)

    if placement == "hand":
        cx, cy = float(anchor[0]), float(anchor[1])
    else:
        m = CORNER_MARGIN * height
        cx = m + w_full / 2 if placement.endswith("left") else width - m - w_full / 2
        cy = m + h_full / 2 if placement.startswith("top") else height - m - h_full / 2
    # Keep the full-size sticker inside the frame (when it fits).
    cx = min(max(cx, w_full / 2), max(w_full / 2, width - w_full / 2))
    cy = min(max(cy, h_full / 2), max(h_full / 2, height - h_full / 2))
    return Sprite(image, cx, cy, w_full * scale, h_full * scale, rotation, opacity)


# ---------------------------------------------------------------------------------------------
# Full-frame animations. Each kind has a builder (seeded parameters, cached) and a drawer.

# Particle images as absolute paths, resolved once at import (a path join, no file access).
HEARTS = tuple(image_path(f"particles/heart_{c}.png")
               for c in ("red", "pink", "sparkling", "two"))
CONFETTI = tuple(image_path(f"particles/confetti_{c}.png")
                 for c in ("red", "orange", "yellow", "green", "blue", "purple", "pink"))
SPARKS = tuple(image_path(f"particles/spark_{c}.png")
               for c in ("gold", "red", "green", "blue", "pink", "white"))
BALLOONS = tuple(image_path(f"particles/balloon_{c}.png")
                 for c in ("red", "blue", "yellow", "green", "purple", "orange"))
CLOUD = image_path("particles/cloud_dark.png")
RAIN = image_path("particles/rain_streak.png")
NIGHT = image_path("particles/night.png")
GLOOM = image_path("particles/gloom.png")


def _stratified(rng: random.Random, n: int, start: float, end: float) -> List[float]:
    """n times spread over [start, end): one per equal slot, jittered inside it, so particles
    arrive steadily instead of in random clumps."""
    step = (end - start) / n
    return [start + step * (i + 0.1 + 0.8 * rng.random()) for i in range(n)]


def _hearts(rng: random.Random, duration: float) -> tuple:
    n = max(6, min(36, int(round(7.0 * duration))))
    out = []
    for t0 in _stratified(rng, n, 0.0, 0.6 * duration):
        out.append((
            t0,
            rng.uniform(1.7, 2.5),                   # life, s
            rng.choice((0.06, 0.14, 0.22, 0.30, 0.70, 0.78, 0.86, 0.94)) + rng.uniform(-0.05, 0.05),
            rng.uniform(-0.06, 0.06),                # horizontal drift over the life, of width
            rng.uniform(0.015, 0.035),               # sway amplitude, of width
            rng.uniform(0.6, 1.1),                   # sway frequency, Hz
            rng.uniform(0.0, 2 * math.pi),           # sway phase
            rng.uniform(0.09, 0.15),                 # size, of height
            rng.uniform(0.15, 0.45),                 # end height, of height from the top
            rng.choice(HEARTS + HEARTS[:2]),         # red and pink twice as often
        ))
    out.sort(key=lambda p: p[7])                     # small (far) hearts drawn first
    return tuple(out)


def _draw_hearts(params, age, duration, W, H) -> List[Sprite]:
    S = min(W, H)
    sprites = []
    fade = _exit_fade(age, duration)
    for t0, life, x0, drift, amp, freq, phase, size, y_end, img in params:
        tau = age - t0
        if tau < 0 or tau >= life:
            continue
        p = tau / life
        s = size * S * (0.3 + 0.7 * _ease_out_back(tau / 0.3, 1.2))
        a = _aspect(img)
        y0 = H + size * S * 0.5
        y = y0 + (y_end * H - y0) * _ease_out(p * 1.1)
        sway = math.sin(2 * math.pi * freq * tau + phase)
        x = (x0 + drift * p) * W + amp * W * sway
        rot = 12.0 * math.cos(2 * math.pi * freq * tau + phase)
        op = _smooth(tau / 0.15) * _smooth((1.0 - p) / 0.4) * fade
        sprites.append(Sprite(img, x, y, s * a, s, rot, op))
    return sprites


def _confetti(rng: random.Random, duration: float) -> tuple:
    n = 100
    volley2 = min(0.5, 0.2 * duration)
    out = []
    for i in range(n):
        side = i % 2                                 # 0: bottom-left cannon, 1: bottom-right
        t0 = rng.uniform(0.0, 0.18) + (volley2 if i % 4 >= 2 else 0.0)
        elev = math.radians(rng.uniform(42.0, 80.0))
        speed = rng.uniform(1.8, 3.0)                # of height per second at launch
        out.append((
            t0, side,
            speed * math.cos(elev),                  # inward speed, of height per second
            speed * math.sin(elev),                  # upward speed, of height per second
            rng.uniform(0.15, 0.25),                 # falling speed once slowed, of height/s
            rng.uniform(0.015, 0.035),               # flutter amplitude, of height
            rng.uniform(0.8, 1.6),                   # flutter frequency, Hz
            rng.uniform(0.0, 2 * math.pi),
            rng.uniform(-540.0, 540.0),              # spin, degrees per second
            rng.uniform(2.0, 5.0),                   # flip rate, turns per second
            rng.uniform(0.03, 0.046),                # length, of height
            rng.choice(CONFETTI),
        ))
    return tuple(out)


_CONFETTI_DRAG = 2.4  # 1/s: paper slows quickly after the cannon's push


def _draw_confetti(params, age, duration, W, H) -> List[Sprite]:
    S = min(W, H)
    sprites = []
    k = _CONFETTI_DRAG
    fade = _exit_fade(age, duration)
    for t0, side, vx, vy, vt, amp, freq, phase, spin, flip, size, img in params:
        tau = age - t0
        if tau < 0:
            continue
        slow = (1.0 - math.exp(-k * tau)) / k        # integral of e^{-k t}
        # Drag towards terminal fall speed vt: v(t) = vt + (v0 - vt) e^{-kt}, integrated.
        dy = vt * tau + (-vy - vt) * slow
        dx = vx * slow
        settle = 1.0 - math.exp(-k * tau)
        flutter = amp * settle * math.sin(2 * math.pi * freq * tau + phase)
        x0 = -0.02 * W if side == 0 else W * 1.02
        x = x0 + (dx * S if side == 0 else -dx * S) + flutter * S
        y = H * 1.02 + dy * H
        length = size * S
        if y - 0.5 * length > H and tau > 0.5:
            continue                                 # fallen out of the frame
        a = _aspect(img)
        w = length * (0.2 + 0.8 * abs(math.cos(math.pi * flip * tau + phase)))
        op = _smooth(tau / 0.08) * fade
        sprites.append(Sprite(img, x, y, w, length / a, spin * tau, op))
    return sprites


def _fireworks(rng: random.Random, duration: float) -> tuple:
    nb = max(2, min(8, int(round(1.6 * duration))))
    bursts = []
    times = _stratified(rng, nb, 0.0, max(0.1, 0.6 * duration - 0.45))
    first_left = rng.random() < 0.5
    for b, t0 in enumerate(times):
        # Alternate sides so the bursts frame the person instead of covering the face.
        left = (b % 2 == 0) == first_left
        bx = rng.uniform(0.1, 0.34) if left else rng.uniform(0.66, 0.9)
        by = rng.uniform(0.27, 0.4)
        colour = rng.randrange(len(SPARKS) - 1)
        radius = rng.uniform(0.2, min(0.3, by))     # of height: the burst stays in the frame
        n = 24
        sparks = []
        for i in range(n):
            ang = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / n
            sparks.append((
                ang,
                rng.uniform(0.75, 1.0),              # share of the burst radius
                rng.uniform(1.0, 1.45),              # life, s
                rng.uniform(9.0, 16.0),              # twinkle rate, rad/s
                rng.uniform(0.0, 2 * math.pi),
                SPARKS[-1] if rng.random() < 0.2 else SPARKS[colour],
            ))
        bursts.append((t0, rng.uniform(0.38, 0.5), bx, rng.uniform(-0.04, 0.04), by, radius,
                       tuple(sparks)))
    return tuple(bursts)


_BURST_DRAG = 3.2      # 1/s: sparks fly out fast and slow down
_SPARK_GRAVITY = 0.09  # of height per second squared: the burst droops as it dies


def _overlay(img: str, age: float, duration: float, strength: float, W: int, H: int) -> Sprite:
    """The whole frame darkened (a small gradient image stretched over it), faded in at the
    start and out with the animation, so light particles read over bright video."""
    op = strength * _smooth(age / 0.4) * _exit_fade(age, duration)
    return Sprite(img, W / 2.0, H / 2.0, float(W), float(H), 0.0, op)


_BLUR_TIME = 0.15  # s: a moving spark is drawn stretched over the way it covered in this time


def _streak(img: str, x: float, y: float, dx: float, dy: float, speed: float, size: float,
            rot: float, op: float) -> Sprite:
    """A round glow at (x, y) moving along the unit direction (dx, dy), stretched backwards
    over the way it came (a light trail, the way a camera's shutter sees it); rot is that
    direction in sprite terms (degrees clockwise from down)."""
    tail = speed * _BLUR_TIME
    return Sprite(img, x - dx * tail / 2, y - dy * tail / 2, size, size + tail, rot, op)


def _draw_fireworks(params, age, duration, W, H) -> List[Sprite]:
    S = min(W, H)
    sprites = [_overlay(NIGHT, age, duration, 0.75, W, H)]
    fade = _exit_fade(age, duration)
    k = _BURST_DRAG
    norm = 1.0 / (1.0 - math.exp(-k * 1.2))
    for t0, rise, bx, lean, by, radius, sparks in params:
        tau = age - t0
        if tau < 0:
            continue
        colour = sparks[0][5]
        if tau < rise:
            # The rocket: a bright point decelerating up from the bottom edge.
            q = tau / rise
            e = _ease_out(q)
            de = 3.0 * (1.0 - q) ** 2 / rise
            y0 = H * 1.02
            x = (bx + lean * (1.0 - e)) * W
            y = y0 + (by * H - y0) * e
            op = _smooth(tau / 0.06) * _smooth((rise - tau) / 0.08) * fade  # gone as it bursts
            sprites.append(_streak(colour, x, y, 0.0, -1.0, (y0 - by * H) * de * 0.5, 0.03 * S,
                                   180.0, op))
            continue
        tb = tau - rise
        if tb < 0.3:
            s = radius * S * (0.5 + 1.2 * _ease_out(tb / 0.3))
            flash = _smooth(tb / 0.04) * (1.0 - tb / 0.3) ** 2 * 0.8 * fade
            sprites.append(Sprite(SPARKS[-1], bx * W, by * H, s, s, 0.0, flash))
        for ang, share, life, tw, ph, img in sparks:
            if tb >= life:
                continue
            p = tb / life
            decay = math.exp(-k * tb)
            r = radius * share * (1.0 - decay) * norm * S
            vr = radius * share * k * decay * norm * S
            ca, sa = math.cos(ang), math.sin(ang)
            x = bx * W + ca * r
            y = by * H + sa * r + 0.5 * _SPARK_GRAVITY * tb * tb * H
            twinkle = 0.8 + 0.2 * math.sin(tw * tb + ph)
            op = _smooth(tb / 0.1) * _smooth((1.0 - p) / 0.55) * twinkle * fade
            # Stretched along the burst's ray; the slow droop under gravity is left unstretched.
            sprites.append(_streak(img, x, y, ca, sa, vr, S * (0.045 - 0.022 * p),
                                   math.degrees(math.atan2(-ca, sa)), op))
    return sprites


def _side_lane(u: float) -> float:
    """Map 0..1 across the frame to x (of width) with the middle fifth left out, so large
    particles rise beside a centred face rather than over it."""
    off = 0.1 + 0.8 * abs(u - 0.5)
    return min(0.95, max(0.05, 0.5 + (off if u >= 0.5 else -off)))


def _balloons(rng: random.Random, duration: float) -> tuple:
    n = max(4, min(14, int(round(2.4 * duration))))
    lanes = [(i + 0.5) / n for i in range(n)]
    rng.shuffle(lanes)
    colours = list(BALLOONS)
    rng.shuffle(colours)
    out = []
    for i, t0 in enumerate(_stratified(rng, n, 0.0, 0.35 * duration)):
        size = rng.uniform(0.2, 0.28)
        out.append((
            t0,
            _side_lane(lanes[i] + rng.uniform(-0.3, 0.3) / n),
            rng.uniform(0.55, 0.7),                 # rise speed, of height per second
            rng.uniform(0.012, 0.025),              # sway amplitude, of width
            rng.uniform(0.35, 0.6),                 # sway frequency, Hz
            rng.uniform(0.0, 2 * math.pi),
            size,
            colours[i % len(colours)],
        ))
    out.sort(key=lambda p: p[6])                    # smaller (farther) balloons behind
    return tuple(out)


def _draw_balloons(params, age, duration, W, H) -> List[Sprite]:
    S = min(W, H)
    sprites = []
    fade = _exit_fade(age, duration)
    for t0, x0, speed, amp, freq, phase, size, img in params:
        tau = age - t0
        if tau < 0:
            continue
        h = size * S
        # Buoyant start: accelerate to full rise speed over the first half second.
        climb = speed * (tau - 0.1 * (1.0 - math.exp(-6.0 * tau)))
        y = H + h * 0.5 - climb * H
        if y < -h * 0.6:
            continue                                 # floated out of the top
        w = h * _aspect(img)
        wob = 2 * math.pi * freq * tau + phase
        x = x0 * W + amp * W * math.sin(wob)
        rot = -7.0 * math.cos(wob)                   # leans into its sway
        op = _smooth(tau / 0.12) * fade
        sprites.append(Sprite(img, x, y, w, h, rot, op))
    return sprites


def _rain(rng: random.Random, duration: float) -> tuple:
    clouds = []
    n_clouds = 6
    for i in range(n_clouds):
        clouds.append((
            (i + 0.5) / n_clouds + rng.uniform(-0.04, 0.04),   # x, of width
            rng.uniform(-0.03, 0.04),                         # y of the centre, of height
            rng.uniform(0.34, 0.44),                          # width, of height
            rng.uniform(0.0, 0.25),                           # arrival delay, s
            rng.uniform(-0.02, 0.02),                         # drift over the animation, of width
        ))
    clouds.sort(key=lambda c: c[2])
    start, end = 0.25, max(0.35, duration - 0.3)
    n = max(10, int(round(100.0 * (end - start))))
    drops = []
    for t0 in _stratified(rng, n, start, end):
        drops.append((
            t0,
            rng.uniform(0.0, 1.03),                     # x at the cloud line, of width
            rng.uniform(1.4, 1.9),                      # fall speed, of height per second
            rng.uniform(0.08, 0.12),                    # streak length, of height
            rng.uniform(0.6, 0.9),                      # opacity
        ))
    return (tuple(clouds), tuple(drops), tuple(d[0] for d in drops))


_RAIN_SLANT = -0.12  # dx/dy: a light wind from the right
_CLOUD_LINE = 0.1    # where drops appear, of height (under the clouds)
_DROP_LIFE = 1.0     # s: longer than the slowest drop takes to fall out of the frame


def _draw_rain(params, age, duration, W, H) -> List[Sprite]:
    S = min(W, H)
    clouds, drops, births = params
    sprites = [_overlay(GLOOM, age, duration, 0.55, W, H)]
    fade = _exit_fade(age, duration)
    streak = RAIN
    rot = -math.degrees(math.atan(_RAIN_SLANT))
    a = _aspect(streak)
    # Drops are in birth order and none falls for longer than _DROP_LIFE: look at the living.
    first = bisect.bisect_left(births, age - _DROP_LIFE)
    last = bisect.bisect_right(births, age)
    for t0, x, speed, length, op in drops[first:last]:
        tau = age - t0
        if tau < 0:
            continue
        fall = speed * tau * H
        y = _CLOUD_LINE * H + fall
        if y - 0.5 * length * S > H:
            continue
        l = length * S
        xx = x * W + _RAIN_SLANT * fall
        if xx < -0.15 * l:
            continue                                 # blown out past the left edge
        sprites.append(Sprite(streak, xx, y, l * a, l, rot,
                              op * _smooth(tau / 0.06) * fade))
    cloud = CLOUD
    ca = _aspect(cloud)
    leave = min(0.6, 0.3 * duration)
    for x, y, w, delay, drift in clouds:
        # Clouds slide down into the top edge, drift, and rise back out as the rain stops.
        enter = _ease_out((age - delay) / 0.5)
        if enter <= 0:
            continue
        out = _smooth((duration - age) / leave)
        h = w * S / ca
        yy = -h * 0.6 + (y * H + h * 0.6) * enter * (0.4 + 0.6 * out)
        sprites.append(Sprite(cloud, (x + drift * age / duration) * W, yy, w * S, h, 0.0,
                              0.97 * out))
    return sprites


_KINDS: Dict[str, Tuple[Callable, Callable]] = {
    "hearts": (_hearts, _draw_hearts),
    "confetti": (_confetti, _draw_confetti),
    "fireworks": (_fireworks, _draw_fireworks),
    "balloons": (_balloons, _draw_balloons),
    "rain": (_rain, _draw_rain),
}


@functools.lru_cache(maxsize=32)
def _params(kind: str, seed: int, duration: float):
    # A str seed is hashed with SHA-512 by random.Random, so it is the same in every process
    # (unlike hash()), which keeps OBS, the CLI and tests in step.
    return _KINDS[kind][0](random.Random(f"facefx.animations.{kind}.{seed}"), duration)


def sprites(kind: str, age: float, duration: float, width: int, height: int,
            seed: int = 0) -> List[Sprite]:
    """The sprites of full-frame animation `kind` at `age` seconds after it started.

    kind: one of ANIMATIONS. duration: seconds the animation lasts; nothing is drawn at
    age < 0 or age >= duration. seed picks one of many variations (particle positions,
    colours, timing) and gives the same variation every time. The list is in drawing order.

    Raises:
        ValueError: an unknown kind, or a bad age, duration, frame size or seed.
    """
    if kind not in _KINDS:
        raise ValueError(f"animation {kind!r}: expected one of {', '.join(ANIMATIONS)}")
    _check_common(age, duration, width, height)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"animation seed {seed!r}: expected an integer")
    if age < 0 or age >= duration:
        return []
    return _KINDS[kind][1](_params(kind, seed, float(duration)), float(age), float(duration),
                           width, height)


def images(kind: Optional[str] = None) -> Sequence[str]:
    """Every image (absolute path) an animation may draw (all of them when kind is None), for
    renderers that load their images ahead of the first frame."""
    table = {"hearts": HEARTS, "confetti": CONFETTI, "fireworks": SPARKS + (NIGHT,),
             "balloons": BALLOONS, "rain": (CLOUD, RAIN, GLOOM)}
    if kind is not None and kind not in table:
        raise ValueError(f"animation {kind!r}: expected one of {', '.join(ANIMATIONS)}")
    names = table[kind] if kind is not None else tuple(n for v in table.values() for n in v)
    return tuple(names)
