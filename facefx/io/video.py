"""Video file output: FFmpeg's codec and audio policy, and the sink that feeds it raw frames.

Video files are encoded by the static FFmpeg binary that imageio-ffmpeg installs (a FaceFX
dependency), fed raw frames through a pipe; the same FFmpeg run copies the input's audio track
(re-encoding it only when the output container cannot hold the original codec).

Transparency: videos keep it as WebM (VP9 with alpha) or MOV (ProRes 4444). Other containers
cannot store alpha, so a transparent run into them is refused with a message naming the formats
that can, rather than silently flattened.
"""
from __future__ import annotations

import fractions
import math
import os
import subprocess
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from . import SinkError
from .ffmpeg import ffmpeg_exe, probe_audio
from .sink import FrameSink, check_writable_file, remove_quietly, temp_beside
from .sources import Frame

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
ALPHA_VIDEO_EXTENSIONS = (".webm", ".mov")

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
        Whatever the duration, the audio never runs past the last frame written (-shortest), so
        a run stopped early (Ctrl-C, a truncated input) keeps picture and sound together.

    FFmpeg writes to a hidden temporary file beside the output, renamed over it once the video
    is complete: a failed or aborted run never destroys a good file that was there.
    realtime: frames come from a live source that may have dropped some, or from a
        variable-frame-rate file; each frame is written as many times as its timestamp says
        (0 or more) at the constant output rate, so the video keeps real-time speed and stays
        with its sound. Without it every frame is written once (constant-rate files).
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
        self._tmp: Optional[str] = None
        self._held: Optional[memoryview] = None  # realtime: the last frame, shown until the next
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
            cmd += ["-i", self.audio_from, "-map", "0:v:0", "-map", "1:a", "-shortest"]
            cmd += audio_args(self.ext, self.audio_codecs)
        cmd += video_codec_args(self.ext, self.alpha, size)
        cmd.append(self._tmp or self.path)
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
        try:
            self._tmp = temp_beside(self.path)
        except OSError as exc:
            raise SinkError(f"cannot write video {self.path}: {exc.strerror or exc}") from None
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(self.command(size, fps), stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=self._log, **_new_process_group())
        except OSError as exc:
            self._log.close()
            self._remove_output()
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
        data = memoryview(np.ascontiguousarray(image)).cast("B")
        if not self.realtime:
            self._send(data, 1)
            return
        # A frame shows from its own time until the next one's, so it is held until then.
        copies = self.copies_for(frame.time)
        if self._held is not None:
            self._send(self._held, copies)
        self._held = data

    def _send(self, data: memoryview, copies: int) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            for _ in range(copies):
                self._proc.stdin.write(data)
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise SinkError(f"cannot write video {self.path}: FFmpeg stopped ({self._ffmpeg_error() or 'no message'})") from None
        self.frames += copies

    def copies_for(self, t: float) -> int:
        """With realtime: how many times the frame before the one taken at source time t is
        written (the output ticks from its start up to t; 0 when t falls in the same tick).
        Without: 1, every frame once."""
        if not self.realtime:
            return 1
        if self._t_first is None:
            self._t_first = t
        tick = int(math.floor((t - self._t_first) * self._fps + 0.5))  # t's place at the output rate
        return max(0, tick - self.frames)

    def close(self) -> None:
        if self._closed or self._proc is None:
            self._closed = True
            return
        self._closed = True
        proc = self._proc
        try:
            held, self._held = self._held, None
            if held is not None:
                try:
                    self._send(held, 1)
                except SinkError:
                    pass  # FFmpeg already stopped: its exit status below says why
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
            try:
                os.replace(self._tmp, self.path)  # type: ignore[arg-type]
            except OSError as exc:
                self._remove_output()
                raise SinkError(f"cannot write video {self.path}: {exc.strerror or exc}") from None
            self._tmp = None
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
        """Drop the unfinished temporary file; the path itself is never touched before success."""
        if self._tmp is not None:
            remove_quietly(self._tmp)
            self._tmp = None

