"""The FaceFX filter's behaviour inside OBS: one Plugin per loaded script, one FilterInstance
per FaceFX filter.

The registry's trampolines call the Plugin; the Plugin forwards to the FilterInstance. Threads:
- create/properties come from OBS's UI thread, hotkeys from its hotkey thread, destroy from
  its destruction thread;
- update and tick come from OBS's graphics thread outside the graphics context (libobs defers
  a video source's updates to its next video_tick); only the first update, made by create,
  runs on the UI thread;
- render comes from the graphics thread inside the graphics context and must never wait on
  anything: it only copies bytes to/from shared memory (SourceChannel.submit/latest) and
  issues graphics calls.
A FilterInstance replaces its FilterConfig object in one assignment, so the graphics thread
always sees either the old or the new settings, never a mix.

Failure policy: bad settings, a worker that cannot start, a picture that cannot be read or a
shader that does not compile never stop the video. The filter passes the source through
unchanged, and the status line in its properties says what is wrong and what to do.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from ..scene import RenderPlan, Scene, build_plan
from ..settings import SettingsError
from . import actions as A
from . import expressions as E
from . import gesture_props as G
from . import libobs as lo
from . import props as P
from .debug import DebugHooks
from .failclosed import PrivacyGuard, ensure_covered, full_frame_cover
from .gpu import MAX_DELAY_FRAMES, MAX_RING_FRAMES, GpuError, GpuRenderer
from .registry import HOTKEY_SHIFT, holder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FACE_ANALYSIS_WIDTH = 640   # frames go to the worker at least this wide while faces are analysed
STATUS_POLL_S = 0.5          # how often the graphics thread looks at the worker's state
PROPS_REFRESH_MIN_S = 2.0    # at most one automatic properties-panel refresh per this
# Hotkeys after the per-effect toggles (index len(P.EFFECTS) + position here).
PAUSE_HOTKEY = ("facefx.pause_gestures", "FaceFX: pause gesture triggers")
RECALIBRATE_HOTKEY = ("facefx.recalibrate_expressions", "FaceFX: recalibrate expression baseline")
PLATE_HOTKEY = ("facefx.capture_background", "FaceFX: capture background (face privacy plate)")
EXTRA_HOTKEYS = (PAUSE_HOTKEY, RECALIBRATE_HOTKEY, PLATE_HOTKEY)


class NoActions:
    """Gesture actions when none are installed: Plugin.actions.on_fired(filter, fired) is
    called for every Fired event a filter's Scene emits (graphics thread; must not wait)."""

    def on_fired(self, inst: Any, fired: Any) -> None:
        pass


class _SceneInput:
    """What Scene.update() reads from one worker result: hands, gestures and faces, plus `mask`
    only when the result carries one (a results-only result keeps the Scene's last mask)."""

    def __init__(self, res: Any, source_size: Any = None) -> None:
        fr = res.results
        self.hands = fr.hands if fr is not None else ()
        self.gestures = fr.gestures if fr is not None else ()
        # Face privacy: the faces stage's own record (has_faces), heads, the analysed frame's
        # size and how old the faces are (facefx.results.FrameResults).
        self.faces = fr.faces if fr is not None else ()
        self.heads = fr.heads if fr is not None else ()
        self.has_faces = bool(fr is not None and fr.has_faces)
        # The worker sees the frame reduced to analysis size; the Scene compares frame_size with
        # the output size, so it gets the source's size when that frame was captured.
        self.frame_size = source_size or (fr.frame_size if fr is not None else (0, 0))
        self.faces_age = fr.faces_age if fr is not None else 0.0
        if getattr(res, "has_mask", True):
            self.mask = res


class _MaskAnalysis:
    """The part of an Analysis build_plan() reads: `mask` (here a MaskResult-like object with
    seq, frame_seq, width, height and data bytes)."""

    __slots__ = ("mask",)

    def __init__(self, mask: Any) -> None:
        self.mask = mask


def staged_size(settings: Any, w: int, h: int) -> tuple:
    """The size the frame is reduced to on the GPU before it goes to the worker: the
    segmentation's analysis width, or at least FACE_ANALYSIS_WIDTH while a faces stage runs.
    At 256 px a face a metre from the camera is ~20 px, too few for the face mesh and the
    expression crop; the engine reduces the frame further for the stages that want less
    (segmentation), so the mask is the same size either way."""
    width = settings.segmentation.analysis_width
    if "faces" in settings.stages():
        width = max(width, FACE_ANALYSIS_WIDTH)
    return P.analysis_size(w, h, width)


def _privacy_inputs(settings: Any) -> Any:
    """The parts of the settings whose change makes earlier results useless for privacy."""
    return (settings.privacy, settings.faces, settings.stages())


