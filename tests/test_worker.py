"""The analysis worker and its OBS-side client, with the real worker process and MediaPipe model.

Every client made here is closed by the fixture, which then checks that nothing is left: no
worker process, no child of this process, no client thread, no session directory.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, List

import cv2
import numpy as np
import pytest

from facefx import ipc
from facefx.nativelogs import NATIVE_LOG_ENV
from facefx.worker import ERROR_RETRY_S
from facefx.obs import client as wc

from .procs import pid_alive, process_children

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASTRONAUT = os.path.join(ROOT, "facefx", "assets", "astronaut.png")
VENV_PY = wc.default_python(ROOT) if os.path.isfile(wc.default_python(ROOT)) else sys.executable
SYSTEM_PY = "/usr/bin/python3"
W, H = 256, 144

posix_only = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    bgr = cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR)
    assert bgr is not None, ASTRONAUT
    rgba = cv2.cvtColor(cv2.resize(bgr, (W, H), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGBA)
    return np.ascontiguousarray(rgba)


class Tracked:
    """A WorkerClient plus everything needed to prove close() cleaned up after it."""

    def __init__(self, **kwargs) -> None:
        self.logs: List[tuple] = []
        kwargs.setdefault("python", VENV_PY)
        self.client = wc.WorkerClient(root=kwargs.pop("root", ROOT), log=lambda lv, t: self.logs.append((lv, t)),
                                      **kwargs)
        self.pids: set = set()

    def status(self) -> wc.WorkerStatus:
        st = self.client.status()
        if st.pid:
            self.pids.add(st.pid)
        return st

    def wait(self, pred: Callable[[wc.WorkerStatus], bool], timeout: float, what: str) -> wc.WorkerStatus:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; status {self.status()}; log {self.logs[-5:]}")

    def check_clean(self) -> None:
        session = self.client._session
        self.client.close()
        self.client.close()  # idempotent
        assert self.client.status().state == "stopped"
        assert session is None or not os.path.exists(session), f"session dir left: {session}"
        for pid in self.pids:
            assert not pid_alive(pid), f"worker {pid} still running after close()"


@pytest.fixture
def make_client():
    made: List[Tracked] = []

    def make(**kwargs) -> Tracked:
        t = Tracked(**kwargs)
        made.append(t)
        return t

    yield make
    for t in made:
        t.check_clean()
    left = [t.name for t in threading.enumerate() if t.name.startswith("facefx-")]
    assert not left, f"threads left after close(): {left}"
    assert [p for p in process_children(os.getpid()) if pid_alive(p)] == [], \
        "a child process outlived its client"


def pump(tracked: Tracked, channels, frames, until: Callable[[], bool], timeout: float, what: str) -> None:
    """Submit frames at ~50 fps (the way OBS's graphics thread would) until `until()` holds."""
    end = time.monotonic() + timeout
    n = getattr(tracked, "frame_seq", 0)
    while time.monotonic() < end:
        n += 1
        for ch, fr in zip(channels, frames):
            ch.submit(fr.ctypes.data, fr.shape[1], fr.shape[0], fr.strides[0], n)
            ch.latest()
        tracked.frame_seq = n
        tracked.status()
        if until():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; status {tracked.status()}; "
                         f"stats {[c.stats() for c in channels]}; log {tracked.logs[-5:]}")


def mask_of(result: wc.MaskResult) -> np.ndarray:
    assert len(result.data) == result.width * result.height
    return np.frombuffer(result.data, np.uint8).reshape(result.height, result.width)


def assert_person_mask(m: np.ndarray) -> None:
    assert m.shape == (H, W)
    centre = m[60:90, 108:148].mean()   # the astronaut's collar and suit
    corners = max(m[:16, :16].mean(), m[:16, -16:].mean())  # studio backdrop
    assert centre > 200, f"person centre only {centre:.0f}/255"
    assert corners < 40, f"background corners at {corners:.0f}/255"


BLUR = {"background": {"mode": "blur"}}


