#!/usr/bin/env python3
"""One-step set-up and launcher: `python3 bootstrap.py demo` or `python3 bootstrap.py test`.

Creates the project's virtual environment in `.venv/` next to this file on first use (the OBS
filter looks for the worker's interpreter there), installs FaceFX with its pinned dependencies,
and re-installs only when pyproject.toml changes. Needs only Python 3.9-3.12 with pip.

    python3 bootstrap.py setup           # only creates/updates .venv (what the OBS filter needs)
    python3 bootstrap.py demo            # runs `facefx demo` on the bundled sample photo
    python3 bootstrap.py test [ARGS]     # runs the test suite (pytest ARGS)
    python3 bootstrap.py facefx ARGS     # any facefx command
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
STAMP = os.path.join(VENV, ".facefx-installed")


def venv_python() -> str:
    if os.name == "nt":
        return os.path.join(VENV, "Scripts", "python.exe")
    return os.path.join(VENV, "bin", "python")


def ensure_env() -> str:
    if not (3, 9) <= sys.version_info[:2] <= (3, 12):
        sys.exit(f"FaceFX needs Python 3.9 to 3.12 (MediaPipe 0.10.21 wheels); this is {sys.version.split()[0]}")
    py = venv_python()
    if not os.path.exists(py):
        print(f"[bootstrap] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    try:
        with open(STAMP) as fh:
            installed = fh.read().strip()
    except OSError:
        installed = ""
    if installed != digest:
        print("[bootstrap] installing FaceFX and its pinned dependencies (first run only)", flush=True)
        subprocess.check_call([py, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "-e", f"{ROOT}[test,virtualcam]"])
        with open(STAMP, "w") as fh:
            fh.write(digest)
    return py


def main(argv: list) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    py = ensure_env()
    verb, rest = argv[0], argv[1:]
    if verb == "test":
        cmd = [py, "-m", "pytest"] + rest
    elif verb == "demo":
        cmd = [py, "-m", "facefx", "demo"] + rest
    elif verb == "facefx":
        cmd = [py, "-m", "facefx"] + rest
    elif verb == "setup":
        return 0
    else:
        print(f"unknown command {verb!r}; expected setup, demo, test or facefx", file=sys.stderr)
        return 2
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
