import pytest

from facefx import results
from facefx.settings import (BUILTIN_GESTURES, BackgroundSettings, GestureEffect, GestureSettings,
                             SegmentationSettings, Settings, SettingsError, color_to_obs, parse_color)


def test_defaults_are_valid_and_round_trip():
    s = Settings()
    assert Settings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("value,expected", [
    ("#00B140", (0, 177, 64)), ("ff0000", (255, 0, 0)), ((1, 2, 3), (1, 2, 3)),
    (0xFF4080C0, (0xC0, 0x80, 0x40)),  # OBS stores 0xAABBGGRR
])
def test_parse_color(value, expected):
    assert parse_color(value) == expected


def test_obs_color_round_trip():
    assert parse_color(color_to_obs((10, 20, 30))) == (10, 20, 30)


@pytest.mark.parametrize("value", ["green", "#12345", "#GGGGGG", (1, 2), (0, 0, 256), True, -1,
                                   [1, 2, "x"], (1.5, 2, 3), None])
def test_bad_colors_name_the_expected_form(value):
    with pytest.raises(SettingsError, match="RRGGBB|0xFFFFFFFF"):
        parse_color(value)


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "sparkles"}, "background mode must be one of"),
    ({"blur": 101}, "blur strength must be from 0 to 100"),
    ({"blur": "x"}, "blur strength must be a number"),
    ({"mode": "image"}, "needs a background image path"),
    ({"color": "#12"}, "RRGGBB"),
])
def test_background_validation(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        BackgroundSettings(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"model": "huge"}, "segmentation model must be one of auto, landscape, general"),
    ({"analysis_width": 32}, "analysis width must be from 64"),
    ({"analysis_width": 100.5}, "whole number"),
    ({"smoothing": 1.5}, "mask smoothing must be from 0 to 1"),
    ({"threshold": 0.0}, "mask threshold"),
    ({"softness": -0.1}, "edge softness"),
])
def test_segmentation_validation(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        SegmentationSettings(**kwargs)


@pytest.mark.parametrize("data,match", [
    ({"background": "blur"}, "section 'background' must be an object"),
    ([1, 2], "settings must be an object"),
    ({"background": {"mode": "image", "image": ["a.png"]}}, "background image must be a file path"),
])
def test_from_dict_rejects_wrong_types(data, match):
    with pytest.raises(SettingsError, match=match):
        Settings.from_dict(data)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(SettingsError, match="unknown background setting"):
        Settings.from_dict({"background": {"blurr": 3}})
    with pytest.raises(SettingsError, match="unknown settings section"):
        Settings.from_dict({"stickers": {}})


def test_needs_segmentation_only_with_a_background_effect():
    assert not Settings().needs_segmentation()
    assert Settings(background=BackgroundSettings(mode="blur")).needs_segmentation()


GESTURES_ON = GestureSettings(enabled=True)


@pytest.mark.parametrize("settings,stages", [
    (Settings(), set()),
    (Settings(background=BackgroundSettings(mode="hologram")), {"segmentation"}),
    (Settings(gestures=GESTURES_ON), {"hands", "gestures"}),
    (Settings(gestures=GestureSettings(enabled=True, gestures=())), set()),
    (Settings(gestures=GestureSettings(enabled=False)), set()),
    (Settings(background=BackgroundSettings(mode="blur"), gestures=GESTURES_ON), {"segmentation", "hands", "gestures"}),
])
def test_stages_are_what_the_enabled_effects_need(settings, stages):
    assert settings.stages() == frozenset(stages)
    assert settings.needs_segmentation() == ("segmentation" in stages)


def test_gesture_names_match_the_results_module():
    assert BUILTIN_GESTURES == results.BUILTIN_GESTURES


def test_gesture_defaults_and_effects():
    g = GestureSettings()
    assert not g.enabled and g.hold == 0.5 and g.arming_ring and not g.paused
    assert g.gestures == BUILTIN_GESTURES
    hearts = g.effect("heart_hands")
    assert (hearts.placement, hearts.animation, hearts.hold, hearts.cooldown) == ("fullscreen", "hearts", 0.5, 3.0)
    thumbs = g.effect("thumbs_up")
    assert (thumbs.placement, thumbs.sticker, thumbs.animation) == ("follow-hand", "", "")
    custom = GestureSettings(hold=1.0, effects=(GestureEffect("thumbs_up", sticker="/x/like.png",
                                                              placement="corner", hold=0.25),))
    e = custom.effect("thumbs_up")
    assert (e.sticker, e.placement, e.hold, e.cooldown) == ("/x/like.png", "corner", 0.25, 3.0)
    assert custom.effect("fist").hold == 1.0


def test_gesture_section_round_trips_through_dict_and_json():
    import json
    s = Settings(gestures=GestureSettings(
        enabled=True, gestures=("thumbs_up", "heart_hands", "Wave"), hold=0.75, cooldown=5, arming_ring=False,
        paused=True, effects=(GestureEffect("thumbs_up", sticker="thumbs_down", placement="corner",
                                            corner="bottom-left", size=0.3, duration=4),
                              GestureEffect("Wave", placement="fullscreen", animation="confetti"))))
    assert Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_gesture_effects_from_a_settings_file():
    s = Settings.from_dict({"gestures": {"enabled": True, "gestures": ["victory", "ok"],
                                         "effects": {"victory": {"placement": "follow-hand"},
                                                     "ok": {"placement": "fullscreen", "animation": "rain"}}}})
    assert s.gestures.gestures == ("victory", "ok")
    assert s.gestures.effect("victory").animation == ""          # the default balloons is dropped
    assert s.gestures.effect("ok").animation == "rain"


@pytest.mark.parametrize("kwargs,match", [
    ({"enabled": 1}, "gestures enabled must be true or false"),
    ({"paused": "no"}, "gestures paused must be true or false"),
    ({"gestures": "thumbs_up"}, "must be a list of gesture names"),
    ({"gestures": ("ok", "ok")}, r"\['ok'\] more than once"),
    ({"gestures": ("",)}, "enabled gesture must be a gesture name of 1 to 64 bytes"),
    ({"gestures": ("x" * 65,)}, "1 to 64 bytes"),
    ({"hold": 6}, "gesture hold time must be from 0 to 5"),
    ({"cooldown": -1}, "gesture cooldown"),
    ({"effects": (GestureEffect("ok"), GestureEffect("ok"))}, "more than once"),
    ({"effects": {"ok": "big"}}, "effect for gesture 'ok' must be an object"),
    ({"effects": {"ok": {"colour": 1}}}, "unknown effect setting"),
    ({"effects": ["ok"]}, "must map gesture names to effect settings"),
])
def test_gesture_section_validation(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        GestureSettings(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"placement": "floating"}, "placement for 'ok' must be one of follow-hand, corner, fullscreen"),
    ({"placement": "fullscreen"}, "needs an animation, one of hearts"),
    ({"placement": "fullscreen", "animation": "snow"}, "needs an animation"),
    ({"animation": "hearts"}, "needs placement 'fullscreen'"),
    ({"corner": "middle"}, "corner for 'ok' must be one of"),
    ({"sticker": "my sticker.jpg"}, "must be a .png path"),
    ({"sticker": 3}, "image path or a built-in sticker name"),
    ({"size": 0}, "sticker size for 'ok' must be from 0.02 to 1"),
    ({"duration": 0}, "duration for 'ok'"),
    ({"hold": -1}, "hold time for 'ok'"),
    ({"cooldown": "soon"}, "cooldown for 'ok' must be a number"),
])
def test_gesture_effect_validation(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        GestureEffect("ok", **kwargs)


def test_face_effects_turn_on_their_stages():
    from facefx.settings import ExpressionSettings, PrivacySettings
    assert Settings(expressions=ExpressionSettings(mode="beside")).stages() == {"faces", "expressions"}
    assert Settings(privacy=PrivacySettings(style="blur")).stages() == {"faces", "segmentation", "heads"}
    assert Settings(privacy=PrivacySettings(style="blur", cover_heads=False)).stages() == {"faces"}


def test_face_sections_round_trip_and_name_bad_values():
    s = Settings.from_dict({"faces": {"max_faces": 2}, "expressions": {"mode": "panel", "emojis": {"happy": "h.png"}},
                            "privacy": {"style": "pixelate", "color": "#112233"}})
    assert Settings.from_dict(s.to_dict()) == s
    with pytest.raises(SettingsError, match="expression mode must be one of off, beside"):
        Settings.from_dict({"expressions": {"mode": "over"}})
    with pytest.raises(SettingsError, match="privacy style must be one of off, blur"):
        Settings.from_dict({"privacy": {"style": "hide"}})
    with pytest.raises(SettingsError, match="emoji for expression 'happy' must be a .png"):
        Settings.from_dict({"expressions": {"emojis": {"happy": "h.gif"}}})
