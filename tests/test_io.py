"""Sources, sinks, the pipeline and the progress bar, in-process.

The synthetic source stands in for a camera (same interface); everything else is real: OpenCV
decoding, FFmpeg encoding, the MediaPipe model where a test needs a mask.
"""
from __future__ import annotations

import io
import queue
import threading
import time

import numpy as np
import pytest

from facefx.imageio import MediaError
from facefx.io import SinkError, SourceError
from facefx.io.pipeline import QUEUE_DEPTH, LatestSlot, Pipeline, Processor, effect_cycle, next_effect
from facefx.io.progress import Progress, format_duration
from facefx.io.images import FolderSink, ImageSink
from facefx.io.outputs import output_kind, resolve_output
from facefx.io.preview import PreviewSink, flatten_alpha, has_display
from facefx.io.sink import FrameSink, check_writable_file
from facefx.io.video import VideoSink, audio_args
from facefx.io.sources import (CameraSource, Failure, FolderSource, Frame, ImageSource, SyntheticSource,
                               VideoFileSource, camera_index, natural_key, open_source)
from facefx.settings import BackgroundSettings, Settings
from tests.test_cli_media import ASTRONAUT, FACE, TOP_LEFT, make_video, read_frames, read_image, streams, write_png


class CollectingSink(FrameSink):
    """Keeps what it is given (a test harness, not a stand-in for any real output)."""

    def __init__(self, fail_at: int = -1) -> None:
        super().__init__()
        self.items = []
        self.fail_at = fail_at
        self.closed = 0

    def write(self, frame, image):
        if len(self.items) == self.fail_at:
            raise SinkError("disk full (test)")
        self.items.append((frame.index, image.copy()))
        self.frames += 1

    def close(self):
        self.closed += 1


def settings(mode: str = "none", **bg) -> Settings:
    return Settings(background=BackgroundSettings(mode=mode, **bg))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(str(tmp_path_factory.mktemp("clip") / "clip.mp4"), frames=12, fps=12, size=160)


# --- sources -----------------------------------------------------------------------------------

def test_synthetic_source_is_deterministic_and_bounded():
    a = SyntheticSource(width=64, height=36, frames=5, live=False)
    b = SyntheticSource(width=64, height=36, frames=5, live=False)
    fa, fb = list(a), list(b)
    assert [f.index for f in fa] == [0, 1, 2, 3, 4]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(fa, fb))
    assert fa[0].image.shape == (36, 64, 3) and fa[0].image.dtype == np.uint8
    assert not np.array_equal(fa[0].image, fa[4].image), "the figure moves"
    assert fa[1].time == pytest.approx(1 / 30)


class FakeClock:
    """Stands in for the time module inside facefx.io.sources: time passes only by sleeping
    (and by `work`, seconds spent per reading of the clock), so pacing is checked exactly."""

    def __init__(self, work: float = 0.0) -> None:
        self.now = 1000.0
        self.work = work
        self.sleeps: list = []

    def perf_counter(self) -> float:
        self.now += self.work
        return self.now

    monotonic = perf_counter

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_synthetic_live_source_paces_like_a_camera(monkeypatch):
    """Frame i leaves at the first frame's time + i/fps."""
    import facefx.io.sources as sources
    clock = FakeClock()
    monkeypatch.setattr(sources, "time", clock)
    src = SyntheticSource(width=32, height=18, fps=50, frames=6, live=True).open()
    left = [clock.now for _ in src]
    assert [round(at - left[0], 9) for at in left] == [round(i / 50, 9) for i in range(6)]
    assert sum(clock.sleeps) == pytest.approx(5 / 50)


def test_synthetic_live_source_that_is_late_does_not_sleep(monkeypatch):
    """Time already spent elsewhere (here 50 ms per clock reading, more than a 20 ms frame) is
    not slept again: a late camera hands over at once rather than falling further behind."""
    import facefx.io.sources as sources
    clock = FakeClock(work=0.05)
    monkeypatch.setattr(sources, "time", clock)
    assert len(list(SyntheticSource(width=32, height=18, fps=50, frames=6, live=True).open())) == 6
    assert clock.sleeps == []


@pytest.mark.parametrize("spec, message", [
    ("synth:size=big", "bad synthetic source option"),
    ("synth:fps=0", "fps must be positive"),
    ("synth:colour=red", "bad synthetic source option"),
])
def test_synthetic_spec_errors(spec, message):
    with pytest.raises(SourceError, match=message):
        SyntheticSource.parse(spec)


