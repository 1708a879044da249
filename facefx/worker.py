"""The analysis worker: one process per OBS session, one Engine per source.

Started by facefx.obs.client.WorkerClient with the project's virtual-environment interpreter:

    <venv python> -m facefx.worker --parent-pid <OBS pid>

Why a separate process: machine learning in OBS's own process would stall OBS's render thread
through the GIL, and a crash or abort in a native library would take OBS down with it.

Protocol: JSON lines on stdin/stdout, described in facefx.obs.protocol (the one home of
every op and event name); pixels go through facefx.ipc.

The heartbeat is sent from the main loop, between analyses, so a worker stuck inside a model
stops beating and the client can tell it from a merely idle one. Every error in one source
(bad settings, a frame the engine rejects, a model that fails to load) is reported for that
source only; the worker itself keeps serving the others. The worker exits when stdin reaches
EOF (OBS exited or died: the pipe closes either way) or its parent process changes.

Only the standard library is imported at module level, so a missing package is caught and
reported as a "fatal" line the client can show, instead of a bare traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, Optional

from . import ipc
from .obs import protocol as P

PROTOCOL = P.VERSION
HEARTBEAT_S = P.HEARTBEAT_S
ERROR_RETRY_S = 1.0   # after an analysis error, skip that source's frames this long
# After stdin EOF, a main loop stuck in native code is cut off after this (seconds; the
# environment variable lets a test on a loaded machine tell the clean path from the cut-off).
EXIT_GRACE_S = float(os.environ.get("FACEFX_WORKER_EXIT_GRACE_S") or 2.0)
EXIT_STUCK = 70       # exit status of that cut-off (EX_SOFTWARE); a clean exit is 0
BUSY_ALLOWANCE_S = 30.0  # announced before an analysis that may load a model (no heartbeats meanwhile)
WORKER_INFERENCE_THREADS = 1
# Per-frame analysis budget: a 30 fps frame interval less a margin for the transfer. While the
# stages' typical cost is over it, the stages that allow it (hands) run every 2nd frame, their
# last result carried forward (Engine.tight), so the analysis keeps up with a 30 fps source.
WORKER_BUDGET_MS = 28.0
WORKER_NICENESS = 5
POLL_ACTIVE_S = 0.002
POLL_IDLE_S = 0.010
IDLE_AFTER_S = 1.0


class _Out:
    """Protocol lines to stdout, whole lines only, from any thread."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps(dict(event=event, **fields), separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):
                pass  # the client is gone; stdin EOF will end us


class _Source:
    def __init__(self, source_id: str, settings: Any) -> None:
        self.id = source_id
        self.settings = settings
        self.chan: Optional[ipc.ChannelFile] = None
        self.engine: Any = None
        self.last_frame = 0      # seq of the newest frame message taken
        self.result_seq = 0
        self.frames = 0
        self.error = ""
        self.retry_at = 0.0
        self.analysis_failed = False  # src.error came from a frame or attach: cleared by the next result
        self.cold = True         # the next analysis may load a model (new engine or new settings)
        self.times: Deque[float] = deque(maxlen=32)
        self.stage_ms: Dict[str, float] = {}
        self.teaching: Optional["_Teaching"] = None
        self.teach_state: Optional[dict] = None   # reported in the heartbeat
        self.labels: tuple = ()       # the gesture names the engine's custom/taught model adds
        self.model_error = ""         # the custom gesture model that could not be used
        self.expr_checked: Any = None   # (model, labels) last validated, and its problem ("" = usable)
        self.recalibrations = 0

    def fps(self, now: float) -> float:
        t = self.times
        if len(t) < 2 or now - t[-1] > 2.0 or t[-1] <= t[0]:
            return 0.0
        return (len(t) - 1) / (t[-1] - t[0])

    def close(self) -> None:
        engine, self.engine = self.engine, None
        chan, self.chan = self.chan, None
        try:
            if engine is not None:
                engine.close()
        finally:
            if chan is not None:
                chan.close()


class _Teaching:
    """A "teach a gesture" recording: feature samples of the hands seen until `until`."""

    def __init__(self, name: str, seconds: float, now: float) -> None:
        self.name, self.until, self.samples = name, now + seconds, []

    def state(self, now: float) -> dict:
        return {"name": self.name, "state": "recording", "remaining": round(max(0.0, self.until - now), 2),
                "samples": len(self.samples), "message": ""}


