"""The analysis engine with the real MediaPipe selfie segmentation model."""
import os
import threading

import cv2
import numpy as np
import pytest

from facefx.analysis import STAGE_FACTORIES, Engine, FrameError, Stage, analysis_size
from facefx.analysis.segmentation import (LiteSegmenter, MediaPipeSegmenter, ModelError,
                                          SegmentationStage)
from facefx.analysis.tflite import load_interpreter, mediapipe_model
from facefx.results import Hand
from facefx.settings import BackgroundSettings, GestureSettings, SegmentationSettings, Settings

BLUR = Settings(background=BackgroundSettings(mode="blur"))


@pytest.fixture(scope="module")
def engine():
    with Engine(BLUR) as e:
        yield e


def _person_and_corners(mask):
    h, w = mask.shape
    face = mask[int(h * 0.12):int(h * 0.32), int(w * 0.33):int(w * 0.5)]
    suit = mask[int(h * 0.5):int(h * 0.7), int(w * 0.15):int(w * 0.45)]
    corners = [mask[: h // 8, : w // 8], mask[: h // 8, -w // 8:]]
    return face, suit, corners


@pytest.mark.parametrize("backend", ["litert", "mediapipe"])
@pytest.mark.parametrize("model", ["landscape", "general"])
def test_mask_covers_the_astronaut_and_not_the_corners(astronaut, model, backend):
    s = Settings(segmentation=SegmentationSettings(model=model), background=BackgroundSettings(mode="blur"))
    with Engine(s, stages=[SegmentationStage(backend=backend)]) as e:
        a = e.analyze(astronaut)
        assert e.stages[0].backend == backend
    assert a.mask.dtype == np.uint8 and a.mask.shape == (256, 256)
    face, suit, corners = _person_and_corners(a.mask)
    assert face.mean() > 200 and suit.mean() > 200
    for c in corners:
        assert c.mean() < 40


def test_litert_runs_the_bundled_model_like_mediapipe(astronaut):
    """At the model's own input size LiteRT and MediaPipe's graph give the same mask."""
    image = cv2.resize(astronaut, (256, 144), interpolation=cv2.INTER_AREA)
    lite, graph = LiteSegmenter("landscape"), MediaPipeSegmenter("landscape")
    try:
        a, b = lite(image), graph(image)
    finally:
        lite.close()
        graph.close()
    assert a.shape == b.shape == (144, 256)
    assert np.abs(a - b).max() < 1e-3
    assert a.max() > 0.9 and a.min() < 0.1      # a real mask, not a constant


def test_default_backend_is_litert(engine, astronaut):
    engine.analyze(astronaut)
    assert engine.stages[0].backend == "litert"


def test_model_errors_name_the_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found: .*nope.tflite"):
        load_interpreter(str(tmp_path / "nope.tflite"))
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"this is not a flatbuffer" * 10)
    with pytest.raises(ModelError, match="cannot load TFLite model .*bad.tflite"):
        load_interpreter(str(bad))
    with pytest.raises(ModelError, match="missing from the installed MediaPipe"):
        mediapipe_model("modules/nothing/here.tflite")
    with pytest.raises(ValueError, match="segmentation backend must be one of"):
        SegmentationStage(backend="gpu")


def test_rgba_and_non_square_input(engine, astronaut):
    wide = cv2.resize(astronaut, (640, 360))
    rgba = cv2.cvtColor(wide, cv2.COLOR_RGB2RGBA)
    a = engine.analyze(rgba)
    assert a.frame_size == (640, 360) and a.mask.shape == (144, 256)
    assert set(a.stage_ms) >= {"resize", "segmentation", "total"}


def test_no_background_effect_skips_segmentation(astronaut):
    with Engine(Settings()) as e:
        a = e.analyze(astronaut)
    assert a.mask is None and "segmentation" not in a.stage_ms


def test_model_reloads_only_when_model_setting_changes(astronaut):
    landscape = BLUR.replace(segmentation=SegmentationSettings(model="landscape"))
    with Engine(landscape) as e:
        e.analyze(astronaut)
        stage = e.stages[0]
        model = stage._model
        assert model.size == (256, 144)                     # landscape
        e.update(BLUR.replace(segmentation=SegmentationSettings(model="landscape", smoothing=0.1, softness=0.9)))
        e.analyze(astronaut)
        assert stage._model is model
        e.update(BLUR.replace(segmentation=SegmentationSettings(model="general")))
        e.analyze(astronaut)
        assert stage._model is not model and stage._model.size == (256, 256)
        assert model._it is None, "the replaced model was not closed"


@pytest.mark.parametrize("frame,match", [
    (np.zeros((10, 10, 3), np.uint16), "dtype: uint16 != uint8"),
    (np.zeros((10, 10), np.uint8), "HxWx3 RGB or HxWx4 RGBA"),
    (np.zeros((0, 10, 3), np.uint8), "too small"),
    ("frame.png", "numpy uint8 image"),
])
def test_bad_frames_are_rejected_with_the_expected_form(engine, frame, match):
    with pytest.raises(FrameError, match=match):
        engine.analyze(frame)


def test_analysis_size_keeps_aspect():
    assert analysis_size(1280, 720, 256) == (256, 144)
    assert analysis_size(1920, 1080, 256) == (256, 144)
    assert analysis_size(100, 50, 256) == (100, 50)


PORTRAITS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "shared", "evalset", "portraits")
# Measured on the 8 labelled portraits (mask > 127 at the label's size): IoU landscape
# 0.828-0.978, mean 0.933; general 0.948-0.978, mean 0.960.
PORTRAIT_MIN_IOU = 0.80
PORTRAIT_MEAN_IOU = 0.92


