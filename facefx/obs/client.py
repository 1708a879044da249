"""The OBS side of the analysis worker: starts it, restarts it, and routes its messages.

Standard library only (this runs inside OBS's embedded Python, which has no numpy).

One WorkerClient serves every FaceFX filter in the OBS session; each filter opens a
SourceChannel (facefx.obs.channel). Everything that can wait (starting the process, writing to
its stdin, reading its stdout, noticing that it died or hung) happens on the client's own
threads:

  supervisor   starts the worker, restarts it with backoff after a crash or hang, gives up to
               "failed" (retrying slowly) when it cannot even start
  reader       one per worker process: protocol lines from its stdout (facefx.obs.process)
  writer       one per worker process: protocol lines to its stdin

The layout by concern: protocol.py (message names and encoding), channel.py (one source's
shared memory), process.py (one worker process and its pipe threads), platform.py (the
OS-specific parts), and this module (supervision).

`log` receives (level, text) with `logging` levels (10 debug .. 40 error); the OBS script maps
them to obspython.script_log.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from .. import ipc
from . import protocol
from .channel import MaskResult, SourceChannel  # noqa: F401 (part of this module's API)
from .platform import default_python, describe_exit, popen_kwargs, setup_command, worker_env  # noqa: F401
from .process import WorkerProcess

LogFn = Callable[[int, str], None]

_logger = logging.getLogger("facefx.worker")

CLOSE_TIMEOUT_S = 3.0  # close(): supervisor, worker process and pipe threads, all together


def _default_log(level: int, text: str) -> None:
    _logger.log(level, text)


@dataclass
class WorkerStatus:
    state: str            # "stopped" | "starting" | "running" | "restarting" | "failed"
    message: str
    pid: Optional[int]
    restarts: int
    last_error: str


class WorkerClient:
    """Owns the single worker process serving every FaceFX filter in this OBS session.

    Args:
        python: the worker's interpreter; None = default_python(root).
        root: the folder holding facefx/ and bootstrap.py.
        log: receives (logging level, text).
        hang_timeout: seconds without a heartbeat after which a running worker is killed and
            restarted (heartbeats come every 0.5 s, between analyses; before an analysis that
            may load a model the worker announces a longer allowance).
        start_timeout: seconds a starting worker may take to import its packages.
        backoff: (first, max) delay before a restart; doubles per crash, back to first after
            the worker has run stable_after seconds. A worker that cannot start at all is
            retried every max seconds (so running the setup command fixes it without a
            restart of OBS).

    Nothing starts in the constructor: the process starts on the first open_source() or
    start(). close() stops it and removes every shared-memory file; it is safe to call twice.
    """

    def __init__(self, python: Optional[str] = None, *, root: str, log: LogFn = _default_log,
                 hang_timeout: float = 5.0, start_timeout: float = 60.0,
                 backoff: tuple = (0.5, 10.0), stable_after: float = 30.0) -> None:
        self.root = os.path.abspath(root)
        self._python = python
        self._log = log
        self.hang_timeout = hang_timeout
        self.start_timeout = start_timeout
        self._backoff_min, self._backoff_max = backoff
        self._stable_after = stable_after
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        self._supervisor: Optional[threading.Thread] = None
        self._proc: Optional[WorkerProcess] = None
        self._sources: Dict[str, SourceChannel] = {}
        self._next_index = 0
        self._session: Optional[str] = None
        self._state = "stopped"
        self._message = "not started"
        self._restarts = 0
        self._spawned = 0
        self._last_error = ""
        self._backoff = self._backoff_min
        self._next_start = 0.0
        self._wanted = False
        self._running = False  # read without the lock by submit()

    # -- public API ---------------------------------------------------------------------------
    def set_python(self, python: Optional[str]) -> None:
        """Use another interpreter (None: the default). Setting the same value again does
        nothing; a different one restarts a running worker with it, and a failed one retries
        at once."""
        with self._lock:
            changed = (python or None) != (self._python or None)
            self._python = python
            running = self._proc is not None
            if self._state == "failed":
                self._next_start = 0.0
        if changed and running:
            self.restart()
        self._wake.set()

    def start(self) -> None:
        """Start the worker now rather than at the first open_source(). Does not block."""
        with self._lock:
            if self._closed:
                return
            self._wanted = True
            self._ensure_supervisor()
        self._wake.set()

    def restart(self) -> None:
        """Restart the worker now (e.g. after the interpreter setting changed). Does not block;
        masks resume when the new worker is up."""
        with self._lock:
            proc = self._proc
            self._backoff = self._backoff_min
            self._next_start = 0.0
        if proc is not None:
            proc.kill_reason = "was restarted on request"
            proc.restart_requested = True
            proc.outbox.put(None)  # EOF: it exits within a second; the supervisor starts another
        self._wake.set()

    def open_source(self, source_id: str) -> SourceChannel:
        self._session_dir()  # here, not on the graphics thread at the first submit(); raises if closed
        with self._lock:
            if self._closed:
                raise RuntimeError("WorkerClient is closed")
            ch = self._sources.get(source_id)
            if ch is None:
                ch = SourceChannel(self, source_id, self._next_index)
                self._next_index += 1
                self._sources[source_id] = ch
                if self._proc is not None:
                    for msg in ch._replay():
                        self._proc.send(msg)
            self._wanted = True
            self._ensure_supervisor()
        self._wake.set()
        return ch

    def close_source(self, source_id: str) -> None:
        with self._lock:
            ch = self._sources.pop(source_id, None)
            if ch is not None and self._proc is not None:
                self._proc.send(protocol.op(protocol.OP_CLOSE, source_id))
        if ch is not None:
            ch._shutdown()

    def status(self) -> WorkerStatus:
        with self._lock:
            pid = self._proc.pid if self._proc is not None else None
            return WorkerStatus(self._state, self._message, pid, self._restarts, self._last_error)

    def close(self) -> None:
        """Stop everything within CLOSE_TIMEOUT_S: OBS's UI thread waits for script_unload, so
        a worker that ignores EOF and SIGTERM is killed rather than waited for."""
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            sup = self._supervisor
        self._wake.set()
        if sup is not None:
            sup.join(timeout=1.0)
            if sup.is_alive():
                self._log(logging.WARNING, "FaceFX supervisor thread did not finish within 1 s")
        with self._lock:
            proc, self._proc = self._proc, None
            sources = list(self._sources.values())
            self._sources.clear()
            self._set_state("stopped", "closed")
        if proc is not None:
            proc.stop(self._log, deadline=deadline)
        for ch in sources:
            ch._shutdown()
        session, self._session = self._session, None
        if session is not None:
            shutil.rmtree(session, ignore_errors=True)

    def __enter__(self) -> "WorkerClient":
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False

    # -- internals ----------------------------------------------------------------------------
    def _session_dir(self) -> str:
        with self._lock:
            if self._closed:  # close() has removed it, or is about to: make no new one
                raise RuntimeError("WorkerClient is closed")
            if self._session is None:
                ipc.sweep_stale_sessions()
                self._session = ipc.make_session_dir()
            return self._session

    def _send(self, msg: dict) -> None:
        """Queue a control line for the current worker; a worker started later gets the
        current state replayed instead, so nothing needs to be kept here."""
        with self._lock:
            if self._proc is not None:
                self._proc.send(msg)

    def _note_error(self, text: str) -> None:
        with self._lock:
            self._last_error = text

    def _set_state(self, state: str, message: str) -> None:
        """Called with self._lock held."""
        self._state = state
        self._message = message
        self._running = state == "running"

    def _ensure_supervisor(self) -> None:
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, name="facefx-worker-supervisor", daemon=True)
            self._supervisor.start()

    def _supervise(self) -> None:
        while not self._closing.is_set():
            try:
                self._tick()
            except Exception as exc:  # never let the supervisor die silently
                self._log(logging.ERROR, f"FaceFX supervisor error: {type(exc).__name__}: {exc}")
            self._wake.wait(0.1)
            self._wake.clear()

    def _tick(self) -> None:
        with self._lock:
            wanting = [ch for ch in self._sources.values() if ch._wanted_capacity]
        for ch in wanting:
            ch._allocate_wanted()
        now = time.monotonic()
        with self._lock:
            proc = self._proc
            due = self._wanted and now >= self._next_start
        if proc is None:
            if due:
                self._spawn()
            return
        rc = proc.popen.poll()
        if rc is not None:
            self._on_exit(proc, rc)
            return
        if proc.ready_at is not None:
            silent = now - proc.last_heard
            if silent > self.hang_timeout and now > proc.busy_until:
                proc.kill_reason = f"stopped responding (no heartbeat for {silent:.1f} s)"
                self._log(logging.WARNING, f"FaceFX worker {proc.pid} {proc.kill_reason}; killing it")
                proc.popen.kill()
            elif now - proc.ready_at > self._stable_after:
                self._backoff = self._backoff_min
        elif now - proc.started_at > self.start_timeout:
            proc.kill_reason = f"did not start within {self.start_timeout:.0f} s"
            proc.popen.kill()

    def _spawn(self) -> None:
        with self._lock:
            python = os.path.expanduser(self._python) if self._python else default_python(self.root)
            overridden = bool(self._python)
        fix = setup_command(self.root)
        if not os.path.isfile(python):
            if overridden:
                msg = (f"the worker interpreter {python} was not found; correct it in the FaceFX "
                       f"script settings, or clear it and run: {fix}")
            else:
                msg = f"FaceFX's Python environment is missing ({python} not found); run: {fix}"
            self._fail(msg)
            return
        cmd = [python, "-m", "facefx.worker", "--parent-pid", str(os.getpid())]
        try:
            popen = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.root, env=worker_env(self.root),
                                     **popen_kwargs())
        except OSError as exc:
            self._fail(f"cannot start the worker with {python}: {exc.strerror or exc}; run: {fix}")
            return
        proc = WorkerProcess(popen, self._on_line, self._on_stderr)
        with self._lock:
            if self._closed:
                self._proc = None
            else:
                self._proc = proc
                if self._spawned:
                    self._restarts += 1
                self._spawned += 1
                self._set_state("starting", f"starting the worker (pid {proc.pid})")
                for ch in self._sources.values():
                    for msg in ch._replay():
                        proc.send(msg)
        if self._proc is not proc:
            proc.stop(self._log, grace=0.5)
            return
        self._log(logging.INFO, f"FaceFX worker starting: {subprocess.list2cmdline(cmd)} (pid {proc.pid})")

    def _fail(self, message: str) -> None:
        """The worker cannot start: say what to run, and retry slowly (the user may fix it)."""
        with self._lock:
            first = self._state != "failed" or self._message != message
            self._set_state("failed", message)
            self._last_error = message
            self._backoff = self._backoff_max
            self._next_start = time.monotonic() + self._backoff_max
        if first:
            self._log(logging.ERROR, f"FaceFX: {message}")

    def _on_exit(self, proc: WorkerProcess, rc: int) -> None:
        proc.join(self._log)
        with self._lock:
            if self._proc is proc:
                self._proc = None
        fix = setup_command(self.root)
        if proc.fatal is not None:
            detail = proc.fatal.get("message") or "the worker could not start"
            self._fail(f"{detail}; run: {fix}")
            return
        if proc.ready_at is None:
            last = next((t for t in reversed(proc.tail) if t.strip()), "")
            why = proc.kill_reason or describe_exit(rc)
            self._fail(f"the worker {why} during start-up{': ' + last if last else ''}; run: {fix}")
            return
        why = proc.kill_reason or describe_exit(rc)
        with self._lock:
            delay = 0.0 if proc.restart_requested else self._backoff
            if not proc.restart_requested:
                self._backoff = min(self._backoff * 2, self._backoff_max)
            self._next_start = time.monotonic() + delay
            text = f"worker (pid {proc.pid}) {why}; restarting in {delay:.1f} s"
            self._set_state("restarting", text)
            if not proc.restart_requested:
                self._last_error = f"worker (pid {proc.pid}) {why}"
        self._log(logging.WARNING, f"FaceFX {text}")

    def _on_stderr(self, proc: WorkerProcess, raw: bytes) -> None:
        """stderr thread: native and Python diagnostics. Kept for start-up failure messages;
        never taken as a sign of life (a worker stuck in a loop that logs is still stuck)."""
        text = raw.decode("utf-8", "replace").rstrip()
        if text:
            proc.tail.append(text)
            self._log(logging.DEBUG, f"FaceFX worker: {text}")

    def _on_line(self, proc: WorkerProcess, raw: bytes) -> None:
        """Reader thread: one line from the worker's stdout. Only heartbeats (and the ready
        event that starts the beat) count as liveness."""
        text = raw.decode("utf-8", "replace").rstrip()
        msg = protocol.decode_event(text)
        if msg is None:
            self._on_stderr(proc, raw)  # a library that printed to stdout
            return
        event = msg["event"]
        if event == protocol.EV_HEARTBEAT:
            proc.last_heard = time.monotonic()
            proc.busy_until = 0.0  # the main loop is back: whatever it announced is over
            sources = msg.get("sources") or {}
            with self._lock:
                for sid, stats in sources.items():
                    ch = self._sources.get(sid)
                    if ch is not None and isinstance(stats, dict):
                        ch._worker_stats = stats
                        ch._worker_error = str(stats.get("error") or "")
        elif event == protocol.EV_BUSY:
            try:
                proc.busy_until = time.monotonic() + float(msg.get("seconds", 0))
            except (TypeError, ValueError):
                pass
        elif event == protocol.EV_READY:
            version = msg.get("protocol")
            if version != protocol.VERSION:
                # A worker from another FaceFX version (an old interpreter setting, a half
                # updated folder) would misread every message: refuse it and say why.
                proc.fatal = {"message": f"the worker speaks protocol version {version!r}, this "
                                         f"plugin version {protocol.VERSION} (mixed FaceFX versions)"}
                proc.kill_reason = "speaks another protocol version"
                self._log(logging.ERROR, f"FaceFX: {proc.fatal['message']}")
                try:
                    proc.popen.kill()
                except OSError:
                    pass
                return
            proc.ready_at = proc.last_heard = time.monotonic()
            with self._lock:
                if self._proc is proc:
                    self._set_state("running", f"running (pid {proc.pid})")
            self._log(logging.INFO, f"FaceFX worker ready (pid {proc.pid})")
        elif event == protocol.EV_ERROR:
            sid = msg.get("source")
            text = str(msg.get("message", ""))
            with self._lock:
                ch = self._sources.get(sid) if isinstance(sid, str) else None
                if ch is not None:
                    ch._worker_error = text
                self._last_error = f"{sid}: {text}" if sid else text
            self._log(logging.WARNING, f"FaceFX worker error{' (' + sid + ')' if sid else ''}: {text}")
        elif event == protocol.EV_FATAL:
            proc.fatal = msg
            self._log(logging.ERROR, f"FaceFX worker: {msg.get('message')}")
