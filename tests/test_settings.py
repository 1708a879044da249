import pytest

from facefx.settings import (BackgroundSettings, SegmentationSettings, Settings, SettingsError,
                             color_to_obs, parse_color)


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