@pytest.mark.skipif(not os.path.isdir(PORTRAITS), reason="optional: ../shared/evalset/portraits not present")
@pytest.mark.parametrize("model", ["landscape", "general"])
def test_evalset_portrait_masks_match_their_labels(model):
    """Accuracy on real photos with human-made person masks: the intersection over union of
    every mask with its label, and their mean, stay at what these models measurably reach."""
    from facefx.imageio import load_image_rgb
    photos = sorted(n for n in os.listdir(PORTRAITS) if not n.endswith("_mask.png"))
    assert len(photos) >= 8, photos
    s = Settings(segmentation=SegmentationSettings(model=model), background=BackgroundSettings(mode="blur"))
    ious = {}
    with Engine(s) as e:
        for name in photos:
            label = cv2.imread(os.path.join(PORTRAITS, os.path.splitext(name)[0] + "_mask.png"),
                               cv2.IMREAD_GRAYSCALE) > 127
            e.reset()
            mask = e.analyze(load_image_rgb(os.path.join(PORTRAITS, name))).mask
            person = cv2.resize(mask, label.shape[::-1], interpolation=cv2.INTER_LINEAR) > 127
            ious[name] = (person & label).sum() / (person | label).sum()
    assert min(ious.values()) >= PORTRAIT_MIN_IOU, ious
    assert np.mean(list(ious.values())) >= PORTRAIT_MEAN_IOU, ious


def test_single_inference_thread_gives_the_same_mask(astronaut):
    """The OBS worker runs inference on one thread (OBS renders on the other core)."""
    s = BLUR
    with Engine(s, threads=1) as one, Engine(s) as default:
        np.testing.assert_allclose(one.analyze(astronaut).mask, default.analyze(astronaut).mask, atol=1)
        assert one.stages[0]._model._it is not None and one.stages[0].backend == "litert"


# -- the engine's stage scheduling (stand-in stages that record what they were given) ----------

class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _Recorder(Stage):
    """Records each frame it ran on and its input size; costs `cost_ms` on the test's clock."""

    outputs = ("hands",)

    def __init__(self, name="hands", size=None, every=1, every_when_tight=1, cost_ms=0.0, clock=None):
        self.name, self._size, self.every, self.every_when_tight = name, size, every, every_when_tight
        self.cost_ms, self.clock, self.ran, self.closed = cost_ms, clock, [], 0

    def input_size(self, settings, width, height):
        return self._size or super().input_size(settings, width, height)

    def process(self, image, analysis):
        self.ran.append((analysis.frame_index, image.shape[1::-1]))
        if self.clock is not None:
            self.clock.now += self.cost_ms / 1000.0
        analysis.hands = (Hand(((0.5, 0.5, 0.0),) * 21, "left", analysis.frame_index / 100),)

    def close(self):
        self.closed += 1


FRAME = np.zeros((360, 640, 3), np.uint8)


