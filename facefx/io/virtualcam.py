"""Virtual camera output through pyvirtualcam (the optional `facefx[virtualcam]` extra)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import cv2
import numpy as np

from . import SinkError
from .sink import FrameSink
from .sources import Frame

VIRTUALCAM = "virtualcam"


class VirtualCameraSink(FrameSink):
    """Sends frames to a virtual camera through pyvirtualcam (an optional extra).

    pace: wait for the camera's frame interval (file inputs would otherwise run as fast as they
    decode); live inputs are paced by the camera already.
    """

    def __init__(self, *, pace: bool = False, fps: Optional[float] = None) -> None:
        super().__init__()
        self.pace = pace
        self.fps_override = fps
        self.description = "virtual camera"
        self._cam: Any = None

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "VirtualCameraSink":
        if self._cam is not None:
            return self
        try:
            import pyvirtualcam
        except ImportError:
            raise SinkError("virtual camera output needs pyvirtualcam, which is not installed; "
                            "install it with: pip install 'facefx[virtualcam]'") from None
        if size is None:
            raise SinkError("virtual camera output needs an input with a fixed frame size (a camera or a video)")
        w, h = size
        try:
            self._cam = pyvirtualcam.Camera(width=w, height=h, fps=self.fps_override or fps,
                                            fmt=pyvirtualcam.PixelFormat.RGB, print_fps=False)
        except Exception as exc:  # pyvirtualcam reports every backend's failure in one RuntimeError
            detail = " ".join(str(exc).split())
            raise SinkError(f"no virtual camera device is available ({detail}); on Linux load v4l2loopback "
                            "(sudo modprobe v4l2loopback exclusive_caps=1), on Windows/macOS install OBS Studio "
                            "and start its virtual camera once") from None
        self.description = f"virtual camera {getattr(self._cam, 'device', '')}".strip()
        return self

    def write(self, frame: Frame, image: np.ndarray) -> None:
        cam = self._cam
        if cam is None:
            raise SinkError("virtual camera is not open")
        if image.shape[1] != cam.width or image.shape[0] != cam.height:
            image = cv2.resize(image, (cam.width, cam.height), interpolation=cv2.INTER_AREA)
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
        cam.send(np.ascontiguousarray(image))
        if self.pace:
            cam.sleep_until_next_frame()
        self.frames += 1

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            cam.close()

