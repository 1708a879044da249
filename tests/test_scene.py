import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from facefx import stickers
from facefx.analysis import Analysis
from facefx.results import GestureHit, Hand
from facefx.scene import (Scene, Sprite, _StandInAnimations, blur_geometry, build_plan, edge_bounds,
                          hologram_at)
from facefx.settings import (BackgroundSettings, GestureEffect, GestureSettings,
                             SegmentationSettings, Settings)


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
    assert plan.sprites == () and plan.covers == () and plan.labels == ()


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


# -- the per-stream Scene -----------------------------------------------------------------------
# Stand-ins for facefx.triggers.TriggerBank and facefx.animations (built by others), with the
# interfaces the Scene is written against.

@dataclass(frozen=True)
class Fired:
    name: str
    t: float
    hands: tuple


@dataclass(frozen=True)
class Arming:
    name: str
    progress: float
    hands: tuple


class HoldBank:
    """Fires a gesture once it has been seen continuously for settings.hold seconds, then not
    again until it has been let go; arming reports the progress of a held, unfired gesture."""

    made = []

    def __init__(self, settings):
        self.settings, self.paused = settings, False
        self.since, self.fired, self.hands = {}, set(), {}
        HoldBank.made.append(self)

    def update(self, hits, t):
        seen = {h.name: h.hands for h in hits}
        for name in list(self.since):
            if name not in seen:
                del self.since[name]
                self.fired.discard(name)
        out = []
        for name, hands in seen.items():
            self.since.setdefault(name, t)
            self.hands[name] = hands
            if not self.paused and name not in self.fired and t - self.since[name] >= self.settings.hold:
                self.fired.add(name)
                out.append(Fired(name, t, hands))
        return out

    def arming(self, t):
        return [Arming(n, min(1.0, (t - s) / self.settings.hold), self.hands[n])
                for n, s in self.since.items() if n not in self.fired]


class Anim:
    """Records calls; a fullscreen animation is one sprite per second of age, a sticker one sprite."""

    def __init__(self):
        self.calls = []

    def sprites(self, kind, age, duration, width, height, seed):
        self.calls.append(("sprites", kind, age, duration, width, height, seed))
        return [Sprite(kind, width * 0.5, height * (1 - age / duration), 10, 10) for _ in range(int(age) + 1)]

    def sticker(self, image, placement, anchor, age, duration, size, width, height):
        self.calls.append(("sticker", image, placement, anchor, age, duration, size))
        if anchor is None:   # a corner
            anchor = (0.0 if placement.endswith("left") else width, 0.0 if placement.startswith("top") else height)
        return Sprite(image, anchor[0], anchor[1], size * height, size * height)


def _hand(x, y, side="right"):
    return Hand(tuple((x + k * 0.001, y + k * 0.002, 0.0) for k in range(21)), side, 0.9)


@dataclass
class Result:
    hands: tuple = ()
    gestures: tuple = ()


GEST = Settings(gestures=GestureSettings(enabled=True, gestures=("thumbs_up", "heart_hands", "fist"), hold=0.5,
                                         effects=(GestureEffect("fist", placement="corner", corner="bottom-left"),)))


def _scene(settings=GEST):
    anim = Anim()
    return Scene(settings, triggers=HoldBank, animations=anim), anim


def _hold(scene, name, hands, t0, t1, step=0.1, idx=(0,)):
    t = t0
    while t <= t1 + 1e-9:
        scene.update(Result(hands, (GestureHit(name, 0.9, idx),)), t)
        t = round(t + step, 6)


def test_scene_fires_after_hold_and_the_sticker_follows_the_hand():
    scene, anim = _scene()
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 0.0, 0.4)
    assert scene.plan(0.45, 640, 360).sprites == ()
    ring, = scene.plan(0.45, 640, 360).rings
    assert ring.progress == pytest.approx(0.9) and ring.x == pytest.approx(640 * 0.51, rel=0.01)
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 0.5, 0.5)
    plan = scene.plan(0.5, 640, 360)
    assert plan.rings == () and not plan.passthrough and plan.background is None
    s, = plan.sprites
    assert s.image == stickers.path("thumbs_up.png")
    lift = 0.6 * 0.25 * 360                                          # centred above the hand
    assert (s.x, s.y) == pytest.approx((640 * 0.51, 360 * 0.5 - lift))
    assert anim.calls[-1][2:] == ("hand", pytest.approx((640 * 0.51, 360 * 0.5 - lift)), 0.0, 2.5, 0.25)
    scene.update(Result((_hand(0.2, 0.3),)), 1.0)                    # the hand moved
    s, = scene.plan(1.2, 640, 360).sprites
    assert (s.x, s.y) == pytest.approx((640 * 0.21, 360 * 0.3 - lift))
    assert anim.calls[-1][4] == pytest.approx(0.7)                   # age from output time
    scene.update(Result(()), 1.3)                                    # hand gone: stays put
    s, = scene.plan(1.4, 640, 360).sprites
    assert (s.x, s.y) == pytest.approx((640 * 0.21, 360 * 0.3 - lift))
    assert scene.plan(3.01, 640, 360).passthrough and scene.playing == 0


def test_fullscreen_animation_is_driven_by_output_time_with_its_seed():
    scene, anim = _scene()
    two = (_hand(0.3, 0.5, "left"), _hand(0.6, 0.5, "right"))
    _hold(scene, "heart_hands", two, 0.0, 0.5, idx=(0, 1))
    counts = [len(scene.plan(t, 1280, 720).sprites) for t in (0.5, 1.0, 1.6, 2.6, 2.99, 3.0)]
    assert counts == [1, 1, 2, 3, 3, 0]                              # duration 2.5 s from t=0.5
    kinds = {c[1] for c in anim.calls if c[0] == "sprites"}
    assert kinds == {"hearts"} and {c[6] for c in anim.calls if c[0] == "sprites"} == {1}
    ages = [c[2] for c in anim.calls if c[0] == "sprites"]
    assert ages == pytest.approx([0.0, 0.5, 1.1, 2.1, 2.49])


@dataclass
class StillResult(Result):
    still: bool = True


def test_a_still_picture_shows_its_gesture_at_once_settled():
    """A picture has no time to hold a gesture in: its gestures fire at once, and the plan at
    the picture's time shows the sticker past its pop-in, an animation in full flow."""
    scene, anim = _scene()
    two = (_hand(0.3, 0.5, "left"), _hand(0.6, 0.5, "right"))
    scene.update(StillResult(two, (GestureHit("heart_hands", 0.9, (0, 1)),
                                   GestureHit("enabled_not", 0.9, (0,)))), 7.0)
    assert len(scene.plan(7.0, 1280, 720).sprites) == 2            # the hearts at age 1.0 s
    assert anim.calls[-1][:3] == ("sprites", "hearts", pytest.approx(0.4 * 2.5))
    assert [f.name for f in scene.take_fired()] == ["heart_hands"]
    # the next picture replaces it; a short sticker is still shown past its 0.35 s pop-in
    scene.update(StillResult((_hand(0.5, 0.5),), (GestureHit("thumbs_up", 0.9, (0,)),)), 8.0)
    sprite, = scene.plan(8.0, 640, 360).sprites
    assert sprite.image == stickers.path("thumbs_up.png")
    assert anim.calls[-1][0] == "sticker" and anim.calls[-1][4] == pytest.approx(1.0)
    scene.update(StillResult((_hand(0.5, 0.5),), ()), 9.0)           # a picture without one
    assert scene.plan(9.0, 640, 360).sprites == ()
    scene.paused = True
    scene.update(StillResult((_hand(0.5, 0.5),), (GestureHit("thumbs_up", 0.9, (0,)),)), 10.0)
    assert scene.plan(10.0, 640, 360).sprites == ()


def test_corner_sticker_and_configured_image():
    s = GEST.replace(gestures=GestureSettings(enabled=True, gestures=("fist",), effects=(
        GestureEffect("fist", sticker="/tmp/my.png", placement="corner", corner="bottom-left", size=0.5),)))
    scene, anim = _scene(s)
    _hold(scene, "fist", (_hand(0.5, 0.5),), 0.0, 0.5)
    sprite, = scene.plan(0.6, 100, 50).sprites
    assert sprite.image == "/tmp/my.png" and (sprite.x, sprite.y) == (0.0, 50.0) and sprite.height == 25
    assert anim.calls[-1][2:4] == ("bottom-left", None)


def test_an_unreadable_sticker_is_dropped_and_the_rest_keeps_playing(caplog):
    class Picky(Anim):
        def sticker(self, image, *args):
            if "thumbs_up" in image:
                raise ValueError(f"sticker image {image}: not a PNG file; expected an RGBA PNG file")
            return super().sticker(image, *args)

    scene = Scene(GEST, triggers=HoldBank, animations=Picky())
    two = (_hand(0.3, 0.5, "left"), _hand(0.6, 0.5, "right"))
    scene.update(Result(two, (GestureHit("thumbs_up", 0.9, (0,)), GestureHit("fist", 0.9, (1,)))), 0.0)
    scene.update(Result(two, (GestureHit("thumbs_up", 0.9, (0,)), GestureHit("fist", 0.9, (1,)))), 0.5)
    sprite, = scene.plan(0.6, 64, 36).sprites
    assert "fist" in sprite.image and scene.playing == 1
    assert "gesture thumbs_up: sticker image" in caplog.text


def test_gestures_not_enabled_never_fire_and_pause_stops_firing():
    scene, _ = _scene()
    _hold(scene, "ok", (_hand(0.5, 0.5),), 0.0, 1.0)
    assert scene.plan(1.0, 64, 36).passthrough
    scene.paused = True
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 2.0, 3.0)
    plan = scene.plan(3.0, 64, 36)
    assert plan.sprites == () and plan.rings == ()
    scene.paused = False
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 3.1, 3.1)
    assert len(scene.plan(3.1, 64, 36).sprites) == 1


