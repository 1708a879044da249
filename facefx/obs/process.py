"""One running worker process and the two threads that talk to it.

Standard library only. The writer thread owns the worker's stdin, so a worker that stops
reading blocks only that thread, never OBS's UI or graphics thread; the reader thread hands
each stdout line to the client.
"""
from __future__ import annotations

import logging
import queue
import subprocess
import threading
import time
from collections import deque
from typing import Callable, Deque, Optional

from . import protocol

LogFn = Callable[[int, str], None]


class WorkerProcess:
    """One worker process and its two pipe threads."""

    def __init__(self, popen: subprocess.Popen, on_line: Callable[["WorkerProcess", bytes], None]) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.outbox: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.started_at = time.monotonic()
        self.last_heard = self.started_at
        self.ready_at: Optional[float] = None
        self.busy_until = 0.0  # a model load announced by the worker: no heartbeats until then
        self.fatal: Optional[dict] = None
        self.kill_reason = ""
        self.restart_requested = False
        self.tail: Deque[str] = deque(maxlen=20)
        self._on_line = on_line
        self.reader = threading.Thread(target=self._read, name=f"facefx-worker-out-{self.pid}", daemon=True)
        self.writer = threading.Thread(target=self._write, name=f"facefx-worker-in-{self.pid}", daemon=True)
        self.reader.start()
        self.writer.start()

    def _read(self) -> None:
        stream = self.popen.stdout
        try:
            for line in stream:  # type: ignore[union-attr]
                self._on_line(self, line)
        except (OSError, ValueError):
            pass

    def _write(self) -> None:
        stdin = self.popen.stdin
        try:
            while True:
                item = self.outbox.get()
                if item is None:
                    break
                stdin.write(item)  # type: ignore[union-attr]
                stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass  # the worker is gone; the supervisor notices
        finally:
            try:
                stdin.close()  # type: ignore[union-attr]  # EOF: the worker exits
            except (OSError, ValueError):
                pass

    def send(self, msg: dict) -> None:
        self.outbox.put(protocol.encode(msg))

    def stop(self, log: LogFn, grace: float = 2.0) -> None:
        """EOF on stdin, then terminate, then kill; reaps the process and joins its threads.
        A worker that has stopped beating gets no grace (it would not use it)."""
        if time.monotonic() - self.last_heard > 1.5:
            grace = 0.1
        self.outbox.put(None)
        p = self.popen
        for action, wait in ((None, grace), (p.terminate, 1.0), (p.kill, 2.0)):
            if action is not None:
                try:
                    action()
                except OSError:
                    pass
            try:
                p.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            log(logging.WARNING, f"FaceFX worker {self.pid} did not exit after kill")
        self.join(log)

    def join(self, log: LogFn) -> None:
        self.outbox.put(None)
        for t in (self.writer, self.reader):
            t.join(timeout=2.0)
            if t.is_alive():
                log(logging.WARNING, f"FaceFX thread {t.name} did not finish within 2 s")
        for stream in (self.popen.stdout, self.popen.stdin):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass
