"""`facefx process --privacy ...`: pictures, videos (with their sound), folders, the plate,
settings files and bad input, through the real command line."""
import json
import os

import cv2
import numpy as np
import pytest

from .test_cli_media import (ASTRONAUT, FACE, TOP_LEFT, TOP_RIGHT, make_video, read_frames, read_image,
                             run_facefx, streams, write_png)


def _changed(a, b, region):
    return np.abs(a[region].astype(int) - b[region].astype(int)).mean()


@pytest.fixture(scope="module")
def photo():
    return read_image(ASTRONAUT)


@pytest.mark.parametrize("style", ["blur", "pixelate", "color", "emoji"])
def test_picture_face_is_covered_and_the_rest_untouched(tmp_path, photo, style):
    out = tmp_path / "out.png"
    r = run_facefx(["process", ASTRONAUT, "-o", str(out), "--privacy", style, "-q"])
    assert r.returncode == 0, r.stderr
    img = read_image(str(out))
    assert _changed(img, photo, FACE) > 25
    # No background effect comes with --privacy alone: far from the face is the input.
    assert _changed(img, photo, TOP_LEFT) == 0 and _changed(img, photo, TOP_RIGHT) == 0


def test_video_keeps_its_sound_and_every_frame_is_covered(tmp_path):
    clip = make_video(str(tmp_path / "in.mp4"), frames=8, size=320)
    out = tmp_path / "out.mp4"
    r = run_facefx(["process", clip, "-o", str(out), "--privacy", "blur", "--privacy-shape", "rect",
                    "--privacy-margin", "0.4"])
    assert r.returncode == 0, r.stderr
    assert streams(str(out))["audio"] and streams(str(out))["video"]
    src, dst = read_frames(clip), read_frames(str(out))
    assert len(dst) == len(src) == 8
    for a, b in zip(src, dst):
        face = (slice(40, 110), slice(110, 200))     # the drifting face of the 320 px clip
        assert _changed(b, a, face) > 15


def test_thorough_flag_gives_a_camera_the_recordings_analysis():
    """--privacy-thorough sets full_analysis (what a camera then runs); without it a camera
    keeps the live schedule, and the flag alone turns blur on like the other --privacy-* flags."""
    from facefx.cli import build_parser, privacy_settings_from_args
    from facefx.settings import PrivacySettings
    parser = build_parser()
    on = privacy_settings_from_args(parser.parse_args(["process", "0", "--privacy", "pixelate",
                                                       "--privacy-thorough"]), PrivacySettings())
    assert on.full_analysis is True and on.style == "pixelate"
    off = privacy_settings_from_args(parser.parse_args(["process", "0", "--privacy", "pixelate"]), PrivacySettings())
    assert off.full_analysis is False
    alone = privacy_settings_from_args(parser.parse_args(["process", "0", "--privacy-thorough"]), PrivacySettings())
    assert alone.full_analysis is True and alone.style == "blur"


