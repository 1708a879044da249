"""The FaceFX filter's OBS settings: keys, defaults, the properties panel, and the mapping to
facefx.settings.Settings.

OBS stores filter settings as flat key/value data in the scene collection. FaceFX keeps the
OBS keys here and converts them into the frozen Settings the worker and the renderers use
(`settings_from_values`), so every value is validated by the same code as the command line.
Percentages are shown as whole-number sliders with units; colours use OBS's colour picker
(0xAABBGGRR integers).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from ..results import BUILTIN_GESTURES, EXPRESSIONS
from ..settings import Settings, SettingsError, analysis_size, color_to_obs, default_effect  # noqa: F401
from . import gesture_props as G
from .gesture_props import (K_GEST_COOLDOWN, K_GEST_EDIT, K_GEST_HOLD, K_GEST_LABELS,  # noqa: F401
                            K_GEST_MODEL, K_GEST_RING, K_GESTURES, gesture_key, gesture_sticker_key)
from .libobs import (OBS_COMBO_FORMAT_STRING, OBS_COMBO_TYPE_LIST, OBS_GROUP_CHECKABLE,
                     OBS_GROUP_NORMAL, OBS_PATH_FILE, OBS_TEXT_INFO)

# Keys. A checkable group's own name is the boolean that turns the effect on.
K_BACKGROUND = "background"
K_BG_MODE = "bg_mode"
K_BG_BLUR = "bg_blur"
K_BG_IMAGE = "bg_image"
K_BG_COLOR = "bg_color"
K_HOLO_COLOR = "holo_color"
K_SEG_MODEL = "seg_model"
K_SEG_WIDTH = "seg_width"
K_SEG_SMOOTHING = "seg_smoothing"
K_SEG_THRESHOLD = "seg_threshold"
K_SEG_SOFTNESS = "seg_softness"
K_SYNC = "keep_in_sync"
K_SEG_REFINE = "seg_refine"
K_PRIVACY = "privacy"              # checkable group: face privacy on/off
K_PRIV_STYLE = "privacy_style"
K_PRIV_SHAPE = "privacy_shape"
K_PRIV_MARGIN = "privacy_margin"   # percent
K_PRIV_BLUR = "privacy_blur"
K_PRIV_BLOCK = "privacy_block"     # px
K_PRIV_COLOR = "privacy_color"
K_PRIV_IMAGE = "privacy_image"
K_PRIV_HOLD = "privacy_hold_ms"
K_PRIV_HEADS = "privacy_cover_heads"
K_PRIV_KEEP = "privacy_keep_face"
K_PRIV_STALE = "privacy_stale_frames"
K_PRIV_THOROUGH = "privacy_full_analysis"   # every frame with both detectors and tiles
K_PRIV_CAPTURE = "privacy_capture"   # button: capture the background plate
K_EXPRESSIONS = "expressions"     # checkable group: expression emojis on/off
K_EXPR_MODE = "expr_mode"
K_EXPR_LABEL = "expr_label"
K_EXPR_SIZE = "expr_size"          # percent of the face box's height
K_EXPR_CORNER = "expr_corner"
K_EXPR_MODEL = "expr_model"
K_EXPR_LABELS = "expr_labels"
K_EXPR_RECALIBRATE = "expr_recalibrate"   # button
K_FACES_MAX = "faces_max"
K_FACES_DETECTOR = "faces_detector"
K_STATUS = "status"
K_REFRESH = "refresh"
# Test hooks, honoured only when FACEFX_DEBUG_DIR is set (see facefx.obs.debug.DebugHooks).
K_DEBUG_FREEZE = "debug_freeze"
K_DEBUG_TIME = "debug_time"
K_DEBUG_MASK = "debug_mask"

BG_MODES = (("blur", "Blur"), ("image", "Image"), ("color", "Colour"),
            ("transparent", "Transparent (cut-out)"), ("hologram", "Hologram"))
SEG_MODELS = (("auto", "Auto (by frame shape)"), ("landscape", "Landscape (fast, 256x144)"),
              ("general", "General (256x256)"))
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*.*)"

PRIV_STYLES = (("blur", "Blur"), ("pixelate", "Pixelate"), ("color", "Solid colour"),
               ("emoji", "Emoji or picture"), ("plate", "Captured background"))
PRIV_SHAPES = (("ellipse", "Ellipse"), ("rect", "Rectangle"))
KEEP_FACE_CHOICES = (("none", "None (cover everyone)"), ("largest", "The largest face"),
                     ("center", "The face nearest the centre"))

EXPR_MODES = (("beside", "Emoji beside each face"), ("replace", "Emoji replaces each face"),
              ("panel", "Main face's emoji in a corner panel"))
CORNER_CHOICES = (("top-right", "Top right"), ("top-left", "Top left"), ("bottom-right", "Bottom right"),
                  ("bottom-left", "Bottom left"))
FACE_DETECTOR_CHOICES = (("auto", "Auto (near and far faces)"), ("short", "Short range (near the camera)"),
                         ("full", "Full range (up to ~5 m)"))
MODEL_FILTER = "LiteRT models (*.tflite);;All files (*.*)"
LABELS_FILTER = "Labels (*.txt);;All files (*.*)"
PNG_FILTER = "PNG images (*.png);;All files (*.*)"

# Effects that can be toggled: (checkable group key, hotkey name, hotkey description).
EFFECTS = ((K_BACKGROUND, "facefx.toggle_background", "FaceFX: toggle virtual background"),
           (K_EXPRESSIONS, "facefx.toggle_expressions", "FaceFX: toggle expression emojis"),
           (K_PRIVACY, "facefx.toggle_privacy", "FaceFX: toggle face privacy"))

_DEF = Settings()
# OBS-side defaults: a newly added filter blurs the background right away.
DEFAULTS: Dict[str, Any] = {
    K_BACKGROUND: True,
    K_BG_MODE: "blur",
    K_BG_BLUR: int(_DEF.background.blur),
    K_BG_IMAGE: "",
    K_BG_COLOR: color_to_obs(_DEF.background.color),
    K_HOLO_COLOR: color_to_obs(_DEF.background.hologram_color),
    K_SEG_MODEL: _DEF.segmentation.model,
    K_SEG_WIDTH: _DEF.segmentation.analysis_width,
    K_SEG_SMOOTHING: int(round(_DEF.segmentation.smoothing * 100)),
    K_SEG_THRESHOLD: int(round(_DEF.segmentation.threshold * 100)),
    K_SEG_SOFTNESS: int(round(_DEF.segmentation.softness * 100)),
    K_SYNC: False,
    K_SEG_REFINE: _DEF.segmentation.refine,
    K_PRIVACY: False,
    K_PRIV_STYLE: "blur",
    K_PRIV_SHAPE: _DEF.privacy.shape,
    K_PRIV_MARGIN: int(round(_DEF.privacy.margin * 100)),
    K_PRIV_BLUR: int(_DEF.privacy.blur),
    K_PRIV_BLOCK: _DEF.privacy.block,
    K_PRIV_COLOR: color_to_obs(_DEF.privacy.color),
    K_PRIV_IMAGE: "",
    K_PRIV_HOLD: int(round(_DEF.privacy.hold * 1000)),
    K_PRIV_HEADS: _DEF.privacy.cover_heads,
    K_PRIV_KEEP: _DEF.privacy.keep_face,
    K_PRIV_STALE: _DEF.privacy.stale_frames,
    K_PRIV_THOROUGH: _DEF.privacy.full_analysis,
}
DEFAULTS.update(G.defaults())     # gesture stickers: the section and every built-in gesture


def emoji_key(expression: str) -> str:
    """The per-expression emoji image override ("expr_emoji_<name>"; "" = the bundled emoji)."""
    return "expr_emoji_" + expression


DEFAULTS.update({
    K_EXPRESSIONS: False,
    K_EXPR_MODE: "beside" if _DEF.expressions.mode == "off" else _DEF.expressions.mode,
    K_EXPR_LABEL: _DEF.expressions.label,
    K_EXPR_SIZE: int(round(_DEF.expressions.size * 100)),
    K_EXPR_CORNER: _DEF.expressions.corner,
    K_EXPR_MODEL: "",
    K_EXPR_LABELS: "",
    K_FACES_MAX: _DEF.faces.max_faces,
    K_FACES_DETECTOR: _DEF.faces.detector,
})
for _e in EXPRESSIONS:
    DEFAULTS[emoji_key(_e)] = ""
VALUE_KEYS = tuple(DEFAULTS)


@dataclass(frozen=True)
class FilterConfig:
    """What one FaceFX filter is set to: the validated Settings plus OBS-only options."""

    settings: Settings
    keep_in_sync: bool = False
    warning: str = ""   # a problem that disables one part only (a missing sticker file)
    expr_warning: str = ""   # the same for expression emojis (a missing model or emoji file)


def settings_from_values(values: Mapping[str, Any], labels: Sequence[str] = ()) -> FilterConfig:
    """Convert the filter's OBS values to a validated FilterConfig. labels: the gesture names
    the custom or taught model adds (the worker reports them), offered like the built-ins.

    Raises SettingsError (one line naming the bad value and what is expected)."""
    v = dict(DEFAULTS)
    for label in labels:
        v.update(G.gesture_defaults(label) if label not in BUILTIN_GESTURES else {})
    v.update({k: values[k] for k in values if k in v})
    mode = str(v[K_BG_MODE]) if v[K_BACKGROUND] else "none"
    data = {
        "segmentation": {
            "model": str(v[K_SEG_MODEL]),
            "analysis_width": int(v[K_SEG_WIDTH]),
            "smoothing": float(v[K_SEG_SMOOTHING]) / 100.0,
            "threshold": float(v[K_SEG_THRESHOLD]) / 100.0,
            "softness": float(v[K_SEG_SOFTNESS]) / 100.0,
            "refine": bool(v[K_SEG_REFINE]),
        },
        "background": {
            "mode": mode,
            "blur": float(v[K_BG_BLUR]),
            "image": str(v[K_BG_IMAGE] or ""),
            "color": int(v[K_BG_COLOR]) & 0xFFFFFFFF,
            "hologram_color": int(v[K_HOLO_COLOR]) & 0xFFFFFFFF,
        },
    }
    data["gestures"], warnings = G.section(v, labels)
    data["faces"], data["expressions"], expr_warnings = expression_sections(v)
    data["privacy"] = privacy_section(v)
    settings = Settings.from_dict(data)
    image = settings.background.image
    if settings.background.mode in ("image", "hologram") and image and not os.path.isfile(image):
        raise SettingsError(f"background image not found: {image} (expected a picture file)")
    picture = settings.privacy.image
    if settings.privacy.style == "emoji" and picture and not os.path.isfile(picture):
        # Fails closed: the faces get the solid colour until the picture is there.
        warnings.append(f"privacy picture not found: {picture} (expected a PNG file); faces get the colour")
    return FilterConfig(settings, bool(v[K_SYNC]), "; ".join(warnings), "; ".join(expr_warnings))


def expression_sections(v: Mapping[str, Any]) -> tuple:
    """The 'faces' and 'expressions' settings sections from the panel's values, and one warning
    per file that cannot be used. A file problem never turns the effect off: a missing custom
    model (or a labels file without a model) falls back to the bundled FER2013 model, a missing
    or non-PNG emoji image to that expression's bundled emoji. Files that exist but cannot be
    read are found where they are opened (the worker for models, the GPU painter for images)."""
    warnings = []
    model, labels = str(v[K_EXPR_MODEL] or ""), str(v[K_EXPR_LABELS] or "")
    if model and not os.path.isfile(model):
        warnings.append(f"expression model not found: {model} (expected a .tflite file); "
                        "using the bundled FER2013 model")
        model = labels = ""
    if labels and not model:
        warnings.append(f"labels file {labels} ignored: it goes with a custom expression model")
        labels = ""
    elif labels and not os.path.isfile(labels):
        warnings.append(f"expression labels file not found: {labels} (expected a text file with one "
                        "'INDEX Label' line per class); the labels are read from the model")
        labels = ""
    emojis = {}
    for name in EXPRESSIONS:
        path = str(v[emoji_key(name)] or "")
        if not path:
            continue
        if not path.lower().endswith(".png"):
            warnings.append(f"emoji for {name} must be a PNG image, got {path}; using the bundled one")
        elif not os.path.isfile(path):
            warnings.append(f"emoji image for {name} not found: {path}; using the bundled one")
        else:
            emojis[name] = path
    faces = {"detector": str(v[K_FACES_DETECTOR]), "max_faces": int(v[K_FACES_MAX])}
    expressions = {
        "mode": str(v[K_EXPR_MODE]) if v[K_EXPRESSIONS] else "off",
        "label": bool(v[K_EXPR_LABEL]),
        "size": int(v[K_EXPR_SIZE]) / 100.0,
        "corner": str(v[K_EXPR_CORNER]),
        "model": model,
        "labels": labels,
        "emojis": emojis,
    }
    return faces, expressions, warnings


def privacy_section(v: Mapping[str, Any]) -> Dict[str, Any]:
    """The Settings 'privacy' section from the panel's values (all keys present)."""
    return {
        "style": str(v[K_PRIV_STYLE]) if v[K_PRIVACY] else "off",
        "shape": str(v[K_PRIV_SHAPE]),
        "margin": float(v[K_PRIV_MARGIN]) / 100.0,
        "blur": float(v[K_PRIV_BLUR]),
        "block": int(v[K_PRIV_BLOCK]),
        "color": int(v[K_PRIV_COLOR]) & 0xFFFFFFFF,
        "image": str(v[K_PRIV_IMAGE] or ""),
        "hold": int(v[K_PRIV_HOLD]) / 1000.0,
        "cover_heads": bool(v[K_PRIV_HEADS]),
        "keep_face": str(v[K_PRIV_KEEP]),
        "stale_frames": int(v[K_PRIV_STALE]),
        "full_analysis": bool(v[K_PRIV_THOROUGH]),
    }