def test_synthetic_spec_parses():
    s = SyntheticSource.parse(f"synth:size=100x50:fps=20:frames=3:live=0:image={ASTRONAUT}")
    assert (s.width, s.height, s.fps, s.frames, s.live) == (100, 50, 20.0, 3, False)
    frames = list(s.open())
    assert len(frames) == 3 and frames[0].image.shape == (50, 100, 3)


def test_camera_index_recognition():
    assert camera_index("0") == 0 and camera_index("12") == 12
    assert camera_index("0.mp4") is None and camera_index("-1") is None and camera_index("1234") is None


def test_unavailable_camera_is_a_source_error():
    cam = CameraSource(98)
    assert cam.size is None  # the constructor touches no device
    with pytest.raises(SourceError, match="camera 98 is not available"):
        cam.open()
    cam.close()
    cam.close()


def test_video_file_source(clip):
    src = open_source(clip)
    assert isinstance(src, VideoFileSource)
    assert src.size == (160, 160) and src.fps == pytest.approx(12.0)
    assert src.frame_count == 12
    frames = list(src)
    src.close()
    src.close()
    assert [f.index for f in frames] == list(range(12))
    assert frames[3].time == pytest.approx(3 / 12)
    # RGB order: the astronaut's orange suit is red-dominant at the bottom.
    bottom = frames[0].image[-30:, 40:120].reshape(-1, 3).mean(0)
    assert bottom[0] > bottom[2]


def test_image_source_converts_gray_16bit_and_keeps_alpha(tmp_path):
    gray16 = write_png(str(tmp_path / "g16.png"), (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20))
    frame = ImageSource(gray16).open().read()
    assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8 and frame.alpha is None
    assert np.array_equal(frame.image[:, :, 0], frame.image[:, :, 2])
    bgra = np.zeros((10, 12, 4), np.uint8)
    bgra[..., 2] = 200  # red
    bgra[..., 3] = 77
    frame = ImageSource(write_png(str(tmp_path / "a.png"), bgra)).open().read()
    assert frame.image[0, 0].tolist() == [200, 0, 0]
    assert frame.alpha is not None and frame.alpha.shape == (10, 12) and int(frame.alpha[0, 0]) == 77
    assert frame.name == "a.png"


@pytest.mark.parametrize("content, message", [
    (None, "input not found"),
    (b"", "is empty"),
    (b"GIF89a-but-not-really" * 10, "not a readable"),
])
def test_open_source_errors(tmp_path, content, message):
    path = tmp_path / "thing.gif"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match=message):
        open_source(str(path))


def test_tiny_picture_is_refused(tmp_path):
    with pytest.raises(SourceError, match="1x1 pixels; expected a picture at least 2x2"):
        open_source(write_png(str(tmp_path / "t.png"), np.zeros((1, 1, 3), np.uint8)))


def test_folder_source_order_failures_and_skips(tmp_path):
    pic = np.full((8, 8, 3), 90, np.uint8)
    for name in ("img10.png", "img2.png", "IMG1.jpg"):
        write_png(str(tmp_path / name), pic)
    (tmp_path / "img3.png").write_bytes(b"broken")
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    src = open_source(str(tmp_path))
    assert isinstance(src, FolderSource) and src.stills and src.frame_count == 4
    items = list(src)
    assert [i.name for i in items] == ["IMG1.jpg", "img2.png", "img3.png", "img10.png"]
    assert isinstance(items[2], Failure) and "not a readable image" in items[2].message
    assert all(isinstance(i, Frame) for i in items[:2] + items[3:])
    assert src.skipped == ["readme.txt"]


def test_natural_sort():
    assert sorted(["a10", "a2", "A1", "b"], key=natural_key) == ["A1", "a2", "a10", "b"]


# --- sinks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("output, kind", [
    (None, "preview"), ("virtualcam", "preview"), ("x.png", "image"), ("x.JPG", "image"),
    ("x.mp4", "video"), ("x.webm", "video"), ("out/", "folder"), ("out", "folder"),
])
def test_output_kind(output, kind):
    if output == "virtualcam":
        kind = "virtualcam"
    assert output_kind(output) == kind


def test_output_kind_unknown_extension():
    with pytest.raises(SinkError, match="unknown extension '.doc'"):
        output_kind("x.doc")