def _log_level(level: int) -> int:
    if level >= logging.ERROR:
        return lo.LOG_ERROR
    if level >= logging.WARNING:
        return lo.LOG_WARNING
    if level >= logging.INFO:
        return lo.LOG_INFO
    return lo.LOG_DEBUG


class FilterInstance:
    """One FaceFX filter on one source."""

    def __init__(self, plugin: "Plugin", fid: int, source: int) -> None:
        self.plugin = plugin
        self.lib = plugin.lib
        self.fid = fid
        self.source = source
        self.config: Optional[P.FilterConfig] = None
        self.values: Dict[str, Any] = {}
        self.error = ""                 # settings problem shown in the status line
        self.gpu_error = ""             # picture/shader problem (cleared once drawing works)
        self.renderer: Optional[GpuRenderer] = None
        self.channel: Any = None
        self._sent_settings: Optional[dict] = None
        self.frame_seq = 0
        self.history: Deque[Any] = deque(maxlen=MAX_RING_FRAMES)
        self.latencies: Deque[int] = deque(maxlen=60)
        self.delay = 0
        self.gaps: Deque[int] = deque(maxlen=60)
        self.span = 1                   # most frames between two analysed frames, lately
        self.depths: Deque[int] = deque(maxlen=120)   # ring slots the sync mode needed, lately
        self.t0_ns: Optional[int] = None
        self.worker_state = "stopped"
        self.active = True   # until OBS says otherwise: a filter added to a live source gets no activate
        self._last_poll = 0.0
        self._status_key: Any = None
        self._last_refresh = 0.0
        self.frames_drawn = 0
        self.frames_passed = 0
        self.hooks = DebugHooks.from_env()
        self.actions, self.actions_error = A.make_runner(self.lib)   # gesture -> OBS action
        self.scene: Optional[Scene] = None   # gesture triggers and stickers; render thread only
        self._scene_seq = 0                  # the newest result the Scene was fed
        self.last_fired = ""                 # for the status line
        self.gestures_paused = False         # the pause hotkey
        self.privacy = PrivacyGuard()        # face privacy: when to cover the whole frame
        self.privacy_reason = ""             # why the whole frame is covered now ("" = it is not)
        self.privacy_notice = ""             # the drawn plan's notice (the Scene's reasons too)
        self.plate_wanted = False            # capture button/hotkey: copy the next frame as plate
        self.plate_note = ""                 # about the plate, for the status line
        self._last_size = (0, 0)             # the output size of the last frame drawn
        self._kept_plate: Any = None         # the plate while the renderer is released (hidden)
        self._sizes: Deque[Any] = deque(maxlen=8)   # (first frame seq, (w, h)) per size change
        self.recalibrate_note = ""           # why the last recalibrate request could not be sent
        self.custom_labels: tuple = ()       # gesture names the worker's custom/taught model adds

    def gesture_names(self) -> tuple:
        """Every gesture the panel offers: the custom/taught labels, then the built-ins."""
        return G.names(self.custom_labels)

    def wants_analysis(self) -> bool:
        """Any effect on (background, gestures, ...): the stages the settings need."""
        cfg = self.config
        return cfg is not None and bool(cfg.settings.stages())

    # ------------------------------------------------------------------ settings
    def name(self) -> str:
        raw = self.lib.obs_source_get_name(self.source)
        return raw.decode("utf-8", "replace") if raw else f"filter{self.fid}"

    def load_settings(self) -> None:
        data = self.lib.obs_source_get_settings(self.source)
        if data:
            try:
                self.update(data)
            finally:
                self.lib.obs_data_release(data)

    def update(self, data: int) -> None:
        lib = self.lib
        self.values = P.read_values(lib, data, self.custom_labels)
        A.update_filter(self, lib, data)
        if self.hooks.enabled:
            problem = self.hooks.read(lib, data)
            if problem:
                self.error = problem
        try:
            config = P.settings_from_values(self.values, self.custom_labels)
        except (SettingsError, ValueError) as exc:
            self.config = None
            self.error = f"Settings: {exc}"
            lib.log(lo.LOG_WARNING, "%s: %s; passing video through" % (self.name(), exc))
            return
        self.error = ""
        old, self.config = self.config, config
        if old is not None and _privacy_inputs(old.settings) != _privacy_inputs(config.settings):
            # Results analysed with the old settings (other stages, another margin) must not
            # decide what is covered under the new ones.
            self.privacy.reset(self.frame_seq, "the settings changed")
        if self.scene is None:
            self.scene = Scene(config.settings)
        else:
            self.scene.configure(config.settings)
        self.scene.paused = self.gestures_paused
        if config.settings.stages() and self.hooks.static_mask is None:
            if self.active:
                self._ensure_channel(config)

    def _ensure_channel(self, config: P.FilterConfig) -> None:
        client = self.plugin.client
        if client is None:
            return
        if self.channel is None:
            self.channel = client.open_source("%d:%s" % (self.fid, self.name()))
            self._sent_settings = None
        wanted = config.settings.to_dict()
        if wanted != self._sent_settings:
            self.channel.set_settings(wanted)     # the worker reloads the model only if needed
            self._sent_settings = wanted

    def toggle(self, key: str) -> None:
        """Hotkey action: flip an effect's checkable group, as if clicked in the panel."""
        lib = self.lib
        current = self.values.get(key, P.DEFAULTS.get(key, False))
        data = lib.obs_data_create()
        try:
            lib.obs_data_set_bool(data, key.encode(), not current)
            lib.obs_source_update(self.source, data)   # saves it and calls update()
        finally:
            lib.obs_data_release(data)

    def _register_hotkeys(self) -> None:
        """One hotkey per effect, registered on the filtered source: libobs gives private
        sources (which filters are) no hotkeys. The name carries the filter's name, so two
        FaceFX filters on one source get separate hotkeys; OBS saves the bindings with the
        source. registry.unregister_hotkeys drops them when the filter is removed."""
        parent = self.lib.obs_filter_get_parent(self.source)
        if not parent:
            return
        cb = holder().callbacks["hotkey"]
        ids = []
        for index, (_, name, description) in enumerate(P.EFFECTS):
            ids.append(self.lib.obs_hotkey_register_source(
                parent, ("%s.%s" % (name, self.name())).encode(),
                ("%s (%s)" % (description, self.name())).encode(), cb,
                (self.fid << HOTKEY_SHIFT) | index))
        for index, (name, description) in enumerate(EXTRA_HOTKEYS, len(P.EFFECTS)):
            ids.append(self.lib.obs_hotkey_register_source(
                parent, ("%s.%s" % (name, self.name())).encode(),
                ("%s (%s)" % (description, self.name())).encode(), cb,
                (self.fid << HOTKEY_SHIFT) | index))
        holder().hotkeys[self.fid] = ids

    def toggle_gesture_pause(self) -> None:
        """Pause hotkey (OBS's hotkey thread): one bool flip, read by the render thread's Scene."""
        self.gestures_paused = not self.gestures_paused
        scene = self.scene
        if scene is not None:
            scene.paused = self.gestures_paused

    # ------------------------------------------------------------------ face privacy
    def privacy_on(self) -> bool:
        """Face privacy is wanted: by the settings, or by the stored values when the settings
        are invalid (then nothing else runs, but the face must still be covered)."""
        cfg = self.config
        if cfg is not None:
            return cfg.settings.privacy.active
        return bool(self.values.get(P.K_PRIVACY, False))

    def request_plate(self) -> None:
        """Capture button/hotkey (UI or hotkey thread): the render thread copies its next frame."""
        self.plate_wanted = True

    def _take_plate(self, r: GpuRenderer, frame: int, w: int, h: int) -> None:
        self.plate_wanted = False
        if r.capture_plate(frame, w, h):
            self.plate_note = "background captured at %dx%d" % (w, h)
            self.lib.log(lo.LOG_INFO, "%s: face privacy background captured (%dx%d)" % (self.name(), w, h))
        else:
            self.plate_note = "the background could not be captured; press Capture background again"

    def _privacy_notes(self, w: int, h: int) -> str:
        """The plate's state for the status line (style 'plate' only)."""
        cfg = self.config
        if cfg is None or cfg.settings.privacy.style != "plate":
            return ""
        size = self.renderer.plate_size if self.renderer is not None else (0, 0)
        if size == (0, 0):
            return ("no background captured yet: faces are blurred instead (press Capture "
                    "background with nobody in view)")
        if w and h and size != (w, h):
            return "background captured at %dx%d, rescaled to %dx%d" % (size + (w, h))
        return self.plate_note

    def _cover_whole(self, reason: str) -> None:
        """Render the source with the whole frame covered, without the worker, the Scene or
        valid settings (bad settings with privacy on); a solid fill if even that fails."""
        lib, src = self.lib, self.source
        target = lib.obs_filter_get_target(src)
        w = lib.obs_source_get_base_width(target) if target else 0
        h = lib.obs_source_get_base_height(target) if target else 0
        parent = lib.obs_filter_get_parent(src)
        if not parent or not w or not h:
            lib.obs_source_skip_video_filter(src)
            return
        self.privacy_reason = reason
        if self.renderer is None:
            self.renderer = self._new_renderer()
        self.frame_seq += 1
        frame = self.renderer.capture(src, target, parent, w, h, self.frame_seq, 1)
        self._draw_covered(frame, w, h, reason)

    def _draw_covered(self, frame: Optional[int], w: int, h: int, reason: str) -> None:
        """The frame under a whole-frame cover (blur, or the plate); a solid fill if that fails."""
        r = self.renderer
        cfg = self.config
        privacy = cfg.settings.privacy if cfg is not None else None
        try:
            if frame is None or privacy is None:
                raise GpuError("no frame to cover" if frame is None else "settings invalid")
            cover = full_frame_cover(privacy, w, h, r.plate_size != (0, 0))
            r.draw(RenderPlan(w, h, 0.0, covers=(cover,), notice=reason), frame)
        except Exception as exc:
            if self.gpu_error != "privacy: %s" % exc and privacy is not None:
                self.lib.log(lo.LOG_WARNING, "%s: face privacy cover failed (%s); filling the frame"
                             % (self.name(), exc))
            r.fill(w, h, tuple(privacy.color) if privacy is not None else (0, 0, 0))

    def recalibrate_expressions(self) -> str:
        """The recalibrate button and hotkey (see facefx.obs.expressions.recalibrate)."""
        return E.recalibrate(self)

    # ------------------------------------------------------------------ status
    def status(self) -> tuple:
        """(text, kind) for the status line."""
        parts: List[str] = []
        kind = lo.OBS_TEXT_INFO_NORMAL
        client = self.plugin.client
        cfg = self.config
        for problem in (self.error, self.gpu_error):
            if problem:
                parts.append(problem + (" (face privacy: the whole frame is covered)" if self.privacy_on()
                                        else " (video passes through unchanged)"))
                kind = lo.OBS_TEXT_INFO_ERROR
        if self.privacy_on():
            notice = self.privacy_notice.replace("privacy: ", "", 1) if self.privacy_notice else ""
            priv = cfg.settings.privacy if cfg is not None else None
            on = "on (%s%s)" % (priv.style if priv else "?",
                                ", thorough face search" if priv and priv.full_analysis else "")
            line = "Face privacy: %s." % (
                "whole frame covered, " + self.privacy_reason if self.privacy_reason else notice or on)
            notes = [n for n in (self._privacy_notes(*self._last_size),
                                 self.renderer.cover_problem if self.renderer is not None else "") if n]
            if "frames behind" in (self.privacy_reason + notice):
                notes.append("if this persists, raise \"Cover the whole frame when analysis lags by "
                             "more than\" or lower the analysis width")
            if notes:
                text = "; ".join(notes)
                line += " " + text[0].upper() + text[1:] + "."
            parts.append(line)
            if self.privacy_reason or notes:
                kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
        if cfg is not None and cfg.settings.gestures.active:
            g = "Gestures: paused" if self.scene is not None and self.scene.paused else "Gestures: on"
            if self.last_fired:
                g += "; last fired: %s" % self.last_fired
            parts.append(g + ".")
        if cfg is not None and cfg.warning:
            parts.append("Gestures: %s (the rest works as set)" % cfg.warning)
            kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
        sprite_problem = self.renderer.sprite_problem if self.renderer is not None else ""
        if sprite_problem and cfg is not None and cfg.settings.gestures.active:
            parts.append("Stickers: %s (other stickers keep working)" % sprite_problem)
            kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
        expressions = E.status(self)
        if expressions is not None:
            parts.append(expressions[0])
            kind = max(kind, expressions[1])
        if cfg is not None and not cfg.settings.stages():
            parts.append("All effects are off: video passes through.")
        elif self.hooks.static_mask is not None:
            parts.append("Using the test mask from %s." % self.hooks.mask_path)
        elif client is None:
            parts.append("Worker client unavailable: %s" % self.plugin.client_error)
            kind = lo.OBS_TEXT_INFO_ERROR
        else:
            st = client.status()
            pid = " (pid %d)" % st.pid if st.pid else ""
            if st.state == "failed":
                parts.append("Worker cannot start: %s. Video passes through unchanged." % st.message)
                kind = lo.OBS_TEXT_INFO_ERROR
            else:
                parts.append("Worker: %s%s" % (st.state, pid))
            if self.channel is not None:
                s = self.channel.stats()
                stages = ", ".join("%s %.1f ms" % (k, v) for k, v in sorted(s.get("stage_ms", {}).items()))
                line = "Analysis: %.1f fps" % s.get("fps", 0.0)
                if stages:
                    line += " (%s)" % stages
                if s.get("latency_frames") is not None:
                    line += "; mask latency %d frame(s)" % s["latency_frames"]
                if cfg is not None and cfg.keep_in_sync:
                    line += "; video delayed %d frame(s) to stay in sync" % self.delay
                parts.append(line)
                if s.get("error"):
                    parts.append("Worker error: %s" % s["error"])
                    kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
            if st.last_error and st.state != "failed":
                parts.append("Last error: %s" % st.last_error)
                kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
        problem = self.actions.error if self.actions is not None else self.actions_error
        if problem:
            parts.append("Gesture actions: " + problem)
            kind = max(kind, lo.OBS_TEXT_INFO_WARNING)
        teaching = A.teach_status(self)
        if teaching:
            parts.append(teaching)
        return "\n".join(parts), kind

    def properties(self) -> int:
        text, kind = self.status()
        mode = self.values.get(P.K_BG_MODE) or P.DEFAULTS[P.K_BG_MODE]
        props = P.build_properties(self.lib, self.fid, holder().callbacks, text, kind, mode,
                                   self.custom_labels, self.values,
                                   self.values.get(P.K_PRIV_STYLE) or P.DEFAULTS[P.K_PRIV_STYLE])
        A.add_properties(self, props, holder().callbacks, self.gesture_names())
        A.add_teach_properties(self, props, holder().callbacks)
        return props

    # ------------------------------------------------------------------ per frame
    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_poll < STATUS_POLL_S:
            return
        self._last_poll = now
        if self.fid not in holder().hotkeys:
            self._register_hotkeys()
        self._follow_labels()
        client = self.plugin.client
        st = client.status() if client is not None else None
        key = (st.state if st else None, st.last_error if st else None, self.error, self.gpu_error,
               self.privacy_reason, self.privacy_notice,
               self.actions.error if self.actions is not None else "", A.teach_status(self),
               self.custom_labels, E.problems(self))
        if st is not None:
            self.worker_state = st.state
        if key != self._status_key and now - self._last_refresh >= PROPS_REFRESH_MIN_S:
            if self._status_key is not None:
                self.lib.obs_source_update_properties(self.source)
                self._last_refresh = now
            self._status_key = key
        self.hooks.tick(self, now)

    def _follow_labels(self) -> None:
        """The worker loaded another custom or taught model (a gesture was just taught, a model
        picked): re-read the settings with its labels, so they can fire, get stickers and
        actions, and show in the panel, without a restart."""
        labels = self.channel.worker_stats().get("labels") if self.channel is not None else None
        if not isinstance(labels, list):
            return
        labels = tuple(str(n) for n in labels if isinstance(n, str) and n.strip())
        if labels != self.custom_labels:
            self.custom_labels = labels
            self.load_settings()

    def render(self) -> None:
        lib = self.lib
        src = self.source
        cfg = self.config
        if cfg is None and self.privacy_on():
            self._cover_whole("the settings are invalid: %s" % self.error)
            return
        if cfg is None or not cfg.settings.stages() or (
                self.worker_state == "failed" and self.hooks.static_mask is None and not self.history
                and not cfg.settings.privacy.active):
            self.frames_passed += 1
            lib.obs_source_skip_video_filter(src)
            return
        target = lib.obs_filter_get_target(src)
        parent = lib.obs_filter_get_parent(src)
        w = lib.obs_source_get_base_width(target) if target else 0
        h = lib.obs_source_get_base_height(target) if target else 0
        if not parent or not w or not h:
            lib.obs_source_skip_video_filter(src)
            return
        self._last_size = (w, h)
        if not self._sizes or self._sizes[-1][1] != (w, h):
            self._sizes.append((self.frame_seq + 1, (w, h)))
        if self.renderer is None:
            self.renderer = self._new_renderer()
        r = self.renderer
        self.frame_seq += 1
        seq = self.frame_seq
        # Sync mode keeps one frame more than latency and spacing need: a result one frame
        # later than any before still finds its frame.
        ring = max(self.delay + self.span + 1, max(self.depths, default=1)) if cfg.keep_in_sync else 1
        frame = r.capture(src, target, parent, w, h, seq, ring)
        priv = cfg.settings.privacy
        if frame is None:
            if priv.active:   # fail closed: no frame to cover, so no frame at all
                r.fill(w, h, tuple(priv.color))
                return
            lib.obs_source_skip_video_filter(src)
            return
        if self.plate_wanted:
            self._take_plate(r, frame, w, h)
        frozen = self.hooks.frozen
        channel = self.channel
        if channel is not None and self.hooks.static_mask is None and not frozen:
            aw, ah = staged_size(cfg.settings, w, h)
            r.stage_analysis(frame, w, h, aw, ah, seq)
            r.map_staged(channel.submit)
        mask = self._next_mask(seq, frozen)
        out_tex, shown = frame, seq
        if mask is not None and cfg.keep_in_sync:
            out_tex, shown = r.delayed_frame(mask.frame_seq)
            if out_tex is None:
                out_tex, shown = frame, seq
        if self.t0_ns is None:
            self.t0_ns = lib.obs_get_video_frame_time()
        t = (lib.obs_get_video_frame_time() - self.t0_ns) / 1e9
        if frozen:
            t = self.hooks.time
        try:
            if mask is not None and not getattr(mask, "has_mask", True):
                mask = None   # results-only (background off): nothing for the background layer
            if mask is not None:
                r.set_mask(mask.seq, mask.data, mask.width, mask.height)
            plan = build_plan(_MaskAnalysis(mask) if mask is not None else None,
                              cfg.settings, t, w, h)
            reason = self._privacy_check(seq, shown, w, h) if priv.active else ""
            plan = self._with_scene(plan, t, w, h)
            if priv.active:
                plan = ensure_covered(plan, priv, reason, r.plate_size != (0, 0))
                self.privacy_notice = plan.notice
            if self.hooks.sprites or self.hooks.rings or self.hooks.covers:
                plan = dataclasses.replace(plan, sprites=tuple(plan.sprites) + self.hooks.sprites,
                                           rings=tuple(plan.rings) + self.hooks.rings,
                                           covers=tuple(plan.covers) + self.hooks.covers)
            if frozen and not self.hooks.dumped:
                self.hooks.dump(self, plan, out_tex, w, h, shown)
            r.draw(plan, out_tex)
        except GpuError as exc:
            if self.gpu_error != str(exc):
                self.gpu_error = str(exc)
                lib.log(lo.LOG_WARNING, "%s: %s; %s" % (self.name(), exc, "covering the whole frame"
                                                         if priv.active else "passing video through"))
            if priv.active:
                self.privacy_reason = "drawing failed: %s" % exc
                self._draw_covered(out_tex, w, h, self.privacy_reason)
            else:
                r.draw_frame(out_tex, w, h)
            return
        self.gpu_error = ""
        if mask is not None:
            self.frames_drawn += 1      # frames that got the effect

    def _size_of(self, frame_seq: int) -> Any:
        """The source's size when frame `frame_seq` was captured (None if not known)."""
        size = None
        for first, wh in self._sizes:
            if first <= frame_seq:
                size = wh
        return size

    def _privacy_check(self, seq: int, shown: int, w: int, h: int) -> str:
        """Why the whole frame must be covered this frame ("" = the results can be used); the
        Scene is told too (set_stale), so its plan covers the frame itself."""
        latest = self.history[-1] if self.history else None
        if self.hooks.static_mask is not None or self.hooks.frozen:
            state = "running"   # test hooks: no worker by design
        else:
            state = self.worker_state
        reason = self.privacy.reason(
            worker_state=state, frame_seq=seq, shown_seq=shown,
            result_frame_seq=latest.frame_seq if latest is not None else None, size=(w, h),
            stale_frames=self.config.settings.privacy.stale_frames)
        self.privacy_reason = reason
        scene = self.scene
        if scene is not None:
            if hasattr(scene, "set_stale"):
                scene.set_stale(reason or None)
            if hasattr(scene, "set_frame_rate"):
                interval = self.lib.obs_get_frame_interval_ns()
                if interval:
                    scene.set_frame_rate(1e9 / interval)
            scene.plate_ready = bool(self.renderer is not None and self.renderer.plate_size != (0, 0))
        return reason

    def _with_scene(self, plan: Any, t: float, w: int, h: int) -> Any:
        """The background plan plus the Scene's stickers and arming rings at output time t.

        The Scene is fed each new worker result once, at the render time it is first seen
        (the same clock plan() is asked on), so triggers and animations run on output-frame
        time; Fired events go to the plugin's actions."""
        scene = self.scene
        settings = self.config.settings
        if scene is None or not (settings.gestures.active or settings.expressions.active
                                 or settings.privacy.active):
            return plan
        hist = self.history
        if hist and hist[-1].seq != self._scene_seq and getattr(hist[-1], "results", None) is not None:
            self._scene_seq = hist[-1].seq
            scene.update(_SceneInput(hist[-1], self._size_of(hist[-1].frame_seq)), t)
            actions = getattr(self.plugin, "actions", None) or NoActions()
            for fired in scene.take_fired():
                self.last_fired = fired.name
                try:
                    actions.on_fired(self, fired)
                except Exception as exc:   # an action's failure must not stop the video
                    self.lib.log(lo.LOG_WARNING, "%s: gesture action for %s failed: %s"
                                 % (self.name(), fired.name, exc))
        sp = scene.plan(t, w, h)
        if not sp.sprites and not sp.labels and not sp.rings and not sp.covers and not sp.notice:
            return plan
        return dataclasses.replace(plan, sprites=sp.sprites, labels=sp.labels, rings=sp.rings,
                                   covers=sp.covers, notice=sp.notice or plan.notice)

    def _next_mask(self, seq: int, frozen: bool) -> Any:
        """The mask to draw this frame: the newest result, or with "keep mask in sync" the
        result computed from the frame being shown (video delayed by the measured latency)."""
        if self.hooks.static_mask is not None:
            return self.hooks.static_mask
        if frozen:
            if self.hooks.frozen_mask is None and self.history:
                self.hooks.frozen_mask = self._pick(seq)   # the mask on screen, sync mode included
            return self.hooks.frozen_mask
        channel = self.channel
        res = channel.latest() if channel is not None else None
        if res is not None and (not self.history or self.history[-1].seq != res.seq):
            gap = res.frame_seq - self.history[-1].frame_seq if self.history else 1
            if 0 < gap <= MAX_DELAY_FRAMES:   # longer: analysis was paused (frozen, hidden)
                # A mask stays in use until the next analysed frame is due, so in sync mode
                # its frame must stay in the ring that much longer than the latency alone.
                self.gaps.append(gap)
                self.span = max(self.gaps)
            self.history.append(res)
            self.latencies.append(max(0, seq - res.frame_seq))
            self.delay = min(max(self.latencies), MAX_DELAY_FRAMES - 1)
        if not self.history:
            return None
        return self._pick(seq)

    def _pick(self, seq: int) -> Any:
        cfg = self.config
        if cfg is None or not cfg.keep_in_sync:
            return self.history[-1]
        want = seq - self.delay
        best = None
        for item in self.history:
            if item.frame_seq <= want and (best is None or item.frame_seq > best.frame_seq):
                best = item
        best = best or self.history[0]
        # A stalled analysis keeps a mask in use longer than latency and spacing predict;
        # the ring then grows to keep that mask's frame.
        self.depths.append(seq - best.frame_seq + 1)
        return best

    # ------------------------------------------------------------------ teardown
    def set_active(self, active: bool) -> None:
        """OBS's activate/deactivate (graphics thread, outside the graphics context): a source
        nobody shows in the program output needs no analysis, so its channel (and the worker's
        engine for it) and its GPU objects, the frame ring included, are released until it is
        shown again."""
        self.active = active
        if not active:
            self.release_channel()
            self.release_gpu(keep_plate=True)
            self.history.clear()
            self.latencies.clear()
            self.delay = 0
        elif self.wants_analysis() and self.hooks.static_mask is None:
            self._ensure_channel(self.config)

    def release_channel(self) -> None:
        ch, self.channel = self.channel, None
        self._sent_settings = None
        if ch is not None:
            ch.close()

    def _new_renderer(self) -> GpuRenderer:
        r = GpuRenderer(self.lib, self.hooks.effects_dir) if self.hooks.effects_dir else GpuRenderer(self.lib)
        plate, self._kept_plate = self._kept_plate, None
        if plate is not None:
            r.put_plate(plate)
        return r

    def release_gpu(self, keep_plate: bool = False) -> None:
        """Free the renderer. It is taken inside the graphics context: render() runs only
        there, so a frame still drawing (script unload comes from the UI thread) finishes
        first and cannot recreate a renderer after this one is freed. keep_plate: the captured
        privacy background survives (a source hidden and shown again keeps it)."""
        self.lib.obs_enter_graphics()
        try:
            r, self.renderer = self.renderer, None
            if r is not None:
                if keep_plate and self._kept_plate is None:
                    self._kept_plate = r.take_plate()
                r.close()
            if not keep_plate and self._kept_plate is not None:
                self._kept_plate[0].destroy()
                self._kept_plate = None
        finally:
            self.lib.obs_leave_graphics()

    def close(self) -> None:
        self.release_channel()
        self.release_gpu()


