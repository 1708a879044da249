"""Face privacy covers on the CPU renderer: what each style puts in the pixels."""
import logging

import cv2
import numpy as np
import pytest

from facefx.render.cpu import CpuRenderer
from facefx.results import Face, FrameResults
from facefx.scene import Cover, RenderPlan, Scene
from facefx.settings import BackgroundSettings, PrivacySettings, Settings

W, H = 320, 180


def _frame(seed=0):
    """Detailed noise (a face's detail stands in): any copy of it through a cover shows."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def _render(covers, frame=None, renderer=None):
    frame = _frame() if frame is None else frame
    r = renderer or CpuRenderer(threads=1)
    return r.render(frame, RenderPlan(W, H, 0.0, covers=tuple(covers))).copy(), frame


def _inside(cover, shrink=0):
    """Pixel mask of points inside the cover's (axis-aligned) shape, shrunk by `shrink` px."""
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    a, b = cover.width / 2 - shrink, cover.height / 2 - shrink
    if cover.shape == "ellipse":
        return ((xx - cover.x) / a) ** 2 + ((yy - cover.y) / b) ** 2 <= 1
    return (abs(xx - cover.x) <= a) & (abs(yy - cover.y) <= b)


@pytest.mark.parametrize("shape", ["ellipse", "rect"])
@pytest.mark.parametrize("style", ["blur", "pixelate", "color"])
def test_cover_hides_the_detail_inside_and_leaves_the_outside(shape, style):
    cover = Cover(160, 90, 100, 80, shape, style, 12.0 if style == "blur" else 10.0, (10, 200, 30))
    out, frame = _render([cover])
    inside, outside = _inside(cover, 1), ~_inside(cover, -2 - 4)
    assert np.array_equal(out[outside], frame[outside])                 # untouched beyond the soft edge
    diff = np.abs(out.astype(int) - frame.astype(int))[inside]
    assert diff.mean() > 60                                              # the detail is gone inside
    if style == "color":
        assert np.all(out[inside] == (10, 200, 30))                      # fully opaque inside
    else:
        # Blur and pixelate leave far less local contrast than the noise had.
        gx = np.abs(np.diff(out.astype(int), axis=1))[inside[:, 1:]]
        assert gx.mean() < 25


def test_soft_edge_lies_outside_the_shape_and_is_a_few_pixels_wide():
    cover = Cover(160, 90, 100, 80, "rect", "color", 0, (255, 255, 255))
    out, _ = _render([cover], frame=np.zeros((H, W, 3), np.uint8))
    row = out[90, :, 0].astype(int)
    assert np.all(row[111:209] == 255)                                   # opaque over the shape
    ramp = np.nonzero((row > 0) & (row < 255))[0]
    assert 1 <= len(ramp) <= 2 * 8 and (ramp < 111).sum() and (ramp > 208).sum()


def test_rotated_ellipse_follows_its_rotation():
    cover = Cover(160, 90, 120, 40, "ellipse", "color", 0, (255, 255, 255), rotation=90.0)
    out, _ = _render([cover], frame=np.zeros((H, W, 3), np.uint8))
    assert out[90 - 50, 160, 0] == 255 and out[90, 160 + 50, 0] == 0    # tall, not wide


def test_whole_frame_cover_hides_every_pixel():
    cover = Cover(W / 2, H / 2, W, H, "rect", "blur", 20.0)
    out, frame = _render([cover])
    assert np.abs(out.astype(int) - frame.astype(int)).mean() > 50
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < 10


def test_emoji_covers_the_whole_region_even_where_the_picture_is_transparent():
    from facefx.animations import bundled_sticker
    cover = Cover(160, 90, 100, 100, "rect", "emoji", 0, (0, 0, 0), bundled_sticker("emoji/neutral.png"))
    out, frame = _render([cover])
    inside = _inside(cover, 1)
    corners = out[45:50, 115:120]                                        # transparent in the emoji
    assert np.abs(corners.astype(int) - frame[45:50, 115:120].astype(int)).mean() > 60
    assert np.std(corners.reshape(-1, 3), axis=0).max() < 3              # a solid underlay
    assert np.abs(out[inside].astype(int) - frame[inside].astype(int)).mean() > 60


