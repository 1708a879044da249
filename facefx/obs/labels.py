"""GPU painter for the Scene's text labels (facefx.scene.Label: an expression's name).

Why OBS's own text source: OBS's Python has no font renderer we may import (no Pillow, no
cv2 in OBS's process), and OBS ships one on every platform: text_ft2_source_v2 (FreeType;
Linux, macOS) and text_gdiplus_v2 (Windows). A private source of that kind, never shown in a
scene, lays out each distinct (text, colour) once; its output is rendered once into a texture
of our own and the source is released. Labels are few (one per expression), so after the
first second every label is a cached texture drawn like a sprite.

Threads: creating a text source loads a font file and rasterises glyphs, which must not happen
on the render thread; it runs on a small thread of ours (libobs' source creation may be called
from any thread; the ctypes calls release the GIL). The render thread only asks for a finished
source (never waits: a label appears a frame or two later), renders it into a texture once
(a GPU draw), and from then on draws that texture over a rounded dark plate (effects/label.effect)
with premultiplied alpha, scaled to the label's height.

Without a text source plugin the painter draws nothing and `problem` says why.
"""
from __future__ import annotations

import ctypes as C
import sys
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Deque, Dict, Optional, Tuple

from . import libobs as lo

Key = Tuple[str, Tuple[int, int, int]]
TEXT_SOURCE_IDS = ("text_gdiplus_v2", "text_gdiplus") if sys.platform.startswith("win") else (
    "text_ft2_source_v2", "text_ft2_source")
FONT_FACE = "Arial" if sys.platform.startswith("win") else ("Helvetica" if sys.platform == "darwin" else "DejaVu Sans")
FONT_PX = 72                # glyphs are laid out at this size and scaled to each label's height
MAX_TEXTURES = 16
LAYOUT_WAIT_S = 3.0         # a text source applies its settings at its next tick: wait this long
PLATE_RGBA = (0.0, 0.0, 0.0, 0.6)
PAD_X, PAD_Y = 0.35, 0.18   # plate padding, in label heights
GS_BLEND_ONE = 1
GS_BLEND_INVSRCALPHA = 5

_FUNCS = {
    "obs_source_get_display_name": (C.c_char_p, C.c_char_p),
    "obs_source_create_private": (C.c_void_p, C.c_char_p, C.c_char_p, C.c_void_p),
    "obs_source_release": (None, C.c_void_p),
    "obs_source_get_width": (C.c_uint32, C.c_void_p),
    "obs_source_get_height": (C.c_uint32, C.c_void_p),
    "obs_data_set_string": (None, C.c_void_p, C.c_char_p, C.c_char_p),
    "obs_data_set_int": (None, C.c_void_p, C.c_char_p, C.c_longlong),
    "obs_data_set_obj": (None, C.c_void_p, C.c_char_p, C.c_void_p),
}


def _bind(obs_lib: Any) -> Dict[str, Any]:
    out = {}
    for name, sig in _FUNCS.items():
        fn = getattr(obs_lib, name)
        fn.restype = sig[0]
        fn.argtypes = list(sig[1:])
        out[name] = fn
    return out


def obs_color(rgb: Tuple[int, int, int]) -> int:
    """OBS's 0xAABBGGRR, opaque."""
    r, g, b = (max(0, min(255, int(v))) for v in rgb)
    return 0xFF000000 | (b << 16) | (g << 8) | r


