"""ctypes bindings to the parts of libobs the FaceFX filter uses.

OBS's Python module (obspython) cannot register sources or filters: `obs_source_info` and
`obs_register_source_s` are hidden from it. FaceFX therefore talks to libobs directly through
ctypes, with raw pointers everywhere, so no SWIG object ever has to be converted.

Standard library only. Importing this module outside OBS works as long as a libobs can be
loaded (the unit tests do that); nothing here calls into OBS at import time.

Two handles to the same library are used:
- `obs` (ctypes.CDLL) releases the GIL around each call. Anything that can wait on a lock that
  another Python thread may hold while it waits for the GIL (obs_enter_graphics, source
  rendering, updates) must go through it.
- `gs` (ctypes.PyDLL) keeps the GIL for the call. Used only for graphics calls made on OBS's
  graphics thread, which never block on another thread: with CDLL every one of ~40 calls per
  frame would re-take the GIL and could wait a full switch interval (5 ms) behind any busy
  Python thread in OBS's process.
"""
from __future__ import annotations

import ctypes as C
import os
import sys
from typing import Any, List, Optional

vp, u32, i32, f32, cbool, cstr = C.c_void_p, C.c_uint32, C.c_int, C.c_float, C.c_bool, C.c_char_p
u64, i64, size_t = C.c_uint64, C.c_longlong, C.c_size_t


class LibobsNotFound(OSError):
    """libobs could not be located in this process."""


def libobs_candidates(platform: Optional[str] = None) -> List[Optional[str]]:
    """Names to try, in order, for the libobs already loaded into OBS's process.

    None means "the process itself" (dlopen(NULL)): on Linux and macOS the OBS executable links
    libobs, so its symbols are visible there whatever the install layout (distro package,
    Flatpak, the macOS app bundle's Frameworks folder). FACEFX_LIBOBS overrides everything.
    """
    platform = platform or sys.platform
    names: List[Optional[str]] = []
    override = os.environ.get("FACEFX_LIBOBS")
    if override:
        names.append(override)
    if platform.startswith("win"):
        names += ["obs.dll", "obs"]
    elif platform == "darwin":
        names += [None, "@rpath/libobs.framework/libobs", "libobs.framework/libobs", "libobs.dylib"]
    else:
        names += [None, "libobs.so.0", "libobs.so"]
    return names


def load_libobs(kind: type = C.CDLL) -> C.CDLL:
    """Open libobs with the given ctypes loader; raises LibobsNotFound naming what was tried."""
    tried = []
    for name in libobs_candidates():
        try:
            lib = kind(name)
        except OSError as exc:
            tried.append(f"{name or '<process>'}: {exc}")
            continue
        if hasattr(lib, "obs_register_source_s"):
            return lib
        tried.append(f"{name or '<process>'}: no obs_register_source_s")
    raise LibobsNotFound("libobs not found in this process (tried " + "; ".join(tried) + ")")


# ---------------------------------------------------------------------------- constants
# Values of libobs 29's enums (graphics.h, obs-source.h, obs-properties.h). They are part of
# libobs' ABI and have not changed since OBS 28.
LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG = 100, 200, 300, 400
GS_R8, GS_RGBA, GS_RGBA32F = 2, 3, 10
GS_DYNAMIC = 2
GS_ZS_NONE = 0
GS_CLEAR_COLOR = 1
OBS_SOURCE_TYPE_FILTER = 1
OBS_SOURCE_VIDEO, OBS_SOURCE_ASYNC, OBS_SOURCE_CUSTOM_DRAW = 1, 4, 8
OBS_EFFECT_DEFAULT = 0
OBS_COMBO_TYPE_LIST = 2
OBS_COMBO_FORMAT_STRING = 3
OBS_PATH_FILE = 0
OBS_TEXT_INFO = 3
OBS_TEXT_INFO_NORMAL, OBS_TEXT_INFO_WARNING, OBS_TEXT_INFO_ERROR = 0, 1, 2
OBS_GROUP_NORMAL, OBS_GROUP_CHECKABLE = 1, 2


