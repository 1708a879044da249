"""Gesture results on their way from the worker to the OBS filter's Scene.

These parts are standard library and run without OBS: the result slot's aux area (stage
timings + a facefx.results record), its validation on OBS's side, and the filter's hand-off
of each result to its Scene and of each Fired event to the plugin's actions.
"""
from __future__ import annotations

import json
import os
import struct

import pytest

from facefx import ipc
from facefx import results as R
from facefx.obs.channel import read_result
from facefx.obs.filter import NoActions, _SceneInput
from facefx.scene import Scene
from facefx.settings import GestureSettings, Settings


def _hand(handedness="right", x=0.5, y=0.5):
    pts = tuple((x + 0.01 * i, y - 0.01 * i, 0.0) for i in range(R.HAND_LANDMARKS))
    return R.Hand(pts, handedness, 0.9)


def _results(*gestures, n_hands=1):
    return R.FrameResults(frame_index=3, timestamp=1.5, hands=tuple(_hand() for _ in range(n_hands)),
                          gestures=tuple(R.GestureHit(g, 0.95, (0,)) for g in gestures))


@pytest.fixture
def chan(tmp_path):
    c = ipc.ChannelFile.create(str(tmp_path / "c.shm"), 4096)
    yield c
    c.close()


def test_aux_area_holds_the_largest_results_record(chan):
    assert chan.results.aux_capacity >= R.MAX_ENCODED_SIZE + ipc.STAGE_MS_CAPACITY


def test_results_record_travels_with_the_mask(chan):
    rec = R.encode(_results("thumbs_up"))
    chan.results.write(b"\x80" * 12, width=4, height=3, stride=4, frame_seq=9,
                       aux=ipc.pack_aux(b'{"hands":2.5}', rec), timestamp=4.0)
    seq, res, problem = read_result(chan.results, 0)
    assert problem == "" and res.has_mask
    assert res.results == R.decode(rec)
    assert [g.name for g in res.results.gestures] == ["thumbs_up"]
    assert res.stage_ms == {"hands": 2.5} and res.timestamp == 4.0


def test_results_only_message_has_no_mask(chan):
    rec = R.encode(_results("fist"))
    chan.results.write(b"", width=0, height=0, stride=0, frame_seq=2,
                       aux=ipc.pack_aux(b"{}", rec), flags=ipc.FLAG_NO_MASK)
    _, res, problem = read_result(chan.results, 0)
    assert problem == ""
    assert not res.has_mask and res.data == b""
    assert res.results.gestures[0].name == "fist"


def test_zero_sized_mask_without_the_flag_is_refused(chan):
    chan.results.write(b"", width=0, height=0, stride=0, frame_seq=2, aux=ipc.pack_aux(b"{}", b""))
    seq, res, problem = read_result(chan.results, 0)
    assert res is None and f"result {seq} refused: mask" in problem


def test_corrupt_results_record_is_refused_with_the_reason(chan):
    rec = bytearray(R.encode(_results("victory")))
    rec[0:4] = b"XXXX"   # not a results record
    chan.results.write(b"\x80" * 4, width=2, height=2, stride=2, frame_seq=1, aux=ipc.pack_aux(b"{}", bytes(rec)))
    seq, res, problem = read_result(chan.results, 0)
    assert res is None and seq == 1
    assert "result 1 refused" in problem and "results record" in problem, problem


def test_aux_lengths_that_disagree_with_the_area_are_refused(chan):
    rec = R.encode(_results())
    bad = struct.pack("<II", 2, R.MAX_ENCODED_SIZE + 1) + b"{}" + rec   # claims more than fits
    chan.results.write(b"\x80" * 4, width=2, height=2, stride=2, frame_seq=1, aux=bad)
    _, res, problem = read_result(chan.results, 0)
    assert res is None and "claims" in problem and str(R.MAX_ENCODED_SIZE) in problem, problem


def test_oversized_aux_is_an_error_not_a_silent_drop(chan):
    with pytest.raises(ValueError, match="does not fit"):
        chan.results.write(b"\x80" * 4, width=2, height=2, stride=2, frame_seq=1,
                           aux=b"\0" * (chan.results.aux_capacity + 1))
    with pytest.raises(ValueError, match="MAX_ENCODED_SIZE"):
        ipc.pack_aux(b"{}", b"\0" * (R.MAX_ENCODED_SIZE + 1))


def test_last_good_result_is_kept_after_a_corrupt_one(chan):
    """SourceChannel.latest() keeps the last good result; read_result gives the seq to skip."""
    good = ipc.pack_aux(b"{}", R.encode(_results("open_palm")))
    chan.results.write(b"\x80" * 4, width=2, height=2, stride=2, frame_seq=1, aux=good)
    seq1, res1, _ = read_result(chan.results, 0)
    chan.results.write(b"\x80" * 4, width=2, height=2, stride=2, frame_seq=2, aux=b"\x01\x02")
    seq2, res2, problem = read_result(chan.results, seq1)
    assert res1 is not None and res2 is None and seq2 == seq1 + 1 and "shorter" in problem