def test_end_to_end_mask_settings_and_errors(make_client, frame):
    t = make_client()
    ch = t.client.open_source("cam")
    assert t.client.open_source("cam") is ch
    ch.set_settings(BLUR)
    pump(t, [ch], [frame], lambda: (ch.latest() or wc.MaskResult(0, 0, 0, 0, b"")).seq >= 5, 30, "first masks")
    r = ch.latest()
    assert ch.latest().seq >= r.seq  # numbering only rises
    assert_person_mask(mask_of(r))
    assert 0 < r.frame_seq <= t.frame_seq
    assert "segmentation" in r.stage_ms and r.stage_ms["total"] > 0
    st = t.status()
    assert (st.state, st.restarts, st.last_error) == ("running", 0, "")
    pid = st.pid
    if hasattr(os, "getpriority"):  # the worker runs below OBS's priority
        assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
    assert ch.submit(frame.ctypes.data, W, H, W * 4, t.frame_seq + 1)

    pump(t, [ch], [frame], lambda: ch.stats()["fps"] > 5, 10, "fps in the heartbeat")
    s = ch.stats()
    assert s["model"] == "auto" and s["error"] == ""
    assert {"resize", "segmentation", "total"} <= set(s["stage_ms"])
    assert isinstance(s["latency_frames"], int) and 0 <= s["latency_frames"] <= 10

    # A model setting change: the worker switches model and masks keep coming.
    ch.set_settings({"segmentation": {"model": "general"}, "background": {"mode": "color"}})
    seq0 = ch.latest().seq
    pump(t, [ch], [frame], lambda: ch.stats()["model"] == "general" and ch.latest().seq >= seq0 + 5,
         20, "masks from the general model")
    assert_person_mask(mask_of(ch.latest()))

    # Bad settings from OBS: reported as this source's error, previous settings stay in force.
    ch.set_settings({"background": {"mode": "sparkles"}})
    pump(t, [ch], [frame], lambda: "background mode must be one of" in ch.stats()["error"], 10, "settings error")
    assert "background mode must be one of" in t.status().last_error
    seq1 = ch.latest().seq
    pump(t, [ch], [frame], lambda: ch.latest().seq >= seq1 + 3, 10, "masks despite bad settings")
    assert ch.stats()["model"] == "general"
    ch.set_settings({"segmentation": {"shape": 1}})
    pump(t, [ch], [frame], lambda: "unknown segmentation setting" in ch.stats()["error"], 10, "unknown key error")
    ch.set_settings({"background": {"mode": "color", "color": object()}})
    assert "not JSON-serialisable" in ch.stats()["error"]

    # A background image that does not exist is the renderer's business, not the worker's.
    ch.set_settings({"background": {"mode": "image", "image": "/nonexistent/bg.png"}})
    seq2 = ch.latest().seq
    pump(t, [ch], [frame], lambda: ch.stats()["error"] == "" and ch.latest().seq >= seq2 + 3, 10,
         "masks with a missing background image")
    assert t.status().pid == pid and t.status().state == "running"

    # A frame the engine cannot use is an error for this source, not a crash.
    bad = np.zeros((H, W * 4), np.uint8)
    assert not ch.submit(bad.ctypes.data, W, H, W, 1)
    assert "not a valid RGBA image" in ch.stats()["error"]

    last = ch.latest()
    ch.close()
    ch.close()
    kept = ch.latest()  # the last mask stays readable (OBS keeps drawing it), unchanged
    assert kept is not None and (kept.seq, kept.width, kept.height, kept.data) == \
        (last.seq, last.width, last.height, last.data)
    assert_person_mask(mask_of(kept))
    assert not ch.submit(frame.ctypes.data, W, H, W * 4, 1)


def test_two_sources_each_get_their_own_masks(make_client, frame):
    t = make_client()
    a = t.client.open_source("webcam")
    b = t.client.open_source("capture card")
    a.set_settings(BLUR)
    b.set_settings({"background": {"mode": "transparent"}})
    empty = np.zeros_like(frame)
    empty[..., 3] = 255
    pump(t, [a, b], [frame, empty], lambda: bool(a.latest() and b.latest() and a.latest().seq >= 5
                                                  and b.latest().seq >= 5), 30, "masks for both sources")
    assert_person_mask(mask_of(a.latest()))
    assert mask_of(b.latest()).mean() < 20, "a black frame produced a person mask"
    # Each source is analysed once per frame: no source is starved by the other.
    assert abs(a.stats()["frames"] - b.stats()["frames"]) <= 3
    # Closing one source leaves the other working.
    b.close()
    seq = a.latest().seq
    pump(t, [a], [frame], lambda: a.latest().seq >= seq + 3, 10, "masks after the other source closed")
    # A requested restart (e.g. a new interpreter path): the open source's masks come back.
    old = t.status().pid
    t.client.restart()
    seq = a.latest().seq
    pump(t, [a], [frame], lambda: t.status().pid not in (None, old) and a.latest().seq >= seq + 3, 20,
         "masks after a requested restart")
    st = t.status()
    assert (st.state, st.restarts, st.last_error) == ("running", 1, "")


