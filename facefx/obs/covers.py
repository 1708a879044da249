"""GPU painter for face privacy covers (facefx.scene.Cover), graphics thread only.

One CoverPainter per GpuRenderer. Per frame the renderer calls begin_frame(frame) and then
paint(plan, cover) for each cover; the styles' sources are made at most once per frame, at
small size, and only when a cover needs them:
- blur: the frame halved to about a quarter of the sigma, then a separable Gaussian there
  (effects/privacy.effect GaussH/GaussV), sampled bilinearly - strong and cheap at any size;
- pixelate: the frame area-averaged to one texel per block (what cv2.INTER_AREA does), read
  back per block;
- plate: the captured background (capture_plate(): a render-thread copy of the source frame,
  no CPU readback), sampled by output position, so a plate of another size is rescaled;
- emoji/picture: a PNG decoded off the render thread (the stickers' cache), over the colour so
  its transparent parts still cover; solid colour while it is decoding.

Fail-closed: a cover never lets the face through. A style whose source is missing or failed
(no plate, an unreadable picture, a render target that cannot be made) draws the colour fill,
and if the privacy shader itself cannot be used, OBS's solid-colour effect fills the cover's
bounding box. `problem` says why, for the status line.
"""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Tuple

from . import libobs as lo

FEATHER_PX = 3.0             # soft edge outside the shape (the shape itself is fully opaque)
BLUR_SMALL_SIGMA = 3.0       # the Gaussian runs where sigma is about this many small pixels
MIN_SMALL_SIDE = 8
MAX_RADIUS = 16
OBS_EFFECT_SOLID = 3
GS_BLEND_ONE = 1
GS_BLEND_INVSRCALPHA = 5
_PARAMS = ["image", "under", "color", "origin", "quad", "center", "halfsize", "rot", "shape", "feather", "size",
           "cells", "radius", "sigma"]


def blur_levels(sigma: float, w: int, h: int) -> int:
    """How many 2x halvings before the Gaussian: sigma ends near BLUR_SMALL_SIGMA small pixels
    and the small frame keeps at least MIN_SMALL_SIDE pixels a side."""
    n = 0
    while sigma / 2 ** (n + 1) >= BLUR_SMALL_SIGMA and min(w, h) // 2 ** (n + 1) >= MIN_SMALL_SIDE:
        n += 1
    return n


def cover_bounds(cover: Any, feather: float = FEATHER_PX) -> Tuple[float, float, float, float]:
    """(x0, y0, x1, y1): the output-pixel box around the rotated cover and its soft edge."""
    hw, hh = float(cover.width) / 2.0 + feather, float(cover.height) / 2.0 + feather
    a = math.radians(float(cover.rotation or 0.0))
    c, s = abs(math.cos(a)), abs(math.sin(a))
    ex, ey = hw * c + hh * s, hw * s + hh * c
    x, y = float(cover.x), float(cover.y)
    return math.floor(x - ex), math.floor(y - ey), math.ceil(x + ex), math.ceil(y + ey)