def test_paused_setting_keeps_trigger_state_other_changes_rebuild_it():
    HoldBank.made.clear()
    scene, _ = _scene()
    scene.configure(GEST.replace(gestures=dataclasses.replace(GEST.gestures, paused=True)))
    assert len(HoldBank.made) == 1 and HoldBank.made[0].paused and scene.paused
    scene.configure(GEST.replace(gestures=dataclasses.replace(GEST.gestures, hold=1.0)))
    assert len(HoldBank.made) == 2 and not scene.paused


def test_arming_ring_can_be_turned_off():
    s = GEST.replace(gestures=dataclasses.replace(GEST.gestures, arming_ring=False))
    scene, _ = _scene(s)
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 0.0, 0.2)
    assert scene.plan(0.2, 64, 36).rings == ()


def test_background_and_stickers_together_and_mask_kept_by_mask_less_results():
    s = GEST.replace(background=BackgroundSettings(mode="blur"))
    scene, _ = _scene(s)
    mask = np.zeros((36, 64), np.uint8)
    scene.update(_analysis(mask), 0.0)
    scene.update(Result((_hand(0.5, 0.5),)), 0.1)                   # hands-only record: mask stays
    plan = scene.plan(0.1, 64, 36)
    assert plan.background.mode == "blur" and plan.mask is mask
    scene.configure(GEST)                                            # background off: mask dropped
    assert scene.plan(0.2, 64, 36).mask is None


def test_scene_without_trigger_module_still_draws_backgrounds():
    s = Settings(background=BackgroundSettings(mode="color"), gestures=GestureSettings(enabled=True))
    scene = Scene(s, triggers=None, animations=Anim())
    scene.update(_analysis(np.zeros((36, 64), np.uint8)), 0.0)
    assert scene.plan(0.0, 64, 36).background.mode == "color"


def test_stand_in_sticker_fades_in_and_out():
    scene = Scene(GEST, triggers=HoldBank)
    scene.animations = _StandInAnimations()
    _hold(scene, "thumbs_up", (_hand(0.5, 0.5),), 0.0, 0.5)
    ops = [scene.plan(t, 640, 360).sprites[0].opacity for t in (0.5, 0.6, 1.5, 2.9)]
    assert ops == pytest.approx([0.0, 0.5, 1.0, 0.5])


def test_many_firings_are_bounded():
    scene, _ = _scene(GEST.replace(gestures=dataclasses.replace(GEST.gestures, hold=0.0)))
    for i in range(40):
        scene.update(Result((_hand(0.5, 0.5),), (GestureHit("thumbs_up", 0.9, (0,)),)), i * 0.01)
        scene.update(Result((_hand(0.5, 0.5),)), i * 0.01 + 0.005)
    assert scene.playing == Scene.MAX_PLAYING


def test_build_plan_matches_the_scene_background():
    s = Settings(background=BackgroundSettings(mode="hologram"))
    a = _analysis(np.zeros((36, 64), np.uint8))
    scene = Scene(s, triggers=HoldBank, animations=Anim())
    scene.update(a, 0.3)
    assert scene.plan(0.7, 64, 36) == build_plan(a, s, 0.7, 64, 36)


def test_cli_processor_draws_a_fired_sticker_with_the_background_off(tmp_path):
    """Engine -> Scene -> CPU painters through the command line's Processor: a stage that sees
    a thumbs up on every frame, held 0.5 s at 10 fps, puts the sticker above the hand."""
    import cv2

    from facefx.analysis import Engine, Stage
    from facefx.io.pipeline import Processor
    from facefx.io.sources import Frame

    class ThumbsUpEverywhere(Stage):
        name = "hands"
        outputs = ("hands", "gestures")

        def process(self, image, analysis):
            analysis.hands = (_hand(0.5, 0.6),)
            analysis.gestures = (GestureHit("thumbs_up", 0.9, (0,)),)

    sticker = str(tmp_path / "like.png")
    cv2.imwrite(sticker, np.full((32, 32, 4), (0, 0, 255, 255), np.uint8))   # BGRA: red
    s = Settings(gestures=GestureSettings(enabled=True, gestures=("thumbs_up",), arming_ring=False, effects=(
        GestureEffect("thumbs_up", sticker=sticker, size=0.2, duration=1.0),)))
    proc = Processor(s, engine=Engine(s, stages=[ThumbsUpEverywhere()]))
    proc.scene = Scene(s, triggers=HoldBank)
    proc.scene.animations = _StandInAnimations()
    image = np.full((180, 320, 3), 40, np.uint8)
    try:
        outs = [proc.process(Frame(image, i, i / 10)) for i in range(8)]
    finally:
        proc.close()
    assert all(o is image for o in outs[:5])                          # held < 0.5 s: passthrough
    hand_top = int(0.6 * 180)
    above = outs[7][hand_top - 40: hand_top, 150:170]
    assert (above[:, :, 0] > 150).any() and above[:, :, 2].max() <= 40 + 1
    assert outs[7][170:, :].max() == 40                                  # below the hand untouched
