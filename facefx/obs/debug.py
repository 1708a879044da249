"""Test hooks of the FaceFX filter, honoured only when FACEFX_DEBUG_DIR is set.

Headless-OBS tests cannot look inside OBS, so with FACEFX_DEBUG_DIR set each filter
- writes `<name>.status.json` (counters, status line, worker state) and `<name>.props.json`
  (the properties panel as OBS would show it) there about once a second;
- reads three extra settings: `debug_mask` (a binary PGM used instead of the worker's masks, for
  exact-input GPU tests without ML), `debug_freeze` (stop taking new masks and freeze the
  animation time at `debug_time`) and, when frozen, dumps the exact mask, time, settings and
  input pixels of the frame it draws, so a test can render the same frame on the CPU;
- takes its .effect files from FACEFX_DEBUG_EFFECTS_DIR when that is set too.
Without the variable none of this runs and the keys are ignored.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import props as P

if TYPE_CHECKING:
    from .filter import FilterInstance

K_DEBUG_SPRITES = "debug_sprites"   # JSON list of facefx.scene.Sprite fields drawn every frame
K_DEBUG_RINGS = "debug_rings"       # JSON list of facefx.scene.Ring fields drawn every frame
K_DEBUG_PRESS = "debug_press"       # "button" or "button#n": a new value clicks that panel button
K_DEBUG_COVERS = "debug_covers"     # JSON list of facefx.scene.Cover fields drawn every frame
DEBUG_ENV = "FACEFX_DEBUG_DIR"
EFFECTS_ENV = "FACEFX_DEBUG_EFFECTS_DIR"   # shaders from here instead (compile-failure tests)


class StaticMask:
    """A fixed mask read from a binary PGM (exact-input GPU tests without ML)."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as fh:
            raw = fh.read()
        parts = raw.split(maxsplit=4)
        if len(parts) < 5 or parts[0] != b"P5" or int(parts[3]) != 255:
            raise ValueError(f"{path}: expected a binary 8-bit PGM (P5) mask")
        self.width, self.height = int(parts[1]), int(parts[2])
        self.data = parts[4][: self.width * self.height]
        self.seq = -hash(path) & 0xFFFFFFF
        self.frame_seq = 0
        self.stage_ms: Dict[str, float] = {}


