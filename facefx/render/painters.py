"""Painters for the plan items drawn after the background (CPU renderer).

One painter per item type (scene.Sprite, scene.Ring), looked up in a table, so a new kind of
item (a face cover, an emoji) is one function registered here and one in the GPU renderer,
without touching the background code. Each painter is the CPU reference of what a fragment
shader does for the same item:

- Sprite: the image is premultiplied by its alpha once when loaded, then resized to the drawn
  size (area averaging, so a large sticker drawn small does not alias) and placed with one
  affine warp (rotation about its centre, sub-pixel position, bilinear). Premultiplying before
  resizing and warping keeps the colour of transparent pixels out of the edges (no dark or
  white fringe). out = src * opacity + out * (1 - alpha * opacity). Only the sprite's bounding
  box is touched, clipped to the frame.
- Ring: an anti-aliased arc with round ends from 12 o'clock clockwise over `progress` of the
  circle, computed per pixel (ring_coverage) exactly as effects/ring.effect does.
- Cover (face privacy): the region's shape (ellipse or rectangle, turned by its rotation) is
  filled by its style - blur (reduced, Gaussian-blurred, enlarged: nothing of the face's detail
  survives), pixelate (area-averaged blocks), colour, an emoji or picture over a solid underlay
  in the picture's own colour (so the whole region is covered even where the picture is
  transparent), or the captured plate - and blended with a soft edge a few pixels wide that
  lies outside the shape: inside it the cover is fully opaque. A picture that cannot be read
  falls back to a solid cover, and 'plate' without a plate to a blur: never a bare face.
- Label: anti-aliased text (OpenCV's Hershey sans, ASCII; other characters show as '?') on a
  dark rounded plate, so it reads over any picture; the plate is kept inside the frame. The
  finished patch is cached per (text, height, colour): labels change rarely.

Images are cached by (path, modification time) and by drawn size, least recently used first
out, within a bound on entries and bytes: animations draw a handful of particle images at many
sizes, and one sticker per gesture can be on screen at once.
"""
from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, Optional, Set, Tuple

import cv2
import numpy as np

from ..imageio import MediaError, load_image_rgb
from ..scene import Cover, Label, Ring, Sprite

log = logging.getLogger(__name__)

MAX_IMAGE_SIDE = 4096          # larger sticker files are refused (they would cost more to
                               # resize each frame than the whole composite)


class ImageCache:
    """Premultiplied RGBA images by (path, mtime[, drawn size]); bounded LRU."""

    def __init__(self, *, max_entries: int = 64, max_bytes: int = 64 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: "OrderedDict[Tuple, np.ndarray]" = OrderedDict()
        self._bytes = 0
        self._failed: Set[Tuple[str, float]] = set()
        self.loads = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def _get(self, key: Tuple) -> Optional[np.ndarray]:
        img = self._items.get(key)
        if img is not None:
            self._items.move_to_end(key)
        return img

    def _put(self, key: Tuple, img: np.ndarray) -> None:
        self._items[key] = img
        self._bytes += img.nbytes
        while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes

    def source(self, path: str) -> Optional[np.ndarray]:
        """The file as premultiplied RGBA, or None when it cannot be used (reported once per
        file version in the log; the rest of the frame is still drawn)."""
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = -1.0
        key = (path, mtime)
        img = self._get(key)
        if img is not None or key in self._failed:
            return img
        try:
            img = load_premultiplied(path)
        except MediaError as exc:
            log.warning("sticker not drawn: %s", exc)
            self._failed.add(key)
            return None
        self.loads += 1
        self._put(key, img)
        return img

    def sized(self, path: str, width: int, height: int) -> Optional[np.ndarray]:
        src = self.source(path)
        if src is None:
            return None
        if src.shape[1] == width and src.shape[0] == height:
            return src
        key = (path, id(src), width, height)
        img = self._get(key)
        if img is None:
            shrink = width < src.shape[1] and height < src.shape[0]
            img = cv2.resize(src, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            self._put(key, img)
        return img


def load_premultiplied(path: str) -> np.ndarray:
    """An image file as uint8 RGBA with alpha premultiplied (a file without alpha is opaque)."""
    img = load_image_rgb(path, keep_alpha=True)
    h, w = img.shape[:2]
    if max(h, w) > MAX_IMAGE_SIDE:
        raise MediaError(f"{path} is {w}x{h} pixels; expected a sticker at most {MAX_IMAGE_SIDE} pixels on a side")
    if img.shape[2] == 3:
        return np.ascontiguousarray(np.dstack([img, np.full((h, w), 255, np.uint8)]))
    out = img.copy()
    alpha = img[:, :, 3:4]
    out[:, :, :3] = cv2.multiply(img[:, :, :3], np.repeat(alpha, 3, axis=2), scale=1.0 / 255.0)
    return out


def _bounds(cx: float, cy: float, hw: float, hh: float, width: int, height: int) -> Optional[Tuple[int, int, int, int]]:
    x0 = max(0, int(math.floor(cx - hw)) - 1)
    y0 = max(0, int(math.floor(cy - hh)) - 1)
    x1 = min(width, int(math.ceil(cx + hw)) + 1)
    y1 = min(height, int(math.ceil(cy + hh)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _composite(out: np.ndarray, x0: int, y0: int, premul: np.ndarray, opacity: float) -> None:
    """out[roi] = premul * opacity + out[roi] * (1 - alpha * opacity) (RGB, and alpha when out
    has it), premul an RGBA patch the size of the region. uint8 OpenCV operations throughout:
    float numpy costs ~10x more on a sticker-sized patch."""
    h, w = premul.shape[:2]
    roi = out[y0:y0 + h, x0:x0 + w]
    if opacity < 1.0:
        premul = cv2.multiply(premul, (opacity, opacity, opacity, opacity))
    inv = cv2.bitwise_not(premul[:, :, 3])
    channels = roi.shape[2]
    keep = cv2.multiply(roi, cv2.merge([inv] * channels), scale=1.0 / 255.0)
    add = premul if channels == 4 else premul[:, :, :3]
    cv2.add(keep, np.ascontiguousarray(add), dst=keep)
    np.copyto(roi, keep)


def paint_sprite(out: np.ndarray, sprite: Sprite, cache: ImageCache) -> None:
    w, h = int(round(sprite.width)), int(round(sprite.height))
    opacity = min(1.0, float(sprite.opacity))
    if w < 1 or h < 1 or opacity <= 0.0:
        return
    theta = math.radians(sprite.rotation)
    c, s = math.cos(theta), math.sin(theta)
    hw, hh = (abs(c) * w + abs(s) * h) / 2.0, (abs(s) * w + abs(c) * h) / 2.0
    box = _bounds(sprite.x, sprite.y, hw, hh, out.shape[1], out.shape[0])
    if box is None:
        return
    img = cache.sized(sprite.image, w, h)
    if img is None:
        return
    x0, y0, x1, y1 = box
    # Source pixel centres -> output pixel centres (warpAffine works on pixel indices, whose
    # centres are at index + 0.5 in the plan's continuous coordinates). Positive rotation is
    # clockwise on screen (y points down).
    sx, sy = (w - 1) / 2.0, (h - 1) / 2.0
    dx, dy = sprite.x - 0.5 - x0, sprite.y - 0.5 - y0
    m = np.array([[c, -s, dx - (c * sx - s * sy)], [s, c, dy - (s * sx + c * sy)]], np.float64)
    patch = cv2.warpAffine(img, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    _composite(out, x0, y0, patch, opacity)


def ring_coverage(ring: Ring, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """Coverage 0..1 (float32, h x w) of the ring over the patch at (x0, y0): the distance to
    the filled arc (clockwise from 12 o'clock; past its end, to the nearer end point, so both
    ends are round) against half the line width, with a one-pixel anti-aliasing ramp. The same
    formula as facefx/obs/effects/ring.effect, so both renderers draw the plan's width (OpenCV's
    anti-aliased thick arcs come out about 2.5 px wider than asked). The angle is only worked
    out on the circle's band: an end point lies on the circle, so no pixel off the band is
    nearer to it than to the circle."""
    progress = min(1.0, max(0.0, float(ring.progress)))
    edge = max(1, int(round(ring.thickness))) / 2.0 + 0.5
    px = np.arange(w, dtype=np.float32) + np.float32(x0 + 0.5 - float(ring.x))   # pixel centres
    py = np.arange(h, dtype=np.float32)[:, None] + np.float32(y0 + 0.5 - float(ring.y))
    r = np.float32(ring.radius)
    cover = np.float32(edge) - np.abs(np.sqrt(px * px + py * py) - r)
    if progress < 1.0:
        ys, xs = np.nonzero(cover > 0)
        bx, by = px[xs], py[ys, 0]
        angle = np.arctan2(bx, -by)
        angle[angle < 0] += np.float32(2 * math.pi)
        past = angle > np.float32(progress * 2 * math.pi)
        if past.any():
            end = progress * 2 * math.pi
            ex, ey = math.sin(end) * r, -math.cos(end) * r
            bx, by = bx[past], by[past]
            near = np.minimum(np.hypot(bx, by + r), np.hypot(bx - ex, by - ey))
            cover[ys[past], xs[past]] = np.float32(edge) - near
    return np.clip(cover, 0.0, 1.0, out=cover)


def paint_ring(out: np.ndarray, ring: Ring, cache: ImageCache) -> None:
    progress = min(1.0, max(0.0, float(ring.progress)))
    opacity = min(1.0, float(ring.opacity))
    thick = max(1, int(round(ring.thickness)))
    if progress <= 0.0 or opacity <= 0.0 or ring.radius <= 0:
        return
    reach = ring.radius + thick / 2.0 + 1.0
    box = _bounds(ring.x, ring.y, reach, reach, out.shape[1], out.shape[0])
    if box is None:
        return
    x0, y0, x1, y1 = box
    cover = cv2.convertScaleAbs(ring_coverage(ring, x0, y0, x1 - x0, y1 - y0), alpha=255.0)
    r, g, b = (min(255, max(0, int(c))) / 255.0 for c in ring.color)
    patch = cv2.multiply(cv2.merge([cover] * 4), (r, g, b, 1.0))   # premultiplied colour
    _composite(out, x0, y0, patch, opacity)


COVER_FEATHER = 3.0   # px of soft edge outside a cover's shape
COVER_SHIFT = 4       # cv2 drawing with 4 fractional bits: sub-pixel centre and axes


def _box_blur_to(patch: np.ndarray, sigma: float) -> np.ndarray:
    """A strong blur of patch: reduced so the Gaussian works at ~2 px sigma, then enlarged."""
    h, w = patch.shape[:2]
    ds = max(1.0, sigma / 2.0)
    sw, sh = max(1, int(round(w / ds))), max(1, int(round(h / ds)))
    small = cv2.resize(patch, (sw, sh), interpolation=cv2.INTER_AREA)
    s_small = sigma / ds
    k = 2 * int(math.ceil(3.0 * s_small)) + 1
    small = cv2.GaussianBlur(small, (k, k), s_small, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class CoverPainter:
    """Paints scene.Cover items; holds the captured plate the 'plate' style shows."""

    def __init__(self) -> None:
        self._plate: Optional[np.ndarray] = None
        self._plate_sized: Optional[np.ndarray] = None
        self.note = ""                 # e.g. the plate was rescaled to the frame
        self._warned: Set[str] = set()

    @property
    def has_plate(self) -> bool:
        return self._plate is not None

    def set_plate(self, rgb: Optional[np.ndarray]) -> None:
        """The plate (HxWx3 uint8 RGB; RGBA loses its alpha), or None to drop it."""
        if rgb is None:
            self._plate = self._plate_sized = None
            self.note = ""
            return
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
            got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"expected the plate as an HxWx3 uint8 RGB picture, got {got}")
        self._plate = np.ascontiguousarray(rgb[:, :, :3]).copy()
        self._plate_sized = None
        self.note = ""

    def plate_for(self, width: int, height: int) -> Optional[np.ndarray]:
        """The plate at the frame's size (rescaled once, with a note, when it differs)."""
        if self._plate is None:
            return None
        sized = self._plate_sized
        if sized is not None and sized.shape[1] == width and sized.shape[0] == height:
            return sized
        ph, pw = self._plate.shape[:2]
        if (pw, ph) == (width, height):
            sized = self._plate
            self.note = ""
        else:
            sized = cv2.resize(self._plate, (width, height), interpolation=cv2.INTER_AREA
                               if pw > width else cv2.INTER_LINEAR)
            self.note = f"plate is {pw}x{ph}, rescaled to the {width}x{height} frame"
            log.info("privacy: %s", self.note)
        self._plate_sized = sized
        return sized

    def _warn(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("privacy: %s", text)

    def __call__(self, out: np.ndarray, cover: Cover, cache: ImageCache) -> None:
        H, W = out.shape[:2]
        cw, ch = float(cover.width), float(cover.height)
        if cw <= 0 or ch <= 0:
            return
        theta = math.radians(cover.rotation)
        c, s = math.cos(theta), math.sin(theta)
        hw, hh = (abs(c) * cw + abs(s) * ch) / 2.0, (abs(s) * cw + abs(c) * ch) / 2.0
        whole = (cover.shape == "rect" and hw * 2 >= W and hh * 2 >= H
                 and cover.x - hw <= 0 and cover.y - hh <= 0 and cover.x + hw >= W and cover.y + hh >= H)
        feather = 0.0 if whole else COVER_FEATHER
        box = _bounds(cover.x, cover.y, hw + 2 * feather, hh + 2 * feather, W, H)
        if box is None:
            return
        x0, y0, x1, y1 = box
        rw, rh = x1 - x0, y1 - y0
        roi = out[y0:y1, x0:x1]
        rgb = roi[:, :, :3]
        fill = self._fill(np.ascontiguousarray(rgb), cover, cache, (x0, y0, x1, y1), W, H)
        if whole:
            alpha = None
        else:
            alpha = np.zeros((rh, rw), np.uint8)
            f = 1 << COVER_SHIFT
            centre = (int(round((cover.x - 0.5 - x0) * f)), int(round((cover.y - 0.5 - y0) * f)))
            if cover.shape == "ellipse":
                axes = (int(round(cw / 2 * f)), int(round(ch / 2 * f)))
                cv2.ellipse(alpha, centre, axes, float(cover.rotation), 0.0, 360.0, 255, -1, cv2.LINE_AA, COVER_SHIFT)
            else:
                pts = []
                for ux, uy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                    px, py = ux * cw / 2, uy * ch / 2
                    pts.append(((cover.x - 0.5 - x0 + c * px - s * py) * f, (cover.y - 0.5 - y0 + s * px + c * py) * f))
                cv2.fillConvexPoly(alpha, np.round(np.array(pts)).astype(np.int32), 255, cv2.LINE_AA, COVER_SHIFT)
            # Soft edge outside the shape only: blur, then double (the shape's own edge, at half
            # after the blur, becomes opaque again).
            k = 2 * int(math.ceil(feather)) + 1
            alpha = cv2.GaussianBlur(alpha, (k, k), feather / 2.0)
            cv2.add(alpha, alpha, dst=alpha)
        if alpha is None:
            rgb[...] = fill
            if roi.shape[2] == 4:
                roi[:, :, 3] = 255
            return
        premul = cv2.merge([*cv2.split(cv2.multiply(fill, cv2.merge([alpha] * 3), scale=1.0 / 255.0)), alpha])
        _composite(out, x0, y0, premul, 1.0)

    def _fill(self, rgb: np.ndarray, cover: Cover, cache: ImageCache, box: Tuple[int, int, int, int],
              W: int, H: int) -> np.ndarray:
        """What the cover shows over its bounding box (uint8 RGB the box's size)."""
        style = cover.style
        h, w = rgb.shape[:2]
        if style == "plate":
            plate = self.plate_for(W, H)
            if plate is not None:
                x0, y0, x1, y1 = box
                return np.ascontiguousarray(plate[y0:y1, x0:x1])
            self._warn("plate", "no background captured: blurring")
            style = "blur"
        if style == "blur":
            return _box_blur_to(rgb, max(2.0, float(cover.strength)))
        if style == "pixelate":
            block = max(2.0, float(cover.strength))
            small = cv2.resize(rgb, (max(1, int(math.ceil(w / block))), max(1, int(math.ceil(h / block)))),
                               interpolation=cv2.INTER_AREA)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        if style == "emoji":
            return self._emoji(rgb, cover, cache, box)
        return np.full((h, w, 3), tuple(int(v) for v in cover.color), np.uint8)

    def _emoji(self, rgb: np.ndarray, cover: Cover, cache: ImageCache, box: Tuple[int, int, int, int]) -> np.ndarray:
        h, w = rgb.shape[:2]
        solid = np.full((h, w, 3), tuple(int(v) for v in cover.color), np.uint8)
        src = cache.source(cover.image) if cover.image else None
        if src is None:
            self._warn("image:" + cover.image, f"cover picture {cover.image or '(none)'} cannot be used; "
                       "covering with a solid colour instead")
            return solid
        # Underlay: the picture's own mean colour where it is opaque, so the region is covered
        # in a matching colour where the picture is transparent (a round emoji in a rectangle).
        a = src[:, :, 3].astype(np.float32)
        if a.sum() > 0:
            mean = (src[:, :, :3].astype(np.float32).sum(axis=(0, 1)) / a.sum() * 255.0)
            solid[...] = np.clip(mean, 0, 255).astype(np.uint8)
        x0, y0 = box[0], box[1]
        sprite = Sprite(cover.image, cover.x - x0, cover.y - y0, cover.width, cover.height, cover.rotation, 1.0)
        paint_sprite(solid, sprite, cache)
        return solid
LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_PLATE = (20, 22, 28)      # plate colour
LABEL_PLATE_ALPHA = 0.72
LABEL_PAD = 0.35                # plate padding around the text, in text heights


def label_patch(text: str, height: float, color: Tuple[int, int, int]) -> np.ndarray:
    """The premultiplied RGBA patch of a label: text `height` pixels tall (cap height) on its
    rounded plate."""
    text = text.encode("ascii", "replace").decode("ascii") or "?"
    th = max(6, int(round(height)))
    (w1, h1), _ = cv2.getTextSize(text, LABEL_FONT, 1.0, 1)
    scale = th / max(h1, 1)
    thick = max(1, int(round(scale * 1.6)))
    (tw, tht), base = cv2.getTextSize(text, LABEL_FONT, scale, thick)
    pad = int(round(LABEL_PAD * th)) + thick
    pw, ph = tw + 2 * pad, tht + base // 2 + 2 * pad
    plate = np.zeros((ph, pw), np.uint8)
    r = max(1, min(ph // 2, int(round(0.45 * ph))))
    cv2.rectangle(plate, (r, 0), (pw - 1 - r, ph - 1), 255, -1, cv2.LINE_AA)
    cv2.rectangle(plate, (0, r), (pw - 1, ph - 1 - r), 255, -1, cv2.LINE_AA)
    for cx, cy in ((r, r), (pw - 1 - r, r), (r, ph - 1 - r), (pw - 1 - r, ph - 1 - r)):
        cv2.circle(plate, (cx, cy), r, 255, -1, cv2.LINE_AA)
    ink = np.zeros((ph, pw), np.uint8)
    cv2.putText(ink, text, (pad, pad + tht), LABEL_FONT, scale, 255, thick, cv2.LINE_AA)
    a_plate = plate.astype(np.float32) * (LABEL_PLATE_ALPHA / 255.0)
    a_ink = ink.astype(np.float32) / 255.0
    alpha = a_ink + a_plate * (1.0 - a_ink)
    rgb = (np.asarray(color, np.float32)[None, None] * a_ink[:, :, None]
           + np.asarray(LABEL_PLATE, np.float32)[None, None] * (a_plate * (1.0 - a_ink))[:, :, None])
    out = np.dstack([rgb, alpha[:, :, None] * 255.0])
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def paint_label(out: np.ndarray, label: Label, cache: ImageCache) -> None:
    opacity = min(1.0, float(label.opacity))
    if opacity <= 0.0 or label.height < 1 or not label.text:
        return
    key = ("label", label.text, int(round(label.height)), tuple(label.color))
    patch = cache._get(key)
    if patch is None:
        patch = label_patch(label.text, label.height, tuple(label.color))
        cache._put(key, patch)
    H, W = out.shape[:2]
    ph, pw = patch.shape[:2]
    x0 = int(round(label.x - pw / 2))
    y0 = int(round(label.y - ph / 2))
    x0 = min(max(x0, 0), max(W - pw, 0))     # keep the plate inside the frame
    y0 = min(max(y0, 0), max(H - ph, 0))
    x1, y1 = min(W, x0 + pw), min(H, y0 + ph)
    if x1 <= x0 or y1 <= y0:
        return
    _composite(out, x0, y0, np.ascontiguousarray(patch[:y1 - y0, :x1 - x0]), opacity)


Painter = Callable[[np.ndarray, Any, ImageCache], None]


class Painters:
    """Painter table keyed by plan item type, with the image cache the painters share."""

    def __init__(self, cache: Optional[ImageCache] = None) -> None:
        self.cache = cache or ImageCache()
        self.covers = CoverPainter()
        self.table: Dict[type, Painter] = {Sprite: paint_sprite, Ring: paint_ring, Label: paint_label,
                                          Cover: self.covers}

    def register(self, kind: type, painter: Painter) -> None:
        self.table[kind] = painter

    def paint(self, out: np.ndarray, items: Iterable[Any]) -> None:
        """Draw items in order onto out (HxWx3 RGB or HxWx4 RGBA uint8), in place.

        Raises:
            TypeError: an item type with no painter (a renderer that lacks a feature must say so,
                not silently draw less than the other renderer).
        """
        for item in items:
            painter = self.table.get(type(item))
            if painter is None:
                known = ", ".join(sorted(k.__name__ for k in self.table))
                raise TypeError(f"no CPU painter for plan item {type(item).__name__}; painters exist for {known}")
            painter(out, item, self.cache)
