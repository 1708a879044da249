"""The "Gesture stickers" part of the FaceFX filter's panel: keys, defaults, the group, and the
mapping to the gestures section of facefx.settings.Settings.

Every gesture, built-in or a label of the custom/taught model, has the same controls: an
enable checkbox, what it shows (its default, a sticker above the hand, a sticker in a corner or
a full-frame animation), corner, size, duration, a custom sticker picture, and its own hold and
cooldown. One "Settings for" list picks the gesture whose controls are shown, so the panel stays
short with twelve built-ins and any number of custom labels. Custom labels are not known until
the worker has loaded the model (they arrive in its heartbeat), so their keys get their
defaults when they appear (set_label_defaults); their values persist with the filter like any
other.

Standard library only, like all of facefx.obs except the worker.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from ..settings import (ANIMATIONS, BUILTIN_GESTURES, CORNERS, GestureEffect, GestureSettings, SettingsError,
                        default_effect)
from .libobs import (OBS_COMBO_FORMAT_STRING, OBS_COMBO_TYPE_LIST, OBS_GROUP_CHECKABLE, OBS_PATH_FILE)

K_GESTURES = "gestures"            # checkable group: gesture stickers on/off
K_GEST_HOLD = "gestures_hold_ms"
K_GEST_COOLDOWN = "gestures_cooldown_ms"
K_GEST_RING = "gestures_ring"
K_GEST_MODEL = "gestures_model"    # custom gesture model (.tflite)
K_GEST_LABELS = "gestures_labels"  # its labels file ("" = found beside the model)
K_GEST_EDIT = "gestures_edit"      # the gesture whose controls the panel shows

# What a gesture shows: "" = its default (default_effect), else one of these.
SHOWS = (("", "Its default"), ("hand", "Sticker above the hand"), ("corner", "Sticker in a corner")) + tuple(
    (a, "Full-frame animation: %s" % a) for a in ANIMATIONS)
MODEL_FILTER = "TensorFlow Lite models (*.tflite);;All files (*.*)"
LABELS_FILTER = "Labels (*.txt *.csv);;All files (*.*)"
STICKER_FILTER = "PNG images (*.png);;All files (*.*)"

_DEF = GestureSettings()


def gesture_key(name: str) -> str:
    """The per-gesture enable checkbox ("gesture_<name>")."""
    return "gesture_" + name


def gesture_sticker_key(name: str) -> str:
    """The per-gesture custom sticker path ("gesture_<name>_sticker"; "" = bundled effect)."""
    return "gesture_%s_sticker" % name


def _k(name: str, what: str) -> str:
    return "gesture_%s_%s" % (name, what)


def shows_key(name: str) -> str:
    return _k(name, "shows")


def corner_key(name: str) -> str:
    return _k(name, "corner")


def size_key(name: str) -> str:
    return _k(name, "size")           # percent of the frame height


def duration_key(name: str) -> str:
    return _k(name, "duration_ms")


def own_timing_key(name: str) -> str:
    return _k(name, "own_timing")     # use the two below instead of the section's hold/cooldown


def hold_key(name: str) -> str:
    return _k(name, "hold_ms")


def cooldown_key(name: str) -> str:
    return _k(name, "cooldown_ms")


def gesture_defaults(name: str) -> Dict[str, Any]:
    """Every key of one gesture's controls with its default."""
    e = default_effect(name)
    return {gesture_key(name): True, gesture_sticker_key(name): "", shows_key(name): "",
            corner_key(name): e.corner, size_key(name): int(round(e.size * 100)),
            duration_key(name): int(round(e.duration * 1000)), own_timing_key(name): False,
            hold_key(name): int(round(_DEF.hold * 1000)), cooldown_key(name): int(round(_DEF.cooldown * 1000))}


def defaults() -> Dict[str, Any]:
    """The section's keys and the built-in gestures' keys with their defaults."""
    out: Dict[str, Any] = {K_GESTURES: False, K_GEST_HOLD: int(round(_DEF.hold * 1000)),
                           K_GEST_COOLDOWN: int(round(_DEF.cooldown * 1000)), K_GEST_RING: _DEF.arming_ring,
                           K_GEST_MODEL: "", K_GEST_LABELS: "", K_GEST_EDIT: BUILTIN_GESTURES[0]}
    for g in BUILTIN_GESTURES:
        out.update(gesture_defaults(g))
    return out


def names(labels: Iterable[str] = ()) -> Tuple[str, ...]:
    """The gestures the panel offers: the custom/taught model's labels, then the built-ins."""
    return tuple(dict.fromkeys(tuple(labels) + BUILTIN_GESTURES))


def set_label_defaults(lib: Any, data: int, labels: Iterable[str]) -> None:
    """Give a custom label's keys their defaults in the filter's data (OBS's get_defaults only
    knows the built-ins): a new label starts enabled, like a built-in."""
    for label in labels:
        if label not in BUILTIN_GESTURES:
            for key, default in gesture_defaults(label).items():
                lib.set_default_typed(data, key, default)


