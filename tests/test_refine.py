"""Edge refinement and decontamination (facefx/render/refine.py) on frames with known answers,
its temporal stability on a real photo, and the shape-based model choice."""
import cv2
import numpy as np
import pytest

from facefx.analysis import Engine
from facefx.demo import SAMPLE
from facefx.imageio import cover_fit, load_image_rgb
from facefx.obs import gpu
from facefx.render.cpu import HOLOGRAM_BACKDROP, CpuRenderer, person_box
from facefx.render.refine import EdgeRefiner, RefineParams, guided_coefficients
from facefx.scene import BackgroundLayer, RenderPlan, build_plan, edge_bounds
from facefx.settings import BackgroundSettings, SegmentationSettings, Settings, model_for_frame

W, H, S = 320, 180, 5               # frame size and the analysis downscale factor
MW, MH = W // S, H // S
EDGE_X = 160
PERSON, WALL = (230, 200, 60), (20, 60, 200)   # luma ~196 vs ~63


def _two_colour_frame():
    f = np.empty((H, W, 3), np.uint8)
    f[:, :EDGE_X] = PERSON
    f[:, EDGE_X:] = WALL
    return f


def _blurred_step_mask(crossing_x: float, sigma: float = 1.5):
    """Analysis-size mask: person left of crossing_x (full-res pixels), edge blurred."""
    x = (np.arange(MW) + 0.5) * S
    p = 1.0 / (1.0 + np.exp((x - crossing_x) / (sigma * S)))
    return np.repeat((p * 255 + 0.5).astype(np.uint8)[None, :], MH, axis=0)


def _crossing(coverage_row):
    """First x where coverage drops below half."""
    return int(np.argmax(coverage_row < 128))


def _plan(mask, refine, mode="color", color=(0, 255, 0)):
    layer = BackgroundLayer(mode, color=color)
    return RenderPlan(W, H, 0.0, background=layer, mask=mask, edge=edge_bounds(0.5, 0.35), refine=refine)


@pytest.fixture
def renderer():
    with CpuRenderer(threads=1) as r:
        yield r