def test_bigger_frames_move_to_a_bigger_channel(make_client, frame):
    t = make_client()
    ch = t.client.open_source("cam")
    ch.set_settings({"segmentation": {"analysis_width": 512}, "background": {"mode": "blur"}})
    small = frame
    pump(t, [ch], [small], lambda: bool(ch.latest()), 30, "a mask at 256x144")
    big = np.ascontiguousarray(cv2.resize(frame, (512, 288), interpolation=cv2.INTER_LINEAR))
    first_seq = ch.latest().seq
    small_file = ch._file
    pump(t, [ch], [big], lambda: ch.latest().width == 512, 15, "a mask at 512x288")
    r = ch.latest()
    assert (r.width, r.height) == (512, 288) and r.seq > first_seq
    assert_person_mask(cv2.resize(mask_of(r), (W, H), interpolation=cv2.INTER_AREA))
    # The small channel is gone: unmapped, and its file (if it is not a sealed memfd) removed.
    assert small_file.closed and small_file is not ch._file
    assert len(os.listdir(t.client._session)) == (0 if ch._file.sealed else 1)

    # The interpreter setting: the same value again changes nothing, a new one restarts.
    pid = t.status().pid
    t.client.set_python(VENV_PY)
    seq = ch.latest().seq
    pump(t, [ch], [big], lambda: ch.latest().seq >= seq + 3, 10, "masks after setting the same interpreter")
    assert (t.status().pid, t.status().restarts, t.status().state) == (pid, 0, "running")
    other = os.path.join(os.path.dirname(VENV_PY), os.pardir, os.path.basename(os.path.dirname(VENV_PY)),
                         os.path.basename(VENV_PY))
    t.client.set_python(other)
    seq = ch.latest().seq
    pump(t, [ch], [big], lambda: t.status().pid not in (None, pid) and ch.latest().seq > seq, 20,
         "masks from the worker started with the new interpreter path")
    assert t.status().restarts == 1


@posix_only
def test_killed_worker_is_restarted_and_masks_resume(make_client, frame):
    t = make_client(backoff=(0.2, 2.0))
    ch = t.client.open_source("cam")
    ch.set_settings(BLUR)
    pump(t, [ch], [frame], lambda: bool(ch.latest()), 30, "first mask")
    old = t.status().pid
    seq = ch.latest().seq
    os.kill(old, signal.SIGKILL)
    st = t.wait(lambda s: s.pid != old and s.state in ("restarting", "starting", "running"), 5, "the restart")
    pump(t, [ch], [frame], lambda: ch.latest().seq > seq and t.status().state == "running", 30,
         "masks from the restarted worker")
    st = t.status()
    assert st.pid != old and st.restarts == 1
    assert "SIGKILL" in st.last_error
    assert any("SIGKILL" in text and "restarting" in text for _, text in t.logs)
    assert not pid_alive(old)
    assert_person_mask(mask_of(ch.latest()))
    assert ch.latest().seq > seq  # numbering continues across the restart


@posix_only
def test_masks_resume_at_once_when_a_restarted_worker_gets_a_fresh_channel(make_client, frame):
    # The analysis size grows while the worker is down: the new worker only ever sees the new
    # (empty) channel file, yet its results must be numbered after those OBS already has, or
    # latest() would ignore them until the count caught up (seconds to minutes of stale mask).
    t = make_client(backoff=(1.0, 2.0))
    ch = t.client.open_source("cam")
    ch.set_settings({"segmentation": {"analysis_width": 512}, "background": {"mode": "blur"}})
    pump(t, [ch], [frame], lambda: bool(ch.latest()) and ch.latest().seq >= 5, 30, "first masks")
    seq = ch.latest().seq
    old = t.status().pid
    os.kill(old, signal.SIGKILL)
    t.wait(lambda s: s.state == "restarting", 5, "the crash to be noticed")
    big = np.ascontiguousarray(cv2.resize(frame, (512, 288), interpolation=cv2.INTER_LINEAR))
    seen = []

    def resumed() -> bool:
        seen.append(ch.stats()["result_seq"])
        return ch.latest().seq > seq and ch.latest().width == 512

    pump(t, [ch], [big], resumed, 30, "masks from the restarted worker in the new channel")
    assert min(seen) >= seq, f"result numbers went back from {seq} to {min(seen)}"
    assert t.status().pid != old


