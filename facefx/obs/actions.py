"""Gesture actions in OBS: a fired gesture switches a scene, toggles a source, starts or stops
recording, or runs a hotkey.

Why a module of its own: the trigger bank (facefx.triggers) already decides *when* a gesture
fires (hold, hysteresis, cooldown), the same decision that shows a sticker; this module only
decides *what OBS does* about it. The filter hands every Fired event to `on_fired(filter, fired)`.

OBS's frontend calls (scene switching, recording) must run on its UI thread, and the Fired
events arrive on the video thread. Each action is therefore queued with
`obs_queue_task(OBS_TASK_UI, ...)` and never waited for; the C callback is one module-level
CFUNCTYPE object that lives as long as the module, so OBS can never call a freed trampoline.

An action naming a scene, source or hotkey that does not exist is not an error that stops
anything: `ActionRunner.error` holds one message naming it for the status line, and the other
actions keep working.

Standard library only, like all of facefx.obs.
"""
from __future__ import annotations

import ctypes as C
import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ..settings import BUILTIN_GESTURES, SettingsError

__all__ = ["ACTION_KINDS", "RECORD_MODES", "GestureAction", "ActionRunner", "ObsPerformer",
           "actions_from_values", "action_key", "target_key", "on_fired"]

# (value stored in the filter's data, label in the panel)
ACTION_KINDS = (("none", "Nothing"), ("scene", "Switch to scene"), ("source", "Toggle source visibility"),
                ("record", "Recording"), ("hotkey", "Run OBS hotkey"))
RECORD_MODES = (("toggle", "Start/stop (toggle)"), ("start", "Start recording"), ("stop", "Stop recording"))
_KINDS = tuple(k for k, _ in ACTION_KINDS)
_RECORD = tuple(m for m, _ in RECORD_MODES)

OBS_TASK_UI = 0
_TASK_FUNC = C.CFUNCTYPE(None, C.c_void_p)
_HOTKEY_ENUM_FUNC = C.CFUNCTYPE(C.c_bool, C.c_void_p, C.c_size_t, C.c_void_p)


def action_key(gesture: str) -> str:
    """The filter-data key holding the action kind for this gesture."""
    return f"action_{gesture}"


def target_key(gesture: str) -> str:
    """The filter-data key holding the action's target (scene, source, hotkey name or record mode)."""
    return f"action_{gesture}_target"


@dataclass(frozen=True)
class GestureAction:
    """What OBS does when `gesture` fires.

    kind: one of ACTION_KINDS' values. target: the scene or source name, the hotkey's internal
    name (as obs_hotkey_get_name reports it, e.g. "OBSBasic.StartRecording"), or for "record"
    one of RECORD_MODES' values.

    Raises:
        SettingsError: an unknown kind, a missing target, or an unknown record mode.
    """

    gesture: str
    kind: str
    target: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise SettingsError(f"gesture action for {self.gesture!r} must be one of {', '.join(_KINDS)}, "
                                f"got {self.kind!r}")
        if not isinstance(self.target, str):
            raise SettingsError(f"gesture action target for {self.gesture!r} must be text, got {self.target!r}")
        if self.kind == "record":
            if self.target == "":
                object.__setattr__(self, "target", "toggle")
            elif self.target not in _RECORD:
                raise SettingsError(f"recording action for {self.gesture!r} must be one of "
                                    f"{', '.join(_RECORD)}, got {self.target!r}")
        elif self.kind != "none" and not self.target.strip():
            raise SettingsError(f"gesture action {self.kind!r} for {self.gesture!r} needs a "
                                f"{'scene' if self.kind == 'scene' else self.kind} name, got nothing")


def actions_from_values(values: Mapping[str, Any],
                        gestures: Iterable[str] = BUILTIN_GESTURES) -> Tuple[Dict[str, GestureAction], List[str]]:
    """The actions set in the filter's flat data, and one message per invalid entry.

    A bad entry is reported and left out instead of failing the whole panel: the other gestures'
    actions keep working while the user fixes one.
    """
    actions: Dict[str, GestureAction] = {}
    problems: List[str] = []
    for g in gestures:
        kind = values.get(action_key(g), "none") or "none"
        if kind == "none":
            continue
        try:
            actions[g] = GestureAction(g, kind, values.get(target_key(g), "") or "")
        except SettingsError as e:
            problems.append(str(e))
    return actions, problems