def test_engine_is_built_from_the_enabled_stages_only():
    with Engine(Settings()) as e:
        assert e.stages == []
        a = e.analyze(FRAME)
        assert a.mask is None and a.hands == () and "segmentation" not in a.stage_ms
        e.update(BLUR)
        assert [s.name for s in e.stages] == ["segmentation"]
        seg = e.stages[0]
        e.update(BLUR.replace(segmentation=SegmentationSettings(smoothing=0.2)))
        assert e.stages == [seg]                        # kept, not rebuilt
        e.analyze(FRAME)
        model = seg._model
        e.update(Settings())
        a = e.analyze(FRAME)
        assert a.mask is None and "segmentation" not in a.stage_ms     # idle ...
        e.update(BLUR)
        assert e.stages == [seg] and seg._model is model               # ... and kept loaded


def test_stages_without_an_implementation_are_left_out(monkeypatch, caplog):
    monkeypatch.setitem(STAGE_FACTORIES, "hands", "facefx.analysis.no_such_module:HandsStage")
    monkeypatch.setitem(STAGE_FACTORIES, "gestures", lambda threads: _Recorder("gestures"))
    with Engine(Settings(gestures=GestureSettings(enabled=True))) as e:
        assert [s.name for s in e.stages] == ["gestures"]
    assert "'hands' is not available" in caplog.text


def test_registered_stages_get_threads_and_run_in_stage_order(monkeypatch):
    made = []

    def factory(name):
        def make(threads):
            made.append((name, threads))
            return _Recorder(name)
        return make

    monkeypatch.setitem(STAGE_FACTORIES, "gestures", factory("gestures"))
    monkeypatch.setitem(STAGE_FACTORIES, "hands", factory("hands"))
    with Engine(Settings(gestures=GestureSettings(enabled=True)), threads=1) as e:
        assert [s.name for s in e.stages] == ["hands", "gestures"]
    assert sorted(made) == [("gestures", 1), ("hands", 1)]


def test_each_stage_gets_its_own_input_size():
    seg_size, hands_size = _Recorder("a", size=(256, 144)), _Recorder("b", size=(640, 360))
    other = _Recorder("c", size=(128, 72))
    with Engine(BLUR, stages=[seg_size, hands_size, other]) as e:
        e.analyze(FRAME)
    assert seg_size.ran == [(0, (256, 144))] and hands_size.ran == [(0, (640, 360))] and other.ran == [(0, (128, 72))]


def test_a_stage_every_nth_frame_carries_its_result_with_its_age():
    stage = _Recorder(every=3)
    with Engine(Settings(), stages=[stage]) as e:
        out = [e.analyze(FRAME, timestamp=i / 30) for i in range(7)]
    assert [i for i, _ in stage.ran] == [0, 3, 6]
    assert [a.hands[0].score for a in out] == [0, 0, 0, 0.03, 0.03, 0.03, 0.06]
    assert out[0].carried == {} and out[3].carried == {}
    assert out[1].carried["hands"] == pytest.approx(1 / 30) and out[5].carried["hands"] == pytest.approx(2 / 30)
    assert "hands" in out[0].stage_ms and "hands" not in out[1].stage_ms
    assert out[5].results().hands_age == pytest.approx(2 / 30)


def test_budget_halves_the_rate_of_stages_that_allow_it_only_while_tight():
    clock = _Clock()
    seg = _Recorder("segmentation", cost_ms=6.0, clock=clock)
    seg.outputs = ()
    hands = _Recorder("hands", every_when_tight=2, cost_ms=6.0, clock=clock)
    with Engine(Settings(), stages=[seg, hands], budget_ms=10.0, clock=clock) as e:
        for i in range(6):
            e.analyze(FRAME, timestamp=float(i))
        assert len(seg.ran) == 6
        assert [i for i, _ in hands.ran] == [0, 2, 4]     # 12 ms > 10 ms: every 2nd after the first
        e.budget_ms = 20.0
        assert not e.tight
        for i in range(6, 9):
            e.analyze(FRAME, timestamp=float(i))
    assert [i for i, _ in hands.ran] == [0, 2, 4, 6, 7, 8]


def test_reset_forgets_carried_results():
    stage = _Recorder(every=5)
    with Engine(Settings(), stages=[stage]) as e:
        e.analyze(FRAME)
        e.reset()
        a = e.analyze(FRAME)
    assert [i for i, _ in stage.ran] == [0, 1] and a.carried == {}


