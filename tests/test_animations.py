"""facefx.animations and the bundled artwork: deterministic, continuous, framed, well-behaved
at both ends, and drawing only real RGBA images that ship with the package."""
import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facefx import animations as an
from facefx import stickers
from facefx.results import BUILTIN_GESTURES, EXPRESSIONS
from facefx.scene import Sprite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W, H = 1280, 720
D = an.DEFAULT_DURATION


def _ages(duration, fps=60.0):
    n = int(duration * fps)
    return [i / fps for i in range(n)]


def _visible(sp: Sprite, w=W, h=H) -> float:
    """Opacity times the share of the sprite's (unrotated) box inside the frame."""
    x0, x1 = sp.x - sp.width / 2, sp.x + sp.width / 2
    y0, y1 = sp.y - sp.height / 2, sp.y + sp.height / 2
    area = max(sp.width * sp.height, 1e-9)
    inside = max(0.0, min(x1, w) - max(x0, 0)) * max(0.0, min(y1, h) - max(y0, 0))
    return sp.opacity * inside / area


# --- artwork --------------------------------------------------------------------------------

def _all_images():
    paths = [stickers.gesture(g) for g in BUILTIN_GESTURES]
    paths += [stickers.emoji(e) for e in EXPRESSIONS]
    paths += list(an.images())
    return paths


@pytest.mark.parametrize("path", _all_images(), ids=lambda p: os.path.relpath(p, stickers.DIR))
def test_image_is_rgba_png_with_real_alpha(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert img is not None, f"{path} missing or unreadable"
    assert img.ndim == 3 and img.shape[2] == 4, f"{path}: shape {img.shape}, expected RGBA"
    alpha = img[..., 3]
    assert an.image_size(path) == (img.shape[1], img.shape[0])
    if os.path.basename(path) in ("night.png", "gloom.png"):
        # Full-frame darkening overlays: partly transparent everywhere, denser at the top.
        assert 0 < alpha.min() and alpha.max() < 255
        assert alpha[0].mean() > alpha[-1].mean()
        return
    assert alpha.min() == 0 and alpha.max() >= 250
    # Trimmed with a small transparent margin: the border is clear, the picture reaches
    # within a few pixels of it on every side.
    assert alpha[0].max() == 0 and alpha[-1].max() == 0
    assert alpha[:, 0].max() == 0 and alpha[:, -1].max() == 0
    ys, xs = np.nonzero(alpha > 8)
    assert ys.min() <= 8 and xs.min() <= 8
    assert img.shape[0] - ys.max() <= 9 and img.shape[1] - xs.max() <= 9


def test_emoji_and_gesture_stickers_are_sticker_sized_and_distinct():
    paths = [stickers.gesture(g) for g in BUILTIN_GESTURES] + [stickers.emoji(e)
                                                               for e in EXPRESSIONS]
    digests = set()
    for p in paths:
        w, h = an.image_size(p)
        assert 120 <= max(w, h) <= 140, f"{p}: {w}x{h}, expected about 136 px"
        with open(p, "rb") as f:
            digests.add(hash(f.read()))
    assert len(digests) == len(paths), "two stickers are the same picture"


def test_artwork_is_small_and_licensed():
    total = 0
    for dirpath, _, files in os.walk(stickers.DIR):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files
                     if f.endswith(".png"))
    assert total < 1_000_000, f"stickers/ PNGs total {total} bytes, expected < 1 MB"
    with open(os.path.join(stickers.DIR, "licenses", "NotoColorEmoji-OFL-1.1.txt")) as f:
        assert "SIL OPEN FONT LICENSE Version 1.1" in f.read()
    with open(os.path.join(stickers.DIR, "README.md")) as f:
        readme = f.read()
    for p in _all_images():
        rel = os.path.relpath(p, stickers.DIR).replace(os.sep, "/")
        assert f"`{rel}`" in readme, f"{rel} is not in stickers/README.md's table"


# --- configuration --------------------------------------------------------------------------

def test_default_animations_follow_the_issue():
    assert an.DEFAULT_ANIMATION == {"heart_hands": "hearts", "two_victories": "confetti",
                                    "two_thumbs_up": "fireworks", "victory": "balloons",
                                    "two_thumbs_down": "rain"}
    assert set(an.DEFAULT_ANIMATION) <= set(BUILTIN_GESTURES)
    assert set(an.DEFAULT_ANIMATION.values()) == set(an.ANIMATIONS)


