"""The analysis engine: RGB(A) frames in, one Analysis per frame out.

The engine is built from the stages the enabled effects need (Settings.stages()): with only a
background on, no hand model is loaded; with nothing on, no stage runs. Each stage declares the
input size it wants (the engine reduces each frame once per distinct size) and how often it runs:
segmentation every frame, hands every frame or every 2nd when the frame's budget is tight. A
stage that is skipped on a frame has its last result carried forward into that frame's
Analysis, marked in `carried` with its age, so effects never flicker off between runs. Models
load lazily and reload only when a setting that affects the model changes.

A stage marked `beside` (segmentation) runs on a second thread while the stages after it run,
when the engine may use more than one core and another stage runs on that frame; a stage that
reads its outputs (listed in `needs`) waits for them. With face privacy at 720p and four faces
this took the analysis from 6.9 to 5.7 ms median on two cores: the models' own threads leave
a core idle during each frame's Python and OpenCV work, which the other model now fills.
(The heads stage, pure Python over the mask, is better last on the calling thread: beside, it
would hold the interpreter lock the other stages' Python needs.)
"""
from __future__ import annotations

import importlib
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..results import Face, FrameResults, GestureHit, Hand
from ..settings import STAGES, Settings, analysis_size  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


class FrameError(ValueError):
    """A frame the engine cannot analyse; the message names the expected form."""


@dataclass
class Analysis:
    """What the engine found in one frame.

    mask: uint8 smoothed person probability (255 = person) at analysis_size, or None when segmentation
        is off.
    hands, gestures, faces: the typed results (facefx.results), empty when their stage is off.
    heads: head boxes (x, y, w, h normalised) the person mask shows (the heads stage, for face
        privacy).
    carried: stage name -> age in seconds, for each stage that did not run on this frame and
        whose last result was carried forward instead.
    stage_ms: wall time of each stage that ran, in milliseconds (plus 'resize' and 'total').
    still: the frame is a picture on its own (a photo, not a video frame): stages that keep
        state over time answer from this frame alone (no hysteresis, no learned baseline, every
        face meshed).
    """

    frame_index: int
    timestamp: float
    frame_size: Tuple[int, int]
    analysis_size: Tuple[int, int]
    mask: Optional[np.ndarray] = None
    hands: Tuple[Hand, ...] = ()
    gestures: Tuple[GestureHit, ...] = ()
    faces: Tuple[Face, ...] = ()
    heads: Tuple[Tuple[float, float, float, float], ...] = ()
    carried: Dict[str, float] = field(default_factory=dict)
    stage_ms: Dict[str, float] = field(default_factory=dict)
    extras: Dict[str, Any] = field(default_factory=dict)
    still: bool = False

    def results(self) -> FrameResults:
        """The non-pixel part, in the form facefx.results.encode() carries across processes."""
        age = max(self.carried.get("hands", 0.0), self.carried.get("gestures", 0.0))
        return FrameResults(self.frame_index & 0xFFFFFFFF, self.timestamp, self.hands, self.gestures,
                            self.faces, hands_age=age, faces_age=self.carried.get("faces", 0.0),
                            heads=self.heads, has_faces=self.has_faces,
                            frame_size=tuple(min(max(int(v), 0), 0xFFFF) for v in self.frame_size))

    @property
    def has_faces(self) -> bool:
        """Whether the faces stage ran on this frame or was carried into it: an empty `faces`
        then means no face was found (face privacy trusts nothing else)."""
        return "faces" in self.stage_ms or "faces" in self.carried