def test_folder_of_pictures(tmp_path, photo):
    src = tmp_path / "in"
    src.mkdir()
    write_png(str(src / "a.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    write_png(str(src / "b.png"), cv2.cvtColor(photo[:, ::-1], cv2.COLOR_RGB2BGR))
    r = run_facefx(["process", str(src), "-o", str(tmp_path / "out"), "--privacy", "pixelate", "-q"])
    assert r.returncode == 0, r.stderr
    for name, ref in (("a.png", photo), ("b.png", photo[:, ::-1])):
        img = read_image(str(tmp_path / "out" / name))
        face = FACE if name == "a.png" else (FACE[0], slice(512 - 276, 512 - 225))
        assert _changed(img, ref, face) > 20


def test_plate_picture_shows_instead_of_the_face(tmp_path):
    plate = np.zeros((256, 256, 3), np.uint8)
    plate[:] = (0, 255, 0)                        # another size: rescaled
    write_png(str(tmp_path / "plate.png"), plate)
    out = tmp_path / "out.png"
    r = run_facefx(["process", ASTRONAUT, "-o", str(out), "--plate", str(tmp_path / "plate.png"), "-q"])
    assert r.returncode == 0, r.stderr
    img = read_image(str(out))
    assert np.all(img[FACE] == (0, 255, 0))


def test_settings_file_privacy_section(tmp_path, photo):
    cfg = tmp_path / "s.json"
    cfg.write_text(json.dumps({"background": {"mode": "none"}, "privacy": {"style": "color", "color": "#FF0000"}}))
    out = tmp_path / "out.png"
    r = run_facefx(["process", ASTRONAUT, "-o", str(out), "--settings", str(cfg), "-q"])
    assert r.returncode == 0, r.stderr
    assert np.all(read_image(str(out))[FACE] == (255, 0, 0))


@pytest.mark.parametrize("args,message", [
    (["--privacy", "emoji", "--privacy-image", "{tmp}/missing.png"], "--privacy-image: {tmp}/missing.png: no such file"),
    (["--privacy", "emoji", "--privacy-image", "{tmp}/bad.png"], "--privacy-image: {tmp}/bad.png is not a readable PNG"),
    (["--privacy", "emoji", "--privacy-image", "{tmp}/pic.jpg"], "privacy image must be a .png path"),
    (["--privacy", "plate", "--plate", "{tmp}/bad.png"], "--plate: "),
    (["--privacy", "off", "--plate", "{tmp}/plate.png"], "--plate needs face privacy on"),
    (["--privacy", "blur", "--privacy-margin", "3"], "--privacy-margin: privacy margin must be from 0 to 1, got 3"),
    (["--privacy", "pixelate", "--privacy-block", "1"], "--privacy-block: privacy block size must be"),
    (["--privacy", "color", "--privacy-color", "red"], "--privacy-color: "),
    (["--privacy", "sparkles"], "invalid choice: 'sparkles'"),
    (["--keep-face", "oldest"], "invalid choice: 'oldest'"),
])
def test_bad_privacy_input_is_one_line(tmp_path, args, message):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (tmp_path / "pic.jpg").write_bytes(b"x")
    write_png(str(tmp_path / "plate.png"), np.zeros((8, 8, 3), np.uint8))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = run_facefx(["process", ASTRONAUT, "-o", str(tmp_path / "o.png"), *args])
    assert r.returncode == 2
    assert message.replace("{tmp}", str(tmp_path)) in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_recordings_are_analysed_fully():
    """Files turn on full_analysis: the faces stage then detects every frame with both models
    and the tiles, at a lower confidence, and meshes every face."""
    from facefx.analysis.faces import FULL_ANALYSIS_MIN_SCORE, FacesStage
    from facefx.settings import PrivacySettings, Settings
    stage = FacesStage(detect_every=3)
    stage.configure(Settings(privacy=PrivacySettings(style="blur", full_analysis=True)))
    assert stage.tiled and stage.detect_every == 1 and stage.min_score == FULL_ANALYSIS_MIN_SCORE
    assert stage.mesh_budget_ms > 1000 and stage.max_faces == 8
    stage.configure(Settings())
    assert not stage.tiled and stage.detect_every == 3 and stage.min_score == 0.5


def test_live_privacy_looks_for_small_faces_at_a_bounded_cost():
    """Live (not full_analysis): full-range runs on every 3rd frame besides short-range (on
    every frame while it finds faces short-range does not), and one face is meshed per frame
    unless expressions need every mesh."""
    from facefx.analysis.faces import PRIVACY_FULL_EVERY, PRIVACY_MIN_SCORE, FacesStage
    from facefx.settings import ExpressionSettings, PrivacySettings, Settings
    stage = FacesStage()
    stage.configure(Settings(privacy=PrivacySettings(style="pixelate")))
    assert stage.full_every == PRIVACY_FULL_EVERY and stage.mesh_budget_ms == 0 and not stage.tiled
    assert stage.min_score == PRIVACY_MIN_SCORE
    stage.configure(Settings(privacy=PrivacySettings(style="pixelate"), expressions=ExpressionSettings(mode="beside")))
    assert stage.mesh_budget_ms == 4.0
    stage.configure(Settings())
    assert stage.full_every == 0 and stage.min_score == 0.5


def test_live_privacy_finds_small_faces_on_every_frame_not_only_the_full_range_ones():
    """Four people on a sofa, each face too small for short-range: live privacy keeps running
    full-range on every frame once it found faces short-range does not, rather than only on
    every 3rd frame, so every face is found on every frame and its cover follows it
    (short-range alone lost them in between)."""
    from facefx.analysis.faces import PRIVACY_FULL_EVERY, FacesStage
    from facefx.bench import face_frames
    from facefx.settings import PrivacySettings, Settings
    stage = FacesStage()
    stage.configure(Settings(privacy=PrivacySettings(style="blur")))
    frames = face_frames(1280, 720, 4, count=12)
    found, detectors = [], []
    try:
        for i in range(4 * PRIVACY_FULL_EVERY):
            found.append(len(stage.analyse(frames[i], i / 30.0)))
            detectors.append(stage.last_detector)
    finally:
        stage.close()
    assert found == [4] * len(found), (found, detectors)
    assert all("full" in d for d in detectors), detectors
