"""Gesture actions: the mapping from the filter's data, the runner, and the libobs bindings.

The runner is driven with a performer that records what it is asked to do (the same interface
as ObsPerformer, which needs OBS's UI thread); the bindings are checked against the real libobs
and frontend API.
"""
from __future__ import annotations

import ctypes as C
import dataclasses
import json
import os

import pytest

from facefx.obs import actions as A
from facefx.settings import SettingsError
from facefx.triggers import Fired


class RecordingPerformer:
    """Answers like ObsPerformer in an OBS with one scene list and one source list."""

    def __init__(self, scenes=("Live", "BRB"), sources=("Camera", "Logo")) -> None:
        self.scenes, self.sources = set(scenes), set(sources)
        self.calls = []
        self.recording_active = False

    def switch_scene(self, name):
        self.calls.append(("scene", name))
        return "" if name in self.scenes else f"scene {name!r} does not exist"

    def toggle_source(self, name):
        self.calls.append(("source", name))
        return "" if name in self.sources else f"source {name!r} is not in the current scene"

    def recording(self, mode):
        self.calls.append(("record", mode))
        self.recording_active = {"start": True, "stop": False}.get(mode, not self.recording_active)
        return ""

    def hotkey(self, name):
        self.calls.append(("hotkey", name))
        if name == "boom":
            raise RuntimeError("hotkey callback failed")
        return ""


def make_runner(values, performer=None):
    performer = performer or RecordingPerformer()
    queued = []
    runner = A.ActionRunner(performer, queued.append)
    runner.configure(values)
    return runner, performer, queued


def run_all(queued):
    while queued:
        queued.pop(0)()


@pytest.mark.parametrize("kind,target,call", [
    ("scene", "BRB", ("scene", "BRB")),
    ("source", "Logo", ("source", "Logo")),
    ("record", "start", ("record", "start")),
    ("record", "", ("record", "toggle")),
    ("hotkey", "OBSBasic.StartRecording", ("hotkey", "OBSBasic.StartRecording")),
])
def test_each_kind_is_queued_then_performed_on_the_ui_thread(kind, target, call):
    runner, perf, queued = make_runner({A.action_key("thumbs_up"): kind, A.target_key("thumbs_up"): target})
    assert runner.fired(Fired("thumbs_up", 1.0, (0,)))
    assert perf.calls == []            # nothing runs on the calling (video) thread
    run_all(queued)
    assert perf.calls == [call]
    assert runner.error == ""


def test_gestures_without_an_action_queue_nothing():
    runner, perf, queued = make_runner({A.action_key("thumbs_up"): "scene", A.target_key("thumbs_up"): "BRB",
                                        A.action_key("fist"): "none"})
    assert not runner.fired(Fired("fist", 1.0, (0,)))
    assert not runner.fired(Fired("victory", 1.0, (0,)))
    assert queued == []


def test_a_missing_scene_is_named_in_the_status_and_the_rest_keeps_working():
    runner, perf, queued = make_runner({A.action_key("thumbs_up"): "scene", A.target_key("thumbs_up"): "Nope",
                                        A.action_key("fist"): "source", A.target_key("fist"): "Logo"})
    runner.fired(Fired("thumbs_up", 1.0, (0,)))
    run_all(queued)
    assert "scene 'Nope' does not exist" in runner.error
    assert "thumbs_up" in runner.error
    runner.fired(Fired("fist", 2.0, (0,)))
    run_all(queued)
    assert perf.calls == [("scene", "Nope"), ("source", "Logo")]
    assert runner.error == ""          # the message says what is wrong now, not what once was


def test_an_action_that_raises_is_reported_not_propagated():
    runner, perf, queued = make_runner({A.action_key("ok"): "hotkey", A.target_key("ok"): "boom"})
    runner.fired(Fired("ok", 1.0, (0,)))
    run_all(queued)
    assert "RuntimeError: hotkey callback failed" in runner.error