# ---------------------------------------------------------------------------- structs
FP = vp  # callbacks are stored as plain pointers


class obs_source_info(C.Structure):
    """Prefix of `struct obs_source_info` (libobs/obs-source.h, OBS 29).

    obs_register_source_s() copies the size it is given and zero-fills the rest, and fields are
    only ever appended, so this prefix stays valid on newer OBS versions."""

    _fields_ = [
        ("id", cstr), ("type", i32), ("output_flags", u32),
        ("get_name", FP), ("create", FP), ("destroy", FP), ("get_width", FP), ("get_height", FP),
        ("get_defaults", FP), ("get_properties", FP), ("update", FP), ("activate", FP),
        ("deactivate", FP), ("show", FP), ("hide", FP), ("video_tick", FP), ("video_render", FP),
        ("filter_video", FP), ("filter_audio", FP), ("enum_active_sources", FP), ("save", FP),
        ("load", FP), ("mouse_click", FP), ("mouse_move", FP), ("mouse_wheel", FP), ("focus", FP),
        ("key_click", FP), ("filter_remove", FP), ("type_data", vp), ("free_type_data", FP),
        ("audio_render", FP), ("enum_all_sources", FP), ("transition_start", FP),
        ("transition_stop", FP), ("get_defaults2", FP), ("get_properties2", FP), ("audio_mix", FP),
        ("icon_type", i32), ("media_play_pause", FP), ("media_restart", FP), ("media_stop", FP),
        ("media_next", FP), ("media_previous", FP), ("media_get_duration", FP),
        ("media_get_time", FP), ("media_set_time", FP), ("media_get_state", FP),
        ("version", u32), ("unversioned_id", cstr), ("missing_files", FP),
        ("video_get_color_space", FP),
    ]


# Callback signatures (all pointers as c_void_p; data pointers are our small integer ids).
CB_GET_NAME = C.CFUNCTYPE(vp, vp)
CB_CREATE = C.CFUNCTYPE(vp, vp, vp)
CB_DATA = C.CFUNCTYPE(None, vp)
CB_DATA_PTR = C.CFUNCTYPE(None, vp, vp)
CB_GET_PROPERTIES = C.CFUNCTYPE(vp, vp)
CB_TICK = C.CFUNCTYPE(None, vp, f32)
CB_HOTKEY = C.CFUNCTYPE(None, vp, size_t, vp, cbool)
CB_BUTTON = C.CFUNCTYPE(cbool, vp, vp, vp)
CB_MODIFIED2 = C.CFUNCTYPE(cbool, vp, vp, vp, vp)


class AlignedVec4:
    """A `struct vec4` (16-byte aligned, libobs uses SSE on it) reusable across calls."""

    def __init__(self, values=(0.0, 0.0, 0.0, 0.0)) -> None:
        self._raw = (C.c_float * 8)()
        off = (-C.addressof(self._raw)) % 16
        self._floats = (C.c_float * 4).from_address(C.addressof(self._raw) + off)
        self.ptr = C.addressof(self._floats)
        self.set(values)

    def set(self, values) -> "AlignedVec4":
        for i, v in enumerate(values):
            self._floats[i] = float(v)
        return self


class Vec2:
    """A `struct vec2` (two floats, no alignment requirement)."""

    def __init__(self) -> None:
        self._floats = (C.c_float * 2)()
        self.ptr = C.addressof(self._floats)

    def set(self, x: float, y: float) -> "Vec2":
        self._floats[0], self._floats[1] = float(x), float(y)
        return self


