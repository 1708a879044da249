"""Analysis + settings + time -> RenderPlan: *what* to draw, shared by both renderers.

Standard library only, so the OBS-side GPU renderer and the CPU renderer (numpy/OpenCV) read
the same plan. The plan names geometry and parameters; it never holds rendered pixels except
the small person mask produced by analysis (an opaque array-like object here).

Time-driven animation (hologram scan lines, flicker) is computed from the output frame's time,
not the analysis rate, so it stays smooth while analysis runs slower than the video.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

from .settings import RGB, Settings

# Blur: sigma as a fraction of frame height at strength 100, and the target sigma (in pixels of
# the downscaled image) that decides how far the blur pass downscales first. Both renderers use
# blur_geometry() so their outputs agree.
BLUR_SIGMA_AT_100 = 0.04
BLUR_TARGET_SMALL_SIGMA = 1.5
BLUR_MAX_DOWNSCALE = 16


@dataclass(frozen=True)
class BlurGeometry:
    downscale: int          # integer factor the frame is reduced by before blurring
    small_size: Tuple[int, int]
    sigma_small: float      # Gaussian sigma in small-image pixels
    ksize: int              # odd kernel size for sigma_small


def blur_geometry(strength: float, width: int, height: int) -> BlurGeometry:
    """Blur size for a frame. The downscale factor is a power of two so the reduction is a
    chain of exact 2x bilinear halvings (each a 2x2 box average), which a GPU does the same way
    and which does not alias the way one large bilinear step would."""
    sigma = max(0.0, float(strength)) / 100.0 * BLUR_SIGMA_AT_100 * height
    ds = 1
    while ds * 2 <= BLUR_MAX_DOWNSCALE and sigma / (ds * 2) >= BLUR_TARGET_SMALL_SIGMA:
        ds *= 2
    sw, sh = max(1, -(-width // ds)), max(1, -(-height // ds))
    s_small = sigma / ds
    ksize = 2 * int(math.ceil(3.0 * s_small)) + 1 if s_small > 0 else 1
    return BlurGeometry(ds, (sw, sh), s_small, ksize)


def edge_bounds(threshold: float, softness: float) -> Tuple[float, float]:
    """Mask levels (0..1) where the person's edge starts and ends: coverage is
    smoothstep(lo, hi, mask) after the mask is upsampled to the frame size. Applying the edge
    after upsampling keeps outlines smooth instead of stair-stepped at analysis resolution."""
    half = max(softness * 0.25, 0.5 / 255.0)
    return (threshold - half, threshold + half)


@dataclass(frozen=True)
class Hologram:
    """Parameters of the hologram look at one instant (the same for both renderers)."""

    tint: RGB
    scan_period: float      # scan-line period in output pixels
    scan_phase: float       # scan-line offset in pixels (scrolls with time)
    scan_depth: float       # 0..1 darkening at the darkest point of a scan line
    ghost_offset: int       # horizontal offset of the ghost copy, output pixels
    ghost_alpha: float      # opacity of the ghost copy
    brightness: float       # global flicker factor
    opacity: float          # opacity of the hologram person over the background


@dataclass(frozen=True)
class BackgroundLayer:
    mode: str                           # one of settings.BACKGROUND_MODES except 'none'
    blur: Optional[BlurGeometry] = None
    color: RGB = (0, 0, 0)
    image: str = ""
    hologram: Optional[Hologram] = None


@dataclass(frozen=True)
class Sprite:
    """An image drawn over the frame (a sticker, an animation particle, an emoji).

    image: the image's key: a PNG file path (RGBA; straight alpha), resolved and cached by each
        renderer (both renderers load the same file the same way).
    x, y: centre in output pixels; width, height: drawn size in output pixels.
    rotation: degrees, positive = clockwise on screen; opacity: 0..1 multiplies the alpha.
    """

    image: str
    x: float
    y: float
    width: float
    height: float
    rotation: float = 0.0
    opacity: float = 1.0


@dataclass(frozen=True)
class Ring:
    """A progress ring (the "arming" ring that shows a gesture being recognised).

    x, y: centre in output pixels; radius and thickness in output pixels; progress 0..1 is the
    filled fraction, drawn clockwise from 12 o'clock; color RGB; opacity 0..1.
    """

    x: float
    y: float
    radius: float
    thickness: float
    progress: float
    color: RGB = (255, 255, 255)
    opacity: float = 1.0


@dataclass(frozen=True)
class RenderPlan:
    """What to draw over one output frame.

    mask: smoothed person probability from analysis (uint8, 255 = person) at analysis size,
        or None when no analysis result exists yet. Renderers upsample it bilinearly to the
        frame size, then map it through smoothstep(edge[0], edge[1], m) to get coverage.
    alpha_output: the frame's alpha carries the mask (transparent cut-out).
    refine: refine the upsampled mask at full resolution guided by the frame and remove the
        old background's colour at partial coverage (facefx/render/refine.py).
    sprites, face_regions: reserved for stickers/emojis and face privacy; renderers draw them
        in order after the background.
    """

    width: int
    height: int
    time: float
    background: Optional[BackgroundLayer] = None
    mask: Any = None
    edge: Tuple[float, float] = (0.4125, 0.5875)
    alpha_output: bool = False
    refine: bool = False
    sprites: Tuple[Any, ...] = field(default_factory=tuple)
    face_regions: Tuple[Any, ...] = field(default_factory=tuple)

    @property
    def passthrough(self) -> bool:
        return self.background is None and not self.sprites and not self.face_regions


def hologram_at(tint: RGB, t: float, height: int) -> Hologram:
    period = max(3.0, height / 120.0)
    # Flicker: two incommensurate sines read as irregular without randomness, so both renderers
    # and tests agree exactly for a given time.
    flicker = 0.94 + 0.04 * math.sin(t * 13.0) + 0.02 * math.sin(t * 37.0)
    return Hologram(
        tint=tint,
        scan_period=period,
        scan_phase=(t * period * 4.0) % period,
        scan_depth=0.35,
        ghost_offset=max(1, int(round(height / 90.0))),
        ghost_alpha=0.25,
        brightness=flicker,
        opacity=0.85,
    )


def build_plan(analysis: Any, settings: Settings, t: float, width: int, height: int) -> RenderPlan:
    """Decide what to draw for a frame of width x height at output time t (seconds).

    analysis may be None (no result yet); then nothing mask-dependent is drawn and the frame
    passes through unchanged, except the transparent cut-out, which shows the frame opaque until
    the first mask arrives rather than hiding the person.
    """
    bg = settings.background
    mask = getattr(analysis, "mask", None) if analysis is not None else None
    if bg.mode == "none" or mask is None:
        return RenderPlan(width, height, t)
    layer: BackgroundLayer
    if bg.mode == "blur":
        layer = BackgroundLayer("blur", blur=blur_geometry(bg.blur, width, height))
    elif bg.mode == "image":
        layer = BackgroundLayer("image", image=bg.image)
    elif bg.mode == "color":
        layer = BackgroundLayer("color", color=bg.color)
    elif bg.mode == "transparent":
        layer = BackgroundLayer("transparent")
    else:  # hologram: over the background image if one is set, else over the live frame
        layer = BackgroundLayer("hologram", image=bg.image,
                                hologram=hologram_at(bg.hologram_color, t, height))
    seg = settings.segmentation
    return RenderPlan(width, height, t, background=layer, mask=mask,
                      edge=edge_bounds(seg.threshold, seg.softness),
                      alpha_output=bg.mode == "transparent", refine=seg.refine)