def test_recording_toggle_alternates():
    runner, perf, queued = make_runner({A.action_key("victory"): "record", A.target_key("victory"): "toggle"})
    states = []
    for t in (1.0, 4.0, 7.0):
        runner.fired(Fired("victory", t, (0,)))
        run_all(queued)
        states.append(perf.recording_active)
    assert states == [True, False, True]


def test_reconfigure_replaces_the_mapping():
    runner, perf, queued = make_runner({A.action_key("thumbs_up"): "scene", A.target_key("thumbs_up"): "BRB"})
    runner.configure({A.action_key("thumbs_up"): "none"})
    assert not runner.fired(Fired("thumbs_up", 1.0, (0,)))


def test_on_fired_hook_uses_the_filters_runner():
    runner, perf, queued = make_runner({A.action_key("fist"): "scene", A.target_key("fist"): "Live"})

    class Filter:
        actions = runner

    assert A.on_fired(Filter(), Fired("fist", 1.0, (0,)))
    assert not A.on_fired(object(), Fired("fist", 1.0, (0,)))   # a filter without actions
    run_all(queued)
    assert perf.calls == [("scene", "Live")]


# ---------------------------------------------------------------------------- parsing
def test_parsing_reads_only_set_gestures():
    actions, problems = A.actions_from_values({A.action_key("fist"): "scene", A.target_key("fist"): "BRB",
                                               A.action_key("ok"): "none", A.action_key("victory"): ""})
    assert problems == []
    assert actions == {"fist": A.GestureAction("fist", "scene", "BRB")}


def test_a_bad_entry_is_reported_and_the_others_kept():
    actions, problems = A.actions_from_values({A.action_key("fist"): "explode",
                                               A.action_key("ok"): "scene", A.target_key("ok"): "BRB"})
    assert list(actions) == ["ok"]
    assert len(problems) == 1 and "'explode'" in problems[0] and "scene" in problems[0]


@pytest.mark.parametrize("kind,target,match", [
    ("explode", "", r"must be one of none, scene, source, record, hotkey, got 'explode'"),
    ("scene", "", r"needs a scene name, got nothing"),
    ("source", "  ", r"needs a source name"),
    ("hotkey", "", r"needs a hotkey name"),
    ("record", "pause", r"must be one of toggle, start, stop, got 'pause'"),
    ("scene", 3, r"target for 'fist' must be text, got 3"),
])
def test_bad_actions_are_rejected_with_what_was_expected(kind, target, match):
    with pytest.raises(SettingsError, match=match):
        A.GestureAction("fist", kind, target)


def test_custom_gesture_names_are_mapped_too():
    actions, _ = A.actions_from_values({A.action_key("wave"): "hotkey", A.target_key("wave"): "x"},
                                       gestures=("wave",))
    assert actions["wave"].target == "x"


# ---------------------------------------------------------------------------- bindings
def test_bindings_load_with_declared_argtypes_from_the_real_libraries():
    from facefx.obs.libobs import LibobsNotFound, load_libobs
    try:
        obs = load_libobs(C.CDLL)
        front = A._load_frontend()
    except (LibobsNotFound, OSError) as e:
        pytest.skip(f"libobs / the frontend API is not installed here: {e}")
    perf = A.ObsPerformer(obs, front)
    for name, fn in perf._f.items():
        assert fn.argtypes is not None, name
    assert set(perf._f) == set(A._OBS_FUNCS) | set(A._FRONTEND_FUNCS)


def test_ui_task_callback_runs_the_queued_callable_once():
    ran = []
    with A._pending_lock:
        A._pending[999_999] = lambda: ran.append(1)
    A._TASK_CALLBACK(999_999)     # what OBS's UI thread calls
    A._TASK_CALLBACK(999_999)
    assert ran == [1]


# ---------------------------------------------------------------------------- real OBS
CLIP = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "evalset", "clips",
                    "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")