def test_check_writable_file(tmp_path):
    check_writable_file(str(tmp_path / "ok.png"))
    assert not (tmp_path / "ok.png").exists(), "the check leaves no file behind"
    with pytest.raises(SinkError, match="does not exist"):
        check_writable_file(str(tmp_path / "nope" / "x.png"))
    with pytest.raises(SinkError, match="is a folder"):
        check_writable_file(str(tmp_path))


def test_resolve_output_matrix(tmp_path, clip):
    picture = ImageSource(ASTRONAUT).open()
    video = VideoFileSource(clip).open()
    folder = tmp_path / "pics"
    folder.mkdir()
    write_png(str(folder / "a.png"), np.zeros((4, 4, 3), np.uint8))
    pics = FolderSource(str(folder)).open()
    try:
        assert isinstance(resolve_output(str(tmp_path / "o.png"), picture, alpha=True), ImageSink)
        assert isinstance(resolve_output(str(tmp_path / "o.webm"), video, alpha=True, input_path=clip), VideoSink)
        assert isinstance(resolve_output(str(tmp_path / "seq"), video, alpha=True), FolderSink)
        assert isinstance(resolve_output(None, picture, alpha=False), PreviewSink)
        with pytest.raises(SinkError, match="cannot store transparency"):
            resolve_output(str(tmp_path / "o.avi"), video, alpha=True)
        with pytest.raises(SinkError, match="cannot store transparency"):
            resolve_output(str(tmp_path / "o.bmp"), picture, alpha=True)
        with pytest.raises(SinkError, match="virtual camera cannot carry transparency"):
            resolve_output("virtualcam", video, alpha=True)
        with pytest.raises(SinkError, match="needs a camera or video input"):
            resolve_output("virtualcam", picture, alpha=False)
        with pytest.raises(SinkError, match="expected an output folder"):
            resolve_output(str(tmp_path / "o.png"), pics, alpha=False)
        with pytest.raises(SinkError, match="is the input"):
            resolve_output(clip, video, alpha=False, input_path=clip)
    finally:
        video.close()


def test_folder_sink_names(tmp_path):
    sink = FolderSink(str(tmp_path / "o"), alpha=True).open(None, 30)
    assert sink.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 0, 0, "x.jpg")) == "x.png"
    assert sink.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 0, 0, "x.webp")) == "x.webp"
    assert sink.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 41, 0)) == "frame_000042.png"
    opaque = FolderSink(str(tmp_path / "o"), alpha=False)
    assert opaque.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 0, 0, "x.jpg")) == "x.jpg"
    assert opaque.name_for(Frame(np.zeros((2, 2, 3), np.uint8), 0, 0, "x.pgm")) == "x.png"


def test_image_sink_png_keeps_alpha(tmp_path):
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0] = 250
    rgba[:, :4, 3] = 255
    sink = ImageSink(str(tmp_path / "o.png")).open((8, 6), 30)
    sink.write(Frame(rgba[..., :3].copy(), 0, 0), rgba)
    back = read_image(str(tmp_path / "o.png"))
    assert back.shape == (6, 8, 4) and back[0, 0].tolist() == [250, 0, 0, 255] and back[0, 7, 3] == 0


@pytest.mark.parametrize("ext, codecs, expect", [
    (".mp4", ["aac"], ["-c:a", "copy"]),
    (".mp4", ["pcm_s16le"], ["-c:a", "aac"]),
    (".webm", ["aac"], ["-c:a", "libopus"]),
    (".webm", ["opus"], ["-c:a", "copy"]),
    (".mkv", ["pcm_s16le"], ["-c:a", "copy"]),
])
def test_audio_codec_choice(ext, codecs, expect):
    assert audio_args(ext, codecs)[:2] == expect


def test_video_sink_round_trip_with_audio(tmp_path, clip):
    out = str(tmp_path / "o.mkv")
    sink = VideoSink(out, audio_from=clip).open((161, 91), 25.0)  # odd size is cropped to even
    for i in range(7):
        img = np.full((91, 161, 3), i * 30, np.uint8)
        sink.write(Frame(img, i, i / 25), img)
    sink.close()
    sink.close()
    assert sink.written == [out]
    frames = read_frames(out)
    assert len(frames) == 7 and frames[0].shape == (90, 160, 3)
    assert abs(int(frames[3].mean()) - 90) <= 3
    assert streams(out)["audio"] == ["aac"]