class ActionRunner:
    """Maps Fired events to actions and performs them on OBS's UI thread.

    performer: has switch_scene(name), toggle_source(name), recording(mode), hotkey(name), each
    returning "" on success or a message saying what was missing. schedule: runs a callable on
    the UI thread (ObsPerformer.queue_ui in OBS; tests pass one that runs it at once).
    """

    def __init__(self, performer: Any, schedule: Callable[[Callable[[], None]], None]) -> None:
        self._performer = performer
        self._schedule = schedule
        self._lock = threading.Lock()
        self._actions: Dict[str, GestureAction] = {}
        self._problems: List[str] = []
        self._last_error = ""
        self.performed: List[Tuple[str, str, str]] = []   # (gesture, kind, target), newest last
        self.debug_fired = ""
        self.debug_taught = ""
        self.teach_error = ""      # a teach request that could not be sent (status line)

    @property
    def performer(self) -> Any:
        """What performs the actions (ObsPerformer in OBS; its hotkey names fill the panel)."""
        return self._performer

    def configure(self, values: Mapping[str, Any], gestures: Iterable[str] = BUILTIN_GESTURES) -> None:
        actions, problems = actions_from_values(values, gestures)
        with self._lock:
            self._actions, self._problems, self._last_error = actions, problems, ""

    @property
    def error(self) -> str:
        """One status-line message, or "" when every action is valid and the last one worked."""
        with self._lock:
            return "; ".join(self._problems + ([self._last_error] if self._last_error else []))

    def action(self, gesture: str) -> Optional[GestureAction]:
        with self._lock:
            return self._actions.get(gesture)

    def fired(self, fired: Any) -> bool:
        """Queue the action for this Fired event; True when one was queued. Never blocks."""
        act = self.action(fired.name)
        if act is None:
            return False
        self._schedule(lambda: self._perform(act))
        return True

    def _perform(self, act: GestureAction) -> None:
        p = self._performer
        try:
            if act.kind == "scene":
                msg = p.switch_scene(act.target)
            elif act.kind == "source":
                msg = p.toggle_source(act.target)
            elif act.kind == "record":
                msg = p.recording(act.target)
            else:
                msg = p.hotkey(act.target)
        except Exception as e:   # an action must never take OBS's UI thread down with it
            msg = f"{type(e).__name__}: {e}"
        with self._lock:
            self._last_error = f"gesture {act.gesture!r}: {msg}" if msg else ""
            self.performed.append((act.gesture, act.kind, act.target))
            del self.performed[:-32]


def on_fired(filter_instance: Any, fired: Any) -> bool:
    """The hook the filter calls for every Fired event from its trigger bank."""
    runner = getattr(filter_instance, "actions", None)
    return runner.fired(fired) if runner is not None else False


class Dispatch:
    """What the filter's Plugin.actions holds: each Fired event goes to that filter's runner."""

    def on_fired(self, inst: Any, fired: Any) -> bool:
        return on_fired(inst, fired)


# Test hook, honoured only with FACEFX_DEBUG_DIR set: a new value "gesture" or "gesture#n" fires
# that gesture once, so headless-OBS tests reach the UI-thread path without a hand on camera.
K_DEBUG_FIRE = "debug_fire"


def read_action_values(lib: Any, data: int, gestures: Iterable[str] = BUILTIN_GESTURES) -> Dict[str, str]:
    """The action keys of an obs_data_t* as a plain dict (see actions_from_values)."""
    out: Dict[str, str] = {}
    for g in gestures:
        for key in (action_key(g), target_key(g)):
            value = lib.get_str(data, key)
            if value:
                out[key] = value
    return out


def make_runner(lib: Any) -> Tuple[Optional[ActionRunner], str]:
    """The filter's runner on the real OBS, or None and why (actions then stay off)."""
    try:
        perf = ObsPerformer(lib.obs_lib)
    except (OSError, AttributeError) as e:
        return None, f"gesture actions unavailable: {e}"
    return ActionRunner(perf, perf.queue_ui), ""


