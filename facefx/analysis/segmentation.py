"""Person segmentation with MediaPipe's selfie segmentation models (bundled in the wheel)."""
from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

from ..settings import Settings
from . import Analysis, Stage
from .maskpost import MaskPostProcessor

# mp.solutions model_selection: 0 = general (256x256), 1 = landscape (256x144).
MODEL_SELECTION = {"general": 0, "landscape": 1}


def quiet_mediapipe() -> None:
    """Silence MediaPipe/TFLite start-up chatter on stderr (must run before the import)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class ModelError(RuntimeError):
    """A model could not be loaded; the message says which and what to install."""


class SegmentationStage(Stage):
    name = "segmentation"

    def __init__(self) -> None:
        self._model: Any = None
        self._model_name: Optional[str] = None
        self._post = MaskPostProcessor()

    def enabled(self, settings: Settings) -> bool:
        return settings.needs_segmentation()

    def configure(self, settings: Settings) -> None:
        seg = settings.segmentation
        self._post.configure(smoothing=seg.smoothing)
        if seg.model != self._model_name:
            self.close()
            self._model_name = seg.model
            self._post.reset()

    def _load(self) -> Any:
        quiet_mediapipe()
        try:
            from mediapipe.python.solutions import selfie_segmentation
        except ImportError as exc:
            raise ModelError(
                f"MediaPipe is not installed ({exc}); install FaceFX's dependencies: pip install -e .") from None
        try:
            return selfie_segmentation.SelfieSegmentation(model_selection=MODEL_SELECTION[self._model_name or "landscape"])
        except Exception as exc:  # a missing or corrupt bundled model file
            raise ModelError(f"cannot load the {self._model_name} selfie segmentation model: {exc}") from None

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        if self._model is None:
            self._model = self._load()
        result = self._model.process(image)
        raw = result.segmentation_mask
        if raw is None:
            raise ModelError("selfie segmentation returned no mask")
        analysis.mask = self._post.process(raw)

    def reset(self) -> None:
        self._post.reset()

    def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            model.close()
