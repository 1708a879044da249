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
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(f"[bootstrap] error: cannot create the virtual environment in {VENV} ({exc}); expected "
                     "a Python with venv and ensurepip (on Debian/Ubuntu: sudo apt install python3-venv)")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    try:
        with open(STAMP) as fh:
            installed = fh.read().strip()
    except OSError:
        installed = ""
    if installed != digest:
        print("[bootstrap] installing FaceFX and its pinned dependencies (first run only, a few minutes)",
              flush=True)
        log_path = os.path.join(VENV, "facefx-install.log")
        with open(log_path, "w") as log:  # pip's and the build's chatter go here, not to the terminal
            for what, args in (("upgrading pip", ["--upgrade", "pip"]),
                               ("installing FaceFX", ["-e", f"{ROOT}[test,virtualcam]"])):
                log.write(f"### {what}\n")
                log.flush()
                try:
                    subprocess.check_call([py, "-m", "pip", "install", "--disable-pip-version-check"] + args,
                                          stdout=log, stderr=subprocess.STDOUT)
                except (OSError, subprocess.CalledProcessError) as exc:
                    log.flush()
                    fail(what, getattr(exc, "returncode", None), log_path)
        with open(STAMP, "w") as fh:
            fh.write(digest)
    return py


def fail(what: str, status: object, log_path: str) -> None:
    """End set-up with the failing step, the last lines of pip's log and what to do."""
    try:
        with open(log_path, errors="replace") as fh:
            tail = [ln.rstrip() for ln in fh.readlines() if ln.strip()][-8:]
    except OSError:
        tail = []
    for line in tail:
        print(f"    {line}", file=sys.stderr)
    sys.exit(f"[bootstrap] error: {what} failed (pip exit status {status}; full log: {log_path}). Expected "
             "network access to the Python package index (or PIP_INDEX_URL set to a mirror); fix that and "
             "run the same command again.")


def main(argv: list) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    py = ensure_env()
    verb, rest = argv[0], argv[1:]
    cwd = None  # facefx and demo run where the user is: relative paths and outputs are theirs
    if verb == "test":
        cmd = [py, "-m", "pytest"] + rest
        cwd = ROOT  # the suite's configuration and paths are the project's
    elif verb == "demo":
        cmd = [py, "-m", "facefx", "demo"] + rest
    elif verb == "facefx":
        cmd = [py, "-m", "facefx"] + rest
    elif verb == "setup":
        return 0
    else:
        print(f"unknown command {verb!r}; expected setup, demo, test or facefx", file=sys.stderr)
        return 2
    try:
        return subprocess.call(cmd, cwd=cwd)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
