"""The FaceFX filter in a real, headless OBS Studio, driven through obs-websocket.

One OBS session serves the whole module (starting OBS and the worker costs seconds). Each
test sets the state it needs, so it passes alone (`-k`) or after any other; the session is
started again for a test that finds it shut down. Screenshots are
compared with facefx/render/cpu.py on exactly the input the filter used (its frozen debug
dump: mask, time, settings and input pixels).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest

from facefx.obs.gpu import MAX_DELAY_FRAMES, MAX_RING_FRAMES
from facefx.render.cpu import CpuRenderer, edge_lut
from facefx.scene import build_plan
from facefx.settings import Settings
from facefx.worker import EXIT_GRACE_S

from .conftest import require_obs
from .harness import (ASTRONAUT, ObsSession, facefx_filter, image_source, mapped_libraries,
                      media_source, pid_alive, process_children)

MODES = [
    ("color", {"bg_color": 0xFF40B100}),
    ("blur", {"bg_blur": 50}),
    ("blur", {"bg_blur": 12}),
    ("image", {"bg_image": "@bg"}),
    ("image", {"bg_image": "@gif"}),       # a one-frame GIF is a picture, as on the CLI
    ("image", {"bg_image": "@anim"}),      # an animated GIF: its first frame, as on the CLI
    ("transparent", {}),
    ("hologram", {}),
    ("hologram", {"bg_image": "@bg"}),
]


class _Analysis:
    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask


def _make_background(path: str) -> None:
    """A 1600x1000 picture (shrunk with area averaging when cover-fitted to 512x512)."""
    yy, xx = np.mgrid[0:1000, 0:1600]
    img = np.dstack([xx * 255 // 1600, yy * 255 // 1000, (xx + yy) % 97 * 2]).astype(np.uint8)
    cv2.circle(img, (800, 500), 200, (255, 255, 255), 15)
    cv2.imwrite(path, img)


def _make_gif(path: str, frames: int) -> None:
    """The background picture as a GIF (256 colours); later frames are plain red, so showing
    any frame but the first is seen."""
    from PIL import Image
    img = cv2.cvtColor(cv2.imread(path.rsplit(".", 1)[0].rsplit("-", 1)[0] + ".png"), cv2.COLOR_BGR2RGB)
    first = Image.fromarray(img).quantize(256)
    rest = [Image.new("RGB", first.size, (255, 0, 0)).quantize(256) for _ in range(frames - 1)]
    first.save(path, save_all=frames > 1, append_images=rest, duration=100, loop=0)


def _make_clip(path: str) -> None:
    """A 3 s 512x288 clip panning over the astronaut photo."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", ASTRONAUT, "-t", "3",
                    "-r", "30", "-vf", "crop=512:288:0:'mod(n*3,224)'", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", path], check=True)


RED, BLUE = 0xFF0000FF, 0xFFFF0000      # OBS colours are 0xAABBGGRR


@pytest.fixture(scope="module")
def obs_session():
    require_obs()
    session = ObsSession({
        "Main": [
            image_source("Photo", ASTRONAUT, [facefx_filter("FaceFX", bg_mode="color")]),
            media_source("Clip", "@clip", [facefx_filter("ClipFX", bg_mode="color")]),
            image_source("Photo2", ASTRONAUT, [facefx_filter("FaceFX2", bg_mode="blur")]),
        ],
        # The same kind of filter in a collection that does not load the script.
        "NoScript": [image_source("Photo", ASTRONAUT, [facefx_filter("FaceFX", bg_mode="color")])],
    }, script_map={"NoScript": []})
    bg, clip = os.path.join(session.tmp, "bg.png"), os.path.join(session.tmp, "clip.mp4")
    _make_background(bg)
    gif, anim = os.path.join(session.tmp, "bg-one.gif"), os.path.join(session.tmp, "bg-anim.gif")
    _make_gif(gif, 1)
    _make_gif(anim, 3)
    _make_clip(clip)
    for sources in session.collections.values():
        for src in sources:
            if src["settings"].get("local_file") == "@clip":
                src["settings"]["local_file"] = clip
    session.assets = {"@bg": bg, "@clip": clip, "@gif": gif, "@anim": anim}
    session.start()
    try:
        yield session
    finally:
        session.stop()
        session.cleanup()


