"""RenderPlan -> pixels with OpenCV on uint8 buffers.

This is the reference renderer: the command line and the tests use it, and the OBS GPU
renderer is checked against it. Every step is one a fragment shader can do the same way:

- mask: bilinear upsample of the analysis mask to the frame size, then coverage =
  smoothstep(edge lo, edge hi, mask) (a lookup table here).
- blur: the frame is halved (2x2 box averages) down to scene.blur_geometry's size, blurred with a
  Gaussian *weighted by the background mask* (normalised convolution: blur(frame * w) /
  blur(w), w = 1 - mask), then upsampled bilinearly. Weighting keeps the person's colours out
  of the blurred background, so there is no halo around them.
- composite: out = frame * m + background * (1 - m), m = mask / 255.

Per-frame buffers are allocated once per frame size: a fresh 2.7 MB array per operation at
720p costs more than the arithmetic itself.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Tuple

import cv2
import numpy as np

from ..imageio import cover_fit, load_image_rgb
from ..scene import BackgroundLayer, Hologram, RenderPlan
from .refine import EdgeRefiner

HOLOGRAM_BACKDROP = (8, 12, 24)
BLUR_WEIGHT_FLOOR = 0.01
PARALLEL_MIN_PIXELS = 640 * 360


class _Buffers:
    """Scratch images for one frame size, each allocated on first use (a mode uses only some):
    name -> channels."""

    LAYOUT = {"mask": 1, "alpha": 1, "rows": 1, "mask3": 3, "inv3": 3, "tmp_a": 3, "tmp_b": 3,
              "bg": 3, "out": 3, "fg": 3, "tinted": 3, "ghost": 3, "out4": 4}

    def __init__(self, w: int, h: int) -> None:
        self.size = (w, h)

    def __getattr__(self, name: str) -> np.ndarray:
        channels = self.LAYOUT.get(name)
        if channels is None:
            raise AttributeError(name)
        w, h = self.size
        arr = np.empty((h, w) if channels == 1 else (h, w, channels), np.uint8)
        setattr(self, name, arr)
        return arr


class CpuRenderer:
    """Draws RenderPlans onto RGB frames. Not thread-safe: one renderer per thread."""

    def __init__(self, *, threads: Optional[int] = None) -> None:
        self._threads = max(1, min(4, threads if threads is not None else (os.cpu_count() or 1)))
        self._pool: Optional[ThreadPoolExecutor] = None
        self._buffers: Optional[_Buffers] = None
        self._images: Dict[Tuple[str, float, int, int], np.ndarray] = {}
        self._color_key: Optional[Tuple] = None
        self._lut_key: Optional[Tuple[float, float]] = None
        self._lut = np.arange(256, dtype=np.uint8)
        self._refiner = EdgeRefiner()
        self.last_refine_ms = 0.0     # time the last frame's refinement + decontamination took (facefx bench)
        self._painters: Any = None

    # -- public -------------------------------------------------------------------------
    def render(self, frame: np.ndarray, plan: RenderPlan) -> np.ndarray:
        """Return the frame with the plan drawn: RGB uint8, or RGBA when plan.alpha_output.

        The returned array is an internal buffer reused by the next call (or the frame itself
        when the plan draws nothing); copy it to keep it.
        """
        out = self._render_background(frame, plan)
        if plan.covers or plan.sprites or plan.labels or plan.rings:
            out = self._paint_items(frame, out, plan)
        return out

    # -- face privacy's plate --------------------------------------------------------------
    def set_plate(self, rgb: Optional[np.ndarray]) -> None:
        """The captured background (HxWx3 uint8 RGB, any size: rescaled to the frame, see
        plate_note) that covers with style 'plate' show; None forgets it."""
        self._painter_table().covers.set_plate(rgb)

    @property
    def has_plate(self) -> bool:
        return self._painters is not None and self._painters.covers.has_plate

    @property
    def plate_note(self) -> str:
        """'' or why the plate is not shown as captured (rescaled to another frame size)."""
        return self._painters.covers.note if self._painters is not None else ""

    def _painter_table(self) -> Any:
        if self._painters is None:
            from .painters import Painters
            self._painters = Painters()
        return self._painters

    def _paint_items(self, frame: np.ndarray, out: np.ndarray, plan: RenderPlan) -> np.ndarray:
        """Plan items after the background, by painters.Painters (covers, sprites, rings)."""
        if out is frame:                  # never draw into the caller's frame
            out = self._buffers_for(frame.shape[1], frame.shape[0]).out
            np.copyto(out, frame)
        self._painter_table().paint(out, tuple(plan.covers) + tuple(plan.sprites) + tuple(plan.labels) + tuple(plan.rings))
        return out

    def _render_background(self, frame: np.ndarray, plan: RenderPlan) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {frame.shape} {frame.dtype}")
        h, w = frame.shape[:2]
        if (w, h) != (plan.width, plan.height):
            raise ValueError(f"plan is for {plan.width}x{plan.height}, frame is {w}x{h}")
        layer = plan.background
        if layer is None or plan.mask is None:
            return frame
        b = self._buffers_for(w, h)
        box = self._coverage(frame, plan, b)
        fg = frame
        if plan.refine and layer.mode != "blur":
            t0 = time.perf_counter()
            fg = self._refiner.decontaminate(frame, b.mask, box, b.fg)
            self.last_refine_ms += (time.perf_counter() - t0) * 1000.0
        if layer.mode == "transparent":
            cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA, dst=b.out4)
            if fg is not frame:           # decontaminate() filled the box's rows only
                b.out4[box[0]:box[1], :, :3] = fg[box[0]:box[1]]
            b.out4[:, :, 3] = b.mask
            return b.out4
        if layer.mode == "hologram":
            return self._hologram(fg, layer, plan.mask, box, b)
        bg = self.background(frame, layer, plan.mask, b)
        if bg is b.bg and layer.mode == "blur":
            out = bg                      # per-frame buffer of ours: blend in place
        else:
            out = b.out                   # cached image / colour fill: keep it intact
            np.copyto(out, bg)
        # Only the person's bounding box needs blending; outside it the coverage is zero.
        if box is not None:
            ys, xs = slice(box[0], box[1]), slice(box[2], box[3])
            self._blend(fg[ys, xs], out[ys, xs], b.mask[ys, xs], b, out[ys, xs])
        return out

    def coverage(self, frame: np.ndarray, plan: RenderPlan) -> np.ndarray:
        """The person's coverage (uint8, 255 = person) at frame size that render() would blend
        with: the upsampled (and, with plan.refine, refined) mask through the edge smoothstep.
        An internal buffer, valid until the next call."""
        h, w = frame.shape[:2]
        if plan.mask is None:
            raise ValueError("the plan has no person mask")
        b = self._buffers_for(w, h)
        self._coverage(frame, plan, b)
        return b.mask

    def _coverage(self, frame: np.ndarray, plan: RenderPlan, b: _Buffers) -> Optional[Tuple[int, int, int, int]]:
        """Fill b.mask with the coverage; return the box outside which it is zero."""
        h, w = frame.shape[:2]
        lut = self._edge_lut(plan.edge)
        if not plan.refine:
            cv2.resize(plan.mask, (w, h), dst=b.mask, interpolation=cv2.INTER_LINEAR)
            cv2.LUT(b.mask, lut, dst=b.mask)
            return person_box(plan.mask, plan.edge[0], w, h)
        t0 = time.perf_counter()
        refiner = self._refiner
        box = person_box(plan.mask, plan.edge[0], w, h, margin=refiner.params.margin + 1)
        refiner.refined_mask(frame, plan.mask, b.mask, box,
                             decontaminate=plan.background is not None and plan.background.mode != "blur")
        if box is not None:
            region = b.mask[box[0]:box[1], box[2]:box[3]]
            cv2.LUT(region, lut, dst=region)
        self.last_refine_ms = (time.perf_counter() - t0) * 1000.0
        return box

    def background(self, frame: np.ndarray, layer: BackgroundLayer, small_mask: np.ndarray,
                   b: Optional[_Buffers] = None) -> np.ndarray:
        """The full-size background behind the person for blur/image/colour layers."""
        h, w = frame.shape[:2]
        b = b or self._buffers_for(w, h)
        if layer.mode == "blur":
            return self._blurred(frame, layer, small_mask, b)
        if layer.mode == "image":
            return self._image(layer.image, w, h)
        if layer.mode == "color":
            key = (layer.color, w, h)
            if self._color_key != key:
                b.bg[:] = layer.color
                self._color_key = key
            return b.bg
        raise ValueError(f"no background image for layer mode {layer.mode!r}")

    # -- steps --------------------------------------------------------------------------
    def _edge_lut(self, edge: Tuple[float, float]) -> np.ndarray:
        if self._lut_key != edge:
            self._lut = edge_lut(*edge)
            self._lut_key = edge
        return self._lut

    def _buffers_for(self, w: int, h: int) -> _Buffers:
        b = self._buffers
        if b is None or b.size != (w, h):
            b = self._buffers = _Buffers(w, h)
            self._color_key = None
        return b

    def _blend(self, fg: np.ndarray, bg: np.ndarray, mask: np.ndarray, b: _Buffers,
               out: np.ndarray) -> np.ndarray:
        """out = fg * m + bg * (1 - m) in uint8, in row bands on a small thread pool (OpenCV
        releases the GIL, and its element-wise operations are single-threaded)."""
        h, w = out.shape[:2]
        mask3, inv3, tmp_a, tmp_b = (x[:h, :w] for x in (b.mask3, b.inv3, b.tmp_a, b.tmp_b))

        def band(rows: slice) -> None:
            cv2.cvtColor(mask[rows], cv2.COLOR_GRAY2RGB, dst=mask3[rows])
            cv2.bitwise_not(mask3[rows], dst=inv3[rows])
            cv2.multiply(fg[rows], mask3[rows], dst=tmp_a[rows], scale=1.0 / 255.0)
            cv2.multiply(bg[rows], inv3[rows], dst=tmp_b[rows], scale=1.0 / 255.0)
            cv2.add(tmp_a[rows], tmp_b[rows], dst=out[rows])

        if self._threads <= 1 or h * out.shape[1] < PARALLEL_MIN_PIXELS:
            band(slice(0, h))
            return out
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads - 1, thread_name_prefix="facefx-blend")
        step = -(-h // self._threads)
        bands = [slice(y, min(h, y + step)) for y in range(0, h, step)]
        others = [self._pool.submit(band, rows) for rows in bands[1:]]
        band(bands[0])                    # this thread takes the first band itself
        for job in others:
            job.result()
        return out

    def close(self) -> None:
        """Stop the blend threads. Safe to call twice; render() restarts them if needed."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> "CpuRenderer":
        return self

    def __exit__(self, *exc: object) -> bool:
        self.close()
        return False

    def _blurred(self, frame: np.ndarray, layer: BackgroundLayer, small_mask: np.ndarray,
                 b: _Buffers) -> np.ndarray:
        geo = layer.blur
        h, w = frame.shape[:2]
        if geo is None or geo.sigma_small <= 0:
            return frame
        sw, sh = geo.small_size
        small = halve_to(frame, geo.downscale)
        # Premultiplied blur: rgb * w and w blurred alike, then divided.
        # A floor of 1% weight keeps the result defined deep inside the person (covered by the
        # person anyway) while their colours stay out of the background at the edges.
        weight = cv2.resize(small_mask, (sw, sh), interpolation=cv2.INTER_AREA)
        weight = np.maximum((255.0 - weight.astype(np.float32)) * (1.0 / 255.0), BLUR_WEIGHT_FLOOR)
        k = (geo.ksize, geo.ksize)
        num = cv2.multiply(small, cv2.merge((weight, weight, weight)), dtype=cv2.CV_32F)  # rgb * w
        num = cv2.GaussianBlur(num, k, geo.sigma_small, borderType=cv2.BORDER_REFLECT)
        den = cv2.GaussianBlur(weight, k, geo.sigma_small, borderType=cv2.BORDER_REFLECT)
        bg_small = cv2.divide(num, cv2.merge((den, den, den)), dtype=cv2.CV_8U)
        cv2.resize(bg_small, (w, h), dst=b.bg, interpolation=cv2.INTER_LINEAR)
        self._color_key = None
        return b.bg

    def _image(self, path: str, w: int, h: int) -> np.ndarray:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = -1.0
        key = (path, mtime, w, h)
        img = self._images.get(key)
        if img is None:
            img = cover_fit(load_image_rgb(path), w, h)
            self._images = {key: img}  # keep only the current one
        return img

    def _hologram(self, frame: np.ndarray, layer: BackgroundLayer, small_mask: np.ndarray,
                  box: Optional[Tuple[int, int, int, int]], b: _Buffers) -> np.ndarray:
        holo: Hologram = layer.hologram  # type: ignore[assignment]
        h, w = frame.shape[:2]
        if layer.image:
            backdrop = self._image(layer.image, w, h)
        else:
            backdrop = self.background(frame, BackgroundLayer("color", color=HOLOGRAM_BACKDROP), small_mask, b)
        out = b.out
        np.copyto(out, backdrop)
        if box is None:
            return out
        dx = min(holo.ghost_offset, w - 1)
        y0, y1, x0, x1 = box
        x1g = min(w, x1 + dx)
        ys = slice(y0, y1)
        # Tinted person: luma -> tint ramp (with flicker), one affine colour transform.
        tinted = b.tinted[ys, x0:x1g]
        cv2.transform(frame[ys, x0:x1g], hologram_matrix(holo), dst=tinted)
        # Ghost: the tinted person shifted right by dx, faint, over the backdrop. A person at
        # the right edge narrower than dx has their whole ghost beyond the frame (gw <= 0).
        gw = x1g - x0 - dx
        if gw > 0:
            ghost, ghost_a = b.ghost[ys, x0 + dx:x1g], b.rows[ys, x0 + dx:x1g]
            np.copyto(ghost, tinted[:, :gw])
            cv2.convertScaleAbs(b.mask[ys, x0:x0 + gw], dst=ghost_a, alpha=holo.ghost_alpha)
            self._blend(ghost, out[ys, x0 + dx:x1g], ghost_a, b, out[ys, x0 + dx:x1g])
        # Person: opacity modulated by scan lines scrolling down the frame.
        rows = np.round(hologram_rows(holo, h)[ys] * 255.0).astype(np.uint8)[:, None]
        scan = cv2.resize(rows, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        alpha = b.alpha[ys, x0:x1]
        cv2.multiply(b.mask[ys, x0:x1], scan, dst=alpha, scale=1.0 / 255.0)
        self._blend(tinted[:, :x1 - x0], out[ys, x0:x1], alpha, b, out[ys, x0:x1])
        return out


def person_box(small_mask: np.ndarray, edge_lo: float, width: int, height: int,
               margin: int = 1) -> Optional[Tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) in frame pixels outside which the upsampled coverage is zero, or None.

    Bilinear upsampling spreads each analysis pixel by at most one analysis pixel, and levels at
    or below the edge's lower bound map to zero coverage, so a one-pixel margin is exact. The
    refined mask is defined to be zero outside a margin of the refinement's reach (both
    renderers clip it to this box).
    """
    hot = small_mask > int(edge_lo * 255.0)
    rows = np.flatnonzero(hot.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(hot.any(axis=0))
    sh, sw = small_mask.shape
    fy, fx = height / sh, width / sw
    y0 = max(0, int((rows[0] - margin) * fy))
    y1 = min(height, int(np.ceil((rows[-1] + 1 + margin) * fy)))
    x0 = max(0, int((cols[0] - margin) * fx))
    x1 = min(width, int(np.ceil((cols[-1] + 1 + margin) * fx)))
    return y0, y1, x0, x1


def halve_to(img: np.ndarray, factor: int) -> np.ndarray:
    """Reduce by a power-of-two factor with repeated exact 2x bilinear steps (2x2 averages)."""
    while factor > 1:
        h, w = img.shape[:2]
        img = cv2.resize(img, (max(1, -(-w // 2)), max(1, -(-h // 2))), interpolation=cv2.INTER_LINEAR)
        factor //= 2
    return img


def edge_lut(lo: float, hi: float) -> np.ndarray:
    """uint8 table of 255 * smoothstep(lo, hi, x / 255): the coverage of a mask level."""
    x = np.arange(256, dtype=np.float32) / 255.0
    t = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.clip(t * t * (3.0 - 2.0 * t) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def hologram_matrix(holo: Hologram) -> np.ndarray:
    """3x4 affine RGB transform: tint * (0.25 + luma) * flicker, luma = Rec.601 weights / 255."""
    tint = np.asarray(holo.tint, np.float64) * holo.brightness
    luma = np.array([0.299, 0.587, 0.114]) / 255.0
    m = np.zeros((3, 4))
    m[:, :3] = tint[:, None] * luma[None, :]
    m[:, 3] = tint * 0.25
    return m


def hologram_rows(holo: Hologram, height: int) -> np.ndarray:
    """Per-row opacity factor (0..1): opacity times the scan-line pattern at this instant."""
    y = np.arange(height, dtype=np.float32) + 0.5
    wave = 0.5 * (1.0 + np.cos(2.0 * np.pi * (y + holo.scan_phase) / holo.scan_period))
    return (holo.opacity * (1.0 - holo.scan_depth * wave)).astype(np.float32)
