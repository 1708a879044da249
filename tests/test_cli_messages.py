"""Messages name what was wrong where the user wrote it: the flag, the settings file, the
command whose --help helps; odd but legal inputs (a BOM, a folder in the preview) just work."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_cli import assert_user_error
from tests.test_cli_media import ASTRONAUT, ROOT, run_facefx


@pytest.mark.parametrize("args, needles", [
    (["--blur", "200"], ["--blur:", "0 to 100", "200"]),
    (["--threshold", "2"], ["--threshold:", "0.05 to 0.95"]),
    (["--softness", "-1"], ["--softness:"]),
    (["--smoothing", "3"], ["--smoothing:"]),
    (["--analysis-width", "5"], ["--analysis-width:"]),
    (["--background-color", "red"], ["--background-color:", "'red'", "#RRGGBB"]),
    (["--hologram-color", "#12"], ["--hologram-color:", "#RRGGBB"]),
])
def test_range_and_colour_errors_name_the_flag(tmp_path, args, needles):
    assert_user_error(run_facefx(["process", ASTRONAUT, "-o", str(tmp_path / "o.png"), *args]), *needles)


def test_missing_picture_named_in_a_settings_file_names_the_file(tmp_path):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"background": {"mode": "image", "image": str(tmp_path / "gone.png")}}))
    proc = run_facefx(["process", ASTRONAUT, "-o", str(tmp_path / "o.png"), "--settings", str(settings)])
    assert_user_error(proc, f"settings file {settings}", "gone.png")
    assert "--background-image" not in proc.stderr


def test_unknown_flag_after_process_points_to_process_help(tmp_path):
    proc = run_facefx(["process", ASTRONAUT, "--bogus"])
    assert_user_error(proc, "facefx process: error: unrecognized arguments: --bogus", "'facefx process --help'")


def test_process_help_lists_synth_and_m4v():
    out = run_facefx(["process", "--help"]).stdout
    assert "synth[:size=WxH" in out and ".m4v" in out


def test_settings_file_with_a_utf8_bom_is_read(tmp_path):
    settings = tmp_path / "s.json"
    settings.write_bytes(b"\xef\xbb\xbf" + json.dumps({"background": {"mode": "none"}}).encode())
    proc = run_facefx(["process", ASTRONAUT, "-o", str(tmp_path / "o.png"), "--settings", str(settings)])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.png").exists()


def test_folder_preview_window_takes_the_picture_size():
    """A folder has no size up front; the window is sized by the first picture (shrunk to fit
    1280x720), not left at OpenCV's default of about 200x150."""
    code = f"""
import sys; sys.path.insert(0, {ROOT!r})
import cv2, numpy as np
from facefx.io.preview import PreviewSink
from facefx.io.sources import Frame
sink = PreviewSink(title="t").open(None, 30)
img = np.zeros((600, 900, 3), np.uint8)
sink.write(Frame(img, 0, 0, "a.png"), img)
cv2.waitKey(50)
print(sink.window, cv2.getWindowImageRect("t")[2:])
sink.close()
"""
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    planned, shown = proc.stdout.strip().split(") (")
    assert planned == "(900, 600", proc.stdout
    assert int(shown.split(",")[0]) >= 600, proc.stdout  # Xvfb's small screen may trim it a little
