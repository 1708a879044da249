"""The interface every output shares, and the path check file outputs run before any work.

All sinks share open(size, fps) / write(frame, image) / close(); close() finalises the output and
is safe to call twice, abort() drops a partial output. Paths are checked when the sink is chosen
(facefx.io.outputs.resolve_output), before any model loads, so an unwritable path or an
impossible combination is reported at once as one line.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, List, Optional, Tuple

import numpy as np

from . import SinkError
from .sources import Frame

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def temp_beside(path: str) -> str:
    """A new, empty, hidden file next to path with the same extension (so FFmpeg picks the same
    format), for writing an output that replaces path only once it is complete: a full disk or
    a crash then leaves any good file that was there untouched. Permissions follow the umask, as
    a plain open() would give."""
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{os.path.splitext(name)[1]}", dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
    except OSError:
        pass
    return tmp


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def write_file_atomically(path: str, data: bytes) -> None:
    """Write data to path through a temporary file renamed over it: path holds either its old
    content or the complete new one, never a truncated mix. Raises SinkError."""
    try:
        tmp = temp_beside(path)
    except OSError as exc:
        raise SinkError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        remove_quietly(tmp)
        raise SinkError(f"cannot write {path}: {exc.strerror or exc}; any earlier file there is kept") from None
    except BaseException:
        remove_quietly(tmp)
        raise


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

