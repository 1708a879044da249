"""The `facefx` command line, run as a user runs it: `python -m facefx ...` in a subprocess.

Bad input: every case must exit with status 2, print exactly one line naming the problem, and no
traceback. Real-model runs: the bundled photo through every background mode, a video with an
audio track, a folder with a corrupt picture, the demo, the preview window under Xvfb.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil

import numpy as np
import pytest

from tests.test_cli_media import (ASTRONAUT, FACE, TOP_LEFT, TOP_RIGHT, make_video, read_frames, read_image,
                                  run_facefx, streams, write_png)


def assert_user_error(proc, *needles: str) -> None:
    """Exit status 2, one line on stderr containing every needle, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle.lower() in err.lower(), (needle, err)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Small inputs shared by the tests of this module."""
    d = tmp_path_factory.mktemp("media")
    video = make_video(str(d / "clip.mp4"), frames=10, fps=10, size=320, audio=True)
    small = d / "small.png"
    img = read_image(ASTRONAUT)
    import cv2
    write_png(str(small), cv2.cvtColor(cv2.resize(img, (160, 160), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
    return {"dir": d, "video": video, "small": str(small)}


# --- help and usage ----------------------------------------------------------------------------

def test_help_lists_commands():
    proc = run_facefx(["--help"])
    assert proc.returncode == 0
    for word in ("process", "demo", "bench"):
        assert word in proc.stdout


def test_process_help_lists_background_and_segmentation_options():
    proc = run_facefx(["process", "--help"])
    assert proc.returncode == 0
    for flag in ("--background", "--background-image", "--background-color", "--blur", "--model",
                 "--analysis-width", "--smoothing", "--threshold", "--softness", "virtualcam"):
        assert flag in proc.stdout, flag
    for mode in ("none", "blur", "image", "color", "transparent", "hologram"):
        assert mode in proc.stdout


# --- bad input ---------------------------------------------------------------------------------

def test_missing_input(tmp_path):
    assert_user_error(run_facefx(["process", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o.png")]),
                      "input not found", "nope.png", "camera index")


def test_corrupt_image_with_image_extension(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a picture" * 20)
    assert_user_error(run_facefx(["process", str(bad), "-o", str(tmp_path / "o.png")]),
                      "bad.png", "not a readable image or video", "expected")


def test_truncated_png(tmp_path):
    data = open(ASTRONAUT, "rb").read()
    bad = tmp_path / "cut.png"
    bad.write_bytes(data[:200])  # a real PNG signature and header, then nothing
    assert_user_error(run_facefx(["process", str(bad), "-o", str(tmp_path / "o.png")]),
                      "cut.png", "not a readable image", "expected")


def test_unsupported_file(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello\n" * 50)
    assert_user_error(run_facefx(["process", str(txt), "-o", str(tmp_path / "o.png")]),
                      "notes.txt", "unsupported format", "expected")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert_user_error(run_facefx(["process", str(empty), "-o", str(tmp_path / "o.png")]),
                      "empty.jpg", "empty", "expected")


def test_corrupt_video(tmp_path, media):
    data = open(media["video"], "rb").read()
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(data[:1500])
    assert_user_error(run_facefx(["process", str(bad), "-o", str(tmp_path / "o.mp4")]),
                      "cut.mp4", "not a readable image or video")


def test_video_without_frames(tmp_path):
    import subprocess
    from tests.test_cli_media import ffmpeg
    audio_only = tmp_path / "voice.mp4"
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.5",
                    "-c:a", "aac", str(audio_only)], check=True)
    assert_user_error(run_facefx(["process", str(audio_only), "-o", str(tmp_path / "o.mp4")]),
                      "voice.mp4", "no video stream", "expected")


def test_zero_size_picture(tmp_path):
    tiny = write_png(str(tmp_path / "tiny.png"), np.zeros((1, 1, 3), np.uint8))
    assert_user_error(run_facefx(["process", tiny, "-o", str(tmp_path / "o.png")]),
                      "tiny.png", "1x1", "at least 2x2")


def test_unavailable_camera(tmp_path):
    assert_user_error(run_facefx(["process", "97", "-o", str(tmp_path / "o.mp4")]),
                      "camera 97 is not available", "expected")


@pytest.mark.parametrize("output, needle", [
    ("missing-folder/out.png", "does not exist"),
    ("afile.png/out.png", "is not a folder"),
])
def test_unwritable_output_path(tmp_path, media, output, needle):
    (tmp_path / "afile.png").write_bytes(b"x")
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / output)]),
                      "cannot write", needle, "expected")


def test_output_in_a_read_only_folder(tmp_path, media):
    """Permission denied. Root ignores file modes, so as root use sysfs, where nobody may create files."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        folder = "/sys"
        if not os.path.isdir(folder):
            pytest.skip("no folder that refuses new files to root here")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        folder = str(ro)
    proc = run_facefx(["process", media["small"], "-o", os.path.join(folder, "out.png")])
    assert_user_error(proc, "cannot write", "out.png", "expected a path in a writable folder")


