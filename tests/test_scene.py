import numpy as np
import pytest

from facefx.analysis import Analysis
from facefx.scene import blur_geometry, build_plan, edge_bounds, hologram_at
from facefx.settings import BackgroundSettings, Settings


def _analysis(mask=None):
    return Analysis(0, 0.0, (64, 36), (64, 36), mask=mask)


def test_no_analysis_or_no_effect_passes_through():
    s = Settings(background=BackgroundSettings(mode="blur"))
    assert build_plan(None, s, 0.0, 64, 36).passthrough
    assert build_plan(_analysis(None), s, 0.0, 64, 36).passthrough
    assert build_plan(_analysis(np.zeros((36, 64), np.uint8)), Settings(), 0.0, 64, 36).passthrough


@pytest.mark.parametrize("mode", ["blur", "image", "color", "transparent", "hologram"])
def test_every_mode_gets_a_layer(mode):
    s = Settings(background=BackgroundSettings(mode=mode, image="bg.png"))
    plan = build_plan(_analysis(np.zeros((36, 64), np.uint8)), s, 1.0, 64, 36)
    assert plan.background.mode == mode
    assert plan.alpha_output == (mode == "transparent")
    assert plan.mask is not None


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
