"""The analysis engine: RGB(A) frames in, one Analysis per frame out.

The engine downsizes each frame once to the analysis size and hands that image to a chain of
pluggable stages (segmentation today; hands, faces, gestures and expressions later). Each stage
fills its part of the Analysis and records its time. Models load lazily and reload only when a
setting that affects the model changes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..settings import Settings, analysis_size  # noqa: F401 (re-exported)


class FrameError(ValueError):
    """A frame the engine cannot analyse; the message names the expected form."""


@dataclass
class Analysis:
    """What the engine found in one frame.

    mask: uint8 smoothed person probability (255 = person) at analysis_size, or None when segmentation
        is off. Stages added later put their results in their own fields.
    stage_ms: wall time of each stage in milliseconds (plus 'resize' and 'total').
    """

    frame_index: int
    timestamp: float
    frame_size: Tuple[int, int]
    analysis_size: Tuple[int, int]
    mask: Optional[np.ndarray] = None
    stage_ms: Dict[str, float] = field(default_factory=dict)
    extras: Dict[str, Any] = field(default_factory=dict)


class Stage:
    """One analysis step. Subclasses set `name` and implement process()."""

    name = "stage"

    def enabled(self, settings: Settings) -> bool:
        return True

    def configure(self, settings: Settings) -> None:
        """Apply new settings; reload models only if a model-relevant setting changed."""

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget temporal state (new source, seek, scene cut)."""

    def close(self) -> None:
        """Release models. Safe to call twice."""


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

    def __init__(self, settings: Optional[Settings] = None, stages: Optional[Sequence[Stage]] = None,
                 *, threads: Optional[int] = None) -> None:
        """threads: CPU threads a model may use (default: up to two). Use 1 where the frame's
        producer needs the other core, as OBS's renderer does next to the analysis worker."""
        self.settings = settings or Settings()
        if stages is None:
            from .segmentation import SegmentationStage
            stages = [SegmentationStage(threads=threads)]
        self.stages: List[Stage] = list(stages)
        self._index = 0
        self._t0 = time.perf_counter()
        self._small: Optional[np.ndarray] = None
        for stage in self.stages:
            stage.configure(self.settings)

    def update(self, settings: Settings) -> None:
        self.settings = settings
        for stage in self.stages:
            stage.configure(settings)

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()

    def analyze(self, frame: np.ndarray, timestamp: Optional[float] = None) -> Analysis:
        frame = validate_frame(frame)
        t_start = time.perf_counter()
        h, w = frame.shape[:2]
        aw, ah = analysis_size(w, h, self.settings.segmentation.analysis_width)
        small = self._downsize(frame, aw, ah)
        t_resized = time.perf_counter()
        ts = timestamp if timestamp is not None else t_start - self._t0
        result = Analysis(self._index, ts, (w, h), (aw, ah))
        result.stage_ms["resize"] = (t_resized - t_start) * 1000.0
        self._index += 1
        for stage in self.stages:
            if not stage.enabled(self.settings):
                continue
            t = time.perf_counter()
            stage.process(small, result)
            result.stage_ms[stage.name] = (time.perf_counter() - t) * 1000.0
        result.stage_ms["total"] = (time.perf_counter() - t_start) * 1000.0
        return result

    def _downsize(self, frame: np.ndarray, aw: int, ah: int) -> np.ndarray:
        h, w = frame.shape[:2]
        if frame.shape[2] == 4:
            frame = frame[:, :, :3]
        if (aw, ah) == (w, h):
            return np.ascontiguousarray(frame)
        buf = self._small
        if buf is None or buf.shape[:2] != (ah, aw):
            buf = self._small = np.empty((ah, aw, 3), np.uint8)
        if not frame.flags["C_CONTIGUOUS"]:
            frame = np.ascontiguousarray(frame)
        # Bilinear, like the GPU downscale in OBS, so both paths feed the model the same image
        # (and INTER_AREA costs ~10x more at 720p).
        cv2.resize(frame, (aw, ah), dst=buf, interpolation=cv2.INTER_LINEAR)
        return buf

    def close(self) -> None:
        for stage in self.stages:
            stage.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False