def test_unwritable_output_folder(tmp_path, media):
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"x")
    assert_user_error(run_facefx(["process", media["video"], "-o", str(blocker / "frames") + os.sep]),
                      "cannot create output folder")


def test_output_is_the_input(tmp_path, media):
    copy = tmp_path / "me.png"
    shutil.copy(media["small"], copy)
    assert_user_error(run_facefx(["process", str(copy), "-o", str(copy)]), "is the input", "expected")


@pytest.mark.parametrize("args, needles", [
    (["--blur", "500"], ["blur strength", "0 to 100", "500"]),
    (["--blur", "abc"], ["--blur", "expected a number", "abc"]),
    (["--background", "sparkles"], ["--background", "invalid choice", "sparkles"]),
    (["--background-color", "red"], ["red", "#RRGGBB"]),
    (["--background", "color", "--background-color", "#12345"], ["#12345", "#RRGGBB"]),
    (["--threshold", "2"], ["threshold", "0.05 to 0.95"]),
    (["--softness", "-1"], ["softness", "0 to 1"]),
    (["--smoothing", "1.5"], ["smoothing", "0 to 1"]),
    (["--analysis-width", "10"], ["analysis width", "64 to 1920"]),
    (["--analysis-width", "12.5"], ["--analysis-width", "whole number"]),
    (["--model", "huge"], ["--model", "invalid choice"]),
    (["--background", "image"], ["--background-image"]),
    (["--max-frames", "0"], ["--max-frames", "above 0"]),
    (["--camera-size", "big"], ["--camera-size", "WIDTHxHEIGHT"]),
])
def test_invalid_option_values(tmp_path, media, args, needles):
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / "o.png"), *args]), *needles)


def test_bad_settings_file(tmp_path, media):
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / "o.png"), "--settings", str(bad)]),
                      "s.json", "not valid JSON")
    bad.write_text(json.dumps({"background": {"blurr": 3}}))
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / "o.png"), "--settings", str(bad)]),
                      "blurr", "expected")


@pytest.mark.parametrize("data, needles", [
    ({"background": "blur"}, ("s.json", "section 'background' must be an object")),
    ({"background": {"color": [1, 2, "x"]}}, ("s.json", "colour", "#RRGGBB")),
    ({"background": {"mode": "image", "image": ["a.png"]}}, ("s.json", "background image", "file path")),
])
def test_settings_file_values_of_the_wrong_type(tmp_path, media, data, needles):
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps(data))
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / "o.png"), "--settings", str(bad)]),
                      *needles)


@pytest.mark.parametrize("kind", ["missing", "corrupt", "empty"])
def test_bad_background_image(tmp_path, media, kind):
    path = tmp_path / "bg.jpg"
    if kind == "corrupt":
        path.write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 30)
    elif kind == "empty":
        path.write_bytes(b"")
    needle = {"missing": "not found", "corrupt": "not a readable image", "empty": "empty"}[kind]
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / "o.png"),
                                  "--background-image", str(path)]), "--background-image", "bg.jpg", needle)


@pytest.mark.parametrize("output, needles", [
    ("o.xyz", ["unknown extension", ".xyz", "expected"]),
    ("o.mp4", ["cannot write a picture to the video", "expected"]),
])
def test_impossible_output_for_a_picture(tmp_path, media, output, needles):
    assert_user_error(run_facefx(["process", media["small"], "-o", str(tmp_path / output)]), *needles)


def test_video_into_a_single_image_is_refused(tmp_path, media):
    assert_user_error(run_facefx(["process", media["video"], "-o", str(tmp_path / "o.png")]),
                      "single image", "expected a video file")


@pytest.mark.parametrize("output, needles", [
    ("o.mp4", [".mp4 videos cannot store transparency", ".webm", ".mov"]),
    ("o.jpg", [".jpg images cannot store transparency", ".png"]),
])
def test_transparency_into_formats_without_alpha(tmp_path, media, output, needles):
    src = media["video"] if output.endswith(".mp4") else media["small"]
    assert_user_error(run_facefx(["process", src, "-o", str(tmp_path / output), "--background", "transparent"]),
                      *needles)