def update_filter(inst: Any, lib: Any, data: int) -> None:
    """Re-read the filter's actions from its data (the filter's update())."""
    runner = getattr(inst, "actions", None)
    if runner is None:
        return
    names = inst.gesture_names() if hasattr(inst, "gesture_names") else BUILTIN_GESTURES
    inst.action_values = read_action_values(lib, data, names)
    runner.configure(inst.action_values, names)
    if getattr(inst, "hooks", None) is not None and inst.hooks.enabled:
        token = lib.get_str(data, K_DEBUG_FIRE)
        if token and token != runner.debug_fired:
            runner.debug_fired = token
            runner.fired(_DebugFired(token.split("#", 1)[0]))
        token = lib.get_str(data, K_DEBUG_TEACH)
        if token and token != runner.debug_taught:
            runner.debug_taught = token
            start_teaching(inst, token.split("#", 1)[0], float(lib.obs_data_get_double(data, b"debug_teach_s") or 1.0))


@dataclass(frozen=True)
class _DebugFired:
    name: str
    t: float = 0.0
    hands: Tuple[int, ...] = ()


# ---------------------------------------------------------------------------- OBS side
_FRONTEND = ("libobs-frontend-api.so.0", "libobs-frontend-api.so", "libobs-frontend-api.dylib",
             "obs-frontend-api.dll")

_OBS_FUNCS = {
    "obs_queue_task": (None, C.c_int, C.c_void_p, C.c_void_p, C.c_bool),
    "obs_get_source_by_name": (C.c_void_p, C.c_char_p),
    "obs_source_release": (None, C.c_void_p),
    "obs_scene_from_source": (C.c_void_p, C.c_void_p),
    "obs_scene_find_source": (C.c_void_p, C.c_void_p, C.c_char_p),
    "obs_sceneitem_visible": (C.c_bool, C.c_void_p),
    "obs_sceneitem_set_visible": (C.c_bool, C.c_void_p, C.c_bool),
    "obs_enum_hotkeys": (None, C.c_void_p, C.c_void_p),
    "obs_hotkey_get_name": (C.c_char_p, C.c_void_p),
    "obs_hotkey_trigger_routed_callback": (None, C.c_size_t, C.c_bool),
}
_FRONTEND_FUNCS = {
    "obs_frontend_set_current_scene": (None, C.c_void_p),
    "obs_frontend_get_current_scene": (C.c_void_p,),
    "obs_frontend_recording_active": (C.c_bool,),
    "obs_frontend_recording_start": (None,),
    "obs_frontend_recording_stop": (None,),
}


def _bind(lib: Any, table: Mapping[str, tuple]) -> Dict[str, Any]:
    out = {}
    for name, sig in table.items():
        fn = getattr(lib, name)
        fn.restype = sig[0]
        fn.argtypes = list(sig[1:])
        out[name] = fn
    return out


# Callables waiting for OBS's UI thread, by ticket. The C side only ever sees the ticket.
_pending: Dict[int, Callable[[], None]] = {}
_pending_lock = threading.Lock()
_tickets = itertools.count(1)


def _run_task(param: Optional[int]) -> None:
    with _pending_lock:
        fn = _pending.pop(param or 0, None)
    if fn is not None:
        fn()


_TASK_CALLBACK = _TASK_FUNC(_run_task)   # module lifetime: OBS may call it after any filter is gone


