import numpy as np
import pytest

from facefx.analysis.maskpost import MaskPostProcessor


def test_no_smoothing_is_identity():
    post = MaskPostProcessor(smoothing=0.0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        raw = rng.random((36, 64), dtype=np.float32)
        np.testing.assert_array_equal(post.process(raw), (raw * 255 + 0.5).astype(np.uint8))


def test_still_person_jitter_is_smoothed():
    """Model jitter on a still frame: the output varies far less than the input."""
    rng = np.random.default_rng(1)
    post = MaskPostProcessor(smoothing=0.8)
    raws, outs = [], []
    for _ in range(60):
        raw = np.clip(0.6 + rng.normal(0, 0.08, (36, 64)), 0, 1).astype(np.float32)
        raws.append(raw)
        outs.append(post.process(raw).astype(np.float32) / 255)
    raw_std = np.std(np.stack(raws[20:]), axis=0).mean()
    out_std = np.std(np.stack(outs[20:]), axis=0).mean()
    assert out_std < raw_std * 0.5


def test_motion_is_followed_without_ghosting():
    """A person moving into a pixel is followed in one frame; a fixed-rate average would lag."""
    post = MaskPostProcessor(smoothing=1.0)
    empty = np.zeros((10, 10), np.float32)
    full = np.ones((10, 10), np.float32)
    for _ in range(10):
        post.process(empty)
    assert post.process(full).min() >= 250
    assert post.process(empty).max() <= 5


def test_uint8_input_and_reset():
    """A small step (jitter, not motion) is smoothed, unless reset() dropped the history."""
    post = MaskPostProcessor(smoothing=0.9)
    assert (post.process(np.full((4, 4), 100, np.uint8)) == 100).all()
    smoothed = post.process(np.full((4, 4), 120, np.uint8))
    assert (smoothed < 110).all(), smoothed
    post.reset()
    assert (post.process(np.full((4, 4), 120, np.uint8)) == 120).all()


def test_rejects_bad_smoothing():
    with pytest.raises(ValueError, match="smoothing"):
        MaskPostProcessor(smoothing=2)
