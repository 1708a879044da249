"""GPU side of the FaceFX filter: capture, analysis readback, mask upload, compositing.

Everything here runs on OBS's graphics thread (inside video_render, where the graphics
context is current) or between obs_enter_graphics()/obs_leave_graphics(). One GpuRenderer per
filter owns all of that filter's GPU objects; close() frees them and is safe to call twice.

Per frame:
  filter target --render--> frame ring slot (full size, RGBA8)       capture()
  newest frame --bilinear--> analysis size --stage--> staging[i]     stage_analysis()
  staging[i^1] (staged last frame) --map--> worker shared memory     map_staged()
  worker mask (bytes) --upload--> R8 texture                          set_mask()
  RenderPlan --effects--> output                                      draw()

draw() walks the RenderPlan the same way facefx/render/cpu.py does: the background layer
first (one painter per mode in `_painters`), then covers, sprites, labels and rings through
`_overlay_painters` (keyed by item kind: sprites.py, labels.py), so new plan parts add
painters rather than reshaping the renderer.
"""
from __future__ import annotations

import ctypes as C
import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..scene import RenderPlan
from . import libobs as lo
from .images import ImageLoader

EFFECTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "effects")
HOLOGRAM_BACKDROP = (8, 12, 24)   # facefx.render.cpu.HOLOGRAM_BACKDROP
OBS_EFFECT_AREA = 9
MAX_DELAY_FRAMES = 8
# The ring holds the delay plus the spacing between analysed frames (a mask stays in use until
# the next one is due), so at the delay cap a mask one or a few frames apart still finds its
# frame: 12 slots are 44 MB at 720p, 100 MB at 1080p, and only while latency is that high.
MAX_RING_FRAMES = MAX_DELAY_FRAMES + 4
# facefx.render.refine's parameters (RefineParams defaults; tests/test_refine.py checks them).
REFINE_RADIUS = 4
REFINE_EPS = 0.0025
REFINE_BG_RADIUS = 4
REFINE_ALPHA_MIN = 0.5
REFINE_BOX_MARGIN = 2 * REFINE_RADIUS + 2     # RefineParams.margin + 1 (cpu.CpuRenderer)


def apply_factor(width: int, height: int, mask_width: int) -> int:
    """facefx.render.refine.apply_factor: the refined level is computed at 1/factor of the
    frame's size (2 from four times the analysis width, for even sizes)."""
    return 2 if width >= 4 * mask_width and width % 2 == 0 and height % 2 == 0 else 1


def person_box(mask: bytes, mw: int, mh: int, edge_lo: float, width: int, height: int,
               margin: int) -> Optional[Tuple[int, int, int, int]]:
    """facefx.render.cpu.person_box without numpy: (y0, y1, x0, x1) in frame pixels outside
    which the coverage is zero, or None. Byte-string operations keep it to tens of
    microseconds for a 256x144 mask."""
    thr = int(edge_lo * 255.0)
    hot = bytes.maketrans(bytes(range(256)), bytes(0 if v <= thr else 1 for v in range(256)))
    flags = mask[:mw * mh].translate(hot)
    rows = [y for y in range(mh) if b"\x01" in flags[y * mw:(y + 1) * mw]]
    if not rows:
        return None
    x_lo, x_hi = mw, -1
    for y in rows:
        row = flags[y * mw:(y + 1) * mw]
        x_lo = min(x_lo, row.find(b"\x01"))
        x_hi = max(x_hi, row.rfind(b"\x01"))
    fy, fx = height / mh, width / mw
    y0 = max(0, int((rows[0] - margin) * fy))
    y1 = min(height, int(math.ceil((rows[-1] + 1 + margin) * fy)))
    x0 = max(0, int((x_lo - margin) * fx))
    x1 = min(width, int(math.ceil((x_hi + 1 + margin) * fx)))
    return y0, y1, x0, x1


class GpuError(RuntimeError):
    """A GPU resource (effect, texture, picture) could not be created."""


class _Target:
    """A texrender of a fixed colour format, drawn into with blending off."""

    def __init__(self, lib: lo.Libobs, fmt: int = lo.GS_RGBA) -> None:
        self.lib = lib
        self.tr = lib.gs_texrender_create(fmt, lo.GS_ZS_NONE)
        if not self.tr:
            raise GpuError("could not create a render target")

    def begin(self, w: int, h: int, ortho: Optional[Tuple[float, float]] = None) -> bool:
        lib = self.lib
        lib.gs_texrender_reset(self.tr)
        if not lib.gs_texrender_begin(self.tr, w, h):
            return False
        ow, oh = ortho or (w, h)
        lib.gs_clear(lo.GS_CLEAR_COLOR, lib.zero_vec4.ptr, 0.0, 0)
        lib.gs_ortho(0.0, float(ow), 0.0, float(oh), -100.0, 100.0)
        lib.gs_blend_state_push()
        lib.gs_enable_blending(False)
        return True

    def end(self) -> None:
        self.lib.gs_blend_state_pop()
        self.lib.gs_texrender_end(self.tr)

    @property
    def texture(self) -> int:
        return self.lib.gs_texrender_get_texture(self.tr)

    def destroy(self) -> None:
        if self.tr:
            self.lib.gs_texrender_destroy(self.tr)
            self.tr = None