@pytest.mark.parametrize("offset", [-10, -6, 6, 10])
def test_sharp_colour_edge_under_blurred_mask_lands_on_the_edge(renderer, offset):
    frame, mask = _two_colour_frame(), _blurred_step_mask(EDGE_X + offset)
    raw = renderer.coverage(frame, _plan(mask, False))[H // 2].copy()
    refined = renderer.coverage(frame, _plan(mask, True))[H // 2]
    assert abs(_crossing(raw) - (EDGE_X + offset)) <= 2          # the model's edge, off the colour edge
    assert abs(_crossing(refined) - EDGE_X) <= 1, f"refined edge at {_crossing(refined)}, colour edge at {EDGE_X}"


def test_flat_region_keeps_the_mask():
    frame = np.full((H, W, 3), 128, np.uint8)
    ramp = np.linspace(0, 255, MW).astype(np.uint8)
    mask = np.repeat(ramp[None, :], MH, axis=0)
    out = np.empty((H, W), np.uint8)
    box = person_box(mask, 0.0, W, H, margin=RefineParams().margin + 1)
    EdgeRefiner().refined_mask(frame, mask, out, box, decontaminate=False)
    plain = cv2.resize(mask, (W, H), interpolation=cv2.INTER_LINEAR)
    edge = S * RefineParams().margin        # the ramp's ends are clamped by the box filter's border
    inner = np.s_[:, edge:-edge]
    assert np.abs(out[inner].astype(int) - plain[inner]).max() <= 2


def test_coefficients_are_zero_slope_on_a_flat_guide():
    guide = np.full((MH, MW), 77, np.uint8)
    mask = np.random.default_rng(0).integers(0, 256, (MH, MW)).astype(np.uint8)
    a, b = guided_coefficients(guide, mask)
    assert np.abs(a).max() < 1e-3
    with pytest.raises(ValueError, match="same size"):
        guided_coefficients(guide[:-1], mask)


def test_refine_params_are_validated():
    with pytest.raises(ValueError, match="radius"):
        RefineParams(radius=0)
    with pytest.raises(ValueError, match="eps"):
        RefineParams(eps=0)


def _mixed_edge_frame(band=20):
    """Person colour left, wall right, a band where the camera saw a mix of both."""
    f = _two_colour_frame().astype(np.float32)
    alpha = np.clip((EDGE_X + band / 2 - np.arange(W)) / band, 0.0, 1.0)
    f[:] = alpha[None, :, None] * np.array(PERSON) + (1 - alpha[None, :, None]) * np.array(WALL)
    return (f + 0.5).astype(np.uint8), alpha


def test_decontamination_recovers_the_person_colour_on_a_two_colour_edge():
    frame, alpha = _mixed_edge_frame()
    mask = _blurred_step_mask(EDGE_X)
    refiner = EdgeRefiner()
    scratch = np.empty((H, W), np.uint8)
    box = (0, H, 0, W)
    refiner.refined_mask(frame, mask, scratch, box, decontaminate=True)
    coverage = np.repeat((alpha * 255 + 0.5).astype(np.uint8)[None, :], H, axis=0)
    out = refiner.decontaminate(frame, coverage, box, np.empty_like(frame))
    partial = (alpha >= RefineParams().alpha_min) & (alpha < 1.0)
    got = out[H // 2, partial].astype(int)
    before = frame[H // 2, partial].astype(int)
    assert np.abs(got - PERSON).max() <= 12, got
    assert np.abs(before - PERSON).max() > 60          # the input really was contaminated
    assert (out[H // 2, alpha == 1.0] == PERSON).all()  # fully covered pixels are untouched


def test_decontamination_changes_exactly_the_partial_pixels_inside_the_box():
    """The band-only path (findNonZero + flat gathers) against the formula computed densely:
    every partly covered pixel inside the box gets F = B + (I - B) / max(alpha, alpha_min),
    faded back to I below alpha_min, with B the background estimate sampled bilinearly;
    nothing else changes."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    mask = _blurred_step_mask(EDGE_X)
    refiner = EdgeRefiner()
    box = (20, 150, 30, 290)                 # not at the origin: offsets must be applied
    refiner.refined_mask(frame, mask, np.empty((H, W), np.uint8), box, decontaminate=True)
    coverage = rng.choice(np.array([0, 0, 255, 255, 1, 90, 128, 200, 254], np.uint8), (H, W))
    out = refiner.decontaminate(frame, coverage, box, np.zeros_like(frame))
    small = cv2.resize(frame, (MW, MH), interpolation=cv2.INTER_LINEAR)
    from facefx.render.refine import background_estimate
    bg = cv2.resize(background_estimate(small, mask), (W, H), interpolation=cv2.INTER_LINEAR)
    amin = RefineParams().alpha_min
    cov = coverage.astype(np.float32)[:, :, None] / 255.0
    full = bg + (frame - bg) / np.maximum(cov, amin)            # F for alpha >= alpha_min
    want = np.clip(frame + (full - frame) * np.minimum(cov / amin, 1.0) + 0.5, 0, 255).astype(np.uint8)
    y0, y1, x0, x1 = box
    inside = np.zeros((H, W), bool)
    inside[y0:y1, x0:x1] = True
    partial = inside & (coverage > 0) & (coverage < 255)
    assert partial.sum() > 1000
    diff = np.abs(out.astype(int) - want).max(axis=2)
    assert diff[partial].max() <= 2, diff[partial].max()     # remap's fixed-point weights
    rows = np.zeros((H, W), bool)
    rows[y0:y1] = True
    untouched = rows & ~partial
    assert (out[untouched] == frame[untouched]).all()
    assert (out[partial] != frame[partial]).any(axis=1).mean() > 0.5   # the colours really moved


def test_refined_edge_is_as_stable_as_the_raw_one_on_a_still_noisy_person():
    base = cover_fit(load_image_rgb(SAMPLE), 640, 360)
    rng = np.random.default_rng(0)
    frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(16)]
    shimmer = {}
    for refine in (False, True):
        s = Settings(segmentation=SegmentationSettings(refine=refine), background=BackgroundSettings(mode="color"))
        covs = []
        with Engine(s) as engine, CpuRenderer(threads=1) as r:
            for i, f in enumerate(frames):
                plan = build_plan(engine.analyze(f, i / 30.0), s, i / 30.0, 640, 360)
                covs.append(r.coverage(f, plan).astype(np.float32))
        c = np.array(covs[4:])                      # after the smoothing settled
        mean = c.mean(axis=0)
        edge = (mean > 5) & (mean < 250)
        assert edge.sum() > 1000
        shimmer[refine] = float(c.std(axis=0)[edge].mean())
    assert shimmer[True] <= 1.25 * shimmer[False], shimmer


def test_obs_renderer_uses_the_same_refinement_parameters():
    p = RefineParams()
    assert (gpu.REFINE_RADIUS, gpu.REFINE_EPS, gpu.REFINE_BG_RADIUS, gpu.REFINE_ALPHA_MIN) == (
        p.radius, p.eps, p.bg_radius, p.alpha_min)
    assert gpu.REFINE_BOX_MARGIN == p.margin + 1


@pytest.mark.parametrize("size,mask_width,factor", [((1280, 720), 256, 2), ((1920, 1080), 256, 2),
                                                    ((1080, 1920), 256, 2), ((640, 360), 256, 1),
                                                    ((1023, 720), 256, 1), ((1281, 720), 256, 1),
                                                    ((1280, 721), 256, 1), ((512, 512), 256, 1)])
def test_refined_level_is_applied_at_half_resolution_only_for_large_even_frames(size, mask_width, factor):
    from facefx.render.refine import apply_factor
    assert apply_factor(*size, mask_width) == factor
    assert gpu.apply_factor(*size, mask_width) == factor


def test_half_resolution_refinement_still_lands_on_the_colour_edge():
    """At 1280x720 the coefficients are applied at 640x360: the refined edge is still pulled
    onto the frame's colour edge, within a pixel of the half-resolution grid."""
    w, h, s = 1280, 720, 5
    frame = np.empty((h, w, 3), np.uint8)
    frame[:, :641] = PERSON
    frame[:, 641:] = WALL
    x = (np.arange(w // s) + 0.5) * s
    for offset in (-10, 10):
        p = 1.0 / (1.0 + np.exp((x - (641 + offset)) / (1.5 * s)))
        mask = np.repeat((p * 255 + 0.5).astype(np.uint8)[None, :], h // s, axis=0)
        plan = RenderPlan(w, h, 0.0, background=BackgroundLayer("color", color=(0, 255, 0)), mask=mask,
                          edge=edge_bounds(0.5, 0.35), refine=True)
        with CpuRenderer(threads=1) as r:
            row = r.coverage(frame, plan)[h // 2]
        assert abs(_crossing(row) - 641) <= 2, (offset, _crossing(row))


def test_obs_person_box_matches_the_cpu_one():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = np.zeros((36, 64), np.uint8)
        y, x = rng.integers(0, 34), rng.integers(0, 62)
        m[y:y + rng.integers(1, 12), x:x + rng.integers(1, 12)] = rng.integers(0, 256)
        assert gpu.person_box(m.tobytes(), 64, 36, 0.41, 1280, 720, 6) == person_box(m, 0.41, 1280, 720, margin=6)
    assert gpu.person_box(bytes(64 * 36), 64, 36, 0.41, 1280, 720, 6) is None


@pytest.mark.parametrize("size,expected", [((1280, 720), "landscape"), ((640, 480), "landscape"),
                                           ((512, 512), "general"), ((1080, 1920), "general"),
                                           ((1280, 1024), "general")])
def test_auto_model_follows_the_frame_shape(size, expected):
    assert model_for_frame("auto", *size) == expected
    assert model_for_frame("landscape", *size) == "landscape"
    assert model_for_frame("general", *size) == "general"


def test_engine_runs_the_model_auto_chooses():
    settings = Settings(background=BackgroundSettings(mode="color"))
    assert settings.segmentation.model == "auto"
    photo = load_image_rgb(SAMPLE)
    with Engine(settings) as engine:
        wide = engine.analyze(cover_fit(photo, 640, 360), 0.0)
        square = engine.analyze(cover_fit(photo, 400, 400), 0.1)
    assert wide.extras["model"] == "landscape" and square.extras["model"] == "general"
    assert square.mask.shape == (256, 256) and wide.mask.shape == (144, 256)
    assert square.mask.max() == 255 or square.mask.mean() > 50   # a person was found


def test_refine_setting_is_validated():
    from facefx.settings import SettingsError
    with pytest.raises(SettingsError, match="edge refinement must be true or false"):
        SegmentationSettings(refine="yes")


def test_refinement_is_off_by_default_and_switched_on_by_flag_or_panel():
    """Off until it meets its cost target: the default speed of main must not regress."""
    from facefx.cli import build_parser, settings_from_args
    from facefx.obs import props
    assert not Settings().segmentation.refine
    parse = build_parser().parse_args
    assert not settings_from_args(parse(["process", SAMPLE])).segmentation.refine
    assert settings_from_args(parse(["process", SAMPLE, "--refine"])).segmentation.refine
    assert props.DEFAULTS[props.K_SEG_REFINE] is False
    values = dict(props.DEFAULTS, **{props.K_SEG_REFINE: True})
    assert props.settings_from_values(values).settings.segmentation.refine
