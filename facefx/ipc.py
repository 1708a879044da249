"""Shared-memory frame/result channel between OBS's process and the analysis worker.

Standard library only: OBS's embedded Python imports this module.

Why it looks like this
----------------------
* Pixels travel through ``mmap`` over a sealed memfd (Linux, see ChannelFile.create_private)
  or a plain file in a private session directory, not through
  ``multiprocessing.shared_memory``: that module starts a resource tracker with
  ``sys.executable`` (not a usable interpreter inside OBS) and, before Python 3.13, a process that
  merely attaches a segment may unlink it when it exits. A file we create, map and delete
  ourselves has none of that, and works the same on Linux, macOS and Windows.
* Each source gets one file holding two *slots*: frames (OBS writes, worker reads) and results
  (worker writes, OBS reads). Every slot has exactly one writer and one reader.
* Latest wins: a slot holds the newest message only. A reader that falls behind skips frames
  instead of queueing them (a queue would be latency that grows forever), and a writer never
  waits for a reader, so OBS's render thread never waits on the worker.
* Torn reads are prevented with a seqlock per buffer, and each slot is double-buffered: the
  writer always fills the buffer the reader is *not* being pointed at, then publishes it.
  The reader copies the published buffer and checks that its lock counter was even and did not
  change during the copy; otherwise it retries (a few times at most, it never spins). Double
  buffering matters when the writer is stopped or killed in the middle of a write (a hung
  worker): the other buffer still holds the previous complete message, so the reader keeps
  getting the last good result instead of nothing.
* A new writer (a restarted worker) ``repair()``s the slot: it makes half-written buffers'
  lock counters even again and continues the message numbering, so result numbers keep rising
  across restarts and the reader's "is this new?" test stays a single integer comparison.
* Every header a reader sees is range-checked against the slot's capacity before it is used,
  so even a corrupt or torn header can produce at worst one garbled image, never an exception
  or an out-of-bounds access. (The ordering argument behind the seqlock holds on x86's
  total-store-order; on weakly ordered CPUs a rare garbled image is possible in theory, which
  is harmless for a mask that is replaced 30 times a second.)

File layout (little endian, every block 64-byte aligned)::

    file header   magic "FFXC", version, frame capacity, result capacity, aux capacity
    frame slot    slot header (published count) + 2 x [buffer header + aux + payload]
    result slot   same shape, payload capacity = frame pixels (one byte per pixel)

    buffer header lock, seq, frame_seq, width, height, stride, nbytes, auxlen, flags, timestamp

Control messages (settings, open/close, heartbeats, errors) are JSON lines over the worker's
stdin/stdout; see facefx.worker. Only pixels go through shared memory.
"""
from __future__ import annotations

import errno
import mmap
import os
import struct
import sys
import tempfile
from typing import NamedTuple, Optional, Tuple

from .results import MAX_ENCODED_SIZE

MAGIC = b"FFXC"
VERSION = 2  # 2: the aux area holds pack_aux() (stage timings + a facefx.results record)
ALIGN = 64
BUFFERS = 2
STAGE_MS_CAPACITY = 1024  # JSON of per-stage milliseconds, inside the aux area
_AUX_HDR = struct.Struct("<II")  # stage-ms JSON length, results record length
# Per buffer: the aux area carries the stage timings and one facefx.results record, sized from
# MAX_ENCODED_SIZE so the largest record always fits and nothing is ever dropped.
AUX_CAPACITY = _AUX_HDR.size + STAGE_MS_CAPACITY + MAX_ENCODED_SIZE
FLAG_BGRA = 1       # frame flag: pixels are B, G, R, A (OBS surfaces come in either order)
FLAG_NO_MASK = 2    # result flag: structured results only (no effect asked for a mask); data empty

_FILE_HDR = struct.Struct("<4sIQQI")  # magic, version, frame_cap, result_cap, aux_cap
_U64 = struct.Struct("<Q")
# lock, seq, frame_seq, width, height, stride, nbytes, auxlen, flags, timestamp
_BUF_HDR = struct.Struct("<QQQIIIIIId")
_BUF_HDR_SIZE = ALIGN
_READ_ATTEMPTS = 4


class ChannelError(RuntimeError):
    """A channel file is missing, too small or not a FaceFX channel."""


