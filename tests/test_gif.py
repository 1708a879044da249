"""GIF, one rule everywhere: a one-frame GIF is a picture (as input, as a background, in a
folder), an animated GIF is a video as input and its first frame where a picture is expected."""
from __future__ import annotations

import numpy as np
from PIL import Image

from facefx.imageio import load_image_rgb
from facefx.io.sources import FolderSource, ImageSource, VideoFileSource, open_source
from tests.test_cli_media import ASTRONAUT, read_image, run_facefx


def gif(path, colours):
    frames = [Image.fromarray(np.full((24, 32, 3), c, np.uint8)) for c in colours]
    frames[0].save(str(path), save_all=len(frames) > 1, append_images=frames[1:], duration=100)
    return str(path)


def test_one_frame_gif_is_a_picture_and_an_animated_one_a_video(tmp_path):
    one = gif(tmp_path / "one.gif", [(200, 20, 20)])
    anim = gif(tmp_path / "anim.gif", [(200, 20, 20), (20, 200, 20), (20, 20, 200)])
    src = open_source(one)
    assert isinstance(src, ImageSource) and src.size == (32, 24)
    assert np.abs(src.read().image[0, 0].astype(int) - (200, 20, 20)).max() <= 8
    video = open_source(anim)
    try:
        assert isinstance(video, VideoFileSource) and video.frame_count == 3
    finally:
        video.close()


def test_gif_as_a_background_picture(tmp_path):
    bg = gif(tmp_path / "bg.gif", [(20, 20, 200)])
    assert np.abs(load_image_rgb(bg)[5, 5].astype(int) - (20, 20, 200)).max() <= 8
    out = tmp_path / "o.png"
    proc = run_facefx(["process", ASTRONAUT, "-o", str(out), "--background", "image", "--background-image", bg])
    assert proc.returncode == 0, proc.stderr
    corner = read_image(str(out))[:40, :40].reshape(-1, 3).mean(0)
    assert np.abs(corner - (20, 20, 200)).max() <= 12


def test_gif_in_a_folder_is_processed_and_other_files_are_reported(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    gif(src / "a.gif", [(200, 20, 20)])
    (src / "notes.txt").write_text("not a picture")
    folder = FolderSource(str(src)).open()
    assert [f.rsplit("/", 1)[-1] for f in folder.files] == ["a.gif"] and folder.skipped == ["notes.txt"]
    out = tmp_path / "out"
    proc = run_facefx(["process", str(src), "-o", str(out), "--background", "none"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    assert "skipped 1 file that is not a picture: notes.txt" in proc.stderr
