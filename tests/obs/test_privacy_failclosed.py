"""The OBS filter's fail-closed decisions for face privacy (facefx.obs.failclosed) and the
panel's privacy values, without OBS: PrivacyGuard's reasons, the whole-frame cover it backs
the Scene's plan with, and settings_from_values for the "Face privacy" group."""
from __future__ import annotations

import pytest

from facefx.obs import props as P
from facefx.obs.failclosed import PrivacyGuard, covers_frame, ensure_covered, full_frame_cover
from facefx.scene import Cover, RenderPlan
from facefx.settings import PrivacySettings, SettingsError


def _reason(g, **kw):
    args = dict(worker_state="running", frame_seq=10, shown_seq=10, result_frame_seq=9,
                size=(640, 360), stale_frames=5)
    args.update(kw)
    return g.reason(**args)


def test_no_result_yet_covers():
    assert "first analysis result" in _reason(PrivacyGuard(), result_frame_seq=None)


@pytest.mark.parametrize("state", ["starting", "restarting", "stopped", "failed"])
def test_worker_not_running_covers_and_names_the_state(state):
    assert _reason(PrivacyGuard(), worker_state=state) == "the analysis worker is %s" % state


def test_fresh_result_uncovers():
    assert _reason(PrivacyGuard()) == ""


def test_lagging_results_cover_past_stale_frames():
    g = PrivacyGuard()
    assert _reason(g, frame_seq=14, shown_seq=14, result_frame_seq=9) == ""        # 5 behind
    assert "6 frames behind" in _reason(g, frame_seq=15, shown_seq=15, result_frame_seq=9)


def test_sync_mode_counts_lag_from_the_shown_frame():
    assert _reason(PrivacyGuard(), frame_seq=30, shown_seq=12, result_frame_seq=10) == ""


def test_resolution_change_needs_a_result_from_after_it():
    g = PrivacyGuard()
    assert _reason(g, frame_seq=10, result_frame_seq=9) == ""
    r = _reason(g, frame_seq=11, result_frame_seq=10, size=(1280, 720))
    assert "resolution changed to 1280x720" in r
    assert "resolution" in _reason(g, frame_seq=12, result_frame_seq=10, size=(1280, 720))
    assert _reason(g, frame_seq=14, result_frame_seq=11, size=(1280, 720)) == ""


def test_settings_change_needs_a_result_from_after_it():
    g = PrivacyGuard()
    assert _reason(g) == ""
    g.reset(10, "the settings changed")
    assert _reason(g, frame_seq=11, result_frame_seq=10) == "the settings changed"
    assert _reason(g, frame_seq=12, result_frame_seq=11) == ""


def _plan(covers=(), notice=""):
    return RenderPlan(640, 360, 0.0, covers=tuple(covers), notice=notice)


def test_ensure_covered_adds_one_whole_frame_cover_first():
    face = Cover(100, 100, 50, 60)
    plan = ensure_covered(_plan([face]), PrivacySettings(style="pixelate"), "the analysis worker is starting", False)
    assert len(plan.covers) == 2 and plan.covers[1] == face
    whole = plan.covers[0]
    assert covers_frame(whole, 640, 360) and whole.style == "blur" and whole.strength >= 12
    assert "worker is starting" in plan.notice


def test_ensure_covered_keeps_a_scene_whole_frame_cover_and_its_notice():
    scene_cover = Cover(320, 180, 640, 360, "rect", "plate")
    plan = _plan([scene_cover], "privacy: whole frame covered, analysis is starting")
    out = ensure_covered(plan, PrivacySettings(style="plate"), "the analysis worker is starting", True)
    assert out.covers == (scene_cover,) and out.notice == plan.notice


def test_nothing_added_without_a_reason():
    plan = _plan([Cover(1, 2, 3, 4)])
    assert ensure_covered(plan, PrivacySettings(style="blur"), "", False) is plan