@pytest.fixture(scope="module")
def obs_session():
    from .conftest import require_obs
    from .harness import ObsSession, facefx_filter, media_source
    require_obs()
    if not os.path.exists(CLIP):
        pytest.skip(f"the evalset clip is absent: {CLIP}")
    session = ObsSession({"Actions": [
        media_source("Clip", os.path.abspath(CLIP), [facefx_filter("ActFX", bg_mode="color")]),
    ]})
    session.start()
    try:
        session.client.create_scene("BRB")
        yield session
    finally:
        session.stop()
        session.cleanup()


@pytest.fixture
def obs(obs_session):
    if not obs_session.running:
        obs_session.start()
    obs_session.client.set_current_program_scene("Scene")
    return obs_session


def _current_scene(obs) -> str:
    return obs.client.get_current_program_scene().current_program_scene_name


def _fire(obs, gesture, n, **actions):
    settings = {A.K_DEBUG_FIRE: f"{gesture}#{n}"}
    for g, (kind, target) in actions.items():
        settings[A.action_key(g)] = kind
        settings[A.target_key(g)] = target
    obs.set_filter("Clip", "ActFX", settings)


def test_thumbs_up_switches_the_current_scene(obs):
    assert _current_scene(obs) == "Scene"
    _fire(obs, "thumbs_up", 1, thumbs_up=("scene", "BRB"))
    obs.wait_for(lambda: _current_scene(obs) == "BRB", 10, "the scene to switch to BRB")
    assert "Gesture actions" not in (obs.filter_status("ActFX") or {}).get("status", "")


def test_a_missing_scene_is_named_in_the_status_and_obs_keeps_running(obs):
    _fire(obs, "thumbs_up", 2, thumbs_up=("scene", "No such scene"))
    st = obs.wait_for(lambda: "No such scene" in (obs.filter_status("ActFX") or {}).get("status", "")
                      and obs.filter_status("ActFX"), 10, "the missing scene in the status line")
    assert "Gesture actions: gesture 'thumbs_up': scene 'No such scene' does not exist" in st["status"]
    assert _current_scene(obs) == "Scene"
    _fire(obs, "fist", 3, fist=("scene", "BRB"), thumbs_up=("none", ""))   # the rest keeps working
    obs.wait_for(lambda: _current_scene(obs) == "BRB", 10, "the fist action after the bad one")
    assert obs.running


def test_toggle_source_flips_its_visibility_in_the_current_scene(obs):
    item = obs.client.get_scene_item_id("Scene", "Clip").scene_item_id
    enabled = lambda: obs.client.get_scene_item_enabled("Scene", item).scene_item_enabled  # noqa: E731
    assert enabled()
    _fire(obs, "victory", 4, victory=("source", "Clip"))
    obs.wait_for(lambda: not enabled(), 10, "the Clip source to be hidden")
    _fire(obs, "victory", 5, victory=("source", "Clip"))
    obs.wait_for(enabled, 10, "the Clip source to be shown again")