@pytest.fixture
def obs(obs_session):
    """The module's OBS, started again if a test before this one shut it down."""
    if not obs_session.running:
        obs_session.start()
    return obs_session


def _raw_astronaut() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _cpu_reference(dump: dict) -> np.ndarray:
    return _cpu_reference_and_edge(dump)[0]


def _cpu_reference_and_edge(dump: dict):
    """The CPU renderer's output for exactly the filter's input, and where the person's edge
    lies: pixels whose coverage is neither 0 nor 255, grown by one pixel."""
    settings = Settings.from_dict(dump["settings"])
    plan = build_plan(_Analysis(dump["mask"]), settings, dump["time"], dump["width"], dump["height"])
    frame = np.ascontiguousarray(dump["frame"][:, :, :3])
    with CpuRenderer(threads=1) as cpu:
        ref = cpu.render(frame, plan).copy()
        cover = cpu.coverage(frame, plan).copy()     # refined when the settings say so
    edge = cv2.dilate(((cover > 0) & (cover < 255)).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return ref, edge


def _assert_matches_cpu(shot: np.ndarray, dump: dict) -> None:
    ref, edge = _cpu_reference_and_edge(dump)
    n = ref.shape[2]
    assert shot.shape[:2] == ref.shape[:2]
    diff = np.abs(shot[:, :, :n].astype(np.int16) - ref.astype(np.int16)).max(axis=2)
    assert edge.mean() < 0.25, f"edge band covers {edge.mean():.0%} of the frame; the split proves nothing"
    # Away from the person's edge the GPU path rounds like the CPU path: (near) exact.
    rest = diff[~edge]
    assert rest.mean() < 0.75, f"mean difference off the edge {rest.mean():.3f} (expected < 0.75)"
    assert np.percentile(rest, 99) <= 2, f"99th percentile off the edge {np.percentile(rest, 99)}"
    assert rest.max() <= 4, f"largest difference off the edge {rest.max()}"
    # On the edge, the bilinear filter's sub-texel precision is amplified by the steep
    # smoothstep (slope ~6 at the default softness): a few levels, bounded.
    on = diff[edge]
    assert on.mean() < 2.0, f"mean difference on the edge {on.mean():.3f} (expected < 2)"
    assert on.max() <= 12, f"largest difference on the edge {on.max()}"
    assert diff.mean() < 1.0, f"mean difference {diff.mean():.3f} (expected < 1)"
    # ... and the effect is really there: the reference differs from the input frame.
    changed = np.abs(ref[:, :, :3].astype(np.int16) - dump["frame"][:, :, :3]).max(axis=2) > 4
    if n == 4:
        changed |= ref[:, :, 3] < 250
    assert changed.mean() > 0.05, "the effect barely changes the frame; the comparison proves nothing"


def _status(obs: ObsSession, name: str) -> dict:
    return obs.wait_for(lambda: obs.filter_status(name), 10, f"status of {name}")


def test_filter_registered_once_without_ml_in_obs_process(obs):
    obs.wait_results("FaceFX", 3)
    kinds = [f["filterKind"] for f in obs.client.get_source_filter_list("Photo").filters]
    assert kinds == ["facefx_filter"]
    assert obs.log_text().count("registered filter type facefx_filter") == 1
    heavy = [lib for lib in mapped_libraries(obs.pid)
             if any(k in lib for k in ("numpy", "/cv2/", "mediapipe", "opencv"))]
    assert heavy == [], f"OBS's process maps ML libraries: {heavy}"
    assert _status(obs, "FaceFX")["heavy_modules"] == []


@pytest.mark.parametrize("mode,extra", MODES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(MODES)])
def test_image_source_matches_cpu_renderer(obs, mode, extra):
    values = {"background": True, "bg_mode": mode, "bg_image": "", "debug_freeze": False, "seg_refine": True}
    values.update({k: obs.assets.get(v, v) if isinstance(v, str) else v for k, v in extra.items()})
    obs.set_filter("Photo", "FaceFX", values)
    obs.wait_results("FaceFX", 2)
    dump = obs.freeze("Photo", "FaceFX", 1.25)
    try:
        assert np.array_equal(dump["frame"][:, :, :3], _raw_astronaut()), "filter input is not the photo"
        assert dump["settings"]["background"]["mode"] == mode
        assert dump["settings"]["segmentation"]["refine"], "the comparison must cover edge refinement"
        _assert_matches_cpu(obs.screenshot("Photo"), dump)
    finally:
        obs.unfreeze("Photo", "FaceFX")