def image_problem(msg: "Message", bytes_per_pixel: int) -> str:
    """Why msg's header does not describe an image inside its own data ("" if it does).

    Every reader of a slot calls this before the pixels are used (the worker for frames, OBS
    for results): the header is written by another process, and width x height x stride come
    straight from it, so they must agree with the bytes actually copied before anything
    allocates a buffer or a texture of that size."""
    w, h, stride, n = msg.width, msg.height, msg.stride, len(msg.data)
    if w < 1 or h < 1 or stride < w * bytes_per_pixel or stride * (h - 1) + w * bytes_per_pixel > n:
        return (f"{w}x{h} with row stride {stride} does not match its {n} bytes "
                f"({bytes_per_pixel} byte(s) per pixel)")
    return ""


def pack_aux(stage_ms_json: bytes, results_record: bytes) -> bytes:
    """The aux area of a result: stage timings (JSON) and a facefx.results record, each with
    its length, so a reader can take them apart without trusting either."""
    if len(stage_ms_json) > STAGE_MS_CAPACITY:
        stage_ms_json = b"{}"  # timings are diagnostics; the results record is what matters
    if len(results_record) > MAX_ENCODED_SIZE:
        raise ValueError(f"results record of {len(results_record)} bytes is over MAX_ENCODED_SIZE "
                         f"({MAX_ENCODED_SIZE})")
    return _AUX_HDR.pack(len(stage_ms_json), len(results_record)) + stage_ms_json + results_record


def unpack_aux(aux: bytes) -> Tuple[bytes, bytes]:
    """(stage-ms JSON, results record) from a pack_aux() area; ValueError naming the bad
    length when the area written by another process does not hold what its header says."""
    if not aux:
        return b"", b""
    if len(aux) < _AUX_HDR.size:
        raise ValueError(f"aux area of {len(aux)} bytes is shorter than its {_AUX_HDR.size}-byte header")
    n_ms, n_res = _AUX_HDR.unpack_from(aux, 0)
    if n_ms > STAGE_MS_CAPACITY or n_res > MAX_ENCODED_SIZE or _AUX_HDR.size + n_ms + n_res != len(aux):
        raise ValueError(f"aux area of {len(aux)} bytes claims {n_ms} bytes of timings (at most "
                         f"{STAGE_MS_CAPACITY}) and a {n_res}-byte results record (at most {MAX_ENCODED_SIZE})")
    a = _AUX_HDR.size
    return aux[a:a + n_ms], aux[a + n_ms:a + n_ms + n_res]