class Stage:
    """One analysis step. Subclasses set `name` and implement process().

    outputs: the Analysis fields process() fills; the engine carries them forward on frames
        the stage skips.
    every: run on every Nth frame (1 = every frame).
    every_when_tight: run on every Nth frame while the engine's per-frame budget is exceeded.
    needs: the Analysis fields of other stages that process() reads.
    beside: process() may run on the engine's second thread while the stages after it run
        (it must touch only its own outputs and `extras` keys); `shares_cpu` then tells it
        another stage is running at the same time, so a model can use one thread instead of two.
    """

    name = "stage"
    outputs: Tuple[str, ...] = ()
    needs: Tuple[str, ...] = ()
    every = 1
    every_when_tight = 1
    beside = False
    shares_cpu = False

    def enabled(self, settings: Settings) -> bool:
        return True

    def input_size(self, settings: Settings, width: int, height: int) -> Tuple[int, int]:
        """The size this stage wants the frame reduced to (the frame's own size = unreduced)."""
        return analysis_size(width, height, settings.segmentation.analysis_width)

    def configure(self, settings: Settings) -> None:
        """Apply new settings; reload models only if a model-relevant setting changed."""

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget temporal state (new source, seek, scene cut)."""

    def close(self) -> None:
        """Release models. Safe to call twice."""


# Stage name -> "module:Class" (imported when first needed) or a callable; each is called with
# the keyword argument threads=. Stages run in STAGES order, so 'gestures' sees this frame's hands.
STAGE_FACTORIES: Dict[str, Any] = {
    "segmentation": "facefx.analysis.segmentation:SegmentationStage",
    "hands": "facefx.analysis.hands:HandsStage",
    "gestures": "facefx.analysis.gestures:GestureStage",
    "faces": "facefx.analysis.faces:FacesStage",
    "expressions": "facefx.analysis.expressions:ExpressionsStage",
    "heads": "facefx.analysis.heads:HeadsStage",
}


def register_stage(name: str, factory: Callable[..., Stage]) -> None:
    """Make a stage available to engines built from settings (tests, plug-ins)."""
    STAGE_FACTORIES[name] = factory


def _make_stage(name: str, threads: Optional[int]) -> Optional[Stage]:
    factory = STAGE_FACTORIES.get(name)
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            factory = None
    if factory is None:
        log.warning("analysis stage %r is not available in this FaceFX; effects that need it stay off", name)
        return None
    return factory(threads=threads)


def validate_frame(frame: Any) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"expected a numpy uint8 image, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"unexpected frame dtype: {frame.dtype} != uint8 (convert 16-bit/float images to 8-bit)")
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise FrameError(f"expected an HxWx3 RGB or HxWx4 RGBA frame, got shape {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise FrameError(f"frame is too small to analyse: {frame.shape[1]}x{frame.shape[0]}")
    return frame


class Engine:
    """Runs the stages on each frame. One engine per video stream (it keeps temporal state).

    Example:
        with Engine(settings) as engine:
            analysis = engine.analyze(rgb_frame)
    """

    COST_SMOOTHING = 0.2

    def __init__(self, settings: Optional[Settings] = None, stages: Optional[Sequence[Stage]] = None,
                 *, threads: Optional[int] = None, budget_ms: Optional[float] = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        """stages: a fixed list (tests, tools); None = built from settings.stages() and rebuilt by
            update() when the enabled effects change.
        threads: CPU threads a model may use (default: up to two). Use 1 where the frame's
            producer needs the other core, as OBS's renderer does next to the analysis worker.
        budget_ms: per-frame analysis budget; while the stages' typical cost exceeds it, stages
            with every_when_tight > 1 skip frames. None = no budget (every stage at its rate).
        clock: seconds, monotonic (a test can drive the budget with its own clock).
        """
        self.settings = settings or Settings()
        self._threads = threads
        self._fixed = stages is not None
        self.stages: List[Stage] = list(stages) if stages is not None else []
        self.budget_ms = budget_ms
        self._clock = clock
        self._index = 0
        self._t0 = clock()
        self._small: Dict[Tuple[int, int], np.ndarray] = {}
        self._last: Dict[str, Tuple[int, float, Dict[str, Any]]] = {}
        self._cost: Dict[str, float] = {}
        self._aspect: Optional[float] = None
        # A second thread for `beside` stages where a model may use more than one core.
        self._parallel = (threads is None or threads > 1) and (os.cpu_count() or 1) > 1
        self._pool: Optional[ThreadPoolExecutor] = None
        if not self._fixed:
            self._build()
        for stage in self.stages:
            stage.configure(self.settings)

    def _build(self) -> None:
        """Create the stages the settings need that do not exist yet. A stage no longer needed
        is kept (idle, its model loaded) so switching an effect off and on again is instant, as
        the preview's effect key and the OBS filter's hotkey do."""
        have = {s.name: s for s in self.stages}
        for name in self.settings.stages():
            if name not in have:
                stage = _make_stage(name, self._threads)
                if stage is not None:
                    stage.configure(self.settings)
                    have[name] = stage
        order = {n: i for i, n in enumerate(STAGES)}
        self.stages = sorted(have.values(), key=lambda s: order.get(s.name, len(order)))
        for name in set(self._last) - set(self.settings.stages()):
            del self._last[name]     # an idle stage's last result is not carried into a later run

    def _runs(self, stage: Stage) -> bool:
        if not stage.enabled(self.settings):
            return False
        return self._fixed or stage.name in self.settings.stages()

    def update(self, settings: Settings) -> None:
        self.settings = settings
        if not self._fixed:
            self._build()
        for stage in self.stages:
            stage.configure(settings)

    def reset(self) -> None:
        self._last.clear()
        for stage in self.stages:
            stage.reset()

    @property
    def tight(self) -> bool:
        """Whether the enabled stages' typical cost exceeds the per-frame budget."""
        if self.budget_ms is None:
            return False
        cost = self._cost.get("resize", 0.0) + sum(
            self._cost.get(s.name, 0.0) for s in self.stages if self._runs(s))
        return cost > self.budget_ms

    def stage(self, name: str) -> Optional[Stage]:
        """The stage called `name` if this engine has built it (e.g. to recalibrate the
        expressions stage's neutral baseline), else None."""
        return next((s for s in self.stages if s.name == name), None)

    def analyze(self, frame: np.ndarray, timestamp: Optional[float] = None, *, still: bool = False) -> Analysis:
        """still: the frame is a single picture (Analysis.still); call reset() between pictures."""
        frame = validate_frame(frame)
        clock = self._clock
        t_start = clock()
        h, w = frame.shape[:2]
        aspect = w / h
        if self._aspect is not None and abs(aspect - self._aspect) > 0.01 * self._aspect:
            # Another shape of picture is another picture (the source was switched): the faces
            # and hands the stages track, and what they learned about them, are not in it.
            self.reset()
        self._aspect = aspect
        aw, ah = analysis_size(w, h, self.settings.segmentation.analysis_width)
        ts = timestamp if timestamp is not None else t_start - self._t0
        result = Analysis(self._index, ts, (w, h), (aw, ah), still=still)
        tight = self.tight
        images: Dict[Tuple[int, int], np.ndarray] = {}
        resize_ms = 0.0
        due: List[Stage] = []
        for stage in self.stages:
            if not self._runs(stage):
                continue
            every = max(1, stage.every_when_tight if tight else stage.every)
            last = self._last.get(stage.name)
            if last is not None and self._index - last[0] < every:
                for name, value in last[2].items():
                    setattr(result, name, value)
                result.carried[stage.name] = max(0.0, ts - last[1])
                continue
            due.append(stage)
        pending: Dict[str, Tuple[Stage, Future]] = {}   # output field -> the stage filling it
        try:
            for n, stage in enumerate(due):
                for need in stage.needs:
                    if need in pending:
                        self._finish(pending, need, result, ts)
                beside = stage.beside and self._parallel and n + 1 < len(due)
                size = stage.input_size(self.settings, w, h)
                image = images.get(size)
                if image is None:
                    t = clock()
                    image = images[size] = self._downsize(frame, *size)
                    resize_ms += (clock() - t) * 1000.0
                if beside:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(1, thread_name_prefix="facefx-analysis")
                    stage.shares_cpu = True
                    future = self._pool.submit(self._timed, stage, image, result)
                    for name in stage.outputs:
                        pending[name] = (stage, future)
                    continue
                stage.shares_cpu = False
                self._record(stage, self._timed(stage, image, result), result, ts)
        finally:
            try:
                while pending:     # (even after another stage's error: the frame's buffers are reused)
                    self._finish(pending, next(iter(pending)), result, ts)
            finally:
                # A frame a stage failed on is still a frame: the stages that ran on it do not
                # skip the next one as if it were this one again.
                self._index += 1
        result.stage_ms["resize"] = resize_ms
        self._track_cost("resize", resize_ms)
        result.stage_ms["total"] = (clock() - t_start) * 1000.0
        return result

    def _timed(self, stage: Stage, image: np.ndarray, result: Analysis) -> float:
        t = self._clock()
        stage.process(image, result)
        return (self._clock() - t) * 1000.0

    def _record(self, stage: Stage, ms: float, result: Analysis, ts: float) -> None:
        result.stage_ms[stage.name] = ms
        self._track_cost(stage.name, ms)
        self._last[stage.name] = (self._index, ts, {n: getattr(result, n) for n in stage.outputs})

    def _finish(self, pending: Dict[str, Tuple[Stage, Future]], output: str, result: Analysis, ts: float) -> None:
        """Wait for the stage running beside the others that fills `output` and record it (its
        error is raised here); its outputs leave `pending`."""
        stage, future = pending[output]
        for name in stage.outputs:
            pending.pop(name, None)
        self._record(stage, future.result(), result, ts)

    def _track_cost(self, name: str, ms: float) -> None:
        old = self._cost.get(name)
        self._cost[name] = ms if old is None else old + self.COST_SMOOTHING * (ms - old)

    def _downsize(self, frame: np.ndarray, aw: int, ah: int) -> np.ndarray:
        h, w = frame.shape[:2]
        if frame.shape[2] == 4:
            frame = frame[:, :, :3]
        if (aw, ah) == (w, h):
            return np.ascontiguousarray(frame)
        buf = self._small.get((aw, ah))
        if buf is None:
            if len(self._small) >= 4:   # sizes change with the source; keep only a few
                self._small.clear()
            buf = self._small[(aw, ah)] = np.empty((ah, aw, 3), np.uint8)
        if not frame.flags["C_CONTIGUOUS"]:
            frame = np.ascontiguousarray(frame)
        # Bilinear, like the GPU downscale in OBS, so both paths feed the model the same image
        # (and INTER_AREA costs ~10x more at 720p).
        cv2.resize(frame, (aw, ah), dst=buf, interpolation=cv2.INTER_LINEAR)
        return buf

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for stage in self.stages:
            stage.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False