def test_media_source_matches_cpu_renderer(obs):
    obs.set_filter("Clip", "ClipFX", {"background": True, "bg_mode": "color", "keep_in_sync": False})
    obs.wait_results("ClipFX", 3)
    a = obs.screenshot("Clip").astype(int)
    obs.wait_for(lambda: np.abs(obs.screenshot("Clip").astype(int) - a).mean() > 1, 5, "the clip to play")
    obs.client.trigger_media_input_action("Clip", "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE")
    try:
        _wait_paused(obs, "Clip")
        dump = obs.freeze("Clip", "ClipFX", 0.5)
        shot = obs.screenshot("Clip")
        assert shot.shape[:2] == (288, 512)
        _assert_matches_cpu(shot, dump)
    finally:
        obs.unfreeze("Clip", "ClipFX")
        _play(obs, "Clip")


def _wait_paused(obs: ObsSession, source: str) -> None:
    """Until the media source reports itself paused at the same position twice running."""
    seen = []

    def still() -> bool:
        st = obs.client.get_media_input_status(source)
        now = (st.media_state, st.media_cursor)
        done = now[0] == "OBS_MEDIA_STATE_PAUSED" and seen[-1:] == [now]
        seen.append(now)
        return done
    obs.wait_for(still, 10, f"{source} to pause")


def _play(obs: ObsSession, source: str) -> None:
    """Until the media source plays again (its cursor moves). A PLAY that a loaded OBS drops
    left the clip paused for every later test of the module (their filters then got no new
    frames), so it is repeated, and the clip restarted, until the clip moves."""
    def moving() -> bool:
        before = obs.client.get_media_input_status(source)
        if before.media_state != "OBS_MEDIA_STATE_PLAYING":
            action = ("RESTART" if before.media_state in ("OBS_MEDIA_STATE_ENDED", "OBS_MEDIA_STATE_STOPPED")
                      else "PLAY")
            obs.client.trigger_media_input_action(source, "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_" + action)
            return False
        time.sleep(0.3)
        after = obs.client.get_media_input_status(source)
        return after.media_state == "OBS_MEDIA_STATE_PLAYING" and after.media_cursor != before.media_cursor
    obs.wait_for(moving, 30, f"{source} to play")


def test_keep_mask_in_sync_shows_the_frame_the_mask_came_from(obs):
    _play(obs, "Clip")
    obs.set_filter("Clip", "ClipFX", {"keep_in_sync": True})
    try:
        obs.wait_results("ClipFX", 10)
        st = _status(obs, "ClipFX")
        assert "delayed" in st["status"], st["status"]
        # A mask older than the ring (the worker stalled beyond the delay cap on a loaded
        # machine) cannot be matched by design. Such a freeze is taken again; the assertion
        # judges a freeze whose mask's frame the ring can still hold.
        tries = []
        for _ in range(10):
            dump = obs.freeze("Clip", "ClipFX", 0.5)
            obs.unfreeze("Clip", "ClipFX")
            age = dump["frame_seq"] - dump["mask_frame_seq"]
            tries.append((age, dump["ring_frames"]))
            if age < dump["ring_frames"]:
                break
        else:
            pytest.fail(f"every freeze drew a mask older than the ring (age, ring): {tries}")
        assert dump["keep_in_sync"] is True
        assert dump["ring_frames"] <= MAX_RING_FRAMES
        assert dump["shown_frame_seq"] == dump["mask_frame_seq"], (
            f"shown frame {dump['shown_frame_seq']}, mask of frame {dump['mask_frame_seq']} "
            f"rendering frame {dump['frame_seq']} with {dump['ring_frames']} frames in the ring; "
            f"video delay {_status(obs, 'ClipFX')['delay']} of at most {MAX_DELAY_FRAMES - 1} frames")
    finally:
        obs.set_filter("Clip", "ClipFX", {"keep_in_sync": False})