def test_video_sink_abort_removes_partial_file(tmp_path):
    out = tmp_path / "o.mp4"
    sink = VideoSink(str(out)).open((32, 32), 10)
    img = np.zeros((32, 32, 3), np.uint8)
    sink.write(Frame(img, 0, 0), img)
    sink.abort()
    sink.abort()
    assert not out.exists()


def test_video_sink_without_frames_leaves_nothing(tmp_path):
    out = tmp_path / "o.mp4"
    VideoSink(str(out)).open((32, 32), 10).close()
    assert not out.exists()


def test_video_sink_failed_encode_leaves_nothing(tmp_path):
    """FFmpeg fails after creating the file (an MP4 cannot hold raw video): close() reports it
    and removes what FFmpeg left, so no unplayable file is mistaken for a result."""

    class RawInMp4(VideoSink):
        def command(self, size, fps):
            cmd = super().command(size, fps)
            cmd[cmd.index("-c:v") + 1] = "rawvideo"
            return cmd

    out = tmp_path / "o.mp4"
    sink = RawInMp4(str(out)).open((32, 32), 10)
    img = np.zeros((32, 32, 3), np.uint8)
    sink.write(Frame(img, 0, 0), img)
    with pytest.raises(SinkError, match="FFmpeg failed"):
        sink.close()
    assert not out.exists()


def test_flatten_alpha_over_checkerboard():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:16, :, 3] = 255
    flat = flatten_alpha(rgba)
    assert flat.shape == (32, 32, 3)
    assert flat[0, 0].tolist() == [255, 0, 0]
    assert set(np.unique(flat[20:, :, 1]).tolist()) == {200, 235}


def test_preview_keys():
    p = PreviewSink(stills=True)  # not opened: keys only change state and return actions
    assert p.handle_key(ord("q")) == ["quit"] and p.handle_key(27) == ["quit"]
    assert p.handle_key(ord(" ")) == ["next_effect"] and p.handle_key(ord("b")) == ["next_effect"]
    assert p.handle_key(ord("n")) == ["next"] and p.handle_key(13) == ["next"]
    assert p.handle_key(-1) == []
    assert not p.show_help
    assert p.handle_key(ord("h")) == [] and p.show_help
    assert p.handle_key(ord("f")) == [] and p.fullscreen
    mirror = p.mirror
    p.handle_key(ord("m"))
    assert p.mirror is not mirror