# --- full-frame animations ------------------------------------------------------------------

@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_deterministic_for_a_seed(kind):
    for age in (0.3, 1.1, 2.2):
        a = an.sprites(kind, age, D, W, H, seed=7)
        assert a == an.sprites(kind, age, D, W, H, seed=7)
        assert a, f"{kind} draws nothing at {age}s"
    assert an.sprites(kind, 1.1, D, W, H, seed=7) != an.sprites(kind, 1.1, D, W, H, seed=8)


@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_deterministic_across_processes(kind):
    """The Scene in OBS's process and the CLI must agree: no hash() or global random state."""
    code = ("import sys; from facefx import animations as a; "
            f"print(repr(a.sprites({kind!r}, 1.3, 3.0, 640, 360, seed=3)))")
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == repr(an.sprites(kind, 1.3, 3.0, 640, 360, seed=3))


@pytest.mark.parametrize("kind", an.ANIMATIONS)
@pytest.mark.parametrize("duration", [1.0, 3.0, 6.0])
def test_nothing_before_start_or_from_duration_on(kind, duration):
    for age in (-1.0, -1e-6, duration, duration + 1e-6, duration + 5.0):
        assert an.sprites(kind, age, duration, W, H) == []
    assert an.sprites(kind, duration * 0.4, duration, W, H)


@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_continuous_between_nearby_ages(kind):
    """Every sprite that can be seen at age + 1/600 s was at nearly the same place, size and
    opacity at age, and every one seen at age is still there: smooth at 60 fps and beyond,
    with no jumps when particles are born or leave (they fade, or come and go outside the
    frame)."""
    dt = 1.0 / 600.0
    for age in _ages(D - dt, fps=30):
        before = an.sprites(kind, age, D, W, H, seed=1)
        after = an.sprites(kind, age + dt, D, W, H, seed=1)
        for sp in after:
            if _visible(sp) < 0.06:
                continue
            near = [b for b in before if b.image == sp.image
                    and math.hypot(b.x - sp.x, b.y - sp.y) < 0.01 * H
                    and abs(b.width - sp.width) < 0.01 * H
                    and abs(b.height - sp.height) < 0.01 * H
                    and abs(b.opacity - sp.opacity) < 0.05
                    and abs(b.rotation - sp.rotation) < 3.0]
            assert near, f"{kind} at {age + dt:.4f}s: {sp} jumped or appeared from nothing"
        for sp in before:
            if _visible(sp) < 0.06:
                continue
            assert any(b.image == sp.image and math.hypot(b.x - sp.x, b.y - sp.y) < 0.01 * H
                       and abs(b.opacity - sp.opacity) < 0.05 for b in after), \
                f"{kind} at {age:.4f}s: {sp} vanished while visible"


@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_sprites_inside_or_entering_the_frame(kind):
    m = 0.05 * H
    for age in _ages(D, fps=20):
        for sp in an.sprites(kind, age, D, W, H, seed=2):
            # The box touches the frame, or is about to: at most a small margin outside.
            assert sp.x + sp.width / 2 >= -m and sp.x - sp.width / 2 <= W + m, (kind, age, sp)
            assert sp.y + sp.height / 2 >= -m and sp.y - sp.height / 2 <= H + m, (kind, age, sp)
            assert 0.0 <= sp.opacity <= 1.0 and sp.width > 0 and sp.height > 0
            assert sp.image in an.images(kind), f"{sp.image} not listed by images({kind!r})"


@pytest.mark.parametrize("kind", an.ANIMATIONS)
@pytest.mark.parametrize("duration", [1.5, 3.0, 5.0])
def test_enter_and_exit_transitions(kind, duration):
    start = an.sprites(kind, 1e-3, duration, W, H)
    assert max((_visible(s) for s in start), default=0.0) < 0.1, "pops in at full strength"
    end = an.sprites(kind, duration - 1e-3, duration, W, H)
    assert max((s.opacity for s in end), default=0.0) < 0.05, "cut off instead of fading out"
    middle = an.sprites(kind, 0.45 * duration, duration, W, H)
    particles = [s for s in middle if s.width < W]
    assert len(particles) >= 4 and max(_visible(s) for s in particles) > 0.7


