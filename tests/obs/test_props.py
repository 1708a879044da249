"""OBS settings <-> facefx Settings, without OBS."""
from __future__ import annotations

import os

import pytest

from facefx.obs import props as P
from facefx.obs.libobs import libobs_candidates
from facefx.settings import SettingsError, color_to_obs


def test_defaults_turn_on_a_blurred_background():
    cfg = P.settings_from_values({})
    assert cfg.settings.background.mode == "blur"
    assert cfg.settings.segmentation.analysis_width == 256
    assert cfg.keep_in_sync is False


def test_unticked_group_turns_the_effect_off():
    cfg = P.settings_from_values({P.K_BACKGROUND: False, P.K_BG_MODE: "color"})
    assert cfg.settings.background.mode == "none"
    assert not cfg.settings.needs_segmentation()


def test_percent_sliders_and_obs_colours_are_converted():
    cfg = P.settings_from_values({P.K_BG_MODE: "color", P.K_BG_COLOR: color_to_obs((10, 20, 30)),
                                  P.K_SEG_THRESHOLD: 60, P.K_SEG_SOFTNESS: 20, P.K_SEG_SMOOTHING: 0,
                                  P.K_SYNC: True})
    assert cfg.settings.background.color == (10, 20, 30)
    assert cfg.settings.segmentation.threshold == pytest.approx(0.6)
    assert cfg.settings.segmentation.softness == pytest.approx(0.2)
    assert cfg.settings.segmentation.smoothing == 0
    assert cfg.keep_in_sync


def test_image_mode_without_a_picture_is_a_settings_error():
    with pytest.raises(SettingsError, match="needs a background image path"):
        P.settings_from_values({P.K_BG_MODE: "image", P.K_BG_IMAGE: ""})


def test_missing_picture_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="background image not found"):
        P.settings_from_values({P.K_BG_MODE: "image", P.K_BG_IMAGE: str(tmp_path / "nope.png")})


def test_out_of_range_value_is_a_settings_error():
    with pytest.raises(SettingsError, match="analysis width"):
        P.settings_from_values({P.K_SEG_WIDTH: 10})


@pytest.mark.parametrize("w,h,aw,expected", [(1280, 720, 256, (256, 144)), (512, 512, 256, (256, 256)),
                                             (200, 100, 256, (200, 100)), (1920, 1080, 320, (320, 180))])
def test_analysis_size_matches_the_engine(w, h, aw, expected):
    from facefx.analysis import analysis_size
    assert P.analysis_size(w, h, aw) == expected == analysis_size(w, h, aw)


@pytest.mark.parametrize("platform,first", [("linux", None), ("win32", "obs.dll"), ("darwin", None)])
def test_libobs_candidates(platform, first, monkeypatch):
    monkeypatch.delenv("FACEFX_LIBOBS", raising=False)
    names = libobs_candidates(platform)
    assert names[0] == first
    monkeypatch.setenv("FACEFX_LIBOBS", "/opt/obs/libobs.so")
    assert libobs_candidates(platform)[0] == "/opt/obs/libobs.so"


LIBOBS = "/usr/lib/x86_64-linux-gnu/libobs.so.0"


@pytest.mark.skipif(not os.path.exists(LIBOBS), reason="needs Debian's libobs (obs-studio)")
def test_variadic_blog_has_its_fixed_arguments_declared(monkeypatch, capfd):
    # On Apple Silicon a variadic call without declared fixed arguments passes garbage.
    import ctypes as C

    from facefx.obs import libobs as lo
    monkeypatch.setenv("FACEFX_LIBOBS", LIBOBS)
    lib = lo.Libobs()
    for name, sig in lo._VARIADIC_FUNCS.items():
        fn = getattr(lib.obs_lib, name)
        assert fn.argtypes == list(sig[1:]) and fn.argtypes, name
    assert lib.obs_lib.blog.argtypes == [C.c_int, C.c_char_p]
    assert lib.obs_lib.blog.restype is None
    lib.log(lo.LOG_WARNING, "100% done, not a %s format")
    out = capfd.readouterr()
    assert "[FaceFX] 100% done, not a %s format" in out.out + out.err
    # The shader compiler's error string is bstrdup()ed by libobs: bound to be freed.
    assert lib.bfree.argtypes == [C.c_void_p]
    assert lib.gs_effect_create_from_file.argtypes[1] is C.POINTER(C.c_void_p)


@pytest.mark.skipif(not os.path.exists(LIBOBS), reason="needs Debian's libobs (obs-studio)")
def test_background_pictures_are_decoded_on_the_loader_thread(monkeypatch, tmp_path):
    import threading
    import time

    from facefx.obs import libobs as lo
    from facefx.obs.images import ImageLoader
    monkeypatch.setenv("FACEFX_LIBOBS", LIBOBS)
    lib = lo.Libobs()
    decoded_on = []
    real = lib.gs_create_texture_file_data

    def spy(*args):
        decoded_on.append(threading.current_thread().name)
        return real(*args)

    lib.gs_create_texture_file_data = spy
    loader = ImageLoader(lib)
    picture = os.path.join(os.path.dirname(P.__file__), os.pardir, "assets", "astronaut.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    try:
        for path, want in ((picture, "pixels"), (str(bad), False)):
            key = (path, os.stat(path).st_mtime)
            end = time.monotonic() + 10
            got = loader.get(key)
            while got is None and time.monotonic() < end:
                time.sleep(0.01)
                got = loader.get(key)
            if want is False:
                assert got is False
            else:
                assert (got.width, got.height) == (512, 512) and got.ptr
                lib.bfree(got.ptr)
        assert decoded_on == ["facefx-image-decoder"] * 2
    finally:
        loader.close()
        loader.close()
    assert not any(t.name == "facefx-image-decoder" for t in threading.enumerate())