def test_has_display(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    import sys
    if sys.platform.startswith("linux"):
        assert not has_display()
        with pytest.raises(SinkError, match="no display"):
            PreviewSink().open((10, 10), 30)
    monkeypatch.setenv("DISPLAY", ":99")
    assert has_display()


# --- pipeline ----------------------------------------------------------------------------------

def test_latest_slot_drops_stale_items_and_keeps_the_end():
    from facefx.io.pipeline import _END
    slot = LatestSlot()
    for i in range(3):
        slot.put(i)
    assert slot.get(0.1) == 2 and slot.dropped == 2
    with pytest.raises(queue.Empty):
        slot.get(0.01)
    slot.put(5)
    slot.put(_END)
    slot.put(6)  # after the end nothing replaces it
    assert slot.get(0.1) is _END and slot.get(0.1) is _END
    assert slot.dropped == 3


def test_effect_cycle():
    s = settings("blur")
    assert effect_cycle(s) == ["none", "blur", "color", "transparent", "hologram"]
    assert next_effect(s).background.mode == "color"
    assert next_effect(settings("hologram")).background.mode == "none"
    with_image = settings("color", image=ASTRONAUT)
    assert "image" in effect_cycle(with_image)


def test_file_pipeline_keeps_every_frame_in_order():
    src = SyntheticSource(width=48, height=27, frames=25, live=False).open()
    sink = CollectingSink()
    proc = Processor(settings("none"))
    result = Pipeline(src, proc, sink, max_frames=None).run()
    proc.close()
    assert result.processed == 25 and result.dropped == 0
    assert [i for i, _ in sink.items] == list(range(25))
    expected = SyntheticSource(width=48, height=27, frames=25, live=False)
    assert all(np.array_equal(img, f.image) for (_, img), f in zip(sink.items, expected))


def test_file_pipeline_max_frames():
    src = SyntheticSource(width=48, height=27, frames=25, live=False).open()
    sink = CollectingSink()
    result = Pipeline(src, Processor(settings("none")), sink, max_frames=7).run()
    assert result.processed == 7 and len(sink.items) == 7


def test_file_pipeline_analyses_one_frame_ahead_on_another_thread():
    """Video files: analysis runs on its own thread (overlapping the render of the previous
    frame); each frame is still rendered with its own analysis, in order, none lost."""
    src = SyntheticSource(width=48, height=27, frames=12, live=False).open()
    analysed = []

    class Recording(Processor):
        def analyze(self, frame):
            analysed.append((frame.index, threading.current_thread().name))
            return ("analysis", frame.index)

        def render(self, frame, analysis):
            assert analysis == ("analysis", frame.index)
            return frame.image

    sink = CollectingSink()
    result = Pipeline(src, Recording(settings("none")), sink).run()
    assert result.processed == 12 and [i for i, _ in sink.items] == list(range(12))
    assert [i for i, _ in analysed] == list(range(12))
    assert all(name.startswith("facefx-analysis") for _, name in analysed)
    assert not [t for t in threading.enumerate() if t.name.startswith("facefx-analysis")]


def test_file_pipeline_analysis_failure_stops_the_run():
    from facefx.analysis import FrameError
    src = SyntheticSource(width=48, height=27, frames=50, live=False).open()

    class Failing(Processor):
        def analyze(self, frame):
            if frame.index == 3:
                raise FrameError("frame 3 is unusable")
            return None

    sink = CollectingSink()
    with pytest.raises(FrameError, match="frame 3 is unusable"):
        Pipeline(src, Failing(settings("none")), sink).run()
    assert [i for i, _ in sink.items] == [0, 1, 2]


def test_live_pipeline_drops_rather_than_queues():
    """A consumer slower than the source: frames are dropped (counted), never reordered."""
    src = SyntheticSource(width=48, height=27, fps=200, frames=60, live=True).open()

    class SlowProcessor(Processor):
        def process(self, frame):
            time.sleep(0.02)  # 50 fps against a 200 fps source
            return super().process(frame)

    sink = CollectingSink()
    result = Pipeline(src, SlowProcessor(settings("none")), sink).run()
    indices = [i for i, _ in sink.items]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert result.dropped > 10
    assert result.processed + result.dropped == 60


def test_pipeline_stops_and_reports_a_sink_failure():
    src = SyntheticSource(width=48, height=27, frames=1000, live=False).open()
    sink = CollectingSink(fail_at=3)
    pipe = Pipeline(src, Processor(settings("none")), sink)
    t0 = time.perf_counter()
    with pytest.raises(SinkError, match="disk full"):
        pipe.run()
    assert time.perf_counter() - t0 < 10
    assert len(sink.items) == 3
    assert not [t for t in threading.enumerate() if t.name in ("facefx-reader", "facefx-writer")], "threads are joined"


def test_pipeline_end_marker_does_not_wait_on_a_failed_writer():
    """Ctrl-C while the output queue is full, then the writer fails on the frame it holds: the
    end marker must not wait forever for room in a queue nobody drains any more."""
    src = SyntheticSource(width=48, height=27, frames=100, live=False).open()
    release = threading.Event()

    class StuckSink(CollectingSink):
        def write(self, frame, image):
            release.wait(10)
            raise SinkError("disk full (test)")

    class Interrupted(Processor):
        def render(self, frame, analysis):
            if frame.index == 1 + QUEUE_DEPTH:  # one frame in the writer, the queue full
                threading.Timer(0.5, release.set).start()
                raise KeyboardInterrupt
            return frame.image

    outcome = []

    def run():
        try:
            Pipeline(src, Interrupted(settings("none")), StuckSink()).run()
        except SinkError as exc:
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(20)
    release.set()
    assert not runner.is_alive(), "run() returned"
    assert len(outcome) == 1 and "disk full" in str(outcome[0])


def test_pipeline_folder_failures_continue(tmp_path):
    write_png(str(tmp_path / "a.png"), np.full((20, 30, 3), 50, np.uint8))
    (tmp_path / "b.png").write_bytes(b"junk")
    write_png(str(tmp_path / "c.png"), np.full((20, 30, 3), 80, np.uint8))
    src = FolderSource(str(tmp_path)).open()
    seen = []
    sink = CollectingSink()
    result = Pipeline(src, Processor(settings("none")), sink, on_failure=seen.append).run()
    assert result.processed == 2 and [f.name for f in result.failures] == ["b.png"] and seen == result.failures


def test_processor_real_model_transparent_keeps_input_alpha():
    rgb = read_image(ASTRONAUT)
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, 400:] = 40
    proc = Processor(settings("transparent"))
    try:
        out = proc.process(Frame(rgb, 0, 0.0, "a.png", alpha))
        again = proc.process(Frame(rgb, 1, 0.0, "a.png", alpha))
    finally:
        proc.close()
    assert out.shape == (512, 512, 4)
    assert out[:, :, 3][FACE].min() >= 250 and out[:, :, 3][TOP_LEFT].max() <= 5
    assert out[:, 400:, 3].max() <= 40
    assert out is not again, "results are fresh arrays, safe to hand to another thread"


