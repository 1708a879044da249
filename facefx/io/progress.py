"""A dependency-free progress line on stderr for file and folder runs.

Drawn only on a terminal (a log file or a test's pipe gets no carriage-return noise), at most
ten times a second so drawing never costs a measurable share of a frame.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Optional

BAR_WIDTH = 28


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """progress = Progress(total, "frames"); progress.update(); ...; progress.close()

    total: number of items, or None when unknown (live sources): then a count and rate show.
    enabled: draw at all; default: only when the stream is a terminal.
    """

    def __init__(self, total: Optional[int], unit: str = "frames", *, stream: Optional[IO[str]] = None,
                 enabled: Optional[bool] = None, label: str = "facefx", min_interval: float = 0.1) -> None:
        self.total = total if total and total > 0 else None
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self.min_interval = min_interval
        self.done = 0
        self.failed = 0
        self._t0 = time.perf_counter()
        self._last_draw = -1e9
        self._width = 0
        self._closed = False

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    @property
    def rate(self) -> float:
        e = self.elapsed
        return self.done / e if e > 0 else 0.0

    def update(self, n: int = 1, *, failed: bool = False) -> None:
        self.done += n
        if failed:
            self.failed += n
        now = time.perf_counter()
        finished = self.total is not None and self.done >= self.total
        if self.enabled and (finished or now - self._last_draw >= self.min_interval):
            self._last_draw = now
            self._draw(self.line())

    def note(self, message: str) -> None:
        """Print a message on its own line without breaking the bar."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(message + "\n")
        self.stream.flush()
        if self.enabled:
            self._draw(self.line())

    def line(self) -> str:
        rate = self.rate
        tail = f"{rate:5.1f} {self.unit}/s" if self.unit == "frames" else f"{rate:5.1f}/s"
        if self.failed:
            tail += f"  {self.failed} failed"
        if self.total is None:
            return f"{self.label} {self.done} {self.unit}  {tail}  {format_duration(self.elapsed)}"
        frac = min(1.0, self.done / self.total)
        filled = int(round(frac * BAR_WIDTH))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        eta = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0.0
        return (f"{self.label} [{bar}] {self.done}/{self.total} {self.unit} {frac * 100:3.0f}%  "
                f"{tail}  ETA {format_duration(eta)}")

    def _draw(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Finish the line. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(self.line())
            self.stream.write("\n")
            self.stream.flush()