# ---------------------------------------------------------------------------- OBS glue
def read_values(lib: Any, data: int, labels: Sequence[str] = ()) -> Dict[str, Any]:
    """Read the FaceFX keys from an obs_data_t* into a plain dict (with the keys of the
    custom gesture labels, which get their defaults first)."""
    G.set_label_defaults(lib, data, labels)
    out: Dict[str, Any] = G.read_label_values(lib, data, labels)
    for key, default in DEFAULTS.items():
        out[key] = lib.get_typed(data, key, default)
    return out


def set_defaults(lib: Any, data: int) -> None:
    for key, default in DEFAULTS.items():
        lib.set_default_typed(data, key, default)


_VISIBLE_BY_MODE = {
    K_BG_BLUR: ("blur",),
    K_BG_IMAGE: ("image", "hologram"),
    K_BG_COLOR: ("color",),
    K_HOLO_COLOR: ("hologram",),
}


_VISIBLE_BY_PRIV_STYLE = {
    K_PRIV_BLUR: ("blur", "plate"),      # 'plate' blurs until a background is captured
    K_PRIV_BLOCK: ("pixelate",),
    K_PRIV_COLOR: ("color", "emoji"),    # 'emoji' shows the colour under the picture
    K_PRIV_IMAGE: ("emoji",),
    K_PRIV_CAPTURE: ("plate",),
}