def test_result_numbering_continues_across_channel_files(tmp_path, frame):
    proc = subprocess.Popen([VENV_PY, "-m", "facefx.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=ROOT, env=wc.worker_env(ROOT))
    chans = [ipc.ChannelFile.create(str(tmp_path / f"c{i}.shm"), W * H * 4) for i in range(3)]

    def send(*msgs):
        proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
        proc.stdin.flush()

    def result(chan, frame_seq):
        chan.frames.write(frame, width=W, height=H, stride=W * 4, frame_seq=frame_seq)
        end = time.monotonic() + 20
        while (chan.results.peek() is None or chan.results.peek().frame_seq != frame_seq) and time.monotonic() < end:
            time.sleep(0.02)
        return chan.results.peek()

    try:
        # A fresh file: numbering starts after the newest result the client says it has. (The
        # file attached first is gone, as when OBS replaced it: an error until a result comes.)
        send({"op": "open", "source": "s"}, {"op": "settings", "source": "s", "settings": BLUR},
             {"op": "attach", "source": "s", "path": str(tmp_path / "gone.shm")},
             {"op": "attach", "source": "s", "path": chans[0].path, "seq": 40})
        assert result(chans[0], 1).seq == 41
        beat = {}
        for line in proc.stdout:
            msg = json.loads(line) if line.startswith(b"{") else {}
            if msg.get("event") == "error":
                assert "gone.shm" in msg["message"]
            beat = (msg.get("sources") or {}).get("s", {}) if msg.get("event") == "heartbeat" else beat
            if beat.get("frames"):
                break
        assert beat["error"] == "", beat
        # Two switches before the next result (an analysis size dragged bigger twice), the
        # client lagging behind: numbering still continues from this worker's newest.
        send({"op": "attach", "source": "s", "path": chans[1].path, "seq": 0},
             {"op": "attach", "source": "s", "path": chans[2].path})
        assert result(chans[2], 2).seq == 42
        proc.stdin.close()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        for c in chans:
            c.close()


@posix_only
def test_hung_worker_is_detected_killed_and_restarted(make_client, frame):
    t = make_client(hang_timeout=1.5, backoff=(0.2, 2.0))
    ch = t.client.open_source("cam")
    ch.set_settings(BLUR)
    pump(t, [ch], [frame], lambda: bool(ch.latest()), 30, "first mask")
    old = t.status().pid
    os.kill(old, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        seq = ch.latest().seq
        # Meanwhile OBS keeps submitting and reading; nothing blocks, the old mask stays.
        pump(t, [ch], [frame], lambda: t.status().pid not in (None, old), 10, "the hang to be detected")
        detected = time.monotonic() - t0
        assert 1.4 < detected < 6.0, f"hang detected after {detected:.1f} s with a 1.5 s timeout"
        assert "stopped responding" in t.status().last_error
        pump(t, [ch], [frame], lambda: ch.latest().seq > seq, 30, "masks after the hang")
        assert not pid_alive(old)
    finally:
        if pid_alive(old):
            os.kill(old, signal.SIGKILL)


def test_missing_interpreter_fails_with_the_setup_command(make_client, tmp_path, frame):
    fix = wc.setup_command(ROOT)
    assert fix == f"python3 {os.path.join(ROOT, 'bootstrap.py')} setup" or os.name == "nt"
    t = make_client(python=str(tmp_path / "nope" / "python"))
    ch = t.client.open_source("cam")
    st = t.wait(lambda s: s.state == "failed", 5, "failed state")
    assert fix in st.message and str(tmp_path / "nope" / "python") in st.message
    assert st.pid is None
    assert not ch.submit(frame.ctypes.data, W, H, W * 4, 1)

    # No virtual environment next to the plugin at all (default interpreter).
    t2 = make_client(python=None, root=str(tmp_path))
    t2.client.start()
    st2 = t2.wait(lambda s: s.state == "failed", 5, "failed state")
    assert f"python3 {tmp_path / 'bootstrap.py'} setup" in st2.message
    assert os.path.join(str(tmp_path), ".venv") in st2.message

    # After close() (the script unloaded), a late open_source() is refused and makes no files.
    t.client.close()
    with pytest.raises(RuntimeError, match="closed"):
        t.client.open_source("late")
    assert t.client._session is None


@posix_only
def test_missing_packages_fail_once_with_the_setup_command(make_client, tmp_path):
    # An interpreter that cannot see the virtual environment's packages (-S: no site-packages).
    bare = tmp_path / "python"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    backoff = (0.1, 1.0)
    t = make_client(python=str(bare), backoff=backoff)
    t.client.open_source("cam")
    st = t.wait(lambda s: s.state == "failed", 20, "failed state")
    failed_at = time.monotonic()
    assert re.search(r"cannot import (cv2|numpy): No module named", st.message), st.message
    assert wc.setup_command(ROOT) in st.message

    # No busy restarting: the next attempt waits the longest backoff, not the first one.
    def attempts() -> int:
        return sum("FaceFX worker starting" in text for _, text in t.logs)
    t.wait(lambda s: attempts() >= 2, 20, "the second start attempt")
    assert time.monotonic() - failed_at >= backoff[1] - 0.05, "retried before the longest backoff"
    st = t.wait(lambda s: s.state == "failed", 20, "the retry to fail the same way")
    assert re.search(r"cannot import (cv2|numpy): No module named", st.message), st.message
    # Pointing the client at a working interpreter recovers without restarting OBS.
    t.client.set_python(VENV_PY)
    t.wait(lambda s: s.state == "running", 20, "recovery with the right interpreter")


def test_worker_protocol_errors_and_exit_on_stdin_eof(tmp_path, frame):
    env = dict(wc.worker_env(ROOT), FACEFX_WORKER_EXIT_GRACE_S="30")
    proc = subprocess.Popen([VENV_PY, "-m", "facefx.worker", "--parent-pid", str(os.getpid())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)
    try:
        ready = None
        for line in proc.stdout:
            if line.startswith(b"{"):
                msg = json.loads(line)
                if msg["event"] == "ready":
                    ready = msg
                    break
        assert ready and ready["pid"] == proc.pid
        # A control line for an unknown source is an error line, not a crash.
        proc.stdin.write(b'{"op":"settings","source":"x","settings":{}}\nnot json\n')
        proc.stdin.flush()
        errors = []
        for line in proc.stdout:
            msg = json.loads(line) if line.startswith(b"{") else {}
            if msg.get("event") == "error":
                errors.append(msg["message"])
                if len(errors) == 2:
                    break
        assert any("not opened" in e for e in errors) and any("malformed" in e for e in errors), errors

        # A frame whose header does not match its bytes is that source's error; the next good
        # frame clears it (heartbeats carry the current error).
        chan = ipc.ChannelFile.create(str(tmp_path / "c.shm"), W * H * 4)
        for msg in ({"op": "open", "source": "s"}, {"op": "attach", "source": "s", "path": chan.path},
                    {"op": "settings", "source": "s", "settings": BLUR}):
            proc.stdin.write(json.dumps(msg).encode() + b"\n")
        proc.stdin.flush()
        failed_at = time.monotonic()  # before the worker's clock starts the back-off
        chan.frames.write(b"\0" * 100, width=W, height=H, stride=W, frame_seq=1)

        def next_event(name):
            for line in proc.stdout:
                msg = json.loads(line) if line.startswith(b"{") else {}
                if msg.get("event") == name:
                    return msg
            raise AssertionError(f"worker ended before a {name!r} event")

        assert "does not match its 100 bytes" in next_event("error")["message"]
        assert next_event("heartbeat")["sources"]["s"]["error"]
        # Good frames keep coming (as from OBS); those inside the source's error back-off
        # (worker.ERROR_RETRY_S) are skipped, the first one after it is analysed.
        seq = 1
        end = time.monotonic() + 20 + ERROR_RETRY_S
        while chan.results.published() == 0 and time.monotonic() < end:
            seq += 1
            chan.frames.write(frame, width=W, height=H, stride=W * 4, frame_seq=seq)
            time.sleep(0.05)
        assert chan.results.published() > 0, "no result after the error back-off"
        analysed = chan.results.peek().frame_seq
        skipped_for = time.monotonic() - failed_at
        assert analysed > 2, "a frame inside the error back-off was analysed"
        assert skipped_for >= ERROR_RETRY_S, f"analysis resumed after {skipped_for:.2f} s"
        beat = next_event("heartbeat")["sources"]["s"]
        while beat["frames"] == 0:  # skip the beats sent before the analysis
            beat = next_event("heartbeat")["sources"]["s"]
        assert beat["error"] == ""
        chan.close()
        proc.stdin.close()
        # 0 = the main loop saw EOF and shut down cleanly (measured 0.12-0.15 s); the grace
        # cut-off for a loop stuck in native code exits with EXIT_STUCK instead, and a worker
        # that never notices EOF times out here.
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_worker_env_takes_native_log_levels_from_nativelogs(monkeypatch):
    """One list of native log variables (facefx.nativelogs) for the CLI and the worker; a
    user's own choice (debugging MediaPipe with GLOG_minloglevel=0) reaches the worker."""
    for key in NATIVE_LOG_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GLOG_minloglevel", "0")
    monkeypatch.setenv("PYTHONHOME", "/obs/embedded")
    env = wc.worker_env(ROOT)
    assert {k: env[k] for k in NATIVE_LOG_ENV} == {**NATIVE_LOG_ENV, "GLOG_minloglevel": "0"}
    assert "PYTHONHOME" not in env and env["PYTHONPATH"] == ROOT


# -- the protocol, with fake workers that misbehave in one exact way --------------------------

def fake_worker(tmp_path, program: str):
    """An 'interpreter' whose `-m facefx.worker ...` runs `program` instead (real Python)."""
    script = tmp_path / "fake_worker.py"
    script.write_text("import json, sys, time\n"
                      "def say(**m):\n    sys.stdout.write(json.dumps(m) + '\\n'); sys.stdout.flush()\n"
                      + program)
    exe = tmp_path / "python"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n")
    exe.chmod(0o755)
    return str(exe)


@posix_only
def test_worker_speaking_another_protocol_version_is_refused(make_client, tmp_path):
    exe = fake_worker(tmp_path, "say(event='ready', pid=0, protocol=99)\n"
                                "while True:\n    say(event='heartbeat', sources={}); time.sleep(0.1)\n")
    t = make_client(python=exe)
    t.client.start()
    st = t.wait(lambda s: s.state == "failed", 10, "the worker to be refused")
    assert "protocol version 99" in st.message and "this plugin version 1" in st.message, st.message
    assert wc.setup_command(ROOT) in st.message


@posix_only
def test_only_heartbeats_keep_a_worker_alive(make_client, tmp_path):
    # Ready, then only chatter on both pipes: a worker stuck in a loop that logs is still stuck.
    exe = fake_worker(tmp_path, "say(event='ready', pid=0, protocol=1)\n"
                                "while True:\n"
                                "    print('native chatter', flush=True)\n"
                                "    sys.stderr.write('more chatter\\n'); sys.stderr.flush()\n"
                                "    time.sleep(0.05)\n")
    t = make_client(python=exe, hang_timeout=1.0, backoff=(5.0, 10.0))
    t.client.start()
    t.wait(lambda s: s.state == "running", 10, "the fake worker to be ready")
    st = t.wait(lambda s: s.state == "restarting", 10, "the silent worker to be killed")
    assert "no heartbeat" in st.last_error, st.last_error
    assert any("native chatter" in text for _, text in t.logs)
    assert any("more chatter" in text for _, text in t.logs)


@posix_only
def test_native_stderr_never_corrupts_a_protocol_line(make_client, tmp_path):
    # Native libraries write to stderr in pieces, without newlines; on a shared pipe such a
    # fragment glues itself to the next protocol line and the client never sees "ready".
    exe = fake_worker(tmp_path, "sys.stderr.write('W0000 partial native log'); sys.stderr.flush()\n"
                                "say(event='ready', pid=0, protocol=1)\n"
                                "while True:\n    say(event='heartbeat', sources={}); time.sleep(0.1)\n")
    t = make_client(python=exe)
    t.client.start()
    st = t.wait(lambda s: s.state == "running", 10, "ready through stdout despite stderr")
    assert st.last_error == ""


@posix_only
def test_close_is_bounded_when_the_worker_ignores_eof_and_sigterm(make_client, tmp_path):
    # A worker stuck in native code: it neither reads stdin nor dies on SIGTERM. OBS's UI
    # thread waits for close() (script_unload), so close() must kill it promptly.
    exe = fake_worker(tmp_path, "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                "say(event='ready', pid=0, protocol=1)\n"
                                "while True:\n    say(event='heartbeat', sources={}); time.sleep(0.1)\n")
    t = make_client(python=exe)
    t.client.start()
    st = t.wait(lambda s: s.state == "running", 10, "the stubborn worker to be ready")
    t0 = time.monotonic()
    t.client.close()
    took = time.monotonic() - t0
    assert not pid_alive(st.pid)
    assert took <= wc.CLOSE_TIMEOUT_S + 0.5, f"close() took {took:.1f} s"


# -- results from a worker that writes nonsense -------------------------------------------------

@pytest.mark.parametrize("w,h,stride,n,why", [
    (65535, 65535, 65535, 100, "does not match its 100 bytes"),
    (16, 16, 8, 256, "row stride 8"),
    (0, 16, 16, 256, "0x16"),
    (20000, 1, 20000, 20000, "larger than 16384"),
])
def test_result_header_that_does_not_match_its_data_is_refused(tmp_path, w, h, stride, n, why):
    from facefx.obs.channel import read_result
    chan = ipc.ChannelFile.create(str(tmp_path / "c.shm"), 4 * 20000)
    try:
        seq = chan.results.write(b"\x80" * n, width=w, height=h, stride=stride, frame_seq=1)
        got_seq, res, problem = read_result(chan.results, 0)
        assert (got_seq, res) == (seq, None)
        assert why in problem and f"result {seq} refused" in problem, problem
    finally:
        chan.close()


def test_padded_result_rows_are_packed(tmp_path):
    from facefx.obs.channel import read_result
    chan = ipc.ChannelFile.create(str(tmp_path / "c.shm"), 4096)
    try:
        rows = b"".join(bytes([y]) * 3 + b"\xff" for y in range(4))  # 3 pixels + 1 padding byte
        chan.results.write(rows, width=3, height=4, stride=4, frame_seq=7, aux=ipc.pack_aux(b'{"total": 2.5, "x": "no"}', b""))
        _, res, problem = read_result(chan.results, 0)
        assert problem == ""
        assert (res.width, res.height, res.frame_seq) == (3, 4, 7)
        assert res.data == b"\x00\x00\x00\x01\x01\x01\x02\x02\x02\x03\x03\x03"
        assert res.stage_ms == {"total": 2.5}
    finally:
        chan.close()


def _wait_for_file(ch, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while ch._file is None and time.monotonic() < end:
        time.sleep(0.01)
    assert ch._file is not None, f"no channel file after {timeout} s: {ch.stats()}"
    return ch._file


def test_bad_result_keeps_the_last_good_mask_and_says_why(make_client, tmp_path, frame):
    # No worker (missing interpreter): this test plays the worker on the shared memory.
    t = make_client(python=str(tmp_path / "nope" / "python"))
    ch = t.client.open_source("cam")
    assert not ch.submit(frame.ctypes.data, W, H, W * 4, 1)
    worker_side = ipc.ChannelFile.attach(_wait_for_file(ch).path)
    try:
        worker_side.results.write(b"\x10" * (W * H), width=W, height=H, stride=W, frame_seq=1)
        good = ch.latest()
        assert (good.width, good.height, good.data[:4]) == (W, H, b"\x10" * 4)
        worker_side.results.write(b"\x20" * 100, width=65535, height=65535, stride=65535, frame_seq=2)
        assert ch.latest() is good
        assert "refused" in ch.stats()["error"] and "65535x65535" in ch.stats()["error"]
        worker_side.results.write(b"\x30" * (W * H), width=W, height=H, stride=W, frame_seq=3)
        assert ch.latest().data[:4] == b"\x30" * 4 and ch.latest().frame_seq == 3
        assert "refused" not in ch.stats()["error"]
    finally:
        worker_side.close()


def test_channel_files_are_made_off_the_submitting_thread(make_client, tmp_path, frame, monkeypatch):
    # submit() runs on OBS's graphics thread: making and sizing a file must happen elsewhere.
    threads = []
    real = ipc.ChannelFile.create_private

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(ipc.ChannelFile, "create_private", spy)
    t = make_client(python=str(tmp_path / "nope" / "python"))
    ch = t.client.open_source("cam")
    assert not ch.submit(frame.ctypes.data, W, H, W * 4, 1)
    f = _wait_for_file(ch)
    assert threads == ["facefx-worker-supervisor"]
    assert f.frame_capacity >= W * H * 4
    ch.submit(frame.ctypes.data, W, H, W * 4, 2)
    assert ch._file.frames.peek().frame_seq == 2
    big = np.zeros((H * 2, W * 2, 4), np.uint8)
    ch.submit(big.ctypes.data, W * 2, H * 2, W * 8, 3)   # a bigger analysis size
    end = time.monotonic() + 5
    while ch._file.frame_capacity < big.nbytes and time.monotonic() < end:
        time.sleep(0.01)
    assert ch._file.frame_capacity >= big.nbytes
    assert threads == ["facefx-worker-supervisor"] * 2


# The OBS side under the system Python that OBS embeds: no numpy, no venv, no site-packages.
OBS_SIDE = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import facefx.ipc, facefx.obs.client as wc
heavy = sorted(m for m in ("numpy", "cv2", "mediapipe") if m in sys.modules)
print(json.dumps({"heavy": heavy, "site": "site" in sys.modules}), flush=True)
c = wc.WorkerClient(sys.argv[2], root=sys.argv[1])
ch = c.open_source("cam")
ch.set_settings({"background": {"mode": "blur"}})
with open(sys.argv[3], "rb") as fh:
    rgba = fh.read()
end = time.monotonic() + 30
n = 0
while time.monotonic() < end and not (ch.latest() and ch.latest().seq >= 3):
    n += 1
    ch.submit_bytes(rgba, 256, 144, n)
    time.sleep(0.02)
r = ch.latest()
heavy = sorted(m for m in ("numpy", "cv2", "mediapipe") if m in sys.modules)
centre = sum(r.data[y * 256 + x] for y in range(60, 90) for x in range(108, 148)) / 1200 if r else -1
print(json.dumps({"heavy": heavy, "pid": c.status().pid, "centre": centre,
                  "session": c._session}), flush=True)
time.sleep(60)  # until the test kills us like a crashing OBS
"""


@pytest.mark.skipif(not os.path.isfile(SYSTEM_PY), reason="needs the system Python OBS embeds")
def test_obs_side_runs_on_plain_system_python_and_worker_dies_with_it(tmp_path, frame):
    raw = tmp_path / "frame.rgba"
    raw.write_bytes(frame.tobytes())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    obs = subprocess.Popen([SYSTEM_PY, "-S", "-E", "-c", OBS_SIDE, ROOT, VENV_PY, str(raw)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    worker_pid = None
    try:
        first = json.loads(obs.stdout.readline() or "null")
        assert first == {"heavy": [], "site": False}, obs.stderr.read() if first is None else first
        second = json.loads(obs.stdout.readline() or "null")
        assert second is not None, obs.stderr.read()
        assert second["heavy"] == [], "the client imported a compiled package"
        assert second["centre"] > 200, f"no person mask through the stdlib client: {second}"
        worker_pid = second["pid"]
        assert pid_alive(worker_pid)
        obs.send_signal(signal.SIGKILL)  # OBS crashes: no close(), no cleanup
        obs.wait(timeout=5)
        end = time.monotonic() + 3
        while pid_alive(worker_pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not pid_alive(worker_pid), "the worker outlived its OBS"
        # The crashed session's files are swept by the next session.
        assert os.path.isdir(second["session"])
        ipc.sweep_stale_sessions(os.path.dirname(second["session"]))
        assert not os.path.exists(second["session"])
    finally:
        if obs.poll() is None:
            obs.kill()
            obs.wait()
        if worker_pid and pid_alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
        obs.stdout.close()
        obs.stderr.close()


def test_the_worker_gives_each_engine_a_30fps_budget(tmp_path, monkeypatch):
    """The engine's budget is what lets the hands stage run every 2nd frame while the stages'
    cost is over a 30 fps frame interval (Engine.tight): the worker must set one."""
    import io

    from facefx import worker as W
    from facefx.settings import GestureSettings, Settings

    monkeypatch.setenv("FACEFX_DATA_DIR", str(tmp_path))
    made = []

    class Recorder:
        def __init__(self, settings, **kw):
            made.append(kw)

        @property
        def stages(self):
            return []

    w = W.Worker(W._Out(io.StringIO()))
    w._Engine = Recorder
    src = W._Source("cam", Settings(gestures=GestureSettings(enabled=True)))
    w._make_engine(src)
    assert made == [{"threads": W.WORKER_INFERENCE_THREADS, "budget_ms": W.WORKER_BUDGET_MS}]
    assert 1000.0 / 30 * 0.7 < W.WORKER_BUDGET_MS < 1000.0 / 30