def test_two_filters_share_one_worker(obs):
    _play(obs, "Clip")
    a = obs.wait_results("FaceFX", 3)
    b = obs.wait_results("FaceFX2", 3)
    c = obs.wait_results("ClipFX", 3)
    pids = {s["worker"]["pid"] for s in (a, b, c)}
    assert len(pids) == 1 and None not in pids
    workers = [p for p in process_children(obs.pid) if "facefx.worker" in _cmdline(p)]
    assert workers == [a["worker"]["pid"]], workers


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def test_live_settings_change_is_applied_without_restarting_the_worker(obs):
    before = _status(obs, "FaceFX2")["worker"]
    obs.set_filter("Photo2", "FaceFX2", {"background": True, "bg_mode": "color", "bg_color": RED})
    obs.wait_results("FaceFX2", 2)
    shot = obs.screenshot("Photo2")
    assert tuple(shot[5, 5, :3]) == (255, 0, 0), shot[5, 5]
    obs.set_filter("Photo2", "FaceFX2", {"bg_color": BLUE})
    _wait_corner(obs, "Photo2", (0, 0, 255))
    obs.set_filter("Photo2", "FaceFX2", {"seg_threshold": 60, "seg_softness": 20})
    obs.wait_results("FaceFX2", 2)
    after = _status(obs, "FaceFX2")["worker"]
    assert after["pid"] == before["pid"] and after["restarts"] == before["restarts"]


def _wait_corner(obs: ObsSession, source: str, rgb: tuple, timeout: float = 5) -> None:
    """Until the source's top-left pixel (background, never the person) shows rgb."""
    obs.wait_for(lambda: tuple(obs.screenshot(source)[5, 5, :3]) == rgb, timeout,
                 f"{source}'s background to turn {rgb}")


def _wait_raw(obs: ObsSession, source: str, why: str) -> None:
    raw = _raw_astronaut()
    obs.wait_for(lambda: np.array_equal(obs.screenshot(source)[:, :, :3], raw), 10, why)


def _panel(obs: ObsSession, name: str) -> dict:
    """{property name: (description, visible)} of the filter's properties panel, flattened."""
    import json
    path = os.path.join(obs.debug_dir, name + ".props.json")
    with open(path) as fh:
        tree = json.load(fh)
    flat = {}

    def walk(items):
        for pname, desc, visible, children in items:
            flat[pname] = (desc, visible)
            walk(children)
    walk(tree)
    return flat


def test_properties_panel_follows_obs_conventions(obs):
    obs.wait_results("FaceFX", 2)          # the status line below describes a running worker
    obs.set_filter("Photo", "FaceFX", {"bg_mode": "image", "bg_image": obs.assets["@bg"],
                                       "debug_freeze": False})
    panel = obs.wait_for(lambda: (lambda p: p if p["bg_image"][1] else None)(_panel(obs, "FaceFX")),
                         10, "the picture field to show in image mode")
    for key in ("status", "refresh", "background", "bg_mode", "bg_blur", "bg_image", "bg_color",
                "holo_color", "segmentation", "seg_model", "seg_width", "seg_smoothing",
                "seg_threshold", "seg_softness", "keep_in_sync"):
        assert key in panel, key
    assert panel["background"][0] == "Virtual background"
    assert not panel["bg_blur"][1] and not panel["bg_color"][1]
    assert panel["status"][0].startswith("Worker: running"), panel["status"]
    assert "fps" in panel["status"][0] and "ms" in panel["status"][0]
    obs.set_filter("Photo", "FaceFX", {"bg_mode": "blur"})
    obs.wait_for(lambda: (lambda p: p["bg_blur"][1] and not p["bg_image"][1])(_panel(obs, "FaceFX")),
                 10, "the blur slider to show in blur mode")