class ObsPerformer:
    """The real actions, through libobs and the frontend API. Call its methods on the UI thread."""

    def __init__(self, obs_lib: Optional[Any] = None, frontend_lib: Optional[Any] = None) -> None:
        if obs_lib is None:
            from .libobs import libobs
            obs_lib = libobs().obs_lib
        if frontend_lib is None:
            frontend_lib = _load_frontend()
        self._f = _bind(obs_lib, _OBS_FUNCS)
        self._f.update(_bind(frontend_lib, _FRONTEND_FUNCS))

    def queue_ui(self, fn: Callable[[], None]) -> None:
        """Run fn on OBS's UI thread later; returns at once (safe from the video thread)."""
        ticket = next(_tickets)
        with _pending_lock:
            _pending[ticket] = fn
        self._f["obs_queue_task"](OBS_TASK_UI, C.cast(_TASK_CALLBACK, C.c_void_p), ticket, False)

    def switch_scene(self, name: str) -> str:
        f = self._f
        src = f["obs_get_source_by_name"](name.encode())
        if not src:
            return f"scene {name!r} does not exist"
        try:
            if not f["obs_scene_from_source"](src):
                return f"{name!r} is a source, not a scene"
            f["obs_frontend_set_current_scene"](src)
            return ""
        finally:
            f["obs_source_release"](src)

    def toggle_source(self, name: str) -> str:
        f = self._f
        cur = f["obs_frontend_get_current_scene"]()
        if not cur:
            return "there is no current scene"
        try:
            item = f["obs_scene_find_source"](f["obs_scene_from_source"](cur), name.encode())
            if not item:
                return f"source {name!r} is not in the current scene"
            f["obs_sceneitem_set_visible"](item, not f["obs_sceneitem_visible"](item))
            return ""
        finally:
            f["obs_source_release"](cur)

    def recording(self, mode: str) -> str:
        f = self._f
        active = f["obs_frontend_recording_active"]()
        if mode == "start" or (mode == "toggle" and not active):
            if not active:
                f["obs_frontend_recording_start"]()
        elif active:
            f["obs_frontend_recording_stop"]()
        return ""

    def hotkey_names(self) -> List[str]:
        return sorted(self._hotkeys())

    def _hotkeys(self) -> Dict[str, int]:
        found: Dict[str, int] = {}
        get_name = self._f["obs_hotkey_get_name"]

        def visit(_data, hid, key):
            n = get_name(key)
            if n:
                found.setdefault(n.decode("utf-8", "replace"), hid)
            return True

        cb = _HOTKEY_ENUM_FUNC(visit)   # obs_enum_hotkeys is synchronous: cb outlives the call
        self._f["obs_enum_hotkeys"](C.cast(cb, C.c_void_p), None)
        return found

    def hotkey(self, name: str) -> str:
        hid = self._hotkeys().get(name)
        if hid is None:
            return f"hotkey {name!r} does not exist"
        trigger = self._f["obs_hotkey_trigger_routed_callback"]
        trigger(hid, True)
        trigger(hid, False)
        return ""


def _load_frontend() -> Any:
    import ctypes.util
    names = list(_FRONTEND) + [ctypes.util.find_library("obs-frontend-api")]
    errors = []
    for n in names:
        if not n:
            continue
        try:
            return C.CDLL(n)
        except OSError as e:
            errors.append(f"{n}: {e}")
    raise OSError("the OBS frontend API (libobs-frontend-api) could not be loaded: " + "; ".join(errors))


# ---------------------------------------------------------------------------- properties
K_GROUP = "gesture_actions"
_SOURCE_ENUM_FUNC = C.CFUNCTYPE(C.c_bool, C.c_void_p, C.c_void_p)
_LIST_FUNCS = {
    "obs_enum_sources": (None, C.c_void_p, C.c_void_p),
    "obs_property_list_clear": (None, C.c_void_p),
}
_FRONTEND_LIST_FUNCS = {
    "obs_frontend_get_scene_names": (C.POINTER(C.c_char_p),),
}


def target_choices(kind: str, scenes: Iterable[str], sources: Iterable[str],
                   hotkeys: Iterable[str]) -> List[Tuple[str, str]]:
    """(value, label) pairs the target list offers for an action kind."""
    if kind == "scene":
        return [(s, s) for s in scenes]
    if kind == "source":
        return [(s, s) for s in sources]
    if kind == "hotkey":
        return [(h, h) for h in hotkeys]
    if kind == "record":
        return list(RECORD_MODES)
    return []


class ObsLists:
    """Scene, source and hotkey names as OBS has them now (call on the UI thread)."""

    def __init__(self, lib: Any, performer: Optional[ObsPerformer]) -> None:
        self._lib = lib
        self._perf = performer
        self._f = _bind(lib.obs_lib, _LIST_FUNCS)
        try:
            self._f.update(_bind(_load_frontend(), _FRONTEND_LIST_FUNCS))
        except OSError:
            pass

    def scenes(self) -> List[str]:
        get = self._f.get("obs_frontend_get_scene_names")
        if get is None:
            return []
        names = get()
        out: List[str] = []
        if names:
            i = 0
            while names[i]:
                out.append(names[i].decode("utf-8", "replace"))
                i += 1
            self._lib.bfree(C.cast(names, C.c_void_p))
        return out

    def sources(self) -> List[str]:
        out: List[str] = []
        get_name = self._lib.obs_source_get_name

        def visit(_data, src):
            n = get_name(src)
            if n:
                out.append(n.decode("utf-8", "replace"))
            return True

        cb = _SOURCE_ENUM_FUNC(visit)   # obs_enum_sources is synchronous: cb outlives the call
        self._f["obs_enum_sources"](C.cast(cb, C.c_void_p), None)
        return sorted(out)

    def hotkeys(self) -> List[str]:
        return self._perf.hotkey_names() if self._perf is not None else []

    def choices(self, kind: str) -> List[Tuple[str, str]]:
        if kind == "scene":
            return target_choices(kind, self.scenes(), (), ())
        if kind == "source":
            return target_choices(kind, (), self.sources(), ())
        if kind == "hotkey":
            return target_choices(kind, (), (), self.hotkeys())
        return target_choices(kind, (), (), ())


