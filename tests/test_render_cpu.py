"""CPU renderer on synthetic frames with known answers."""
import cv2
import numpy as np
import pytest

from facefx.render.cpu import CpuRenderer, edge_lut, halve_to
from facefx.scene import (BackgroundLayer, RenderPlan, blur_geometry, edge_bounds, hologram_at)

H, W = 72, 128
FG = (200, 100, 50)


@pytest.fixture
def renderer():
    with CpuRenderer(threads=1) as r:
        yield r


def _frame(color=FG):
    f = np.empty((H, W, 3), np.uint8)
    f[:] = color
    return f


def _half_mask():
    m = np.zeros((H // 2, W // 2), np.uint8)
    m[:, : W // 4] = 255
    return m


def _plan(layer, mask, **kw):
    return RenderPlan(W, H, 0.0, background=layer, mask=mask, edge=edge_bounds(0.5, 0.0), **kw)


def test_passthrough_returns_frame_untouched(renderer):
    f = _frame()
    assert renderer.render(f, RenderPlan(W, H, 0.0)) is f


def test_color_background_keeps_person_untouched(renderer):
    out = renderer.render(_frame(), _plan(BackgroundLayer("color", color=(0, 0, 255)), _half_mask()))
    assert (out[:, : W // 2 - 4] == FG).all()
    assert (out[:, W // 2 + 4:] == (0, 0, 255)).all()


def test_partial_mask_blends_proportionally(renderer):
    mask = np.full((H // 2, W // 2), 128, np.uint8)
    plan = RenderPlan(W, H, 0.0, background=BackgroundLayer("color", color=(0, 0, 0)), mask=mask,
                      edge=(0.0, 1.0))
    out = renderer.render(_frame(), plan)
    cover = edge_lut(0.0, 1.0)[128] / 255.0
    np.testing.assert_allclose(out[H // 2, W // 2], np.array(FG) * cover, atol=1.5)


def test_edge_lut_is_monotonic_and_hits_the_ends():
    lut = edge_lut(*edge_bounds(0.5, 0.4))
    assert lut[0] == 0 and lut[255] == 255
    assert (np.diff(lut.astype(int)) >= 0).all()
    assert 100 < lut[128] < 156


def test_blur_background_has_no_halo_of_the_person(renderer):
    """Red person on a grey wall: the blurred wall next to the person must stay grey. A plain
    blur of the frame (what tutorials do) smears the red into it."""
    frame = _frame((100, 100, 100))
    frame[:, : W // 2] = (255, 0, 0)
    mask = _half_mask()
    layer = BackgroundLayer("blur", blur=blur_geometry(100, W, H))
    bg = renderer.background(frame, layer, mask)
    near_edge = bg[:, W // 2 + 1: W // 2 + 8].astype(int)
    assert np.abs(near_edge - 100).max() <= 4
    plain = cv2.GaussianBlur(frame, (0, 0), layer.blur.sigma_small * layer.blur.downscale)
    assert np.abs(plain[:, W // 2 + 1: W // 2 + 8].astype(int) - 100).max() > 30


def test_blur_actually_blurs(renderer):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    out = renderer.render(frame, _plan(BackgroundLayer("blur", blur=blur_geometry(80, W, H)),
                                       np.zeros((H // 2, W // 2), np.uint8)))
    assert out.std() < frame.std() / 3


def test_image_background_is_cover_fitted_and_ignores_alpha(tmp_path, renderer):
    img = np.zeros((50, 200, 4), np.uint8)  # 4:1 picture, fully transparent
    img[:, :100] = (0, 0, 255, 0)            # BGRA: left half red
    img[:, 100:] = (255, 0, 0, 0)            # right half blue
    path = str(tmp_path / "bg.png")
    cv2.imwrite(path, img)
    out = renderer.render(_frame(), _plan(BackgroundLayer("image", image=path),
                                          np.zeros((H // 2, W // 2), np.uint8)))
    assert (out[:, : W // 2 - 2] == (255, 0, 0)).all()
    assert (out[:, W // 2 + 2:] == (0, 0, 255)).all()


def test_missing_background_image_names_the_file(renderer):
    from facefx.imageio import MediaError
    with pytest.raises(MediaError, match="image not found: /nope.png"):
        renderer.render(_frame(), _plan(BackgroundLayer("image", image="/nope.png"), _half_mask()))


def test_transparent_puts_the_mask_in_alpha(renderer):
    out = renderer.render(_frame(), _plan(BackgroundLayer("transparent"), _half_mask(), alpha_output=True))
    assert out.shape == (H, W, 4)
    assert (out[:, :, :3] == FG).all()
    assert (out[:, : W // 2 - 4, 3] == 255).all() and (out[:, W // 2 + 4:, 3] == 0).all()


def test_hologram_tints_the_person_and_leaves_the_backdrop(renderer):
    layer = BackgroundLayer("hologram", hologram=hologram_at((70, 190, 255), 0.5, H))
    out = renderer.render(_frame((120, 120, 120)), _plan(layer, _half_mask())).astype(int)
    person = out[:, 4: W // 2 - 8]
    assert (person[..., 2] > person[..., 0] + 30).all()          # blue-dominant
    rows = person[:, :, 2].mean(axis=1)
    assert rows.max() - rows.min() > 10                           # scan lines
    assert (out[:, W // 2 + 8:] == (8, 12, 24)).all()              # backdrop untouched


def test_threads_give_identical_output():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    mask = rng.integers(0, 256, (144, 256), dtype=np.uint8)
    plan = RenderPlan(1280, 720, 0.0, background=BackgroundLayer("color", color=(1, 2, 3)), mask=mask)
    with CpuRenderer(threads=1) as one, CpuRenderer(threads=2) as two:
        np.testing.assert_array_equal(one.render(frame, plan), two.render(frame, plan))


def test_rejects_wrong_frames(renderer):
    with pytest.raises(ValueError, match="HxWx3 uint8 RGB"):
        renderer.render(np.zeros((H, W), np.uint8), RenderPlan(W, H, 0.0))
    with pytest.raises(ValueError, match="plan is for"):
        renderer.render(_frame(), RenderPlan(W + 1, H, 0.0))


def test_halve_to_averages_2x2_blocks():
    img = np.array([[0, 100], [200, 60]], np.uint8)[:, :, None].repeat(3, axis=2)
    assert halve_to(img, 2)[0, 0, 0] == 90


def test_person_box_contains_all_coverage():
    from facefx.render.cpu import person_box
    rng = np.random.default_rng(5)
    for _ in range(20):
        small = np.zeros((36, 64), np.uint8)
        y, x = rng.integers(0, 30), rng.integers(0, 58)
        small[y:y + rng.integers(1, 6), x:x + rng.integers(1, 6)] = rng.integers(60, 256)
        lo, hi = edge_bounds(0.5, 0.35)
        full = cv2.LUT(cv2.resize(small, (W * 2, H * 2), interpolation=cv2.INTER_LINEAR), edge_lut(lo, hi))
        box = person_box(small, lo, W * 2, H * 2)
        if box is None:
            assert full.max() == 0
            continue
        y0, y1, x0, x1 = box
        outside = full.copy()
        outside[y0:y1, x0:x1] = 0
        assert outside.max() == 0
        assert (y1 - y0) * (x1 - x0) < 0.1 * full.size   # tight enough to save work


def _coverage(mask, plan):
    """The coverage the renderer must use: the mask upsampled bilinearly, through the edge LUT."""
    up = cv2.resize(mask, (plan.width, plan.height), interpolation=cv2.INTER_LINEAR)
    return cv2.LUT(up.reshape(plan.height, plan.width), edge_lut(*plan.edge))


@pytest.mark.parametrize("w,h", [(512, 512), (1080, 1920)])
def test_hologram_person_at_the_right_edge_narrower_than_the_ghost_offset(renderer, w, h):
    """Regression: a person box touching the right edge and narrower than the ghost offset puts
    the whole ghost beyond the frame; the renderer used to raise on the empty ghost."""
    holo = hologram_at((70, 190, 255), 0.0, h)
    mask = np.zeros((256, 256), np.uint8)
    mask[100:150, 255] = 255
    plan = RenderPlan(w, h, 0.0, background=BackgroundLayer("hologram", hologram=holo), mask=mask)
    cover = _coverage(mask, plan)
    xs = np.flatnonzero(cover.any(axis=0))
    assert xs[-1] == w - 1 and xs[-1] - xs[0] + 1 < holo.ghost_offset   # the case in question
    out = renderer.render(np.full((h, w, 3), 120, np.uint8), plan)
    person = out[cover == 255].astype(int)
    assert person.size and (person[:, 2] > person[:, 0] + 30).all()
    assert (out[cover == 0] == (8, 12, 24)).all()


def test_hologram_draws_the_ghost_right_of_the_person(renderer):
    holo = hologram_at((70, 190, 255), 0.0, H)
    mask = np.zeros((H // 2, W // 2), np.uint8)
    mask[:, 10:20] = 255
    plan = _plan(BackgroundLayer("hologram", hologram=holo), mask)
    cover = _coverage(mask, plan)
    right = np.flatnonzero(cover.any(axis=0))[-1]
    out = renderer.render(_frame((120, 120, 120)), plan)
    ghost = out[:, right + 1: right + 1 + holo.ghost_offset].astype(int)
    assert (ghost[..., 2] > 24 + 10).all()                   # faint tint over the backdrop
    assert (out[:, right + 1 + holo.ghost_offset:] == (8, 12, 24)).all()


FUZZ_MODES = ("blur", "image", "color", "transparent", "hologram", "hologram-image")


def _random_plan(rng, image):
    """A random legal plan: frame sizes from 1x1 up (odd, tiny, tall, wide), masks of any size
    with a box of any level that often touches one or more frame edges."""
    w = int(rng.choice([1, 2, 3, 5, 17, 127, 512, rng.integers(1, 720)]))
    h = int(rng.choice([1, 2, 3, 9, 31, 144, 511, rng.integers(1, 720)]))
    mw, mh = int(rng.integers(1, 96)), int(rng.integers(1, 96))
    mask = np.zeros((mh, mw), np.uint8)
    y0, x0 = int(rng.integers(0, mh)), int(rng.integers(0, mw))
    y1, x1 = int(rng.integers(y0 + 1, mh + 1)), int(rng.integers(x0 + 1, mw + 1))
    edges = rng.random(4) < 0.35
    y0, x0 = (0 if edges[0] else y0), (0 if edges[1] else x0)
    y1, x1 = (mh if edges[2] else y1), (mw if edges[3] else x1)
    mask[y0:y1, x0:x1] = rng.choice([255, int(rng.integers(1, 256))])
    mode = FUZZ_MODES[int(rng.integers(len(FUZZ_MODES)))]
    t = float(rng.uniform(0, 100))
    if mode == "blur":
        layer = BackgroundLayer("blur", blur=blur_geometry(float(rng.integers(0, 101)), w, h))
    elif mode == "image":
        layer = BackgroundLayer("image", image=image)
    elif mode == "color":
        layer = BackgroundLayer("color", color=tuple(int(c) for c in rng.integers(0, 256, 3)))
    elif mode == "transparent":
        layer = BackgroundLayer("transparent")
    else:
        layer = BackgroundLayer("hologram", image=image if mode == "hologram-image" else "",
                                hologram=hologram_at((70, 190, 255), t, h))
    edge = edge_bounds(float(rng.uniform(0.05, 0.95)), float(rng.uniform(0, 1)))
    return RenderPlan(w, h, t, background=layer, mask=mask, edge=edge,
                      alpha_output=mode == "transparent")


def test_fuzz_random_plans_render_what_the_plan_says(tmp_path):
    """Seeded random plans in every mode: no plan raises, and every pixel the coverage leaves
    alone shows the background exactly while fully covered pixels show the person untouched."""
    from facefx.imageio import cover_fit, load_image_rgb
    from facefx.render.cpu import HOLOGRAM_BACKDROP
    rng = np.random.default_rng(20261201)
    image = str(tmp_path / "bg.png")
    cv2.imwrite(image, rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    seen = set()
    with CpuRenderer(threads=2) as r:
        for i in range(300):
            plan = _random_plan(rng, image)
            mode = plan.background.mode + ("-image" if plan.background.image and
                                           plan.background.mode == "hologram" else "")
            seen.add(mode)
            frame = rng.integers(0, 256, (plan.height, plan.width, 3), dtype=np.uint8)
            where = f"plan {i}: {mode} {plan.width}x{plan.height} mask {plan.mask.shape}"
            out = r.render(frame, plan)
            cover = _coverage(plan.mask, plan)
            assert out.dtype == np.uint8, where
            if mode == "transparent":
                assert out.shape == (plan.height, plan.width, 4), where
                assert np.array_equal(out[..., :3], frame), where
                assert np.array_equal(out[..., 3], cover), where
                continue
            assert out.shape == frame.shape, where
            out = out.copy()
            if mode.startswith("hologram"):
                dx = min(plan.background.hologram.ghost_offset, plan.width - 1)
                ghost = np.zeros_like(cover)
                ghost[:, dx:] = cover[:, :plan.width - dx]
                backdrop = (cover_fit(load_image_rgb(image), plan.width, plan.height)
                            if plan.background.image else np.array(HOLOGRAM_BACKDROP, np.uint8))
                free = (cover == 0) & (ghost == 0)
                expected = np.broadcast_to(backdrop, frame.shape)
                assert np.array_equal(out[free], expected[free]), where
                continue
            bg = r.background(frame, plan.background, plan.mask).copy()
            assert np.array_equal(out[cover == 0], bg[cover == 0]), where
            assert np.array_equal(out[cover == 255], frame[cover == 255]), where
            if mode == "color":
                assert (bg == plan.background.color).all(), where
    assert seen == set(FUZZ_MODES)
