"""Where frames come from: cameras, video files, single images, folders of images, a synthetic
stream.

Every source has the same small interface (open / read / close, plus a few facts about the
stream), the idea of OpenCV's samples/python/video.py: the pipeline and the tests do not care
whether frames come from a webcam or from a generator, so everything camera-related runs without
hardware. Constructors only record their arguments; open() touches the device or file, so a bad
input is reported before any model loads.

Formats are recognised from the file's bytes (OpenCV's image signatures, then FFmpeg), not from
the extension.
"""
from __future__ import annotations

import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from ..imageio import MediaError, cover_fit, gif_frame_count, is_gif, load_image_rgb, to_rgb8
from . import SourceError

IMAGE_HINT = "a PNG, JPEG, BMP, WebP, TIFF or GIF picture"
VIDEO_HINT = "a video such as MP4, MOV, MKV, WebM or AVI"
INPUT_HINT = "a camera index such as 0, a video or image file, or a folder of images"
# Extensions that make a file in a folder count as an image even when its bytes are not
# recognised (so a corrupt photo is reported as failed rather than silently skipped).
IMAGE_EXTENSIONS = {".gif", ".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".dib", ".webp", ".tif", ".tiff",
                    ".pbm", ".pgm", ".ppm", ".pnm", ".jp2", ".sr", ".ras", ".exr", ".hdr", ".pic"}
DEFAULT_FPS = 30.0


@dataclass
class Frame:
    """One picture from a source.

    image: HxWx3 uint8 RGB (sources convert gray, 16-bit and BGR(A) input).
    time: seconds on the source's clock: media time for files, time since opening for live
        sources. Time-driven effects (hologram scan lines) follow it.
    name: file name for pictures from a folder (the output keeps it), else "".
    alpha: HxW uint8 alpha of an RGBA picture, or None. Effects ignore it; a transparent
        cut-out keeps it, so areas already transparent in the input stay transparent.
    still: a picture on its own (image files, folders), not a frame of a stream: analysis
        answers from it alone (facefx.analysis.Analysis.still).
    """

    image: np.ndarray
    index: int
    time: float
    name: str = ""
    alpha: Optional[np.ndarray] = None
    still: bool = False


@dataclass
class Failure:
    """An item of a multi-file source that could not be read; the run reports it and goes on."""

    name: str
    message: str


Item = Union[Frame, Failure]


class FrameSource:
    """Base class. read() returns the next Frame (or Failure), or None at the end.

    live: frames arrive in real time; a slow consumer should drop stale frames, never queue them.
    stills: every frame is an independent picture (temporal smoothing restarts for each).
    """

    live = False
    stills = False
    description = "source"

    def open(self) -> "FrameSource":
        return self

    def read(self) -> Optional[Item]:
        raise NotImplementedError

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        """(width, height) of the frames, or None when it varies (folders)."""
        return None

    @property
    def fps(self) -> float:
        return DEFAULT_FPS

    @property
    def frame_count(self) -> Optional[int]:
        """Number of items, or None when unknown/unbounded. May be an estimate for videos."""
        return None

    def close(self) -> None:
        """Release the device or file. Safe to call twice."""

    def __iter__(self) -> Iterator[Item]:
        while True:
            item = self.read()
            if item is None:
                return
            yield item

    def __enter__(self) -> "FrameSource":
        return self.open()

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False


def _check_frame(frame: Any, what: str) -> None:
    if frame is None or getattr(frame, "size", 0) == 0 or frame.ndim < 2 or min(frame.shape[:2]) < 2:
        shape = "x".join(str(v) for v in getattr(frame, "shape", ())[:2][::-1]) or "empty"
        raise SourceError(f"{what} delivered a {shape} frame; expected frames at least 2x2 pixels")


