"""The preview window: an OpenCV window with keyboard controls, driven from the main thread."""
from __future__ import annotations

import functools
import os
import sys
import time
from typing import List, Optional, Tuple

import cv2
import numpy as np

from . import SinkError
from .sink import FrameSink
from .sources import Frame

HELP_LINES = (
    ("q / Esc", "quit"),
    ("h", "show / hide this help"),
    ("f", "fullscreen on / off"),
    ("space / b", "next effect"),
    ("m", "mirror on / off"),
    ("g", "pause / resume gesture stickers"),
    ("e", "expression emojis on / off"),
    ("c", "recalibrate the neutral face"),
    ("p", "privacy: capture the background plate (step out of view first)"),
)
STILL_HELP = (("n / Enter", "next picture"),)


def has_display() -> bool:
    """Whether a GUI window can open (an X11/Wayland session on Linux; always elsewhere)."""
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@functools.lru_cache(maxsize=4)
def checkerboard(h: int, w: int, cell: int = 16) -> np.ndarray:
    """Light-grey checks (read-only; cached, as the preview asks for the same size every frame)."""
    rows = (np.arange(h) // cell) % 2
    cols = (np.arange(w) // cell) % 2
    board = np.where((rows[:, None] ^ cols[None, :]).astype(bool)[:, :, None], 235, 200).astype(np.uint8)
    board = np.ascontiguousarray(np.broadcast_to(board, (h, w, 3)))
    board.flags.writeable = False
    return board


def flatten_alpha(image: np.ndarray) -> np.ndarray:
    """RGBA -> RGB over a checkerboard (how image editors show transparency):
    (rgb * a + board * (255 - a) + 127) // 255, in 16-bit OpenCV operations."""
    if image.shape[2] != 4:
        return image
    h, w = image.shape[:2]
    rgba = np.ascontiguousarray(image)
    a = cv2.cvtColor(rgba[:, :, 3], cv2.COLOR_GRAY2RGB)
    total = cv2.add(cv2.multiply(rgba[:, :, :3], a, dtype=cv2.CV_16U),
                    cv2.multiply(checkerboard(h, w), cv2.bitwise_not(a), dtype=cv2.CV_16U))
    return cv2.convertScaleAbs(total, alpha=1.0 / 255.0)  # rounds half up, as + 127 // 255 does


class PreviewSink(FrameSink):
    """An OpenCV window with keyboard controls. Must be driven from the main thread.

    The window shows the processed frame (mirrored when `mirror`, like a bathroom mirror, which is
    how people expect to see themselves), a status line, and a help overlay toggled with 'h'.
    poll() returns the actions the pipeline has to carry out: 'quit', 'next_effect', 'next'.
    """

    main_thread = True

    def __init__(self, *, title: str = "FaceFX", mirror: bool = False, stills: bool = False) -> None:
        super().__init__()
        self.title = title
        self.mirror = mirror
        self.stills = stills
        self.show_help = False
        self.fullscreen = False
        self.status = ""
        self.description = "preview window"
        self._open = False
        self._last: Optional[np.ndarray] = None
        self._t_frames: List[float] = []
        self.window: Optional[Tuple[int, int]] = None  # the size the window was given

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "PreviewSink":
        if self._open:
            return self
        if not has_display():
            raise SinkError("no display for the preview window (DISPLAY is not set); "
                            "expected -o OUTPUT (a file, a folder or virtualcam), or run in a desktop session")
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            if size:
                self._fit_window(*size)
        except cv2.error as exc:
            raise SinkError(f"cannot open a preview window ({' '.join(str(exc).split())[:160]}); "
                            "expected an OpenCV build with GUI support, or use -o OUTPUT") from None
        self._open = True
        return self

    def window_size(self, w: int, h: int) -> Tuple[int, int]:
        """The window for a w x h picture: its own size, shrunk to fit 1280x720."""
        scale = min(1.0, 1280.0 / w, 720.0 / h)
        return max(2, int(w * scale)), max(2, int(h * scale))

    def _fit_window(self, w: int, h: int) -> None:
        """Size the window for the pictures. Folders have no size up front, so the first
        picture sizes it; OpenCV's own default would be a window of about 200x150."""
        self.window = self.window_size(w, h)
        cv2.resizeWindow(self.title, *self.window)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.frames += 1
        now = time.perf_counter()
        self._t_frames = [t for t in self._t_frames if now - t < 1.0] + [now]
        self._last = image
        if self.window is None and self._open:
            self._fit_window(image.shape[1], image.shape[0])
        self.redraw()

    @property
    def fps(self) -> float:
        ts = self._t_frames
        return (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) > 1 and ts[-1] > ts[0] else 0.0

    def redraw(self) -> None:
        if self._last is None or not self._open:
            return
        view = flatten_alpha(self._last)
        if self.mirror:
            view = cv2.flip(view, 1)
        view = np.ascontiguousarray(cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
        self._overlay(view)
        cv2.imshow(self.title, view)

    def _overlay(self, img: np.ndarray) -> None:
        h, w = img.shape[:2]
        scale = max(0.4, min(1.0, h / 720.0))
        thick = 1 if scale < 0.7 else 2
        font = cv2.FONT_HERSHEY_SIMPLEX
        line_h = int(30 * scale) + 4
        status = self.status
        if not self.stills and self.fps > 0:
            status += f"   {self.fps:4.1f} fps"
        status += "   h: help"

        def text(s: str, x: int, y: int) -> None:
            cv2.putText(img, s, (x, y), font, 0.6 * scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
            cv2.putText(img, s, (x, y), font, 0.6 * scale, (255, 255, 255), thick, cv2.LINE_AA)

        text(status, 10, h - 12)
        if not self.show_help:
            return
        lines = HELP_LINES + (STILL_HELP if self.stills else ())
        box_h = line_h * (len(lines) + 1) + 10
        box_w = min(w - 20, int(420 * scale) + 20)
        y0 = 10
        roi = img[y0:y0 + box_h, 10:10 + box_w]
        roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)
        text("FaceFX keys", 20, y0 + line_h)
        for i, (key, what) in enumerate(lines):
            y = y0 + line_h * (i + 2)
            text(key, 20, y)
            text(what, 20 + int(150 * scale), y)

    def poll(self, wait_ms: int = 1) -> List[str]:
        """Handle window events; return pipeline actions ('quit', 'next_effect', 'next', 'pause_gestures',
        'toggle_expressions', 'recalibrate', 'capture_plate')."""
        if not self._open:
            return []
        key = cv2.waitKey(max(1, wait_ms))
        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return ["quit"]  # closed with the window's close button
        except cv2.error:
            return ["quit"]
        return self.handle_key(key)

    def handle_key(self, key: int) -> List[str]:
        """Apply a key code from cv2.waitKey: window-local keys act here, the rest become
        pipeline actions ('quit', 'next_effect', 'next', 'pause_gestures', 'toggle_expressions',
        'recalibrate', 'capture_plate')."""
        if key < 0:
            return []
        key &= 0xFF
        actions: List[str] = []
        if key in (ord("q"), ord("Q"), 27):
            actions.append("quit")
        elif key in (ord("h"), ord("H")):
            self.show_help = not self.show_help
            self.redraw()
        elif key in (ord("f"), ord("F")):
            self.fullscreen = not self.fullscreen
            if self._open:
                cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN,
                                      cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL)
        elif key in (ord(" "), ord("b"), ord("B")):
            actions.append("next_effect")
        elif key in (ord("m"), ord("M")):
            self.mirror = not self.mirror
            self.redraw()
        elif key in (ord("n"), ord("N"), 13, 10):
            actions.append("next")
        elif key in (ord("g"), ord("G")):
            actions.append("pause_gestures")
        elif key in (ord("e"), ord("E")):
            actions.append("toggle_expressions")
        elif key in (ord("c"), ord("C")):
            actions.append("recalibrate")
        elif key in (ord("p"), ord("P")):
            actions.append("capture_plate")
        return actions

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass

