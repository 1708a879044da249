"""Face privacy planning (facefx.privacy through scene.Scene): fail-closed covers, with a fake
clock (times are plain numbers handed to update() and plan())."""
import math
from dataclasses import replace

import pytest

from facefx.analysis import Analysis
from facefx.privacy import NOTICE_NO_PLATE, NOTICE_RESIZED, NOTICE_STARTING, PrivacyPlanner
from facefx.results import Face, FrameResults, decode, encode
from facefx.scene import Cover, Scene
from facefx.settings import BackgroundSettings, PrivacySettings, Settings

W, H = 640, 360


def _settings(**privacy):
    privacy.setdefault("style", "blur")
    privacy.setdefault("cover_heads", False)
    return Settings(background=BackgroundSettings(mode="none"), privacy=PrivacySettings(**privacy))


def _face(tid, x, y, w=0.1, h=0.18, roll=0.0, landmarks=()):
    return Face(track_id=tid, box=(x, y, w, h), score=0.9, roll=roll, landmarks=landmarks)


def _result(faces=(), heads=(), size=(W, H), age=0.0):
    return FrameResults(faces=tuple(faces), heads=tuple(heads), has_faces=True, frame_size=size, faces_age=age)


def _scene(**privacy):
    return Scene(_settings(**privacy), triggers=lambda g: None)


def _is_full(plan):
    return (len(plan.covers) == 1 and plan.covers[0].shape == "rect" and plan.covers[0].width >= plan.width
            and plan.covers[0].height >= plan.height)


def _contains(cover: Cover, px, py):
    """Whether point (px, py) in pixels is inside the cover's shape."""
    t = math.radians(-cover.rotation)
    dx, dy = px - cover.x, py - cover.y
    lx, ly = dx * math.cos(t) - dy * math.sin(t), dx * math.sin(t) + dy * math.cos(t)
    if cover.shape == "ellipse":
        return (lx / (cover.width / 2)) ** 2 + (ly / (cover.height / 2)) ** 2 <= 1.0
    return abs(lx) <= cover.width / 2 and abs(ly) <= cover.height / 2


def _box_inside(cover, box):
    x, y, w, h = box
    return all(_contains(cover, px * W, py * H) for px, py in
               ((x, y), (x + w, y), (x, y + h), (x + w, y + h), (x + w / 2, y + h / 2)))


# -- whole-frame cover: first frame, stale results, owner's stale flag, resolution change ----

def test_first_frame_is_fully_covered_until_a_faces_result():
    scene = _scene()
    plan = scene.plan(0.0, W, H)
    assert _is_full(plan) and plan.covers[0].style == "blur"
    assert plan.notice == NOTICE_STARTING
    # A result without the faces stage (hands only) does not count.
    scene.update(FrameResults(has_faces=False), 0.01)
    assert _is_full(scene.plan(0.02, W, H))
    scene.update(_result([_face(1, 0.4, 0.3)]), 0.03)
    plan = scene.plan(0.03, W, H)
    assert not _is_full(plan) and len(plan.covers) == 1 and plan.notice == ""


def test_turning_privacy_on_and_reset_cover_everything_again():
    scene = Scene(Settings(background=BackgroundSettings(mode="none")), triggers=lambda g: None)
    scene.update(_result([_face(1, 0.4, 0.3)]), 0.0)
    assert scene.plan(0.0, W, H).covers == ()           # privacy off: nothing
    scene.configure(_settings())
    assert _is_full(scene.plan(0.01, W, H))           # turned on: no result since
    scene.update(_result([_face(1, 0.4, 0.3)]), 0.02)
    assert not _is_full(scene.plan(0.02, W, H))
    scene.configure(_settings(margin=0.5))            # a settings change keeps the faces
    assert not _is_full(scene.plan(0.03, W, H))
    scene.reset()
    assert _is_full(scene.plan(0.04, W, H))


@pytest.mark.parametrize("fps,stale_frames", [(30, 5), (60, 5), (30, 20)])
def test_results_older_than_stale_frames_cover_the_whole_frame(fps, stale_frames):
    scene = _scene(stale_frames=stale_frames)
    scene.set_frame_rate(fps)
    scene.update(_result([_face(1, 0.4, 0.3)]), 10.0)
    limit = stale_frames / fps
    assert not _is_full(scene.plan(10.0 + limit * 0.9, W, H))
    plan = scene.plan(10.0 + limit * 1.1 + 1e-6, W, H)
    assert _is_full(plan) and "frames behind" in plan.notice
    scene.update(_result([_face(1, 0.4, 0.3)]), 10.0 + limit * 1.2)
    assert not _is_full(scene.plan(10.0 + limit * 1.2, W, H))


