"""The panel's per-gesture controls -> the gestures section of Settings, without OBS."""
from __future__ import annotations

import os

import pytest

from facefx.obs import gesture_props as G
from facefx.obs import props as P
from facefx.settings import SettingsError

STICKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "stickers")


def cfg(labels=(), **values):
    return P.settings_from_values({P.K_GESTURES: True, P.K_BACKGROUND: False, **values}, labels)


def test_untouched_controls_give_every_gesture_its_default_effect():
    g = cfg().settings.gestures
    assert g.effects == ()
    assert g.effect("victory").animation == "balloons" and g.effect("ok").placement == "follow-hand"


@pytest.mark.parametrize("shows,placement,animation", [
    ("hand", "follow-hand", ""), ("corner", "corner", ""), ("confetti", "fullscreen", "confetti"),
])
def test_what_a_gesture_shows(shows, placement, animation):
    e = cfg(**{G.shows_key("victory"): shows, G.corner_key("victory"): "bottom-left"}).settings.gestures.effect("victory")
    assert (e.placement, e.animation, e.corner) == (placement, animation, "bottom-left")


def test_size_duration_and_own_timing():
    values = {G.size_key("ok"): 40, G.duration_key("ok"): 4500, G.hold_key("ok"): 1200,
              G.cooldown_key("ok"): 800}
    g = cfg(**values).settings.gestures
    e = g.effect("ok")
    assert e.size == pytest.approx(0.4) and e.duration == pytest.approx(4.5)
    assert e.hold == g.hold and e.cooldown == g.cooldown     # not ticked: the section's timing
    g = cfg(**values, **{G.own_timing_key("ok"): True}).settings.gestures
    assert g.effect("ok").hold == pytest.approx(1.2) and g.effect("ok").cooldown == pytest.approx(0.8)
    ts = g.trigger_settings()
    assert ts.holds == {"ok": pytest.approx(1.2)} and ts.cooldowns == {"ok": pytest.approx(0.8)}


def test_a_custom_sticker_replaces_a_default_animation_unless_an_animation_is_picked():
    fist = os.path.join(STICKERS, "fist.png")
    e = cfg(**{P.gesture_sticker_key("victory"): fist}).settings.gestures.effect("victory")
    assert e.placement == "follow-hand" and e.sticker == fist
    e = cfg(**{P.gesture_sticker_key("victory"): fist, G.shows_key("victory"): "corner"}).settings.gestures.effect("victory")
    assert e.placement == "corner" and e.sticker == fist


def test_custom_labels_are_gestures_like_the_built_ins():
    labels = ("Wave", "Spock")
    c = cfg(labels, **{G.gesture_key("Spock"): False, G.shows_key("Wave"): "hearts"})
    g = c.settings.gestures
    assert g.gestures[0] == "Wave" and "Spock" not in g.gestures and "thumbs_up" in g.gestures
    assert g.effect("Wave").animation == "hearts"
    assert G.names(labels)[:2] == labels and len(G.names(labels)) == len(labels) + 12
    assert "thumbs_up" in G.names(("thumbs_up",)) and len(G.names(("thumbs_up",))) == 12


def test_custom_labels_show_the_sparkles_sticker_unless_given_one():
    from facefx.scene import sticker_path
    fist = os.path.join(STICKERS, "fist.png")
    g = cfg(("Wave", "Spock"), **{P.gesture_sticker_key("Spock"): fist}).settings.gestures
    assert g.effect("Wave").sticker == "sparkles" and os.path.isfile(sticker_path(g.effect("Wave")))
    assert g.effect("Spock").sticker == fist and g.effect("thumbs_up").sticker == ""


def test_custom_model_and_labels_files(tmp_path):
    model, labels = tmp_path / "model_unquant.tflite", tmp_path / "labels.txt"
    model.write_bytes(b"x")
    labels.write_text("0 Wave\n")
    g = cfg(**{P.K_GEST_MODEL: str(model), P.K_GEST_LABELS: str(labels)}).settings.gestures
    assert (g.model, g.labels) == (str(model), str(labels))
    c = cfg(**{P.K_GEST_MODEL: str(tmp_path / "gone.tflite"), P.K_GEST_LABELS: str(labels)})
    assert c.settings.gestures.model == "" and c.settings.gestures.labels == ""
    assert "gesture model not found" in c.warning and "gone.tflite" in c.warning
    assert c.settings.gestures.active, "a missing model leaves the built-in gestures working"
    c = cfg(**{P.K_GEST_MODEL: str(model), P.K_GEST_LABELS: str(tmp_path / "nope.txt")})
    assert c.settings.gestures.model == str(model) and c.settings.gestures.labels == ""
    assert "nope.txt" in c.warning


def test_out_of_range_and_unknown_values_are_settings_errors():
    with pytest.raises(SettingsError, match="sticker size for 'ok'"):
        cfg(**{G.size_key("ok"): 0})
    with pytest.raises(SettingsError, match="what ok shows must be one of hand, corner, hearts"):
        cfg(**{G.shows_key("ok"): "explode"})


class FakeProps:
    """The part of libobs apply_visibility uses: properties by name with a visible flag."""

    def __init__(self, names):
        self.visible = {n: True for n in names}

    def obs_properties_get(self, props, key):
        key = key.decode()
        return key if key in self.visible else None

    def obs_property_set_visible(self, prop, on):
        self.visible[prop] = on


def test_only_the_picked_gestures_applicable_controls_show():
    names = G.names(("Wave",))
    keys = [k for g in names for k in G.gesture_defaults(g) if k not in (G.gesture_key(g),)]
    lib = FakeProps(keys)
    values = {G.K_GEST_EDIT: "Wave", G.shows_key("Wave"): "corner", G.own_timing_key("Wave"): False}
    G.apply_visibility(lib, None, names, lambda k, d: values.get(k, d))
    shown = {k for k, v in lib.visible.items() if v}
    assert shown == {G.shows_key("Wave"), G.corner_key("Wave"), G.gesture_sticker_key("Wave"), G.size_key("Wave"),
                     G.duration_key("Wave"), G.own_timing_key("Wave")}
    values = {G.K_GEST_EDIT: "victory", G.own_timing_key("victory"): True}   # default: balloons
    G.apply_visibility(lib, None, names, lambda k, d: values.get(k, d))
    shown = {k for k, v in lib.visible.items() if v}
    assert G.size_key("victory") not in shown and G.corner_key("victory") not in shown
    assert {G.hold_key("victory"), G.cooldown_key("victory"), G.gesture_sticker_key("victory")} <= shown
