"""Where processed frames go: an image file, a folder, a video file, a preview window, a virtual
camera.

All sinks share open(size, fps) / write(frame, image) / close(); close() finalises the output and
is safe to call twice, abort() drops a partial output. Paths are checked when the sink is chosen
(resolve_output), before any model loads, so an unwritable path or an impossible combination
(transparency into MP4, a video into a .png) is reported at once as one line.

Video files are encoded by the static FFmpeg binary that imageio-ffmpeg installs (a FaceFX
dependency), fed raw frames through a pipe; the same FFmpeg run copies the input's audio track
(re-encoding it only when the output container cannot hold the original codec).

Transparency: PNG, WebP and TIFF images keep the alpha channel; videos keep it as WebM (VP9 with
alpha) or MOV (ProRes 4444). Other containers cannot store alpha, so a transparent run into them
is refused with a message naming the formats that can, rather than silently flattened.
"""
from __future__ import annotations

import fractions
import functools
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from . import SinkError
from .ffmpeg import ffmpeg_exe, probe_audio
from .sources import FolderSource, Frame, FrameSource

IMAGE_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
ALPHA_IMAGE_EXTENSIONS = (".png", ".webp", ".tif", ".tiff")
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
ALPHA_VIDEO_EXTENSIONS = (".webm", ".mov")
VIRTUALCAM = "virtualcam"

# Audio codecs each container takes as they are (None: any); others are re-encoded.
AUDIO_COPY: Dict[str, Optional[Tuple[str, ...]]] = {
    ".mp4": ("aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"),
    ".m4v": ("aac", "mp3", "alac", "ac3", "eac3"),
    ".mov": ("aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"),
    ".mkv": None,
    ".webm": ("opus", "vorbis"),
    ".avi": ("mp3", "ac3", "pcm_s16le", "pcm_u8"),
}
AUDIO_ENCODER = {".webm": ["libopus", "-b:a", "128k"], ".avi": ["libmp3lame", "-b:a", "192k"]}
DEFAULT_AUDIO_ENCODER = ["aac", "-b:a", "192k"]


def _new_process_group() -> Dict[str, Any]:
    """Keep Ctrl-C in the terminal away from FFmpeg: FaceFX stops and lets FFmpeg finish the file
    (an FFmpeg killed by SIGINT leaves an MP4 without its index)."""
    if os.name == "nt":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {"start_new_session": True}


def check_writable_file(path: str) -> None:
    """Raise SinkError unless a file can be created (or replaced) at path."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise SinkError(f"output {path} is a folder; expected a file path")
    if not os.path.isdir(parent):
        what = "is not a folder" if os.path.exists(parent) else "does not exist"
        raise SinkError(f"cannot write {path}: {parent} {what}; expected a path in an existing, writable folder")
    existed = os.path.exists(path)
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise SinkError(f"cannot write {path}: {exc.strerror or exc}; expected a path in a writable folder") from None
    if not existed:
        try:
            os.remove(path)
        except OSError:
            pass


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def encode_image(image: np.ndarray, ext: str) -> bytes:
    ext = ext.lower()
    params: List[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
        if image.shape[2] == 4:
            image = image[:, :, :3]
    elif ext == ".bmp" and image.shape[2] == 4:
        image = image[:, :, :3]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if image.shape[2] == 4 else 95]
    ok, buf = cv2.imencode(ext, to_bgr(np.ascontiguousarray(image)), params)
    if not ok:
        raise SinkError(f"cannot encode a {ext} image; expected one of {', '.join(IMAGE_WRITE_EXTENSIONS)}")
    return buf.tobytes()


def write_image(path: str, image: np.ndarray) -> None:
    data = encode_image(image, os.path.splitext(path)[1])
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise SinkError(f"cannot write {path}: {exc.strerror or exc}") from None


class FrameSink:
    """Base class. main_thread: must be driven from the main thread (GUI windows)."""

    main_thread = False
    description = "output"

    def __init__(self) -> None:
        self.written: List[str] = []   # files written, for the summary
        self.frames = 0

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "FrameSink":
        return self

    def write(self, frame: Frame, image: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output. Safe to call twice."""

    def abort(self) -> None:
        """Stop after an error; partial outputs that would mislead are removed."""
        self.close()

    def __enter__(self) -> "FrameSink":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