# ---------------------------------------------------------------------------- functions
_OBS_FUNCS = {
    "obs_register_source_s": (None, vp, size_t),
    "obs_enter_graphics": (None,),
    "obs_leave_graphics": (None,),
    "obs_filter_get_target": (vp, vp),
    "obs_filter_get_parent": (vp, vp),
    "obs_source_get_base_width": (u32, vp),
    "obs_source_get_base_height": (u32, vp),
    "obs_source_get_output_flags": (u32, vp),
    "obs_source_video_render": (None, vp),
    "obs_source_skip_video_filter": (None, vp),
    "obs_source_get_name": (cstr, vp),
    "obs_source_get_settings": (vp, vp),
    "obs_source_update": (None, vp, vp),
    "obs_source_update_properties": (None, vp),
    "obs_get_video_frame_time": (u64,),
    "obs_get_frame_interval_ns": (u64,),
    "obs_data_create": (vp,),
    "obs_data_release": (None, vp),
    "obs_data_get_string": (cstr, vp, cstr),
    "obs_data_get_int": (i64, vp, cstr),
    "obs_data_get_double": (C.c_double, vp, cstr),
    "obs_data_set_default_double": (None, vp, cstr, C.c_double),
    "obs_properties_add_float_slider": (vp, vp, cstr, cstr, C.c_double, C.c_double, C.c_double),
    "obs_property_float_set_suffix": (None, vp, cstr),
    "obs_data_get_bool": (cbool, vp, cstr),
    "obs_data_set_bool": (None, vp, cstr, cbool),
    "obs_data_set_default_string": (None, vp, cstr, cstr),
    "obs_data_set_default_int": (None, vp, cstr, i64),
    "obs_data_set_default_bool": (None, vp, cstr, cbool),
    "obs_properties_create": (vp,),
    "obs_properties_add_group": (vp, vp, cstr, cstr, i32, vp),
    "obs_properties_add_list": (vp, vp, cstr, cstr, i32, i32),
    "obs_property_list_add_string": (size_t, vp, cstr, cstr),
    "obs_properties_add_int_slider": (vp, vp, cstr, cstr, i32, i32, i32),
    "obs_property_int_set_suffix": (None, vp, cstr),
    "obs_properties_add_bool": (vp, vp, cstr, cstr),
    "obs_properties_add_path": (vp, vp, cstr, cstr, i32, cstr, cstr),
    "obs_properties_add_color": (vp, vp, cstr, cstr),
    "obs_properties_add_text": (vp, vp, cstr, cstr, i32),
    "obs_properties_add_button": (vp, vp, cstr, cstr, vp),
    "obs_properties_get": (vp, vp, cstr),
    "obs_property_set_visible": (None, vp, cbool),
    "obs_property_set_long_description": (None, vp, cstr),
    "obs_property_text_set_info_type": (None, vp, i32),
    "obs_property_text_set_info_word_wrap": (None, vp, cbool),
    "obs_property_set_modified_callback2": (None, vp, vp, vp),
    "obs_properties_destroy": (None, vp),
    "obs_properties_first": (vp, vp),
    "obs_property_next": (cbool, C.POINTER(vp)),
    "obs_property_name": (cstr, vp),
    "obs_property_description": (cstr, vp),
    "obs_property_visible": (cbool, vp),
    "obs_property_group_content": (vp, vp),
    "obs_property_modified": (cbool, vp, vp),
    "obs_hotkey_register_source": (size_t, vp, cstr, cstr, vp, vp),
    "obs_hotkey_unregister": (None, size_t),
    "obs_get_base_effect": (vp, i32),
    "bfree": (None, vp),
    "gs_create_texture_file_data": (vp, cstr, C.POINTER(i32), C.POINTER(u32), C.POINTER(u32)),
}

# Variadic functions: only the fixed arguments are declared. ctypes then prepares a variadic
# call (ffi_prep_cif_var) for the extra ones; on Apple Silicon variadic arguments go on the
# stack, not in registers, so a call without declared fixed arguments passes garbage.
_VARIADIC_FUNCS = {
    "blog": (None, i32, cstr),      # void blog(int log_level, const char *format, ...)
}