@pytest.mark.parametrize("plate, style", [(True, "plate"), (False, "blur")])
def test_whole_frame_plate_only_when_captured(plate, style):
    assert full_frame_cover(PrivacySettings(style="plate"), 640, 360, plate).style == style


def test_rotated_or_smaller_cover_is_not_the_whole_frame():
    assert not covers_frame(Cover(320, 180, 640, 360, "rect", rotation=5.0), 640, 360)
    assert not covers_frame(Cover(320, 180, 600, 360, "rect"), 640, 360)
    assert not covers_frame(Cover(320, 180, 640, 360, "ellipse"), 640, 360)


# ---------------------------------------------------------------------------- panel values
def test_panel_values_turn_privacy_on_with_its_options():
    cfg = P.settings_from_values({P.K_PRIVACY: True, P.K_BACKGROUND: False, P.K_PRIV_STYLE: "pixelate",
                                  P.K_PRIV_SHAPE: "rect", P.K_PRIV_MARGIN: 40, P.K_PRIV_BLOCK: 24,
                                  P.K_PRIV_HOLD: 1500, P.K_PRIV_KEEP: "largest", P.K_PRIV_HEADS: False,
                                  P.K_PRIV_STALE: 8, P.K_PRIV_COLOR: 0xFF0000FF, P.K_PRIV_THOROUGH: True})
    p = cfg.settings.privacy
    assert (p.style, p.shape, p.margin, p.block, p.hold, p.keep_face, p.cover_heads, p.stale_frames) == (
        "pixelate", "rect", 0.4, 24, 1.5, "largest", False, 8)
    assert p.full_analysis is True
    assert p.color == (255, 0, 0)
    assert cfg.settings.stages() == {"faces"}


def test_thorough_face_search_gives_the_worker_the_recordings_analysis():
    """The panel's thorough search reaches the faces stage the worker builds: both detectors and
    the tiles on every frame, every face meshed; off, the live schedule."""
    from facefx.analysis.faces import FacesStage
    stage = FacesStage()
    for on in (True, False):
        cfg = P.settings_from_values({P.K_PRIVACY: True, P.K_BACKGROUND: False, P.K_PRIV_THOROUGH: on})
        stage.configure(cfg.settings)
        assert stage.tiled is on and (stage.full_every == 0) is on and (stage.mesh_budget_ms > 1000) is on


def test_privacy_group_off_means_style_off():
    assert P.settings_from_values({P.K_PRIVACY: False, P.K_PRIV_STYLE: "blur"}).settings.privacy.style == "off"


def test_bad_privacy_value_is_a_settings_error_naming_it():
    with pytest.raises(SettingsError, match="privacy keep-face"):
        P.settings_from_values({P.K_PRIVACY: True, P.K_PRIV_KEEP: "tallest"})


def test_missing_privacy_picture_is_a_warning_not_a_bare_face(tmp_path):
    gone = str(tmp_path / "gone.png")
    cfg = P.settings_from_values({P.K_PRIVACY: True, P.K_PRIV_STYLE: "emoji", P.K_PRIV_IMAGE: gone})
    assert "privacy picture not found" in cfg.warning and gone in cfg.warning
    assert cfg.settings.privacy.active


def test_every_panel_privacy_key_has_a_default():
    for key in (P.K_PRIVACY, P.K_PRIV_STYLE, P.K_PRIV_SHAPE, P.K_PRIV_MARGIN, P.K_PRIV_BLUR, P.K_PRIV_BLOCK,
                P.K_PRIV_COLOR, P.K_PRIV_IMAGE, P.K_PRIV_HOLD, P.K_PRIV_HEADS, P.K_PRIV_KEEP, P.K_PRIV_STALE,
                P.K_PRIV_THOROUGH):
        assert key in P.DEFAULTS
    assert P.DEFAULTS[P.K_PRIV_THOROUGH] is False   # live detection by default: bounded cost
    assert P.DEFAULTS[P.K_PRIVACY] is False     # off by default: a new filter blurs the background only