def test_recording_and_hotkey_actions_start_and_stop_recording(obs):
    """The recording action and a hotkey action (OBS's own Stop Recording hotkey) through the
    UI-thread queue of a real OBS; OBS writes a file into the profile's recording folder."""
    recording = lambda: obs.client.get_record_status().output_active  # noqa: E731
    if recording():
        obs.client.stop_record()
        obs.wait_for(lambda: not recording(), 30, "an earlier recording to stop")
    _fire(obs, "ok", 20, ok=("record", "start"))
    obs.wait_for(recording, 30, "the recording action to start recording")
    _fire(obs, "ok", 21, ok=("record", "start"))      # start while recording: nothing changes
    _fire(obs, "ok", 22, ok=("hotkey", "OBSBasic.StopRecording"))
    obs.wait_for(lambda: not recording(), 30, "the Stop Recording hotkey action to stop it")
    videos = [f for f in os.listdir(obs.tmp) if f.rsplit(".", 1)[-1] in ("mkv", "mp4", "flv", "mov")]
    assert videos, f"no recording in {obs.tmp}: {os.listdir(obs.tmp)}"
    # A successful action clears the last action error (an earlier test's); the status file
    # is rewritten periodically, so wait for it rather than read it once.
    obs.wait_for(lambda: "Gesture actions" not in (obs.filter_status("ActFX") or {}).get("status", "x Gesture actions"),
                 10, "the status line without an action error")
    _fire(obs, "ok", 23, ok=("record", "toggle"))
    obs.wait_for(recording, 30, "the toggle to start recording")
    _fire(obs, "ok", 24, ok=("record", "toggle"))
    obs.wait_for(lambda: not recording(), 30, "the toggle to stop it again")
    _fire(obs, "ok", 25, ok=("hotkey", "No.Such.Hotkey"))
    st = obs.wait_for(lambda: "No.Such.Hotkey" in (obs.filter_status("ActFX") or {}).get("status", "")
                      and obs.filter_status("ActFX"), 10, "the missing hotkey in the status line")
    assert "hotkey 'No.Such.Hotkey' does not exist" in st["status"]
    obs.set_filter("Clip", "ActFX", {A.action_key("ok"): "none"})


def _props(obs):
    path = os.path.join(obs.debug_dir, "ActFX.props.json")
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _group(props, name):
    for entry in props or []:
        if entry[0] == name:
            return {c[0]: c for c in entry[3]}
    return None


def test_panel_has_a_gesture_actions_group_with_target_lists_for_set_kinds(obs):
    obs.set_filter("Clip", "ActFX", {A.action_key("ok"): "scene", A.target_key("ok"): "BRB",
                                     A.action_key("fist"): "none"})

    def group():   # a panel written before these settings (an earlier test's) must not count
        g = _group(_props(obs), A.K_GROUP)
        return g if g and g[A.target_key("ok")][2] and not g[A.target_key("fist")][2] else None
    g = obs.wait_for(group, 10, "the Gesture actions group with the ok target shown, fist's hidden")
    assert g[A.action_key("fist")][2]
    assert set(g) >= {A.action_key(n) for n in ("thumbs_up", "two_victories")}


def test_panel_shows_the_picked_gestures_controls_and_the_model_pickers(obs):
    from facefx.obs import gesture_props as G
    from facefx.obs import props as P
    obs.set_filter("Clip", "ActFX", {G.K_GEST_EDIT: "ok", G.shows_key("ok"): "corner"})

    def group():
        g = _group(_props(obs), P.K_GESTURES)
        return g if g and g.get(G.shows_key("ok"), [0, 0, False])[2] and g[G.corner_key("ok")][2] else None
    g = obs.wait_for(group, 10, "the ok gesture's controls (corner shown) in the Gesture stickers group")
    assert {P.K_GEST_MODEL, P.K_GEST_LABELS, G.K_GEST_EDIT} <= set(g)
    assert not g[G.shows_key("thumbs_up")][2] and not g[G.hold_key("ok")][2]
    assert g[P.gesture_key("thumbs_up")][2], "the enable checkboxes stay visible"
    obs.set_filter("Clip", "ActFX", {G.K_GEST_EDIT: "thumbs_up", G.shows_key("ok"): ""})


def test_target_choices_follow_the_kind():
    assert A.target_choices("scene", ["Live", "BRB"], ["Cam"], ["h"]) == [("Live", "Live"), ("BRB", "BRB")]
    assert A.target_choices("source", ["Live"], ["Cam"], ["h"]) == [("Cam", "Cam")]
    assert A.target_choices("hotkey", [], [], ["OBSBasic.StartRecording"]) == \
        [("OBSBasic.StartRecording", "OBSBasic.StartRecording")]
    assert [v for v, _ in A.target_choices("record", [], [], [])] == ["toggle", "start", "stop"]
    assert A.target_choices("none", ["Live"], ["Cam"], ["h"]) == []