def apply_privacy_visibility(lib: Any, props: int, style: str) -> None:
    for key, styles in _VISIBLE_BY_PRIV_STYLE.items():
        prop = lib.obs_properties_get(props, key.encode())
        if prop:
            lib.obs_property_set_visible(prop, (style or "blur") in styles)


def add_privacy_properties(lib: Any, p: int, fid: int, callbacks: Mapping[str, int],
                           style: Optional[str]) -> None:
    """The "Face privacy" group (checkable: its own key turns privacy on)."""
    b = lambda s: s.encode("utf-8")  # noqa: E731
    g = lib.obs_properties_create()
    styles = lib.obs_properties_add_list(g, b(K_PRIV_STYLE), b("Cover with"),
                                         OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for value, label in PRIV_STYLES:
        lib.obs_property_list_add_string(styles, b(label), b(value))
    lib.obs_property_set_modified_callback2(styles, callbacks["modified"], fid)
    shapes = lib.obs_properties_add_list(g, b(K_PRIV_SHAPE), b("Shape"),
                                         OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for value, label in PRIV_SHAPES:
        lib.obs_property_list_add_string(shapes, b(label), b(value))
    for key, label, lo_, hi, step, suffix in (
            (K_PRIV_MARGIN, "Margin around the face", 0, 100, 1, " %"),
            (K_PRIV_BLUR, "Blur strength", 1, 100, 1, " %"),
            (K_PRIV_BLOCK, "Block size", 2, 128, 1, " px"),
            (K_PRIV_HOLD, "Keep covering a lost face for", 0, 10000, 100, " ms"),
            (K_PRIV_STALE, "Cover the whole frame when analysis lags by more than", 1, 120, 1, " frames")):
        prop = lib.obs_properties_add_int_slider(g, b(key), b(label), lo_, hi, step)
        lib.obs_property_int_set_suffix(prop, b(suffix))
    lib.obs_properties_add_color(g, b(K_PRIV_COLOR), b("Colour"))
    lib.obs_properties_add_path(g, b(K_PRIV_IMAGE), b("Picture (PNG; empty = the bundled emoji)"),
                                OBS_PATH_FILE, b("PNG images (*.png);;All files (*.*)"), None)
    lib.obs_properties_add_bool(g, b(K_PRIV_HEADS), b("Cover heads the person mask shows without a detected face"))
    thorough = lib.obs_properties_add_bool(g, b(K_PRIV_THOROUGH), b("Thorough face search (several times the CPU)"))
    lib.obs_property_set_long_description(thorough, b(
        "Every frame with both face detectors and overlapping tiles, every face meshed, as recordings "
        "are analysed: finds small faces (people far from the camera) coming in at the frame's edges "
        "a few frames sooner."))
    keep = lib.obs_properties_add_list(g, b(K_PRIV_KEEP), b("Keep one face uncovered"),
                                       OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for value, label in KEEP_FACE_CHOICES:
        lib.obs_property_list_add_string(keep, b(label), b(value))
    cap = lib.obs_properties_add_button(g, b(K_PRIV_CAPTURE), b("Capture background (nobody in view)"),
                                        callbacks["button"])
    lib.obs_property_set_long_description(
        cap, b("Stores the current frame as the empty scene; covered faces then show it. Until one "
               "is captured, faces are blurred. A hotkey does the same."))
    lib.obs_properties_add_group(p, b(K_PRIVACY), b("Face privacy"), OBS_GROUP_CHECKABLE, g)
    apply_privacy_visibility(lib, g, style or "blur")


def apply_mode_visibility(lib: Any, props: int, mode: str) -> None:
    for key, modes in _VISIBLE_BY_MODE.items():
        prop = lib.obs_properties_get(props, key.encode())
        if prop:
            lib.obs_property_set_visible(prop, mode in modes)


def build_properties(lib: Any, fid: int, callbacks: Mapping[str, int], status: str,
                     status_kind: int, mode: Optional[str], labels: Sequence[str] = (),
                     values: Optional[Mapping[str, Any]] = None, privacy_style: Optional[str] = None) -> int:
    """Create the filter's obs_properties_t*.

    callbacks: stable C pointers from the registry ('button', 'modified'); fid is passed back to
    them as their private data."""
    p = lib.obs_properties_create()
    b = lambda s: s.encode("utf-8")  # noqa: E731

    status_prop = lib.obs_properties_add_text(p, b(K_STATUS), b(status), OBS_TEXT_INFO)
    lib.obs_property_text_set_info_type(status_prop, status_kind)
    lib.obs_property_text_set_info_word_wrap(status_prop, True)
    lib.obs_properties_add_button(p, b(K_REFRESH), b("Refresh status"), callbacks["button"])
    lib.obs_property_set_long_description(
        lib.obs_properties_get(p, b(K_REFRESH)),
        b("The status line shows the worker's state, the analysis rate, the time each stage "
          "takes, how many frames the mask lags the video, and the last error."))

    bg = lib.obs_properties_create()
    mode_list = lib.obs_properties_add_list(bg, b(K_BG_MODE), b("Background"),
                                            OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for value, label in BG_MODES:
        lib.obs_property_list_add_string(mode_list, b(label), b(value))
    lib.obs_property_set_modified_callback2(mode_list, callbacks["modified"], fid)
    blur = lib.obs_properties_add_int_slider(bg, b(K_BG_BLUR), b("Blur strength"), 0, 100, 1)
    lib.obs_property_int_set_suffix(blur, b(" %"))
    lib.obs_properties_add_path(bg, b(K_BG_IMAGE), b("Background image"), OBS_PATH_FILE,
                                b(IMAGE_FILTER), None)
    lib.obs_properties_add_color(bg, b(K_BG_COLOR), b("Background colour"))
    lib.obs_properties_add_color(bg, b(K_HOLO_COLOR), b("Hologram colour"))
    lib.obs_properties_add_group(p, b(K_BACKGROUND), b("Virtual background"), OBS_GROUP_CHECKABLE, bg)
    if mode:
        apply_mode_visibility(lib, bg, mode)

    seg = lib.obs_properties_create()
    model = lib.obs_properties_add_list(seg, b(K_SEG_MODEL), b("Model"),
                                        OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
    for value, label in SEG_MODELS:
        lib.obs_property_list_add_string(model, b(label), b(value))
    width = lib.obs_properties_add_int_slider(seg, b(K_SEG_WIDTH), b("Analysis width"), 128, 640, 16)
    lib.obs_property_int_set_suffix(width, b(" px"))
    for key, label, lo_, hi in ((K_SEG_SMOOTHING, "Mask smoothing", 0, 100),
                                (K_SEG_THRESHOLD, "Edge threshold", 5, 95),
                                (K_SEG_SOFTNESS, "Edge softness", 0, 100)):
        prop = lib.obs_properties_add_int_slider(seg, b(key), b(label), lo_, hi, 1)
        lib.obs_property_int_set_suffix(prop, b(" %"))
    lib.obs_properties_add_bool(seg, b(K_SEG_REFINE), b("Refine edges (hair, shoulders) at full resolution"))
    sync = lib.obs_properties_add_bool(seg, b(K_SYNC), b("Keep mask in sync (delays video)"))
    lib.obs_property_set_long_description(
        sync, b("Delays the video by the measured analysis latency (a few frames) so the mask "
                "lines up with the pixels exactly."))
    lib.obs_properties_add_group(p, b("segmentation"), b("Person segmentation"), OBS_GROUP_NORMAL, seg)

    G.add_group(lib, p, fid, callbacks, labels, values or {})
    add_expression_group(lib, p, callbacks)
    add_privacy_properties(lib, p, fid, callbacks, privacy_style)
    return p


def add_expression_group(lib: Any, p: int, callbacks: Mapping[str, int]) -> None:
    """The checkable "Expression emojis" group."""
    b = lambda s: s.encode("utf-8")  # noqa: E731
    g = lib.obs_properties_create()
    for key, label, choices in ((K_EXPR_MODE, "Show", EXPR_MODES), (K_EXPR_CORNER, "Panel corner", CORNER_CHOICES),
                                (K_FACES_DETECTOR, "Face detector", FACE_DETECTOR_CHOICES)):
        prop = lib.obs_properties_add_list(g, b(key), b(label), OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING)
        for value, text in choices:
            lib.obs_property_list_add_string(prop, b(text), b(value))
    lib.obs_properties_add_bool(g, b(K_EXPR_LABEL), b("Show the expression's name"))
    size = lib.obs_properties_add_int_slider(g, b(K_EXPR_SIZE), b("Emoji size (of the face)"), 20, 300, 5)
    lib.obs_property_int_set_suffix(size, b(" %"))
    lib.obs_properties_add_int_slider(g, b(K_FACES_MAX), b("Most faces"), 1, 8, 1)
    recal = lib.obs_properties_add_button(g, b(K_EXPR_RECALIBRATE), b("Recalibrate expression baseline"),
                                          callbacks["button"])
    lib.obs_property_set_long_description(
        recal, b("Each face's resting (neutral) look is learned over its first two seconds; press this "
                 "with a relaxed face to learn it again (also a hotkey)."))
    model = lib.obs_properties_add_path(g, b(K_EXPR_MODEL), b("Custom model (blank: bundled FER2013)"),
                                        OBS_PATH_FILE, b(MODEL_FILTER), None)
    lib.obs_property_set_long_description(
        model, b("A LiteRT model: FER layout (48x48 or 64x64 grayscale, 7 FER2013 classes) or a "
                 "Teachable Machine image export (224x224 RGB) with its labels.txt."))
    lib.obs_properties_add_path(g, b(K_EXPR_LABELS), b("Custom model's labels"), OBS_PATH_FILE,
                                b(LABELS_FILTER), None)
    for name in EXPRESSIONS:
        lib.obs_properties_add_path(g, b(emoji_key(name)), b("%s: custom emoji" % name.capitalize()),
                                    OBS_PATH_FILE, b(PNG_FILTER), None)
    lib.obs_properties_add_group(p, b(K_EXPRESSIONS), b("Expression emojis"), OBS_GROUP_CHECKABLE, g)



def describe(lib: Any, props: int) -> list:
    """[(name, description, visible, [children...]), ...] of an obs_properties_t* (tests)."""
    import ctypes as C
    out = []
    prop = C.c_void_p(lib.obs_properties_first(props))
    while prop.value:
        name = (lib.obs_property_name(prop) or b"").decode("utf-8", "replace")
        desc = (lib.obs_property_description(prop) or b"").decode("utf-8", "replace")
        group = lib.obs_property_group_content(prop)
        out.append([name, desc, bool(lib.obs_property_visible(prop)),
                    describe(lib, group) if group else []])
        if not lib.obs_property_next(C.byref(prop)):
            break
    return out
