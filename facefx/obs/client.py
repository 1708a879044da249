"""The OBS side of the analysis worker: starts it, feeds it frames, collects masks, keeps it alive.

Standard library only (this runs inside OBS's embedded Python, which has no numpy).

One WorkerClient serves every FaceFX filter in the OBS session; each filter opens a
SourceChannel. The graphics thread calls SourceChannel.submit() and latest(): both only copy
bytes to or from shared memory (facefx.ipc) and never wait on the worker. Everything that can
wait (starting the process, writing to its stdin, reading its stdout, noticing that it died or
hung) happens on the client's own threads:

  supervisor   starts the worker, restarts it with backoff after a crash or hang, gives up to
               "failed" (retrying slowly) when it cannot even start
  reader       one per worker process: JSON lines from its stdout (heartbeats, errors)
  writer       one per worker process: JSON lines to its stdin, so a worker that stops reading
               blocks only this thread, never OBS's UI or graphics thread

`log` receives (level, text) with `logging` levels (10 debug .. 40 error); the OBS script maps
them to obspython.script_log.

Platform notes: the interpreter path (default_python), the setup command shown to the user
(setup_command) and the process-creation flags (_popen_kwargs) are the only OS-specific parts;
shared-memory file placement lives in facefx.ipc.session_root.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import queue
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

from .. import ipc

LogFn = Callable[[int, str], None]

_logger = logging.getLogger("facefx.worker")


def _default_log(level: int, text: str) -> None:
    _logger.log(level, text)


def default_python(root: str) -> str:
    """The project's virtual-environment interpreter (made by `bootstrap.py setup`)."""
    if os.name == "nt":
        return os.path.join(root, ".venv", "Scripts", "python.exe")
    return os.path.join(root, ".venv", "bin", "python")


def setup_command(root: str) -> str:
    """The exact command that creates the virtual environment with every package installed."""
    script = os.path.join(root, "bootstrap.py")
    if os.name == "nt":
        return f"py {subprocess.list2cmdline([script])} setup"
    return f"python3 {shlex.quote(script)} setup"


def _popen_kwargs() -> Dict[str, Any]:
    if os.name == "nt":
        # No console window flashing up beside OBS, and below OBS's priority (the worker
        # lowers its own niceness on POSIX): rendering comes first, analysis may lag a frame.
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
                | getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0x00004000)}
    return {}