def test_the_plugins_dispatch_hands_fired_events_to_the_filters_runner():
    runner, perf, queued = make_runner({A.action_key("fist"): "scene", A.target_key("fist"): "BRB"})

    class Filter:
        actions = runner

    assert A.Dispatch().on_fired(Filter(), Fired("fist", 1.0, (0,)))
    run_all(queued)
    assert perf.calls == [("scene", "BRB")]


# ---------------------------------------------------------------------------- teaching (worker)
def _worker():
    import io

    from facefx.worker import Worker, _Out
    stream = io.StringIO()
    w = Worker(_Out(stream))
    w.handle({"op": "open", "source": "s1"})
    return w, w.sources["s1"], stream


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFX_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize("msg,match", [
    ({"name": "a/b", "seconds": 3}, "invalid gesture name 'a/b'"),
    ({"name": "wave", "seconds": 0.1}, "teach seconds must be a number from 1 to 10, got 0.1"),
    ({"name": "wave", "seconds": "3"}, "got '3'"),
    ({"name": 7, "seconds": 3}, "gesture name must be text, got 7"),
])
def test_bad_teach_requests_are_reported_in_the_heartbeat(data_dir, msg, match):
    w, src, _ = _worker()
    w.handle({"op": "teach", "source": "s1", **msg})
    assert src.teaching is None
    assert src.teach_state["state"] == "failed" and match in src.teach_state["message"]


def test_forgetting_an_unknown_gesture_names_it(data_dir):
    w, src, _ = _worker()
    w.handle({"op": "forget", "source": "s1", "name": "wave"})
    assert "no taught gesture named 'wave'" in src.teach_state["message"]


def test_a_recording_without_hands_fails_with_the_reason(data_dir):
    w, src, _ = _worker()
    w.handle({"op": "teach", "source": "s1", "name": "wave", "seconds": 1})
    src.teaching.until = 0.0          # the recording window is over
    w.heartbeat(1.0)
    assert src.teach_state["state"] == "failed"
    assert "only 0 frames with a hand for 'wave'" in src.teach_state["message"]


def test_recorded_hands_are_trained_in_the_worker_and_reported(data_dir):
    mp = pytest.importorskip("mediapipe")
    from facefx import teach
    from facefx.results import FrameResults
    from tests.test_classifiers import photo_hands
    from tests.test_teach import PALM
    if not os.path.exists(PALM):
        pytest.skip(f"evalset photo absent: {PALM}")
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1) as hands_model:
        rgb, hands = photo_hands(hands_model, PALM)
    assert hands, "the evalset palm photo must show a hand"
    w, src, stream = _worker()
    w.handle({"op": "teach", "source": "s1", "name": "wave", "seconds": 2})
    until = src.teaching.until
    size = (rgb.shape[1], rgb.shape[0])
    for i in range(12):
        w._teach_collect(src, FrameResults(hands=hands), size, until - 1.0 + i * 0.05)
    assert src.teach_state["state"] == "recording" and src.teach_state["samples"] == 12
    w._teach_collect(src, FrameResults(hands=hands), size, until + 0.01)
    assert src.teach_state["state"] == "taught", src.teach_state
    assert teach.model_paths() is not None
    assert [n for n, _ in teach.list_gestures()] == ["wave"]
    w.heartbeat(until + 0.1)
    beat = [json.loads(line) for line in stream.getvalue().splitlines() if '"heartbeat"' in line][-1]
    assert beat["sources"]["s1"]["taught"] == ["wave"]
    assert beat["sources"]["s1"]["teach"]["state"] == "taught"