@pytest.mark.parametrize("content", [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_corrupt_cover_picture_falls_back_to_a_solid_cover(tmp_path, content, caplog):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    cover = Cover(160, 90, 100, 80, "ellipse", "emoji", 0, (1, 2, 3), str(bad))
    with caplog.at_level(logging.WARNING):
        out, frame = _render([cover])
    assert np.all(out[_inside(cover, 1)] == (1, 2, 3))
    assert "bad.png" in caplog.text and "solid colour" in caplog.text


def test_missing_cover_picture_falls_back_to_a_solid_cover(tmp_path):
    cover = Cover(160, 90, 100, 80, "ellipse", "emoji", 0, (9, 9, 9), str(tmp_path / "gone.png"))
    out, _ = _render([cover])
    assert np.all(out[_inside(cover, 1)] == (9, 9, 9))


def test_plate_shows_the_captured_background():
    plate = np.full((H, W, 3), (20, 40, 60), np.uint8)
    plate[:, ::2] = (200, 100, 0)
    r = CpuRenderer(threads=1)
    r.set_plate(plate)
    assert r.has_plate and r.plate_note == ""
    cover = Cover(160, 90, 100, 80, "ellipse", "plate", 0)
    out, _ = _render([cover], renderer=r)
    inside = _inside(cover, 1)
    assert np.array_equal(out[inside], plate[inside])


def test_plate_of_another_resolution_is_rescaled_with_a_note():
    plate = np.zeros((90, 160, 3), np.uint8)
    plate[:, 80:] = 255                                                  # right half white
    r = CpuRenderer(threads=1)
    r.set_plate(plate)
    cover = Cover(W / 2, H / 2, W, H, "rect", "plate", 0)
    out, _ = _render([cover], renderer=r)
    assert out[:, :150].max() == 0 and out[:, 170:].min() == 255
    assert r.plate_note == "plate is 160x90, rescaled to the 320x180 frame"


def test_plate_never_captured_blurs_instead_of_showing_the_face():
    cover = Cover(160, 90, 100, 80, "ellipse", "plate", 12.0)
    out, frame = _render([cover])
    inside = _inside(cover, 1)
    assert np.abs(out[inside].astype(int) - frame[inside].astype(int)).mean() > 60


def test_bad_plate_is_refused_by_name():
    with pytest.raises(ValueError, match="expected the plate as an HxWx3 uint8 RGB picture, got float32"):
        CpuRenderer(threads=1).set_plate(np.zeros((4, 4, 3), np.float32))


def test_scene_to_pixels_first_frame_then_face_then_resize():
    """The whole path: nothing is bare on the first frame, the face is covered once found,
    and a new frame size is covered whole until analysed."""
    s = Settings(background=BackgroundSettings(mode="none"), privacy=PrivacySettings(style="blur", cover_heads=False))
    scene = Scene(s, triggers=lambda g: None)
    r = CpuRenderer(threads=1)
    frame = _frame(1)
    out = r.render(frame, scene.plan(0.0, W, H))
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < 10          # all blurred
    scene.update(FrameResults(faces=(Face(1, (0.4, 0.3, 0.2, 0.3), 0.9),), has_faces=True, frame_size=(W, H)), 0.0)
    out = r.render(frame, scene.plan(0.0, W, H)).copy()
    face = (slice(int(0.3 * H), int(0.6 * H)), slice(int(0.4 * W), int(0.6 * W)))
    assert np.abs(out[face].astype(int) - frame[face].astype(int)).mean() > 60   # the face box: covered
    assert np.array_equal(out[:, :60], frame[:, :60])                     # far from the face: bare
    big = cv2.resize(frame, (640, 360))
    out = r.render(big, scene.plan(0.1, 640, 360))
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < 10