_GS_FUNCS = {
    "gs_texrender_create": (vp, i32, i32),
    "gs_texrender_destroy": (None, vp),
    "gs_texrender_reset": (None, vp),
    "gs_texrender_begin": (cbool, vp, u32, u32),
    "gs_texrender_end": (None, vp),
    "gs_texrender_get_texture": (vp, vp),
    "gs_stagesurface_create": (vp, u32, u32, i32),
    "gs_stagesurface_destroy": (None, vp),
    "gs_stage_texture": (None, vp, vp),
    "gs_stagesurface_map": (cbool, vp, C.POINTER(vp), C.POINTER(u32)),
    "gs_stagesurface_unmap": (None, vp),
    "gs_texture_create": (vp, u32, u32, i32, u32, vp, u32),   # levels, const uint8_t **data, flags
    "gs_texture_create_from_file": (vp, cstr),
    "gs_texture_destroy": (None, vp),
    "gs_texture_set_image": (None, vp, vp, u32, cbool),
    "gs_texture_get_width": (u32, vp),
    "gs_texture_get_height": (u32, vp),
    "gs_effect_create_from_file": (vp, cstr, C.POINTER(vp)),
    "gs_effect_destroy": (None, vp),
    "gs_effect_get_param_by_name": (vp, vp, cstr),
    "gs_effect_set_texture": (None, vp, vp),
    "gs_effect_set_float": (None, vp, f32),
    "gs_effect_set_vec2": (None, vp, vp),
    "gs_effect_set_vec4": (None, vp, vp),
    "gs_effect_loop": (cbool, vp, cstr),
    "gs_draw_sprite": (None, vp, u32, u32, u32),
    "gs_clear": (None, u32, vp, f32, C.c_uint8),
    "gs_ortho": (None, f32, f32, f32, f32, f32, f32),
    "gs_blend_state_push": (None,),
    "gs_blend_state_pop": (None,),
    "gs_enable_blending": (None, cbool),
    "gs_matrix_push": (None,),
    "gs_matrix_pop": (None,),
    "gs_matrix_translate3f": (None, f32, f32, f32),
    "gs_matrix_rotaa4f": (None, f32, f32, f32, f32),   # axis x, y, z, angle in radians
    "gs_blend_function": (None, i32, i32),             # enum gs_blend_type src, dest
}


class Libobs:
    """Typed libobs functions as attributes: `lib.gs_draw_sprite(tex, 0, w, h)`."""

    def __init__(self) -> None:
        self.obs_lib = load_libobs(C.CDLL)
        try:
            self.gs_lib = load_libobs(C.PyDLL)
        except LibobsNotFound:
            self.gs_lib = self.obs_lib
        for table, lib in ((_OBS_FUNCS, self.obs_lib), (_GS_FUNCS, self.gs_lib)):
            for name, sig in table.items():
                fn = getattr(lib, name)
                fn.restype = sig[0]
                fn.argtypes = list(sig[1:])
                setattr(self, name, fn)
        for name, sig in _VARIADIC_FUNCS.items():
            fn = getattr(self.obs_lib, name)
            fn.restype = sig[0]
            fn.argtypes = list(sig[1:])
        self._blog = self.obs_lib.blog
        self.zero_vec4 = AlignedVec4()

    def log(self, level: int, message: str) -> None:
        self._blog(level, b"[FaceFX] %s", C.c_char_p(message.encode("utf-8", "replace")))

    def get_str(self, data: int, key: str) -> str:
        v = self.obs_data_get_string(data, key.encode())
        return v.decode("utf-8", "replace") if v else ""

    def get_typed(self, data: int, key: str, default: Any) -> Any:
        """The value of `key` in an obs_data_t*, read as the type of its default (bool, int,
        else string): the one reading of the panel's keys."""
        k = key.encode()
        if isinstance(default, bool):
            return bool(self.obs_data_get_bool(data, k))
        if isinstance(default, int):
            return int(self.obs_data_get_int(data, k))
        return self.get_str(data, key)

    def set_default_typed(self, data: int, key: str, default: Any) -> None:
        """Set `key`'s default in an obs_data_t*, by the default's type (bool, int, else string)."""
        k = key.encode()
        if isinstance(default, bool):
            self.obs_data_set_default_bool(data, k, default)
        elif isinstance(default, int):
            self.obs_data_set_default_int(data, k, default)
        else:
            self.obs_data_set_default_string(data, k, str(default).encode())


_instance: Optional[Libobs] = None


def libobs() -> Libobs:
    """The process-wide bindings (created on first use)."""
    global _instance
    if _instance is None:
        _instance = Libobs()
    return _instance