class _CaptureSource(FrameSource):
    """Shared by cameras and video files: both are cv2.VideoCapture underneath."""

    def __init__(self) -> None:
        self._cap: Any = None
        self._first: Optional[np.ndarray] = None
        self._size: Optional[Tuple[int, int]] = None
        self._fps = DEFAULT_FPS
        self._index = 0

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    def _start(self, cap: Any, what: str, not_open: str, no_frames: str) -> None:
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(not_open)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise SourceError(no_frames)
        try:
            _check_frame(frame, what)
        except SourceError:
            cap.release()
            raise
        self._cap = cap
        self._first = frame
        self._size = (frame.shape[1], frame.shape[0])
        fps = cap.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and math.isfinite(fps) and 1.0 <= fps <= 1000.0 else DEFAULT_FPS

    def _next_bgr(self) -> Optional[np.ndarray]:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        cap, self._cap = self._cap, None
        self._first = None
        if cap is not None:
            cap.release()


class CameraSource(_CaptureSource):
    """A webcam by index. Live: it delivers frames at its own pace."""

    live = True

    def __init__(self, index: int, *, width: Optional[int] = None, height: Optional[int] = None,
                 fps: Optional[float] = None) -> None:
        super().__init__()
        self.index = int(index)
        self._want = (width, height, fps)
        self.description = f"camera {self.index}"
        self._t0 = 0.0
        self._failures = 0

    def open(self) -> "CameraSource":
        if self._cap is not None:
            return self
        what = f"camera {self.index}"
        hint = "expected the index of a connected camera, e.g. 0"
        # V4L2 directly on Linux: CAP_ANY also probes other backends that log their own errors.
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        try:
            cap = cv2.VideoCapture(self.index, api)
        except cv2.error:
            cap = None
        if cap is not None and cap.isOpened():
            width, height, fps = self._want
            if width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            if fps:
                cap.set(cv2.CAP_PROP_FPS, fps)
        self._start(cap, what,
                    f"camera {self.index} is not available (no such device, or it is in use); {hint}",
                    f"camera {self.index} opened but delivered no picture; {hint}")
        self._t0 = time.perf_counter()
        return self

    def read(self) -> Optional[Item]:
        frame = self._next_bgr()
        while frame is None:
            if self._cap is None:
                return None
            self._failures += 1
            if self._failures > 30:
                raise SourceError(f"camera {self.index} stopped delivering frames (unplugged or in use?)")
            time.sleep(0.01)
            frame = self._next_bgr()
        self._failures = 0
        _check_frame(frame, self.description)
        item = Frame(to_rgb8(frame, bgr=True), self._index, time.perf_counter() - self._t0)
        self._index += 1
        return item


