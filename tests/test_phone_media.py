"""Phone media: EXIF orientation on every picture format, rotation metadata on videos."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image, ImageOps

from facefx.imageio import exif_orientation, load_image_rgb
from facefx.io.sources import ImageSource, VideoFileSource
from tests.test_cli_media import ffmpeg, read_frames, run_facefx


def asymmetric(h: int = 20, w: int = 36) -> np.ndarray:
    """A picture whose every flip and turn looks different (a bar on the left, one on top)."""
    a = np.full((h, w, 3), 40, np.uint8)
    a[:, :6] = (250, 30, 30)
    a[:4, :] = (30, 250, 30)
    a[-3:, -5:] = (30, 30, 250)
    return a


@pytest.mark.parametrize("ext", ["png", "webp", "jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_honoured_for_every_format(tmp_path, ext, orientation):
    img = Image.fromarray(asymmetric())
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = str(tmp_path / f"o.{ext}")
    options = {"lossless": True} if ext == "webp" else {"quality": 100} if ext == "jpg" else {}
    img.save(path, exif=exif.tobytes(), **options)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert exif_orientation(open(path, "rb").read()) == orientation
    for keep_alpha in (False, True):
        got = load_image_rgb(path, keep_alpha=keep_alpha)[:, :, :3]
        assert got.shape == expected.shape
        assert np.abs(got.astype(int) - expected).max() <= (40 if ext == "jpg" else 0)
    frame = ImageSource(path).open().read()
    assert frame.image.shape == expected.shape


def test_exif_orientation_of_pictures_without_one():
    assert exif_orientation(b"\x89PNG\r\n\x1a\n") == 1
    assert exif_orientation(b"not a picture") == 1
    assert exif_orientation(b"\xff\xd8\xff\xe1\x00\x04") == 1


def test_rotated_phone_video_comes_out_upright(tmp_path):
    plain, rotated = str(tmp_path / "plain.mp4"), str(tmp_path / "phone.mp4")
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-frames:v", "6",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", plain], check=True)
    subprocess.run([ffmpeg(), "-v", "error", "-display_rotation", "90", "-i", plain, "-c", "copy", rotated],
                   check=True)
    upright = str(tmp_path / "upright.png")  # what players show: FFmpeg's own auto-rotation
    subprocess.run([ffmpeg(), "-v", "error", "-i", rotated, "-frames:v", "1", upright], check=True)
    reference = np.asarray(Image.open(upright).convert("RGB"))
    assert reference.shape == (96, 64, 3)

    src = VideoFileSource(rotated).open()
    try:
        assert src.size == (64, 96)
        first = src.read()
        assert np.abs(first.image.astype(int) - reference).mean() < 2
    finally:
        src.close()

    out = str(tmp_path / "out.mp4")
    proc = run_facefx(["process", rotated, "-o", out, "--background", "none"])
    assert proc.returncode == 0, proc.stderr
    frames = read_frames(out)
    assert len(frames) == 6 and frames[0].shape == (96, 64, 3)
    assert np.abs(frames[0].astype(int) - reference).mean() < 6


def test_variable_frame_rate_video_keeps_each_frame_at_its_time(tmp_path):
    """Ten frames 0.2 s apart, then ten 0.05 s apart (2.5 s in all). Each output frame must show
    the input frame of its moment; at the average rate the second half would start at 1.25 s."""
    import sys
    vfr = str(tmp_path / "phone.mp4")
    raw = b"".join(np.full((48, 64, 3), 10 * i + 5, np.uint8).tobytes() for i in range(20))
    subprocess.run([ffmpeg(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-framerate", "20",
                    "-i", "-", "-vf", "setpts='if(lt(N,10),N*4,40+N-10)'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p", vfr],
                   input=raw, check=True)
    src = VideoFileSource(vfr).open()
    try:
        assert src.variable_rate and src.fps == 20.0
        times = [round(src.read().time, 3) for _ in range(12)]
    finally:
        src.close()
    assert times[:3] == [0.0, 0.2, 0.4] and times[10:12] == [2.0, 2.05]

    out = str(tmp_path / "out.mp4")
    proc = run_facefx(["process", vfr, "-o", out, "--background", "none"])
    assert proc.returncode == 0, proc.stderr
    frames = read_frames(out)
    assert len(frames) >= 49  # about 2.5 s at the base rate of 20 fps (not 20 frames at the average rate)
    for t, index in [(0.0, 0), (0.5, 2), (1.5, 7), (2.0, 10), (2.3, 16)]:
        assert abs(int(frames[int(round(t * 20))].mean()) - (10 * index + 5)) <= 3, (t, index)
