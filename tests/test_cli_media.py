"""Helpers for the command-line and I/O tests: make small media files with the bundled FFmpeg and
inspect outputs independently of FaceFX's own readers. (No tests in this module.)"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASTRONAUT = os.path.join(ROOT, "facefx", "assets", "astronaut.png")
PYTHON = sys.executable

# Regions of the 512x512 astronaut photo: the face (always the person) and the top corners
# (always background: the flag on the left, the wall on the right).
FACE = (slice(80, 121), slice(225, 276))
TOP_LEFT = (slice(0, 64), slice(0, 64))
TOP_RIGHT = (slice(0, 64), slice(448, 512))


def ffmpeg() -> str:
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def make_video(path: str, *, frames: int = 10, fps: int = 10, size: int = 320, audio: bool = True,
               picture: str = ASTRONAUT) -> str:
    """A short H.264 video of the picture drifting sideways, with a 440 Hz tone when audio."""
    dur = frames / float(fps)
    cmd = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", str(fps),
           "-i", picture]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={dur}"]
    cmd += ["-frames:v", str(frames),
            "-vf", f"scale={size + 16}:{size + 16},crop={size}:{size}:t*16:8",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac"]
    cmd.append(path)
    subprocess.run(cmd, check=True)
    return path


def streams(path: str) -> Dict[str, List[str]]:
    """Stream types and codecs as FFmpeg lists them."""
    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", path], stderr=subprocess.PIPE,
                          stdout=subprocess.DEVNULL).stderr.decode("utf-8", "replace")
    out: Dict[str, List[str]] = {"video": [], "audio": [], "text": [text]}
    for kind, codec in re.findall(r"Stream #\d+:\d+\S*: (Video|Audio): ([A-Za-z0-9_]+)", text):
        out[kind.lower()].append(codec)
    return out


def read_frames(path: str) -> List[np.ndarray]:
    """Every frame of a video, decoded by OpenCV (RGB)."""
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def read_image(path: str) -> np.ndarray:
    """RGB or RGBA, as stored."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert img is not None, f"cannot read {path}"
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_png(path: str, array: np.ndarray) -> str:
    """Write without colour conversion (gray, 16-bit, BGR(A) as given)."""
    assert cv2.imwrite(path, array), path
    return path


def run_facefx(args: Sequence[str], *, cwd: Optional[str] = None, env: Optional[dict] = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m facefx ARGS` in a subprocess, text output captured."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
    return subprocess.run([PYTHON, "-m", "facefx", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
