"""The OS-specific parts of running the worker: its interpreter, the setup command shown to the
user, its environment and process-creation flags, and how its exit is described.

Standard library only. Shared-memory file placement lives in facefx.ipc.session_root.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
from typing import Any, Dict

from ..nativelogs import quiet_native_logs


def default_python(root: str) -> str:
    """The project's virtual-environment interpreter (made by `bootstrap.py setup`)."""
    if os.name == "nt":
        return os.path.join(root, ".venv", "Scripts", "python.exe")
    return os.path.join(root, ".venv", "bin", "python")


def setup_command(root: str) -> str:
    """The exact command that creates the virtual environment with every package installed."""
    script = os.path.join(root, "bootstrap.py")
    if os.name == "nt":
        return f"py {subprocess.list2cmdline([script])} setup"
    return f"python3 {shlex.quote(script)} setup"


def popen_kwargs() -> Dict[str, Any]:
    if os.name == "nt":
        # No console window flashing up beside OBS, and below OBS's priority (the worker
        # lowers its own niceness on POSIX): rendering comes first, analysis may lag a frame.
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
                | getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0x00004000)}
    return {}


def worker_env(root: str) -> Dict[str, str]:
    """Environment for the worker: OBS may set PYTHONHOME/PYTHONPATH for its own embedded
    Python, which would break a virtual-environment interpreter, so those are replaced. Native
    log levels come from facefx.nativelogs, the one list every entry point uses."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(key, None)
    env["PYTHONPATH"] = root
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    quiet_native_logs(env)
    return env


def describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"was killed by {name}"
    return f"exited with code {rc}"