class VideoFileSource(_CaptureSource):
    """A video file, decoded by OpenCV's FFmpeg backend. Frames keep their order; none dropped.

    Each frame's time is its own timestamp. Phones record at a variable frame rate (slower in
    the dark, faster when the scene moves); `variable_rate` is then True and `fps` is the
    stream's base rate (the finest step of its timestamps, not the average), so an output
    placing frames by their time keeps picture and sound together.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.description = path
        self._count: Optional[int] = None
        self.variable_rate = False
        self._last_time = -1.0

    def open(self) -> "VideoFileSource":
        if self._cap is not None:
            return self
        try:
            cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        except cv2.error:
            cap = None
        if cap is not None and cap.isOpened():
            # Phones store portrait video sideways with a rotation in the metadata; players
            # honour it, and so must the analysis and the output (written upright).
            cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        # FFmpeg opens almost anything (even text files, as "ansi art"); what counts is a frame.
        no_frames = (f"{self.path} is not a readable image or video (no frame could be decoded: corrupt or "
                     f"unsupported format); expected {IMAGE_HINT} or {VIDEO_HINT}")
        if cap is None or not cap.isOpened():
            from .ffmpeg import probe_streams
            streams = probe_streams(self.path)
            if streams["audio"] and not streams["video"]:
                raise SourceError(f"{self.path} has audio but no video stream; expected {VIDEO_HINT} or {IMAGE_HINT}")
        self._start(cap, self.path,
                    f"{self.path} is not a readable image or video (corrupt or unsupported format); "
                    f"expected {IMAGE_HINT} or {VIDEO_HINT}", no_frames)
        n = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self._count = int(n) if n and math.isfinite(n) and n > 0 else None
        from .ffmpeg import probe_frame_rate
        base = probe_frame_rate(self.path)
        if base and 1.0 <= base <= 240.0 and base > self._fps * 1.01:
            self.variable_rate = True
            self._fps = base
        return self

    @property
    def frame_count(self) -> Optional[int]:
        return self._count

    def read(self) -> Optional[Item]:
        frame = self._next_bgr()
        if frame is None:
            return None
        _check_frame(frame, self.path)
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self._cap is not None else -1.0
        if not math.isfinite(t) or t <= self._last_time:  # no usable timestamp: count frames
            t = self._last_time + 1.0 / self._fps if self._index else 0.0
        self._last_time = t
        item = Frame(to_rgb8(frame, bgr=True), self._index, t)
        self._index += 1
        return item


def _is_jpeg(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(3) == b"\xff\xd8\xff"
    except OSError:
        return False


def _load_still(path: str, index: int) -> Frame:
    # JPEGs have no alpha; every format's EXIF rotation is applied by load_image_rgb.
    img = load_image_rgb(path, keep_alpha=not _is_jpeg(path))
    h, w = img.shape[:2]
    if min(h, w) < 2:
        raise SourceError(f"{path} is {w}x{h} pixels; expected a picture at least 2x2 pixels")
    alpha = None
    if img.shape[2] == 4:
        if int(img[:, :, 3].min()) < 255:  # opaque pictures come back with a full alpha channel
            alpha = np.ascontiguousarray(img[:, :, 3])
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2RGB)
    return Frame(img, index, 0.0, os.path.basename(path), alpha, still=True)


class ImageSource(FrameSource):
    """One picture. Grayscale, 16-bit, palette and RGBA files are converted to 8-bit RGB."""

    stills = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = path
        self._frame: Optional[Frame] = None
        self._done = False

    def open(self) -> "ImageSource":
        if self._frame is None and not self._done:
            self._frame = _load_still(self.path, 0)
        return self

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        if self._frame is None:
            return None
        h, w = self._frame.image.shape[:2]
        return (w, h)

    @property
    def frame_count(self) -> Optional[int]:
        return 1

    def read(self) -> Optional[Item]:
        frame, self._frame = self._frame, None
        self._done = True
        return frame

    def rewind(self) -> None:
        """Start again (LoopSource): the picture is read again from its file."""
        self._done = False
        self.open()

    def close(self) -> None:
        self._frame = None


def natural_key(name: str) -> List[Any]:
    """Sort key that puts img2 before img10 (case-insensitive)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def is_image_file(path: str) -> bool:
    """True when OpenCV recognises the file's signature as an image format (or it is a GIF, which
    FaceFX reads through FFmpeg: in a folder, a GIF counts as a picture, its first frame)."""
    try:
        return bool(cv2.haveImageReader(path)) or is_gif(path)
    except cv2.error:
        return False


class FolderSource(FrameSource):
    """The pictures in a folder (not its subfolders), in natural sorted order.

    A file counts as a picture when its bytes are a known image format or its extension says it
    should be; a picture that cannot be read becomes a Failure item and the run goes on. Other
    files (notes, hidden files) are skipped and counted in `skipped`.
    """

    stills = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = path
        self.files: List[str] = []
        self.skipped: List[str] = []
        self._pos = 0

    def open(self) -> "FolderSource":
        try:
            names = os.listdir(self.path)
        except OSError as exc:
            raise SourceError(f"cannot list folder {self.path}: {exc.strerror or exc}") from None
        files, skipped = [], []
        for name in sorted(names, key=natural_key):
            full = os.path.join(self.path, name)
            if name.startswith(".") or not os.path.isfile(full):
                continue
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS or is_image_file(full):
                files.append(full)
            else:
                skipped.append(name)
        if not files:
            raise SourceError(f"folder {self.path} contains no pictures; expected a folder of {IMAGE_HINT.replace('a ', '', 1)} files")
        self.files, self.skipped, self._pos = files, skipped, 0
        return self

    @property
    def frame_count(self) -> Optional[int]:
        return len(self.files)

    def rewind(self) -> None:
        """Start again from the first picture (LoopSource)."""
        self._pos = 0

    def read(self) -> Optional[Item]:
        if self._pos >= len(self.files):
            return None
        path = self.files[self._pos]
        index = self._pos
        self._pos += 1
        try:
            return _load_still(path, index)
        except MediaError as exc:
            return Failure(os.path.basename(path), str(exc))