class TextSources:
    """Creates one private text source per requested (text, colour) on a thread of its own.

    get(key) never blocks: a source pointer (the caller owns the reference and passes it to
    release()), False when no text source can be made here, or None while it is being made."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.f = _bind(lib.obs_lib)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._queue: Deque[Any] = deque()     # keys to make, or ("release", ptr)
        self._done: Dict[Key, Any] = {}
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self.kind = ""
        self.problem = ""

    def source_kind(self) -> str:
        """The first text source type OBS has registered ("" if none)."""
        for kind in TEXT_SOURCE_IDS:
            if self.f["obs_source_get_display_name"](kind.encode()):
                return kind
        return ""

    def get(self, key: Key) -> Any:
        with self._lock:
            if key in self._done:
                return self._done.pop(key)
            if self._closed:
                return False
            if key not in self._queue:
                self._queue.append(key)
                self._wake.set()
            self._start()
        return None

    def release(self, source: int) -> None:
        """Release a source get() returned, on the thread (its destruction frees font data)."""
        with self._lock:
            if self._closed:
                self.f["obs_source_release"](source)
                return
            self._queue.append(("release", source))
            self._wake.set()
            self._start()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="facefx-label-text", daemon=True)
            self._thread.start()

    def _make(self, key: Key) -> Any:
        if not self.kind:
            self.kind = self.source_kind()
            if not self.kind:
                self.problem = ("no text source in this OBS (expected %s); labels are not drawn"
                                % " or ".join(TEXT_SOURCE_IDS))
                return False
        text, rgb = key
        lib, f = self.lib, self.f
        data = lib.obs_data_create()
        font = lib.obs_data_create()
        try:
            f["obs_data_set_string"](font, b"face", FONT_FACE.encode())
            f["obs_data_set_string"](font, b"style", b"Bold")
            f["obs_data_set_int"](font, b"size", FONT_PX)
            f["obs_data_set_int"](font, b"flags", 1)        # bold
            f["obs_data_set_obj"](data, b"font", font)
            f["obs_data_set_string"](data, b"text", text.encode("utf-8"))
            for k in (b"color1", b"color2", b"color"):
                f["obs_data_set_int"](data, k, obs_color(rgb))
            src = f["obs_source_create_private"](self.kind.encode(), b"facefx-label", data)
        finally:
            lib.obs_data_release(font)
            lib.obs_data_release(data)
        if not src:
            self.problem = f"OBS could not create a {self.kind} for the label {text!r}"
            return False
        return src

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._closed:
                    return
                if not self._queue:
                    self._wake.clear()
                    continue
                item = self._queue[0]
            if isinstance(item, tuple) and item and item[0] == "release":
                self.f["obs_source_release"](item[1])
                result: Any = None
            else:
                result = self._make(item)
            with self._lock:
                if self._queue and self._queue[0] is item:
                    self._queue.popleft()
                if result is None:
                    continue
                if self._closed:
                    if result:
                        self.f["obs_source_release"](result)
                    return
                self._done[item] = result

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread and release every source nobody took. Safe to call twice."""
        with self._lock:
            self._closed = True
            done, self._done = self._done, {}
            pending = [i[1] for i in self._queue if isinstance(i, tuple) and i and i[0] == "release"]
            self._queue.clear()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        for src in list(done.values()) + pending:
            if src:
                self.f["obs_source_release"](src)