def test_invalid_settings_pass_video_through_with_a_status_error(obs):
    obs.set_filter("Photo2", "FaceFX2", {"bg_mode": "image", "bg_image": ""})
    try:
        obs.wait_for(lambda: "image" in (obs.filter_status("FaceFX2") or {}).get("error", ""), 10,
                     "the settings error in the status")
        st = obs.filter_status("FaceFX2")
        assert "needs a background image path" in st["error"]
        assert np.array_equal(obs.screenshot("Photo2")[:, :, :3], _raw_astronaut())
    finally:
        obs.set_filter("Photo2", "FaceFX2", {"bg_mode": "color"})
    obs.wait_for(lambda: not (obs.filter_status("FaceFX2") or {}).get("error"), 10, "the error to clear")


def test_unreadable_gif_background_is_a_status_message_naming_the_formats(obs):
    """A GIF libobs cannot decode (here a cut-off header) is named in the status line with the
    pictures that are expected, GIF among them; the video passes through meanwhile."""
    bad = os.path.join(obs.tmp, "broken.gif")
    with open(bad, "wb") as fh:
        fh.write(b"GIF89a\x10\x00")
    obs.set_filter("Photo2", "FaceFX2", {"bg_mode": "image", "bg_image": bad})
    try:
        st = obs.wait_for(lambda: (lambda s: s if "broken.gif" in s.get("error", "") else None)(
            obs.filter_status("FaceFX2") or {}), 10, "the unreadable picture in the status")
        assert f"cannot read background image {bad}" in st["error"], st
        assert "TIFF or GIF picture" in st["error"], st
        assert np.array_equal(obs.screenshot("Photo2")[:, :, :3], _raw_astronaut())
    finally:
        obs.set_filter("Photo2", "FaceFX2", {"bg_mode": "color"})
    obs.wait_for(lambda: not (obs.filter_status("FaceFX2") or {}).get("error"), 10, "the error to clear")


def test_hotkey_toggles_the_background(obs):
    names = obs.client.get_hotkey_list().hotkeys
    for name in ("FaceFX", "FaceFX2", "ClipFX"):
        assert f"facefx.toggle_background.{name}" in names, names

    def enabled():
        return obs.client.get_source_filter("Photo2", "FaceFX2").filter_settings.get("background", True)

    obs.set_filter("Photo2", "FaceFX2", {"background": True, "bg_mode": "color", "bg_color": RED})
    obs.wait_results("FaceFX2", 2)
    _wait_corner(obs, "Photo2", (255, 0, 0))
    obs.client.trigger_hotkey_by_name("facefx.toggle_background.FaceFX2")
    obs.wait_for(lambda: not enabled(), 5, "the hotkey to switch the background off")
    _wait_raw(obs, "Photo2", "the unchanged photo with the background off")
    assert obs.client.get_source_filter("Photo", "FaceFX").filter_settings.get("background", True)
    obs.client.trigger_hotkey_by_name("facefx.toggle_background.FaceFX2")
    obs.wait_for(enabled, 5, "the hotkey to switch the background on again")
    _wait_corner(obs, "Photo2", (255, 0, 0))


def test_filter_removed_and_added_again(obs):
    pid = _status(obs, "FaceFX2")["worker"]["pid"]
    obs.client.remove_source_filter("Photo2", "FaceFX2")
    _wait_raw(obs, "Photo2", "the unchanged photo once the filter is removed")
    os.remove(os.path.join(obs.debug_dir, "FaceFX2.status.json"))
    obs.client.create_source_filter("Photo2", "FaceFX2", "facefx_filter",
                                    {"bg_mode": "color", "bg_color": RED})
    obs.wait_results("FaceFX2", 3)
    assert tuple(obs.screenshot("Photo2")[5, 5, :3]) == (255, 0, 0)
    assert _status(obs, "FaceFX2")["worker"]["pid"] == pid