class CoverPainter:
    """Draws Cover items for one GpuRenderer (`renderer` gives _Target, _draw_default and
    _draw_area, and the effects folder)."""

    def __init__(self, renderer: Any) -> None:
        self.r = renderer
        self.lib = renderer.lib
        self.effect: Any = None
        self.effect_error = ""
        self.problem = ""                 # last reason a cover fell back to the colour fill
        self._frame: Tuple[Optional[int], int, int] = (None, 0, 0)
        self._blurred: Dict[float, int] = {}
        self._cells: Optional[Tuple[int, int]] = None
        self._halves: List[Any] = []
        self._halved = 0                  # how many of _halves hold this frame's halvings
        self._gauss: Dict[str, Any] = {}
        self._pix: Any = None
        self.plate: Any = None            # _Target holding the captured background
        self.plate_size = (0, 0)
        self._pictures: Any = None        # facefx.obs.sprites.SpritePainter as a texture cache
        self._under: Dict[Any, Any] = {}  # (path, texture) -> 1x1 _Target of its mean colour
        self._vec4 = lo.AlignedVec4()
        self._vec2 = lo.Vec2()

    # ------------------------------------------------------------------ plate
    @property
    def has_plate(self) -> bool:
        return self.plate is not None

    def capture_plate(self, frame_tex: int, w: int, h: int) -> bool:
        """Copy the frame into the plate texture (graphics thread); False if it could not."""
        if self.plate is None:
            from .gpu import _Target
            self.plate = _Target(self.lib)
        if not self.plate.begin(w, h):
            return False
        self.r._draw_default(frame_tex, w, h)
        self.plate.end()
        self.plate_size = (w, h)
        return True

    def drop_plate(self) -> None:
        if self.plate is not None:
            self.plate.destroy()
            self.plate = None
        self.plate_size = (0, 0)

    # ------------------------------------------------------------------ per frame
    def begin_frame(self, frame_tex: int, w: int, h: int) -> None:
        self._frame = (frame_tex, w, h)
        self._blurred.clear()
        self._halved = 0
        self._cells = None

    def paint(self, plan: Any, cover: Any) -> None:
        if float(cover.width) < 1 or float(cover.height) < 1:
            return
        try:
            self._paint(plan, cover)
        except Exception as exc:   # fail closed: never leave a face bare because a style failed
            self.problem = "%s cover failed (%s): covering with a solid colour" % (cover.style, exc)
            self.fill(cover)

    def _effect(self) -> Any:
        if self.effect is None:
            if self.effect_error:
                raise RuntimeError(self.effect_error)
            from .gpu import GpuError, _Effect
            try:
                self.effect = _Effect(self.lib, os.path.join(self.r._effects_dir, "privacy.effect"), _PARAMS)
            except GpuError as exc:
                self.effect_error = str(exc)
                raise
        return self.effect

    def _paint(self, plan: Any, cover: Any) -> None:
        eff = self._effect()
        style = cover.style
        tex: Optional[int] = None
        under: Optional[int] = None
        technique = b"Color"
        if style == "blur" or (style == "plate" and self.plate is None):
            tex, technique = self._blur(float(cover.strength)), b"Sampled"
        elif style == "plate":
            tex, technique = self.plate.texture, b"Sampled"
        elif style == "pixelate":
            tex, technique = self._pixelated(float(cover.strength)), b"Pixelate"
        elif style == "emoji":
            tex = self._picture(cover.image)
            technique = b"Picture" if tex else b"Color"
            under = self._underlay((cover.image, tex), tex) if tex else None
        if technique != b"Color" and not tex:
            self.problem = "%s cover had no source: covering with a solid colour" % style
            technique, tex = b"Color", None
        self._draw(eff, technique, tex, plan, cover, under)

    def _draw(self, eff: Any, technique: bytes, tex: Optional[int], plan: Any, cover: Any,
              under: Optional[int] = None) -> None:
        lib, p = self.lib, eff.p
        lib.gs_effect_set_texture(p["under"], under)
        x0, y0, x1, y1 = cover_bounds(cover)
        a = math.radians(float(cover.rotation or 0.0))
        lib.gs_effect_set_texture(p["image"], tex)
        lib.gs_effect_set_vec4(p["color"], self._vec4.set(
            tuple(c / 255.0 for c in cover.color) + (1.0,)).ptr)
        lib.gs_effect_set_vec2(p["origin"], self._vec2.set(x0, y0).ptr)
        lib.gs_effect_set_vec2(p["quad"], self._vec2.set(x1 - x0, y1 - y0).ptr)
        lib.gs_effect_set_vec2(p["center"], self._vec2.set(float(cover.x), float(cover.y)).ptr)
        lib.gs_effect_set_vec2(p["halfsize"], self._vec2.set(float(cover.width) / 2.0, float(cover.height) / 2.0).ptr)
        lib.gs_effect_set_vec2(p["rot"], self._vec2.set(math.cos(a), math.sin(a)).ptr)
        lib.gs_effect_set_float(p["shape"], 1.0 if cover.shape == "rect" else 0.0)
        lib.gs_effect_set_float(p["feather"], FEATHER_PX)
        lib.gs_effect_set_vec2(p["size"], self._vec2.set(float(plan.width), float(plan.height)).ptr)
        cells = self._cells or (1, 1)
        lib.gs_effect_set_vec2(p["cells"], self._vec2.set(float(cells[0]), float(cells[1])).ptr)
        lib.gs_blend_state_push()
        lib.gs_enable_blending(True)
        lib.gs_blend_function(GS_BLEND_ONE, GS_BLEND_INVSRCALPHA)
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(float(x0), float(y0), 0.0)
        while lib.gs_effect_loop(eff.ptr, technique):
            lib.gs_draw_sprite(None, 0, int(x1 - x0), int(y1 - y0))
        lib.gs_matrix_pop()
        lib.gs_blend_state_pop()

    def fill(self, cover: Any) -> None:
        """The last resort: OBS's own solid-colour effect over the cover's bounding box."""
        lib = self.lib
        x0, y0, x1, y1 = cover_bounds(cover)
        solid = lib.obs_get_base_effect(OBS_EFFECT_SOLID)
        lib.gs_effect_set_vec4(lib.gs_effect_get_param_by_name(solid, b"color"), self._vec4.set(
            tuple(c / 255.0 for c in cover.color) + (1.0,)).ptr)
        lib.gs_blend_state_push()
        lib.gs_enable_blending(False)
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(float(x0), float(y0), 0.0)
        while lib.gs_effect_loop(solid, b"Solid"):
            lib.gs_draw_sprite(None, 0, int(x1 - x0), int(y1 - y0))
        lib.gs_matrix_pop()
        lib.gs_blend_state_pop()

    # ------------------------------------------------------------------ sources
    def _target(self, name: str) -> Any:
        t = self._gauss.get(name)
        if t is None:
            from .gpu import _Target
            t = self._gauss[name] = _Target(self.lib)
        return t

    def _blur(self, sigma: float) -> Optional[int]:
        """The frame blurred with `sigma` output pixels, at small size (cached for the frame)."""
        tex = self._blurred.get(sigma)
        if tex:
            return tex
        frame, w, h = self._frame
        if not frame:
            return None
        from .gpu import _Target
        lib = self.lib
        levels = blur_levels(sigma, w, h)
        cw, ch = w, h
        # The halvings do not depend on sigma: faces of different sizes (each its own sigma)
        # share them, so the full frame is halved once per frame, not once per face.
        for i in range(levels):
            if len(self._halves) <= i:
                self._halves.append(_Target(lib))
            nw, nh = max(1, -(-cw // 2)), max(1, -(-ch // 2))
            t = self._halves[i]
            if i >= self._halved:
                if not t.begin(nw, nh, ortho=(cw, ch)):
                    return None
                self.r._draw_default(frame, cw, ch)
                t.end()
                self._halved = i + 1
            frame, cw, ch = t.texture, nw, nh
        s = max(0.5, sigma / 2 ** levels)
        eff = self._effect()
        p = eff.p
        key = "%g" % sigma
        src = frame
        for name, technique in (("h" + key, b"GaussH"), ("v" + key, b"GaussV")):
            t = self._target(name)
            if not t.begin(cw, ch):
                return None
            lib.gs_effect_set_texture(p["image"], src)
            lib.gs_effect_set_vec2(p["size"], self._vec2.set(cw, ch).ptr)
            lib.gs_effect_set_float(p["radius"], float(min(MAX_RADIUS, math.ceil(3.0 * s))))
            lib.gs_effect_set_float(p["sigma"], float(s))
            while lib.gs_effect_loop(eff.ptr, technique):
                lib.gs_draw_sprite(src, 0, cw, ch)
            t.end()
            src = t.texture
        if len(self._gauss) > 8:   # many distinct strengths: keep the cache small
            for name in [n for n in self._gauss if n[1:] != key]:
                self._gauss.pop(name).destroy()
        self._blurred[sigma] = src
        return src

    def _pixelated(self, block: float) -> Optional[int]:
        """The frame area-averaged to one texel per block (once per frame)."""
        frame, w, h = self._frame
        if not frame:
            return None
        b = max(2.0, block)
        cells = (max(1, int(math.ceil(w / b))), max(1, int(math.ceil(h / b))))
        if self._cells == cells and self._pix is not None:
            return self._pix.texture
        if self._pix is None:
            from .gpu import _Target
            self._pix = _Target(self.lib)
        if not self._pix.begin(cells[0], cells[1]):
            return None
        self.r._draw_area(frame, (w, h), cells, b"Draw")
        self._pix.end()
        self._cells = cells
        return self._pix.texture

    def _picture(self, path: str) -> Optional[int]:
        if not path:
            self.problem = "no privacy picture set: covering with the colour"
            return None
        if self._pictures is None:
            from .sprites import SpritePainter
            self._pictures = SpritePainter(self.lib, None)
        tex = self._pictures.texture(path)
        if not tex and self._pictures.problem:
            self.problem = "%s; covering with the colour instead" % self._pictures.problem.replace(
                "sticker image", "privacy picture")
        return tex

    def _underlay(self, key: Any, tex: int) -> Optional[int]:
        """1x1: the picture's alpha-weighted mean colour, premultiplied (made once per picture)."""
        t = self._under.get(key)
        if t is not None:
            return t.texture
        from .gpu import _Target
        lib = self.lib
        pw, ph = lib.gs_texture_get_width(tex), lib.gs_texture_get_height(tex)
        pre, t = _Target(lib), _Target(lib)
        try:
            if not pre.begin(pw, ph):
                t.destroy()
                return None
            eff = self._effect()
            lib.gs_effect_set_texture(eff.p["image"], tex)
            while lib.gs_effect_loop(eff.ptr, b"Premultiply"):
                lib.gs_draw_sprite(tex, 0, pw, ph)
            pre.end()
            if not t.begin(1, 1):
                t.destroy()
                return None
            self.r._draw_area(pre.texture, (pw, ph), (1, 1), b"Draw")
            t.end()
        finally:
            pre.destroy()
        while len(self._under) >= 8:   # pictures come and go with the settings: keep a few
            self._under.pop(next(iter(self._under))).destroy()
        self._under[key] = t
        return t.texture

    def close(self) -> None:
        """Graphics context current. Safe to call twice."""
        for t in self._halves + list(self._gauss.values()) + [self._pix] + list(self._under.values()):
            if t is not None:
                t.destroy()
        self._halves, self._gauss, self._pix, self._under = [], {}, None, {}
        self._halved = 0
        self.drop_plate()
        if self._pictures is not None:
            self._pictures.close()
            self._pictures = None
        if self.effect is not None:
            self.effect.destroy()
            self.effect = None
        self._blurred.clear()
