"""Effect settings shared by the command line, the worker and the OBS filter.

Standard library only: the OBS side imports this module inside OBS's own interpreter. Settings
are frozen dataclasses validated once at construction, so a bad value is reported where it
enters (a command-line flag, an OBS property, a JSON file) and never deep inside a frame loop.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, FrozenSet, Mapping, Optional, Tuple

BACKGROUND_MODES = ("none", "blur", "image", "color", "transparent", "hologram")
SEGMENTATION_MODELS = ("auto", "landscape", "general")
PLACEMENTS = ("follow-hand", "corner", "fullscreen")
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
ANIMATIONS = ("hearts", "confetti", "fireworks", "balloons", "rain")
# Analysis stages an effect can ask for (Settings.stages()); the engine builds only these.
STAGES = ("segmentation", "hands", "gestures", "faces", "expressions", "heads")
FACE_DETECTORS = ("auto", "short", "full")
EXPRESSION_MODES = ("off", "beside", "replace", "panel")
PRIVACY_STYLES = ("off", "blur", "pixelate", "color", "emoji", "plate")
PRIVACY_SHAPES = ("ellipse", "rect")
KEEP_FACES = ("none", "largest", "center")
# Built-in gesture names (the same list as results.BUILTIN_GESTURES, kept here so settings stay
# importable on their own) and the default full-frame animation of those that have one.
BUILTIN_GESTURES = ("thumbs_up", "thumbs_down", "open_palm", "victory", "pointing_up", "fist", "ok",
                    "i_love_you", "heart_hands", "two_thumbs_up", "two_thumbs_down", "two_victories")
DEFAULT_ANIMATIONS = {"heart_hands": "hearts", "two_victories": "confetti", "two_thumbs_up": "fireworks",
                      "victory": "balloons", "two_thumbs_down": "rain"}
MAX_GESTURE_NAME_BYTES = 64   # results.MAX_NAME_BYTES: a name must fit the results record

RGB = Tuple[int, int, int]


class SettingsError(ValueError):
    """A setting has a value outside what FaceFX accepts; the message names both."""


def parse_color(value: Any) -> RGB:
    """Accept '#RRGGBB', 'RRGGBB', an (r, g, b) sequence, or OBS's 0xAABBGGRR integer."""
    if isinstance(value, str):
        m = re.fullmatch(r"#?([0-9a-fA-F]{6})", value.strip())
        if not m:
            raise SettingsError(f"colour {value!r} is not of the form '#RRGGBB'")
        h = m.group(1)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    if isinstance(value, bool):
        raise SettingsError(f"colour {value!r} is not of the form '#RRGGBB'")
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise SettingsError(f"colour {value} is outside 0..0xFFFFFFFF (OBS ABGR)")
        return (value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF)
    if isinstance(value, (tuple, list)) and len(value) == 3 and all(
            isinstance(c, int) and not isinstance(c, bool) for c in value):
        out = tuple(value)
        if all(0 <= c <= 255 for c in out):
            return out  # type: ignore[return-value]
    raise SettingsError(f"colour {value!r} is not '#RRGGBB' or three integers 0..255")


def color_to_hex(rgb: RGB) -> str:
    return "#%02X%02X%02X" % tuple(rgb)


def color_to_obs(rgb: RGB) -> int:
    """OBS colour properties store 0xAABBGGRR."""
    r, g, b = rgb
    return 0xFF000000 | (b << 16) | (g << 8) | r


