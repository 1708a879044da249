"""Effect settings shared by the command line, the worker and the OBS filter.

Standard library only: the OBS side imports this module inside OBS's own interpreter. Settings
are frozen dataclasses validated once at construction, so a bad value is reported where it
enters (a command-line flag, an OBS property, a JSON file) and never deep inside a frame loop.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

BACKGROUND_MODES = ("none", "blur", "image", "color", "transparent", "hologram")
SEGMENTATION_MODELS = ("auto", "landscape", "general")

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
    refine: bool = True

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


@dataclass(frozen=True)
class Settings:
    """Everything one FaceFX filter (or one command-line run) is set to."""

    segmentation: SegmentationSettings = field(default_factory=SegmentationSettings)
    background: BackgroundSettings = field(default_factory=BackgroundSettings)

    def needs_segmentation(self) -> bool:
        return self.background.mode != "none"

    def replace(self, **sections: Any) -> "Settings":
        return dataclasses.replace(self, **sections)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["background"]["color"] = color_to_hex(self.background.color)
        d["background"]["hologram_color"] = color_to_hex(self.background.hologram_color)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        """Build from a nested mapping; unknown keys are errors (they are usually typos)."""
        if not isinstance(data, Mapping):
            raise SettingsError(f"settings must be an object with sections {{'segmentation', 'background'}}, got {data!r}")
        sections = {"segmentation": SegmentationSettings, "background": BackgroundSettings}
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
