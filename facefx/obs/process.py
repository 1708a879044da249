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

STOP_TIMEOUT_S = 2.5  # stop(): EOF grace, SIGTERM, SIGKILL and thread joins all within this


class WorkerProcess:
    """One worker process and its three pipe threads.

    stdout carries only protocol lines; the worker's stderr (native libraries write there
    whenever they like, in pieces) is read by its own thread, so a partial native line can never
    glue itself to a protocol line. stderr lines are kept in `tail` for start-up failure
    messages and logged at debug level.
    """

    def __init__(self, popen: subprocess.Popen, on_line: Callable[["WorkerProcess", bytes], None],
                 on_stderr: Optional[Callable[["WorkerProcess", bytes], None]] = None) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.outbox: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.started_at = time.monotonic()
        self.last_heard = self.started_at  # the newest heartbeat (or ready): liveness only
        self.ready_at: Optional[float] = None
        self.busy_until = 0.0  # a model load announced by the worker: no heartbeats until then
        self.fatal: Optional[dict] = None
        self.kill_reason = ""
        self.restart_requested = False
        self.tail: Deque[str] = deque(maxlen=20)
        self._on_line = on_line
        self._on_stderr = on_stderr
        self.reader = threading.Thread(target=self._read, args=(popen.stdout, on_line),
                                       name=f"facefx-worker-out-{self.pid}", daemon=True)
        self.writer = threading.Thread(target=self._write, name=f"facefx-worker-in-{self.pid}", daemon=True)
        self.threads = [self.writer, self.reader]
        if popen.stderr is not None and on_stderr is not None:
            self.threads.append(threading.Thread(target=self._read, args=(popen.stderr, on_stderr),
                                                 name=f"facefx-worker-err-{self.pid}", daemon=True))
        for t in self.threads:
            t.start()

    def _read(self, stream, handle) -> None:
        try:
            for line in stream:  # type: ignore[union-attr]
                handle(self, line)
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

    def stop(self, log: LogFn, grace: float = 1.0, deadline: Optional[float] = None) -> None:
        """EOF on stdin, then terminate, then kill; reaps the process and joins its threads.

        Everything is done by `deadline` (time.monotonic(); default: STOP_TIMEOUT_S from now),
        because OBS's UI waits for script_unload: a worker stuck in native code that ignores
        EOF and SIGTERM costs the grace plus a short wait, never more. A worker that has
        stopped beating gets no grace (it would not use it)."""
        now = time.monotonic()
        if deadline is None:
            deadline = now + STOP_TIMEOUT_S
        if now - self.last_heard > 1.5:
            grace = 0.1
        self.outbox.put(None)
        p = self.popen
        left = lambda: max(0.05, deadline - time.monotonic())  # noqa: E731
        steps = ((None, lambda: min(grace, left() * 0.5)), (p.terminate, lambda: min(0.5, left() * 0.5)),
                 (p.kill, left))
        for action, wait in steps:
            if action is not None:
                try:
                    action()
                except OSError:
                    pass
            try:
                p.wait(timeout=wait())
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            log(logging.WARNING, f"FaceFX worker {self.pid} did not exit after kill")
        self.join(log, deadline)

    def join(self, log: LogFn, deadline: Optional[float] = None) -> None:
        self.outbox.put(None)
        if deadline is None:
            deadline = time.monotonic() + 2.0
        for t in self.threads:
            t.join(timeout=max(0.05, deadline - time.monotonic()))
            if t.is_alive():
                log(logging.WARNING, f"FaceFX thread {t.name} did not finish in time; left to exit on its own")
        for stream in (self.popen.stdout, self.popen.stdin):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass
