"""Expression emojis in the CPU renderer: the replacement emoji covers the face box (pixels),
and the Label painter writes readable text on a dark plate inside the frame."""
from __future__ import annotations

import math

import numpy as np
import pytest

from facefx.render.cpu import CpuRenderer
from facefx.render.painters import Painters, label_patch
from facefx.results import Face
from facefx.scene import Label, Scene
from facefx.settings import ExpressionSettings, Settings

W, H = 640, 360
GREEN = (0, 255, 0)


class Result:
    def __init__(self, *faces):
        self.faces = faces


@pytest.mark.parametrize("roll", [0.0, 30.0])
@pytest.mark.parametrize("expression", ["happy", "sad", "surprise", "neutral"])
def test_replacement_emoji_covers_every_pixel_of_the_face_box(roll, expression):
    box = (0.35, 0.2, 0.18, 0.45)
    sc = Scene(Settings(expressions=ExpressionSettings(mode="replace")))
    sc.update(Result(Face(1, box, 0.9, roll=math.radians(roll), expression=expression)), 0.0)
    plan = sc.plan(0.0, W, H)
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:] = GREEN
    out = CpuRenderer().render(frame, plan)
    x0, y0 = int(math.floor(box[0] * W)), int(math.floor(box[1] * H))
    x1, y1 = int(math.ceil((box[0] + box[2]) * W)), int(math.ceil((box[1] + box[3]) * H))
    inside = out[y0:y1, x0:x1].astype(int)
    # No pixel of the face box shows the frame: every one is the emoji's own colour (none of the
    # emojis has pure green in it, so any blend with the frame would show).
    frame_left = (inside[:, :, 1] > 200) & (inside[:, :, 0] < 60) & (inside[:, :, 2] < 60)
    assert not frame_left.any()
    assert (out[:20, :20] == GREEN).all()           # and the rest of the frame is untouched


def test_label_is_light_text_on_a_dark_plate_where_the_plan_says():
    out = np.full((H, W, 3), 128, np.uint8)
    Painters().paint(out, [Label("Happy", 320, 180, 24)])
    changed = np.nonzero(np.abs(out.astype(int) - 128).sum(-1) > 30)
    ys, xs = changed
    assert abs((ys.min() + ys.max()) / 2 - 180) <= 3 and abs((xs.min() + xs.max()) / 2 - 320) <= 3
    assert 24 * 1.3 <= ys.max() - ys.min() <= 24 * 2.6          # text height plus the plate's padding
    region = out[ys.min():ys.max() + 1, xs.min():xs.max() + 1].mean(-1)
    assert (region < 70).mean() > 0.4                          # mostly dark plate ...
    assert (region > 220).sum() > 24 * 10                      # ... with white letters on it
    assert out[0, 0].tolist() == [128, 128, 128]


def test_label_at_the_frame_edge_stays_inside_it():
    out = np.full((H, W, 3), 128, np.uint8)
    Painters().paint(out, [Label("Surprise", W - 5, H - 5, 20)])
    ys, xs = np.nonzero(np.abs(out.astype(int) - 128).sum(-1) > 30)
    width = label_patch("Surprise", 20, (255, 255, 255)).shape[1]
    assert xs.max() <= W - 1 and xs.min() >= W - width - 1 and ys.max() <= H - 1


def test_label_opacity_and_non_ascii_text():
    full, half = (np.full((H, W, 3), 200, np.uint8) for _ in range(2))
    Painters().paint(full, [Label("Fröhlich", 320, 180, 20)])
    Painters().paint(half, [Label("Fröhlich", 320, 180, 20, opacity=0.5)])
    dark_full, dark_half = 200 - full[180, 250:390].mean(), 200 - half[180, 250:390].mean()
    assert dark_full > 0 and dark_half == pytest.approx(dark_full / 2, rel=0.25)
    nothing = np.full((H, W, 3), 200, np.uint8)
    Painters().paint(nothing, [Label("x", 320, 180, 20, opacity=0.0), Label("", 320, 180, 20)])
    assert (nothing == 200).all()


def test_cpu_renderer_draws_emoji_and_labels_with_the_background_off():
    sc = Scene(Settings(expressions=ExpressionSettings(mode="panel")))
    sc.update(Result(Face(1, (0.4, 0.3, 0.2, 0.3), 0.9, expression="happy")), 0.0)
    plan = sc.plan(0.0, W, H)
    assert plan.background is None and len(plan.sprites) == 1 and len(plan.labels) == 1
    frame = np.zeros((H, W, 3), np.uint8)
    out = CpuRenderer().render(frame, plan)
    s = plan.sprites[0]
    assert out[int(s.y), int(s.x)].tolist() != [0, 0, 0]      # the emoji in the corner
    assert frame.max() == 0                                    # the caller's frame is not drawn on