class Message(NamedTuple):
    seq: int          # 1, 2, 3 ... per slot, across writer restarts
    frame_seq: int    # caller's frame number (OBS's submit counter)
    width: int
    height: int
    stride: int       # bytes between rows in data
    data: bytes
    aux: bytes
    flags: int
    timestamp: float


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def session_root() -> str:
    """Where session directories live: RAM-backed /dev/shm on Linux, the temp folder elsewhere.

    (macOS has no /dev/shm; Windows maps files in %TEMP% just as well. The files are small and
    rewritten in place, so a disk-backed temp folder costs little.)
    """
    if sys.platform.startswith("linux") and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def make_session_dir(root: Optional[str] = None) -> str:
    """A private (0700) directory for one OBS session's channel files; the pid in its name lets
    a later session remove directories left behind by a crashed one (sweep_stale_sessions)."""
    return tempfile.mkdtemp(prefix=f"facefx-{os.getpid()}-", dir=root or session_root())


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # no cheap, safe check without ctypes; Windows sessions are left alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_sessions(root: Optional[str] = None) -> int:
    """Remove session directories whose creating process no longer exists. Returns the count."""
    import shutil

    root = root or session_root()
    removed = 0
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        parts = name.split("-")
        if len(parts) < 3 or parts[0] != "facefx" or not parts[1].isdigit():
            continue
        path = os.path.join(root, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not os.path.isdir(path) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            continue
        if int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


class Slot:
    """One latest-wins, double-buffered, seqlocked message slot inside a mapped file.

    A Slot object is used either as the single writer or as the single reader of its slot.
    """

    def __init__(self, mm: mmap.mmap, offset: int, capacity: int, aux_capacity: int) -> None:
        self._mm = mm
        self._offset = offset
        self.capacity = capacity
        self.aux_capacity = aux_capacity
        self._buf_size = _align(_BUF_HDR_SIZE + aux_capacity + capacity)
        self._written = self.published()  # writer: messages written so far
        self.torn_reads = 0               # reader: retries caused by a concurrent write

    @staticmethod
    def size(capacity: int, aux_capacity: int) -> int:
        return ALIGN + BUFFERS * _align(_BUF_HDR_SIZE + aux_capacity + capacity)

    def _buf(self, index: int) -> int:
        return self._offset + ALIGN + index * self._buf_size

    def published(self) -> int:
        """Number of the newest complete message (0 = none yet)."""
        return _U64.unpack_from(self._mm, self._offset)[0]

    # -- writer ---------------------------------------------------------------------------
    def repair(self, min_seq: int = 0) -> int:
        """Take over as writer after a previous writer died, possibly mid-write; numbering
        continues from the slot's newest message (or min_seq, if that is higher), which is
        returned: the next write() is that number plus one."""
        for i in range(BUFFERS):
            off = self._buf(i)
            lock = _U64.unpack_from(self._mm, off)[0]
            if lock & 1:
                _U64.pack_into(self._mm, off, lock + 1)
        self._written = max(self.published(), min_seq)
        return self._written

    def write(self, data, *, width: int, height: int, stride: int, frame_seq: int,
              aux: bytes = b"", flags: int = 0, timestamp: float = 0.0) -> int:
        """Publish one message; data is any bytes-like object (or ctypes array) of nbytes.

        Returns the message's seq. Raises ValueError if it does not fit the slot.
        """
        view = memoryview(data).cast("B")
        nbytes = view.nbytes
        if nbytes > self.capacity:
            raise ValueError(f"message of {nbytes} bytes does not fit the {self.capacity}-byte slot")
        if len(aux) > self.aux_capacity:
            raise ValueError(f"aux data of {len(aux)} bytes does not fit the {self.aux_capacity}-byte area")
        seq = self._written + 1
        off = self._buf(seq % BUFFERS)
        lock = _U64.unpack_from(self._mm, off)[0]
        lock += 2 if lock & 1 else 1  # odd: being written (a stale odd lock is repaired here too)
        _U64.pack_into(self._mm, off, lock)
        _BUF_HDR.pack_into(self._mm, off, lock, seq, frame_seq, width, height, stride, nbytes,
                           len(aux), flags, timestamp)
        a = off + _BUF_HDR_SIZE
        self._mm[a:a + len(aux)] = aux
        p = a + self.aux_capacity
        self._mm[p:p + nbytes] = view
        _U64.pack_into(self._mm, off, lock + 1)    # even again: complete
        _U64.pack_into(self._mm, self._offset, seq)  # publish
        self._written = seq
        return seq

    # -- reader ---------------------------------------------------------------------------
    def peek(self) -> Optional[Message]:
        """Header fields of the newest message, without copying its payload (data/aux empty)."""
        return self._read(0, payload=False)

    def read(self, newer_than: int = 0) -> Optional[Message]:
        """The newest complete message if its seq > newer_than, else None. Never blocks."""
        return self._read(newer_than, payload=True)

    def _copy(self, offset: int, n: int) -> bytes:
        return self._mm[offset:offset + n]

    def _read(self, newer_than: int, payload: bool) -> Optional[Message]:
        mm = self._mm
        for _ in range(_READ_ATTEMPTS):
            n = _U64.unpack_from(mm, self._offset)[0]
            if n == 0 or n <= newer_than:
                return None
            off = self._buf(n % BUFFERS)
            lock1 = _U64.unpack_from(mm, off)[0]
            if lock1 & 1:  # the writer lapped us and is rewriting this buffer: look again
                self.torn_reads += 1
                continue
            _, seq, frame_seq, w, h, stride, nbytes, auxlen, flags, ts = _BUF_HDR.unpack_from(mm, off)
            if nbytes > self.capacity or auxlen > self.aux_capacity or seq < n or (seq - n) % BUFFERS:
                self.torn_reads += 1
                continue
            data = aux = b""
            if payload:
                a = off + _BUF_HDR_SIZE
                aux = self._copy(a, auxlen)
                p = a + self.aux_capacity
                data = self._copy(p, nbytes)
            if _U64.unpack_from(mm, off)[0] != lock1:
                self.torn_reads += 1
                continue
            if seq <= newer_than:
                return None
            return Message(seq, frame_seq, w, h, stride, data, aux, flags, ts)
        return None


class ChannelFile:
    """One source's shared-memory file: a frame slot and a result slot.

    create() makes and sizes the file (the OBS side, which owns and deletes it); attach() maps
    an existing one (the worker). close() unmaps; it is safe to call twice.
    """

    def __init__(self, path: str, mm: mmap.mmap, frame_capacity: int, result_capacity: int,
                 aux_capacity: int, fd: Optional[int] = None) -> None:
        self.path = path
        self._mm: Optional[mmap.mmap] = mm
        self._fd = fd  # a sealed memfd kept open by its owner (create_private on Linux)
        self.frame_capacity = frame_capacity
        self.result_capacity = result_capacity
        frame_off = ALIGN
        result_off = frame_off + Slot.size(frame_capacity, 0)
        self.frames = Slot(mm, frame_off, frame_capacity, 0)
        self.results = Slot(mm, result_off, result_capacity, aux_capacity)

    @staticmethod
    def file_size(frame_capacity: int, result_capacity: int, aux_capacity: int = AUX_CAPACITY) -> int:
        return ALIGN + Slot.size(frame_capacity, 0) + Slot.size(result_capacity, aux_capacity)

    @classmethod
    def create(cls, path: str, frame_capacity: int, result_capacity: Optional[int] = None,
               aux_capacity: int = AUX_CAPACITY) -> "ChannelFile":
        """Create the file at path (must not exist) with room for frames of frame_capacity bytes."""
        if result_capacity is None:
            result_capacity = max(1, frame_capacity // 4)
        size = cls.file_size(frame_capacity, result_capacity, aux_capacity)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            _reserve(fd, size)
            mm = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
        os.close(fd)
        _FILE_HDR.pack_into(mm, 0, MAGIC, VERSION, frame_capacity, result_capacity, aux_capacity)
        return cls(path, mm, frame_capacity, result_capacity, aux_capacity)

    @classmethod
    def create_private(cls, directory: str, name: str, frame_capacity: int) -> "ChannelFile":
        """The owner's channel, made so that no other process can shrink it under the owner.

        A mapped file that another process truncates raises SIGBUS at the owner's next access
        to the lost pages, which inside OBS kills OBS. On Linux the channel is therefore a
        memfd sealed against shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW, then
        F_SEAL_SEAL): the worker opens it through /proc/<pid>/fd/<fd>, and any truncate, by
        anyone, fails with EPERM. Where memfd or sealing is missing it is a file `name` in
        `directory` (a private 0700 session folder); Windows refuses to truncate a mapped
        file anyway.
        """
        result_capacity = max(1, frame_capacity // 4)
        mem = _sealed_memfd(name, cls.file_size(frame_capacity, result_capacity, AUX_CAPACITY))
        if mem is None:
            return cls.create(os.path.join(directory, name), frame_capacity, result_capacity)
        fd, mm = mem
        _FILE_HDR.pack_into(mm, 0, MAGIC, VERSION, frame_capacity, result_capacity, AUX_CAPACITY)
        return cls(f"/proc/{os.getpid()}/fd/{fd}", mm, frame_capacity, result_capacity, AUX_CAPACITY, fd)

    @property
    def sealed(self) -> bool:
        """True for a sealed memfd (nothing on disk to remove)."""
        return self._fd is not None

    def discard(self) -> None:
        """close(), and remove the file if there is one (the owner, when replacing it)."""
        self.close()
        if not self.sealed:
            try:
                os.remove(self.path)
            except OSError:
                pass  # Windows refuses while the worker maps it; the session dir goes at close

    @classmethod
    def attach(cls, path: str) -> "ChannelFile":
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise ChannelError(f"cannot open channel file {path}: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size < ALIGN:
                raise ChannelError(f"channel file {path} is {size} bytes, too small to be a channel")
            mm = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
        finally:
            os.close(fd)
        magic, version, fcap, rcap, acap = _FILE_HDR.unpack_from(mm, 0)
        if magic != MAGIC or version != VERSION or size < cls.file_size(fcap, rcap, acap):
            mm.close()
            raise ChannelError(f"{path} is not a FaceFX channel file of version {VERSION}")
        return cls(path, mm, fcap, rcap, acap)

    def close(self) -> None:
        mm, self._mm = self._mm, None
        if mm is not None:
            mm.close()
            if self._fd is not None:
                os.close(self._fd)

    @property
    def closed(self) -> bool:
        return self._mm is None


def _sealed_memfd(name: str, size: int):
    """(fd, mapping) of a new memfd of `size` bytes that can never shrink or grow, or None
    where the platform cannot make one."""
    memfd_create = getattr(os, "memfd_create", None)
    try:
        import fcntl
        seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
        add_seals = fcntl.F_ADD_SEALS
    except (ImportError, AttributeError):
        return None
    if memfd_create is None:
        return None
    try:
        fd = memfd_create("facefx-" + name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except OSError:
        return None
    try:
        _reserve(fd, size)
        fcntl.fcntl(fd, add_seals, seals)
        mm = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
    except OSError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd, mm


def _reserve(fd: int, size: int) -> None:
    """Give the file its size. On Linux the space is reserved up front: writing into a sparse
    mapped page when /dev/shm or the disk is full raises SIGBUS, which would take OBS down."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # filesystem cannot: go sparse
                raise
    os.ftruncate(fd, size)
