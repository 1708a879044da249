"""One filter's shared-memory channel to the worker, as the OBS side sees it.

Standard library only. SourceChannel.submit() and latest() run on OBS's graphics thread: they
copy bytes to or from shared memory (facefx.ipc) and never wait on the worker. Control lines
go through the owning WorkerClient, which queues them for its writer thread.
"""
from __future__ import annotations

import ctypes
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .. import ipc
from .. import results as results_mod
from . import protocol

if TYPE_CHECKING:
    from .client import WorkerClient


@dataclass
class MaskResult:
    seq: int              # increments per result for this source (also across worker restarts)
    frame_seq: int        # the submit() frame_seq it was computed from
    width: int
    height: int
    data: bytes           # width*height uint8 mask, 255 = person, row-major, no padding
    stage_ms: Dict[str, float] = field(default_factory=dict)
    results: Optional[results_mod.FrameResults] = None  # hands/gestures/faces of that frame
    timestamp: float = 0.0  # worker's time.monotonic() when published (same clock as OBS's)

    @property
    def has_mask(self) -> bool:
        """False for a structured-results-only result (no effect asked for a mask)."""
        return self.width > 0 and self.height > 0


MAX_MASK_SIDE = 16384  # no GPU takes a bigger texture; a header beyond it is corrupt


def read_result(slot: ipc.Slot, newer_than: int) -> Tuple[int, Optional[MaskResult], str]:
    """The one place results are read from shared memory: (seq read or 0, result, problem).

    The header comes from another process, so everything in it is checked against the bytes
    actually copied before the caller may size a texture from it; a result that fails is
    refused with the reason (its seq is still returned, so it is not read again). Results are
    returned packed (stride == width). The typed results beside the mask (facefx.results:
    hands, gestures, faces) are decoded and range-checked here too; a record that fails refuses
    the whole result, so the caller keeps its last good one.
    """
    msg = slot.read(newer_than)
    if msg is None:
        return 0, None, ""
    try:
        ms_json, record = ipc.unpack_aux(msg.aux)
        frame_results = results_mod.decode(record) if record else None
    except ValueError as exc:  # ResultsError is a ValueError
        return msg.seq, None, f"worker result {msg.seq} refused: {exc}"
    if msg.flags & ipc.FLAG_NO_MASK and msg.width == msg.height == 0:
        w = h = 0
        data = b""
    else:
        problem = ipc.image_problem(msg, 1)
        if not problem and max(msg.width, msg.height) > MAX_MASK_SIDE:
            problem = f"{msg.width}x{msg.height} is larger than {MAX_MASK_SIDE} pixels a side"
        if problem:
            return msg.seq, None, f"worker result {msg.seq} refused: mask {problem}"
        w, h, stride = msg.width, msg.height, msg.stride
        data = msg.data[: w * h] if stride == w else b"".join(
            msg.data[y * stride:y * stride + w] for y in range(h))
    try:
        stage_ms = json.loads(ms_json) if ms_json else {}
    except ValueError:
        stage_ms = {}
    if not isinstance(stage_ms, dict):
        stage_ms = {}
    stage_ms = {str(k): float(v) for k, v in stage_ms.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return msg.seq, MaskResult(msg.seq, msg.frame_seq, w, h, data, stage_ms, frame_results, msg.timestamp), ""


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
        self._wanted_capacity = 0  # a bigger channel is wanted; the client's supervisor makes it
        self._result_error = ""  # the newest result was refused (see read_result)

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
        self._client._send(protocol.op(protocol.OP_SETTINGS, self.source_id, settings=settings))

    # -- teaching -----------------------------------------------------------------------------
    def teach(self, name: str, seconds: float) -> None:
        """Ask the worker to record this source's hands for `seconds`, then train `name`; the
        countdown and the outcome come back in worker_stats()["teach"]."""
        self._client._send(self._named_op(protocol.OP_TEACH, name, seconds=float(seconds)))

    def forget(self, name: str) -> None:
        """Ask the worker to delete the taught gesture `name` and retrain without it."""
        self._client._send(self._named_op(protocol.OP_FORGET, name))

    def _named_op(self, op_name: str, name: str, **fields: Any) -> dict:
        msg = protocol.op(op_name, self.source_id, **fields)
        msg["name"] = name          # protocol.op's own first parameter is called name
        return msg

    def worker_stats(self) -> Dict[str, Any]:
        """This source's part of the worker's latest heartbeat (see facefx.obs.protocol:
        fps, stage_ms, teach, taught, labels, ...); {} before the first."""
        ws = self._worker_stats
        return dict(ws) if isinstance(ws, dict) else {}

    def recalibrate_expressions(self) -> None:
        """Ask the worker to learn this source's faces' resting expressions again."""
        self._client._send(protocol.op(protocol.OP_RECALIBRATE, self.source_id))

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
                # Making and sizing a file is disk (or tmpfs) work: never on OBS's graphics
                # thread. This frame is dropped; the supervisor makes the channel at once.
                if nbytes > self._wanted_capacity:
                    self._wanted_capacity = nbytes
                    self._client._wake.set()
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

    def _allocate_wanted(self) -> None:
        """Supervisor thread: make the channel submit() asked for (the first frame, or a bigger
        analysis size) and tell the worker to switch over. The file is made outside the lock;
        only the swap is under it."""
        nbytes = self._wanted_capacity
        if not nbytes or self._closed:
            return
        self._generation += 1
        name = f"src{self._index}-{self._generation}.shm"
        try:
            new = ipc.ChannelFile.create_private(self._client._session_dir(), name, nbytes)
        except (OSError, RuntimeError) as exc:  # RuntimeError: the client is closing
            self._wanted_capacity = 0  # the next bigger frame asks again
            self._local_error = f"cannot create shared memory for frames ({name}): {exc}"
            self._client._note_error(f"{self.source_id}: {self._local_error}")
            return
        with self._lock:
            if self._closed:
                old = new
            else:
                old, self._file = self._file, new
                if self._wanted_capacity <= nbytes:
                    self._wanted_capacity = 0
        if old is not None:
            old.discard()
        if old is not new:
            self._client._send(self._attach_msg(new))

    def _attach_msg(self, f: ipc.ChannelFile) -> dict:
        # seq: the newest result seen here, so a worker writing into a fresh file numbers its
        # results after it and latest() takes them at once.
        return protocol.op(protocol.OP_ATTACH, self.source_id, path=f.path, seq=self._result_seq)

    def latest(self) -> Optional[MaskResult]:
        """The newest finished mask (or the previous one if nothing new). Never blocks."""
        with self._lock:
            f = self._file
            if f is not None and not self._closed:
                seq, res, problem = read_result(f.results, self._result_seq)
                if seq:
                    self._result_seq = seq  # a bad result is skipped, not re-read every frame
                if res is not None:
                    self._result = res
                    self._result_error = ""
                elif problem:
                    self._result_error = problem
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
            "error": self._local_error or self._result_error or self._worker_error,
            "result_seq": newest.seq if newest else self._result_seq,
            "expressions": ws.get("expressions"),
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
            f.discard()

    def _replay(self) -> List[dict]:
        """Messages that bring a fresh worker up to date with this source."""
        msgs: List[dict] = [protocol.op(protocol.OP_OPEN, self.source_id)]
        f = self._file
        if f is not None:
            msgs.append(self._attach_msg(f))
        if self._settings is not None:
            msgs.append(protocol.op(protocol.OP_SETTINGS, self.source_id, settings=self._settings))
        return msgs