def test_a_picture_of_another_shape_starts_the_stages_afresh():
    """A source switched to a picture of another aspect ratio: the stages forget what they
    tracked (faces, hands and what was learned about them); a new resolution of the same
    picture (720p to 1080p) is the same scene and keeps it."""
    stage = _Recorder(every=5)
    resets = []
    stage.reset = lambda: resets.append(len(stage.ran))
    with Engine(Settings(), stages=[stage]) as e:
        e.analyze(FRAME)
        e.analyze(np.zeros((720, 1280, 3), np.uint8))
        assert resets == []
        square = e.analyze(np.zeros((512, 512, 3), np.uint8))
    assert resets == [1] and [i for i, _ in stage.ran] == [0, 2] and square.carried == {}


# -- a `beside` stage (segmentation) runs on a second thread while the others run -------------

class _Beside(Stage):
    """Sets analysis.mask after waiting for `go` (so the test controls the overlap)."""

    name = "segmentation"
    outputs = ("mask",)
    beside = True

    def __init__(self, fail=False):
        self.go, self.fail, self.thread, self.shared = threading.Event(), fail, None, []

    def process(self, image, analysis):
        self.thread = threading.get_ident()
        self.shared.append(self.shares_cpu)
        assert self.go.wait(5.0), "the stage after it never ran"
        if self.fail:
            raise RuntimeError("model crashed")
        analysis.mask = np.full((4, 4), analysis.frame_index, np.uint8)


class _After(Stage):
    """Runs after the beside stage: records whether the mask was there, and lets it finish."""

    def __init__(self, name, beside_stage, needs=()):
        self.name, self.beside_stage, self.needs, self.saw = name, beside_stage, needs, []
        self.outputs = (name,)

    def process(self, image, analysis):
        self.saw.append((analysis.mask is not None, threading.get_ident()))
        self.beside_stage.go.set()


def test_a_beside_stage_runs_while_the_next_stage_runs_and_a_stage_that_needs_it_waits():
    seg = _Beside()
    free = _After("hands", seg)                    # does not read the mask: runs at the same time
    needing = _After("heads", seg, needs=("mask",))
    with Engine(Settings(), stages=[seg, free, needing]) as e:
        a = e.analyze(FRAME, timestamp=0.0)
        seg.go.clear()
        b = e.analyze(FRAME, timestamp=1 / 30)
    main = threading.get_ident()
    assert seg.thread != main and seg.shared == [True, True]
    # hands ran before the mask existed (the beside stage was waiting for it), heads after
    assert [s for s, _ in free.saw] == [False, False] and [s for s, _ in needing.saw] == [True, True]
    assert {t for _, t in free.saw + needing.saw} == {main}
    assert a.mask[0, 0] == 0 and b.mask[0, 0] == 1 and "segmentation" in b.stage_ms


def test_one_thread_or_a_stage_alone_runs_on_the_calling_thread():
    seg = _Beside()
    seg.go.set()
    with Engine(Settings(), stages=[seg]) as e:          # nothing to run beside
        e.analyze(FRAME)
    assert seg.thread == threading.get_ident() and seg.shared == [False]
    seg2 = _Beside()
    seg2.go.set()
    after = _After("hands", seg2)
    with Engine(Settings(), stages=[seg2, after], threads=1) as e:   # the OBS worker's setting
        a = e.analyze(FRAME)
    assert seg2.thread == threading.get_ident() and seg2.shared == [False] and a.mask is not None


def test_an_error_in_a_beside_stage_is_raised_by_analyze_and_the_engine_goes_on():
    seg = _Beside(fail=True)
    after = _After("hands", seg)
    with Engine(Settings(), stages=[seg, after]) as e:
        with pytest.raises(RuntimeError, match="model crashed"):
            e.analyze(FRAME)
        seg.fail = False
        seg.go.clear()
        a = e.analyze(FRAME)
    assert a.mask is not None and len(after.saw) == 2


def test_segmentation_beside_other_stages_gives_the_same_mask_on_one_model_thread(astronaut):
    """Beside another stage the segmentation model runs on its own one-thread interpreter;
    the mask is the one the two-thread interpreter gives (and the last frame's mask, alone,
    comes from that one again)."""
    seg = SegmentationStage()
    seg.configure(BLUR)
    other = _Recorder("hands")
    with Engine(BLUR, stages=[seg, other]) as e:
        beside = e.analyze(astronaut).mask
        assert seg._solo is not None and seg._solo is not seg._model
    with Engine(BLUR, stages=[SegmentationStage()]) as alone:
        mask = alone.analyze(astronaut).mask
        assert alone.stages[0]._solo is None
    np.testing.assert_allclose(beside.astype(int), mask.astype(int), atol=1)
    assert beside.max() > 200 and beside.min() < 50