def _check_range(name: str, value: Any, lo: float, hi: float, kind: type = float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")
    if kind is int and int(value) != value:
        raise SettingsError(f"{name} must be a whole number from {lo:g} to {hi:g}, got {value!r}")
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be from {lo:g} to {hi:g}, got {value!r}")


def _check_path(what: str, value: Any) -> None:
    if not isinstance(value, str):
        raise SettingsError(f"{what} must be a file path (or empty), got {value!r}")


def analysis_size(width: int, height: int, analysis_width: int) -> Tuple[int, int]:
    """Size a width x height frame is reduced to before analysis: analysis_width wide (never
    enlarged), aspect kept. The engine and the OBS filter's GPU downscale both use this."""
    aw = min(analysis_width, width)
    ah = max(2, int(round(height * aw / width)))
    return aw, ah


@dataclass(frozen=True)
class SegmentationSettings:
    """Person segmentation and mask post-processing.

    model: 'auto' (default: landscape for frames wider than 5:4, general for square and
        portrait ones), 'landscape' (256x144, faster) or 'general' (256x256).
    analysis_width: the width frames are downscaled to before analysis (height keeps aspect).
    smoothing: 0 = raw per-frame mask, 1 = strongest temporal smoothing. Smoothing adapts to
        motion per pixel, so a still person does not flicker and a moving one does not ghost.
    threshold: mask level (0..1) treated as the person's edge.
    softness: width of the edge transition (0 = hard cut, 1 = very soft).
    refine: refine the edge at full resolution guided by the frame's colours, and remove the
        old background's colour from partly covered pixels.
    """

    model: str = "auto"
    analysis_width: int = 256
    smoothing: float = 0.6
    threshold: float = 0.5
    softness: float = 0.35
    refine: bool = False

    def __post_init__(self) -> None:
        if self.model not in SEGMENTATION_MODELS:
            raise SettingsError(
                f"segmentation model must be one of {', '.join(SEGMENTATION_MODELS)}, got {self.model!r}")
        _check_range("analysis width", self.analysis_width, 64, 1920, int)
        _check_range("mask smoothing", self.smoothing, 0.0, 1.0)
        _check_range("mask threshold", self.threshold, 0.05, 0.95)
        _check_range("edge softness", self.softness, 0.0, 1.0)
        if not isinstance(self.refine, bool):
            raise SettingsError(f"edge refinement must be true or false, got {self.refine!r}")


def model_for_frame(model: str, width: int, height: int) -> str:
    """The segmentation model to run on a width x height frame: 'auto' picks the landscape
    model (trained on 16:9 input) for frames wider than 5:4 and the general (square) one for
    square and portrait frames, which the landscape model would squash."""
    if model != "auto":
        return model
    return "landscape" if width * 4 > height * 5 else "general"


@dataclass(frozen=True)
class BackgroundSettings:
    """Virtual background. The person is always drawn untouched except in 'hologram'.

    blur: strength 0..100 (Gaussian sigma of 0..4% of the frame height).
    image: path of the background picture (any size and aspect; cover-fit, alpha ignored).
    color: solid background colour.
    hologram_color: tint of the hologram person.
    """

    mode: str = "none"
    blur: float = 50.0
    image: str = ""
    color: RGB = (0, 177, 64)
    hologram_color: RGB = (70, 190, 255)

    def __post_init__(self) -> None:
        if self.mode not in BACKGROUND_MODES:
            raise SettingsError(
                f"background mode must be one of {', '.join(BACKGROUND_MODES)}, got {self.mode!r}")
        _check_range("blur strength", self.blur, 0, 100)
        if not isinstance(self.image, str):
            raise SettingsError(f"background image must be a file path, got {self.image!r}")
        object.__setattr__(self, "color", parse_color(self.color))
        object.__setattr__(self, "hologram_color", parse_color(self.hologram_color))
        if self.mode == "image" and not self.image:
            raise SettingsError("background mode 'image' needs a background image path")


def _check_gesture_name(what: str, name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name.encode("utf-8")) > MAX_GESTURE_NAME_BYTES:
        raise SettingsError(f"{what} must be a gesture name of 1 to {MAX_GESTURE_NAME_BYTES} bytes "
                            f"(built-in: {', '.join(BUILTIN_GESTURES)}; or a custom model's label), got {name!r}")


def _check_sticker(gesture: str, value: Any) -> None:
    """A sticker is a PNG path or the name of a bundled sticker (letters, digits, '_', '-')."""
    if not isinstance(value, str):
        raise SettingsError(f"sticker for {gesture!r} must be an image path or a built-in sticker name, got {value!r}")
    if value and not re.fullmatch(r"[A-Za-z0-9_-]+", value) and not value.lower().endswith(".png"):
        raise SettingsError(f"sticker for {gesture!r} must be a .png path (RGBA) or a built-in sticker name "
                            f"such as 'thumbs_up', got {value!r}")


@dataclass(frozen=True)
class GestureEffect:
    """What one gesture shows when it fires.

    gesture: the gesture's name (built-in or a custom model's label).
    sticker: a .png path (RGBA) or a built-in sticker name; '' = the bundled sticker of the same
        name as the gesture.
    placement: 'follow-hand' (sticker above the hand, following it), 'corner' (a fixed corner)
        or 'fullscreen' (a full-frame animation).
    corner: which corner for 'corner'.
    animation: the full-frame animation for 'fullscreen' (hearts, confetti, fireworks, balloons,
        rain).
    size: sticker height as a fraction of the frame height.
    duration: seconds the sticker or animation stays, its enter and exit included.
    hold, cooldown: seconds; None = the gestures section's defaults.
    """

    gesture: str
    sticker: str = ""
    placement: str = "follow-hand"
    corner: str = "top-right"
    animation: str = ""
    size: float = 0.25
    duration: float = 2.5
    hold: Optional[float] = None
    cooldown: Optional[float] = None

    def __post_init__(self) -> None:
        _check_gesture_name("gesture", self.gesture)
        _check_sticker(self.gesture, self.sticker)
        if self.placement not in PLACEMENTS:
            raise SettingsError(f"placement for {self.gesture!r} must be one of {', '.join(PLACEMENTS)}, "
                                f"got {self.placement!r}")
        if self.corner not in CORNERS:
            raise SettingsError(f"corner for {self.gesture!r} must be one of {', '.join(CORNERS)}, got {self.corner!r}")
        if self.placement == "fullscreen":
            if self.animation not in ANIMATIONS:
                raise SettingsError(f"placement 'fullscreen' for {self.gesture!r} needs an animation, one of "
                                    f"{', '.join(ANIMATIONS)}, got {self.animation!r}")
        elif self.animation:
            raise SettingsError(f"animation {self.animation!r} for {self.gesture!r} needs placement 'fullscreen', "
                                f"got {self.placement!r}")
        _check_range(f"sticker size for {self.gesture!r}", self.size, 0.02, 1.0)
        _check_range(f"duration for {self.gesture!r}", self.duration, 0.1, 30.0)
        if self.hold is not None:
            _check_range(f"hold time for {self.gesture!r}", self.hold, 0.0, 5.0)
        if self.cooldown is not None:
            _check_range(f"cooldown for {self.gesture!r}", self.cooldown, 0.0, 600.0)


CUSTOM_GESTURE_STICKER = "sparkles"   # the bundled sticker of a custom model's or a taught gesture


def default_effect(gesture: str) -> GestureEffect:
    """The effect a gesture has unless configured: its full-frame animation when it has one,
    else its bundled sticker above the hand (sparkles for a custom model's or a taught gesture,
    which has no sticker of its own)."""
    anim = DEFAULT_ANIMATIONS.get(gesture)
    if anim:
        return GestureEffect(gesture, placement="fullscreen", animation=anim)
    return GestureEffect(gesture, sticker="" if gesture in BUILTIN_GESTURES else CUSTOM_GESTURE_STICKER)


@dataclass(frozen=True)
class GestureSettings:
    """Gesture-triggered stickers and animations.

    enabled: master switch (hand tracking runs only when on and at least one gesture is enabled).
    gestures: the gestures that may fire (built-in names or custom labels), in order.
    effects: per-gesture GestureEffect overrides; an enabled gesture without one gets
        default_effect(). In a settings file: {"thumbs_up": {"sticker": ..., ...}, ...}.
    hold: seconds a gesture must be held before it fires (default 0.5).
    cooldown: seconds after firing before the same gesture may fire again.
    arming_ring: show a small ring filling while a gesture is being held.
    paused: no gesture fires (a hotkey / preview key toggles it).
    model: a custom gesture model (.tflite: Teachable Machine image export or a landmark
        classifier); '' = built-in rules only. Its labels are gesture names: enable them in
        `gestures` and give them stickers in `effects`; a background/"none" label fires nothing.
    labels: the model's labels file; '' = found beside the model.
    """

    enabled: bool = False
    gestures: Tuple[str, ...] = BUILTIN_GESTURES
    effects: Tuple[GestureEffect, ...] = ()
    hold: float = 0.5
    cooldown: float = 3.0
    arming_ring: bool = True
    paused: bool = False
    model: str = ""
    labels: str = ""

    def __post_init__(self) -> None:
        for name in ("enabled", "arming_ring", "paused"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"gestures {name} must be true or false, got {getattr(self, name)!r}")
        for name in ("model", "labels"):
            _check_path(f"gestures {name}", getattr(self, name))
        if self.labels and not self.model:
            raise SettingsError("gestures labels needs a gestures model (a .tflite file) to go with it")
        if isinstance(self.gestures, str) or not isinstance(self.gestures, (tuple, list)):
            raise SettingsError(f"enabled gestures must be a list of gesture names, got {self.gestures!r}")
        for g in self.gestures:
            _check_gesture_name("enabled gesture", g)
        dup = sorted({g for g in self.gestures if list(self.gestures).count(g) > 1})
        if dup:
            raise SettingsError(f"enabled gestures list {dup} more than once; expected each name once")
        object.__setattr__(self, "gestures", tuple(self.gestures))
        effects = self.effects
        if isinstance(effects, Mapping):
            effects = tuple(_effect_from(name, value) for name, value in effects.items())
        if not isinstance(effects, (tuple, list)) or not all(isinstance(e, GestureEffect) for e in effects):
            raise SettingsError(f"gesture effects must map gesture names to effect settings, got {self.effects!r}")
        names = [e.gesture for e in effects]
        if len(set(names)) != len(names):
            raise SettingsError(f"gesture effects name {sorted({n for n in names if names.count(n) > 1})} more than once")
        object.__setattr__(self, "effects", tuple(effects))
        _check_range("gesture hold time", self.hold, 0.0, 5.0)
        _check_range("gesture cooldown", self.cooldown, 0.0, 600.0)

    def effect(self, gesture: str) -> GestureEffect:
        """The effect of a gesture, with the section's hold and cooldown filled in."""
        for e in self.effects:
            if e.gesture == gesture:
                break
        else:
            e = default_effect(gesture)
        return dataclasses.replace(e, hold=self.hold if e.hold is None else e.hold,
                                   cooldown=self.cooldown if e.cooldown is None else e.cooldown)

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.gestures)

    def trigger_settings(self) -> Any:
        """The one mapping from these settings to facefx.triggers.TriggerSettings (the Scene,
        `facefx eval gestures` and the OBS side all build their TriggerBank from it)."""
        from .triggers import TriggerSettings
        return TriggerSettings(hold=self.hold, cooldown=self.cooldown, enabled=frozenset(self.gestures),
                               holds={e.gesture: e.hold for e in self.effects if e.hold is not None},
                               cooldowns={e.gesture: e.cooldown for e in self.effects if e.cooldown is not None})

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["gestures"] = list(self.gestures)
        d["effects"] = {e.gesture: {k: v for k, v in dataclasses.asdict(e).items() if k != "gesture"}
                        for e in self.effects}
        return d