def worker_env(root: str) -> Dict[str, str]:
    """Environment for the worker: OBS may set PYTHONHOME/PYTHONPATH for its own embedded
    Python, which would break a virtual-environment interpreter, so those are replaced."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(key, None)
    env["PYTHONPATH"] = root
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("GLOG_minloglevel", "2")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"was killed by {name}"
    return f"exited with code {rc}"


@dataclass
class WorkerStatus:
    state: str            # "stopped" | "starting" | "running" | "restarting" | "failed"
    message: str
    pid: Optional[int]
    restarts: int
    last_error: str


@dataclass
class MaskResult:
    seq: int              # increments per result for this source (also across worker restarts)
    frame_seq: int        # the submit() frame_seq it was computed from
    width: int
    height: int
    data: bytes           # width*height uint8 mask, 255 = person, row-major, no padding
    stage_ms: Dict[str, float] = field(default_factory=dict)


class SourceChannel:
    """One filter's connection to the worker. Get it from WorkerClient.open_source().

    submit() and latest() are meant for OBS's graphics thread: they copy bytes and return. A
    small lock guards the mapping against close() from another OBS thread; the worker never
    takes it.
    """

    def __init__(self, client: "WorkerClient", source_id: str, index: int) -> None:
        self.source_id = source_id
        self._client = client
        self._index = index
        self._lock = threading.Lock()
        self._file: Optional[ipc.ChannelFile] = None
        self._generation = 0
        self._settings: Optional[dict] = None
        self._last_submit = 0
        self._result: Optional[MaskResult] = None
        self._result_seq = 0
        self._worker_stats: Dict[str, Any] = {}
        self._worker_error = ""  # reported by the worker (error events; heartbeats say if it persists)
        self._local_error = ""   # found on this side (bad submit() arguments, shared memory)
        self._closed = False

    # -- settings -----------------------------------------------------------------------------
    def set_settings(self, settings: dict) -> None:
        """Settings.to_dict() form. The worker validates them; a bad value becomes this
        source's error (see stats()) and the previous settings stay in force."""
        try:
            json.dumps(settings)
        except (TypeError, ValueError) as exc:
            self._local_error = f"settings not sent: not JSON-serialisable ({exc})"
            return
        self._local_error = ""
        self._settings = settings
        self._client._send({"op": "settings", "source": self.source_id, "settings": settings})

    # -- frames -------------------------------------------------------------------------------
    def submit(self, ptr: int, width: int, height: int, linesize: int, frame_seq: int,
               *, bgra: bool = False) -> bool:
        """Copy an RGBA8 (or BGRA8 with bgra=True) image from raw memory at ptr into shared
        memory, latest wins. Returns whether a worker is running to analyse it."""
        if width < 2 or height < 2 or linesize < width * 4 or not ptr:
            self._local_error = f"frame {width}x{height} with row stride {linesize} is not a valid RGBA image"
            return False
        nbytes = linesize * (height - 1) + width * 4
        with self._lock:
            if self._closed:
                return False
            f = self._file
            if f is None or nbytes > f.frame_capacity:
                f = self._reallocate(nbytes)
                if f is None:
                    return False
            f.frames.write((ctypes.c_char * nbytes).from_address(ptr), width=width, height=height,
                           stride=linesize, frame_seq=frame_seq,
                           flags=ipc.FLAG_BGRA if bgra else 0, timestamp=time.monotonic())
            self._last_submit = frame_seq
            self._local_error = ""
        return self._client._running

    def submit_bytes(self, data: bytes, width: int, height: int, frame_seq: int, *,
                     linesize: int = 0, bgra: bool = False) -> bool:
        """submit() for a bytes-like image (tests, tools)."""
        buf = (ctypes.c_char * len(data)).from_buffer_copy(data)
        return self.submit(ctypes.addressof(buf), width, height, linesize or width * 4, frame_seq, bgra=bgra)

    def _reallocate(self, nbytes: int) -> Optional[ipc.ChannelFile]:
        """A channel file big enough for nbytes frames (the first frame, or a bigger analysis
        size); the worker is told to switch over. Called with self._lock held."""
        self._generation += 1
        path = f"src{self._index}-{self._generation}.shm"
        try:
            path = os.path.join(self._client._session_dir(), path)
            new = ipc.ChannelFile.create(path, nbytes)
        except (OSError, RuntimeError) as exc:  # RuntimeError: the client is closing
            self._local_error = f"cannot create shared memory for frames ({path}): {exc}"
            self._client._note_error(f"{self.source_id}: {self._local_error}")
            return None
        old, self._file = self._file, new
        if old is not None:
            old.close()
            _remove(old.path)  # Windows refuses while the worker maps it; the session dir goes at close
        self._client._send(self._attach_msg(new))
        return new

    def _attach_msg(self, f: ipc.ChannelFile) -> dict:
        # seq: the newest result seen here, so a worker writing into a fresh file numbers its
        # results after it and latest() takes them at once.
        return {"op": "attach", "source": self.source_id, "path": f.path, "seq": self._result_seq}

    def latest(self) -> Optional[MaskResult]:
        """The newest finished mask (or the previous one if nothing new). Never blocks."""
        with self._lock:
            f = self._file
            if f is not None and not self._closed:
                msg = f.results.read(self._result_seq)
                if msg is not None:
                    try:
                        stage_ms = json.loads(msg.aux) if msg.aux else {}
                    except ValueError:
                        stage_ms = {}
                    self._result = MaskResult(msg.seq, msg.frame_seq, msg.width, msg.height,
                                              msg.data, stage_ms)
                    self._result_seq = msg.seq
            return self._result

    def stats(self) -> Dict[str, Any]:
        """{"fps", "stage_ms", "latency_frames", "frames", "model", "error", "result_seq"}.

        latency_frames is the newest submitted frame_seq minus the frame_seq of the newest
        finished result (None before the first result).
        """
        ws = self._worker_stats
        newest = None
        with self._lock:
            if self._file is not None and not self._closed:
                newest = self._file.results.peek()
        res = self._result
        stage_ms = ws.get("stage_ms") or (res.stage_ms if res else {})
        frame_seq = newest.frame_seq if newest else (res.frame_seq if res else None)
        return {
            "fps": float(ws.get("fps", 0.0)),
            "stage_ms": dict(stage_ms),
            "latency_frames": None if frame_seq is None else max(0, self._last_submit - frame_seq),
            "frames": int(ws.get("frames", 0)),
            "model": ws.get("model"),
            "error": self._local_error or self._worker_error,
            "result_seq": newest.seq if newest else self._result_seq,
        }

    def close(self) -> None:
        self._client.close_source(self.source_id)

    def _shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            f, self._file = self._file, None
        if f is not None:
            f.close()
            _remove(f.path)

    def _replay(self) -> List[dict]:
        """Messages that bring a fresh worker up to date with this source."""
        msgs: List[dict] = [{"op": "open", "source": self.source_id}]
        f = self._file
        if f is not None:
            msgs.append(self._attach_msg(f))
        if self._settings is not None:
            msgs.append({"op": "settings", "source": self.source_id, "settings": self._settings})
        return msgs


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class _Process:
    """One worker process and its two pipe threads."""

    def __init__(self, popen: subprocess.Popen, on_line: Callable[["_Process", bytes], None]) -> None:
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
        self.outbox.put((json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8"))

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
        self._proc: Optional[_Process] = None
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
                self._proc.send({"op": "close", "source": source_id})
        if ch is not None:
            ch._shutdown()

    def status(self) -> WorkerStatus:
        with self._lock:
            pid = self._proc.pid if self._proc is not None else None
            return WorkerStatus(self._state, self._message, pid, self._restarts, self._last_error)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            sup = self._supervisor
        self._wake.set()
        if sup is not None:
            sup.join(timeout=5.0)
            if sup.is_alive():
                self._log(logging.WARNING, "FaceFX supervisor thread did not finish within 5 s")
        with self._lock:
            proc, self._proc = self._proc, None
            sources = list(self._sources.values())
            self._sources.clear()
            self._set_state("stopped", "closed")
        if proc is not None:
            proc.stop(self._log)
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
                                     stderr=subprocess.STDOUT, cwd=self.root, env=worker_env(self.root),
                                     **_popen_kwargs())
        except OSError as exc:
            self._fail(f"cannot start the worker with {python}: {exc.strerror or exc}; run: {fix}")
            return
        proc = _Process(popen, self._on_line)
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

    def _on_exit(self, proc: _Process, rc: int) -> None:
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
            why = proc.kill_reason or _describe_exit(rc)
            self._fail(f"the worker {why} during start-up{': ' + last if last else ''}; run: {fix}")
            return
        why = proc.kill_reason or _describe_exit(rc)
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

    def _on_line(self, proc: _Process, raw: bytes) -> None:
        """Reader thread: one line from the worker's stdout (protocol JSON or library chatter)."""
        proc.last_heard = time.monotonic()
        text = raw.decode("utf-8", "replace").rstrip()
        msg = None
        if text.startswith("{"):
            try:
                msg = json.loads(text)
            except ValueError:
                msg = None
        if not isinstance(msg, dict) or "event" not in msg:
            if text:
                proc.tail.append(text)
                self._log(logging.DEBUG, f"FaceFX worker: {text}")
            return
        event = msg["event"]
        if event == "heartbeat":
            proc.busy_until = 0.0  # the main loop is back: whatever it announced is over
            sources = msg.get("sources") or {}
            with self._lock:
                for sid, stats in sources.items():
                    ch = self._sources.get(sid)
                    if ch is not None and isinstance(stats, dict):
                        ch._worker_stats = stats
                        ch._worker_error = str(stats.get("error") or "")
        elif event == "busy":
            try:
                proc.busy_until = proc.last_heard + float(msg.get("seconds", 0))
            except (TypeError, ValueError):
                pass
        elif event == "ready":
            proc.ready_at = time.monotonic()
            with self._lock:
                if self._proc is proc:
                    self._set_state("running", f"running (pid {proc.pid})")
            self._log(logging.INFO, f"FaceFX worker ready (pid {proc.pid})")
        elif event == "error":
            sid = msg.get("source")
            text = str(msg.get("message", ""))
            with self._lock:
                ch = self._sources.get(sid) if isinstance(sid, str) else None
                if ch is not None:
                    ch._worker_error = text
                self._last_error = f"{sid}: {text}" if sid else text
            self._log(logging.WARNING, f"FaceFX worker error{' (' + sid + ')' if sid else ''}: {text}")
        elif event == "fatal":
            proc.fatal = msg
            self._log(logging.ERROR, f"FaceFX worker: {msg.get('message')}")
