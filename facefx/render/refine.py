"""Edge refinement and colour decontamination at full resolution, guided by the frame.

The person mask comes from the model at analysis size (256 px wide), so upsampled it cuts hair
and shoulders along a smooth curve and keeps background pixels between strands. This module
refines it with a *fast guided filter* (He & Sun 2015): the guided filter's local linear model
q = a * I + b (I = the frame's luma, q = the mask) is fitted at analysis size, where the
fitting costs microseconds, and applied at full resolution to the full-resolution luma, so the
outline follows the frame's own edges to the pixel. Where the guide is flat, a = 0 and b is the
local mean of the mask: the mask is kept as it was.

Everything is arranged so that a fragment shader computes the same numbers
(facefx/obs/effects/refine.effect, facefx/obs/gpu.py):

- luma: Y = (4899 R + 9617 G + 1868 B + 8192) >> 14, OpenCV's 8-bit RGB -> grey.
- guide at analysis size: bilinear resize of Y (cv2.INTER_LINEAR); mask p = mask / 255.
- box means of I, p, I*I, I*p over (2r+1)^2 texels, border replicated; a = cov / (var + eps),
  b = mean p - a * mean I; box means of a and b again.
- apply size = the frame's size / k (k = apply_factor: 2 from four times the analysis width,
  where half resolution is still 2.5x the model's and the difference does not show; else 1):
  A, B (= 255 * b) bilinearly upsampled to it (float weights, as cv2.resize does for float
  images), Y = the rounded k x k mean of the 8-bit luma; level = saturate(round(A * Y + B))
  inside the box (in apply pixels), 0 outside.
- full resolution (k = 2): the 8-bit level upsampled bilinearly with float weights, rounded;
  coverage = the edge smoothstep of the refined level (scene.edge_bounds), zero outside the
  person's box.

Decontamination: a pixel at partial coverage alpha shows I = alpha * F + (1 - alpha) * B_old,
the person's colour F mixed with the old background's B_old. B_old is estimated at analysis
size as the background-weighted local mean of the frame (weights max(0, 1 - 2p)^2, so clear
background dominates) and F = B_old + (I - B_old) / max(alpha, ALPHA_MIN) replaces the pixel's
colour (faded back to I below ALPHA_MIN, so the colour does not jump where coverage leaves
zero), so the old wall's colour is not carried onto the new background.

Temporal stability: the coefficients are fitted to the temporally smoothed mask, and eps keeps
a bounded (a <= 0.25 / sqrt(eps)), so sensor noise in Y moves the refined edge by a fraction
of what it moves the raw model (tests/test_refine.py measures it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

# Fit window radius in analysis pixels (4 -> 9x9 texels, ~45 px at 720p: the model's edge is
# pulled onto a colour edge up to two analysis pixels away), regulariser (in
# units of luma^2 on a 0..1 scale), the background estimate's window radius, and the smallest
# coverage decontamination divides by (below it the pixel barely contributes).
REFINE_RADIUS = 4
REFINE_EPS = 0.0025
BG_RADIUS = 4
ALPHA_MIN = 0.5
GRAY_WEIGHTS = (4899, 9617, 1868)
REMAP_COLUMNS = 512

Box = Tuple[int, int, int, int]


@dataclass(frozen=True)
class RefineParams:
    radius: int = REFINE_RADIUS
    eps: float = REFINE_EPS
    bg_radius: int = BG_RADIUS
    alpha_min: float = ALPHA_MIN

    def __post_init__(self) -> None:
        if not 1 <= self.radius <= 8:
            raise ValueError(f"refine radius must be 1..8 analysis pixels, got {self.radius}")
        if not self.eps > 0:
            raise ValueError(f"refine eps must be above 0, got {self.eps}")
        if not 1 <= self.bg_radius <= 16:
            raise ValueError(f"background radius must be 1..16 analysis pixels, got {self.bg_radius}")
        if not 0 < self.alpha_min <= 1:
            raise ValueError(f"alpha_min must be in (0, 1], got {self.alpha_min}")

    @property
    def margin(self) -> int:
        """Analysis pixels the refined mask can reach beyond the raw mask (two box passes)."""
        return 2 * self.radius + 1


def _box(img: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(img, cv2.CV_32F, (2 * r + 1, 2 * r + 1), normalize=True,
                         borderType=cv2.BORDER_REPLICATE)


def guided_coefficients(guide: np.ndarray, mask: np.ndarray, params: RefineParams = RefineParams()
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """(A, B) at analysis size: refined mask level (0..255) = A * Y + B for a full-res luma Y.

    guide: uint8 luma at the mask's size; mask: uint8 person probability (255 = person).
    """
    if guide.shape != mask.shape:
        raise ValueError(f"guide {guide.shape} and mask {mask.shape} must be the same size")
    i = guide.astype(np.float32) * np.float32(1.0 / 255.0)
    p = mask.astype(np.float32) * np.float32(1.0 / 255.0)
    r = params.radius
    mean_i, mean_p = _box(i, r), _box(p, r)
    var_i = _box(i * i, r) - mean_i * mean_i
    cov_ip = _box(i * p, r) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(params.eps))
    b = (mean_p - a * mean_i) * np.float32(255.0)
    return _box(a, r), _box(b, r)


def background_estimate(small_rgb: np.ndarray, mask: np.ndarray, radius: int = BG_RADIUS) -> np.ndarray:
    """float32 HxWx3 (0..255): the local colour of the background behind each analysis pixel,
    a mean of the frame weighted by max(0, 1 - 2p)^2: only pixels the model puts outside the
    person count, clear background most, so the person's own colour stays out of it."""
    w = np.maximum(np.float32(1.0) - mask.astype(np.float32) * np.float32(2.0 / 255.0), np.float32(0.0))
    w *= w
    num = _box(small_rgb.astype(np.float32) * w[:, :, None], radius)
    den = np.maximum(_box(w, radius), np.float32(1e-4))
    return num / den[:, :, None]


def luma(frame: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """OpenCV's 8-bit RGB -> grey (fixed-point weights GRAY_WEIGHTS, shift 14, rounded)."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY, dst=out)


def apply_factor(width: int, height: int, mask_width: int) -> int:
    """Resolution divisor of the step that applies the coefficients: 2 (half resolution) for
    frames at least 4x as wide as the analysis mask and of even size (1280x720 and up: half
    resolution is still 2.5x the model's, and the refined level is then upsampled bilinearly
    like the raw mask), 1 (full resolution) below that, where every pixel shows."""
    return 2 if width >= 4 * mask_width and width % 2 == 0 and height % 2 == 0 else 1


class EdgeRefiner:
    """Refined coverage and decontaminated colours for one frame size. Not thread-safe."""

    def __init__(self, params: RefineParams = RefineParams()) -> None:
        self.params = params
        self._key: Tuple[int, int, int] = (0, 0, 0)
        self._y = self._yk = self._a = self._b = self._tmp = self._level = self._up = None
        self._bg: Optional[np.ndarray] = None
        self._small_size = (1, 1)

    def _buffers(self, w: int, h: int, k: int) -> None:
        if self._key != (w, h, k):
            self._key = (w, h, k)
            wk, hk = w // k, h // k
            self._y = np.empty((h, w), np.uint8)
            self._yk = self._y if k == 1 else np.empty((hk, wk), np.uint8)
            self._a = np.empty((hk, wk), np.float32)
            self._b = np.empty((hk, wk), np.float32)
            self._tmp = np.empty((hk, wk), np.float32)
            self._level = None if k == 1 else np.empty((hk, wk), np.uint8)
            self._up = None if k == 1 else np.empty((h, w), np.float32)

    def refined_mask(self, frame: np.ndarray, mask: np.ndarray, out: np.ndarray,
                     box: Optional[Box], *, decontaminate: bool = True) -> None:
        """Write the refined mask level (uint8 0..255, before the edge smoothstep) into out
        (frame size) inside box, 0 outside it; keep what decontaminate() needs.

        The coefficients are applied at 1/k of the frame's size (k = apply_factor): to the
        luma there (k x k means of the 8-bit luma, rounded), inside the box scaled by 1/k, zero
        outside it; with k = 2 that 8-bit level is upsampled bilinearly (float weights, rounded)
        to the frame and cleared outside the box."""
        h, w = frame.shape[:2]
        mh, mw = mask.shape
        k = apply_factor(w, h, mw)
        self._buffers(w, h, k)
        if box is None:
            out[:] = 0
            return
        y = luma(frame, self._y)
        guide = cv2.resize(y, (mw, mh), interpolation=cv2.INTER_LINEAR)
        a_small, b_small = guided_coefficients(guide, mask, self.params)
        wk, hk = w // k, h // k
        cv2.resize(a_small, (wk, hk), dst=self._a, interpolation=cv2.INTER_LINEAR)
        cv2.resize(b_small, (wk, hk), dst=self._b, interpolation=cv2.INTER_LINEAR)
        y0, y1, x0, x1 = box
        if k == 1:
            yk, level = y, out
        else:
            # Exact 2x reduction: cv2's bilinear weights are 1/2, 1/2: the rounded 2x2 mean.
            yk = cv2.resize(y, (wk, hk), dst=self._yk, interpolation=cv2.INTER_LINEAR)
            level = self._level
            y0, y1, x0, x1 = y0 // k, -(-y1 // k), x0 // k, -(-x1 // k)
        level[:] = 0
        ys, xs = slice(y0, y1), slice(x0, x1)
        tmp = self._tmp[ys, xs]
        cv2.multiply(self._a[ys, xs], yk[ys, xs], dst=tmp, dtype=cv2.CV_32F)
        cv2.add(tmp, self._b[ys, xs], dst=level[ys, xs], dtype=cv2.CV_8U)
        if k != 1:
            # Float weights, as for the coefficients (a shader computes the same), rounded.
            cv2.resize(level.astype(np.float32), (w, h), dst=self._up, interpolation=cv2.INTER_LINEAR)
            cv2.convertScaleAbs(self._up, dst=out)
            by0, by1, bx0, bx1 = box
            out[:by0] = 0
            out[by1:] = 0
            out[:, :bx0] = 0
            out[:, bx1:] = 0
        if decontaminate:
            small = cv2.resize(frame, (mw, mh), interpolation=cv2.INTER_LINEAR)
            self._bg = background_estimate(small, mask, self.params.bg_radius)
            self._small_size = (mw, mh)
        else:
            self._bg = None

    def decontaminate(self, frame: np.ndarray, coverage: np.ndarray, box: Optional[Box],
                      out: np.ndarray) -> np.ndarray:
        """The frame with the old background's colour removed where coverage is partial:
        out (a frame-size buffer) when any pixel changed, else frame itself. Only the box's
        rows of out are written: callers read nothing else.

        Partial coverage is a thin band along the outline (a few per cent of the box), so the
        work is done on those pixels alone: cv2.findNonZero lists them, and the background
        estimate is sampled bilinearly at each (cv2.remap, as a shader samples it)."""
        if box is None or self._bg is None:
            return frame
        y0, y1, x0, x1 = box
        pts = cv2.findNonZero(cv2.inRange(coverage[y0:y1, x0:x1], 1, 254))
        if pts is None:
            return frame
        h, w = frame.shape[:2]
        pts = pts.reshape(-1, 2)
        rx = pts[:, 0] + x0
        ry = pts[:, 1] + y0
        flat = ry * w + rx
        mw, mh = self._small_size
        n = flat.shape[0]
        # Source coordinates of cv2.resize / a shader's bilinear sample at the pixel centre,
        # laid out in rows of REMAP_COLUMNS (remap is slow on one-column maps and takes at
        # most 32767 rows).
        rows = -(-n // REMAP_COLUMNS)
        mx = np.zeros(rows * REMAP_COLUMNS, np.float32)
        my = np.zeros(rows * REMAP_COLUMNS, np.float32)
        np.multiply(rx + 0.5, mw / w, out=mx[:n], casting="unsafe")
        np.multiply(ry + 0.5, mh / h, out=my[:n], casting="unsafe")
        mx[:n] -= 0.5
        my[:n] -= 0.5
        bg = cv2.remap(self._bg, mx.reshape(rows, REMAP_COLUMNS), my.reshape(rows, REMAP_COLUMNS),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:n]
        # F = B + (I - B) / max(alpha, alpha_min), faded back to I below alpha_min
        # (I + (F - I) * min(1, alpha / alpha_min)): no jump in colour where the coverage
        # leaves zero, so renderers that round the coverage differently agree on the colours.
        cov = np.take(coverage.reshape(-1), flat).astype(np.float32) * np.float32(1.0 / 255.0)
        amin = np.float32(self.params.alpha_min)
        gain = ((np.float32(1.0) / np.maximum(cov, amin) - np.float32(1.0))
                * np.minimum(cov / amin, np.float32(1.0)))[:, None]
        # Flat byte indices (one per channel): 1-D take/put are several times faster than
        # row gathers of an HxWx3 array.
        idx = flat[:, None] * 3 + np.arange(3)
        px = np.take(frame.reshape(-1), idx).astype(np.float32)
        bg -= px
        bg *= -gain                       # (I - B) * gain
        px += bg
        px += np.float32(0.5)
        np.clip(px, 0.0, 255.0, out=px)
        np.copyto(out[y0:y1], frame[y0:y1])
        np.put(out.reshape(-1), idx, px.astype(np.uint8))
        return out