class Worker:
    def __init__(self, out: _Out, parent_pid: int = 0) -> None:
        import numpy as np

        from .analysis import Engine, FrameError
        from .analysis.classifiers import GestureModelError
        from .analysis.segmentation import ModelError
        from .results import encode
        from .settings import Settings, SettingsError

        self._np = np
        self._Engine = Engine
        self._Settings = Settings
        self._encode = encode
        self._expected = (FrameError, ModelError, SettingsError)
        self._GestureModelError = GestureModelError
        self.out = out
        self.parent_pid = parent_pid
        self.sources: Dict[str, _Source] = {}
        self.inbox: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.stop = threading.Event()
        self.done = threading.Event()
        self._last_frame_at = 0.0

    # -- control ------------------------------------------------------------------------------
    def read_stdin(self, stream: Any) -> None:
        """Runs on a thread: control lines into the inbox; EOF means OBS is gone."""
        try:
            for line in stream:
                line = line.strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                    if not isinstance(msg, dict):
                        raise ValueError("not an object")
                except ValueError:
                    self.out.send(P.EV_ERROR, source=None, message=f"ignored a malformed control line: {line[:80]!r}")
                    continue
                self.inbox.put(msg)
        except (OSError, ValueError):
            pass
        self.stop.set()
        if not self.done.wait(EXIT_GRACE_S):
            os._exit(EXIT_STUCK)  # the main loop is stuck in native code; OBS is gone, so must we be

    def handle(self, msg: dict) -> None:
        op = msg.get("op")
        sid = msg.get("source")
        if op == P.OP_EXIT:
            self.stop.set()
            return
        if not isinstance(sid, str):
            self.out.send(P.EV_ERROR, source=None, message=f"control message {op!r} without a source id")
            return
        src = self.sources.get(sid)
        if op == P.OP_OPEN:
            if src is None:
                self.sources[sid] = _Source(sid, self._Settings())
        elif src is None:
            self.out.send(P.EV_ERROR, source=sid, message=f"{op!r} for a source that was not opened")
        elif op == P.OP_ATTACH:
            seq = msg.get("seq", 0)
            self._attach(src, str(msg.get("path", "")), seq if isinstance(seq, int) else 0)
        elif op == P.OP_SETTINGS:
            self._apply_settings(src, msg.get("settings"))
        elif op == P.OP_CLOSE:
            del self.sources[sid]
            src.close()
        elif op in (P.OP_TEACH, P.OP_FORGET):
            self._teach_op(src, op, msg)
        elif op == P.OP_RECALIBRATE:
            self._recalibrate(src)
        else:
            self.out.send(P.EV_ERROR, source=sid, message=f"unknown control op {op!r}")

    def _teach_op(self, src: _Source, op: str, msg: dict) -> None:
        """Start a recording, or forget a taught gesture; the outcome rides in the heartbeat."""
        from . import teach as T
        name = msg.get("name")
        try:
            if not isinstance(name, str):
                raise T.TeachError(f"gesture name must be text, got {name!r}")
            name = T.check_name(name)
            if op == P.OP_FORGET:
                T.delete_gesture(name)
                src.teach_state = {"name": name, "state": "forgotten", "remaining": 0, "samples": 0,
                                   "message": f"forgot {name!r}"}
                self._reload_gestures()
                return
            seconds = msg.get("seconds")
            lo, hi = P.TEACH_SECONDS
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not lo <= seconds <= hi:
                raise T.TeachError(f"teach seconds must be a number from {lo:g} to {hi:g}, got {seconds!r}")
        except T.TeachError as exc:
            src.teach_state = {"name": str(name), "state": "failed", "remaining": 0, "samples": 0,
                               "message": str(exc)}
            return
        src.teaching = _Teaching(name, float(seconds), time.perf_counter())
        src.teach_state = src.teaching.state(time.perf_counter())

    def _teach_collect(self, src: _Source, results: Any, size: Any, now: float) -> None:
        t = src.teaching
        if t is None:
            return
        if results is not None and now <= t.until:
            from .teach import features_of
            feats = features_of(results.hands, size)
            if feats is not None:
                t.samples.append(feats)
        src.teach_state = t.state(now)
        if now > t.until:
            self._teach_finish(src)

    def _teach_finish(self, src: _Source) -> None:
        """Train in this process (OBS's stays standard library only), then rebuild the engine
        so the new gesture is recognised from the next frame."""
        from . import teach as T
        t, src.teaching = src.teaching, None
        self.out.send(P.EV_BUSY, source=src.id, seconds=BUSY_ALLOWANCE_S)
        try:
            T.teach(t.name, t.samples)
            src.teach_state = {"name": t.name, "state": "taught", "remaining": 0, "samples": len(t.samples),
                               "message": f"taught {t.name!r} from {len(t.samples)} frames with a hand"}
            self._reload_gestures()
        except T.TeachError as exc:
            src.teach_state = {"name": t.name, "state": "failed", "remaining": 0, "samples": len(t.samples),
                               "message": str(exc)}
        finally:
            self.out.send(P.EV_BUSY, source=src.id, seconds=0)

    def _reload_gestures(self) -> None:
        """Taught gestures changed: rebuild every source's engine (the taught model keeps its
        file name, so a stage would not see that it changed)."""
        for s in self.sources.values():
            engine, s.engine = s.engine, None
            s.cold = True
            if engine is not None:
                engine.close()

    def _engine_settings(self, src: _Source) -> Any:
        """The source's settings with the taught classifier when gestures are on and the
        panel names no model of its own (facefx.teach.with_taught, as the CLI does)."""
        from .teach import with_taught
        return with_taught(src.settings)

    def _make_engine(self, src: _Source) -> Any:
        """A new engine for the source. A custom gesture model that cannot be used is named in
        the source's error and left out; the background and the built-in gestures keep working."""
        settings = self._engine_settings(src)
        src.model_error = ""
        try:
            # One inference thread: OBS renders on the other core(s) of the same machine.
            engine = self._Engine(settings, threads=WORKER_INFERENCE_THREADS, budget_ms=WORKER_BUDGET_MS)
        except self._GestureModelError as exc:
            if not settings.gestures.model:
                raise
            src.model_error = f"gesture model not used: {exc}"
            self._error(src, src.model_error)
            import dataclasses
            g = dataclasses.replace(settings.gestures, model="", labels="")
            engine = self._Engine(settings.replace(gestures=g), threads=WORKER_INFERENCE_THREADS,
                                  budget_ms=WORKER_BUDGET_MS)
        src.labels = self._labels(engine)
        return engine

    @staticmethod
    def _labels(engine: Any) -> tuple:
        """The gesture names the engine's custom or taught model adds."""
        return tuple(next((getattr(st, "labels", ()) for st in engine.stages if st.name == "gestures"), ()))

    def _taught(self) -> list:
        try:
            from .teach import list_gestures
            return [n for n, _ in list_gestures()]
        except Exception:   # an unreadable data folder must not stop the heartbeat
            return []

    # -- expressions ----------------------------------------------------------------------------
    @staticmethod
    def _stage(src: _Source, name: str) -> Any:
        return src.engine.stage(name) if src.engine is not None else None

    def _recalibrate(self, src: _Source) -> None:
        """Every face of this source learns its resting expression again (the panel's button and
        hotkey). Without an engine yet there is nothing learned to forget."""
        stage = self._stage(src, "expressions")
        if stage is not None:
            stage.recalibrate()
        src.recalibrations += 1

    def _checked_expressions(self, src: _Source, settings: Any) -> Any:
        """settings, or settings with the bundled expression model when their custom model or
        labels file cannot be used (missing, not TFLite, a layout FaceFX cannot feed, a label
        count that differs from the outputs): that is reported (an error event, and the
        heartbeat's expressions state while it lasts), and every effect keeps working instead
        of the engine failing on every frame. Checked again only when the files change."""
        ex = settings.expressions
        if not ex.active or not ex.model:
            src.expr_checked = None
            return settings
        key = (ex.model, ex.labels)
        if src.expr_checked is None or src.expr_checked[0] != key:
            problem = ""
            try:
                from .analysis.expressions import ExpressionModel
                ExpressionModel(ex.model, ex.labels or None, threads=WORKER_INFERENCE_THREADS)
            except Exception as exc:   # ExpressionModelError, or the runtime refusing the file
                problem = str(exc) or type(exc).__name__
            src.expr_checked = (key, problem)
        problem = src.expr_checked[1]
        if not problem:
            return settings
        self.out.send(P.EV_ERROR, source=src.id,
                      message=f"expression model not used: {problem}; using the bundled FER2013 model")
        import dataclasses
        return settings.replace(expressions=dataclasses.replace(ex, model="", labels=""))

    def _expressions_state(self, src: _Source) -> Optional[dict]:
        ex = src.settings.expressions
        if not ex.active:
            return None
        out = {"model": src.expr_checked[0][0] if src.expr_checked else ex.model, "state": "loading", "calibrating": 0,
               "recalibrations": src.recalibrations, "message": ""}
        if src.expr_checked is not None and src.expr_checked[1]:
            out.update(state="failed", message=src.expr_checked[1])
            return out
        stage = self._stage(src, "expressions")
        if stage is not None and not src.cold:
            people = getattr(getattr(stage, "tracker", None), "people", {}) or {}
            out["state"] = "ready"
            out["calibrating"] = sum(1 for p in people.values() if getattr(p, "baseline", None) is None)
        return out

    def _attach(self, src: _Source, path: str, client_seq: int) -> None:
        """Switch the source to a channel file. Result numbers keep rising across files and
        worker restarts (the client only takes results newer than the last it saw): they
        continue from the file's newest, this worker's newest or the client's, whichever is
        highest. A fresh file attached by a fresh worker knows only the client's."""
        try:
            chan = ipc.ChannelFile.attach(path)
        except ipc.ChannelError as exc:
            self._error(src, str(exc))
            src.analysis_failed = True  # a result through a later attach clears it
            return
        if src.chan is not None:
            src.chan.close()
        src.result_seq = chan.results.repair(min_seq=max(src.result_seq, client_seq))
        src.chan = chan
        src.last_frame = 0

    def _apply_settings(self, src: _Source, data: Any) -> None:
        try:
            if not isinstance(data, dict):
                raise TypeError(f"settings must be a JSON object, got {type(data).__name__}")
            settings = self._Settings.from_dict(data)
        except (TypeError, ValueError) as exc:  # SettingsError is a ValueError
            self._error(src, f"settings not applied: {exc}")
            return
        settings = self._checked_expressions(src, settings)
        src.settings = settings
        src.error = ""
        src.retry_at = 0.0
        src.cold = True
        if src.engine is not None:
            try:
                src.engine.update(self._engine_settings(src))  # a model reloads only if its setting changed
                src.model_error = ""
                src.labels = self._labels(src.engine)
            except self._GestureModelError:
                src.engine.close()
                src.engine = None   # rebuilt at the next frame, without the model, naming it
            except Exception as exc:
                self._error(src, f"settings not applied: {type(exc).__name__}: {exc}")
                src.engine.close()
                src.engine = None  # rebuilt from src.settings at the next frame

    def _error(self, src: Optional[_Source], message: str) -> None:
        if src is not None:
            src.error = message
        self.out.send(P.EV_ERROR, source=src.id if src else None, message=message)

    def _frame_failed(self, src: _Source, now: float, message: str) -> bool:
        """This source's frame could not be analysed: report it, skip the source's frames for
        ERROR_RETRY_S, and let the next good result clear the error."""
        self._error(src, message)
        src.retry_at = now + ERROR_RETRY_S
        src.analysis_failed = True
        return True

    # -- frames -------------------------------------------------------------------------------
    def _process(self, src: _Source, now: float) -> bool:
        chan = src.chan
        if chan is None:
            return False
        msg = chan.frames.read(src.last_frame)
        if msg is None:
            return False
        src.last_frame = msg.seq
        self._last_frame_at = now
        if now < src.retry_at:
            return True
        np = self._np
        w, h, stride = msg.width, msg.height, msg.stride
        problem = ipc.image_problem(msg, 4) or ("" if w >= 2 and h >= 2 else f"{w}x{h} is below 2x2")
        if problem:
            return self._frame_failed(src, now, f"frame {problem}")
        frame = np.ndarray((h, w, 4), np.uint8, buffer=msg.data, strides=(stride, 4, 1))
        if msg.flags & ipc.FLAG_BGRA:
            frame = frame[:, :, [2, 1, 0, 3]]
        cold = src.cold
        if cold:
            self.out.send(P.EV_BUSY, source=src.id, seconds=BUSY_ALLOWANCE_S)
        try:
            if src.engine is None:
                src.engine = self._make_engine(src)
            analysis = src.engine.analyze(frame)
            src.cold = False
        except Exception as exc:  # a native library failing on one frame must not end the worker
            expected = isinstance(exc, self._expected)
            return self._frame_failed(src, now, str(exc) if expected else f"analysis failed: {type(exc).__name__}: {exc}")
        finally:
            if cold:  # before the result is published, so a hang right after it is still caught
                self.out.send(P.EV_BUSY, source=src.id, seconds=0)
        if src.analysis_failed:
            src.analysis_failed = False
            src.error = ""
        stage_ms = {k: round(v, 3) for k, v in analysis.stage_ms.items()}
        results = analysis.results()
        if src.teaching is not None:
            self._teach_collect(src, results, (w, h), time.perf_counter())
        try:
            aux = ipc.pack_aux(json.dumps(stage_ms, separators=(",", ":")).encode(),
                               self._encode(results))
        except ValueError as exc:  # ResultsError: over a capacity; never published truncated
            return self._frame_failed(src, now, f"results not published: {exc}")
        mask = analysis.mask
        if mask is None:  # no effect asked for a mask (background off): structured results only
            src.result_seq = chan.results.write(
                b"", width=0, height=0, stride=0, frame_seq=msg.frame_seq, aux=aux,
                flags=ipc.FLAG_NO_MASK, timestamp=time.monotonic())
        else:
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
            mh, mw = mask.shape[:2]
            src.result_seq = chan.results.write(
                mask, width=mw, height=mh, stride=mw, frame_seq=msg.frame_seq,
                aux=aux, timestamp=time.monotonic())
        done = time.perf_counter()
        src.frames += 1
        src.times.append(done)
        for k, v in stage_ms.items():
            old = src.stage_ms.get(k)
            src.stage_ms[k] = v if old is None else old + 0.2 * (v - old)
        return True

    def heartbeat(self, now: float) -> None:
        for s in list(self.sources.values()):
            if s.teaching is not None:   # frames may have stopped: the recording still ends
                self._teach_collect(s, None, None, now)
        taught = self._taught() if self.sources else None
        self.out.send(P.EV_HEARTBEAT, sources={
            s.id: {"fps": round(s.fps(now), 2),
                   "stage_ms": {k: round(v, 2) for k, v in s.stage_ms.items()},
                   "frames": s.frames, "result_seq": s.result_seq,
                   "model": s.settings.segmentation.model, "error": s.error or s.model_error,
                   "teach": s.teach_state, "taught": taught, "labels": list(s.labels),
                   "expressions": self._expressions_state(s)}
            for s in self.sources.values()})

    def parent_gone(self) -> bool:
        # On POSIX an orphan is re-parented (to init or a subreaper). Windows keeps the old
        # ppid, so there stdin EOF is the only signal, and it is enough.
        return bool(self.parent_pid) and os.name != "nt" and os.getppid() != self.parent_pid

    def run(self) -> int:
        self.out.send(P.EV_READY, pid=os.getpid(), protocol=PROTOCOL)
        next_beat = 0.0
        try:
            while not self.stop.is_set():
                while True:
                    try:
                        msg = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    try:
                        self.handle(msg)
                    except Exception as exc:
                        self._error(None, f"control message failed: {type(exc).__name__}: {exc}")
                busy = False
                for src in list(self.sources.values()):
                    busy = self._process(src, time.perf_counter()) or busy
                now = time.perf_counter()
                if now >= next_beat:
                    if self.parent_gone():
                        break
                    self.heartbeat(now)
                    next_beat = now + HEARTBEAT_S
                if not busy:
                    idle = now - self._last_frame_at > IDLE_AFTER_S
                    self.stop.wait(POLL_IDLE_S if idle else POLL_ACTIVE_S)
        finally:
            for src in self.sources.values():
                try:
                    src.close()
                except Exception:
                    pass
            self.sources.clear()
            self.done.set()
        return 0


