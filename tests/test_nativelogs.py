"""One home for native-log silencing: facefx/nativelogs.py, used by every entry point."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from facefx.nativelogs import NATIVE_LOG_ENV, quiet_native_logs, quiet_stderr
from tests.test_cli_media import ROOT


def test_quiet_native_logs_fills_an_environment_and_keeps_user_choices():
    env = {"OPENCV_LOG_LEVEL": "DEBUG"}
    quiet_native_logs(env)
    assert env["OPENCV_LOG_LEVEL"] == "DEBUG"
    for key, value in NATIVE_LOG_ENV.items():
        if key != "OPENCV_LOG_LEVEL":
            assert env[key] == value


def test_quiet_stderr_hides_descriptor_2_and_restores_it():
    code = ("import os, sys; sys.path.insert(0, %r); from facefx.nativelogs import quiet_stderr\n"
            "with quiet_stderr():\n    os.write(2, b'hidden\\n')\n"
            "with quiet_stderr(False):\n    os.write(2, b'shown\\n')\n"
            "os.write(2, b'after\\n')\n") % ROOT
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().split() == ["shown", "after"]


@pytest.mark.parametrize("module", ["bench", "demo"])
def test_commands_do_not_import_the_cli_or_each_other(module):
    """The cli dispatches to bench and demo; they share helpers through facefx.nativelogs, not
    through the cli (an import cycle once hidden inside functions)."""
    tree = ast.parse(open(os.path.join(ROOT, "facefx", module + ".py"), encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module:
                imported.add(node.module.split(".")[-1])
            if node.module in (None, "facefx"):
                imported.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name.split(".")[-1] for a in node.names)
    assert not imported & ({"cli", "bench", "demo"} - {module})


def test_loading_a_model_and_a_hand_graph_prints_nothing():
    """LiteRT's delegate note and MediaPipe's graph start-up warnings stay off the terminal
    (they announce nothing wrong); the eval commands and the CLI print their own lines only."""
    import subprocess
    import sys
    code = ("import numpy as np\n"
            "from facefx.analysis.tflite import load_interpreter, mediapipe_model\n"
            "load_interpreter(mediapipe_model('modules/hand_landmark/hand_landmark_lite.tflite'))\n"
            "from facefx.analysis.hands import HandTracker\n"
            "HandTracker(max_hands=2)(np.zeros((72, 128, 3), np.uint8))\n"
            "HandTracker(max_hands=2, static=True)(np.zeros((72, 128, 3), np.uint8))\n"
            "print('done')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "done\n" and r.stderr == "", r.stderr