@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_sized_relative_to_the_frame(kind):
    small = an.sprites(kind, 1.2, D, 640, 360, seed=4)
    big = an.sprites(kind, 1.2, D, 1920, 1080, seed=4)
    assert len(small) == len(big)
    for s, b in zip(small, big):
        assert (b.x, b.y, b.width, b.height) == pytest.approx(
            (3 * s.x, 3 * s.y, 3 * s.width, 3 * s.height), rel=1e-9, abs=1e-6)
        assert (b.rotation, b.opacity, b.image) == pytest.approx((s.rotation, s.opacity, s.image))


@pytest.mark.parametrize("kind", an.ANIMATIONS)
@pytest.mark.parametrize("duration", [3.0, 8.0])
def test_sprite_count_stays_small(kind, duration):
    """Each sprite is a draw on OBS's render thread: longer animations spread particles out in
    time instead of piling them up."""
    most = max(len(an.sprites(kind, age, duration, W, H)) for age in _ages(duration, fps=10))
    assert 4 <= most <= 150, f"{kind} over {duration}s draws up to {most} sprites at once"


@pytest.mark.parametrize("kind", an.ANIMATIONS)
def test_particles_sized_by_the_shorter_side(kind):
    """A portrait (vertical-video) frame gets particles sized for its width, not its height."""
    def sizes(w, h):
        return sorted(s.height for s in an.sprites(kind, 1.2, D, w, h, seed=4)
                      if s.width < min(w, h))
    land, portrait = sizes(1280, 720), sizes(720, 1280)
    assert land and portrait
    assert max(portrait) < 0.5 * 720 and max(land) < 0.5 * 720
    assert portrait[len(portrait) // 2] == pytest.approx(land[len(land) // 2], rel=0.35)


def test_particles_move_the_way_each_animation_reads():
    def mean_y(kind, age, image_part):
        ys = [s.y for s in an.sprites(kind, age, D, W, H) if image_part in s.image]
        return sum(ys) / len(ys)

    # Hearts and balloons rise; rain falls.
    hearts = [s for s in an.sprites("hearts", 0.9, D, W, H)]
    later = {(s.image, round(s.width, 3)): s.y for s in an.sprites("hearts", 1.0, D, W, H)}
    assert hearts and all(later.get((s.image, round(s.width, 3)), -1e9) <= s.y + 1e-6
                          for s in hearts if (s.image, round(s.width, 3)) in later)
    assert mean_y("balloons", 1.6, "balloon") < mean_y("balloons", 1.0, "balloon")
    assert mean_y("rain", 1.3, "rain_streak") > 0.2 * H
    # Confetti flies up from the bottom corners first, then comes down.
    early = an.sprites("confetti", 0.15, D, W, H)
    assert all(s.x < 0.3 * W or s.x > 0.7 * W for s in early if "confetti" in s.image)
    assert mean_y("confetti", 2.4, "confetti") > mean_y("confetti", 1.4, "confetti")
    # Fireworks burst beside the centre, where a face usually is.
    for s in an.sprites("fireworks", 1.5, D, W, H):
        if "spark" in s.image and s.opacity > 0.3:
            assert abs(s.x - W / 2) > 0.04 * W or s.y < 0.15 * H


@pytest.mark.parametrize("bad, message", [
    (dict(kind="snow"), "expected one of hearts, confetti"),
    (dict(duration=0), "expected seconds > 0"),
    (dict(duration=float("nan")), "expected seconds > 0"),
    (dict(age=float("inf")), "finite"),
    (dict(width=0), "frame width"),
    (dict(height=720.0), "frame height"),
    (dict(seed="x"), "seed"),
])
def test_bad_input_is_named(bad, message):
    args = dict(kind="hearts", age=1.0, duration=3.0, width=W, height=H, seed=0)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        an.sprites(**args)


def test_images_of_unknown_kind_is_named():
    with pytest.raises(ValueError, match="expected one of"):
        an.images("snow")


# --- single stickers ------------------------------------------------------------------------

THUMB = stickers.gesture("thumbs_up")


def _st(placement="hand", anchor=(640.0, 360.0), age=1.0, duration=2.0, size=0.25):
    return an.sticker(THUMB, placement, anchor, age, duration, size, W, H)


def test_sticker_pops_in_with_overshoot_and_fades_out():
    full = _st(age=1.0)
    tw, th = an.image_size(THUMB)
    assert max(full.width, full.height) == pytest.approx(0.25 * H)
    assert full.width / full.height == pytest.approx(tw / th)
    assert full.opacity == 1.0 and full.rotation == 0.0
    first = _st(age=0.0)
    assert first.opacity == 0.0 and first.width < 0.5 * full.width
    pop = [_st(age=a).width for a in np.linspace(0.0, an.POP_TIME, 50)]
    assert max(pop) > 1.05 * full.width, "no overshoot"
    assert pop[-1] == pytest.approx(full.width)
    fading = [_st(age=a).opacity for a in np.linspace(2.0 - an.FADE_TIME, 2.0 - 1e-4, 20)]
    assert all(x >= y for x, y in zip(fading, fading[1:])) and fading[-1] < 0.01


def test_sticker_is_none_outside_its_life_or_without_a_hand():
    assert _st(age=-0.01) is None
    assert _st(age=2.0) is None and _st(age=5.0) is None
    assert _st(anchor=None) is None
    assert _st(placement="top-left", anchor=None) is not None


def test_sticker_continuous_in_age():
    dt = 1.0 / 600.0
    for age in _ages(2.0 - dt, fps=60):
        a, b = _st(age=age), _st(age=age + dt)
        assert abs(a.width - b.width) < 0.01 * H and abs(a.opacity - b.opacity) < 0.05
        assert abs(a.rotation - b.rotation) < 1.0


def test_sticker_follows_the_hand_and_stays_in_the_frame():
    s = _st(anchor=(500.0, 300.0))
    assert (s.x, s.y) == (500.0, 300.0)
    s2 = _st(anchor=(520.0, 310.0))
    assert (s2.x, s2.y) == (520.0, 310.0)
    edge = _st(anchor=(5.0, H + 40.0))
    assert edge.x - edge.width / 2 >= 0 and edge.y + edge.height / 2 <= H


@pytest.mark.parametrize("corner", an.CORNERS)
def test_sticker_corners(corner):
    s = _st(placement=corner, anchor=(640.0, 360.0))
    left, top = corner.endswith("left"), corner.startswith("top")
    assert (s.x < W / 4) == left and (s.x > 3 * W / 4) == (not left)
    assert (s.y < H / 3) == top and (s.y > 2 * H / 3) == (not top)
    m = an.CORNER_MARGIN * H
    gap_x = s.x - s.width / 2 if left else W - (s.x + s.width / 2)
    gap_y = s.y - s.height / 2 if top else H - (s.y + s.height / 2)
    assert gap_x == pytest.approx(m) and gap_y == pytest.approx(m)


@pytest.mark.parametrize("bad, message", [
    (dict(placement="centre"), "expected one of hand, top-left"),
    (dict(size=0), "0 < size <= 1"),
    (dict(size=1.5), "0 < size <= 1"),
    (dict(duration=-1), "expected seconds > 0"),
])
def test_sticker_bad_input_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        _st(**bad)


def test_sticker_image_that_is_not_a_png_is_named(tmp_path):
    fake = tmp_path / "sticker.png"
    fake.write_bytes(b"GIF89a not a png at all......")
    with pytest.raises(ValueError, match="not a PNG"):
        an.sticker(str(fake), "hand", (10, 10), 0.5, 2.0, 0.2, W, H)
    with pytest.raises(ValueError, match="cannot be read"):
        an.sticker(str(tmp_path / "missing.png"), "hand", (10, 10), 0.5, 2.0, 0.2, W, H)


# --- runs inside OBS's interpreter -----------------------------------------------------------

def test_standard_library_only_and_resolves_artwork_from_a_source_checkout():
    """OBS imports facefx from the repository folder with its own Python: no numpy/cv2, and no
    installed facefx.stickers package, so the artwork is found in the top-level stickers/."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from facefx import animations as a; "
            "import os; p = a.image_path('thumbs_up.png'); "
            "s = a.sprites('fireworks', 1.0, 3.0, 640, 360); "
            "print(os.path.isfile(p), len(s) > 0, "
            "[m for m in ('numpy', 'cv2', 'PIL') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-S", "-c", code, ROOT], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "True True []"


def test_fireworks_rocket_hands_over_to_its_burst_smoothly():
    """The moment a rocket bursts is the one a 30 fps scan can miss: look there densely (the
    burst times come from the animation's own seeded parameters)."""
    dt = 1.0 / 2400.0
    for seed in range(2):
        for burst in an._params("fireworks", seed, D):
            at = burst[0] + burst[1]
            for k in range(-24, 24):
                a = at + k * dt
                totals = [sum(s.opacity for s in an.sprites("fireworks", t, D, W, H, seed)
                              if s.width < W) for t in (a, a + dt)]
                assert abs(totals[1] - totals[0]) < 0.15, (seed, a, totals)
