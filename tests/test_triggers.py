"""TriggerBank: hold, hysteresis, cooldown, pause, with a fake clock (times passed explicitly)."""
from __future__ import annotations

import pytest

from facefx.results import GestureHit
from facefx.triggers import Arming, Fired, TriggerBank, TriggerSettings, events

FPS = 30.0


def hit(name: str, score: float = 0.9, hands=(0,)) -> GestureHit:
    return GestureHit(name, score, tuple(hands))


def timeline(spec, fps: float = FPS, start: float = 0.0):
    """[(name or None, seconds), ...] -> [(t, hits)] at fps."""
    out, t = [], start
    for name, seconds in spec:
        for _ in range(int(round(seconds * fps))):
            out.append((t, [hit(name)] if name else []))
            t += 1.0 / fps
    return out


def fired(bank, spec, **kw):
    return [(e.name, round(e.t, 3)) for e in events(bank, timeline(spec, **kw))]


def test_fires_once_after_the_hold_and_not_again_while_held():
    bank = TriggerBank(TriggerSettings(hold=0.5))
    out = fired(bank, [("thumbs_up", 3.0)])
    assert len(out) == 1
    name, t = out[0]
    assert name == "thumbs_up" and 0.5 <= t < 0.5 + 1.5 / FPS


def test_shorter_than_hold_never_fires():
    assert fired(TriggerBank(TriggerSettings(hold=0.5)), [("victory", 0.4), (None, 1.0)]) == []


def test_brief_dropouts_do_not_restart_the_hold():
    bank = TriggerBank(TriggerSettings(hold=0.5, dropout=0.2))
    out = fired(bank, [("fist", 0.3), (None, 0.1), ("fist", 0.3)])
    assert [n for n, _ in out] == ["fist"]
    assert out[0][1] == pytest.approx(0.5, abs=1.5 / FPS)


def test_a_long_dropout_restarts_the_hold():
    bank = TriggerBank(TriggerSettings(hold=0.5, dropout=0.2, cooldown=0.0))
    assert fired(bank, [("fist", 0.4), (None, 0.4), ("fist", 0.4)]) == []


def test_a_different_gesture_resets_the_hold():
    bank = TriggerBank(TriggerSettings(hold=0.5))
    assert fired(bank, [("fist", 0.4), ("thumbs_up", 0.4), ("fist", 0.4)]) == []
    out = fired(bank, [("thumbs_up", 0.6)], start=2.0)
    assert [n for n, _ in out] == ["thumbs_up"]


def test_release_and_show_again_refires_only_after_the_cooldown():
    bank = TriggerBank(TriggerSettings(hold=0.5, cooldown=2.0, dropout=0.1))
    out = fired(bank, [("ok", 1.0), (None, 0.5), ("ok", 1.0), (None, 0.5), ("ok", 1.0)])
    times = [t for _, t in out]
    assert [n for n, _ in out] == ["ok", "ok"]
    assert times[1] - times[0] >= 2.0


def test_cooldown_is_per_gesture():
    bank = TriggerBank(TriggerSettings(hold=0.5, cooldown=10.0))
    out = fired(bank, [("ok", 0.8), ("fist", 0.8)])
    assert [n for n, _ in out] == ["ok", "fist"]


def test_disabled_gestures_are_ignored():
    bank = TriggerBank(TriggerSettings(enabled={"fist"}))
    assert fired(bank, [("victory", 1.0), ("fist", 1.0)])[0][0] == "fist"
    assert len(fired(TriggerBank(TriggerSettings(enabled=())), [("fist", 1.0)])) == 0


def test_the_held_gesture_wins_over_a_stronger_newcomer_in_the_same_frame():
    bank = TriggerBank(TriggerSettings(hold=0.5))
    bank.update([hit("fist", 0.6)], 0.0)
    out = bank.update([hit("fist", 0.6), hit("victory", 0.99, (1,))], 0.6)
    assert out == [Fired("fist", 0.6, (0,))]


def test_pause_blocks_everything_and_resuming_starts_afresh():
    bank = TriggerBank(TriggerSettings(hold=0.5))
    bank.update([hit("fist")], 0.0)
    bank.paused = True
    assert bank.update([hit("fist")], 0.6) == [] and bank.arming(0.6) == []
    bank.paused = False
    assert bank.update([hit("fist")], 0.7) == []
    assert bank.update([hit("fist")], 1.2) == [Fired("fist", 1.2, (0,))]


def test_arming_reports_progress_until_it_fires():
    bank = TriggerBank(TriggerSettings(hold=0.5, dropout=0.2))
    assert bank.arming(0.0) == []
    bank.update([hit("victory", hands=(1,))], 0.0)
    bank.update([hit("victory", hands=(1,))], 0.25)
    assert bank.arming(0.25) == [Arming("victory", pytest.approx(0.5), (1,))]
    assert bank.arming(0.6) == []          # lost for longer than the dropout
    bank.update([hit("victory", hands=(1,))], 0.5)
    assert bank.arming(0.5) == []          # fired


def test_time_going_backwards_starts_over():
    bank = TriggerBank(TriggerSettings(hold=0.5, cooldown=100.0))
    assert len(fired(bank, [("fist", 1.0)], start=10.0)) == 1
    assert len(fired(bank, [("fist", 1.0)], start=0.0)) == 1


def test_per_gesture_hold_and_cooldown_override_the_defaults():
    bank = TriggerBank(TriggerSettings(hold=0.5, cooldown=10.0, dropout=0.1, holds={"ok": 1.5},
                                       cooldowns={"fist": 0.5}))
    out = fired(bank, [("ok", 1.4), (None, 0.3), ("ok", 1.7)])
    assert [n for n, _ in out] == ["ok"] and out[0][1] == pytest.approx(1.7 + 1.5, abs=1.5 / FPS)
    arming = TriggerBank(TriggerSettings(hold=0.5, holds={"ok": 2.0}))
    arming.update([hit("ok")], 0.0)
    arming.update([hit("ok")], 1.0)
    assert arming.arming(1.0)[0].progress == pytest.approx(0.5)
    out = fired(bank, [("fist", 0.8), (None, 0.3), ("fist", 0.8)], start=10.0)
    assert [n for n, _ in out] == ["fist", "fist"]          # its own 0.5 s cooldown, not 10 s


def test_gesture_settings_carry_effect_overrides_into_the_bank():
    from facefx.settings import GestureEffect, GestureSettings
    g = GestureSettings(enabled=True, hold=0.5, cooldown=3.0,
                        effects=(GestureEffect("ok", hold=1.2), GestureEffect("fist", cooldown=0.0)))
    ts = g.trigger_settings()
    assert ts.holds == {"ok": 1.2} and ts.cooldowns == {"fist": 0.0} and ts.hold == 0.5


@pytest.mark.parametrize("kw, word", [({"hold": -1}, "hold"), ({"cooldown": float("nan")}, "cooldown"),
                                      ({"dropout": "x"}, "dropout"), ({"enabled": "fist"}, "enabled"),
                                      ({"holds": {"ok": -0.5}}, "hold for 'ok'"),
                                      ({"cooldowns": [("ok", 1)]}, "cooldowns must map")])
def test_bad_settings_are_rejected_by_name(kw, word):
    with pytest.raises(ValueError, match=word):
        TriggerSettings(**kw)