class DebugHooks:
    """One filter's test hooks; inert (every query False/None) when dir is None."""

    def __init__(self, directory: Optional[str]) -> None:
        self.dir = directory
        self.effects_dir = (os.environ.get(EFFECTS_ENV) or None) if directory else None
        self.settings: Dict[str, Any] = {}
        self.static_mask: Optional[StaticMask] = None
        self.sprites: tuple = ()        # fixed plan items (renderer parity tests)
        self.rings: tuple = ()
        self.press = ""                 # the last debug_press token
        self._pressed = ""
        self.covers: tuple = ()
        self.frozen_mask: Any = None
        self.dumped = False
        self._last_write = 0.0

    @classmethod
    def from_env(cls) -> "DebugHooks":
        return cls(os.environ.get(DEBUG_ENV) or None)

    @property
    def enabled(self) -> bool:
        return bool(self.dir)

    @property
    def frozen(self) -> bool:
        return bool(self.settings.get("freeze"))

    @property
    def time(self) -> float:
        return float(self.settings.get("time", 0.0))

    @property
    def mask_path(self) -> Optional[str]:
        return self.settings.get("mask")

    def read(self, lib: Any, data: int) -> str:
        """Read the debug keys from an obs_data_t*; returns a problem to show, or ""."""
        freeze = bool(lib.obs_data_get_bool(data, P.K_DEBUG_FREEZE.encode()))
        mask_path = lib.get_str(data, P.K_DEBUG_MASK)
        self.settings = {"freeze": freeze,
                         "time": float(lib.obs_data_get_double(data, P.K_DEBUG_TIME.encode())),
                         "mask": mask_path}
        if not freeze:
            self.frozen_mask = None
            self.dumped = False
        self.press = lib.get_str(data, K_DEBUG_PRESS)
        from ..scene import Ring, Sprite
        for key, attr, kind in ((K_DEBUG_SPRITES, "sprites", Sprite), (K_DEBUG_RINGS, "rings", Ring)):
            raw = lib.get_str(data, key)
            try:
                setattr(self, attr, tuple(kind(**item) for item in json.loads(raw)) if raw else ())
            except (TypeError, ValueError) as exc:
                setattr(self, attr, ())
                return f"debug {attr}: {exc}"
        raw = lib.get_str(data, K_DEBUG_COVERS)
        try:
            from ..scene import Cover
            self.covers = tuple(Cover(**dict(item, color=tuple(item.get("color", (0, 0, 0)))))
                                for item in json.loads(raw)) if raw else ()
        except (TypeError, ValueError) as exc:
            self.covers = ()
            return f"debug covers: {exc}"
        try:
            self.static_mask = StaticMask(mask_path) if mask_path else None
        except (OSError, ValueError) as exc:
            self.static_mask = None
            return f"debug mask: {exc}"
        return ""

    def tick(self, inst: "FilterInstance", now: float) -> None:
        if self.dir and self.press and self.press != self._pressed:
            self._pressed = self.press
            self.click(inst, self.press.split("#", 1)[0])
        if self.dir and now - self._last_write >= 1.0:
            self._last_write = now
            self.write_status(inst)
            self.write_properties(inst)

    def dump(self, inst: "FilterInstance", plan: Any, frame_tex: int, w: int, h: int,
             shown_seq: int) -> None:
        """Write the exact inputs of the frozen frame (mask, time, settings, input pixels) so a
        test can render the same frame with the CPU renderer."""
        mask = plan.mask
        pixels = inst.renderer.read_texture(frame_tex, w, h) if inst.renderer else None
        if mask is None or pixels is None:
            return
        self.dumped = True
        base = os.path.join(self.dir, inst.name())
        with open(base + ".mask", "wb") as fh:
            fh.write(bytes(mask.data[: mask.width * mask.height]))
        with open(base + ".frame", "wb") as fh:
            fh.write(pixels)
        cfg = inst.config
        info = {"width": w, "height": h, "time": plan.time, "mask_size": [mask.width, mask.height],
                "mask_seq": mask.seq, "mask_frame_seq": mask.frame_seq, "shown_frame_seq": shown_seq,
                "frame_seq": inst.frame_seq, "ring_frames": inst.renderer.ring_frames,
                "keep_in_sync": bool(cfg and cfg.keep_in_sync),
                "sprites": [dataclasses.asdict(sp) for sp in plan.sprites],
                "rings": [dataclasses.asdict(r) for r in plan.rings],
                "settings": cfg.settings.to_dict() if cfg else None}
        tmp = base + ".json.tmp"
        with open(tmp, "w") as fh:
            json.dump(info, fh)
        os.replace(tmp, base + ".json")

    def click(self, inst: "FilterInstance", name: str) -> bool:
        """Click a button of the filter's panel the way OBS's properties view does
        (obs_property_button_clicked: the registered callback with the filter's data), so a
        test reaches the real button path without a mouse."""
        import ctypes as C
        lib = inst.lib
        fn = lib.obs_lib.obs_property_button_clicked
        fn.argtypes, fn.restype = [C.c_void_p, C.c_void_p], C.c_bool
        props = inst.properties()
        try:
            prop = lib.obs_properties_get(props, name.encode())
            return bool(prop) and bool(fn(prop, inst.source))
        finally:
            lib.obs_properties_destroy(props)

    def write_properties(self, inst: "FilterInstance") -> None:
        """Build the properties panel as OBS does, fire the mode list's modified callback,
        and write what the panel would show (the panel is otherwise only built when a user
        opens it)."""
        lib = inst.lib
        props = inst.properties()
        try:
            data = lib.obs_source_get_settings(inst.source)
            try:
                mode = lib.obs_properties_get(props, P.K_BG_MODE.encode())
                if mode:
                    lib.obs_property_modified(mode, data)
            finally:
                lib.obs_data_release(data)
            info = P.describe(lib, props)
        finally:
            lib.obs_properties_destroy(props)
        path = os.path.join(self.dir, inst.name() + ".props.json")
        with open(path + ".tmp", "w") as fh:
            json.dump(info, fh)
        os.replace(path + ".tmp", path)

    def write_status(self, inst: "FilterInstance") -> None:
        client = inst.plugin.client
        st = client.status() if client is not None else None
        info = {
            "name": inst.name(), "frames_drawn": inst.frames_drawn, "frames_passed": inst.frames_passed,
            "frame_seq": inst.frame_seq, "results": len(inst.history),
            "result_seq": inst.history[-1].seq if inst.history else None,
            "delay": inst.delay, "error": inst.error or inst.gpu_error, "status": inst.status()[0],
            "privacy_reason": inst.privacy_reason, "privacy_notice": inst.privacy_notice,
            "analysis": inst.channel.stats() if inst.channel is not None else None,
            "worker": None if st is None else {"state": st.state, "pid": st.pid, "restarts": st.restarts},
            "heavy_modules": sorted(m for m in ("numpy", "cv2", "mediapipe") if m in sys.modules),
            "time": time.time(),
        }
        path = os.path.join(self.dir, inst.name() + ".status.json")
        try:
            with open(path + ".tmp", "w") as fh:
                json.dump(info, fh)
            os.replace(path + ".tmp", path)
        except OSError:
            pass
