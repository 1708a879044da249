"""The FFmpeg binary FaceFX uses (the static build inside the imageio-ffmpeg wheel) and a small
stream probe on top of it. No ffprobe is needed: `ffmpeg -i FILE` lists the streams on stderr."""
from __future__ import annotations

import re
import shutil
import subprocess
from typing import Dict, List, Optional

from . import SinkError


def ffmpeg_exe() -> str:
    """The FFmpeg binary bundled by imageio-ffmpeg, else one on PATH."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise SinkError("video output needs FFmpeg: install FaceFX's dependencies (pip install imageio-ffmpeg==0.6.0)")


def probe_streams(path: str) -> Dict[str, List[str]]:
    """Codec names per stream type, e.g. {'video': ['h264'], 'audio': ['aac']}; empty lists when
    the file has none of that type or cannot be read."""
    found: Dict[str, List[str]] = {"video": [], "audio": []}
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.SubprocessError, SinkError):
        return found
    text = proc.stderr.decode("utf-8", "replace")
    for kind, codec in re.findall(r"Stream #\d+:\d+\S*: (Video|Audio): ([A-Za-z0-9_]+)", text):
        if kind == "Video" and codec in ("mjpeg", "png") and "(attached pic)" in text:
            continue  # cover art, not a video stream
        found[kind.lower()].append(codec)
    return found


def probe_frame_rate(path: str) -> Optional[float]:
    """The first video stream's base frame rate (FFmpeg's "tbr": the finest rate its timestamps
    step at), or None. For variable-frame-rate video it is above the average rate."""
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.SubprocessError, SinkError):
        return None
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        if "Video:" in line and "(attached pic)" not in line:
            m = re.search(r"([\d.]+)(k?) tbr", line)
            if m:
                return float(m.group(1)) * (1000.0 if m.group(2) else 1.0)
    return None


def probe_audio(path: str) -> List[str]:
    """Codec names of the audio streams in a media file ([] when none or unreadable)."""
    return probe_streams(path)["audio"]