def test_the_channel_sends_teach_and_forget_and_reports_the_workers_stats():
    """What actions.py asks of a SourceChannel, through its public methods only."""
    from facefx.obs import protocol
    from facefx.obs.channel import SourceChannel

    class Client:
        def __init__(self):
            self.sent = []

        def _send(self, msg):
            self.sent.append(msg)

    client = Client()
    ch = SourceChannel(client, "3:Cam", 0)
    assert ch.worker_stats() == {}

    class Inst:
        channel = ch
        actions = None

    assert A.send_teach_op(Inst(), protocol.OP_TEACH, " wave ", seconds=2.5) == ""
    assert A.send_teach_op(Inst(), protocol.OP_FORGET, "wave") == ""
    assert "type a name" in A.send_teach_op(Inst(), protocol.OP_TEACH, "  ")
    assert client.sent == [{"op": "teach", "source": "3:Cam", "seconds": 2.5, "name": "wave"},
                           {"op": "forget", "source": "3:Cam", "name": "wave"}]
    ch._worker_stats = {"taught": ["wave"], "labels": ["wave"]}   # what the client's reader sets
    stats = ch.worker_stats()
    stats["taught"] = []
    assert A.taught_names(Inst()) == ["wave"], "worker_stats() must hand out a copy"


def test_a_gesture_taught_in_the_worker_fires_there_without_a_restart(data_dir, tmp_path):
    """Teach 'wave' from the palm photo's hands, then the same worker's frames (through its
    shared-memory channel, as OBS sends them) carry 'wave' hits: the rebuilt engine uses the
    taught model although the settings name none, and the heartbeat lists its label."""
    mp = pytest.importorskip("mediapipe")
    import numpy as np

    from facefx import ipc
    from facefx.obs.channel import read_result
    from facefx.results import FrameResults
    from facefx.settings import GestureSettings, Settings
    from tests.test_classifiers import photo_hands
    from tests.test_teach import PALM
    if not os.path.exists(PALM):
        pytest.skip(f"evalset photo absent: {PALM}")
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1) as hands_model:
        rgb, hands = photo_hands(hands_model, PALM)
    assert hands, "the evalset palm photo must show a hand"
    h, w = rgb.shape[:2]
    frame = np.ascontiguousarray(np.dstack([rgb, np.full((h, w), 255, np.uint8)]))
    chan = ipc.ChannelFile.create(str(tmp_path / "c.shm"), frame.nbytes)
    worker, src, stream = _worker()
    settings = Settings().replace(gestures=GestureSettings(enabled=True, gestures=("wave",)))
    settings = settings.replace(background=dataclasses.replace(settings.background, mode="none"))
    worker.handle({"op": "settings", "source": "s1", "settings": settings.to_dict()})
    worker.handle({"op": "attach", "source": "s1", "path": chan.path, "seq": 0})
    seq = [0]

    def names_over(frames):
        """Gesture names in the results of `frames` more frames (time runs as at 30 fps)."""
        found = set()
        for _ in range(frames):
            seq[0] += 1
            chan.frames.write(frame, width=w, height=h, stride=w * 4, frame_seq=seq[0])
            assert worker._process(src, seq[0] / 30.0), src.error
            _, res, problem = read_result(chan.results, 0)
            assert problem == "" and res is not None, problem
            found |= {g.name for g in res.results.gestures}
        return found

    try:
        assert "wave" not in names_over(6) and src.labels == ()   # nothing taught yet
        worker.handle({"op": "teach", "source": "s1", "name": "wave", "seconds": 2})
        until = src.teaching.until
        for i in range(12):
            worker._teach_collect(src, FrameResults(hands=hands), (w, h), until - 1.0 + i * 0.05)
        worker._teach_collect(src, FrameResults(hands=hands), (w, h), until + 0.01)
        assert src.teach_state["state"] == "taught", src.teach_state
        assert "wave" in names_over(8), "the taught gesture must fire from the next frames on"
        assert src.labels == ("wave",)
        worker.heartbeat(until + 0.1)
        beat = [json.loads(line) for line in stream.getvalue().splitlines() if '"heartbeat"' in line][-1]
        assert beat["sources"]["s1"]["labels"] == ["wave"] and beat["sources"]["s1"]["taught"] == ["wave"]
    finally:
        worker.sources.pop("s1").close()
        chan.close()