def test_a_carried_faces_result_counts_from_when_it_was_taken():
    scene = _scene(stale_frames=5)
    scene.update(_result([_face(1, 0.4, 0.3)], age=0.5), 1.0)    # taken at 0.5
    assert _is_full(scene.plan(1.0, W, H))


def test_owner_stale_flag_covers_with_its_reason_until_cleared():
    scene = _scene()
    scene.update(_result([_face(1, 0.4, 0.3)]), 0.0)
    scene.set_stale("the analysis worker is restarting")
    plan = scene.plan(0.0, W, H)
    assert _is_full(plan) and plan.notice == "privacy: whole frame covered, the analysis worker is restarting"
    scene.set_stale(None)
    assert not _is_full(scene.plan(0.0, W, H))


def test_resolution_change_covers_until_a_result_for_the_new_size():
    scene = _scene()
    scene.update(_result([_face(1, 0.4, 0.3)], size=(W, H)), 0.0)
    assert not _is_full(scene.plan(0.0, W, H))
    plan = scene.plan(0.01, 1280, 720)
    assert _is_full(plan) and plan.notice == NOTICE_RESIZED
    assert plan.covers[0].width >= 1280 and plan.covers[0].height >= 720
    scene.update(_result([_face(1, 0.4, 0.3)], size=(W, H)), 0.02)   # late result of the old size
    assert _is_full(scene.plan(0.02, 1280, 720))
    scene.update(_result([_face(1, 0.4, 0.3)], size=(1280, 720)), 0.03)
    assert not _is_full(scene.plan(0.03, 1280, 720))


def test_resolution_change_with_results_of_unknown_size_waits_for_the_next_result():
    scene = _scene()
    scene.update(_result([_face(1, 0.4, 0.3)], size=(0, 0)), 0.0)
    scene.plan(0.0, W, H)
    assert _is_full(scene.plan(0.01, 800, 600))
    scene.update(_result([_face(1, 0.4, 0.3)], size=(0, 0)), 0.02)
    assert not _is_full(scene.plan(0.02, 800, 600))


# -- the plate ------------------------------------------------------------------------------

def test_plate_style_without_a_plate_blurs_and_says_so():
    scene = _scene(style="plate")
    plan = scene.plan(0.0, W, H)
    assert _is_full(plan) and plan.covers[0].style == "blur" and NOTICE_NO_PLATE in plan.notice
    scene.update(_result([_face(1, 0.4, 0.3)]), 0.0)
    plan = scene.plan(0.0, W, H)
    assert [c.style for c in plan.covers] == ["blur"] and plan.notice == NOTICE_NO_PLATE
    scene.plate_ready = True
    plan = scene.plan(0.0, W, H)
    assert [c.style for c in plan.covers] == ["plate"] and plan.notice == ""
    scene.reset()
    assert scene.plan(0.0, W, H).covers[0].style == "plate"   # whole frame: the plate


# -- face covers: geometry, motion, hold ----------------------------------------------------

@pytest.mark.parametrize("shape", ["ellipse", "rect"])
@pytest.mark.parametrize("roll_deg", [0, 25, -40])
def test_cover_contains_the_face_box_with_roll(shape, roll_deg):
    scene = _scene(shape=shape, margin=0.1)
    box = (0.4, 0.3, 0.12, 0.2)
    scene.update(_result([_face(1, *box, roll=math.radians(roll_deg))]), 0.0)
    (cover,) = scene.plan(0.0, W, H).covers
    assert cover.shape == shape and cover.rotation == pytest.approx(roll_deg)
    assert _box_inside(cover, box)


def test_cover_reaches_the_mesh_beyond_the_box():
    box = (0.4, 0.3, 0.1, 0.15)
    chin = (0.45, 0.52)           # a mesh point well below the detector's box
    scene = _scene(margin=0.0)
    scene.update(_result([_face(1, *box, landmarks=((0.45, 0.28), chin, (0.41, 0.4), (0.49, 0.4)))]), 0.0)
    (cover,) = scene.plan(0.0, W, H).covers
    assert _contains(cover, chin[0] * W, chin[1] * H)


def test_margin_enlarges_the_cover():
    sizes = []
    for margin in (0.0, 0.5):
        scene = _scene(margin=margin)
        scene.update(_result([_face(1, 0.4, 0.3)]), 0.0)
        sizes.append(scene.plan(0.0, W, H).covers[0].width)
    assert sizes[1] == pytest.approx(sizes[0] * 1.5)