class ImageSink(FrameSink):
    """One image file; the format follows the extension."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.description = path

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "ImageSink":
        check_writable_file(self.path)
        return self

    def write(self, frame: Frame, image: np.ndarray) -> None:
        write_image(self.path, image)
        self.frames += 1
        if self.path not in self.written:
            self.written.append(self.path)


class FolderSink(FrameSink):
    """A folder of images: pictures from a folder keep their names (and format where it can hold
    the result); video frames become frame_000001.png, ..."""

    def __init__(self, path: str, *, alpha: bool = False) -> None:
        super().__init__()
        self.path = path
        self.alpha = alpha
        self.description = path

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "FolderSink":
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise SinkError(f"output {self.path} is a file; expected a folder for this input")
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create output folder {self.path}: {exc.strerror or exc}") from None
        probe = os.path.join(self.path, ".facefx-write-test")
        try:
            with open(probe, "wb"):
                pass
            os.remove(probe)
        except OSError as exc:
            raise SinkError(f"cannot write into folder {self.path}: {exc.strerror or exc}") from None
        return self

    def name_for(self, frame: Frame) -> str:
        if frame.name:
            stem, ext = os.path.splitext(frame.name)
            ext = ext.lower()
            if ext not in IMAGE_WRITE_EXTENSIONS or (self.alpha and ext not in ALPHA_IMAGE_EXTENSIONS):
                ext = ".png"
            return stem + ext
        return f"frame_{frame.index + 1:06d}.png"

    def write(self, frame: Frame, image: np.ndarray) -> None:
        path = os.path.join(self.path, self.name_for(frame))
        write_image(path, image)
        self.frames += 1
        self.written.append(path)


def video_codec_args(ext: str, alpha: bool, size: Tuple[int, int]) -> List[str]:
    if alpha:
        if ext == ".webm":
            return ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-b:v", "0", "-crf", "30",
                    "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-auto-alt-ref", "0"]
        if ext == ".mov":
            return ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"]
        raise SinkError(f"{ext} videos cannot store transparency; expected .webm (VP9 with alpha), "
                        ".mov (ProRes 4444) or a folder (one PNG per frame)")
    if ext == ".webm":
        return ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", "32",
                "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]
    args = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
    w, h = size
    if w % 2 or h % 2:  # 4:2:0 H.264 needs even sizes: drop the odd last row/column
        args += ["-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0"]
    if ext in (".mp4", ".m4v", ".mov"):
        args += ["-movflags", "+faststart"]
    return args


def audio_args(ext: str, codecs: Sequence[str]) -> List[str]:
    allowed = AUDIO_COPY.get(ext, ())  # None: the container takes any codec
    if allowed is None or all(c in allowed for c in codecs):
        return ["-c:a", "copy"]
    return ["-c:a"] + AUDIO_ENCODER.get(ext, DEFAULT_AUDIO_ENCODER)


class VideoSink(FrameSink):
    """A video file encoded by FFmpeg from raw frames on a pipe, with the audio of `audio_from`.

    audio_from: media file whose audio streams are copied in (None: no audio).
    duration: cut the audio to this many seconds (when only part of the input is processed).
    realtime: frames come from a live source that may have dropped some; each frame is written
        as many times as its timestamp says (0 or more) so the recording keeps real-time speed.
        Without it every frame is written once (files: nothing is dropped).
    """

    def __init__(self, path: str, *, alpha: bool = False, audio_from: Optional[str] = None,
                 duration: Optional[float] = None, realtime: bool = False) -> None:
        super().__init__()
        self.realtime = realtime
        self._fps = 30.0
        self._t_first: Optional[float] = None
        self.path = path
        self.alpha = alpha
        self.audio_from = audio_from
        self.duration = duration
        self.description = path
        self.ext = os.path.splitext(path)[1].lower()
        self.audio_codecs: List[str] = []
        self._proc: Optional[subprocess.Popen] = None
        self._log: Any = None
        self._size: Tuple[int, int] = (0, 0)
        self._closed = False
        if self.ext not in VIDEO_EXTENSIONS:
            raise SinkError(f"cannot write video {path}: unknown extension; expected one of {', '.join(VIDEO_EXTENSIONS)}")
        if alpha and self.ext not in ALPHA_VIDEO_EXTENSIONS:
            video_codec_args(self.ext, True, (2, 2))  # raises the explanatory error

    def command(self, size: Tuple[int, int], fps: float) -> List[str]:
        w, h = size
        rate = fractions.Fraction(fps).limit_denominator(1001)
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgba" if self.alpha else "rgb24", "-s", f"{w}x{h}",
               "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
        if self.audio_codecs:
            if self.duration is not None:
                cmd += ["-t", f"{self.duration:.6f}"]
            cmd += ["-i", self.audio_from, "-map", "0:v:0", "-map", "1:a"]
            cmd += audio_args(self.ext, self.audio_codecs)
        cmd += video_codec_args(self.ext, self.alpha, size)
        cmd.append(self.path)
        return cmd

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "VideoSink":
        if self._proc is not None:
            return self
        if size is None:
            raise SinkError(f"cannot write video {self.path}: the input has no fixed frame size")
        check_writable_file(self.path)
        if self.audio_from:
            self.audio_codecs = probe_audio(self.audio_from)
        self._size = size
        self._fps = float(fps)
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(self.command(size, fps), stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=self._log, **_new_process_group())
        except OSError as exc:
            self._log.close()
            raise SinkError(f"cannot start FFmpeg to write {self.path}: {exc.strerror or exc}") from None
        return self

    def _ffmpeg_error(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise SinkError(f"video {self.path} is not open")
        w, h = self._size
        if image.shape[1] != w or image.shape[0] != h:  # a mid-stream size change
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        want = 4 if self.alpha else 3
        if image.shape[2] != want:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA if want == 4 else cv2.COLOR_RGBA2RGB)
        copies = self.copies_for(frame.time)
        data = memoryview(np.ascontiguousarray(image)).cast("B")
        try:
            for _ in range(copies):
                self._proc.stdin.write(data)
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise SinkError(f"cannot write video {self.path}: FFmpeg stopped ({self._ffmpeg_error() or 'no message'})") from None
        self.frames += copies

    def copies_for(self, t: float) -> int:
        """How many times to write a frame taken at source time t (always 1 unless realtime)."""
        if not self.realtime:
            return 1
        if self._t_first is None:
            self._t_first = t
        due = int(math.floor((t - self._t_first) * self._fps + 0.5)) + 1  # frames due by time t
        return max(0, due - self.frames)

    def close(self) -> None:
        if self._closed or self._proc is None:
            self._closed = True
            return
        self._closed = True
        proc = self._proc
        try:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            try:
                rc = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self._remove_output()
                raise SinkError(f"FFmpeg did not finish writing {self.path} within 120 s") from None
            if self.frames == 0:
                self._remove_output()
                return
            if rc != 0:
                self._remove_output()  # what FFmpeg left is not a playable video
                raise SinkError(f"cannot write video {self.path}: FFmpeg failed ({self._ffmpeg_error() or f'exit status {rc}'})")
            self.written.append(self.path)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        proc = self._proc
        if proc is not None:
            proc.kill()
            proc.wait()
            self._remove_output()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _remove_output(self) -> None:
        try:
            os.remove(self.path)
        except OSError:
            pass


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


# --- preview window ----------------------------------------------------------------------------

HELP_LINES = (
    ("q / Esc", "quit"),
    ("h", "show / hide this help"),
    ("f", "fullscreen on / off"),
    ("space / b", "next effect"),
    ("m", "mirror on / off"),
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

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "PreviewSink":
        if self._open:
            return self
        if not has_display():
            raise SinkError("no display for the preview window (DISPLAY is not set); "
                            "expected -o OUTPUT (a file, a folder or virtualcam), or run in a desktop session")
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            if size:
                w, h = size
                scale = min(1.0, 1280.0 / w, 720.0 / h)
                cv2.resizeWindow(self.title, max(2, int(w * scale)), max(2, int(h * scale)))
        except cv2.error as exc:
            raise SinkError(f"cannot open a preview window ({' '.join(str(exc).split())[:160]}); "
                            "expected an OpenCV build with GUI support, or use -o OUTPUT") from None
        self._open = True
        return self

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.frames += 1
        now = time.perf_counter()
        self._t_frames = [t for t in self._t_frames if now - t < 1.0] + [now]
        self._last = image
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
        """Handle window events; return pipeline actions ('quit', 'next_effect', 'next')."""
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
        pipeline actions ('quit', 'next_effect', 'next')."""
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
        return actions

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass


# --- choosing the output -----------------------------------------------------------------------

def output_kind(output: Optional[str]) -> str:
    """'preview', 'virtualcam', 'folder', 'image' or 'video' for an -o value."""
    if output is None:
        return "preview"
    if output.lower() == VIRTUALCAM:
        return "virtualcam"
    if os.path.isdir(output) or output.endswith(("/", os.sep)):
        return "folder"
    ext = os.path.splitext(output)[1].lower()
    if ext in IMAGE_WRITE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext == "":
        return "folder"
    raise SinkError(f"cannot tell what to write for {output}: unknown extension {ext!r}; expected an image "
                    f"({', '.join(IMAGE_WRITE_EXTENSIONS)}), a video ({', '.join(VIDEO_EXTENSIONS)}), "
                    f"a folder, or {VIRTUALCAM}")


def _same_path(a: str, b: str) -> bool:
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def resolve_output(output: Optional[str], source: FrameSource, *, alpha: bool, input_path: Optional[str] = None,
                   max_frames: Optional[int] = None, mirror: bool = False, fps: Optional[float] = None) -> FrameSink:
    """Choose and check the sink for -o OUTPUT given the opened source. Raises SinkError for
    combinations that cannot work, naming what would."""
    kind = output_kind(output)
    is_folder_input = isinstance(source, FolderSource)
    single_image = source.stills and not is_folder_input
    if input_path and output and _same_path(input_path, output):
        raise SinkError(f"output {output} is the input; expected a different path so the original is kept")

    if kind == "preview":
        return PreviewSink(mirror=mirror, stills=source.stills)
    if kind == "virtualcam":
        if source.stills:
            raise SinkError("virtualcam output needs a camera or video input; expected -o PICTURE.png or a folder for pictures")
        if alpha:
            raise SinkError("a virtual camera cannot carry transparency; expected another --background mode "
                            "(e.g. color) for virtualcam output")
        return VirtualCameraSink(pace=not source.live, fps=fps)
    assert output is not None
    if kind == "folder":
        return FolderSink(output, alpha=alpha)
    ext = os.path.splitext(output)[1].lower()
    if kind == "image":
        if not single_image:
            what = "a folder input" if is_folder_input else "a video or camera input"
            expected = "an output folder" if is_folder_input else \
                f"a video file ({', '.join(VIDEO_EXTENSIONS)}), a folder (one PNG per frame) or {VIRTUALCAM}"
            raise SinkError(f"cannot write {what} to the single image {output}; expected {expected}")
        if alpha and ext not in ALPHA_IMAGE_EXTENSIONS:
            raise SinkError(f"{ext} images cannot store transparency; expected {', '.join(ALPHA_IMAGE_EXTENSIONS)} "
                            "for --background transparent")
        return ImageSink(output)
    # video
    if source.stills:
        what = "a folder of pictures" if is_folder_input else "a picture"
        expected = "an output folder" if is_folder_input else f"an image file ({', '.join(IMAGE_WRITE_EXTENSIONS)})"
        raise SinkError(f"cannot write {what} to the video {output}; expected {expected}")
    audio_from = input_path if input_path and os.path.isfile(input_path) else None
    duration = (max_frames / source.fps) if (max_frames and audio_from) else None
    return VideoSink(output, alpha=alpha, audio_from=audio_from, duration=duration, realtime=source.live)
