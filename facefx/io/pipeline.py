"""The frame loop: decode -> analyse + render -> encode, overlapped on three threads.

    reader thread ──hand-over──> main thread (analysis + rendering) ──queue──> writer thread

- Video files into files: a fourth thread analyses frame N+1 while the main thread renders
  frame N (order kept, nothing dropped), so analysis and compositing use both cores.
- Files: the hand-over is a bounded FIFO, so no frame is lost or reordered and at most a few
  decoded frames wait in memory (the reader blocks when the consumer is behind).
- Live sources (cameras): the hand-over is a latest-wins slot; a frame that was not picked up
  before the next one arrived is dropped and counted, so latency never grows.
- Sinks that own a GUI window run on the main thread; file sinks get a writer thread behind a
  bounded queue so FFmpeg's encoding overlaps the next frame's analysis.

OpenCV, FFmpeg (a separate process) and MediaPipe do their heavy work outside the GIL, so on two
cores decoding and encoding largely hide behind analysis. A failure on any thread stops the
others and is re-raised on the main thread; every thread is joined with a timeout.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ..analysis import Engine, FrameError
from ..imageio import MediaError
from ..render.cpu import CpuRenderer
from ..scene import Scene
from ..settings import BACKGROUND_MODES, Settings
from .progress import Progress
from .preview import PreviewSink
from .sink import FrameSink
from .sources import Failure, Frame, FrameSource

log = logging.getLogger(__name__)

QUEUE_DEPTH = 4
JOIN_TIMEOUT = 10.0
_END = object()


class Processor:
    """Engine + scene + CPU renderer: one Frame in, the finished picture out (a fresh array the
    caller may keep). One Processor per stream: the engine keeps temporal mask state, the Scene
    the gesture triggers and the stickers playing."""

    def __init__(self, settings: Settings, *, engine: Optional[Engine] = None,
                 renderer: Optional[CpuRenderer] = None) -> None:
        self.settings = settings
        self.engine = engine or Engine(settings)
        self.renderer = renderer or CpuRenderer()
        self.scene = Scene(settings)
        self.last_notice = ""          # the latest plan's notice (status lines)

    def set_plate(self, rgb: Optional[np.ndarray]) -> None:
        """Face privacy's plate (the empty scene; None forgets it): covers with style 'plate'
        show it, rescaled to the frame when its size differs."""
        self.renderer.set_plate(rgb)
        self.scene.plate_ready = rgb is not None

    def update(self, settings: Settings) -> None:
        self.settings = settings
        self.engine.update(settings)
        self.scene.configure(settings)

    def reset(self) -> None:
        self.engine.reset()
        self.scene.reset()

    def process(self, frame: Frame) -> np.ndarray:
        return self.render(frame, self.analyze(frame))

    def analyze(self, frame: Frame) -> Any:
        """The Analysis of one frame (None when no effect needs one). May run on another
        thread than render(), one frame ahead of it."""
        if not self.settings.stages():
            return None
        return self.engine.analyze(frame.image, timestamp=frame.time, still=frame.still)

    def render(self, frame: Frame, analysis: Any) -> np.ndarray:
        rgb = frame.image
        h, w = rgb.shape[:2]
        self.scene.update(analysis, frame.time)
        plan = self.scene.plan(frame.time, w, h)
        self.last_notice = plan.notice
        out = self.renderer.render(rgb, plan)
        if out is rgb:
            return rgb
        out = out.copy()  # the renderer reuses its buffers on the next call
        if frame.alpha is not None and out.shape[2] == 4:
            np.minimum(out[:, :, 3], frame.alpha, out=out[:, :, 3])
        return out

    def recalibrate(self) -> bool:
        """Learn every face's neutral baseline again (the expressions stage's); False when
        no expressions stage is running."""
        stage = self.engine.stage("expressions")
        if stage is None or not self.settings.expressions.active:
            return False
        stage.recalibrate()
        return True

    def warm_up(self, size: Tuple[int, int], *, still: bool = False) -> None:
        """Load the segmentation model now (on a blank frame) instead of inside the first frame,
        so loading errors surface before any output is written, the first frame is not late,
        and the caller can silence the model runtime's start-up chatter around this call.
        still: the input is pictures (stages load what they use for pictures)."""
        s = self.settings
        if "segmentation" not in s.stages():
            self.engine.update(s.replace(background=dataclasses.replace(s.background, mode="blur")))
        w, h = max(2, size[0]), max(2, size[1])
        try:
            self.engine.analyze(np.zeros((h, w, 3), np.uint8), timestamp=0.0, still=still)
        finally:
            self.engine.update(s)
            self.engine.reset()

    def close(self) -> None:
        self.engine.close()
        self.renderer.close()


def effect_cycle(settings: Settings) -> List[str]:
    """Background modes the preview's 'next effect' key steps through ('image' only when a
    background picture is set)."""
    return [m for m in BACKGROUND_MODES if m != "image" or settings.background.image]


def next_effect(settings: Settings) -> Settings:
    modes = effect_cycle(settings)
    cur = settings.background.mode
    nxt = modes[(modes.index(cur) + 1) % len(modes)] if cur in modes else modes[0]
    return settings.replace(background=dataclasses.replace(settings.background, mode=nxt))


class LatestSlot:
    """A one-item hand-over where a new item replaces one not yet taken (counted in `dropped`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cond:
            if self._has and self._item is not _END:
                self.dropped += 1
            if self._has and self._item is _END:
                return  # the end marker is never overwritten
            self._item, self._has = item, True
            self._cond.notify()

    def get(self, timeout: Optional[float] = None) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._has, timeout):
                raise queue.Empty
            item = self._item
            if item is not _END:  # the end marker stays for later readers
                self._item, self._has = None, False
            return item