def test_worker_killed_mid_run_obs_keeps_rendering_and_effect_returns(obs):
    obs.set_filter("Photo2", "FaceFX2", {"background": True, "bg_mode": "color", "bg_color": RED})
    st = obs.wait_results("FaceFX2", 2)
    _wait_corner(obs, "Photo2", (255, 0, 0))
    old = st["worker"]["pid"]
    frames0 = obs.client.get_stats().render_total_frames
    os.kill(old, signal.SIGKILL)
    obs.wait_for(lambda: not pid_alive(old), 5, "the worker to die")
    # OBS keeps rendering while the worker is gone, the filter drawing with its last mask.
    shot = obs.screenshot("Photo2")
    assert shot.shape[:2] == (512, 512) and tuple(shot[5, 5, :3]) == (255, 0, 0), shot[5, 5]
    new = obs.wait_for(lambda: (lambda s: s and s["worker"]["state"] == "running"
                                and s["worker"]["pid"] not in (None, old) and s)(obs.filter_status("FaceFX2")),
                       60, "a restarted worker")
    assert new["worker"]["restarts"] >= 1
    obs.wait_results("FaceFX2", 3)
    assert obs.client.get_stats().render_total_frames > frames0 + 30
    assert tuple(obs.screenshot("Photo2")[5, 5, :3]) == (255, 0, 0)


def test_script_unloaded_filters_pass_through_and_reload_restores(obs):
    worker = _status(obs, "FaceFX")["worker"]["pid"]
    mark = obs.log_size()
    obs.client.set_current_scene_collection("NoScript")
    obs.wait_for(lambda: not pid_alive(worker), 15, "the worker to stop when the script unloads")
    _wait_raw(obs, "Photo", "an unloaded filter to pass video through")
    assert [p for p in process_children(obs.pid) if "facefx.worker" in _cmdline(p)] == []
    for name in ("FaceFX", "FaceFX2", "ClipFX"):
        path = os.path.join(obs.debug_dir, name + ".status.json")
        if os.path.exists(path):
            os.remove(path)
    obs.client.set_current_scene_collection("Main")
    st = obs.wait_results("FaceFX", 3, timeout=60)
    assert st["worker"]["pid"] not in (None, worker)
    assert obs.log_text().count("registered filter type facefx_filter") == 1
    assert obs.log_text(since=mark).count("Unloaded python script: obs_facefx.py") == 1
    assert obs.log_text(since=mark).count("Loaded python script: obs_facefx.py") == 1
    assert not np.array_equal(obs.screenshot("Photo")[:, :, :3], _raw_astronaut())


def test_obs_shuts_down_cleanly_without_leaks(obs):
    """OBS exits 0 with no leaked process or memory, and FaceFX unloaded on the way.

    Debian's OBS 29 itself sometimes crashes (SIGSEGV in Qt's event loop) when it is closed
    seconds after starting: 3 of 15 such start/stop cycles crashed with no FaceFX script
    loaded at all. A crash like that, with no FaceFX error or Python traceback in the lines
    the shutdown itself logged, earns another start/stop cycle (at most three); anything else
    fails at once. Earlier tests log FaceFX warnings on purpose; they are not the shutdown's."""
    for attempt in range(3):
        worker = _status(obs, "FaceFX")["worker"]["pid"]
        children = process_children(obs.pid)
        assert worker in children
        mark = obs.log_size()
        rc = obs.stop()
        # A worker outlives OBS by at most its exit grace after the EOF on its stdin.
        deadline = time.monotonic() + EXIT_GRACE_S + 3.0
        while any(pid_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        leaked = [p for p in children if pid_alive(p)]
        assert leaked == [], f"processes left behind: {[(p, _cmdline(p)) for p in leaked]}"
        log = obs.log_text(since=mark)
        if rc == 0:
            assert "Unloaded python script: obs_facefx.py" in log
            assert "Number of memory leaks: 0" in log, [ln for ln in log.splitlines() if "leak" in ln]
            return
        ours = [ln for ln in log.splitlines() if "Traceback" in ln
                or ("[FaceFX]" in ln and ln.startswith(("error", "warning")))]
        assert rc == -signal.SIGSEGV and not ours, f"OBS exited with {rc}: {ours}\n{obs.log_tail()}"
        obs.start()
        obs.wait_results("FaceFX", 3)
    raise AssertionError(f"OBS crashed in all 3 shutdowns\n{obs.log_tail()}")