def _scene_result(chan, *gestures, mask=True):
    aux = ipc.pack_aux(b"{}", R.encode(_results(*gestures)))
    if mask:
        chan.results.write(b"\xff" * 4, width=2, height=2, stride=2, frame_seq=1, aux=aux)
    else:
        chan.results.write(b"", width=0, height=0, stride=0, frame_seq=1, aux=aux, flags=ipc.FLAG_NO_MASK)
    return read_result(chan.results, 0)[1]


def test_held_gesture_fires_once_and_is_taken_for_actions(chan):
    settings = Settings().replace(gestures=GestureSettings(enabled=True, gestures=("thumbs_up",), hold=0.5))
    scene = Scene(settings)
    res = _scene_result(chan, "thumbs_up", mask=False)
    fired = []
    for i in range(30):    # 1 s of results at 30 fps
        scene.update(_SceneInput(res), i / 30)
        fired += scene.take_fired()
    assert [f.name for f in fired] == ["thumbs_up"]
    assert 0.45 <= fired[0].t <= 0.6
    assert scene.take_fired() == []
    assert scene.plan(0.7, 640, 360).sprites, "a fired thumbs up must show its sticker"
    NoActions().on_fired(None, fired[0])


def test_paused_scene_fires_nothing(chan):
    settings = Settings().replace(gestures=GestureSettings(enabled=True, gestures=("thumbs_up",), hold=0.5))
    scene = Scene(settings)
    scene.paused = True
    res = _scene_result(chan, "thumbs_up")
    for i in range(30):
        scene.update(_SceneInput(res), i / 30)
    assert scene.take_fired() == [] and not scene.plan(1.0, 640, 360).sprites


def test_results_only_input_keeps_the_scene_mask(chan):
    with_mask, without = _scene_result(chan, "fist"), _scene_result(chan, "fist", mask=False)
    assert _SceneInput(with_mask).mask is with_mask
    assert not hasattr(_SceneInput(without), "mask")


# -- in a real, headless OBS ------------------------------------------------------------------

CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.pardir,
                    "shared", "evalset", "clips", "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")
STICKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "stickers")


@pytest.fixture(scope="module")
def obs():
    from .conftest import require_obs
    from .harness import ASTRONAUT, ObsSession, facefx_filter, image_source
    require_obs()
    from .harness import media_source
    clip = CLIP if os.path.exists(CLIP) else ASTRONAUT
    session = ObsSession({"Main": [
        image_source("Photo", ASTRONAUT, [facefx_filter("StickerFX", bg_mode="color")]),
        media_source("Hands", clip, [facefx_filter("HandFX", background=False, gestures=False)]),
    ]})
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


def _fixed_sprites():
    """A still sticker, a rotated half-transparent one and one cut by the frame's edge."""
    thumbs, heart = os.path.join(STICKERS, "thumbs_up.png"), os.path.join(STICKERS, "heart_hands.png")
    return [dict(image=thumbs, x=120.0, y=110.0, width=128.0, height=128.0),
            dict(image=heart, x=330.5, y=260.25, width=96.0, height=80.0, rotation=30.0, opacity=0.6),
            dict(image=thumbs, x=500.0, y=20.0, width=64.0, height=64.0, rotation=-15.0)]


def test_gpu_sprites_match_the_cpu_painters(obs, tmp_path):
    """The same fixed plan (background + sprites at a fixed time) drawn by OBS and by
    facefx/render/cpu.py on the filter's exact input."""
    import cv2
    import numpy as np

    from facefx.render.cpu import CpuRenderer
    from facefx.scene import Sprite, build_plan
    from facefx.settings import Settings

    class _A:
        def __init__(self, mask):
            self.mask = mask

    sprites = _fixed_sprites()
    obs.set_filter("Photo", "StickerFX", {"background": True, "bg_mode": "color", "debug_freeze": False,
                                          "debug_sprites": json.dumps(sprites)})
    obs.wait_results("StickerFX", 2)
    dump = obs.freeze("Photo", "StickerFX", 0.75)
    try:
        shot = obs.screenshot("Photo")
    finally:
        obs.unfreeze("Photo", "StickerFX")
    assert dump["sprites"] == [dict(Sprite(**s).__dict__) for s in sprites]
    settings = Settings.from_dict(dump["settings"])
    plan = build_plan(_A(dump["mask"]), settings, dump["time"], dump["width"], dump["height"])
    plain = plan
    import dataclasses
    plan = dataclasses.replace(plan, sprites=tuple(Sprite(**s) for s in dump["sprites"]))
    frame = np.ascontiguousarray(dump["frame"][:, :, :3])
    with CpuRenderer(threads=1) as cpu:
        ref = cpu.render(frame, plan).copy()
        bare = cpu.render(frame, plain).copy()
    cv2.imwrite(str(tmp_path / "gpu.png"), cv2.cvtColor(shot[:, :, :3], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "cpu.png"), cv2.cvtColor(ref[:, :, :3], cv2.COLOR_RGB2BGR))
    print("screenshots in", tmp_path)
    n = ref.shape[2]
    diff = np.abs(shot[:, :, :n].astype(np.int16) - ref.astype(np.int16)).max(axis=2)
    where = np.abs(ref.astype(np.int16) - bare.astype(np.int16)).max(axis=2) > 8
    assert where.mean() > 0.03, "the stickers barely change the frame; the comparison proves nothing"
    print("sprite area: mean diff %.3f, p99 %d, max %d; elsewhere mean %.3f"
          % (diff[where].mean(), np.percentile(diff[where], 99), diff[where].max(), diff[~where].mean()))
    # Same order of tolerance as the background parity tests' edge band: sampling of a
    # scaled, rotated image differs by sub-texel amounts between warpAffine and the GPU.
    assert diff[where].mean() < 4.0, f"mean difference on the stickers {diff[where].mean():.3f}"
    assert np.percentile(diff[where], 99) <= 40
    assert diff[~where].mean() < 1.0


def _fixed_rings():
    """Arming rings as the Scene makes them (white, 0.9 opacity) plus a coloured, thick, nearly
    full one, a thin one just started and one cut by the frame's edge."""
    return [dict(x=160.0, y=180.0, radius=16.2, thickness=3.24, progress=0.35, color=[255, 255, 255], opacity=0.9),
            dict(x=330.5, y=120.25, radius=40.0, thickness=9.0, progress=0.9, color=[255, 80, 20], opacity=1.0),
            dict(x=440.0, y=250.0, radius=30.0, thickness=2.0, progress=0.08, color=[40, 90, 255], opacity=0.7),
            dict(x=505.0, y=330.0, radius=36.0, thickness=6.0, progress=0.6, color=[255, 255, 0], opacity=0.9)]


def test_gpu_rings_match_the_cpu_painter(obs, tmp_path):
    """The arming ring (facefx.scene.Ring) drawn by OBS's ring.effect and by
    facefx/render/painters.py's paint_ring on the filter's exact input."""
    import dataclasses

    import cv2
    import numpy as np

    from facefx.render.cpu import CpuRenderer
    from facefx.scene import Ring, build_plan
    from facefx.settings import Settings

    class _A:
        def __init__(self, mask):
            self.mask = mask

    rings = _fixed_rings()
    obs.set_filter("Photo", "StickerFX", {"background": True, "bg_mode": "color", "debug_freeze": False,
                                          "debug_sprites": "", "debug_rings": json.dumps(rings)})
    obs.wait_results("StickerFX", 2)
    dump = obs.freeze("Photo", "StickerFX", 0.5)
    try:
        shot = obs.screenshot("Photo")
    finally:
        obs.unfreeze("Photo", "StickerFX")
        obs.set_filter("Photo", "StickerFX", {"debug_rings": ""})
    assert [(r["x"], r["progress"], list(r["color"])) for r in dump["rings"]] == \
        [(r["x"], r["progress"], r["color"]) for r in rings], "the drawn plan must hold the test's rings"
    plain = build_plan(_A(dump["mask"]), Settings.from_dict(dump["settings"]), dump["time"], dump["width"],
                       dump["height"])
    plan = dataclasses.replace(plain, rings=tuple(Ring(**dict(r, color=tuple(r["color"]))) for r in rings))
    frame = np.ascontiguousarray(dump["frame"][:, :, :3])
    with CpuRenderer(threads=1) as cpu:
        ref = cpu.render(frame, plan).copy()
        bare = cpu.render(frame, plain).copy()
    both = np.concatenate([shot[:, :, :3], ref[:, :, :3]], axis=1)
    cv2.imwrite(str(tmp_path / "rings_gpu_cpu.png"), cv2.cvtColor(both, cv2.COLOR_RGB2BGR))
    print("GPU | CPU rings in", tmp_path / "rings_gpu_cpu.png")
    diff = np.abs(shot[:, :, :3].astype(np.int16) - ref[:, :, :3].astype(np.int16)).max(axis=2)
    where = np.abs(ref[:, :, :3].astype(np.int16) - bare[:, :, :3].astype(np.int16)).max(axis=2) > 8
    gpu_where = np.abs(shot[:, :, :3].astype(np.int16) - bare[:, :, :3].astype(np.int16)).max(axis=2) > 8
    assert where.sum() > 1500, "the rings barely change the frame; the comparison proves nothing"
    overlap = (where & gpu_where).sum() / max(1, (where | gpu_where).sum())
    print("ring pixels: CPU %d, GPU %d, overlap %.3f; mean diff %.2f, p99 %d; elsewhere mean %.3f"
          % (where.sum(), gpu_where.sum(), overlap, diff[where].mean(), np.percentile(diff[where], 99),
             diff[~where].mean()))
    assert overlap > 0.97, f"the GPU ring covers other pixels than the CPU ring (overlap {overlap:.3f})"
    # The same per-pixel formula on both sides: float rounding only.
    assert diff[where].mean() < 2.0, f"mean difference on the rings {diff[where].mean():.2f}"
    assert np.percentile(diff[where], 99) <= 8
    assert diff[~where].mean() < 1.0


