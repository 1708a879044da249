"""Known-answer tests for the CPU painters of plan items (sprites, rings) and their image cache."""
import cv2
import numpy as np
import pytest

from facefx.render.cpu import CpuRenderer
from facefx.render.painters import ImageCache, Painters, load_premultiplied
from facefx.scene import BackgroundLayer, RenderPlan, Ring, Sprite

W, H = 64, 48


def _png(tmp_path, name, rgba):
    path = str(tmp_path / name)
    rgba = np.asarray(rgba, np.uint8)
    assert cv2.imwrite(path, cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    return path


def _solid(tmp_path, w, h, color=(255, 0, 0, 255), name="solid.png"):
    return _png(tmp_path, name, np.broadcast_to(np.array(color, np.uint8), (h, w, 4)).copy())


def _paint(items, frame=None, channels=3):
    out = np.zeros((H, W, channels), np.uint8) if frame is None else frame.copy()
    Painters().paint(out, items)
    return out


def _covered(out, level=128):
    ys, xs = np.nonzero(out[:, :, 0] >= level)
    return ys.min(), ys.max(), xs.min(), xs.max()


def test_sprite_lands_where_the_plan_says(tmp_path):
    red = _solid(tmp_path, 10, 10)
    out = _paint([Sprite(red, 20, 30, 10, 10)])
    assert (out[25:35, 15:25] == (255, 0, 0)).all()
    assert out[:, :15].max() == 0 and out[:, 25:].max() == 0 and out[:25].max() == 0 and out[35:].max() == 0


def test_sprite_is_scaled_to_its_drawn_size(tmp_path):
    red = _solid(tmp_path, 100, 50)
    out = _paint([Sprite(red, 32, 24, 20, 10)])
    assert _covered(out) == (19, 28, 22, 41)
    assert (out[19:29, 22:42] == (255, 0, 0)).all()


def test_rotation_is_clockwise_about_the_centre(tmp_path):
    # A 20x4 bar with its right end green: rotated 90 degrees clockwise it stands upright with
    # the green end at the bottom.
    bar = np.zeros((4, 20, 4), np.uint8)
    bar[:] = (255, 0, 0, 255)
    bar[:, 15:] = (0, 255, 0, 255)
    path = _png(tmp_path, "bar.png", bar)
    out = _paint([Sprite(path, 32, 24, 20, 4, rotation=90)])
    red_or_green = (out[:, :, 0] > 128) | (out[:, :, 1] > 128)
    ys, xs = np.nonzero(red_or_green)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (14, 33, 30, 33)
    assert out[31, 31, 1] > 200 and out[31, 31, 0] < 50       # green end below the centre
    assert out[16, 31, 0] > 200 and out[16, 31, 1] < 50
    out45 = _paint([Sprite(path, 32, 24, 20, 4, rotation=45)])
    assert out45[24 + 6, 32 + 6, 1] > 128                     # 45 degrees: green end down-right


def test_alpha_and_opacity_blend_over_the_frame(tmp_path):
    half = _solid(tmp_path, 8, 8, (255, 255, 255, 128))
    base = np.full((H, W, 3), 100, np.uint8)
    out = _paint([Sprite(half, 10, 10, 8, 8)], base)
    assert abs(int(out[10, 10, 0]) - (100 + (255 - 100) * 128 / 255)) <= 1
    out = _paint([Sprite(half, 10, 10, 8, 8, opacity=0.5)], base)
    assert abs(int(out[10, 10, 0]) - (100 + (255 - 100) * 64 / 255)) <= 1
    assert (_paint([Sprite(half, 10, 10, 8, 8, opacity=0.0)], base) == base).all()


def test_transparent_pixels_do_not_fringe(tmp_path):
    # Opaque red centre in a fully transparent *white* border: premultiplied resizing and
    # warping must not let the hidden white into the edge.
    img = np.zeros((40, 40, 4), np.uint8)
    img[:] = (255, 255, 255, 0)
    img[10:30, 10:30] = (255, 0, 0, 255)
    path = _png(tmp_path, "ring.png", img)
    out = _paint([Sprite(path, 30.3, 20.7, 17, 17, rotation=30)])
    assert out[:, :, 1].max() <= 1 and out[:, :, 2].max() <= 1


def test_sprites_are_clipped_at_the_frame_edges(tmp_path):
    red = _solid(tmp_path, 10, 10)
    out = _paint([Sprite(red, 0, 0, 10, 10), Sprite(red, W, H, 10, 10, rotation=30)])
    assert (out[:5, :5] == (255, 0, 0)).all() and out[5:20, 5:20].max() == 0
    assert out[H - 2, W - 2, 0] == 255
    off = _paint([Sprite(red, -50, 10, 10, 10), Sprite(red, 10, H + 40, 10, 10, rotation=45)])
    assert off.max() == 0


def test_sprite_on_rgba_output_raises_alpha(tmp_path):
    half = _solid(tmp_path, 4, 4, (0, 0, 255, 128))
    frame = np.zeros((H, W, 4), np.uint8)
    frame[:, :, 3] = 0
    out = _paint([Sprite(half, 10, 10, 4, 4)], frame)
    assert abs(int(out[10, 10, 3]) - 128) <= 1 and abs(int(out[10, 10, 2]) - 128) <= 1


def test_ring_is_an_arc_from_twelve_oclock_clockwise():
    quarter = _paint([Ring(32, 24, 15, 3, 0.25, (0, 255, 0))])
    g = quarter[:, :, 1]
    assert g[24 - 15, 32] > 200 and g[24, 32 + 15] > 100           # 12 o'clock to 3 o'clock
    assert g[24 - 11, 32 + 11] > 200                              # between them
    assert g[24 + 15, 32] == 0 and g[24, 32 - 15] == 0 and g[24, 32] == 0
    full = _paint([Ring(32, 24, 15, 3, 1.0, (0, 255, 0))])[:, :, 1]
    assert full[24 + 15, 32] > 200 and full[24, 32 - 15] > 200 and full[24, 32] == 0
    edge = full[24 - 15 - 3: 24 - 15 + 4, 32]
    assert 0 < edge.min() < 200 or len(set(edge.tolist())) > 2     # anti-aliased, not a hard step
    assert _paint([Ring(32, 24, 15, 3, 0.0)]).max() == 0
    half = _paint([Ring(32, 24, 15, 3, 1.0, (0, 255, 0), opacity=0.5)])[:, :, 1]
    assert abs(int(half[24 - 15, 32]) - int(full[24 - 15, 32]) // 2) <= 2


def test_unknown_items_are_refused_by_name():
    with pytest.raises(TypeError, match="no CPU painter for plan item str; painters exist for .*Ring, Sprite"):
        _paint(["cover"])


def test_a_missing_sticker_is_skipped_and_reported(tmp_path, caplog):
    red = _solid(tmp_path, 4, 4)
    out = _paint([Sprite(str(tmp_path / "gone.png"), 10, 10, 4, 4), Sprite(red, 30, 30, 4, 4)])
    assert out[10, 10].max() == 0 and out[30, 30, 0] == 255
    assert "image not found" in caplog.text and "gone.png" in caplog.text


def test_huge_stickers_are_refused(tmp_path):
    path = _png(tmp_path, "huge.png", np.zeros((2, 4100, 4), np.uint8))
    with pytest.raises(Exception, match="at most 4096 pixels"):
        load_premultiplied(path)


def test_image_cache_is_lru_and_bounded(tmp_path):
    paths = [_solid(tmp_path, 8, 8, (i * 40, 0, 0, 255), f"s{i}.png") for i in range(4)]
    cache = ImageCache(max_entries=3)
    for p in paths[:3]:
        cache.source(p)
    assert cache.loads == 3
    cache.source(paths[0])                      # most recently used now
    cache.source(paths[3])                      # evicts paths[1]
    assert cache.loads == 4 and len(cache) == 3
    cache.source(paths[0])
    assert cache.loads == 4
    cache.source(paths[1])
    assert cache.loads == 5
    small = ImageCache(max_bytes=8 * 8 * 4 * 2)
    for p in paths:
        small.source(p)
    assert small.nbytes <= 8 * 8 * 4 * 2 and len(small) == 2


def test_cpu_renderer_draws_items_with_the_background_off(tmp_path):
    red = _solid(tmp_path, 6, 6)
    frame = np.full((H, W, 3), 50, np.uint8)
    with CpuRenderer(threads=1) as r:
        plan = RenderPlan(W, H, 0.0, sprites=(Sprite(red, 20, 20, 6, 6),), rings=(Ring(40, 20, 6, 2, 1.0),))
        out = r.render(frame, plan)
        assert out is not frame and (frame == 50).all()
        assert (out[17:23, 17:23] == (255, 0, 0)).all() and out[20 - 6, 40].min() > 150
        assert out[40, 5].tolist() == [50, 50, 50]


def test_cpu_renderer_draws_items_over_the_background(tmp_path):
    red = _solid(tmp_path, 6, 6)
    frame = np.full((H, W, 3), 50, np.uint8)
    mask = np.zeros((H, W), np.uint8)
    with CpuRenderer(threads=1) as r:
        plan = RenderPlan(W, H, 0.0, background=BackgroundLayer("color", color=(0, 0, 200)), mask=mask,
                          sprites=(Sprite(red, 20, 20, 6, 6),))
        out = r.render(frame, plan)
        assert (out[17:23, 17:23] == (255, 0, 0)).all() and out[40, 40].tolist() == [0, 0, 200]
        again = r.render(frame, RenderPlan(W, H, 0.0, background=BackgroundLayer("color", color=(0, 0, 200)),
                                           mask=mask))
        assert again[20, 20].tolist() == [0, 0, 200]     # the cached colour fill was not drawn on