def test_preview_without_display(media):
    proc = run_facefx(["process", media["video"]], env={"DISPLAY": None, "WAYLAND_DISPLAY": None,
                                                        "QT_QPA_PLATFORM": None})
    assert_user_error(proc, "no display", "-o OUTPUT")


@pytest.mark.skipif(bool(glob.glob("/dev/video*")), reason="a video device exists here; the no-device case cannot happen")
def test_virtualcam_without_device(media):
    assert_user_error(run_facefx(["process", media["video"], "-o", "virtualcam"]),
                      "no virtual camera device", "v4l2loopback")


def test_virtualcam_without_pyvirtualcam(tmp_path, media):
    # A module on PYTHONPATH that fails to import, as it would on an install without the extra.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyvirtualcam.py").write_text("raise ImportError('No module named pyvirtualcam')\n")
    from tests.test_cli_media import ROOT
    proc = run_facefx(["process", media["video"], "-o", "virtualcam"],
                      env={"PYTHONPATH": str(shadow) + os.pathsep + ROOT})
    assert_user_error(proc, "needs pyvirtualcam", "pip install")


# --- real model: pictures ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def astronaut():
    return read_image(ASTRONAUT)


def _diff(a, b, region):
    return float(np.abs(a[region].astype(np.int16) - b[region].astype(np.int16)).mean())


