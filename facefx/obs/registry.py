"""Registers the FaceFX filter type with libobs exactly once per OBS process.

libobs can never unregister a source type, and registering an id twice fails, yet OBS users
reload and remove scripts at will. So the type is registered once with small, stable
trampolines that look up the *current* implementation at call time. Their state lives in a
holder module kept in sys.modules (`_facefx_obs_runtime`), which survives script reloads even
when every `facefx` module is purged and imported again:

    holder.impl      the loaded script's Plugin, or None while the script is unloaded
    holder.sources   filter id -> obs_source_t* for every live FaceFX filter
    holder.keep      CFUNCTYPE objects and buffers libobs points to (never freed)
    holder.hotkeys   filter id -> hotkey ids registered for it (see unregister_hotkeys)

While no implementation is loaded the trampolines make filters pass video through, so a
scene keeps working after the script is removed - except a filter whose saved settings have
face privacy on: it draws nothing (the source disappears) rather than show a face while the
script reloads or is gone. Exceptions never propagate into libobs (a
ctypes callback can only print them): each trampoline logs them and falls back safely.

The implementation object must provide: create(fid, source), destroy(fid), update(fid, data),
defaults(data), properties(fid) -> obs_properties_t* or None, tick(fid, seconds),
render(fid), activate(fid), deactivate(fid), filter_remove(fid), hotkey(fid, index, pressed), button(fid, name) -> bool,
modified(fid, name, props, data) -> bool.
"""
from __future__ import annotations

import ctypes as C
import sys
import traceback
import types
from typing import Any

from . import libobs as lo

FILTER_ID = "facefx_filter"
FILTER_NAME = "FaceFX"
HOLDER_KEY = "_facefx_obs_runtime"
HOTKEY_SHIFT = 8   # hotkey data = (filter id << HOTKEY_SHIFT) | hotkey index
PRIVACY_KEY = b"privacy"   # facefx.obs.props.K_PRIVACY: the Face privacy group's on/off


def holder() -> Any:
    """The state holder module, created on first use."""
    st = sys.modules.get(HOLDER_KEY)
    if st is None:
        st = types.ModuleType(HOLDER_KEY)
        st.__doc__ = "FaceFX OBS runtime state that must survive script reloads."
        st.registered = False
        st.impl = None
        st.sources = {}
        st.next_id = 1
        st.keep = []
        st.callbacks = {}
        sys.modules[HOLDER_KEY] = st
    if not hasattr(st, "hotkeys"):   # a holder made by an older copy of this module
        st.hotkeys = {}
    return st


def unregister_hotkeys(fid: int) -> None:
    """Drop the filter's hotkeys. The trampolines call this when a filter is removed or
    destroyed, whether or not a script is loaded: the hotkeys live on the parent source, which
    outlives the filter, so they would otherwise stay in OBS's hotkey settings."""
    ids = holder().hotkeys.pop(fid, ())
    if ids:
        unregister = lo.libobs().obs_hotkey_unregister
        for hotkey_id in ids:
            unregister(hotkey_id)


def register_filter() -> bool:
    """Register `facefx_filter` once per process; returns True if this call registered it."""
    st = holder()
    if st.registered:
        return False
    lib = lo.libobs()
    log, skip = lib.log, lib.obs_source_skip_video_filter

    def report(where: str) -> None:
        try:
            log(lo.LOG_ERROR, "%s failed: %s" % (where, traceback.format_exc().rstrip()))
        except Exception:  # logging must never raise into libobs
            pass

    def call(name: str, *args: Any, default: Any = None) -> Any:
        impl = st.impl
        if impl is None:
            return default
        try:
            return getattr(impl, name)(*args)
        except Exception:
            report(name)
            return default

    def get_name(type_data):
        return C.addressof(st.name_buf)

    def create(settings, source):
        fid = st.next_id
        st.next_id += 1
        st.sources[fid] = source
        call("create", fid, source)
        return fid

    def forget_hotkeys(fid):
        try:
            unregister_hotkeys(fid)
        except Exception:
            report("unregistering hotkeys")

    def destroy(data):
        forget_hotkeys(data)
        if st.sources.pop(data, None) is not None:
            call("destroy", data)

    def get_defaults(settings):
        call("defaults", settings)

    def get_properties(data):
        return call("properties", data)

    def update(data, settings):
        call("update", data, settings)

    def video_tick(data, seconds):
        call("tick", data, seconds)

    def privacy_on(source) -> bool:
        settings = lib.obs_source_get_settings(source)
        if not settings:
            return False
        try:
            return bool(lib.obs_data_get_bool(settings, PRIVACY_KEY))
        finally:
            lib.obs_data_release(settings)

    def video_render(data, effect):
        source = st.sources.get(data)
        if source is None:
            return
        impl = st.impl
        if impl is None:
            try:
                if privacy_on(source):
                    return      # fail closed: no picture rather than a bare face
            except Exception:
                report("video_render")
                return
            skip(source)
            return
        try:
            impl.render(data)
        except Exception:
            report("video_render")
            try:
                skip(source)
            except Exception:
                pass

    def activate(data):
        call("activate", data)

    def deactivate(data):
        call("deactivate", data)

    def filter_remove(data, parent):
        forget_hotkeys(data)
        call("filter_remove", data)

    def hotkey(data, hotkey_id, hotkey_ptr, pressed):
        data = data or 0
        call("hotkey", data >> HOTKEY_SHIFT, data & ((1 << HOTKEY_SHIFT) - 1), bool(pressed))

    def button(props, prop, data):
        return bool(call("button", data, prop, default=False))

    def modified(data, props, prop, settings):
        return bool(call("modified", data, props, prop, settings, default=False))

    cbs = {
        "get_name": lo.CB_GET_NAME(get_name),
        "create": lo.CB_CREATE(create),
        "destroy": lo.CB_DATA(destroy),
        "get_defaults": lo.CB_DATA(get_defaults),
        "get_properties": lo.CB_GET_PROPERTIES(get_properties),
        "update": lo.CB_DATA_PTR(update),
        "video_tick": lo.CB_TICK(video_tick),
        "video_render": lo.CB_DATA_PTR(video_render),
        "filter_remove": lo.CB_DATA_PTR(filter_remove),
        "activate": lo.CB_DATA(activate),
        "deactivate": lo.CB_DATA(deactivate),
    }
    extra = {
        "hotkey": lo.CB_HOTKEY(hotkey),
        "button": lo.CB_BUTTON(button),
        "modified": lo.CB_MODIFIED2(modified),
    }
    st.name_buf = C.create_string_buffer(FILTER_NAME.encode())
    st.id_buf = C.create_string_buffer(FILTER_ID.encode())
    info = lo.obs_source_info()
    info.id = C.cast(st.id_buf, C.c_char_p)
    info.type = lo.OBS_SOURCE_TYPE_FILTER
    info.output_flags = lo.OBS_SOURCE_VIDEO
    for key, fn in cbs.items():
        setattr(info, key, C.cast(fn, C.c_void_p))
    # Stable C pointers for per-instance callbacks (hotkeys, buttons, modified callbacks).
    st.callbacks = {k: C.cast(fn, C.c_void_p).value for k, fn in extra.items()}
    st.keep += list(cbs.values()) + list(extra.values()) + [info]
    lib.obs_register_source_s(C.byref(info), C.sizeof(info))
    st.registered = True
    log(lo.LOG_INFO, "registered filter type %s" % FILTER_ID)
    return True