def test_labels_follow_a_model_picked_while_the_engine_runs(data_dir):
    from facefx.settings import GestureSettings, Settings
    kinivi = os.path.join(os.path.dirname(__file__), "..", "..", "models", "kinivi_keypoint_classifier",
                          "keypoint_classifier.tflite")
    worker, src, _ = _worker()
    base = Settings().replace(gestures=GestureSettings(enabled=True))
    base = base.replace(background=dataclasses.replace(base.background, mode="none"))
    worker.handle({"op": "settings", "source": "s1", "settings": base.to_dict()})
    src.engine = worker._make_engine(src)
    try:
        assert src.labels == ()
        picked = base.replace(gestures=dataclasses.replace(base.gestures, model=os.path.abspath(kinivi)))
        worker.handle({"op": "settings", "source": "s1", "settings": picked.to_dict()})
        assert src.engine is not None and src.labels == ("Open", "Close", "Pointer", "OK")
        worker.handle({"op": "settings", "source": "s1", "settings": base.to_dict()})
        assert src.labels == ()
    finally:
        worker.sources.pop("s1").close()


def test_a_custom_model_that_cannot_be_used_is_named_and_the_rest_keeps_working(data_dir, tmp_path):
    from facefx import ipc
    from facefx.settings import GestureSettings, Settings
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a model")
    worker, src, _ = _worker()
    settings = Settings().replace(gestures=GestureSettings(enabled=True, model=str(bad)))
    settings = settings.replace(background=dataclasses.replace(settings.background, mode="blur"))
    worker.handle({"op": "settings", "source": "s1", "settings": settings.to_dict()})
    engine = worker._make_engine(src)
    try:
        assert "gesture model not used" in src.model_error and "model.tflite" in src.model_error
        assert {st.name for st in engine.stages} >= {"segmentation", "hands", "gestures"}
        assert src.labels == ()
    finally:
        engine.close()


def test_teaching_from_obs_reaches_the_worker_and_its_outcome_shows_in_the_status(obs):
    """With gestures off the worker sees no hands: the recording fails with its reason, which
    shows the whole round trip (OBS -> worker op -> heartbeat -> status line)."""
    obs.wait_results("ActFX", 1)        # the worker is running for this source
    obs.set_filter("Clip", "ActFX", {A.K_DEBUG_TEACH: "wave#1", "debug_teach_s": 1.0})
    st = obs.wait_for(lambda: "Teach a gesture: only" in (obs.filter_status("ActFX") or {}).get("status", "")
                      and obs.filter_status("ActFX"), 30, "the teaching outcome in the status line")
    assert "only 0 frames with a hand for 'wave'" in st["status"]
    g = _group(_props(obs), "teach_gesture")
    assert g is not None and {A.K_TEACH_NAME, A.K_TEACH_BUTTON, A.K_TAUGHT, A.K_FORGET_BUTTON} <= set(g)


def test_clip_thumbs_up_switches_the_scene_through_the_trigger_bank(obs):
    """The real path: the worker's hands and gestures on the fist-then-thumbs-up clip, the
    filter's Scene and trigger bank (hold, cooldown), then the action on OBS's UI thread."""
    from facefx.analysis import gestures
    from facefx.obs import props as P
    if not hasattr(gestures, "GestureStage"):
        pytest.skip("the worker's engine has no gesture stage yet (facefx.analysis.gestures.GestureStage)")
    assert _current_scene(obs) == "Scene"
    obs.set_filter("Clip", "ActFX", {P.K_GESTURES: True, A.action_key("thumbs_up"): "scene",
                                     A.target_key("thumbs_up"): "BRB", A.action_key("fist"): "none"})
    try:
        obs.wait_for(lambda: _current_scene(obs) == "BRB", 90, "a thumbs up in the clip to switch to BRB")
    finally:
        obs.set_filter("Clip", "ActFX", {P.K_GESTURES: False, A.action_key("thumbs_up"): "none"})