def test_processor_warm_up_does_not_change_settings():
    proc = Processor(settings("none"))
    try:
        proc.warm_up((64, 36))
        assert proc.engine.settings.background.mode == "none"
        frame = Frame(np.full((36, 64, 3), 7, np.uint8), 0, 0.0)
        assert proc.process(frame) is frame.image
    finally:
        proc.close()


# --- progress ----------------------------------------------------------------------------------

def test_progress_bar_draws_on_a_terminal_stream():
    buf = io.StringIO()
    p = Progress(10, "frames", stream=buf, enabled=True, min_interval=0.0)
    for _ in range(10):
        p.update()
    p.note("facefx: failed: x.png")
    p.close()
    p.close()
    text = buf.getvalue()
    assert "[" + "#" * 28 + "]" in text and "10/10 frames 100%" in text
    assert "\nfacefx: failed: x.png\n" in text or "\rfacefx: failed: x.png\n" in text
    assert text.endswith("\n")


def test_progress_unknown_total_and_failures():
    buf = io.StringIO()
    p = Progress(None, "pictures", stream=buf, enabled=True, min_interval=0.0)
    p.update()
    p.update(failed=True)
    assert "2 pictures" in p.line() and "1 failed" in p.line()


def test_progress_silent_off_terminal():
    buf = io.StringIO()  # not a TTY
    p = Progress(5, stream=buf)
    p.update()
    p.close()
    assert buf.getvalue() == ""


def test_format_duration():
    assert format_duration(5) == "0:05" and format_duration(65) == "1:05" and format_duration(3725) == "1:02:05"


# --- demo pieces -------------------------------------------------------------------------------

def test_painted_background_is_deterministic_and_any_size():
    from facefx.demo import painted_background
    a = painted_background(160, 90)
    assert a.shape == (90, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, painted_background(160, 90))
    assert a.std() > 20, "not a flat picture"
    assert a[0].mean() < a[int(90 * 0.55)].mean(), "sky brightens towards the horizon"
    assert painted_background(7, 1000).shape == (1000, 7, 3)


def test_contact_sheet_layout():
    from facefx.demo import contact_sheet, label_tile
    tiles = [label_tile(np.full((100, 200, 3), i * 40, np.uint8), f"m{i}") for i in range(6)]
    sheet = contact_sheet(tiles, columns=3)
    th, tw = tiles[0].shape[:2]
    assert sheet.shape[1] == 3 * (tw + 8) + 8 and sheet.shape[0] >= 2 * th
    rgba = np.zeros((10, 10, 4), np.uint8)
    assert label_tile(rgba, "t").shape[2] == 3


def test_realtime_video_sink_keeps_real_time_when_frames_were_dropped(tmp_path):
    """A live source processed slower than it runs: the recording still lasts as long as the
    source did (frames repeated where some were dropped), instead of playing fast."""
    src = SyntheticSource(width=64, height=36, fps=100, frames=50, live=True).open()

    class SlowProcessor(Processor):
        def process(self, frame):
            time.sleep(0.03)  # ~33 fps against a 100 fps source
            return super().process(frame)

    out = str(tmp_path / "live.mkv")
    sink = VideoSink(out, realtime=True).open((64, 36), src.fps)
    result = Pipeline(src, SlowProcessor(settings("none")), sink).run()
    sink.close()
    assert result.dropped > 10
    frames = read_frames(out)
    # The last processed frame is due at its own timestamp; all frames before it are filled in.
    assert 35 <= len(frames) <= 50 and len(frames) == sink.frames > result.processed


def test_video_sink_copies_for():
    sink = VideoSink("x.mp4", realtime=True)
    sink._fps = 10.0
    counts = []
    for t in (5.0, 5.1, 5.32, 5.33, 5.6):
        n = sink.copies_for(t)
        sink.frames += n
        counts.append(n)
    assert counts == [0, 1, 2, 0, 3]  # copies of the frame before each one (held until then)
    assert VideoSink("x.mp4").copies_for(99.0) == 1