def read_label_values(lib: Any, data: int, labels: Iterable[str]) -> Dict[str, Any]:
    """The custom labels' keys of an obs_data_t* (call set_label_defaults first)."""
    out: Dict[str, Any] = {}
    for label in labels:
        if label in BUILTIN_GESTURES:
            continue
        for key, default in gesture_defaults(label).items():
            out[key] = lib.get_typed(data, key, default)
    return out


def _effect(name: str, v: Mapping[str, Any], warnings: List[str]) -> GestureEffect:
    """One gesture's effect from its controls. A custom sticker file that is missing is named
    in `warnings` and the gesture keeps its bundled sticker."""
    d = default_effect(name)
    get = lambda key, default: v.get(key, default)  # noqa: E731
    sticker = str(get(gesture_sticker_key(name), "") or "")
    if sticker and not os.path.isfile(sticker):
        warnings.append(f"sticker image for {name} not found: {sticker} (expected a PNG file)")
        sticker = ""
    shows = str(get(shows_key(name), "") or "")
    placement, animation = d.placement, d.animation
    if shows == "hand" or (not shows and sticker and d.placement == "fullscreen"):
        placement, animation = "follow-hand", ""     # a picture given: show it, not the animation
    elif shows == "corner":
        placement, animation = "corner", ""
    elif shows in ANIMATIONS:
        placement, animation = "fullscreen", shows
    elif shows:
        raise SettingsError(f"what {name} shows must be one of {', '.join(v for v, _ in SHOWS if v)} "
                            f"(or empty for its default), got {shows!r}")
    own = bool(get(own_timing_key(name), False))
    return GestureEffect(
        name, sticker=sticker or d.sticker, placement=placement, animation=animation,
        corner=str(get(corner_key(name), d.corner) or d.corner),
        size=float(get(size_key(name), d.size * 100)) / 100.0,
        duration=float(get(duration_key(name), d.duration * 1000)) / 1000.0,
        hold=float(get(hold_key(name), _DEF.hold * 1000)) / 1000.0 if own else None,
        cooldown=float(get(cooldown_key(name), _DEF.cooldown * 1000)) / 1000.0 if own else None)


def section(v: Mapping[str, Any], labels: Sequence[str] = ()) -> Tuple[dict, List[str]]:
    """The Settings "gestures" section from the panel's values (`v` holds every key, defaults
    filled in), and one message per part left out (a missing sticker or model file): that
    part is off, everything else works as set.

    Raises SettingsError for a value outside its range."""
    warnings: List[str] = []
    model = str(v.get(K_GEST_MODEL, "") or "")
    labels_file = str(v.get(K_GEST_LABELS, "") or "")
    if model and not os.path.isfile(model):
        warnings.append(f"gesture model not found: {model} (expected a .tflite file)")
        model = ""
    if labels_file and (not model or not os.path.isfile(labels_file)):
        if model:
            warnings.append(f"gesture labels file not found: {labels_file} (expected a labels.txt; "
                            "looking beside the model instead)")
        labels_file = ""
    effects = {}
    enabled = []
    for g in names(labels):
        if not v.get(gesture_key(g), True):
            continue
        enabled.append(g)
        e = _effect(g, v, warnings)
        if e != default_effect(g):
            effects[g] = {k: getattr(e, k) for k in ("sticker", "placement", "corner", "animation", "size",
                                                      "duration", "hold", "cooldown")}
    data = {"enabled": bool(v.get(K_GESTURES, False)), "gestures": enabled,
            "hold": int(v.get(K_GEST_HOLD, _DEF.hold * 1000)) / 1000.0,
            "cooldown": int(v.get(K_GEST_COOLDOWN, _DEF.cooldown * 1000)) / 1000.0,
            "arming_ring": bool(v.get(K_GEST_RING, _DEF.arming_ring)), "effects": effects,
            "model": model, "labels": labels_file}
    return data, warnings


# ---------------------------------------------------------------------------- the panel group
def _title(name: str) -> str:
    return name.replace("_", " ").capitalize() if name in BUILTIN_GESTURES else name