class _Effect:
    """A compiled .effect file with its parameters looked up by name."""

    def __init__(self, lib: lo.Libobs, path: str, params: List[str]) -> None:
        self.lib = lib
        err = C.c_void_p()   # libobs bstrdup()s the compiler output: ours to bfree()
        self.ptr = lib.gs_effect_create_from_file(path.encode(), C.byref(err))
        detail = ""
        if err.value:
            try:
                detail = C.string_at(err.value).decode("utf-8", "replace")
            finally:
                lib.bfree(err.value)
        if not self.ptr:
            raise GpuError(f"could not compile {os.path.basename(path)}: {detail or 'no compiler output'}")
        self.p = {name: lib.gs_effect_get_param_by_name(self.ptr, name.encode()) for name in params}

    def destroy(self) -> None:
        if self.ptr:
            self.lib.gs_effect_destroy(self.ptr)
            self.ptr = None


class _Staging:
    """Double-buffered readback of the analysis-size frame: stage this frame into one surface,
    map the one staged last frame, so the CPU never waits for the GPU to finish this frame."""

    def __init__(self, lib: lo.Libobs, w: int, h: int) -> None:
        self.lib = lib
        self.size = (w, h)
        self.surfaces = [lib.gs_stagesurface_create(w, h, lo.GS_RGBA) for _ in range(2)]
        if not all(self.surfaces):
            self.destroy()
            raise GpuError(f"could not create {w}x{h} staging surfaces")
        self.seq: List[Optional[int]] = [None, None]
        self.index = 0

    def stage(self, texture: int, frame_seq: int) -> None:
        i = self.index
        self.lib.gs_stage_texture(self.surfaces[i], texture)
        self.seq[i] = frame_seq
        self.index = i ^ 1

    def map_staged(self, consume: Callable[[int, int, int, int, int], Any]) -> Any:
        """Map the surface staged on the previous frame and call consume(ptr, w, h, linesize,
        frame_seq) while it is mapped (the pointer is invalid after it returns)."""
        i = self.index            # stage() flipped it: this is the older surface
        seq = self.seq[i]
        if seq is None:
            return None
        ptr, linesize = C.c_void_p(), C.c_uint32()
        if not self.lib.gs_stagesurface_map(self.surfaces[i], C.byref(ptr), C.byref(linesize)):
            return None
        try:
            self.seq[i] = None
            return consume(ptr.value, self.size[0], self.size[1], linesize.value, seq)
        finally:
            self.lib.gs_stagesurface_unmap(self.surfaces[i])

    def destroy(self) -> None:
        for s in self.surfaces:
            if s:
                self.lib.gs_stagesurface_destroy(s)
        self.surfaces = []