def _effect_from(name: Any, value: Any) -> GestureEffect:
    if not isinstance(value, Mapping):
        raise SettingsError(f"effect for gesture {name!r} must be an object of effect settings, got {value!r}")
    allowed = {f.name for f in dataclasses.fields(GestureEffect)} - {"gesture"}
    bad = set(value) - allowed
    if bad:
        raise SettingsError(f"unknown effect setting(s) {sorted(bad)} for gesture {name!r}; expected some of {sorted(allowed)}")
    _check_gesture_name("gesture", name)
    fields = dataclasses.asdict(default_effect(name))
    if "placement" in value and value["placement"] != "fullscreen" and "animation" not in value:
        fields["animation"] = ""
    fields.update(value)
    return GestureEffect(**fields)


@dataclass(frozen=True)
class FaceSettings:
    """Face detection and tracking, shared by expression emojis and face privacy.

    detector: 'auto' (short-range first, full-range too when faces are small or none is found),
        'short' (faces near the camera) or 'full' (faces up to ~5 m away).
    max_faces: faces tracked per frame (the rest are ignored by expressions; privacy still
        covers every face the detector finds).
    min_score: detection confidence below which a box is ignored.
    detect_every: the detector runs on every n-th frame; in between each face is followed by
        its face mesh (cheaper than a detector pass), so a face that enters shows up within
        n frames. 1 = detect on every frame.
    """

    detector: str = "auto"
    max_faces: int = 4
    min_score: float = 0.5
    detect_every: int = 3

    def __post_init__(self) -> None:
        if self.detector not in FACE_DETECTORS:
            raise SettingsError(f"face detector must be one of {', '.join(FACE_DETECTORS)}, got {self.detector!r}")
        _check_range("max faces", self.max_faces, 1, 8, int)
        _check_range("face detection confidence", self.min_score, 0.05, 0.95)
        _check_range("face detection interval", self.detect_every, 1, 30, int)