class LabelPainter:
    """Draws Label items. `problem` names why labels cannot be drawn ("" when they can)."""

    def __init__(self, lib: Any, effect: Any) -> None:
        self.lib = lib
        self.effect = effect            # gpu._Effect of label.effect: image, size, radius, color, opacity
        self.sources = TextSources(lib)
        self.textures: "OrderedDict[Key, Tuple[Any, int, int]]" = OrderedDict()   # key -> (texrender, w, h)
        self.failed: Dict[Key, bool] = {}
        self.waiting: Dict[Key, Tuple[int, float]] = {}   # made, not laid out yet: (source, since)
        self._vec2 = lo.Vec2()
        self._vec4 = lo.AlignedVec4()

    @property
    def problem(self) -> str:
        return self.sources.problem

    def _texture(self, key: Key) -> Optional[Tuple[int, int, int]]:
        hit = self.textures.get(key)
        if hit is not None:
            self.textures.move_to_end(key)
            return self.lib.gs_texrender_get_texture(hit[0]), hit[1], hit[2]
        if key in self.failed:
            return None
        src, since = self.waiting.pop(key, (None, 0.0))
        if src is None:
            src, since = self.sources.get(key), time.monotonic()
        if not src:
            if src is False:
                self.failed[key] = True
            return None
        lib = self.lib
        w = self.sources.f["obs_source_get_width"](src)
        h = self.sources.f["obs_source_get_height"](src)
        if not w or not h:
            # libobs applies a video source's settings at its next tick (graphics thread), so a
            # fresh text source can be 0x0 for a frame or two; a font that never loads stays so.
            if time.monotonic() - since < LAYOUT_WAIT_S:
                self.waiting[key] = (src, since)
            else:
                self.failed[key] = True
                self.sources.problem = f"the text source laid out {key[0]!r} as {w}x{h} (is a font installed?)"
                self.sources.release(src)
            return None
        try:
            tr = lib.gs_texrender_create(lo.GS_RGBA, lo.GS_ZS_NONE)
            if not tr:
                return None
            lib.gs_texrender_reset(tr)
            if not lib.gs_texrender_begin(tr, w, h):
                lib.gs_texrender_destroy(tr)
                return None
            lib.gs_blend_state_push()
            lib.gs_clear(lo.GS_CLEAR_COLOR, lib.zero_vec4.ptr, 0.0, 0)
            lib.gs_ortho(0.0, float(w), 0.0, float(h), -100.0, 100.0)
            # The text source blends straight alpha over the transparent target
            # (SRCALPHA, INVSRCALPHA; alpha ONE, INVSRCALPHA): the texture holds premultiplied
            # colour, what label.effect's Text technique expects.
            lib.obs_source_video_render(src)
            lib.gs_blend_state_pop()
            lib.gs_texrender_end(tr)
        finally:
            self.sources.release(src)
        self.textures[key] = (tr, w, h)
        while len(self.textures) > MAX_TEXTURES:
            _, old = self.textures.popitem(last=False)
            lib.gs_texrender_destroy(old[0])
        return lib.gs_texrender_get_texture(tr), w, h

    def paint(self, plan: Any, label: Any) -> None:
        text = str(label.text)
        height, opacity = float(label.height), min(1.0, float(label.opacity))
        if not text.strip() or height < 2 or opacity <= 0.0:
            return
        hit = self._texture((text, tuple(int(c) for c in label.color)))
        if hit is None:
            return
        tex, tw, th = hit
        scale = height / th
        w, h = tw * scale, height
        pw, ph = w + 2 * PAD_X * height, h + 2 * PAD_Y * height
        lib, p = self.lib, self.effect.p
        lib.gs_blend_state_push()
        lib.gs_enable_blending(True)
        lib.gs_blend_function(GS_BLEND_ONE, GS_BLEND_INVSRCALPHA)
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(float(label.x) - pw / 2.0, float(label.y) - ph / 2.0, 0.0)
        lib.gs_effect_set_vec2(p["size"], self._vec2.set(pw, ph).ptr)
        lib.gs_effect_set_float(p["radius"], float(min(pw, ph) * 0.3))
        lib.gs_effect_set_vec4(p["color"], self._vec4.set(PLATE_RGBA).ptr)
        lib.gs_effect_set_float(p["opacity"], opacity)
        while lib.gs_effect_loop(self.effect.ptr, b"Plate"):
            lib.gs_draw_sprite(0, 0, int(round(pw)), int(round(ph)))
        lib.gs_matrix_translate3f(PAD_X * height, PAD_Y * height, 0.0)
        lib.gs_effect_set_texture(p["image"], tex)
        lib.gs_effect_set_float(p["opacity"], opacity)
        while lib.gs_effect_loop(self.effect.ptr, b"Text"):
            lib.gs_draw_sprite(tex, 0, int(round(w)), int(round(h)))
        lib.gs_matrix_pop()
        lib.gs_blend_state_pop()

    def close(self) -> None:
        """Graphics context current. Safe to call twice."""
        for tr, _, _ in self.textures.values():
            self.lib.gs_texrender_destroy(tr)
        self.textures.clear()
        for src, _ in self.waiting.values():
            self.sources.release(src)
        self.waiting.clear()
        self.sources.close()