def add_group(lib: Any, props: int, fid: int, callbacks: Mapping[str, int], labels: Sequence[str],
              values: Mapping[str, Any]) -> None:
    """The "Gesture stickers" group (checkable: gestures on/off) into props."""
    b = lambda s: s.encode("utf-8")  # noqa: E731
    gest = lib.obs_properties_create()
    for key, label, hi in ((K_GEST_HOLD, "Hold before firing", 3000), (K_GEST_COOLDOWN, "Cooldown", 30000)):
        prop = lib.obs_properties_add_int_slider(gest, b(key), b(label), 0, hi, 50)
        lib.obs_property_int_set_suffix(prop, b(" ms"))
    lib.obs_properties_add_bool(gest, b(K_GEST_RING), b("Show the arming ring"))
    model = lib.obs_properties_add_path(gest, b(K_GEST_MODEL), b("Custom gesture model (.tflite)"),
                                        OBS_PATH_FILE, b(MODEL_FILTER), None)
    lib.obs_property_set_long_description(
        model, b("A Teachable Machine image model (model_unquant.tflite or model.tflite) or a hand-landmark "
                 "classifier (42 or 63 inputs). Its labels appear below as gestures once the worker has "
                 "loaded it; a 'none'/background label fires nothing. Without one, gestures you taught are used."))
    lib.obs_properties_add_path(gest, b(K_GEST_LABELS), b("Its labels file (empty: found beside the model)"),
                                OBS_PATH_FILE, b(LABELS_FILTER), None)
    all_names = names(labels)
    for g in all_names:
        lib.obs_properties_add_bool(gest, b(gesture_key(g)), b(_title(g)))
    edit = lib.obs_properties_add_list(gest, b(K_GEST_EDIT), b("Settings for"), OBS_COMBO_TYPE_LIST,
                                       OBS_COMBO_FORMAT_STRING)
    for g in all_names:
        lib.obs_property_list_add_string(edit, b(_title(g)), b(g))
    modified = callbacks["modified"]
    lib.obs_property_set_modified_callback2(edit, modified, fid)
    for g in all_names:
        t = _title(g)
        shows = lib.obs_properties_add_list(gest, b(shows_key(g)), b("%s: shows" % t), OBS_COMBO_TYPE_LIST,
                                            OBS_COMBO_FORMAT_STRING)
        d = default_effect(g)
        for value, text in SHOWS:
            if not value:
                text += " (%s)" % ("animation: " + d.animation if d.animation else "sticker above the hand")
            lib.obs_property_list_add_string(shows, b(text), b(value))
        lib.obs_property_set_modified_callback2(shows, modified, fid)
        corner = lib.obs_properties_add_list(gest, b(corner_key(g)), b("%s: corner" % t), OBS_COMBO_TYPE_LIST,
                                             OBS_COMBO_FORMAT_STRING)
        for c in CORNERS:
            lib.obs_property_list_add_string(corner, b(c.replace("-", " ").capitalize()), b(c))
        lib.obs_properties_add_path(gest, b(gesture_sticker_key(g)), b("%s: custom sticker" % t),
                                    OBS_PATH_FILE, b(STICKER_FILTER), None)
        for key, label, lo_, hi, step, suffix in ((size_key(g), "size", 2, 100, 1, " % of the height"),
                                                  (duration_key(g), "duration", 100, 30000, 100, " ms")):
            prop = lib.obs_properties_add_int_slider(gest, b(key), b("%s: %s" % (t, label)), lo_, hi, step)
            lib.obs_property_int_set_suffix(prop, b(suffix))
        own = lib.obs_properties_add_bool(gest, b(own_timing_key(g)), b("%s: own hold and cooldown" % t))
        lib.obs_property_set_modified_callback2(own, modified, fid)
        for key, label, hi in ((hold_key(g), "hold", 3000), (cooldown_key(g), "cooldown", 30000)):
            prop = lib.obs_properties_add_int_slider(gest, b(key), b("%s: %s" % (t, label)), 0, hi, 50)
            lib.obs_property_int_set_suffix(prop, b(" ms"))
    lib.obs_properties_add_group(props, b(K_GESTURES), b("Gesture stickers"), OBS_GROUP_CHECKABLE, gest)
    apply_visibility(lib, gest, all_names, lambda key, default: values.get(key, default))


def apply_visibility(lib: Any, props: int, all_names: Sequence[str], get: Any) -> None:
    """Show the controls of the gesture picked in "Settings for" only, and of those only the
    ones that apply (the corner for a corner sticker, the picture unless an animation plays,
    the own hold/cooldown when ticked). get(key, default) reads the current values."""
    picked = get(K_GEST_EDIT, "") or ""
    if picked not in all_names and all_names:
        picked = all_names[0]
    for g in all_names:
        on = g == picked
        shows = get(shows_key(g), "") or ""
        animates = shows in ANIMATIONS or (not shows and default_effect(g).placement == "fullscreen"
                                           and not get(gesture_sticker_key(g), ""))
        own = bool(get(own_timing_key(g), False))
        for key, visible in ((shows_key(g), on), (corner_key(g), on and shows == "corner"),
                             (gesture_sticker_key(g), on and not (shows in ANIMATIONS)),
                             (size_key(g), on and not animates), (duration_key(g), on),
                             (own_timing_key(g), on), (hold_key(g), on and own), (cooldown_key(g), on and own)):
            prop = lib.obs_properties_get(props, key.encode())
            if prop:
                lib.obs_property_set_visible(prop, visible)


def data_getter(lib: Any, data: int) -> Any:
    """get(key, default) over an obs_data_t*, typed by the default (for apply_visibility)."""
    def get(key: str, default: Any) -> Any:
        if isinstance(default, bool):
            return bool(lib.obs_data_get_bool(data, key.encode()))
        return lib.get_str(data, key)
    return get