def _fill(lib: Any, lists: ObsLists, prop: int, kind: str, current: str) -> None:
    lists._f["obs_property_list_clear"](prop)
    choices = lists.choices(kind)
    if current and current not in {v for v, _ in choices}:
        choices.insert(0, (current, f"{current} (missing)"))   # kept, so the status can name it
    for value, label in choices:
        lib.obs_property_list_add_string(prop, label.encode(), value.encode())
    lib.obs_property_set_visible(prop, kind != "none")


def add_properties(inst: Any, props: int, callbacks: Mapping[str, int],
                   gestures: Iterable[str] = BUILTIN_GESTURES) -> None:
    """The "Gesture actions" group: per gesture an action kind and its target list."""
    lib = inst.lib
    runner = getattr(inst, "actions", None)
    lists = ObsLists(lib, runner.performer if runner is not None else None)
    from .libobs import OBS_COMBO_FORMAT_STRING, OBS_COMBO_TYPE_LIST, OBS_GROUP_NORMAL
    group = lib.obs_properties_create()
    values = getattr(inst, "action_values", {})
    for g in gestures:
        label = g.replace("_", " ") if g in BUILTIN_GESTURES else g
        kind_prop = lib.obs_properties_add_list(group, action_key(g).encode(), label.capitalize().encode(),
                                                OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
        for value, text in ACTION_KINDS:
            lib.obs_property_list_add_string(kind_prop, text.encode(), value.encode())
        lib.obs_property_set_modified_callback2(kind_prop, callbacks["modified"], inst.fid)
        target = lib.obs_properties_add_list(group, target_key(g).encode(), f"  {label}: target".encode(),
                                             OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
        kind = values.get(action_key(g), "none") or "none"
        _fill(lib, lists, target, kind, values.get(target_key(g), ""))
    lib.obs_properties_add_group(props, K_GROUP.encode(), b"Gesture actions", OBS_GROUP_NORMAL, group)


def refresh_targets(inst: Any, props: int, data: int, gestures: Iterable[str] = BUILTIN_GESTURES) -> None:
    """An action kind changed in the panel: refill each target list for its kind."""
    lib = inst.lib
    runner = getattr(inst, "actions", None)
    lists = ObsLists(lib, runner.performer if runner is not None else None)
    for g in gestures:
        prop = lib.obs_properties_get(props, target_key(g).encode())
        if prop:
            _fill(lib, lists, prop, lib.get_str(data, action_key(g)) or "none", lib.get_str(data, target_key(g)))


# ---------------------------------------------------------------------------- teaching
# Teaching runs in the worker (protocol OP_TEACH): OBS's process only sends the request and
# shows the state the worker reports in its heartbeat. Names follow facefx.teach.check_name.
K_TEACH_NAME = "teach_name"
K_TEACH_BUTTON = "teach_start"
K_TAUGHT = "taught_gesture"
K_FORGET_BUTTON = "teach_forget"
K_DEBUG_TEACH = "debug_teach"     # test hook like K_DEBUG_FIRE: a new value starts a recording
K_TEACH_SECONDS = "teach_seconds"   # recording length (protocol.TEACH_SECONDS bounds it)
TEACH_SECONDS = 3.0


def _settings_str(inst: Any, key: str) -> str:
    lib = inst.lib
    data = lib.obs_source_get_settings(inst.source)
    if not data:
        return ""
    try:
        return lib.get_str(data, key)
    finally:
        lib.obs_data_release(data)


def set_defaults(lib: Any, data: int) -> None:
    """The teach group's defaults (OBS's get_defaults)."""
    lib.obs_data_set_default_double(data, K_TEACH_SECONDS.encode(), TEACH_SECONDS)


def _settings_float(inst: Any, key: str) -> float:
    lib = inst.lib
    data = lib.obs_source_get_settings(inst.source)
    if not data:
        return 0.0
    try:
        return float(lib.obs_data_get_double(data, key.encode()))
    finally:
        lib.obs_data_release(data)


def _worker_stats(inst: Any) -> Dict[str, Any]:
    ch = getattr(inst, "channel", None)
    return ch.worker_stats() if ch is not None else {}


def send_teach_op(inst: Any, op_name: str, name: str, **fields: Any) -> str:
    """Ask the worker to record (or forget) a gesture; "" or why it could not be asked."""
    from . import protocol
    name = name.strip()
    if not name:
        return "type a name for the gesture first (1-40 letters, digits, spaces, '-' or '_')"
    ch = getattr(inst, "channel", None)
    if ch is None:
        return "teaching needs the worker running: turn on an effect first"
    if op_name == protocol.OP_TEACH:
        ch.teach(name, fields.get("seconds", TEACH_SECONDS))
    else:
        ch.forget(name)
    return ""


def start_teaching(inst: Any, name: str, seconds: float = TEACH_SECONDS) -> None:
    from . import protocol
    runner = getattr(inst, "actions", None)
    problem = send_teach_op(inst, protocol.OP_TEACH, name, seconds=seconds)
    if runner is not None:
        runner.teach_error = problem


def teach_status(inst: Any) -> str:
    """The status-line text for teaching: a countdown while recording, then the outcome."""
    runner = getattr(inst, "actions", None)
    local = getattr(runner, "teach_error", "") if runner is not None else ""
    if local:
        return "Teach a gesture: " + local
    st = _worker_stats(inst).get("teach")
    if not isinstance(st, dict):
        return ""
    if st.get("state") == "recording":
        return ("Teaching %r: hold the gesture, %.1f s left (%d frames with a hand)"
                % (st.get("name"), float(st.get("remaining") or 0), int(st.get("samples") or 0)))
    return "Teach a gesture: %s" % (st.get("message") or st.get("state"))


def taught_names(inst: Any) -> List[str]:
    names = _worker_stats(inst).get("taught")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def button(inst: Any, prop: int) -> None:
    """The panel's teach / forget buttons (UI thread)."""
    from . import protocol
    raw = inst.lib.obs_property_name(prop)
    which = raw.decode() if raw else ""
    if which == K_TEACH_BUTTON:
        seconds = _settings_float(inst, K_TEACH_SECONDS) or TEACH_SECONDS
        start_teaching(inst, _settings_str(inst, K_TEACH_NAME), seconds)
    elif which == K_FORGET_BUTTON:
        problem = send_teach_op(inst, protocol.OP_FORGET, _settings_str(inst, K_TAUGHT))
        if inst.actions is not None:
            inst.actions.teach_error = problem


def add_teach_properties(inst: Any, props: int, callbacks: Mapping[str, int]) -> None:
    from .libobs import OBS_COMBO_FORMAT_STRING, OBS_COMBO_TYPE_LIST, OBS_GROUP_NORMAL
    lib = inst.lib
    group = lib.obs_properties_create()
    lib.obs_properties_add_text(group, K_TEACH_NAME.encode(), b"New gesture name", 0)
    from .protocol import TEACH_SECONDS as BOUNDS
    seconds = lib.obs_properties_add_float_slider(group, K_TEACH_SECONDS.encode(), b"Recording length",
                                                  BOUNDS[0], BOUNDS[1], 0.5)
    lib.obs_property_float_set_suffix(seconds, b" s")
    lib.obs_properties_add_button(group, K_TEACH_BUTTON.encode(), b"Teach it (hold the gesture while it records)",
                                  callbacks["button"])
    taught = lib.obs_properties_add_list(group, K_TAUGHT.encode(), b"Taught gestures",
                                         OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for n in taught_names(inst):
        lib.obs_property_list_add_string(taught, n.encode(), n.encode())
    lib.obs_properties_add_button(group, K_FORGET_BUTTON.encode(), b"Forget the selected gesture",
                                  callbacks["button"])
    lib.obs_properties_add_group(props, b"teach_gesture", b"Teach a gesture", OBS_GROUP_NORMAL, group)