@pytest.mark.parametrize("mode", ["none", "blur", "image", "color", "transparent", "hologram"])
def test_every_background_mode_on_the_photo(tmp_path, astronaut, mode):
    out = tmp_path / "out.png"
    args = ["process", ASTRONAUT, "-o", str(out), "--background", mode]
    if mode == "image":
        bg = np.zeros((90, 160, 3), np.uint8)
        bg[:] = (30, 200, 90)  # BGR on disk -> RGB (90, 200, 30)
        args += ["--background-image", write_png(str(tmp_path / "bg.png"), bg)]
    if mode == "color":
        args += ["--background-color", "#3060F0"]
    proc = run_facefx(args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(out) in proc.stdout
    img = read_image(str(out))
    assert img.shape[:2] == astronaut.shape[:2]
    rgb = img[:, :, :3]
    if mode == "none":
        assert np.array_equal(rgb, astronaut)
        return
    if mode != "hologram":
        assert _diff(rgb, astronaut, FACE) < 2.0, "the person must stay untouched"
    if mode == "blur":
        assert _diff(rgb, astronaut, TOP_LEFT) > 10.0, "the flag in the corner must be blurred"
        # A blur keeps the corner's average colour (it is not replaced by something else).
        assert np.abs(rgb[TOP_LEFT].mean((0, 1)) - astronaut[TOP_LEFT].mean((0, 1))).max() < 25
    elif mode == "image":
        for region in (TOP_LEFT, TOP_RIGHT):
            assert np.abs(rgb[region].astype(int) - (90, 200, 30)).max() <= 2
    elif mode == "color":
        for region in (TOP_LEFT, TOP_RIGHT):
            assert np.abs(rgb[region].astype(int) - (0x30, 0x60, 0xF0)).max() <= 2
    elif mode == "transparent":
        assert img.shape[2] == 4
        alpha = img[:, :, 3]
        assert alpha[TOP_LEFT].max() <= 5 and alpha[TOP_RIGHT].max() <= 5
        assert alpha[FACE].min() >= 250
    elif mode == "hologram":
        face = rgb[FACE].reshape(-1, 3).mean(0)
        assert face[2] > face[0] + 40, f"face should be tinted blue, got {face}"
        assert rgb[TOP_LEFT].mean() < 40, "background should be the dark hologram backdrop"


def test_unusual_picture_formats_are_accepted(tmp_path, astronaut):
    """Grayscale, 16-bit and RGBA pictures are converted, not refused (one folder run for all)."""
    import cv2
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    rgba[:, 384:, 3] = 0  # right quarter already transparent in the input
    src = tmp_path / "in"
    src.mkdir()
    kinds = {"gray": gray, "gray16": gray.astype(np.uint16) * 257, "rgb16": bgr.astype(np.uint16) * 257,
             "rgba": rgba}
    for kind, data in kinds.items():
        write_png(str(src / f"{kind}.png"), data)
    out = tmp_path / "out"
    # The landscape model, whose mask this test's regions were chosen on (auto picks general for
    # a square picture, which finds part of the grey backdrop in the top-left corner).
    proc = run_facefx(["process", str(src), "-o", str(out), "--background", "transparent", "--model", "landscape"])
    assert proc.returncode == 0, proc.stderr
    assert "4 pictures" in proc.stdout
    for kind in kinds:
        img = read_image(str(out / f"{kind}.png"))
        assert img.shape == (512, 512, 4), kind
        assert img[:, :, 3][FACE].min() >= 250, f"{kind}: the person is found in the converted picture"
        assert img[:, :, 3][TOP_LEFT].max() <= 5, kind
    assert read_image(str(out / "rgba.png"))[:, 384:, 3].max() == 0, "input transparency is kept"
    assert read_image(str(out / "gray16.png"))[:, :, 3][:, :384].max() == 255


# --- real model: video with audio --------------------------------------------------------------

def test_video_keeps_frame_count_and_audio(tmp_path, media):
    out = tmp_path / "out.mp4"
    proc = run_facefx(["process", media["video"], "-o", str(out), "--background", "color",
                       "--background-color", "#000000"])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    info = streams(str(out))
    assert info["video"] == ["h264"]
    assert info["audio"], "the audio track must be kept"
    src_frames = read_frames(media["video"])
    out_frames = read_frames(str(out))
    assert len(out_frames) == len(src_frames) == 10
    # The background became black, the face kept (within H.264 error).
    first = out_frames[0]
    assert first[:40, :40].mean() < 20 < src_frames[0][:40, :40].mean()
    centre = (slice(40, 80), slice(130, 180))  # the face in the 320x320 clip
    assert np.abs(first[centre].astype(int) - src_frames[0][centre].astype(int)).mean() < 6


def test_transparent_video_as_webm_with_alpha(tmp_path, media):
    out = tmp_path / "cut.webm"
    proc = run_facefx(["process", media["video"], "-o", str(out), "--background", "transparent",
                       "--max-frames", "4"])
    assert proc.returncode == 0, proc.stderr
    info = streams(str(out))
    assert info["video"] == ["vp9"] and info["audio"] == ["opus"]
    assert "alpha_mode" in info["text"][0]
    assert len(read_frames(str(out))) == 4


def test_video_to_png_sequence_keeps_alpha(tmp_path, media):
    out = tmp_path / "frames"
    proc = run_facefx(["process", media["video"], "-o", str(out) + os.sep, "--background", "transparent",
                       "--max-frames", "3"])
    assert proc.returncode == 0, proc.stderr
    names = sorted(os.listdir(out))
    assert names == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    img = read_image(str(out / names[0]))
    assert img.shape[2] == 4 and img[:20, :20, 3].max() <= 5


# --- real model: folders -----------------------------------------------------------------------

def test_folder_with_a_corrupt_picture_continues(tmp_path, media):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(media["small"], src / "a1.png")
    (src / "a2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)
    shutil.copy(media["small"], src / "a10.jpg")
    (src / "notes.txt").write_text("not a picture")
    out = tmp_path / "out"
    proc = run_facefx(["process", str(src), "-o", str(out), "--background", "blur"])
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "a2.png" in proc.stderr and "failed" in proc.stderr
    assert sorted(os.listdir(out)) == ["a1.png", "a10.jpg"]
    assert "2 pictures" in proc.stdout
    for name in ("a1.png", "a10.jpg"):
        assert read_image(str(out / name)).shape[:2] == (160, 160)


def test_folder_input_needs_a_folder_output(tmp_path, media):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(media["small"], src / "a.png")
    assert_user_error(run_facefx(["process", str(src), "-o", str(tmp_path / "x.png")]), "folder", "expected")


def test_empty_folder(tmp_path):
    (tmp_path / "in").mkdir()
    assert_user_error(run_facefx(["process", str(tmp_path / "in"), "-o", str(tmp_path / "out")]),
                      "contains no pictures")


# --- live sources, preview, demo ---------------------------------------------------------------

def test_synthetic_camera_to_video(tmp_path):
    """The live path (latest-wins hand-over) with the synthetic stand-in for a camera."""
    out = tmp_path / "live.mp4"
    proc = run_facefx(["process", f"synth:size=320x180:fps=15:frames=15:image={ASTRONAUT}", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    n = len(read_frames(str(out)))
    summary = re.search(r"\((\d+) frames?, [\d.]+ fps(?:, (\d+) dropped)?\)", proc.stdout)
    assert summary, proc.stdout
    written, dropped = int(summary.group(1)), int(summary.group(2) or 0)
    # The summary counts exactly the frames in the file; every one of the camera's 15 frames
    # is either written or reported as dropped by the live (latest-wins) hand-over.
    assert n == written
    assert written + dropped == 15, proc.stdout
    assert written >= 1


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for a real X display")
def test_preview_window_under_xvfb():
    proc = run_facefx(["process", f"synth:size=320x180:fps=30:image={ASTRONAUT}", "--max-frames", "8"],
                      env={"DISPLAY": None})
    assert proc.returncode == 2  # no display without Xvfb
    import subprocess
    import sys
    from tests.test_cli_media import ROOT
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("DISPLAY", None)
    run = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "facefx", "process",
                          f"synth:size=320x180:fps=30:image={ASTRONAUT}", "--max-frames", "8"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "showed 8 frames" in run.stdout
    assert "Traceback" not in run.stderr


def test_demo_writes_every_mode_and_a_contact_sheet(tmp_path):
    out = tmp_path / "demo"
    proc = run_facefx(["demo", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(out) in proc.stdout
    names = set(os.listdir(out))
    for label in ("original", "blur", "image", "color", "transparent", "hologram"):
        assert f"astronaut-{label}.png" in names
    assert {"contact-sheet.png", "background.png"} <= names
    cut = read_image(str(out / "astronaut-transparent.png"))
    assert cut.shape[2] == 4 and cut[:, :, 3][FACE].min() >= 250 and cut[:, :, 3][TOP_LEFT].max() <= 5
    sheet = read_image(str(out / "contact-sheet.png"))
    assert sheet.shape[1] > 3 * 300 and sheet.shape[0] > 2 * 300
    # The 'image' result shows the painted background in the corner, not the photo.
    img = read_image(str(out / "astronaut-image.png"))
    bg = read_image(str(out / "background.png"))
    assert _diff(img, read_image(ASTRONAUT), TOP_LEFT) > 30
    assert bg.std() > 20


def test_demo_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    assert_user_error(run_facefx(["demo", "-o", str(blocker / "demo")]), "cannot create demo folder")


def test_ctrl_c_finishes_a_live_recording(tmp_path):
    """Ctrl-C is how a camera recording ends: the video must be finalised and playable."""
    import signal
    import subprocess
    import sys
    import time
    from tests.test_cli_media import ROOT
    out = tmp_path / "rec.mp4"
    # Restore Python's SIGINT handler in case the test runner was started with SIGINT ignored.
    code = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = ['facefx'] + sys.argv[1:]; runpy.run_module('facefx', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", code, "process", f"synth:size=320x180:fps=20:image={ASTRONAUT}",
                             "-o", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # FFmpeg writes into a temporary file beside the output (renamed when complete), created
    # just before the model loads, in bursts of encoded frames: once it has grown it holds
    # frames already recorded.
    def written() -> int:
        return sum(p.stat().st_size for p in tmp_path.glob(".rec.mp4.*.part.mp4"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and written() == 0:
        time.sleep(0.05)
    assert proc.poll() is None and written() > 0, "the recording never started writing"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped early" in stdout
    frames = read_frames(str(out))
    processed = int(re.search(r"\((\d+) frames?", stdout).group(1))
    assert processed == len(frames) and processed >= 1, stdout


def test_settings_file_and_flags(tmp_path, media):
    s = tmp_path / "s.json"
    s.write_text(json.dumps({"background": {"mode": "color", "color": "#FF0000"},
                             "segmentation": {"model": "general"}}))
    out = tmp_path / "o.png"
    proc = run_facefx(["process", ASTRONAUT, "-o", str(out), "--settings", str(s), "--background-color", "#0000FF"])
    assert proc.returncode == 0, proc.stderr
    img = read_image(str(out))
    assert img[TOP_LEFT].reshape(-1, 3).mean(0).round().tolist() == [0, 0, 255], "flags override the file"


def test_bench_is_dispatched_with_its_arguments():
    proc = run_facefx(["bench", "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "usage: facefx bench" in proc.stdout and "--json" in proc.stdout


def test_bench_missing_module_is_a_clear_error(monkeypatch, capsys):
    import sys
    from facefx import cli
    monkeypatch.setitem(sys.modules, "facefx.bench", None)  # as if facefx/bench.py were absent
    assert cli.main(["bench", "--json", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "facefx: error: 'facefx bench' is not available in this build (facefx/bench.py is missing)"


def test_face_and_hand_effects_leave_the_background_alone_unless_asked():
    from facefx.cli import build_parser, settings_from_args
    p = build_parser()
    for flags in (["--expressions"], ["--privacy", "blur"], ["--gestures"]):
        args = p.parse_args(["process", "in.png", "-o", "out.png"] + flags)
        assert settings_from_args(args).background.mode == "none", flags
        args = p.parse_args(["process", "in.png", "-o", "out.png", "--background", "blur"] + flags)
        assert settings_from_args(args).background.mode == "blur", flags
    assert settings_from_args(p.parse_args(["process", "in.png", "-o", "out.png"])).background.mode == "blur"