def test_panel_values_turn_gestures_on_without_the_background():
    from facefx.obs import props as P
    cfg = P.settings_from_values({P.K_GESTURES: True, P.K_BACKGROUND: False, P.K_GEST_HOLD: 800,
                                  P.gesture_key("fist"): False})
    g = cfg.settings.gestures
    assert cfg.settings.stages() == {"hands", "gestures"}
    assert g.active and g.hold == 0.8 and "fist" not in g.gestures and "thumbs_up" in g.gestures
    assert P.settings_from_values({P.K_GESTURES: False}).settings.gestures.active is False


def test_missing_custom_sticker_is_named_and_the_rest_keeps_working(tmp_path):
    from facefx.obs import props as P
    good = os.path.join(STICKERS, "fist.png")
    cfg = P.settings_from_values({P.K_GESTURES: True, P.gesture_sticker_key("victory"): good,
                                  P.gesture_sticker_key("ok"): str(tmp_path / "gone.png")})
    assert "gone.png" in cfg.warning and "ok" in cfg.warning
    assert cfg.settings.gestures.effect("victory").sticker == good
    assert cfg.settings.gestures.effect("ok").sticker == ""   # its bundled sticker
    assert cfg.settings.gestures.active


def test_thumbs_up_clip_shows_the_thumbs_up_sticker(obs, tmp_path):
    """End to end: the fist-then-thumbs-up clip on a media source, gestures on and the
    background off; the worker's hands and gestures reach the filter's Scene, thumbs up fires
    and its sticker (yellow, the bundled emoji) appears in OBS's output above the hand."""
    import time as _time

    import cv2
    import numpy as np
    if not os.path.exists(CLIP):
        if os.environ.get("CI"):
            pytest.fail(f"evaluation clip missing under CI: {CLIP}")
        pytest.skip(f"evaluation clip not available: {CLIP}")
    import facefx.analysis.gestures as gestures_stage
    if not hasattr(gestures_stage, "GestureStage"):
        # The engine names facefx.analysis.gestures:GestureStage for the "gestures" stage; until
        # that stage lands the worker reports "no attribute 'GestureStage'" for this source.
        pytest.skip("the engine's gestures stage (facefx.analysis.gestures.GestureStage) is not in this tree")
    sticker = cv2.cvtColor(cv2.imread(os.path.join(STICKERS, "thumbs_up.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    yellow = np.median(sticker[sticker[:, :, 3] == 255][:, :3], axis=0)
    obs.set_filter("Hands", "HandFX", {"background": False, "gestures": True, "debug_freeze": False})

    def yellow_share():
        shot = obs.screenshot("Hands")
        close = np.abs(shot[:, :, :3].astype(np.int16) - yellow).max(axis=2) < 40
        return close.mean(), shot

    def fired():
        st = obs.filter_status("HandFX") or {}
        return "last fired: thumbs_up" in st.get("status", "") and st
    st = obs.wait_for(fired, 60, "thumbs_up to fire on the clip (status line)")
    best, best_shot = 0.0, None
    end = _time.monotonic() + 3.0     # the sticker plays for its duration after firing
    while _time.monotonic() < end and best < 0.01:
        share, shot = yellow_share()
        if share > best:
            best, best_shot = share, shot
    path = tmp_path / "thumbs_up.png"
    if best_shot is not None:
        cv2.imwrite(str(path), cv2.cvtColor(best_shot[:, :, :3], cv2.COLOR_RGB2BGR))
    print("screenshot:", path, "sticker-coloured share %.4f" % best, "status:", st["status"])
    assert best > 0.01, f"no thumbs-up sticker in OBS's output (sticker-coloured share {best:.4f}); see {path}"
    obs.set_filter("Hands", "HandFX", {"gestures": False})
