"""Packaging and set-up: the wheel carries every data file the code resolves from the package,
the build is quiet, and bootstrap.py runs commands where the user is and fails in words."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

from tests.test_cli_media import ROOT


def test_models_and_stickers_resolve_from_the_installed_package():
    import facefx.models
    import facefx.stickers
    for pkg, readme in ((facefx.models, "README.md"), (facefx.stickers, "README.md")):
        assert os.path.isfile(pkg.path(readme))
        assert os.path.samefile(os.path.dirname(pkg.__file__), pkg.DIR)


def test_wheel_contains_the_package_data_and_builds_without_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), ROOT],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build_log = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if "is ignored: it is neither" not in ln)
    assert "Warning" not in build_log and "deprecated" not in build_log.lower(), build_log
    wheel = next(p for p in os.listdir(tmp_path) if p.endswith(".whl"))
    names = set(zipfile.ZipFile(tmp_path / wheel).namelist())
    for expected in ("facefx/models/README.md", "facefx/models/__init__.py", "facefx/stickers/README.md",
                     "facefx/assets/astronaut.png", "facefx/obs/effects/composite.effect",
                     "facefx-0.1.0.dist-info/licenses/LICENSE"):
        assert expected in names, expected
    for folder in ("models", "stickers"):  # every file of the top-level folders ships
        for name in os.listdir(os.path.join(ROOT, folder)):
            if not name.startswith((".", "__pycache__")) and os.path.isfile(os.path.join(ROOT, folder, name)):
                assert f"facefx/{folder}/{name}" in names, name


def test_bootstrap_runs_facefx_in_the_users_folder(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bootstrap.py"), "facefx", "process",
                           "synth:size=32x32:frames=1:live=0", "-o", "rel", "--background", "none"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "rel" / "frame_000001.png").is_file()
    assert not os.path.exists(os.path.join(ROOT, "rel"))


def _bootstrap_module():
    spec = importlib.util.spec_from_file_location("facefx_bootstrap_under_test", os.path.join(ROOT, "bootstrap.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_failed_install_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    boot = _bootstrap_module()
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    monkeypatch.setattr(boot, "VENV", str(venv))
    monkeypatch.setattr(boot, "STAMP", str(venv / ".facefx-installed"))
    monkeypatch.setattr(boot, "venv_python", lambda: sys.executable)

    def failing_pip(cmd, stdout=None, stderr=None):
        stdout.write("ERROR: Could not find a version that satisfies the requirement mediapipe==0.10.21\n")
        raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr(boot.subprocess, "check_call", failing_pip)
    with pytest.raises(SystemExit) as stop:
        boot.ensure_env()
    message = str(stop.value.code)
    assert message.startswith("[bootstrap] error: upgrading pip failed (pip exit status 1")
    assert "run the same command again" in message and str(venv / "facefx-install.log") in message
    assert "Could not find a version" in capsys.readouterr().err
    assert not (venv / ".facefx-installed").exists()