class Plugin:
    """Everything one loaded copy of the script owns: the worker client and the filters.

    close() releases all of it (GPU objects, shared memory, the worker process and its threads),
    so a script reload or removal leaks nothing; the filters themselves live on in OBS and pass
    video through until the next Plugin adopts them."""

    def __init__(self, python: Optional[str] = None, root: str = ROOT) -> None:
        self.lib = lo.libobs()
        self.root = root
        self.client: Any = None
        self.client_error = ""
        try:
            from .client import WorkerClient
            self.client = WorkerClient(python or None, root=root, log=self._client_log)
        except Exception as exc:  # a broken install must not stop OBS
            self.client_error = "%s: %s" % (type(exc).__name__, exc)
            self.lib.log(lo.LOG_ERROR, "worker client unavailable: %s" % self.client_error)
        self.filters: Dict[int, FilterInstance] = {}
        self.actions: Any = A.Dispatch()   # each filter's gesture -> OBS action runner
        for fid, source in list(holder().sources.items()):   # filters that outlived a reload
            self.create(fid, source)

    def _client_log(self, level: int, text: str) -> None:
        self.lib.log(_log_level(level), text)

    def set_python(self, python: Optional[str]) -> None:
        if self.client is not None:
            self.client.set_python(python or None)

    # -- registry interface --------------------------------------------------------------
    def create(self, fid: int, source: int) -> None:
        inst = FilterInstance(self, fid, source)
        self.filters[fid] = inst
        inst.load_settings()   # libobs does not call update() after create()

    def destroy(self, fid: int) -> None:
        inst = self.filters.pop(fid, None)
        if inst is not None:
            inst.close()

    def _inst(self, fid: int) -> Optional[FilterInstance]:
        """The filter's instance; one created while no Plugin was current is adopted here."""
        inst = self.filters.get(fid)
        if inst is None:
            source = holder().sources.get(fid)
            if source:
                self.create(fid, source)
                inst = self.filters.get(fid)
        return inst

    def update(self, fid: int, data: int) -> None:
        inst = self._inst(fid)
        if inst is not None:
            inst.update(data)

    def defaults(self, data: int) -> None:
        P.set_defaults(self.lib, data)
        A.set_defaults(self.lib, data)

    def properties(self, fid: int) -> Optional[int]:
        inst = self._inst(fid)
        return inst.properties() if inst is not None else None

    def tick(self, fid: int, seconds: float) -> None:
        inst = self._inst(fid)
        if inst is not None:
            inst.tick()

    def render(self, fid: int) -> None:
        inst = self.filters.get(fid)
        if inst is None:
            source = holder().sources.get(fid)
            if source:
                self.lib.obs_source_skip_video_filter(source)
            return
        try:
            inst.render()
        except Exception:
            # Log once per distinct error, then keep passing the video through.
            msg = traceback.format_exc().rstrip()
            last = "render failed: " + msg.splitlines()[-1]
            if inst.gpu_error != last:
                inst.gpu_error = last
                self.lib.log(lo.LOG_ERROR, "%s: render failed, %s:\n%s"
                             % (inst.name(), "covering the frame" if inst.privacy_on()
                                else "passing video through", msg))
            if inst.privacy_on() and inst.renderer is not None and inst._last_size[0]:
                inst.privacy_reason = last
                try:
                    inst.renderer.fill(*inst._last_size, color=(0, 0, 0))   # fail closed
                    return
                except Exception:
                    pass
            self.lib.obs_source_skip_video_filter(inst.source)

    def activate(self, fid: int) -> None:
        inst = self._inst(fid)
        if inst is not None:
            inst.set_active(True)

    def deactivate(self, fid: int) -> None:
        inst = self._inst(fid)
        if inst is not None:
            inst.set_active(False)

    def filter_remove(self, fid: int) -> None:
        inst = self.filters.get(fid)
        if inst is not None:
            inst.release_channel()

    def hotkey(self, fid: int, index: int, pressed: bool) -> None:
        inst = self.filters.get(fid)
        if inst is not None and pressed and 0 <= index < len(P.EFFECTS):
            inst.toggle(P.EFFECTS[index][0])
        elif inst is not None and pressed and index == len(P.EFFECTS):
            inst.toggle_gesture_pause()
        elif inst is not None and pressed and index == len(P.EFFECTS) + 1:
            inst.recalibrate_expressions()
        elif inst is not None and pressed and index == len(P.EFFECTS) + 2:
            inst.request_plate()

    def button(self, fid: int, prop: int) -> bool:
        inst = self.filters.get(fid)
        if inst is not None:
            raw = self.lib.obs_property_name(prop)
            if raw == P.K_EXPR_RECALIBRATE.encode():
                inst.recalibrate_expressions()
            elif raw == P.K_PRIV_CAPTURE.encode():
                inst.request_plate()
            else:
                A.button(inst, prop)
        return True   # refresh: OBS rebuilds the panel, which re-reads the status

    def modified(self, fid: int, props: int, prop: int, data: int) -> bool:
        P.apply_mode_visibility(self.lib, props, self.lib.get_str(data, P.K_BG_MODE))
        P.apply_privacy_visibility(self.lib, props, self.lib.get_str(data, P.K_PRIV_STYLE))
        inst = self.filters.get(fid)
        if inst is not None:
            G.apply_visibility(self.lib, props, inst.gesture_names(), G.data_getter(self.lib, data))
            A.refresh_targets(inst, props, data, inst.gesture_names())
        return True

    def close(self) -> None:
        """Idempotent: frees every filter's GPU objects and channel, then stops the worker."""
        filters, self.filters = list(self.filters.values()), {}
        for inst in filters:
            try:
                inst.close()
            except Exception:
                self.lib.log(lo.LOG_ERROR, "closing %s failed: %s" % (inst.name(), traceback.format_exc()))
        client, self.client = self.client, None
        if client is not None:
            client.close()