class LoopSource(FrameSource):
    """A picture or a folder of pictures, over and over (`--loop`, the exhibition demo).

    The inner source is rewound at its end. A picture that fails is reported once, on the
    first pass; a pass that yields no picture at all ends the stream (rather than spinning).
    """

    stills = True

    def __init__(self, inner: FrameSource) -> None:
        if not inner.stills:
            raise SourceError(f"{inner.description} is not a picture or a folder of pictures; "
                              "only those can be shown in a loop")
        self.inner = inner
        self.description = inner.description
        self.passes = 0
        self._good = 0
        self._failed: set = set()

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        return self.inner.size

    @property
    def skipped(self) -> List[str]:
        return list(getattr(self.inner, "skipped", []))

    def open(self) -> "LoopSource":
        self.inner.open()
        return self

    def read(self) -> Optional[Item]:
        while True:
            item = self.inner.read()
            if item is None:
                if self._good == 0:
                    return None
                self.passes += 1
                self._good = 0
                self.inner.rewind()
                continue
            if isinstance(item, Failure):
                if item.name in self._failed:
                    continue
                self._failed.add(item.name)
                return item
            self._good += 1
            return item

    def close(self) -> None:
        self.inner.close()


class SyntheticSource(FrameSource):
    """A generated stream with a camera's interface, for tests and demos without hardware.

    With `image`, the picture drifts slowly across the frame (so a real person moves, and the
    segmentation has something to find); without, a simple figure sways over a gradient.
    `live` sources pace themselves at `fps` like a camera; `frames` bounds the stream
    (None = endless).

    Spec string form for the command line: synth[:key=value...] with keys size=WxH, fps=N,
    frames=N, image=PATH, live=0|1; e.g. "synth:size=640x360:frames=30".
    """

    def __init__(self, *, width: int = 640, height: int = 360, fps: float = DEFAULT_FPS,
                 frames: Optional[int] = None, image: Optional[str] = None, live: bool = True) -> None:
        if width < 2 or height < 2:
            raise SourceError(f"synthetic source size must be at least 2x2, got {width}x{height}")
        if not fps > 0:
            raise SourceError(f"synthetic source fps must be positive, got {fps}")
        if frames is not None and frames < 1:
            raise SourceError(f"synthetic source frames must be at least 1, got {frames}")
        self.width, self.height, self._fps = int(width), int(height), float(fps)
        self._margin = max(2, self.width // 16)  # how far a picture drifts
        self.frames = frames
        self.image_path = image
        self.live = live
        self.description = "synthetic source"
        self._picture: Optional[np.ndarray] = None
        self._index = 0
        self._t0 = 0.0
        self._open = False

    @classmethod
    def parse(cls, spec: str) -> "SyntheticSource":
        expected = "expected synth[:size=WxH][:fps=N][:frames=N][:image=PATH][:live=0|1]"
        kwargs: dict = {}
        parts = spec.split(":")
        if parts[0] != "synth":
            raise SourceError(f"{spec!r} is not a synthetic source; {expected}")
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            try:
                if key == "size" and sep:
                    w, h = value.lower().split("x")
                    kwargs["width"], kwargs["height"] = int(w), int(h)
                elif key == "fps" and sep:
                    kwargs["fps"] = float(value)
                elif key == "frames" and sep:
                    kwargs["frames"] = int(value)
                elif key == "image" and sep:
                    kwargs["image"] = value
                elif key == "live" and value in ("0", "1"):
                    kwargs["live"] = value == "1"
                else:
                    raise ValueError(part)
            except ValueError:
                raise SourceError(f"bad synthetic source option {part!r}; {expected}") from None
        return cls(**kwargs)

    def open(self) -> "SyntheticSource":
        if not self._open:
            if self.image_path:  # cover the frame with a margin to drift within (fitted once)
                m = self._margin
                self._picture = cover_fit(load_image_rgb(self.image_path), self.width + 2 * m, self.height + 2 * m)
            self._t0 = time.perf_counter()
            self._open = True
        return self

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        return (self.width, self.height)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> Optional[int]:
        return self.frames

    def read(self) -> Optional[Item]:
        if not self._open:
            self.open()
        if self.frames is not None and self._index >= self.frames:
            return None
        if self._index == 0:
            self._t0 = time.perf_counter()  # the clock starts with the first frame, like a camera's
        t = self._index / self._fps
        if self.live:  # pace like a camera
            delay = self._t0 + t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        item = Frame(self.render(t), self._index, t)
        self._index += 1
        return item

    def render(self, t: float) -> np.ndarray:
        """The frame at time t (deterministic)."""
        w, h = self.width, self.height
        if self._picture is not None:
            margin = self._margin
            dx = int(round(margin * (1 + math.sin(t * 1.3))))
            dy = int(round(margin * (1 + 0.5 * math.sin(t * 0.7))))
            return np.ascontiguousarray(self._picture[dy:dy + h, dx:dx + w])
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        img = np.empty((h, w, 3), np.uint8)
        img[:, :, 0] = (60 + 120 * x + 0 * y).astype(np.uint8)
        img[:, :, 1] = (90 + 80 * y + 0 * x).astype(np.uint8)
        img[:, :, 2] = (150 + 60 * (1 - y) + 0 * x).astype(np.uint8)
        cx = int(w * (0.5 + 0.15 * math.sin(t * 1.5)))
        r = max(2, h // 7)
        cv2.ellipse(img, (cx, h), (int(r * 2.2), int(r * 2.4)), 0, 180, 360, (40, 60, 120), -1)
        cv2.circle(img, (cx, int(h * 0.45)), r, (225, 180, 150), -1)
        return img

    def close(self) -> None:
        self._open = False
        self._picture = None


def camera_index(spec: str) -> Optional[int]:
    return int(spec) if re.fullmatch(r"\d{1,3}", spec.strip()) else None


def open_source(spec: str, *, camera_size: Optional[Tuple[int, int]] = None,
                camera_fps: Optional[float] = None) -> FrameSource:
    """Open the input named on the command line (see INPUT_HINT). Raises SourceError/MediaError
    with a one-line message when it is missing, empty, unreadable or of an unknown kind."""
    if not spec:
        raise SourceError(f"no input given; expected {INPUT_HINT}")
    exists = os.path.exists(spec)
    index = camera_index(spec)
    if index is not None and not exists:
        width, height = camera_size or (None, None)
        return CameraSource(index, width=width, height=height, fps=camera_fps).open()
    if (spec == "synth" or spec.startswith("synth:")) and not exists:
        return SyntheticSource.parse(spec).open()
    if not exists:
        raise SourceError(f"input not found: {spec} (expected {INPUT_HINT})")
    if os.path.isdir(spec):
        return FolderSource(spec).open()
    if not os.path.isfile(spec):
        raise SourceError(f"{spec} is not a regular file; expected {INPUT_HINT}")
    if not os.access(spec, os.R_OK):
        raise SourceError(f"cannot read {spec}: permission denied")
    if os.path.getsize(spec) == 0:
        raise SourceError(f"{spec} is empty (0 bytes); expected {IMAGE_HINT} or {VIDEO_HINT}")
    if is_gif(spec):  # one frame is a picture, an animated GIF a video
        return ImageSource(spec).open() if gif_frame_count(spec) == 1 else VideoFileSource(spec).open()
    if is_image_file(spec):
        return ImageSource(spec).open()
    return VideoFileSource(spec).open()
