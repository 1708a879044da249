"""Shared-memory channel (facefx.ipc): seqlock, double buffering, latest-wins, file handling."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from facefx import ipc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def channel(tmp_path):
    writer = ipc.ChannelFile.create(str(tmp_path / "chan.shm"), 4096)
    reader = ipc.ChannelFile.attach(writer.path)
    yield writer, reader
    reader.close()
    writer.close()


def test_empty_slot_reads_none(channel):
    _, reader = channel
    assert reader.frames.read() is None
    assert reader.results.peek() is None
    assert reader.frames.published() == 0


def test_roundtrip_keeps_every_field(channel):
    writer, reader = channel
    seq = writer.results.write(b"\x01\x02\x03\x04" * 6, width=4, height=6, stride=4, frame_seq=77,
                               aux=b'{"total":1.5}', flags=ipc.FLAG_BGRA, timestamp=12.5)
    msg = reader.results.read()
    assert msg == ipc.Message(seq, 77, 4, 6, 4, b"\x01\x02\x03\x04" * 6, b'{"total":1.5}', ipc.FLAG_BGRA, 12.5)
    assert seq == 1


def test_latest_wins(channel):
    writer, reader = channel
    for i in range(1, 6):
        writer.frames.write(bytes([i]) * 100, width=5, height=5, stride=20, frame_seq=100 + i)
    msg = reader.frames.read()
    assert (msg.seq, msg.frame_seq, msg.data) == (5, 105, bytes([5]) * 100)
    assert reader.frames.read(newer_than=5) is None
    writer.frames.write(b"\x09" * 100, width=5, height=5, stride=20, frame_seq=200)
    assert reader.frames.read(newer_than=5).frame_seq == 200
    peek = reader.frames.peek()
    assert (peek.seq, peek.frame_seq, peek.data) == (6, 200, b"")


def test_message_larger_than_slot_is_refused(channel):
    writer, reader = channel
    with pytest.raises(ValueError, match="does not fit"):
        writer.frames.write(b"\0" * 4097, width=1, height=1, stride=1, frame_seq=1)
    assert reader.frames.read() is None


def test_result_capacity_follows_frame_pixels(channel):
    writer, _ = channel
    assert writer.results.capacity == 1024  # one mask byte per RGBA pixel
    assert os.path.getsize(writer.path) == ipc.ChannelFile.file_size(4096, 1024)


def _stall_write_after_lock(slot: ipc.Slot, fill: int) -> None:
    """Begin the next write the way a writer frozen mid-copy leaves it: lock odd, half the
    payload new, nothing published."""
    seq = slot._written + 1
    off = slot._buf(seq % ipc.BUFFERS)
    lock = ipc._U64.unpack_from(slot._mm, off)[0]
    ipc._U64.pack_into(slot._mm, off, lock + 1)
    p = off + ipc._BUF_HDR_SIZE + slot.aux_capacity
    slot._mm[p:p + 50] = bytes([fill]) * 50


def test_writer_frozen_mid_write_leaves_previous_message_readable(channel):
    writer, reader = channel
    writer.results.write(b"\x11" * 100, width=10, height=10, stride=10, frame_seq=1)
    _stall_write_after_lock(writer.results, 0xEE)
    msg = reader.results.read()
    assert (msg.seq, msg.data) == (1, b"\x11" * 100)


def test_new_writer_repairs_and_continues_numbering(channel, tmp_path):
    writer, reader = channel
    writer.results.write(b"\x11" * 100, width=10, height=10, stride=10, frame_seq=1)
    _stall_write_after_lock(writer.results, 0xEE)      # the old worker died here
    successor = ipc.ChannelFile.attach(writer.path)     # the restarted worker
    successor.results.repair()
    for i in (2, 3):
        successor.results.write(bytes([i]) * 100, width=10, height=10, stride=10, frame_seq=i)
    msg = reader.results.read(newer_than=1)
    assert (msg.seq, msg.frame_seq, msg.data) == (3, 3, b"\x03" * 100)
    successor.close()


def test_repair_honours_min_seq(channel):
    writer, reader = channel
    writer.results.repair(min_seq=40)
    assert writer.results.write(b"\x01", width=1, height=1, stride=1, frame_seq=0) == 41
    assert reader.results.read(newer_than=40).seq == 41


def test_reader_retries_then_gives_up_when_published_buffer_is_being_rewritten(channel):
    writer, reader = channel
    writer.frames.write(b"\x01" * 100, width=5, height=5, stride=20, frame_seq=1)
    # Published message 1 lives in buffer 1; an odd lock there means the writer lapped the
    # reader and is rewriting it (message 3), so its contents must not be trusted.
    off = writer.frames._buf(1)
    lock = ipc._U64.unpack_from(writer.frames._mm, off)[0]
    ipc._U64.pack_into(writer.frames._mm, off, lock + 1)
    assert reader.frames.read() is None
    assert reader.frames.torn_reads == 4


def test_corrupt_header_never_reads_out_of_bounds(channel):
    writer, reader = channel
    writer.frames.write(b"\x01" * 100, width=5, height=5, stride=20, frame_seq=1)
    off = writer.frames._buf(1)
    hdr = list(ipc._BUF_HDR.unpack_from(writer.frames._mm, off))
    hdr[6] = 10 ** 9  # nbytes far beyond the slot
    ipc._BUF_HDR.pack_into(writer.frames._mm, off, *hdr)
    assert reader.frames.read() is None


def test_attach_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(ipc.ChannelError, match="cannot open channel file"):
        ipc.ChannelFile.attach(str(tmp_path / "absent.shm"))
    junk = tmp_path / "junk.shm"
    junk.write_bytes(b"x" * 4096)
    with pytest.raises(ipc.ChannelError, match="not a FaceFX channel file"):
        ipc.ChannelFile.attach(str(junk))
    tiny = tmp_path / "tiny.shm"
    tiny.write_bytes(b"x")
    with pytest.raises(ipc.ChannelError, match="too small"):
        ipc.ChannelFile.attach(str(tiny))


def test_create_refuses_existing_file_and_close_is_idempotent(tmp_path):
    path = str(tmp_path / "c.shm")
    chan = ipc.ChannelFile.create(path, 64)
    with pytest.raises(FileExistsError):
        ipc.ChannelFile.create(path, 64)
    chan.close()
    chan.close()
    assert chan.closed


def test_sweep_removes_only_dead_sessions(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"facefx-{dead.pid}-abc"
    stale.mkdir()
    (stale / "src0-1.shm").write_bytes(b"x")
    live = tmp_path / f"facefx-{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / "facefx-notapid-x"
    other.mkdir()
    assert ipc.sweep_stale_sessions(str(tmp_path)) == 1
    assert not stale.exists() and live.exists() and other.exists()


def test_session_dir_is_private(tmp_path):
    d = ipc.make_session_dir(str(tmp_path))
    assert os.path.basename(d).startswith(f"facefx-{os.getpid()}-")
    if os.name == "posix":
        assert os.stat(d).st_mode & 0o777 == 0o700


# -- concurrency: a real writer process racing the reader -------------------------------------

PAYLOAD = 256 * 1024
WRITER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from facefx import ipc
chan = ipc.ChannelFile.attach(sys.argv[2])
patterns = [bytes([v]) * %d for v in range(251)]
end = time.monotonic() + float(sys.argv[3])
n = 0
while time.monotonic() < end:
    n += 1
    chan.frames.write(patterns[n %% 251], width=n %% 251, height=1, stride=0, frame_seq=n)
    if float(sys.argv[4]):
        time.sleep(float(sys.argv[4]))
print(n)
chan.close()
""" % PAYLOAD


