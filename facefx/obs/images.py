"""Background pictures decoded off OBS's graphics thread.

Decoding a large JPEG takes tens of milliseconds; on the graphics thread that is a dropped
frame for every source in OBS. libobs' own gs_texture_create_from_file() is exactly
gs_create_texture_file_data() (decode, no graphics context needed) followed by
gs_texture_create(); the decode half runs here on a small thread, and the graphics thread only
uploads the finished pixels (GpuRenderer._fitted_image).
"""
from __future__ import annotations

import ctypes as C
import threading
from typing import Any, Dict, Optional, Tuple

Key = Tuple[str, float]   # (path, modification time)


class Decoded:
    """Pixels owned by libobs (bfree them once): data pointer, colour format, size."""

    __slots__ = ("ptr", "fmt", "width", "height")

    def __init__(self, ptr: int, fmt: int, width: int, height: int) -> None:
        self.ptr, self.fmt, self.width, self.height = ptr, fmt, width, height


class ImageLoader:
    """Latest-wins decoding of one picture at a time. get(key) never blocks: it returns the
    Decoded pixels (the caller takes ownership), False when the picture cannot be decoded, or
    None while it is still being decoded (asking starts the decode)."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._wanted: Optional[Key] = None
        self._done: Dict[Key, Any] = {}
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def get(self, key: Key) -> Any:
        with self._lock:
            if key in self._done:
                return self._done.pop(key)
            if self._closed:
                return False
            if self._wanted != key:
                self._wanted = key
                self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="facefx-image-decoder", daemon=True)
                self._thread.start()
        return None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                key = self._wanted
            if key is None or key in self._done:
                continue
            result = self._decode(key[0])
            with self._lock:
                stale = self._closed or self._wanted != key
                if not stale:
                    self._done[key] = result
            if stale and isinstance(result, Decoded):
                self.lib.bfree(result.ptr)

    def _decode(self, path: str) -> Any:
        fmt, cx, cy = C.c_int(), C.c_uint32(), C.c_uint32()
        ptr = self.lib.gs_create_texture_file_data(path.encode(), C.byref(fmt), C.byref(cx), C.byref(cy))
        if not ptr:
            return False
        return Decoded(ptr, fmt.value, cx.value, cy.value)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread and free pixels nobody took. Safe to call twice."""
        with self._lock:
            self._closed = True
            done, self._done = self._done, {}
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        for result in done.values():
            if isinstance(result, Decoded):
                self.lib.bfree(result.ptr)