def _check_imports() -> Optional[ImportError]:
    """Import everything analysis needs now, so a broken environment is reported at start."""
    try:
        from .analysis.segmentation import quiet_mediapipe

        quiet_mediapipe()
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        from mediapipe.python.solutions import selfie_segmentation  # noqa: F401
    except ImportError as exc:
        return exc
    return None


def lower_priority(increment: int) -> None:
    """Run below OBS: on a machine whose cores OBS's (software) renderer also needs, a frame
    rendered late is a visible stutter, while an analysis finished late only ages the mask by a
    frame. POSIX only here; on Windows the client starts the worker below normal priority."""
    if increment > 0 and hasattr(os, "nice"):
        try:
            os.nice(increment)
        except OSError:
            pass


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facefx.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--parent-pid", type=int, default=0,
                        help="exit when this process is no longer our parent (0: stdin EOF only)")
    parser.add_argument("--nice", type=int, default=WORKER_NICENESS,
                        help=f"lower this process's scheduling priority by this much (default {WORKER_NICENESS})")
    args = parser.parse_args(argv)
    lower_priority(args.nice)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in OBS's terminal: OBS decides
    except (ValueError, OSError):
        pass
    out = _Out(sys.stdout)
    exc = _check_imports()
    if exc is not None:
        module = exc.name or str(exc)
        out.send(P.EV_FATAL, kind="import", module=module,
                 message=f"the worker's Python ({sys.executable}) cannot import {module}: {exc}")
        return 3
    worker = Worker(out, parent_pid=args.parent_pid)
    reader = threading.Thread(target=worker.read_stdin, args=(sys.stdin.buffer,),
                              name="facefx-worker-stdin", daemon=True)
    reader.start()
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