class SlowSlot(ipc.Slot):
    """A reader that is sometimes descheduled in the middle of its copy (as OBS's thread can
    be): pauses cycle from none to several writer periods."""

    PAUSES = (0.0, 0.001, 0.008)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._calls = 0

    def _copy(self, offset: int, n: int) -> bytes:
        self._calls += 1
        half = n // 2
        first = self._mm[offset:offset + half]
        time.sleep(self.PAUSES[self._calls % len(self.PAUSES)])
        return first + self._mm[offset + half:offset + n]


def _race(tmp_path, seconds: float, pause: float):
    chan = ipc.ChannelFile.create(str(tmp_path / "race.shm"), PAYLOAD)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, ROOT, chan.path, str(seconds), str(pause)],
                            stdout=subprocess.PIPE, text=True)
    return chan, proc


def _consistent(msg: ipc.Message) -> bool:
    v = msg.frame_seq % 251
    return msg.width == v and len(msg.data) == PAYLOAD and msg.data == bytes([v]) * PAYLOAD


def test_seqlock_never_returns_torn_data_from_a_concurrent_writer(tmp_path):
    chan, proc = _race(tmp_path, 1.5, 0.002)
    slow = SlowSlot(chan._mm, chan.frames._offset, chan.frames.capacity, 0)
    good = raw_torn = 0
    last = 0
    try:
        while proc.poll() is None:
            # Checked read: the seqlock must reject every copy the writer overlapped.
            msg = slow.read(newer_than=last)
            if msg is not None:
                assert _consistent(msg), f"torn message {msg.seq} got through the seqlock"
                assert msg.seq > last
                last = msg.seq
                good += 1
            # The same slow copy without the seqlock check: proves the race is real here.
            n = chan.frames.published()
            if n:
                off = chan.frames._buf(n % ipc.BUFFERS) + ipc._BUF_HDR_SIZE
                data = slow._copy(off, PAYLOAD)
                raw_torn += data[:1] * PAYLOAD != data
    finally:
        out, _ = proc.communicate(timeout=10)
        chan.close()
    written = int(out)
    assert written > 100, f"writer only managed {written} messages"
    assert raw_torn > 0, "the writer never overlapped an unchecked read; the race was not exercised"
    assert slow.torn_reads > 0, "the seqlock never detected an overlapping write"
    assert good >= 20, f"only {good} consistent reads of {written} messages"


