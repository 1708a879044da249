"""Heads from the person mask (facefx.analysis.heads): synthetic masks with known heads, and the
bundled photo's real mask."""
import cv2
import numpy as np
import pytest

from facefx.analysis.heads import head_boxes


def _person(mask, cx, head_w, top, shoulders_w, shoulder_y):
    """A head (ellipse) on shoulders (a rounded block to the bottom)."""
    h = mask.shape[0]
    cv2.ellipse(mask, (cx, top + int(0.65 * head_w)), (head_w // 2, int(0.65 * head_w)), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (cx - head_w // 5, top + head_w), (cx + head_w // 5, shoulder_y), 255, -1)   # neck
    cv2.ellipse(mask, (cx, shoulder_y + 20), (shoulders_w // 2, 30), 0, 180, 360, 255, -1)
    cv2.rectangle(mask, (cx - shoulders_w // 2, shoulder_y + 20), (cx + shoulders_w // 2, h), 255, -1)


def _inside(box, px, py, w, h):
    x, y, bw, bh = box
    return x * w <= px <= (x + bw) * w and y * h <= py <= (y + bh) * h


@pytest.mark.parametrize("n", [1, 2, 3])
def test_each_head_is_found_above_its_shoulders(n):
    w, h = 256, 144
    mask = np.zeros((h, w), np.uint8)
    xs = [int((i + 0.5) * w / n) for i in range(n)]
    hw = 40 if n < 3 else 28
    for cx in xs:
        _person(mask, cx, hw, 20, int(hw * 2.2), 20 + int(1.4 * hw))
    boxes = head_boxes(mask)
    assert len(boxes) == n
    for cx in xs:
        (box,) = [b for b in boxes if _inside(b, cx, 20 + hw * 0.65, w, h)]
        assert box[2] * w <= hw * 1.3          # the head, not the shoulders
        assert box[1] * h <= 21


def test_no_person_no_head_and_a_flat_blob_is_not_a_head():
    w, h = 256, 144
    assert head_boxes(np.zeros((h, w), np.uint8)) == []
    flat = np.zeros((h, w), np.uint8)
    flat[100:, :] = 255                         # a table edge across the frame: no peak
    assert head_boxes(flat) == []


def test_head_cut_by_the_frame_edge_is_found():
    w, h = 256, 144
    mask = np.zeros((h, w), np.uint8)
    _person(mask, 5, 40, 30, 90, 86)
    boxes = head_boxes(mask)
    assert len(boxes) == 1 and boxes[0][0] == 0.0


def test_the_bundled_photo_head_holds_the_face(astronaut):
    from facefx.analysis import Engine
    from facefx.settings import BackgroundSettings, PrivacySettings, Settings
    with Engine(Settings(background=BackgroundSettings(mode="none"), privacy=PrivacySettings(style="blur"))) as e:
        a = e.analyze(astronaut, 0.0)
    assert len(a.heads) == 1 and len(a.faces) == 1
    x, y, bw, bh = a.heads[0]
    fx, fy, fw, fh = a.faces[0].box
    assert x <= fx and y <= fy and x + bw >= fx + fw and bw < 0.5      # the head, not the torso
