"""GPU painters for the Scene's plan items (facefx.scene.Sprite and Ring), graphics thread only.

Sticker PNGs are decoded on a loader thread (libobs' gs_create_texture_file_data needs no
graphics context) and only uploaded here, once per file: a frame never waits for a decode, it
draws the stickers already uploaded and the rest appear a frame or two later. Textures are
kept in a small cache keyed by (path, modification time), so an animation of many particles
and several stickers costs one upload each. Drawn like facefx/render/painters.py: a quad
centred on (x, y), sized in output pixels, rotated clockwise, opacity-scaled, premultiplied.
Rings are computed in effects/ring.effect (no texture) over their bounding box.
"""
from __future__ import annotations

import ctypes as C
import math
import os
import threading
from collections import OrderedDict, deque
from typing import Any, Deque, Dict, Optional, Tuple

from . import libobs as lo
from .images import ImageLoader

Key = Tuple[str, float]
MAX_TEXTURES = 32
GS_BLEND_ONE = 1
GS_BLEND_INVSRCALPHA = 5


class StickerLoader(ImageLoader):
    """Decodes any number of pictures, one after another, on one thread (ImageLoader keeps
    only the latest wanted picture). get(key) never blocks: Decoded (the caller takes
    ownership), False (cannot be decoded) or None (queued). Decoding and close() are
    ImageLoader's."""

    def __init__(self, lib: Any) -> None:
        super().__init__(lib)
        self._queue: Deque[Key] = deque()

    def get(self, key: Key) -> Any:
        with self._lock:
            if key in self._done:
                return self._done.pop(key)
            if self._closed:
                return False
            if key not in self._queue:
                self._queue.append(key)
                self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="facefx-sticker-decoder", daemon=True)
                self._thread.start()
        return None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._closed:
                    return
                if not self._queue:
                    self._wake.clear()
                    continue
                key = self._queue[0]
            result: Any = self._decode(key[0])
            with self._lock:
                if self._queue and self._queue[0] == key:
                    self._queue.popleft()
                if self._closed:
                    if result:
                        self.lib.bfree(result.ptr)
                    return
                self._done[key] = result


class SpritePainter:
    """Draws Sprite items with effects/sprite.effect. `problem` names the last sticker file
    that could not be read (for the status line); the other stickers keep drawing."""

    def __init__(self, lib: Any, effect: Any) -> None:
        self.lib = lib
        self.effect = effect            # gpu._Effect with params image, opacity
        self.loader = StickerLoader(lib)
        self.textures: "OrderedDict[Key, int]" = OrderedDict()
        self.bad: Dict[Key, str] = {}
        self.problem = ""

    def _texture(self, path: str) -> Optional[int]:
        try:
            key = (path, os.stat(path).st_mtime)
        except OSError:
            self.problem = f"sticker image not found: {path}"
            return None
        tex = self.textures.get(key)
        if tex is not None:
            self.textures.move_to_end(key)
            return tex
        if key in self.bad:
            return None
        decoded = self.loader.get(key)
        if decoded is None:
            return None
        tex = None
        if decoded is not False:
            pixels = C.c_void_p(decoded.ptr)
            tex = self.lib.gs_texture_create(decoded.width, decoded.height, decoded.fmt, 1, C.addressof(pixels), 0)
            self.lib.bfree(decoded.ptr)
        if not tex:
            self.bad[key] = self.problem = f"cannot read sticker image {path} (expected a PNG)"
            return None
        self.textures[key] = tex
        while len(self.textures) > MAX_TEXTURES:
            _, old = self.textures.popitem(last=False)
            self.lib.gs_texture_destroy(old)
        return tex

    texture = _texture   # public: the cover painter (facefx.obs.covers) shares this cache

    def paint(self, plan: Any, sprite: Any) -> None:
        w, h = float(sprite.width), float(sprite.height)
        opacity = min(1.0, float(sprite.opacity))
        if w < 1 or h < 1 or opacity <= 0.0:
            return
        tex = self._texture(sprite.image)
        if not tex:
            return
        lib = self.lib
        p = self.effect.p
        lib.gs_effect_set_texture(p["image"], tex)
        lib.gs_effect_set_float(p["opacity"], opacity)
        lib.gs_blend_state_push()
        lib.gs_enable_blending(True)
        lib.gs_blend_function(GS_BLEND_ONE, GS_BLEND_INVSRCALPHA)
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(float(sprite.x), float(sprite.y), 0.0)
        if sprite.rotation:
            lib.gs_matrix_rotaa4f(0.0, 0.0, 1.0, math.radians(float(sprite.rotation)))
        lib.gs_matrix_translate3f(-w / 2.0, -h / 2.0, 0.0)
        while lib.gs_effect_loop(self.effect.ptr, b"Draw"):
            lib.gs_draw_sprite(tex, 0, int(round(w)), int(round(h)))
        lib.gs_matrix_pop()
        lib.gs_blend_state_pop()

    def close(self) -> None:
        """Graphics context current. Safe to call twice."""
        for tex in self.textures.values():
            self.lib.gs_texture_destroy(tex)
        self.textures.clear()
        self.loader.close()


