"""The expression-emoji plan (facefx/expression_plan.py) on faces the tests construct: where each
mode puts the emoji, which emoji a label gets, and what is drawn when little is known."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from facefx import expression_plan as ep
from facefx.results import Face
from facefx.scene import Label, Scene, Sprite
from facefx.settings import ExpressionSettings, Settings

W, H = 1280, 720


class Result:
    def __init__(self, *faces):
        self.faces = faces


def face(tid=1, box=(0.4, 0.3, 0.15, 0.25), expression="happy", roll_deg=0.0):
    return Face(tid, box, 0.9, roll=math.radians(roll_deg), expression=expression, expression_score=0.8)


def scene(**kw):
    return Scene(Settings(expressions=ExpressionSettings(**kw)))


def plan(sc, *faces, t=0.0, size=(W, H)):
    sc.update(Result(*faces), t)
    p = sc.plan(t, *size)
    return p.sprites, p.labels


def bounds(s: Sprite):
    return s.x - s.width / 2, s.y - s.height / 2, s.x + s.width / 2, s.y + s.height / 2


def box_px(b, size=(W, H)):
    return b[0] * size[0], b[1] * size[1], (b[0] + b[2]) * size[0], (b[1] + b[3]) * size[1]


def overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


# --- beside --------------------------------------------------------------------------------------

@pytest.mark.parametrize("box", [
    (0.4, 0.3, 0.15, 0.25),     # middle of the frame
    (0.83, 0.3, 0.15, 0.25),    # at the right edge: the emoji goes to the left
    (0.0, 0.3, 0.15, 0.25),     # at the left edge
    (0.42, 0.0, 0.15, 0.27),    # at the top
    (0.42, 0.75, 0.15, 0.25),   # at the bottom
    (0.2, 0.05, 0.6, 0.9),      # a face filling the frame: the emoji shrinks into the room left
])
def test_beside_stays_in_the_frame_and_off_the_face(box):
    (s,), _ = plan(scene(mode="beside"), face(box=box))
    x0, y0, x1, y1 = bounds(s)
    assert x0 >= -1e-6 and y0 >= -1e-6 and x1 <= W + 1e-6 and y1 <= H + 1e-6
    assert not overlap(bounds(s), box_px(box))
    assert s.rotation == 0.0 and s.image.endswith("happy.png")


def test_beside_follows_and_scales_with_the_head():
    sc = scene(mode="beside")
    (a,), _ = plan(sc, face(box=(0.3, 0.3, 0.1, 0.16)), t=0.0)
    (b,), _ = plan(sc, face(box=(0.3, 0.3, 0.2, 0.32)), t=1.0)    # a second later: no smoothing left
    assert b.height == pytest.approx(2 * a.height, rel=0.01)
    assert a.height == pytest.approx(0.16 * H, rel=0.01)           # size 1 = the face box's height
    (c,), _ = plan(sc, face(box=(0.5, 0.4, 0.2, 0.32)), t=2.0)
    assert c.x - b.x == pytest.approx(0.2 * W, rel=0.01) and c.y - b.y == pytest.approx(0.1 * H, rel=0.01)


def test_beside_keeps_clear_of_a_neighbouring_face():
    left, right = (0.3, 0.3, 0.12, 0.2), (0.45, 0.3, 0.12, 0.2)   # the right side of `left` is taken
    sprites, _ = plan(scene(mode="beside"), face(1, left), face(2, right))
    for s in sprites:
        for b in (left, right):
            assert not overlap(bounds(s), box_px(b))


# --- replace -------------------------------------------------------------------------------------

@pytest.mark.parametrize("roll", [0.0, 25.0, -40.0])
def test_replace_covers_the_face_box_and_turns_with_the_roll(roll):
    box = (0.4, 0.3, 0.15, 0.3)
    (s,), _ = plan(scene(mode="replace"), face(box=box, roll_deg=roll))
    assert s.rotation == pytest.approx(roll)
    # The emoji's opaque disc (radius BUNDLED_DISC of its height) holds every corner of the box,
    # whatever the rotation.
    radius = ep.BUNDLED_DISC * s.height
    x0, y0, x1, y1 = box_px(box)
    for cx, cy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        assert math.hypot(cx - s.x, cy - s.y) <= radius
    assert (s.x, s.y) == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))
    assert s.width / s.height == pytest.approx(ep.BUNDLED_ASPECT)


def test_replace_never_shrinks_below_full_cover():
    (small,), _ = plan(scene(mode="replace", size=0.3), face())
    (normal,), _ = plan(scene(mode="replace"), face())
    (large,), _ = plan(scene(mode="replace", size=2.0), face())
    assert small.height == pytest.approx(normal.height) and large.height == pytest.approx(2 * normal.height)


# --- panel ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_panel_shows_the_largest_face_in_its_corner_with_its_label(corner):
    sc = scene(mode="panel", corner=corner)
    sprites, labels = plan(sc, face(1, (0.1, 0.3, 0.1, 0.15), "sad"), face(2, (0.5, 0.3, 0.2, 0.3), "happy"))
    (s,), (lab,) = sprites, labels
    assert s.image.endswith("happy.png") and lab.text == "Happy"
    x0, y0, x1, y1 = bounds(s)
    assert x0 >= 0 and x1 <= W and y0 >= 0 and y1 <= H
    assert (s.x < W / 2) == corner.endswith("left") and (s.y < H / 2) == corner.startswith("top")
    assert lab.y > s.y and abs(lab.x - s.x) < s.width / 2       # the label under the emoji
    assert lab.y + lab.height <= H


def test_panel_keeps_its_main_face_until_another_is_clearly_larger():
    sc = scene(mode="panel")
    (s,), _ = plan(sc, face(1, (0.1, 0.3, 0.2, 0.3), "sad"), face(2, (0.5, 0.3, 0.19, 0.29), "happy"), t=0.0)
    assert s.image.endswith("sad.png")
    (s,), _ = plan(sc, face(1, (0.1, 0.3, 0.19, 0.29), "sad"), face(2, (0.5, 0.3, 0.2, 0.3), "happy"), t=0.1)
    assert s.image.endswith("sad.png")          # slightly larger now: no switch back and forth
    (s,), _ = plan(sc, face(1, (0.1, 0.3, 0.1, 0.15), "sad"), face(2, (0.5, 0.3, 0.2, 0.3), "happy"), t=0.2)
    assert s.image.endswith("happy.png")


# --- labels and emoji choice ---------------------------------------------------------------------

def test_label_names_the_expression_under_each_emoji_inside_the_frame():
    sprites, labels = plan(scene(mode="beside", label=True), face(1, (0.2, 0.3, 0.15, 0.25), "surprise"),
                           face(2, (0.6, 0.74, 0.15, 0.25), "angry"))
    assert sorted(lab.text for lab in labels) == ["Angry", "Surprise"]
    for lab in labels:
        assert lab.height >= ep.LABEL_MIN_PX and isinstance(lab, Label)
        assert 0 <= lab.y - lab.height * 0.8 and lab.y + lab.height * 0.8 <= H
    assert not plan(scene(mode="beside"), face())[1]         # off unless asked for


@pytest.mark.parametrize("label, emoji", [("HAPPY", "happy"), ("Happiness", "happy"), ("smiling", "happy"),
                                          ("Surprised", "surprise"), ("scared", "fear"), ("Neutral", "neutral")])
def test_labels_map_to_emoji_by_name_case_insensitively(label, emoji):
    (s,), _ = plan(scene(mode="beside"), face(expression=label))
    assert s.image.replace("\\", "/").endswith(f"emoji/{emoji}.png")


def test_unknown_label_draws_no_emoji_warns_once_and_keeps_its_text(caplog):
    sc = scene(mode="replace", label=True)
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            sprites, labels = plan(sc, face(expression="Wink"), t=i / 30)
    assert sprites == () and [lab.text for lab in labels] == ["Wink"]
    warnings = [r.getMessage() for r in caplog.records if "has no emoji" in r.getMessage()]
    assert len(warnings) == 1 and "--emoji wink=" in warnings[0]


def test_a_none_class_draws_nothing_and_says_nothing(caplog):
    with caplog.at_level(logging.WARNING):
        sprites, _ = plan(scene(mode="beside"), face(expression="none"))
    assert sprites == () and not caplog.records


def test_override_images_per_label(tmp_path):
    import cv2
    wink = str(tmp_path / "wink.png")
    assert cv2.imwrite(wink, np.zeros((50, 100, 4), np.uint8))
    sc = scene(mode="beside", emojis={"Wink": wink, "happy": wink})
    (a,), _ = plan(sc, face(expression="wink"))
    assert a.image == wink and a.width == pytest.approx(2 * a.height)     # the picture's own aspect
    (b,), _ = plan(sc, face(expression="happy"), t=1.0)
    assert b.image == wink


@pytest.mark.parametrize("content", [None, b"not a png at all"])
def test_missing_or_corrupt_override_draws_nothing_for_it_with_a_message(tmp_path, caplog, content):
    path = str(tmp_path / "happy.png")
    if content is not None:
        open(path, "wb").write(content)
    with caplog.at_level(logging.WARNING):
        sc = scene(mode="beside", emojis={"happy": path})
        sprites, _ = plan(sc, face(1, expression="happy"), face(2, (0.7, 0.3, 0.1, 0.2), expression="sad"))
    assert [s.image.replace("\\", "/").rsplit("/", 1)[-1] for s in sprites] == ["sad.png"]
    assert any(path in r.getMessage() and "no emoji is drawn" in r.getMessage() for r in caplog.records)


# --- what is known -------------------------------------------------------------------------------

def test_no_face_and_faces_without_expression_draw_nothing():
    sc = scene(mode="beside", label=True)
    assert plan(sc) == ((), ())
    assert plan(sc, face(expression="")) == ((), ())


def test_off_draws_nothing():
    assert plan(scene(mode="off"), face()) == ((), ())


def test_every_face_gets_its_emoji():
    faces = [face(i, (0.05 + 0.22 * i, 0.4, 0.08, 0.14), e) for i, e in enumerate(("happy", "sad", "angry", "fear"))]
    sprites, _ = plan(scene(mode="replace"), *faces)
    assert sorted(s.image.replace("\\", "/").rsplit("/", 1)[-1] for s in sprites) == [
        "angry.png", "fear.png", "happy.png", "sad.png"]


def test_stale_results_draw_nothing():
    sc = scene(mode="beside")
    plan(sc, face(), t=0.0)
    assert sc.plan(0.5, W, H).sprites
    assert sc.plan(ep.STALE_S + 0.01, W, H).sprites == ()


def test_a_face_missing_from_one_result_fades_instead_of_flickering():
    sc = scene(mode="beside")
    plan(sc, face(), t=0.0)
    sc.update(Result(), 1 / 30)                     # detection missed it once
    (s,) = sc.plan(1 / 30, W, H).sprites
    assert 0.0 < s.opacity < 1.0
    sc.update(Result(), ep.HOLD_S + 0.05)
    assert sc.plan(ep.HOLD_S + 0.05, W, H).sprites == ()


def test_reset_forgets_the_faces():
    sc = scene(mode="beside")
    plan(sc, face())
    sc.reset()
    assert sc.plan(0.0, W, H).sprites == ()


def test_position_jitter_is_smoothed_and_a_real_move_is_followed():
    rng = np.random.default_rng(1)
    sc = scene(mode="replace")
    xs, raw = [], []
    for i in range(90):                             # 3 s at 30 fps, the box jitters 1% of its size
        x = 0.4 + rng.normal(0, 0.0015)
        (s,), _ = plan(sc, face(box=(x, 0.3, 0.15, 0.25)), t=i / 30)
        xs.append(s.x)
        raw.append((x + 0.075) * W)
    assert np.std(np.diff(xs[10:])) < 0.5 * np.std(np.diff(raw[10:]))
    t = 90 / 30
    for k in range(4):                              # the head moves by a face width
        (s,), _ = plan(sc, face(box=(0.55, 0.3, 0.15, 0.25)), t=t + k / 30)
    assert s.x == pytest.approx((0.55 + 0.075) * W, abs=0.1 * 0.15 * W)   # within 0.1 s


def test_label_text_and_canonical_names():
    assert ep.label_text("surprise") == "Surprise" and ep.label_text("big smile") == "Big smile"
    assert ep.canonical(" Very-Happy ") == "very_happy"