@dataclass
class RunResult:
    processed: int = 0
    failures: List[Failure] = field(default_factory=list)
    dropped: int = 0
    elapsed: float = 0.0
    stopped_by_user: bool = False

    @property
    def fps(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0


def _put_until(q: "queue.Queue[Any]", item: Any, stop: threading.Event) -> bool:
    """Blocking put that gives up when `stop` is set (so no thread waits forever)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class Pipeline:
    """Runs one source through a Processor into a sink. Use run() once; it closes nothing it
    did not open (the caller owns source, processor and sink)."""

    def __init__(self, source: FrameSource, processor: Processor, sink: FrameSink, *,
                 progress: Optional[Progress] = None, max_frames: Optional[int] = None,
                 on_failure: Optional[Callable[[Failure], None]] = None,
                 loop_seconds: Optional[float] = None) -> None:
        """loop_seconds: in the preview, show each still picture this long, then the next
        (a LoopSource starts over at its end); None = wait for the 'next' key."""
        self.source = source
        self.loop_seconds = loop_seconds
        self._expression_mode = processor.settings.expressions.mode if processor.settings.expressions.active else ""
        self._notice = ""
        self._notice_until = 0.0
        self.processor = processor
        self.sink = sink
        self.progress = progress
        self.max_frames = max_frames
        self.on_failure = on_failure
        self.stop = threading.Event()
        self._errors: List[BaseException] = []
        self._result = RunResult()
        self._hand: Any = LatestSlot() if source.live else queue.Queue(QUEUE_DEPTH)
        self._out: "queue.Queue[Any]" = queue.Queue(QUEUE_DEPTH)

    # -- threads ------------------------------------------------------------------------------
    def _reader(self) -> None:
        read = 0
        try:
            while not self.stop.is_set():
                if not self.source.live and self.max_frames is not None and read >= self.max_frames:
                    break
                item = self.source.read()
                if item is None:
                    break
                read += 1
                if self.source.live:
                    self._hand.put(item)
                elif not _put_until(self._hand, item, self.stop):
                    break
        except BaseException as exc:  # re-raised on the main thread
            self._errors.append(exc)
            self.stop.set()
        finally:
            if self.source.live:
                self._hand.put(_END)
            else:
                _put_until(self._hand, _END, self.stop)

    def _writer(self) -> None:
        try:
            while True:
                try:
                    job = self._out.get(timeout=0.1)
                except queue.Empty:
                    if self.stop.is_set() and self._errors:
                        return
                    continue
                if job is _END:
                    return
                frame, image = job
                self.sink.write(frame, image)
        except BaseException as exc:
            self._errors.append(exc)
            self.stop.set()

    def _take(self) -> Any:
        while True:
            if self._errors:
                return _END
            try:
                return self._hand.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _END

    # -- main loop ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        result = self._result
        t0 = time.perf_counter()
        reader = threading.Thread(target=self._reader, name="facefx-reader", daemon=True)
        writer = None
        if not self.sink.main_thread:
            writer = threading.Thread(target=self._writer, name="facefx-writer", daemon=True)
            writer.start()
        reader.start()
        try:
            self._loop(result)
        except KeyboardInterrupt:  # Ctrl-C: stop cleanly; the caller still finalises the output
            result.stopped_by_user = True
        finally:
            self.stop.set()
            if writer is not None:
                # A writer that fails while the queue is full never takes the end marker:
                # offer it only while the writer can still take it.
                while writer.is_alive() and not self._errors:
                    try:
                        self._out.put(_END, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                writer.join(JOIN_TIMEOUT * 6)
                if writer.is_alive():
                    log.warning("writer thread did not stop within %.0f s", JOIN_TIMEOUT * 6)
            reader.join(JOIN_TIMEOUT)
            if reader.is_alive():
                log.warning("reader thread did not stop within %.0f s", JOIN_TIMEOUT)
            result.elapsed = time.perf_counter() - t0
            if isinstance(self._hand, LatestSlot):
                result.dropped = self._hand.dropped
        if self._errors:
            raise self._errors[0]
        return result

    def _loop(self, result: RunResult) -> None:
        if self.source.live or self.source.stills or self.sink.main_thread:
            return self._loop_frames(result)
        return self._loop_ahead(result)

    def _loop_ahead(self, result: RunResult) -> None:
        """Video files into files: frame N+1 is analysed on a thread while frame N is rendered,
        so the two cores work at once (MediaPipe and OpenCV release the GIL). Order is kept and
        every frame is processed; the per-frame cost becomes the slower stage, not the sum."""
        analyser = ThreadPoolExecutor(1, thread_name_prefix="facefx-analysis")
        pending: Optional[Tuple[Frame, Any]] = None  # (frame, its analysis job)
        try:
            while True:
                item = self._take()
                if isinstance(item, Failure):
                    self._fail(result, item)
                    continue
                # The reader stops at max_frames already, so every item it hands over is wanted.
                nxt = None if item is _END else (item, analyser.submit(self.processor.analyze, item))
                if pending is not None:
                    frame, job = pending
                    image = self.processor.render(frame, job.result())
                    result.processed += 1
                    if not _put_until(self._out, (frame, image), self.stop):
                        return
                    if self.progress is not None:
                        self.progress.update()
                if nxt is None:
                    return
                pending = nxt
        finally:
            analyser.shutdown(wait=True)

    def _loop_frames(self, result: RunResult) -> None:
        preview = self.sink if isinstance(self.sink, PreviewSink) else None
        # A video file in the preview plays at its own speed rather than as fast as it decodes.
        pace = preview is not None and not self.source.live and not self.source.stills
        t_start: Optional[float] = None
        while True:
            item = self._take()
            if item is _END:
                return
            if isinstance(item, Failure):
                self._fail(result, item)
                continue
            if self.source.stills:
                self.processor.reset()  # unrelated pictures: no temporal smoothing across them
            try:
                image = self.processor.process(item)
            except (FrameError, MediaError) as exc:
                if not self.source.stills:
                    raise
                self._fail(result, Failure(item.name or f"picture {item.index + 1}", str(exc)))
                continue
            result.processed += 1
            if pace:
                now = time.perf_counter()
                if t_start is None:
                    t_start = now - item.time
                delay = t_start + item.time - now
                if delay > 0:
                    time.sleep(delay)
            if preview is not None:
                preview.status = self.status_text()
                preview.write(item, image)
                if self._handle_preview(preview, item):
                    result.stopped_by_user = True
                    return
            elif self.sink.main_thread:
                self.sink.write(item, image)
            else:
                if not _put_until(self._out, (item, image), self.stop):
                    return
            if self.progress is not None:
                self.progress.update()
            if self.max_frames is not None and result.processed >= self.max_frames:
                return

    def _fail(self, result: RunResult, failure: Failure) -> None:
        result.failures.append(failure)
        if self.on_failure is not None:
            self.on_failure(failure)
        if self.progress is not None:
            self.progress.update(failed=True)

    def status_text(self) -> str:
        s = self.processor.settings
        mode = s.background.mode
        text = f"{self.source.description}  background: {mode}"
        if s.gestures.active:
            text += "  gestures: " + ("paused" if self.processor.scene.paused else "on")
        if s.expressions.active or self._expression_mode:
            text += f"  expressions: {s.expressions.mode}"
        if self._notice and time.perf_counter() < self._notice_until:
            text += f"  ({self._notice})"
        if s.privacy.active:
            text += f"  privacy: {s.privacy.style}"
            notice = getattr(self.processor, "last_notice", "")
            if notice:
                text += f" ({notice})"
        return text

    def toggle_expressions(self) -> None:
        """The preview's expression key: emojis off, or back on in the mode they had
        (beside when the run started without them). The stages stay loaded, so it is instant."""
        s = self.processor.settings
        if s.expressions.active:
            self._expression_mode = s.expressions.mode
            mode = "off"
        else:
            mode = self._expression_mode or "beside"
            self._expression_mode = mode
        self.processor.update(s.replace(expressions=dataclasses.replace(s.expressions, mode=mode)))

    def recalibrate(self) -> None:
        """The preview's recalibrate key: every face's neutral baseline is learned again."""
        if self.processor.recalibrate():
            calibrate = getattr(self.processor.engine.stage("expressions").tracker, "calibrate_s", 2.0)
            self._notice = f"recalibrating: keep a neutral face for {calibrate:g} s"
            self._notice_until = time.perf_counter() + calibrate
        else:
            self._notice, self._notice_until = "no expressions to recalibrate (press e)", time.perf_counter() + 2.0

    def _handle_preview(self, preview: PreviewSink, item: Frame) -> bool:
        """Process keys; for still pictures wait here until the user moves on (or, looping,
        until the picture's time is up). True = quit."""
        until = time.perf_counter() + self.loop_seconds if self.loop_seconds else None
        while True:
            actions = preview.poll(1 if not self.source.stills else 30)
            for action in actions:
                if action == "quit":
                    return True
                if action in ("next_effect", "toggle_expressions"):
                    if action == "next_effect":
                        self.processor.update(next_effect(self.processor.settings))
                    else:
                        self.toggle_expressions()
                    if self.source.stills:
                        self.processor.reset()
                        preview.status = self.status_text()
                        preview.write(item, self.processor.process(item))
                if action == "recalibrate":
                    self.recalibrate()
                if action == "capture_plate":
                    self.processor.set_plate(item.image)
                    self._notice, self._notice_until = "privacy: background captured", time.perf_counter() + 2.0
                    preview.status = self.status_text()
                if action == "pause_gestures":
                    self.processor.scene.paused = not self.processor.scene.paused
                preview.status = self.status_text()
                if action == "next" and self.source.stills:
                    return False
            if not self.source.stills:
                return False
            if until is not None and time.perf_counter() >= until:
                return False
