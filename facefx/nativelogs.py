"""The one place that keeps native libraries' own logging off the user's terminal.

OpenCV, its FFmpeg, MediaPipe (glog/absl) and TFLite print start-up notes and warnings straight
to file descriptor 2; every failure they report also reaches FaceFX as an error or a return
value, which FaceFX turns into a one-line message of its own. Standard library only, so the OBS
side can use it for the worker's environment too.

- NATIVE_LOG_ENV: the variables that lower those libraries' log levels; they take effect only
  in a process that sets them before the library is loaded (or in a child's environment).
- quiet_native_logs(): sets them in this process (without overriding a user's own choice) and
  lowers OpenCV's logger when cv2 is already loaded.
- quiet_stderr(): points descriptor 2 at the null device for a block, for the chatter that no
  variable controls (TFLite's "Created delegate", absl's pre-init warning, libpng's iCCP notes).
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Dict, Iterator, MutableMapping, Optional

NATIVE_LOG_ENV: Dict[str, str] = {
    "OPENCV_LOG_LEVEL": "SILENT",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
    "GLOG_minloglevel": "2",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def quiet_native_logs(env: Optional[MutableMapping[str, str]] = None) -> None:
    """Lower native log levels in env (default: this process's environment); values already
    set are kept, so a user debugging with OPENCV_LOG_LEVEL=DEBUG still gets their logs."""
    target = os.environ if env is None else env
    for key, value in NATIVE_LOG_ENV.items():
        target.setdefault(key, value)
    if env is None:
        cv2 = sys.modules.get("cv2")
        if cv2 is not None and hasattr(cv2, "setLogLevel"):
            cv2.setLogLevel(0)


@contextlib.contextmanager
def quiet_stderr(enabled: bool = True) -> Iterator[None]:
    """Silence whatever native code writes to file descriptor 2 inside the block. Python-level
    errors are raised as exceptions and reported after the descriptor is restored."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
