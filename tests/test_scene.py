import numpy as np
import pytest

from facefx.analysis import Analysis
from facefx.scene import blur_geometry, build_plan, edge_bounds, hologram_at
from facefx.settings import BackgroundSettings, SegmentationSettings, Settings


def _analysis(mask=None):
    return Analysis(0, 0.0, (64, 36), (64, 36), mask=mask)


@pytest.mark.parametrize("analysis,settings", [
    (None, Settings(background=BackgroundSettings(mode="blur"))),
    (_analysis(None), Settings(background=BackgroundSettings(mode="blur"))),
    (_analysis(np.zeros((36, 64), np.uint8)), Settings()),
], ids=["no-analysis", "no-mask", "no-effect"])
def test_no_analysis_or_no_effect_draws_nothing(analysis, settings):
    """The renderers draw nothing when the plan has no background layer or no mask."""
    plan = build_plan(analysis, settings, 0.5, 64, 36)
    assert (plan.width, plan.height, plan.time) == (64, 36, 0.5)
    assert plan.background is None and plan.mask is None and not plan.alpha_output
    assert plan.sprites == () and plan.face_regions == ()


@pytest.mark.parametrize("mode", ["blur", "image", "color", "transparent", "hologram"])
def test_every_mode_gets_its_layer(mode):
    bg = BackgroundSettings(mode=mode, image="bg.png", blur=30, color=(1, 2, 3),
                            hologram_color=(4, 5, 6))
    s = Settings(background=bg, segmentation=SegmentationSettings(threshold=0.4, softness=0.2))
    mask = np.zeros((36, 64), np.uint8)
    plan = build_plan(_analysis(mask), s, 1.0, 64, 36)
    layer = plan.background
    assert layer.mode == mode
    assert plan.mask is mask                           # the analysis mask, not a copy
    assert plan.edge == edge_bounds(0.4, 0.2)
    assert plan.alpha_output == (mode == "transparent")
    assert layer.blur == (blur_geometry(30, 64, 36) if mode == "blur" else None)
    assert layer.image == ("bg.png" if mode in ("image", "hologram") else "")
    assert layer.hologram == (hologram_at((4, 5, 6), 1.0, 36) if mode == "hologram" else None)
    if mode == "color":
        assert layer.color == (1, 2, 3)


@pytest.mark.parametrize("strength,h", [(10, 720), (50, 720), (100, 720), (50, 1080), (100, 360)])
def test_blur_geometry_is_power_of_two_with_small_sigma(strength, h):
    g = blur_geometry(strength, h * 16 // 9, h)
    assert g.downscale & (g.downscale - 1) == 0
    assert g.sigma_small * g.downscale == pytest.approx(strength / 100 * 0.04 * h)
    assert g.ksize % 2 == 1 and g.ksize >= 6 * g.sigma_small
    if g.downscale > 1:
        assert 1.5 <= g.sigma_small < 3.0 + 1e-9


def test_zero_blur_is_identity_geometry():
    g = blur_geometry(0, 1280, 720)
    assert g.downscale == 1 and g.sigma_small == 0 and g.ksize == 1


def test_edge_bounds_centred_on_threshold_and_widen_with_softness():
    lo, hi = edge_bounds(0.5, 0.4)
    assert (lo + hi) / 2 == pytest.approx(0.5)
    lo2, hi2 = edge_bounds(0.5, 0.8)
    assert hi2 - lo2 > hi - lo
    lo0, hi0 = edge_bounds(0.3, 0.0)
    assert 0 < hi0 - lo0 < 0.01 and lo0 < 0.3 < hi0


def test_hologram_animates_with_time_deterministically():
    a, b = hologram_at((0, 0, 255), 0.0, 720), hologram_at((0, 0, 255), 0.1, 720)
    assert a.scan_phase != b.scan_phase
    assert hologram_at((0, 0, 255), 0.1, 720) == b
    assert 0.85 <= a.brightness <= 1.0
