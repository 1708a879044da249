"""Outputs never destroy or lie: no input overwritten, no two inputs sharing an output, no
truncated file in place of a good one, sound cut to the pictures, and a summary (and exit
status) that says what really happened."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from facefx.io import SinkError
from facefx.io.sources import Frame, SyntheticSource
from facefx.io.video import VideoSink
from tests.test_cli_media import ASTRONAUT, PYTHON, ROOT, ffmpeg, make_video, read_image, run_facefx, write_png


def picture(path, value: int, size: int = 48) -> str:
    rng = np.random.default_rng(value)
    return write_png(str(path), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def audio_seconds(path: str) -> float:
    """Length of the audio track, decoded to 8 kHz mono 16-bit and counted."""
    raw = subprocess.run([ffmpeg(), "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "8000",
                          "-f", "s16le", "-"], capture_output=True, check=True).stdout
    return len(raw) / 2 / 8000.0


# --- never overwrite an input ------------------------------------------------------------------

def test_picture_into_its_own_folder_is_refused(tmp_path):
    me = picture(tmp_path / "me.png", 1)
    before = open(me, "rb").read()
    proc = run_facefx(["process", me, "-o", str(tmp_path) + os.sep, "--background", "none"])
    assert proc.returncode == 2, proc.stderr
    assert "would overwrite the input" in proc.stderr and "me.png" in proc.stderr
    assert open(me, "rb").read() == before


def test_folder_into_itself_is_refused(tmp_path):
    picture(tmp_path / "a.png", 1)
    before = open(tmp_path / "a.png", "rb").read()
    proc = run_facefx(["process", str(tmp_path), "-o", str(tmp_path), "--background", "none"])
    assert proc.returncode == 2 and "is the input" in proc.stderr, proc.stderr
    assert open(tmp_path / "a.png", "rb").read() == before


def test_inputs_with_the_same_stem_get_their_own_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    picture(src / "x.png", 1)
    write_png(str(src / "x.pgm"), np.full((48, 48), 77, np.uint8))  # PGM cannot be written: it falls back to .png, the other's name
    out = tmp_path / "out"
    proc = run_facefx(["process", str(src), "-o", str(out), "--background", "none"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["x-pgm.png", "x.png"]
    assert "x.pgm written as x-pgm.png" in proc.stdout
    a, b = read_image(str(out / "x.png")), read_image(str(out / "x-pgm.png"))
    assert np.array_equal(a, read_image(str(src / "x.png")))
    assert not np.array_equal(a, b)


def test_folder_plan_names_are_unique_and_stable(tmp_path):
    from facefx.io.images import FolderSink
    sink = FolderSink(str(tmp_path / "o"), alpha=True)
    sink.plan(["a/x.jpg", "a/x.png", "a/x-jpg.png", "a/y.bmp"])
    names = {n: sink.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 0, 0, n))
             for n in ("x.jpg", "x.png", "x-jpg.png", "y.bmp")}
    assert names == {"x.png": "x.png", "x-jpg.png": "x-jpg.png", "x.jpg": "x-jpg-2.png", "y.bmp": "y.png"}


# --- a failed write keeps the good file --------------------------------------------------------

def test_full_disk_keeps_the_previous_picture(tmp_path):
    """A write that fails part-way (here: a file-size limit, as a full disk would) must leave the
    file that was there intact and no temporary file behind."""
    target = picture(tmp_path / "out.png", 1, size=8)
    before = open(target, "rb").read()
    code = f"""
import resource, signal, sys
sys.path.insert(0, {ROOT!r})
import numpy as np
from facefx.io import SinkError
from facefx.io.images import write_image
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 200}, resource.RLIM_INFINITY))
try:
    write_image({target!r}, np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8))
except SinkError as exc:
    print("SinkError:", exc)
"""
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert "SinkError: cannot write" in proc.stdout, (proc.stdout, proc.stderr)
    assert open(target, "rb").read() == before
    assert os.listdir(tmp_path) == ["out.png"]


def test_failed_video_keeps_the_previous_video(tmp_path):
    class RawInMp4(VideoSink):
        def command(self, size, fps):
            cmd = super().command(size, fps)
            cmd[cmd.index("-c:v") + 1] = "rawvideo"
            return cmd

    out = tmp_path / "o.mp4"
    out.write_bytes(b"a good video")
    sink = RawInMp4(str(out)).open((32, 32), 10)
    img = np.zeros((32, 32, 3), np.uint8)
    sink.write(Frame(img, 0, 0), img)
    with pytest.raises(SinkError, match="FFmpeg failed"):
        sink.close()
    assert out.read_bytes() == b"a good video"
    assert os.listdir(tmp_path) == ["o.mp4"]


# --- sound follows the pictures ----------------------------------------------------------------

def test_video_stopped_early_keeps_only_the_matching_audio(tmp_path):
    clip = make_video(str(tmp_path / "in.mp4"), frames=40, fps=10, size=64, audio=True)  # 4 s of sound
    out = str(tmp_path / "o.mp4")
    sink = VideoSink(out, audio_from=clip).open((64, 64), 10)
    img = np.zeros((64, 64, 3), np.uint8)
    for i in range(5):  # what a run stopped by Ctrl-C after 0.5 s has written
        sink.write(Frame(img, i, i / 10), img)
    sink.close()
    assert abs(audio_seconds(out) - 0.5) <= 0.1, audio_seconds(out)


# --- the summary tells the truth ---------------------------------------------------------------

@pytest.mark.parametrize("frames", ["0", "-5"])
def test_synthetic_source_needs_at_least_one_frame(frames):
    from facefx.io import SourceError
    with pytest.raises(SourceError, match=f"frames must be at least 1, got {frames}"):
        SyntheticSource.parse(f"synth:frames={frames}")


def test_summary_of_a_run_that_wrote_nothing(tmp_path):
    from types import SimpleNamespace
    from facefx.cli import summary
    sink = VideoSink(str(tmp_path / "o.mp4"))
    src = SyntheticSource(frames=3)
    result = SimpleNamespace(processed=0, fps=0.0, elapsed=0.1, dropped=0, stopped_by_user=True)
    text = summary(sink, result, src)
    assert text.startswith("facefx: wrote nothing") and "was not created" in text


def test_truncated_video_is_reported_with_a_failing_status(tmp_path):
    clip = str(tmp_path / "in.mp4")
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-frames:v", "60",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-movflags", "+faststart", clip], check=True)
    data = open(clip, "rb").read()
    with open(clip, "wb") as fh:
        fh.write(data[: len(data) * 2 // 5])  # the index at the front still promises 60 frames
    out = tmp_path / "o.mp4"
    proc = run_facefx(["process", clip, "-o", str(out), "--background", "none"])
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "of its 60 frames (truncated or damaged?)" in proc.stderr, proc.stderr
    assert out.exists()


def test_closed_stdout_after_the_file_is_written_is_not_an_error(tmp_path):
    src = picture(tmp_path / "in.png", 3)
    out = tmp_path / "o.png"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([PYTHON, "-m", "facefx", "process", src, "-o", str(out), "--background", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before FaceFX prints its summary
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err and "Traceback" not in err, err
    assert out.exists()
