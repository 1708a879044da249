"""Identity tracking on synthetic boxes: crossing faces, leaving and returning, limits."""
import numpy as np
import pytest

from facefx.analysis.tracking import FaceTracker, colour_descriptor, descriptor_similarity, iou


def test_iou_of_identical_disjoint_and_half_overlapping_boxes():
    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == pytest.approx(1.0)
    assert iou((0, 0, 1, 1), (2, 2, 1, 1)) == 0.0
    assert iou((0, 0, 2, 1), (1, 0, 2, 1)) == pytest.approx(1 / 3)


@pytest.mark.parametrize("speed", [0.3, 0.6, 1.0])
def test_two_faces_crossing_keep_their_ids(speed):
    tracker = FaceTracker()
    fps = 30
    first = None
    for n in range(int(fps * 1.0 / speed) + 1):
        t = n / fps
        a = (0.1 + speed * t * 0.7, 0.30, 0.12, 0.16)      # left to right
        b = (0.8 - speed * t * 0.7, 0.32, 0.12, 0.16)      # right to left, a little lower
        ids = tracker.update([b, a] if n % 2 else [a, b], t)
        ids = ids[::-1] if n % 2 else ids
        if first is None:
            first = ids
        assert ids == first, f"ids swapped at t={t:.2f}s ({ids} != {first})"
    assert first[0] != first[1]


def test_face_that_leaves_and_returns_gets_its_id_back():
    rng = np.random.default_rng(1)
    skin = np.full((40, 40, 3), (200, 150, 120), np.uint8)
    shirt = np.full((40, 40, 3), (30, 60, 200), np.uint8)
    d_a, d_b = colour_descriptor(skin), colour_descriptor(shirt)
    tracker = FaceTracker(keep_s=4.0)
    for n in range(30):
        ids = tracker.update([(0.2, 0.3, 0.1, 0.1), (0.6, 0.3, 0.1, 0.1)], n / 30, [d_a, d_b])
    id_a, id_b = ids
    for n in range(30, 90):                       # A leaves for two seconds
        assert tracker.update([(0.6, 0.3, 0.1, 0.1)], n / 30, [d_b]) == [id_b]
    noisy = np.clip(skin.astype(int) + rng.integers(-8, 8, skin.shape), 0, 255).astype(np.uint8)
    back = tracker.update([(0.9, 0.5, 0.1, 0.1), (0.6, 0.3, 0.1, 0.1)], 3.0, [colour_descriptor(noisy), d_b])
    assert back == [id_a, id_b]


def test_a_stranger_or_a_face_gone_too_long_gets_a_new_id():
    face = colour_descriptor(np.full((20, 20, 3), (200, 150, 120), np.uint8))
    other = colour_descriptor(np.full((20, 20, 3), (20, 200, 40), np.uint8))
    tracker = FaceTracker(keep_s=2.0)
    (first,) = tracker.update([(0.2, 0.3, 0.1, 0.1)], 0.0, [face])
    (stranger,) = tracker.update([(0.8, 0.3, 0.1, 0.1)], 1.0, [other])
    assert stranger != first
    (late,) = tracker.update([(0.2, 0.3, 0.1, 0.1)], 5.0, [face])
    assert late not in (first, stranger)


def test_no_faces_and_reset():
    tracker = FaceTracker()
    assert tracker.update([], 0.0) == []
    tracker.update([(0.1, 0.1, 0.1, 0.1)], 0.1)
    tracker.reset()
    assert tracker.update([(0.5, 0.5, 0.1, 0.1)], 0.2) == [2]     # a new face: ids are never reused


def test_a_cut_to_a_face_of_another_size_is_a_new_face_and_leaning_in_is_not():
    """A picture switch puts a face twice the size where the old one was: it must not inherit
    the old face's id (and with it the old face's expression baseline). A face that leans in
    grows as much over a second and keeps its id; so does one detected a little larger."""
    tracker = FaceTracker()
    (first,) = tracker.update([(0.35, 0.16, 0.18, 0.18)], 0.0)
    (cut,) = tracker.update([(0.30, 0.10, 0.32, 0.40)], 1 / 30)
    assert cut != first
    tracker = FaceTracker()
    ids = set()
    for n in range(31):                                    # 0.18 to 0.36 wide over one second
        size = 0.18 * (1 + n / 30)
        ids.update(tracker.update([(0.5 - size / 2, 0.4 - size / 2, size, size)], n / 30))
    (jitter,) = tracker.update([(0.5 - 0.21, 0.4 - 0.21, 0.42, 0.42)], 31 / 30)   # 17% larger at once
    assert len(ids) == 1 and jitter in ids


def test_descriptor_similarity_bounds():
    d = colour_descriptor(np.full((8, 8, 3), 100, np.uint8))
    assert descriptor_similarity(d, d) == pytest.approx(1.0)
    assert descriptor_similarity(d, None) == 0.0
    assert colour_descriptor(np.zeros((0, 0, 3), np.uint8)).sum() == 0


def test_negative_keep_time_is_refused():
    with pytest.raises(ValueError, match="keep_s"):
        FaceTracker(keep_s=-1)


def test_a_returning_face_of_an_impossible_size_is_not_given_the_lost_id():
    """Re-identification by colour alone would hand a lost id to anyone of a similar skin tone:
    the returning box must also be of a size the lost face could have reached."""
    face = colour_descriptor(np.full((20, 20, 3), (200, 150, 120), np.uint8))
    tracker = FaceTracker(keep_s=4.0)
    (first,) = tracker.update([(0.4, 0.3, 0.1, 0.1)], 0.0, [face])
    (giant,) = tracker.update([(0.2, 0.1, 0.45, 0.6)], 2.0, [face])      # 4.5x wider, 2 s later
    assert giant != first
    tracker = FaceTracker(keep_s=4.0)
    (first,) = tracker.update([(0.4, 0.3, 0.1, 0.1)], 0.0, [face])
    (back,) = tracker.update([(0.7, 0.3, 0.15, 0.15)], 2.0, [face])      # came back a little closer
    assert back == first