def test_fast_reader_sees_only_whole_messages_in_increasing_order(tmp_path):
    chan, proc = _race(tmp_path, 1.0, 0.0)
    reader = ipc.ChannelFile.attach(chan.path)
    good, last = 0, 0
    try:
        while proc.poll() is None:
            msg = reader.frames.read(newer_than=last)
            if msg is not None:
                assert _consistent(msg)
                assert msg.seq > last
                last = msg.seq
                good += 1
    finally:
        proc.communicate(timeout=10)
        reader.close()
        chan.close()
    assert good > 50


# -- a channel that another process tries to shrink -------------------------------------------

SHRINK = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from facefx import ipc
chan = ipc.ChannelFile.create_private(sys.argv[2], "victim.shm", 1 << 20)
chan.results.write(b"\x01" * 1000, width=1000, height=1, stride=1000, frame_seq=1)
# Another process (a confused or hostile worker) truncates the channel it was given.
import subprocess
rc = subprocess.run([sys.executable, "-c",
                     "import os, sys\n"
                     "try:\n    os.truncate(sys.argv[1], 0)\n    print('shrunk')\n"
                     "except OSError as e:\n    print('refused', e.errno)\n", chan.path],
                    capture_output=True, text=True).stdout.strip()
print(rc, flush=True)
# The owner keeps writing and reading all of it: with a shrunk file this is SIGBUS.
chan.frames.write(b"\x02" * (1 << 20), width=512, height=512, stride=2048, frame_seq=2)
msg = chan.frames.read()
print("read", len(msg.data), os.path.getsize(chan.path) if not chan.sealed else -1, flush=True)
chan.close()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sealed memfds are Linux's guard")
def test_another_process_cannot_shrink_the_channel_under_its_owner(tmp_path):
    r = subprocess.run([sys.executable, "-c", SHRINK, ROOT, str(tmp_path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"the owner died with {r.returncode}: {r.stdout} {r.stderr}"
    lines = r.stdout.split("\n")
    assert lines[0].startswith("refused 1"), r.stdout   # EPERM: the seal holds
    assert lines[1].startswith(f"read {1 << 20}"), r.stdout


def test_private_channel_is_attachable_and_leaves_nothing_behind(tmp_path):
    owner = ipc.ChannelFile.create_private(str(tmp_path), "c.shm", 4096)
    worker = ipc.ChannelFile.attach(owner.path)
    try:
        worker.results.write(b"\x05" * 64, width=8, height=8, stride=8, frame_seq=3)
        assert owner.results.read().data == b"\x05" * 64
        if sys.platform.startswith("linux"):
            assert owner.sealed and owner.path.startswith(f"/proc/{os.getpid()}/fd/")
            with pytest.raises(PermissionError):
                os.truncate(worker.path, 100)
    finally:
        worker.close()
        owner.discard()
        owner.discard()  # idempotent
    assert os.listdir(tmp_path) == []
    assert owner.closed