def test_cover_follows_motion():
    scene = _scene()
    for i in range(5):
        scene.update(_result([_face(1, 0.2 + 0.05 * i, 0.3)]), i / 30)
        plan = scene.plan(i / 30, W, H)
        (cover,) = plan.covers
        assert _box_inside(cover, (0.2 + 0.05 * i, 0.3, 0.1, 0.18))


def test_lost_face_is_held_enlarged_the_way_it_moved_then_dropped():
    scene = _scene(hold=1.0, stale_frames=120)
    scene.set_frame_rate(30)
    x = 0.2
    for i in range(6):            # moving right at 0.6 frame widths per second
        scene.update(_result([_face(1, x + 0.02 * i, 0.3)]), i / 30)
    seen = scene.plan(5 / 30, W, H).covers[0]
    last_box = (x + 0.1, 0.3, 0.1, 0.18)
    t_lost = 6 / 30
    scene.update(_result([]), t_lost)                    # detection blinks: no face
    held = scene.plan(t_lost + 0.3, W, H).covers
    assert len(held) == 1
    cover = held[0]
    assert _box_inside(cover, last_box)                  # still over where it was
    assert cover.width > seen.width * 1.15              # enlarged...
    assert cover.x > seen.x                             # ...towards where it was going
    moved_on = (last_box[0] + 0.6 * 0.4, 0.3, 0.1, 0.18)  # where it would be 0.4 s later
    assert _contains(cover, (moved_on[0] + 0.05) * W, (moved_on[1] + 0.09) * H)
    # Still held just before hold runs out (results keep coming, without the face), gone after.
    scene.update(_result([]), t_lost + 0.9)
    assert len(scene.plan(5 / 30 + 0.95, W, H).covers) == 1
    scene.update(_result([]), 5 / 30 + 1.1)
    assert scene.plan(5 / 30 + 1.1, W, H).covers == ()


def test_between_results_the_cover_runs_ahead_of_a_moving_face():
    scene = _scene(stale_frames=10)
    scene.update(_result([_face(1, 0.2, 0.3)]), 0.0)
    scene.update(_result([_face(1, 0.25, 0.3)]), 0.1)         # 0.5 widths/s to the right
    cover = scene.plan(0.2, W, H).covers[0]
    assert _box_inside(cover, (0.30, 0.3, 0.1, 0.18))          # where it is at 0.2 s


def test_several_faces_each_get_a_cover():
    scene = _scene()
    faces = [_face(i, 0.05 + 0.22 * i, 0.3, 0.08, 0.14) for i in range(4)]
    scene.update(_result(faces), 0.0)
    covers = scene.plan(0.0, W, H).covers
    assert len(covers) == 4
    for f in faces:
        assert any(_box_inside(c, f.box) for c in covers)


# -- keep one face ---------------------------------------------------------------------------

def test_keep_largest_leaves_that_face_uncovered_and_sticks_to_it():
    scene = _scene(keep_face="largest", hold=1.0)
    big, small = _face(1, 0.3, 0.2, 0.2, 0.35), _face(2, 0.7, 0.3, 0.08, 0.14)
    scene.update(_result([big, small]), 0.0)
    covers = scene.plan(0.0, W, H).covers
    assert len(covers) == 1 and _box_inside(covers[0], small.box) and scene.privacy.kept_face == 1
    # The kept face blinks out of detection: the bystander stays covered.
    scene.update(_result([small]), 0.1)
    covers = scene.plan(0.1, W, H).covers
    assert len(covers) == 1 and _box_inside(covers[0], small.box) and scene.privacy.kept_face == 1
    # A slightly larger bystander does not take over; a much larger one does.
    scene.update(_result([big, replace(small, box=(0.7, 0.3, 0.21, 0.36))]), 0.2)
    assert scene.privacy.kept_face == 1
    scene.update(_result([big, replace(small, box=(0.6, 0.2, 0.35, 0.6))]), 0.3)
    assert scene.privacy.kept_face == 2


def test_keep_center_keeps_the_face_nearest_the_centre():
    scene = _scene(keep_face="center")
    scene.update(_result([_face(1, 0.05, 0.1, 0.2, 0.3), _face(2, 0.46, 0.4, 0.08, 0.14)]), 0.0)
    covers = scene.plan(0.0, W, H).covers
    assert scene.privacy.kept_face == 2 and len(covers) == 1 and _box_inside(covers[0], (0.05, 0.1, 0.2, 0.3))