class GpuRenderer:
    """All GPU work of one FaceFX filter. Create and use on OBS's graphics thread."""

    def __init__(self, lib: lo.Libobs, effects_dir: str = EFFECTS_DIR) -> None:
        self.lib = lib
        self._composite: Optional[_Effect] = None
        self._blur: Optional[_Effect] = None
        self._refine: Optional[_Effect] = None
        self._refine_targets: Dict[str, _Target] = {}
        self._mask_bytes = b""
        self._box_key: Any = None
        self._box: Optional[Tuple[int, int, int, int]] = None
        self._effects_dir = effects_dir
        self._ring: List[_Target] = []
        self._ring_seq: List[Optional[int]] = []
        self._ring_next = 0
        self._small: Optional[_Target] = None
        self._staging: Optional[_Staging] = None
        self._mask_tex: Optional[int] = None
        self._mask_size = (0, 0)
        self._mask_key: Any = None
        self._halves: List[_Target] = []
        self._weight: Optional[_Target] = None
        self._gauss_h: Optional[_Target] = None
        self._blurred: Optional[_Target] = None
        self._image_key: Any = None
        self._image_tex: Optional[int] = None
        self._images: Optional[ImageLoader] = None
        self._bad_image_key: Any = None     # (path, mtime) of a picture that did not load
        self._effect_error = ""             # a shader that did not compile stays failed
        self._image_size = (0, 0)
        self._fit: Optional[_Target] = None
        self._fit_key: Any = None
        self._vec4 = lo.AlignedVec4()
        self._vec2 = lo.Vec2()
        self._painters: Dict[str, Callable[[RenderPlan, int], None]] = {
            "blur": self._paint_blur,
            "image": self._paint_image,
            "color": self._paint_color,
            "transparent": self._paint_transparent,
            "hologram": self._paint_hologram,
        }
        # kind -> painter(plan, item) for RenderPlan.covers, sprites, labels and rings; a kind
        # without a painter is skipped (it must not stop the frame).
        self._overlay_painters: Dict[str, Callable[[RenderPlan, Any], None]] = {
            "Sprite": self._paint_sprite,
            "Cover": self._paint_cover,
            "Label": self._paint_label,
            "Ring": self._paint_ring,
        }
        self._covers: Any = None        # facefx.obs.covers.CoverPainter, made on first use
        self._sprites: Any = None       # facefx.obs.sprites.SpritePainter, made on first use
        self._sprite_effect: Optional[_Effect] = None
        self._labels: Any = None        # facefx.obs.labels.LabelPainter, made on first use
        self._label_effect: Optional[_Effect] = None
        self._rings: Any = None         # facefx.obs.sprites.RingPainter, made on first use
        self._ring_effect: Optional[_Effect] = None
        self._ring_error = ""

    def _paint_ring(self, plan: RenderPlan, item: Any) -> None:
        if self._rings is None:
            from .sprites import RingPainter
            if self._ring_error:        # remembered, as in _effects(): no recompile per frame
                raise GpuError(self._ring_error)
            try:
                self._ring_effect = _Effect(self.lib, os.path.join(self._effects_dir, "ring.effect"),
                                            RingPainter.PARAMS)
            except GpuError as exc:
                self._ring_error = str(exc)
                raise
            self._rings = RingPainter(self.lib, self._ring_effect)
        self._rings.paint(plan, item)

    def _paint_sprite(self, plan: RenderPlan, item: Any) -> None:
        if self._sprites is None:
            from .sprites import SpritePainter
            self._sprite_effect = _Effect(self.lib, os.path.join(self._effects_dir, "sprite.effect"),
                                          ["image", "opacity"])
            self._sprites = SpritePainter(self.lib, self._sprite_effect)
        self._sprites.paint(plan, item)

    # ------------------------------------------------------------------ face privacy
    def _cover_painter(self) -> Any:
        if self._covers is None:
            from .covers import CoverPainter
            self._covers = CoverPainter(self)
        return self._covers

    def _paint_cover(self, plan: RenderPlan, item: Any) -> None:
        self._cover_painter().paint(plan, item)

    def capture_plate(self, frame_tex: int, w: int, h: int) -> bool:
        """Keep a copy of this frame as the privacy plate (GPU copy, no readback)."""
        return self._cover_painter().capture_plate(frame_tex, w, h)

    def take_plate(self) -> Any:
        """Hand the plate over as (render target, size), the caller owning it (destroy() it
        with the graphics context current), or None when there is none."""
        if self._covers is None or self._covers.plate is None:
            return None
        kept = (self._covers.plate, self._covers.plate_size)
        self._covers.plate, self._covers.plate_size = None, (0, 0)
        return kept

    def put_plate(self, kept: Any) -> None:
        """Adopt a plate from take_plate()."""
        painter = self._cover_painter()
        painter.drop_plate()
        painter.plate, painter.plate_size = kept

    @property
    def plate_size(self) -> Tuple[int, int]:
        """The captured plate's size, (0, 0) when none was captured."""
        return self._covers.plate_size if self._covers is not None else (0, 0)

    @property
    def cover_problem(self) -> str:
        """Why a cover last fell back to the colour fill ("" if none), for the status line."""
        return self._covers.problem if self._covers is not None else ""

    def fill(self, w: int, h: int, color: Tuple[int, int, int] = (0, 0, 0)) -> None:
        """Fail closed: the whole output in one colour (OBS's solid effect, no shader of ours)."""
        from ..scene import Cover
        self._cover_painter().fill(Cover(w / 2.0, h / 2.0, float(w), float(h), "rect", "color", color=color))

    def _paint_label(self, plan: RenderPlan, item: Any) -> None:
        if self._labels is None:
            from .labels import LabelPainter
            self._label_effect = _Effect(self.lib, os.path.join(self._effects_dir, "label.effect"),
                                         ["image", "size", "radius", "color", "opacity"])
            self._labels = LabelPainter(self.lib, self._label_effect)
        self._labels.paint(plan, item)

    @property
    def label_problem(self) -> str:
        """Why labels cannot be drawn ("" when they can), for the status line."""
        return self._labels.problem if self._labels is not None else ""

    @property
    def sprite_problem(self) -> str:
        """The last sticker file that could not be read ("" if none), for the status line."""
        return self._sprites.problem if self._sprites is not None else ""

    # ------------------------------------------------------------------ resources
    def _effects(self) -> Tuple[_Effect, _Effect, _Effect]:
        """The compiled effects. A compile failure is remembered: retrying would recompile
        on every frame, on the render thread, with the same result."""
        if self._effect_error:
            raise GpuError(self._effect_error)
        try:
            if self._composite is None:
                self._composite = _Effect(
                    self.lib, os.path.join(self._effects_dir, "composite.effect"),
                    ["image", "mask", "bg", "bg_color", "use_bg", "edge", "size", "tint",
                     "brightness", "ghost_dx", "ghost_alpha", "opacity", "scan_depth",
                     "scan_period", "scan_phase", "refined", "refined_size", "bgest", "box", "refine",
                     "decontam", "alpha_min"])
            if self._blur is None:
                self._blur = _Effect(self.lib, os.path.join(self._effects_dir, "blur.effect"),
                                     ["image", "weight", "size", "radius", "sigma"])
            if self._refine is None:
                self._refine = _Effect(self.lib, os.path.join(self._effects_dir, "refine.effect"),
                                       ["image", "mask", "size", "frame_size", "radius", "eps", "divide",
                                        "frame", "mask_size", "box", "factor"])
        except GpuError as exc:
            self._effect_error = str(exc)
            raise
        return self._composite, self._blur, self._refine

    def close(self) -> None:
        """Free every GPU object. Call with the graphics context current (inside video_render
        or between obs_enter_graphics/obs_leave_graphics). Safe to call twice."""
        lib = self.lib
        for t in self._ring + self._halves + list(self._refine_targets.values()) + [
                self._small, self._weight, self._gauss_h, self._blurred, self._fit]:
            if t is not None:
                t.destroy()
        self._ring, self._ring_seq, self._halves = [], [], []
        self._refine_targets = {}
        self._box_key = None
        self._small = self._weight = self._gauss_h = self._blurred = self._fit = None
        if self._staging is not None:
            self._staging.destroy()
            self._staging = None
        for attr in ("_mask_tex", "_image_tex"):
            tex = getattr(self, attr)
            if tex:
                lib.gs_texture_destroy(tex)
            setattr(self, attr, None)
        self._mask_key = self._image_key = self._fit_key = None
        for eff in (self._composite, self._blur, self._refine):
            if eff is not None:
                eff.destroy()
        self._composite = self._blur = self._refine = None
        images, self._images = self._images, None
        if images is not None:
            images.close()
        sprites, self._sprites = self._sprites, None
        if sprites is not None:
            sprites.close()
        covers, self._covers = self._covers, None
        if covers is not None:
            covers.close()
        labels, self._labels = self._labels, None
        if labels is not None:
            labels.close()
        self._rings = None
        for attr in ("_sprite_effect", "_label_effect", "_ring_effect"):
            eff = getattr(self, attr)
            if eff is not None:
                eff.destroy()
            setattr(self, attr, None)

    # ------------------------------------------------------------------ capture
    def capture(self, source: int, target: int, parent: int, w: int, h: int,
                frame_seq: int, ring_size: int = 1) -> Optional[int]:
        """Render the filter's target (the rest of the filter chain and the source) into the
        next ring slot; returns that slot's texture, or None if it cannot be rendered."""
        lib = self.lib
        ring_size = max(1, min(MAX_RING_FRAMES, ring_size))
        # Resizing keeps the newest frames: new slots go where the next frame is written (so
        # they fill before the oldest frame is overwritten), and shrinking drops the oldest.
        while len(self._ring) < ring_size:
            self._ring.insert(self._ring_next, _Target(lib))
            self._ring_seq.insert(self._ring_next, None)
        while len(self._ring) > ring_size:
            oldest = self._ring_next % len(self._ring)
            self._ring.pop(oldest).destroy()
            self._ring_seq.pop(oldest)
            self._ring_next = oldest
        self._ring_next %= ring_size
        slot = self._ring[self._ring_next]
        # Blending off (_Target.begin): a straight copy, as obs_source_process_filter_begin()
        # makes (ONE, ZERO); the filter sees the source's own pixels, and software renderers
        # take their fast blit path.
        if not slot.begin(w, h):
            return None
        # As obs_source_process_filter_begin() does: a plain synchronous parent (an Image
        # Source) expects an active effect, custom-draw and async parents bring their own.
        flags = lib.obs_source_get_output_flags(parent)
        if target == parent and not flags & (lo.OBS_SOURCE_CUSTOM_DRAW | lo.OBS_SOURCE_ASYNC):
            eff = lib.obs_get_base_effect(lo.OBS_EFFECT_DEFAULT)
            while lib.gs_effect_loop(eff, b"Draw"):
                lib.obs_source_video_render(target)
        else:
            lib.obs_source_video_render(target)
        slot.end()
        self._ring_seq[self._ring_next] = frame_seq
        self._ring_next = (self._ring_next + 1) % ring_size
        return slot.texture

    @property
    def ring_frames(self) -> int:
        """How many recent frames the ring holds now."""
        return len(self._ring)

    def delayed_frame(self, frame_seq: int) -> Tuple[Optional[int], Optional[int]]:
        """The ring texture holding frame_seq, else the oldest one kept: (texture, its seq)."""
        best, best_seq = None, None
        for slot, seq in zip(self._ring, self._ring_seq):
            if seq is None:
                continue
            if seq == frame_seq:
                return slot.texture, seq
            if best_seq is None or seq < best_seq:
                best, best_seq = slot.texture, seq
        return best, best_seq

    # ------------------------------------------------------------------ analysis readback
    def stage_analysis(self, frame_tex: int, w: int, h: int, aw: int, ah: int, frame_seq: int) -> None:
        """Downscale the frame bilinearly on the GPU (what the engine's CPU path does) and
        stage it for readback on the next frame."""
        lib = self.lib
        if self._small is None:
            self._small = _Target(lib)
        if self._staging is None or self._staging.size != (aw, ah):
            if self._staging is not None:
                self._staging.destroy()
            self._staging = _Staging(lib, aw, ah)
        if not self._small.begin(aw, ah, ortho=(w, h)):
            return
        self._draw_default(frame_tex, w, h)
        self._small.end()
        self._staging.stage(self._small.texture, frame_seq)

    def map_staged(self, consume: Callable[[int, int, int, int, int], Any]) -> Any:
        if self._staging is None:
            return None
        return self._staging.map_staged(consume)

    def set_mask(self, key: Any, data: bytes, mw: int, mh: int) -> None:
        """Upload a mask (mw*mh bytes, 255 = person) unless `key` says it is already there."""
        if key == self._mask_key and self._mask_tex:
            return
        if mw < 1 or mh < 1 or len(data) < mw * mh:
            # Before any texture exists: a size that does not match the bytes must not make one.
            raise ValueError(f"mask has {len(data)} bytes, expected {mw}x{mh}={mw * mh}")
        lib = self.lib
        if not self._mask_tex or self._mask_size != (mw, mh):
            if self._mask_tex:
                lib.gs_texture_destroy(self._mask_tex)
            self._mask_tex = lib.gs_texture_create(mw, mh, lo.GS_R8, 1, None, lo.GS_DYNAMIC)
            if not self._mask_tex:
                raise GpuError(f"could not create a {mw}x{mh} mask texture")
            self._mask_size = (mw, mh)
        lib.gs_texture_set_image(self._mask_tex, data, mw, False)
        self._mask_bytes = bytes(data[:mw * mh])
        self._mask_key = key

    # ------------------------------------------------------------------ drawing
    def draw_frame(self, frame_tex: int, w: int, h: int) -> None:
        """Draw the frame unchanged (no mask yet, or nothing to do)."""
        self._draw_default(frame_tex, w, h)

    def draw(self, plan: RenderPlan, frame_tex: int) -> None:
        """Draw `plan` over `frame_tex` into the current render target at plan size."""
        layer = plan.background
        if layer is None or plan.mask is None or not self._mask_tex:
            self.draw_frame(frame_tex, plan.width, plan.height)
        else:
            painter = self._painters.get(layer.mode)
            if painter is None:
                raise GpuError(f"background mode {layer.mode!r} has no GPU painter")
            painter(plan, frame_tex)
        if plan.covers:
            self._cover_painter().begin_frame(frame_tex, plan.width, plan.height)
        for item in tuple(plan.covers) + tuple(plan.sprites) + tuple(plan.labels) + tuple(plan.rings):
            kind = getattr(item, "kind", type(item).__name__)
            paint = self._overlay_painters.get(kind)
            if paint is not None:
                paint(plan, item)

    def _draw_default(self, tex: int, w: int, h: int) -> None:
        lib = self.lib
        eff = lib.obs_get_base_effect(lo.OBS_EFFECT_DEFAULT)
        lib.gs_effect_set_texture(lib.gs_effect_get_param_by_name(eff, b"image"), tex)
        while lib.gs_effect_loop(eff, b"Draw"):
            lib.gs_draw_sprite(tex, 0, w, h)

    def _composite_pass(self, technique: bytes, plan: RenderPlan, frame_tex: int,
                        bg_tex: Optional[int] = None, bg_color=(0, 0, 0),
                        bg_full_size: bool = False) -> None:
        lib = self.lib
        comp = self._effects()[0]
        p = comp.p
        lib.gs_effect_set_texture(p["image"], frame_tex)
        lib.gs_effect_set_texture(p["mask"], self._mask_tex)
        lib.gs_effect_set_texture(p["bg"], bg_tex)
        lib.gs_effect_set_float(p["use_bg"], (2.0 if bg_full_size else 1.0) if bg_tex else 0.0)
        lib.gs_effect_set_vec4(p["bg_color"], self._vec4.set(tuple(bg_color) + (255.0,)).ptr)
        lib.gs_effect_set_vec2(p["edge"], self._vec2.set(*plan.edge).ptr)
        lib.gs_effect_set_vec2(p["size"], self._vec2.set(plan.width, plan.height).ptr)
        self._set_refine_params(plan, frame_tex, p)
        holo = plan.background.hologram if plan.background is not None else None
        if holo is not None:
            lib.gs_effect_set_vec4(p["tint"], self._vec4.set(tuple(holo.tint) + (255.0,)).ptr)
            dx = min(holo.ghost_offset, plan.width - 1)
            for name, value in (("brightness", holo.brightness), ("ghost_dx", dx),
                                ("ghost_alpha", holo.ghost_alpha), ("opacity", holo.opacity),
                                ("scan_depth", holo.scan_depth), ("scan_period", holo.scan_period),
                                ("scan_phase", holo.scan_phase)):
                lib.gs_effect_set_float(p[name], float(value))
        while lib.gs_effect_loop(comp.ptr, technique):
            lib.gs_draw_sprite(frame_tex, 0, plan.width, plan.height)

    # ------------------------------------------------------------------ refinement
    def _set_refine_params(self, plan: RenderPlan, frame_tex: int, p: Dict[str, int]) -> None:
        """Run the refinement passes (when plan.refine) and point the composite at them."""
        lib = self.lib
        refined = self._refine_passes(plan, frame_tex) if plan.refine else None
        on = refined is not None
        decontam = on and refined[1] is not None
        lib.gs_effect_set_float(p["refine"], 1.0 if on else 0.0)
        lib.gs_effect_set_float(p["decontam"], 1.0 if decontam else 0.0)
        lib.gs_effect_set_float(p["alpha_min"], REFINE_ALPHA_MIN)
        lib.gs_effect_set_texture(p["refined"], refined[0] if on else None)
        k = apply_factor(plan.width, plan.height, self._mask_size[0])
        lib.gs_effect_set_vec2(p["refined_size"], self._vec2.set(plan.width // k, plan.height // k).ptr)
        lib.gs_effect_set_texture(p["bgest"], refined[1] if decontam else None)
        y0, y1, x0, x1 = self._box if on and self._box else (0, 0, 0, 0)
        lib.gs_effect_set_vec4(p["box"], self._vec4.set((x0, y0, x1, y1)).ptr)

    def _refine_target(self, name: str, fmt: int = lo.GS_RGBA32F) -> _Target:
        t = self._refine_targets.get(name)
        if t is None:
            t = self._refine_targets[name] = _Target(self.lib, fmt)
        return t

    def _refine_passes(self, plan: RenderPlan, frame_tex: int) -> Optional[Tuple[int, Optional[int]]]:
        """refine.effect at analysis size: (coefficient texture, background estimate or None);
        None when there is no person (the coverage is zero everywhere)."""
        lib = self.lib
        mw, mh = self._mask_size
        key = (self._mask_key, plan.edge[0], plan.width, plan.height)
        if key != self._box_key:
            self._box = person_box(self._mask_bytes, mw, mh, plan.edge[0], plan.width, plan.height,
                                   REFINE_BOX_MARGIN)
            self._box_key = key
        if self._box is None:
            return None
        _, _, eff = self._effects()
        p = eff.p

        def run(target: str, technique: bytes, src: int, radius: float = 0.0, divide: float = 0.0,
                size: Optional[Tuple[int, int]] = None) -> int:
            tw, th = size or (mw, mh)
            t = self._refine_target(target, lo.GS_R8 if size else lo.GS_RGBA32F)
            if not t.begin(tw, th):
                raise GpuError("could not render the edge refinement")
            lib.gs_effect_set_texture(p["image"], src)
            lib.gs_effect_set_texture(p["mask"], self._mask_tex)
            lib.gs_effect_set_vec2(p["size"], self._vec2.set(tw, th).ptr)
            lib.gs_effect_set_vec2(p["frame_size"], self._vec2.set(plan.width, plan.height).ptr)
            lib.gs_effect_set_float(p["radius"], radius)
            lib.gs_effect_set_float(p["eps"], REFINE_EPS)
            lib.gs_effect_set_float(p["divide"], divide)
            while lib.gs_effect_loop(eff.ptr, technique):
                lib.gs_draw_sprite(src, 0, tw, th)
            t.end()
            return t.texture

        r = float(REFINE_RADIUS)
        stats = run("stats", b"Stats", frame_tex)
        means = run("means", b"BoxV", run("h", b"BoxH", stats, r), r)
        coef = run("coef", b"Coef", means)
        ab = run("ab", b"BoxV", run("h", b"BoxH", coef, r), r)
        # The coefficients applied at 1/k of the frame's size (refine.py's EdgeRefiner).
        k = apply_factor(plan.width, plan.height, mw)
        y0, y1, x0, x1 = self._box
        lib.gs_effect_set_texture(p["frame"], frame_tex)
        lib.gs_effect_set_vec2(p["mask_size"], self._vec2.set(mw, mh).ptr)
        lib.gs_effect_set_vec4(p["box"], self._vec4.set((x0 // k, y0 // k, -(-x1 // k), -(-y1 // k))).ptr)
        lib.gs_effect_set_float(p["factor"], float(k))
        level = run("level", b"Apply", ab, size=(plan.width // k, plan.height // k))
        bgest = None
        if plan.background is not None and plan.background.mode != "blur":
            rb = float(REFINE_BG_RADIUS)
            bgest = run("bgest", b"BoxV", run("h", b"BoxH", run("bgstats", b"BgStats", frame_tex), rb),
                        rb, 1.0)
        return level, bgest

    def _paint_color(self, plan: RenderPlan, frame_tex: int) -> None:
        self._composite_pass(b"Composite", plan, frame_tex, None, plan.background.color)

    def _paint_transparent(self, plan: RenderPlan, frame_tex: int) -> None:
        self._composite_pass(b"Transparent", plan, frame_tex)

    def _paint_image(self, plan: RenderPlan, frame_tex: int) -> None:
        bg = self._fitted_image(plan.background.image, plan.width, plan.height)
        if bg is None:   # the picture is still being decoded: the frame as it is meanwhile
            self.draw_frame(frame_tex, plan.width, plan.height)
            return
        self._composite_pass(b"Composite", plan, frame_tex, bg, bg_full_size=True)

    def _paint_hologram(self, plan: RenderPlan, frame_tex: int) -> None:
        layer = plan.background
        bg = self._fitted_image(layer.image, plan.width, plan.height) if layer.image else None
        self._composite_pass(b"Hologram", plan, frame_tex, bg, HOLOGRAM_BACKDROP, bg_full_size=True)

    def _paint_blur(self, plan: RenderPlan, frame_tex: int) -> None:
        geo = plan.background.blur
        if geo is None or geo.sigma_small <= 0:
            self.draw_frame(frame_tex, plan.width, plan.height)
            return
        bg = self._blurred_background(frame_tex, plan.width, plan.height, geo)
        if bg is None:
            self.draw_frame(frame_tex, plan.width, plan.height)
            return
        self._composite_pass(b"Composite", plan, frame_tex, bg)

    # ------------------------------------------------------------------ blur
    def _blurred_background(self, frame_tex: int, w: int, h: int, geo: Any) -> Optional[int]:
        """cpu.CpuRenderer._blurred on the GPU: halve to the small size, weight by the
        background mask (area-resized), separable Gaussian, divide; returns the small texture
        (the composite pass upsamples it bilinearly)."""
        lib = self.lib
        blur = self._effects()[1]
        # 1) chain of exact 2x bilinear halvings (cpu.halve_to)
        tex, cw, ch = frame_tex, w, h
        steps = 0
        factor = geo.downscale
        while factor > 1:
            if len(self._halves) <= steps:
                self._halves.append(_Target(lib))
            nw, nh = max(1, -(-cw // 2)), max(1, -(-ch // 2))
            t = self._halves[steps]
            if not t.begin(nw, nh, ortho=(cw, ch)):
                return None
            self._draw_default(tex, cw, ch)
            t.end()
            tex, cw, ch = t.texture, nw, nh
            steps += 1
            factor //= 2
        sw, sh = cw, ch
        # 2) mask -> small size with area averaging (cv2.INTER_AREA), 8-bit
        if self._weight is None:
            self._weight = _Target(lib)
        mw, mh = self._mask_size
        if not self._weight.begin(sw, sh, ortho=(sw, sh)):
            return None
        if (mw, mh) == (sw, sh):
            self._draw_default(self._mask_tex, sw, sh)
        else:
            self._draw_area(self._mask_tex, (mw, mh), (sw, sh), b"Draw" if sw < mw else b"DrawUpscale")
        self._weight.end()
        # 3) premultiplied Gaussian, horizontal (float target) then vertical + divide
        radius = float((geo.ksize - 1) // 2)
        if self._gauss_h is None:
            self._gauss_h = _Target(lib, lo.GS_RGBA32F)
        if self._blurred is None:
            self._blurred = _Target(lib)
        p = blur.p
        for target, technique, src in ((self._gauss_h, b"GaussH", tex),
                                       (self._blurred, b"GaussV", None)):
            if src is None:
                src = self._gauss_h.texture
            if not target.begin(sw, sh):
                return None
            lib.gs_effect_set_texture(p["image"], src)
            lib.gs_effect_set_texture(p["weight"], self._weight.texture)
            lib.gs_effect_set_vec2(p["size"], self._vec2.set(sw, sh).ptr)
            lib.gs_effect_set_float(p["radius"], radius)
            lib.gs_effect_set_float(p["sigma"], float(geo.sigma_small))
            while lib.gs_effect_loop(blur.ptr, technique):
                lib.gs_draw_sprite(src, 0, sw, sh)
            target.end()
        return self._blurred.texture

    def _draw_area(self, tex: int, src: Tuple[int, int], dst: Tuple[int, int], technique: bytes) -> None:
        """Draw tex at dst size with OBS's area-averaging effect (what cv2.INTER_AREA does)."""
        lib = self.lib
        area = lib.obs_get_base_effect(OBS_EFFECT_AREA)
        lib.gs_effect_set_texture(lib.gs_effect_get_param_by_name(area, b"image"), tex)
        lib.gs_effect_set_vec2(lib.gs_effect_get_param_by_name(area, b"base_dimension"),
                               self._vec2.set(*src).ptr)
        lib.gs_effect_set_vec2(lib.gs_effect_get_param_by_name(area, b"base_dimension_i"),
                               self._vec2.set(1.0 / src[0], 1.0 / src[1]).ptr)
        while lib.gs_effect_loop(area, technique):
            lib.gs_draw_sprite(tex, 0, dst[0], dst[1])

    # ------------------------------------------------------------------ pictures
    def _loader(self) -> ImageLoader:
        if self._images is None:
            self._images = ImageLoader(self.lib)
        return self._images

    def _fitted_image(self, path: str, w: int, h: int) -> Optional[int]:
        """The background picture cover-fitted to w x h (imageio.cover_fit): scaled with area
        averaging when shrinking, bilinear when enlarging, centre-cropped. Cached until the
        file, its modification time or the output size changes. Decoding runs on the loader
        thread (facefx.obs.images): None while it is in progress. A picture that cannot be
        decoded is not tried again until the file changes (OBS logs every failed attempt)."""
        lib = self.lib
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            raise GpuError(f"background image not found: {path}") from None
        key = (path, mtime)
        if self._image_key != key:
            if self._image_tex:
                lib.gs_texture_destroy(self._image_tex)
                self._image_tex = None
            self._image_key = self._fit_key = None
            decoded = False if key == self._bad_image_key else self._loader().get(key)
            if decoded is None:
                return None          # still decoding on the loader thread
            tex = None
            if decoded is not False:
                pixels = C.c_void_p(decoded.ptr)
                tex = lib.gs_texture_create(decoded.width, decoded.height, decoded.fmt, 1,
                                            C.addressof(pixels), 0)
                lib.bfree(decoded.ptr)
            if not tex:
                self._bad_image_key = key
                raise GpuError(f"cannot read background image {path} "
                               "(expected a PNG, JPEG, BMP, WebP, TIFF or GIF picture)")
            self._bad_image_key = None
            self._image_tex = tex
            self._image_size = (lib.gs_texture_get_width(tex), lib.gs_texture_get_height(tex))
            self._image_key = key
        fit_key = (key, w, h)
        if self._fit is not None and self._fit_key == fit_key:
            return self._fit.texture
        iw, ih = self._image_size
        scale = max(w / iw, h / ih)
        nw, nh = max(w, int(round(iw * scale))), max(h, int(round(ih * scale)))
        x0, y0 = (nw - w) // 2, (nh - h) // 2
        if self._fit is None:
            self._fit = _Target(lib)
        if not self._fit.begin(w, h):
            raise GpuError("could not render the background image")
        lib.gs_matrix_push()
        lib.gs_matrix_translate3f(-float(x0), -float(y0), 0.0)
        if scale < 1:
            self._draw_area(self._image_tex, (iw, ih), (nw, nh), b"Draw")
        else:
            self._draw_default(self._image_tex, nw, nh)
        lib.gs_matrix_pop()
        self._fit.end()
        self._fit_key = fit_key
        return self._fit.texture

    # ------------------------------------------------------------------ debugging
    def read_texture(self, tex: int, w: int, h: int) -> Optional[bytes]:
        """Synchronous full readback of an RGBA texture as w*h*4 bytes (test hook; slow)."""
        lib = self.lib
        surf = lib.gs_stagesurface_create(w, h, lo.GS_RGBA)
        if not surf:
            return None
        try:
            lib.gs_stage_texture(surf, tex)
            ptr, linesize = C.c_void_p(), C.c_uint32()
            if not lib.gs_stagesurface_map(surf, C.byref(ptr), C.byref(linesize)):
                return None
            try:
                rows = [C.string_at(ptr.value + y * linesize.value, w * 4) for y in range(h)]
            finally:
                lib.gs_stagesurface_unmap(surf)
            return b"".join(rows)
        finally:
            lib.gs_stagesurface_destroy(surf)