@dataclass(frozen=True)
class ExpressionSettings:
    """Expression emojis.

    mode: 'off', 'beside' (an emoji beside each face, following and scaling with the head),
        'replace' (the emoji covers each face, turned with the head) or 'panel' (the main
        face's emoji large in a corner, with its label).
    label: also write the expression's name.
    model, labels: a custom LiteRT expression model (FER layout or a Teachable Machine image
        export) and its labels file ('' = beside the model); '' = the bundled FER2013 CNN.
    emojis: label -> image path (.png, RGBA) overrides of the bundled emoji set; in a settings
        file {"happy": "my_happy.png", ...}.
    size: emoji size relative to the face (1 = the face box's height).
    corner: the panel's corner.
    min_confidence: below it a face in a video keeps its last (or the neutral) emoji (a photo shows
        its most likely expression).
    """

    mode: str = "off"
    label: bool = False
    model: str = ""
    labels: str = ""
    emojis: Tuple[Tuple[str, str], ...] = ()
    size: float = 1.0
    corner: str = "top-right"
    min_confidence: float = 0.4

    def __post_init__(self) -> None:
        if self.mode not in EXPRESSION_MODES:
            raise SettingsError(f"expression mode must be one of {', '.join(EXPRESSION_MODES)}, got {self.mode!r}")
        if not isinstance(self.label, bool):
            raise SettingsError(f"expression label must be true or false, got {self.label!r}")
        _check_path("expression model", self.model)
        _check_path("expression labels", self.labels)
        if self.labels and not self.model:
            raise SettingsError("expression labels needs an expression model (a .tflite file) to go with it")
        emojis = self.emojis
        if isinstance(emojis, Mapping):
            emojis = tuple(emojis.items())
        if not isinstance(emojis, (tuple, list)) or not all(
                isinstance(e, (tuple, list)) and len(e) == 2 for e in emojis):
            raise SettingsError(f"expression emojis must map labels to .png paths, got {self.emojis!r}")
        for name, path in emojis:
            if not isinstance(name, str) or not name.strip() or len(name.encode("utf-8")) > MAX_GESTURE_NAME_BYTES:
                raise SettingsError(f"expression label must be 1 to {MAX_GESTURE_NAME_BYTES} bytes (angry, disgust, "
                                    f"fear, happy, sad, surprise, neutral, or a custom model's label), got {name!r}")
            if not isinstance(path, str) or not path.lower().endswith(".png"):
                raise SettingsError(f"emoji for expression {name!r} must be a .png path (RGBA), got {path!r}")
        object.__setattr__(self, "emojis", tuple((str(n), str(p)) for n, p in emojis))
        _check_range("expression emoji size", self.size, 0.2, 3.0)
        if self.corner not in CORNERS:
            raise SettingsError(f"expression panel corner must be one of {', '.join(CORNERS)}, got {self.corner!r}")
        _check_range("expression confidence", self.min_confidence, 0.0, 1.0)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["emojis"] = dict(self.emojis)
        return d