def test_keep_face_off_by_default_covers_everyone():
    assert PrivacySettings().keep_face == "none"
    scene = _scene()
    scene.update(_result([_face(1, 0.3, 0.2, 0.2, 0.35), _face(2, 0.7, 0.3)]), 0.0)
    assert len(scene.plan(0.0, W, H).covers) == 2


# -- heads from the person mask --------------------------------------------------------------

def test_head_without_a_face_is_covered_and_a_head_with_one_is_not_doubled():
    scene = _scene(cover_heads=True)
    face = _face(1, 0.2, 0.3, 0.1, 0.18)
    heads = [(0.19, 0.22, 0.12, 0.3), (0.6, 0.25, 0.1, 0.14)]   # the first holds the face
    scene.update(_result([face], heads=heads), 0.0)
    covers = scene.plan(0.0, W, H).covers
    assert len(covers) == 2
    assert any(_box_inside(c, heads[1]) for c in covers)


def test_styles_reach_the_covers():
    for style in ("blur", "pixelate", "color", "emoji"):
        scene = _scene(style=style, color="#112233", block=12)
        scene.update(_result([_face(1, 0.4, 0.3)]), 0.0)
        (cover,) = scene.plan(0.0, W, H).covers
        assert cover.style == style and cover.color == (0x11, 0x22, 0x33)
        if style == "emoji":
            assert cover.image.endswith("neutral.png")
        if style == "pixelate":
            assert cover.strength >= 12


def test_pixelate_blocks_never_fewer_than_a_recognisable_count():
    scene = _scene(style="pixelate", block=2)
    scene.update(_result([_face(1, 0.3, 0.2, 0.3, 0.5)]), 0.0)
    (cover,) = scene.plan(0.0, W, H).covers
    from facefx.privacy import MAX_BLOCKS_ACROSS
    assert min(cover.width, cover.height) / cover.strength <= MAX_BLOCKS_ACROSS + 1e-6


def test_analysis_results_carry_faces_flag_heads_and_size_across_processes():
    a = Analysis(3, 1.5, (W, H), (256, 144), faces=(_face(1, 0.4, 0.3),), heads=((0.1, 0.1, 0.1, 0.2),))
    assert not a.has_faces
    a.stage_ms["faces"] = 1.0
    back = decode(encode(a.results()))
    assert back.has_faces and back.heads == ((pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.1),
                                              pytest.approx(0.2)),)
    assert back.frame_size == (W, H)
    scene = _scene()
    scene.update(back, 0.0)
    assert not _is_full(scene.plan(0.0, W, H))


def test_planner_alone_without_scene():
    p = PrivacyPlanner(PrivacySettings(style="color"))
    assert not p.has_result
    p.update([_face(1, 0.4, 0.3)], [], 0.0)
    covers, notice = p.face_covers(0.0, W, H, plate_ready=False)
    assert len(covers) == 1 and notice == "" and covers[0].style == "color"
    full = p.full_frame(W, H, plate_ready=False)
    assert full.width == W and full.height == H and full.style == "blur" and full.strength > 10


def test_a_result_that_does_not_say_it_ran_the_faces_stage_never_uncovers():
    from types import SimpleNamespace
    scene = _scene()
    scene.update(SimpleNamespace(faces=(), hands=(), gestures=()), 0.0)
    assert _is_full(scene.plan(0.0, W, H))
    scene.update(Analysis(0, 0.0, (W, H), (256, 144)), 0.0)     # faces stage did not run
    assert _is_full(scene.plan(0.0, W, H))
    a = Analysis(1, 0.0, (W, H), (256, 144))
    a.carried["faces"] = 0.01                                    # carried from the frame before
    scene.update(a, 0.0)
    assert not _is_full(scene.plan(0.0, W, H))


def test_a_held_face_does_not_hide_the_head_the_mask_shows():
    """Detection lost the face (it is held where it was); the mask's head there is covered too,
    since the face may have moved anywhere inside it."""
    scene = _scene(cover_heads=True, hold=1.0)
    scene.update(_result([_face(1, 0.1, 0.3, 0.1, 0.18)]), 0.0)
    head = (0.05, 0.2, 0.4, 0.6)
    scene.update(_result([], heads=[head]), 1 / 30)
    covers = scene.plan(1 / 30, W, H).covers
    assert len(covers) == 2 and any(_box_inside(c, head) for c in covers)