class RingPainter:
    """Draws Ring items (the arming ring) with effects/ring.effect, as
    facefx.render.painters.paint_ring does: the line width rounded to whole pixels, the arc
    clockwise from 12 o'clock, premultiplied colour times opacity."""

    PARAMS = ["origin", "box", "centre", "radius", "half_width", "progress", "color"]

    def __init__(self, lib: Any, effect: Any) -> None:
        self.lib = lib
        self.effect = effect            # gpu._Effect with PARAMS
        self._vec2 = lo.Vec2()
        self._vec4 = lo.AlignedVec4()

    def paint(self, plan: Any, ring: Any) -> None:
        progress = min(1.0, max(0.0, float(ring.progress)))
        opacity = min(1.0, float(ring.opacity))
        thick = max(1, int(round(ring.thickness)))
        if progress <= 0.0 or opacity <= 0.0 or ring.radius <= 0:
            return
        reach = ring.radius + thick / 2.0 + 1.0
        x0, y0 = max(0, int(math.floor(ring.x - reach))), max(0, int(math.floor(ring.y - reach)))
        x1 = min(int(plan.width), int(math.ceil(ring.x + reach)))
        y1 = min(int(plan.height), int(math.ceil(ring.y + reach)))
        if x0 >= x1 or y0 >= y1:
            return
        lib, p = self.lib, self.effect.p
        lib.gs_effect_set_vec2(p["origin"], self._vec2.set(x0, y0).ptr)
        lib.gs_effect_set_vec2(p["box"], self._vec2.set(x1 - x0, y1 - y0).ptr)
        lib.gs_effect_set_vec2(p["centre"], self._vec2.set(float(ring.x), float(ring.y)).ptr)
        lib.gs_effect_set_float(p["radius"], float(ring.radius))
        lib.gs_effect_set_float(p["half_width"], thick / 2.0)
        lib.gs_effect_set_float(p["progress"], progress)
        r, g, b = (min(255, max(0, int(c))) / 255.0 * opacity for c in ring.color)
        lib.gs_effect_set_vec4(p["color"], self._vec4.set((r, g, b, opacity)).ptr)
        lib.gs_blend_state_push()
        lib.gs_enable_blending(True)
        lib.gs_blend_function(GS_BLEND_ONE, GS_BLEND_INVSRCALPHA)
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(float(x0), float(y0), 0.0)
        while lib.gs_effect_loop(self.effect.ptr, b"Draw"):
            lib.gs_draw_sprite(None, 0, x1 - x0, y1 - y0)   # no texture: the quad only
        lib.gs_matrix_pop()
        lib.gs_blend_state_pop()