@dataclass(frozen=True)
class PrivacySettings:
    """Face privacy: every face covered, failing closed (cover rather than leak).

    style: 'off', 'blur', 'pixelate', 'color', 'emoji' (an emoji or picture over the face) or
        'plate' (the captured empty-scene background shows instead of the face).
    shape: 'ellipse' or 'rect'; margin: extra size around the face box (0.25 = 25% each way).
    blur: blur strength 0..100; block: pixelate block size in output pixels; color: solid
        colour; image: the picture for 'emoji' ('' = the bundled neutral emoji).
    hold: seconds a face keeps its cover after detection loses it (enlarged the way it moved).
    cover_heads: cover a head the person mask shows where no face is detected.
    keep_face: 'none' (cover everyone), 'largest' or 'center': leave that one face uncovered.
    stale_frames: results older than this many frames cover the whole frame.
    full_analysis: analyse every frame fully (no frame skipping) - for recordings.
    """

    style: str = "off"
    shape: str = "ellipse"
    margin: float = 0.25
    blur: float = 70.0
    block: int = 16
    color: RGB = (0, 0, 0)
    image: str = ""
    hold: float = 1.0
    cover_heads: bool = True
    keep_face: str = "none"
    stale_frames: int = 5
    full_analysis: bool = False

    def __post_init__(self) -> None:
        if self.style not in PRIVACY_STYLES:
            raise SettingsError(f"privacy style must be one of {', '.join(PRIVACY_STYLES)}, got {self.style!r}")
        if self.shape not in PRIVACY_SHAPES:
            raise SettingsError(f"privacy shape must be one of {', '.join(PRIVACY_SHAPES)}, got {self.shape!r}")
        _check_range("privacy margin", self.margin, 0.0, 1.0)
        _check_range("privacy blur strength", self.blur, 1, 100)
        _check_range("privacy block size", self.block, 2, 128, int)
        object.__setattr__(self, "color", parse_color(self.color))
        _check_path("privacy image", self.image)
        if self.image and not self.image.lower().endswith(".png"):
            raise SettingsError(f"privacy image must be a .png path (RGBA), got {self.image!r}")
        _check_range("privacy hold time", self.hold, 0.0, 10.0)
        if self.keep_face not in KEEP_FACES:
            raise SettingsError(f"privacy keep-face must be one of {', '.join(KEEP_FACES)}, got {self.keep_face!r}")
        _check_range("privacy stale frames", self.stale_frames, 1, 120, int)
        for name in ("cover_heads", "full_analysis"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"privacy {name} must be true or false, got {getattr(self, name)!r}")

    @property
    def active(self) -> bool:
        return self.style != "off"


