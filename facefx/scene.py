"""Analysis + settings + time -> RenderPlan: *what* to draw, shared by both renderers.

Standard library only, so the OBS-side GPU renderer and the CPU renderer (numpy/OpenCV) read
the same plan. The plan names geometry and parameters; it never holds rendered pixels except
the small person mask produced by analysis (an opaque array-like object here).

A Scene is the per-stream state between analysis and rendering: it receives results as they
arrive (scene.update(result, t)), owns the gesture trigger state and the stickers and
animations that are playing, and produces the plan for any output time (scene.plan(t, w, h)).
Everything time-driven (hologram scan lines, sticker enter/exit, animations) is computed from
the output frame's time, not the analysis rate, so it stays smooth at 60 fps while analysis
runs at 15-30.
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .expression_plan import ExpressionPlanner
from .settings import RGB, GestureEffect, GestureSettings, Settings

log = logging.getLogger(__name__)

# Blur: sigma as a fraction of frame height at strength 100, and the target sigma (in pixels of
# the downscaled image) that decides how far the blur pass downscales first. Both renderers use
# blur_geometry() so their outputs agree.
BLUR_SIGMA_AT_100 = 0.04
BLUR_TARGET_SMALL_SIGMA = 1.5
BLUR_MAX_DOWNSCALE = 16


@dataclass(frozen=True)
class BlurGeometry:
    downscale: int          # integer factor the frame is reduced by before blurring
    small_size: Tuple[int, int]
    sigma_small: float      # Gaussian sigma in small-image pixels
    ksize: int              # odd kernel size for sigma_small


def blur_geometry(strength: float, width: int, height: int) -> BlurGeometry:
    """Blur size for a frame. The downscale factor is a power of two so the reduction is a
    chain of exact 2x bilinear halvings (each a 2x2 box average), which a GPU does the same way
    and which does not alias the way one large bilinear step would."""
    sigma = max(0.0, float(strength)) / 100.0 * BLUR_SIGMA_AT_100 * height
    ds = 1
    while ds * 2 <= BLUR_MAX_DOWNSCALE and sigma / (ds * 2) >= BLUR_TARGET_SMALL_SIGMA:
        ds *= 2
    sw, sh = max(1, -(-width // ds)), max(1, -(-height // ds))
    s_small = sigma / ds
    ksize = 2 * int(math.ceil(3.0 * s_small)) + 1 if s_small > 0 else 1
    return BlurGeometry(ds, (sw, sh), s_small, ksize)


def edge_bounds(threshold: float, softness: float) -> Tuple[float, float]:
    """Mask levels (0..1) where the person's edge starts and ends: coverage is
    smoothstep(lo, hi, mask) after the mask is upsampled to the frame size. Applying the edge
    after upsampling keeps outlines smooth instead of stair-stepped at analysis resolution."""
    half = max(softness * 0.25, 0.5 / 255.0)
    return (threshold - half, threshold + half)


@dataclass(frozen=True)
class Hologram:
    """Parameters of the hologram look at one instant (the same for both renderers)."""

    tint: RGB
    scan_period: float      # scan-line period in output pixels
    scan_phase: float       # scan-line offset in pixels (scrolls with time)
    scan_depth: float       # 0..1 darkening at the darkest point of a scan line
    ghost_offset: int       # horizontal offset of the ghost copy, output pixels
    ghost_alpha: float      # opacity of the ghost copy
    brightness: float       # global flicker factor
    opacity: float          # opacity of the hologram person over the background


@dataclass(frozen=True)
class BackgroundLayer:
    mode: str                           # one of settings.BACKGROUND_MODES except 'none'
    blur: Optional[BlurGeometry] = None
    color: RGB = (0, 0, 0)
    image: str = ""
    hologram: Optional[Hologram] = None


@dataclass(frozen=True)
class Sprite:
    """An image drawn over the frame (a sticker, an animation particle, an emoji).

    image: the image's key: a PNG file path (RGBA; straight alpha), resolved and cached by each
        renderer (both renderers load the same file the same way).
    x, y: centre in output pixels; width, height: drawn size in output pixels.
    rotation: degrees, positive = clockwise on screen; opacity: 0..1 multiplies the alpha.
    """

    image: str
    x: float
    y: float
    width: float
    height: float
    rotation: float = 0.0
    opacity: float = 1.0


@dataclass(frozen=True)
class Ring:
    """A progress ring (the "arming" ring that shows a gesture being recognised).

    x, y: centre in output pixels; radius and thickness in output pixels; progress 0..1 is the
    filled fraction, drawn clockwise from 12 o'clock; color RGB; opacity 0..1.
    """

    x: float
    y: float
    radius: float
    thickness: float
    progress: float
    color: RGB = (255, 255, 255)
    opacity: float = 1.0


@dataclass(frozen=True)
class Cover:
    """A region face privacy hides (a face, a head, or the whole frame when results are stale).

    x, y: centre in output pixels; width, height: full size in output pixels; rotation: degrees,
        positive = clockwise on screen (a rotated ellipse follows head roll).
    shape: 'ellipse' or 'rect' (settings.PRIVACY_SHAPES).
    style: 'blur', 'pixelate', 'color', 'emoji' or 'plate' (settings.PRIVACY_STYLES but 'off').
    strength: the blur's Gaussian sigma or the pixelate block size, in output pixels.
    color: the 'color' fill (and the fallback of every style whose source is missing).
    image: the picture for 'emoji' (a PNG path, like Sprite.image); for 'plate' the renderer
        uses the captured plate it holds (the plan never carries pixels).
    """

    x: float
    y: float
    width: float
    height: float
    shape: str = "ellipse"
    style: str = "blur"
    strength: float = 16.0
    color: RGB = (0, 0, 0)
    image: str = ""
    rotation: float = 0.0


@dataclass(frozen=True)
class Label:
    """A line of text (an expression's name): centre x, y and text height in output pixels,
    colour RGB, drawn on a rounded dark plate for contrast."""

    text: str
    x: float
    y: float
    height: float
    color: RGB = (255, 255, 255)
    opacity: float = 1.0


@dataclass(frozen=True)
class RenderPlan:
    """What to draw over one output frame.

    mask: smoothed person probability from analysis (uint8, 255 = person) at analysis size,
        or None when no analysis result exists yet. Renderers upsample it bilinearly to the
        frame size, then map it through smoothstep(edge[0], edge[1], m) to get coverage.
    alpha_output: the frame's alpha carries the mask (transparent cut-out).
    refine: refine the upsampled mask at full resolution guided by the frame and remove the
        old background's colour at partial coverage (facefx/render/refine.py).
    covers: Cover items (face privacy), drawn right after the background, before everything
        else, so no sticker or emoji can uncover a face.
    sprites: Sprite items (stickers, animation particles, emojis), drawn in order after covers.
    labels: Label items (expression names), drawn after sprites.
    rings: Ring items (gesture arming progress), drawn last.
    notice: a short reason shown in status lines when the plan is degraded on purpose (e.g.
        "privacy: whole frame covered, analysis is starting").
    """

    width: int
    height: int
    time: float
    background: Optional[BackgroundLayer] = None
    mask: Any = None
    edge: Tuple[float, float] = (0.4125, 0.5875)
    alpha_output: bool = False
    refine: bool = False
    covers: Tuple[Cover, ...] = field(default_factory=tuple)
    sprites: Tuple[Any, ...] = field(default_factory=tuple)
    labels: Tuple[Label, ...] = field(default_factory=tuple)
    rings: Tuple[Ring, ...] = field(default_factory=tuple)
    notice: str = ""

    @property
    def passthrough(self) -> bool:
        """Nothing to draw: the renderer may return the frame untouched."""
        return (self.background is None and not self.covers and not self.sprites and not self.labels
                and not self.rings)


def hologram_at(tint: RGB, t: float, height: int) -> Hologram:
    period = max(3.0, height / 120.0)
    # Flicker: two incommensurate sines read as irregular without randomness, so both renderers
    # and tests agree exactly for a given time.
    flicker = 0.94 + 0.04 * math.sin(t * 13.0) + 0.02 * math.sin(t * 37.0)
    return Hologram(
        tint=tint,
        scan_period=period,
        scan_phase=(t * period * 4.0) % period,
        scan_depth=0.35,
        ghost_offset=max(1, int(round(height / 90.0))),
        ghost_alpha=0.25,
        brightness=flicker,
        opacity=0.85,
    )


def background_layer(mask: Any, settings: Settings, t: float, width: int, height: int) -> dict:
    """The background part of a plan (RenderPlan keyword arguments); empty when the background
    is off or no mask exists yet. Without a mask the transparent cut-out too shows the frame
    opaque until the first mask arrives, rather than hiding the person."""
    bg = settings.background
    if bg.mode == "none" or mask is None:
        return {}
    layer: BackgroundLayer
    if bg.mode == "blur":
        layer = BackgroundLayer("blur", blur=blur_geometry(bg.blur, width, height))
    elif bg.mode == "image":
        layer = BackgroundLayer("image", image=bg.image)
    elif bg.mode == "color":
        layer = BackgroundLayer("color", color=bg.color)
    elif bg.mode == "transparent":
        layer = BackgroundLayer("transparent")
    else:  # hologram: over the background image if one is set, else over the live frame
        layer = BackgroundLayer("hologram", image=bg.image,
                                hologram=hologram_at(bg.hologram_color, t, height))
    seg = settings.segmentation
    return dict(background=layer, mask=mask, edge=edge_bounds(seg.threshold, seg.softness),
                alpha_output=bg.mode == "transparent", refine=seg.refine)


def build_plan(analysis: Any, settings: Settings, t: float, width: int, height: int) -> RenderPlan:
    """The background-only plan of one analysis (no gesture state): for callers that render
    single pictures. Streams use a Scene."""
    mask = getattr(analysis, "mask", None) if analysis is not None else None
    return RenderPlan(width, height, t, **background_layer(mask, settings, t, width, height))


# -- the per-stream Scene ---------------------------------------------------------------------

# Where a corner sticker sits (normalised anchor: the corner itself; the sticker is inset).
CORNER_ANCHORS = {"top-left": (0.0, 0.0), "top-right": (1.0, 0.0), "bottom-left": (0.0, 1.0),
                  "bottom-right": (1.0, 1.0)}
RING_RADIUS = 0.045        # fractions of the frame height
RING_THICKNESS = 0.009
RING_COLOR: RGB = (255, 255, 255)
STICKER_LIFT = 0.6         # a hand sticker's centre sits this many sticker heights above the hand
# A still picture shows a gesture's sticker this far into its duration (at least STILL_MIN_AGE s:
# past the pop-in) and a full-frame animation in full flow (Scene._fire_still).
STILL_AGE = 0.4
STILL_MIN_AGE = 0.5
FADE_S = 0.2               # enter/exit of the stand-in sticker (facefx.animations has its own)


def sticker_path(effect: GestureEffect) -> str:
    """The image file of a gesture's sticker: a path as given, or a bundled sticker by name
    ('' = the sticker named like the gesture)."""
    name = effect.sticker or effect.gesture
    if name.lower().endswith(".png"):
        return name
    # facefx.animations resolves the bundled pack both installed (facefx.stickers) and from the
    # source checkout OBS imports, where the artwork is the top-level stickers/ folder.
    from .animations import bundled_sticker
    return bundled_sticker(name + ".png")


def hand_anchor(hands: Sequence[Any], indices: Sequence[int]) -> Optional[Tuple[float, float]]:
    """Top centre of the given hands (normalised): where a sticker that follows them sits."""
    pts = [p for i in indices if 0 <= i < len(hands) for p in hands[i].landmarks]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), min(p[1] for p in pts))


def hand_centre(hands: Sequence[Any], indices: Sequence[int]) -> Optional[Tuple[float, float]]:
    pts = [p for i in indices if 0 <= i < len(hands) for p in hands[i].landmarks]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


class _StandInAnimations:
    """Used when facefx.animations is absent: a still sticker with a short fade, no full-frame
    animations. Same interface as facefx.animations."""

    @staticmethod
    def sprites(kind: str, age: float, duration: float, width: int, height: int, seed: int = 0) -> List[Sprite]:
        return []

    @staticmethod
    def sticker(image: str, placement: str, anchor: Optional[Tuple[float, float]], age: float, duration: float,
                size: float, width: int, height: int) -> Optional[Sprite]:
        if not 0.0 <= age < duration or (placement == "hand" and anchor is None):
            return None
        side = size * height
        if placement == "hand":
            x, y = anchor  # type: ignore[misc]
        else:
            margin = 0.04 * height + side / 2
            x = margin if placement.endswith("left") else width - margin
            y = margin if placement.startswith("top") else height - margin
        opacity = min(1.0, age / FADE_S, (duration - age) / FADE_S)
        return Sprite(image, x, y, side, side, 0.0, max(0.0, opacity))


def _import(module: str, attr: Optional[str] = None) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None
    return getattr(mod, attr) if attr else mod


def _default_triggers() -> Optional[Callable[[GestureSettings], Any]]:
    """TriggerBank built from GestureSettings.trigger_settings() (None without facefx.triggers)."""
    bank = _import("facefx.triggers", "TriggerBank")
    if bank is None:
        return None
    return lambda g: bank(g.trigger_settings())


def _trigger_relevant(g: GestureSettings) -> GestureSettings:
    """The gestures settings minus `paused`, which pauses the bank without resetting it."""
    return dataclasses.replace(g, paused=False)


@dataclass
class _Playing:
    """A sticker or animation that fired and has not finished."""

    effect: GestureEffect
    start: float
    seed: int
    handedness: Tuple[str, ...]
    anchor: Tuple[float, float]
    image: str


class Scene:
    """Per-stream state from analysis results to render plans. Standard library only.

    update(result, t) takes each analysis result when it arrives (an Analysis, or anything with
    `hands`/`gestures`, and `mask` when it carries one; a result without a `mask` attribute keeps
    the last mask); plan(t, width, height) gives what to draw at any output time t. Both times are
    seconds on the same clock. Not thread-safe: one owner (the render loop) calls both.

    triggers: factory TriggerBank(gesture_settings) -> bank with .update(hits, t) -> [Fired],
        .arming(t) -> [Arming] and a .paused flag; default facefx.triggers.TriggerBank. Without
        one no gesture fires (everything else still works).
    animations: an object with sprites(kind, age, duration, width, height, seed) and
        sticker(image, placement, anchor, age, duration, size, width, height), placement 'hand'
        (anchor: the sticker's centre in output pixels) or a corner name (anchor None), as
        facefx.animations has them; default facefx.animations, else a still-sticker stand-in.
    """

    MAX_PLAYING = 12

    def __init__(self, settings: Settings, *, triggers: Optional[Callable[[GestureSettings], Any]] = None,
                 animations: Any = None) -> None:
        self._trigger_factory = triggers if triggers is not None else _default_triggers()
        self.animations = animations if animations is not None else (
            _import("facefx.animations") or _StandInAnimations())
        self.settings = settings
        self._bank: Any = None
        self._paused = False
        self._mask: Any = None
        self._hands: Tuple[Any, ...] = ()
        self._faces: Tuple[Any, ...] = ()     # results.Face items of the latest result
        self._result_t: Optional[float] = None   # when the latest result arrived (None = none yet)
        self._playing: List[_Playing] = []
        self._fired = 0
        self._fired_events: List[Any] = []
        self._init_privacy(settings)
        self._emojis = ExpressionPlanner()
        self.configure(settings)

    # -- state in -------------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """New settings; trigger state is kept unless the gestures section changed."""
        old, self.settings = self.settings, settings
        self._emojis.configure(settings.expressions)
        if "segmentation" not in settings.stages():
            self._mask = None
        self._configure_privacy(old, settings)
        g = settings.gestures
        if not g.active:
            self._bank = None
            self._playing.clear()
        elif self._bank is None or _trigger_relevant(old.gestures) != _trigger_relevant(g):
            if self._trigger_factory is None:
                if self._bank is None:
                    log.warning("gesture triggers are not available in this FaceFX; no gesture will fire")
            else:
                self._bank = self._trigger_factory(g)
            self._playing = [p for p in self._playing if p.effect.gesture in g.gestures]
        self._apply_pause()

    @property
    def paused(self) -> bool:
        """No gesture fires while paused (the settings' `paused`, or set here by a hotkey/key)."""
        return self._paused or self.settings.gestures.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = bool(value)
        self._apply_pause()

    def _apply_pause(self) -> None:
        if self._bank is not None:
            self._bank.paused = self.paused

    def update(self, result: Any, t: float) -> None:
        if result is None:
            return
        if hasattr(result, "mask"):
            self._mask = result.mask
        self._hands = tuple(getattr(result, "hands", ()) or ())
        self._faces = tuple(getattr(result, "faces", ()) or ())
        self._result_t = t
        self._update_privacy(result, t)
        self._emojis.update(self._faces, t)
        if self._bank is None:
            return
        enabled = self.settings.gestures.gestures
        hits = [h for h in getattr(result, "gestures", ()) or () if h.name in enabled]
        if getattr(result, "still", False):
            self._fire_still(hits, t)
            return
        for fired in self._bank.update(hits, t) or ():
            if fired.name in enabled:
                self._start(fired)
                self._fired_events.append(fired)
                del self._fired_events[:-self.MAX_PLAYING]

    def _fire_still(self, hits: List[Any], t: float) -> None:
        """A picture on its own has no time to hold a gesture in: each gesture it shows fires
        at once (unless paused), placed back in time so that the picture at t shows the
        sticker settled after its pop-in, or a full-frame animation in full flow
        (STILL_AGE of its duration), not its first, empty frame. A later picture replaces it."""
        self._playing.clear()
        if self.paused:
            return
        from .triggers import Fired
        for hit in hits:
            effect = self.settings.gestures.effect(hit.name)
            age = min(max(STILL_AGE * effect.duration, STILL_MIN_AGE), 0.75 * effect.duration)
            fired = Fired(hit.name, t - age, tuple(hit.hands or ()))
            self._start(fired)
            self._fired_events.append(fired)
        del self._fired_events[:-self.MAX_PLAYING]

    def take_fired(self) -> List[Any]:
        """The Fired events since the last call (oldest first), for gesture actions: the owner
        hands them on, so the Scene stays free of what an action does."""
        out, self._fired_events = self._fired_events, []
        return out

    def _start(self, fired: Any) -> None:
        effect = self.settings.gestures.effect(fired.name)
        idx = tuple(fired.hands or ())
        hands = self._hands
        anchor = hand_anchor(hands, idx) or (0.5, 0.5)
        if effect.placement == "corner":
            anchor = CORNER_ANCHORS[effect.corner]
        handed = tuple(hands[i].handedness for i in idx if 0 <= i < len(hands))
        self._fired += 1
        self._playing.append(_Playing(effect, float(fired.t), self._fired, handed, anchor,
                                      "" if effect.placement == "fullscreen" else sticker_path(effect)))
        del self._playing[:-self.MAX_PLAYING]

    def reset(self) -> None:
        """Forget everything from the old stream (new source, seek)."""
        self._mask = None
        self._hands = ()
        self._faces = ()
        self._result_t = None
        self._privacy.reset()
        self._emojis.reset()
        self._playing.clear()
        if self._bank is not None:
            self._bank = self._trigger_factory(self.settings.gestures) if self._trigger_factory else None
            self._apply_pause()

    # -- plan out -------------------------------------------------------------------------
    @property
    def playing(self) -> int:
        """How many stickers/animations are playing (for status lines and tests)."""
        return len(self._playing)

    def plan(self, t: float, width: int, height: int) -> RenderPlan:
        sprites: List[Sprite] = []
        self._playing = [p for p in self._playing if t - p.start < p.effect.duration]
        for p in list(self._playing):
            age = max(0.0, t - p.start)
            e = p.effect
            try:
                if e.placement == "fullscreen":
                    sprites.extend(self.animations.sprites(e.animation, age, e.duration, width, height, p.seed))
                    continue
                if e.placement == "follow-hand":
                    p.anchor = self._follow(p) or p.anchor
                    # Centred above the hand: the sticker must not hide the gesture it answers.
                    where, anchor = "hand", (p.anchor[0] * width, p.anchor[1] * height - STICKER_LIFT * e.size * height)
                else:
                    where, anchor = e.corner, None
                sprite = self.animations.sticker(p.image, where, anchor, age, e.duration, e.size, width, height)
            except ValueError as exc:   # an unreadable sticker file: drop this one, keep the rest
                log.warning("gesture %s: %s", e.gesture, exc)
                self._playing.remove(p)
                continue
            if sprite is not None:
                sprites.append(sprite)
        covers, notice = self._covers(t, width, height)
        face_sprites, labels = self._expressions(t, width, height)
        return RenderPlan(width, height, t, covers=covers, sprites=tuple(face_sprites) + tuple(sprites),
                          labels=labels, rings=self._rings(t, width, height), notice=notice,
                          **background_layer(self._mask, self.settings, t, width, height))

    # -- face privacy (the planning itself is facefx.privacy) ------------------------------
    def _init_privacy(self, settings: Settings) -> None:
        from .privacy import PrivacyPlanner
        self._privacy = PrivacyPlanner(settings.privacy)
        self._stale_reason: Optional[str] = None
        self._frame_rate = 30.0
        self._faces_t: Optional[float] = None         # when the latest faces result was taken
        self._faces_size: Optional[Tuple[int, int]] = None
        self._plan_size: Optional[Tuple[int, int]] = None
        self._resized = False
        self.plate_ready = False

    plate_ready: bool
    """Set by the owner while its renderer holds a captured plate (style 'plate' shows it; without
    one 'plate' falls back to blur and the notice says so)."""

    def set_stale(self, reason: Optional[str]) -> None:
        """The owner knows the results are stale (worker starting, restarting, stalled): with
        privacy on, the whole frame is covered and the notice gives `reason` until
        set_stale(None)."""
        self._stale_reason = str(reason) if reason else None

    def set_frame_rate(self, fps: float) -> None:
        """The output frame rate, which turns PrivacySettings.stale_frames into seconds (default 30)."""
        if not (isinstance(fps, (int, float)) and fps > 0 and math.isfinite(fps)):
            raise ValueError(f"frame rate must be a number above 0, got {fps!r}")
        self._frame_rate = float(fps)

    @property
    def privacy(self) -> Any:
        """The face privacy planner (facefx.privacy.PrivacyPlanner): kept face, tracks."""
        return self._privacy

    def _configure_privacy(self, old: Settings, settings: Settings) -> None:
        if settings.privacy.active and not old.privacy.active:
            self._privacy.reset()     # turned on: nothing is known yet, cover everything
            self._faces_t = None
        self._privacy.configure(settings.privacy)

    def _update_privacy(self, result: Any, t: float) -> None:
        # Only a result that says the faces stage produced it counts (Analysis.has_faces,
        # FrameResults.has_faces): an empty `faces` from anything else proves nothing.
        if not getattr(result, "has_faces", False) or not self.settings.privacy.active:
            return
        age = getattr(result, "faces_age", None)          # FrameResults
        if age is None:                                     # an Analysis: its carried ages
            age = (getattr(result, "carried", None) or {}).get("faces", 0.0)
        taken = t - max(0.0, float(age or 0.0))
        size = getattr(result, "frame_size", None)
        size = tuple(size) if size and size[0] > 0 and size[1] > 0 else None
        self._privacy.update(self._faces, tuple(getattr(result, "heads", ()) or ()), taken)
        self._faces_t = taken
        self._faces_size = size   # type: ignore[assignment]
        if self._resized and (size is None or size == self._plan_size):
            self._resized = False

    def _covers(self, t: float, width: int, height: int) -> Tuple[Tuple[Cover, ...], str]:
        """Face privacy covers for this output frame and the notice that explains a degraded
        plan: the whole frame while the results cannot be trusted (see facefx.privacy)."""
        p = self.settings.privacy
        if self._plan_size is not None and self._plan_size != (width, height):
            # A new frame size: the faces found so far may belong to another picture.
            self._resized = self._faces_size != (width, height)
        self._plan_size = (width, height)
        if not p.active:
            return (), ""
        from .privacy import NOTICE_NO_PLATE, NOTICE_RESIZED, NOTICE_STARTING
        planner = self._privacy
        notice = ""
        if self._stale_reason:
            notice = f"privacy: whole frame covered, {self._stale_reason}"
        elif not planner.has_result or self._faces_t is None:
            notice = NOTICE_STARTING
        elif self._resized:
            notice = NOTICE_RESIZED
        else:
            late = (t - self._faces_t) * self._frame_rate
            if late > p.stale_frames:
                notice = f"privacy: whole frame covered, the face analysis is {late:.0f} frames behind"
        if notice:
            if p.style == "plate" and not self.plate_ready:
                notice += "; " + NOTICE_NO_PLATE
            return (planner.full_frame(width, height, plate_ready=self.plate_ready),), notice
        return planner.face_covers(t, width, height, plate_ready=self.plate_ready, emoji=self._cover_image())

    def _cover_image(self) -> str:
        p = self.settings.privacy
        if p.style != "emoji":
            return ""
        if p.image:
            return p.image
        from .animations import bundled_sticker
        return bundled_sticker("emoji/neutral.png")

    def _expressions(self, t: float, width: int, height: int) -> Tuple[Tuple[Sprite, ...], Tuple[Label, ...]]:
        """Expression emoji sprites and labels for this output frame (facefx/expression_plan.py)."""
        return self._emojis.plan(t, width, height)

    def _follow(self, p: _Playing) -> Optional[Tuple[float, float]]:
        """The playing sticker's hands in the latest result, found again by handedness."""
        if not p.handedness:
            return None
        idx = []
        for side in p.handedness:
            match = [i for i, h in enumerate(self._hands) if h.handedness == side and i not in idx]
            if not match:
                return None
            idx.append(match[0])
        return hand_anchor(self._hands, idx)

    def _rings(self, t: float, width: int, height: int) -> Tuple[Ring, ...]:
        g = self.settings.gestures
        if self._bank is None or not g.arming_ring or self.paused:
            return ()
        rings = []
        for a in self._bank.arming(t) or ():
            if a.name not in g.gestures:
                continue
            centre = hand_centre(self._hands, tuple(a.hands or ()))
            if centre is None:
                continue
            rings.append(Ring(centre[0] * width, centre[1] * height, RING_RADIUS * height,
                              max(2.0, RING_THICKNESS * height), min(1.0, max(0.0, float(a.progress))),
                              RING_COLOR, 0.9))
        return tuple(rings)