@dataclass(frozen=True)
class Settings:
    """Everything one FaceFX filter (or one command-line run) is set to."""

    segmentation: SegmentationSettings = field(default_factory=SegmentationSettings)
    background: BackgroundSettings = field(default_factory=BackgroundSettings)
    gestures: GestureSettings = field(default_factory=GestureSettings)
    faces: FaceSettings = field(default_factory=FaceSettings)
    expressions: ExpressionSettings = field(default_factory=ExpressionSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    def stages(self) -> FrozenSet[str]:
        """The analysis stages the enabled effects need (a subset of STAGES); empty = no effect
        is on and frames pass through without analysis."""
        out = set()
        if self.background.mode != "none":
            out.add("segmentation")
        if self.gestures.active:
            out.update(("hands", "gestures"))
        if self.expressions.active:
            out.update(("faces", "expressions"))
        if self.privacy.active:
            out.add("faces")
            if self.privacy.cover_heads:
                out.update(("segmentation", "heads"))   # a head the mask shows but no detection found
        return frozenset(out)

    def needs_segmentation(self) -> bool:
        """Kept for callers not yet moved to stages() (the OBS filter)."""
        return "segmentation" in self.stages()

    def replace(self, **sections: Any) -> "Settings":
        return dataclasses.replace(self, **sections)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["background"]["color"] = color_to_hex(self.background.color)
        d["background"]["hologram_color"] = color_to_hex(self.background.hologram_color)
        d["gestures"] = self.gestures.to_dict()
        d["expressions"] = self.expressions.to_dict()
        d["privacy"]["color"] = color_to_hex(self.privacy.color)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        """Build from a nested mapping; unknown keys are errors (they are usually typos)."""
        if not isinstance(data, Mapping):
            raise SettingsError(f"settings must be an object with sections {{'segmentation', 'background', 'gestures', 'faces', 'expressions', 'privacy'}}, got {data!r}")
        sections = {"segmentation": SegmentationSettings, "background": BackgroundSettings,
                    "gestures": GestureSettings, "faces": FaceSettings, "expressions": ExpressionSettings,
                    "privacy": PrivacySettings}
        unknown = set(data) - set(sections)
        if unknown:
            raise SettingsError(f"unknown settings section(s) {sorted(unknown)}; expected {sorted(sections)}")
        kwargs = {}
        for name, klass in sections.items():
            section = data.get(name) or {}
            if not isinstance(section, Mapping):
                raise SettingsError(f"settings section {name!r} must be an object of settings, got {section!r}")
            values = dict(section)
            allowed = {f.name for f in dataclasses.fields(klass)}
            bad = set(values) - allowed
            if bad:
                raise SettingsError(f"unknown {name} setting(s) {sorted(bad)}; expected some of {sorted(allowed)}")
            kwargs[name] = klass(**values)
        return cls(**kwargs)
