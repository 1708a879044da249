"""Run a real, headless OBS Studio for tests and benchmarks.

ObsSession builds a private config tree (global.ini, a profile, scene collections) under a
temporary HOME, starts Xvfb on a free display and `obs --multi` on it with obs-websocket on a
free port, and drives it with obsws-python. The FaceFX script is loaded the way users load
it: listed in the scene collection's "modules" > "scripts-tool", so OBS loads it before it
creates the collection's sources.

FACEFX_DEBUG_DIR points the filter at <tmp>/debug, where it writes a status file per filter
every second and, when a filter is frozen (debug_freeze), the exact mask, time, settings and
input pixels of the frame it draws, so a screenshot can be compared with the CPU renderer on
exactly the same input.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

from ..procs import pid_alive, process_children  # noqa: F401 (tests import them from here)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "obs_facefx.py")
ASTRONAUT = os.path.join(ROOT, "facefx", "assets", "astronaut.png")
FILTER_ID = "facefx_filter"


def obs_available() -> Optional[str]:
    """None if OBS and Xvfb can run here, else the reason they cannot."""
    for tool in ("obs", "Xvfb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install obs-studio xvfb)"
    try:
        import obsws_python  # noqa: F401
    except ImportError:
        return "obsws-python is not installed (pip install obsws-python)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display() -> int:
    for n in range(100 + os.getpid() % 400, 1000):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def image_source(name: str, path: str, filters: Sequence[dict] = ()) -> dict:
    return {"id": "image_source", "versioned_id": "image_source", "name": name,
            "settings": {"file": path}, "filters": list(filters)}


def media_source(name: str, path: str, filters: Sequence[dict] = ()) -> dict:
    return {"id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": name,
            "settings": {"local_file": path, "looping": True, "is_local_file": True,
                         "restart_on_activate": True, "hw_decode": False},
            "filters": list(filters)}


def filter_entry(kind: str, name: str, settings: Optional[dict] = None, enabled: bool = True) -> dict:
    return {"id": kind, "versioned_id": kind, "name": name, "enabled": enabled,
            "settings": settings or {}}


def facefx_filter(name: str = "FaceFX", **settings: Any) -> dict:
    return filter_entry(FILTER_ID, name, settings)


class ObsSession:
    """One headless OBS process with its own HOME, display and websocket port.

    collections: {name: [source dicts]}; the first is loaded at start. Each source becomes an
    item of that collection's scene "Scene", laid out to fill the canvas.
    scripts: scripts listed in every collection (default: obs_facefx.py), or per collection
    with script_map.
    """

    def __init__(self, collections: Dict[str, List[dict]], *, width: int = 640, height: int = 360,
                 fps: int = 30, scripts: Optional[Sequence[str]] = None,
                 script_map: Optional[Dict[str, Sequence[str]]] = None,
                 env: Optional[Dict[str, str]] = None, keep_dir: bool = False,
                 script_settings: Optional[Dict[str, Any]] = None) -> None:
        self.collections = collections
        self.width, self.height, self.fps = width, height, fps
        self.scripts = list(scripts) if scripts is not None else [SCRIPT]
        self.script_map = script_map or {}
        self.extra_env = env or {}
        self.script_settings = script_settings or {}
        # FACEFX_OBS_KEEP=1 keeps every session's folder (config, OBS log, debug dumps).
        self.keep_dir = keep_dir or os.environ.get("FACEFX_OBS_KEEP") == "1"
        self.tmp = tempfile.mkdtemp(prefix="facefx-obs-")
        self.home = os.path.join(self.tmp, "home")
        self.debug_dir = os.path.join(self.tmp, "debug")
        self.log_path = os.path.join(self.tmp, "obs.log")
        self.port = free_port()
        self.display = free_display()
        self.xvfb: Optional[subprocess.Popen] = None
        self.obs: Optional[subprocess.Popen] = None
        self.client: Any = None
        self.exit_code: Optional[int] = None

    # ------------------------------------------------------------------ config
    def _write_config(self) -> None:
        cfg = os.path.join(self.home, ".config", "obs-studio")
        os.makedirs(os.path.join(cfg, "basic", "profiles", "Test"), exist_ok=True)
        os.makedirs(os.path.join(cfg, "basic", "scenes"), exist_ok=True)
        os.makedirs(self.debug_dir, exist_ok=True)
        first = next(iter(self.collections))
        with open(os.path.join(cfg, "global.ini"), "w") as fh:
            # FirstRun=true + LastVersion: no auto-configuration wizard (OBS 29).
            fh.write(f"""[General]
Pre19Defaults=false
Pre21Defaults=false
Pre23Defaults=false
Pre24.1Defaults=false
FirstRun=true
LastVersion=486539266
EnableAutoUpdates=false
ConfirmOnExit=false

[BasicWindow]
PreviewEnabled=false
SysTrayEnabled=false
SaveProjectors=false

[Basic]
Profile=Test
ProfileDir=Test
SceneCollection={first}
SceneCollectionFile={first}
ConfigOnNewProfile=false

[OBSWebSocket]
FirstLoad=false
ServerEnabled=true
ServerPort={self.port}
AlertsEnabled=false
AuthRequired=false
ServerPassword=
""")
        with open(os.path.join(cfg, "basic", "profiles", "Test", "basic.ini"), "w") as fh:
            fh.write(f"""[General]
Name=Test

[Video]
BaseCX={self.width}
BaseCY={self.height}
OutputCX={self.width}
OutputCY={self.height}
FPSType=0
FPSCommon={self.fps}
ScaleType=bilinear
ColorFormat=NV12
ColorSpace=709
ColorRange=Partial

[Output]
Mode=Simple

[SimpleOutput]
FilePath={self.tmp}
RecFormat=mkv
RecEncoder=x264
Preset=ultrafast
""")
        for name, sources in self.collections.items():
            scripts = self.script_map.get(name, self.scripts)
            items = []
            n = max(1, len(sources))
            for i, src in enumerate(sources):
                w = self.width / n
                items.append({"name": src["name"], "id": i + 1, "visible": True, "locked": False,
                              "rot": 0.0, "pos": {"x": w * i, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0},
                              "align": 5, "bounds_type": 2, "bounds_align": 0,
                              "bounds": {"x": w, "y": float(self.height)}})
            scene = {"id": "scene", "versioned_id": "scene", "name": "Scene",
                     "settings": {"items": items, "id_counter": len(items), "custom_size": False}}
            coll = {"name": name, "current_scene": "Scene", "current_program_scene": "Scene",
                    "scene_order": [{"name": "Scene"}], "sources": list(sources) + [scene],
                    "groups": [], "transitions": [], "current_transition": "Fade",
                    "transition_duration": 300, "quick_transitions": [], "saved_projectors": [],
                    "preview_locked": False, "scaling_enabled": False,
                    "modules": {"scripts-tool": [{"path": p, "settings": dict(self.script_settings)}
                                                 for p in scripts]}}
            with open(os.path.join(cfg, "basic", "scenes", name + ".json"), "w") as fh:
                json.dump(coll, fh, indent=1)

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> "ObsSession":
        import obsws_python as obsws
        self._write_config()
        for name in os.listdir(self.debug_dir):   # status files of an earlier start are stale
            os.remove(os.path.join(self.debug_dir, name))
        self.xvfb = subprocess.Popen(["Xvfb", f":{self.display}", "-screen", "0", "1280x1024x24",
                                      "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{self.display}"):
            if self.xvfb.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{self.display} did not start")
            time.sleep(0.05)
        env = dict(os.environ)
        env.update({"HOME": self.home, "DISPLAY": f":{self.display}", "QT_QPA_PLATFORM": "xcb",
                    "LIBGL_ALWAYS_SOFTWARE": "1", "FACEFX_DEBUG_DIR": self.debug_dir,
                    "XDG_CONFIG_HOME": os.path.join(self.home, ".config")})
        # opencv-python sets QT_QPA_PLATFORM_PLUGIN_PATH to its own Qt plugins when imported;
        # OBS would then fail to load its xcb platform plugin.
        for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "QT_QPA_PLATFORM_PLUGIN_PATH",
                    "QT_QPA_FONTDIR", "QT_PLUGIN_PATH"):
            env.pop(key, None)
        env.update(self.extra_env)
        first = next(iter(self.collections))
        self._log = open(self.log_path, "wb")
        self.obs = subprocess.Popen(
            ["obs", "--multi", "--verbose", "--collection", first, "--profile", "Test",
             "--scene", "Scene"], cwd=self.tmp, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.obs.poll() is not None:
                raise RuntimeError(f"OBS exited with {self.obs.returncode} during start-up:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.client = obsws.ReqClient(host="127.0.0.1", port=self.port, password="", timeout=15)
                return self
            except OSError as exc:  # not listening yet
                last = exc
                time.sleep(0.3)
        raise RuntimeError(f"obs-websocket did not answer on port {self.port}: {last}\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> Optional[int]:
        """Clean shutdown (SIGINT, as closing the main window); returns OBS's exit code."""
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:
                pass
            self.client = None
        if self.obs is not None and self.obs.poll() is None:
            self.obs.send_signal(signal.SIGINT)
            try:
                self.obs.wait(timeout)
            except subprocess.TimeoutExpired:
                self.obs.kill()
                self.obs.wait(5)
        if self.obs is not None:
            self.exit_code = self.obs.returncode
        if self.xvfb is not None and self.xvfb.poll() is None:
            self.xvfb.terminate()
            try:
                self.xvfb.wait(5)
            except subprocess.TimeoutExpired:
                self.xvfb.kill()
        if getattr(self, "_log", None):
            self._log.close()
        return self.exit_code

    def cleanup(self) -> None:
        if not self.keep_dir:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "ObsSession":
        return self.start()

    def __exit__(self, *exc: Any) -> bool:
        self.stop()
        return False

    # ------------------------------------------------------------------ helpers
    @property
    def pid(self) -> int:
        return self.obs.pid  # type: ignore[union-attr]

    def log_size(self) -> int:
        """The OBS log's length in bytes now: a mark for log_text(since=...)."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, since: int = 0) -> str:
        """The OBS log of this start (start() begins a new one), from byte offset `since`, so a
        test can read only the lines its own actions caused."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(since)
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.obs is not None and self.obs.poll() is None

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def screenshot(self, source: str, width: Optional[int] = None, height: Optional[int] = None):
        """The source (with its filters) as an RGBA uint8 array."""
        import cv2
        import numpy as np
        r = self.client.get_source_screenshot(name=source, img_format="png", width=width,
                                              height=height, quality=-1)
        data = base64.b64decode(r.image_data.split(",", 1)[1])
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)

    def set_filter(self, source: str, name: str, settings: dict, overlay: bool = True) -> None:
        self.client.set_source_filter_settings(source, name, settings, overlay)

    def filter_status(self, name: str) -> Optional[dict]:
        path = os.path.join(self.debug_dir, name + ".status.json")
        try:
            with open(path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.obs is not None and self.obs.poll() is not None:
                raise AssertionError(f"OBS exited ({self.obs.returncode}) while waiting for {what}\n{self.log_tail()}")
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.log_tail()}")

    def wait_results(self, name: str, count: int = 3, timeout: float = 60.0) -> dict:
        """Wait until the filter has drawn with at least `count` new worker results."""
        start = (self.filter_status(name) or {}).get("result_seq") or 0

        def ready():
            st = self.filter_status(name)
            if st and st.get("result_seq") is not None and st["result_seq"] >= start + count:
                return st
            return None
        return self.wait_for(ready, timeout, f"{count} mask results for filter {name!r}")

    def freeze(self, source: str, name: str, t: float, timeout: float = 20.0) -> dict:
        """Freeze the filter's mask and time, wait for its dump; returns the dump's arrays."""
        import numpy as np
        base = os.path.join(self.debug_dir, name)
        for ext in (".json", ".mask", ".frame"):
            if os.path.exists(base + ext):
                os.remove(base + ext)
        self.set_filter(source, name, {"debug_freeze": True, "debug_time": float(t)})
        self.wait_for(lambda: os.path.exists(base + ".json"), timeout, f"the frozen dump of {name!r}")
        with open(base + ".json") as fh:
            info = json.load(fh)
        w, h = info["width"], info["height"]
        mw, mh = info["mask_size"]
        with open(base + ".frame", "rb") as fh:
            info["frame"] = np.frombuffer(fh.read(), np.uint8).reshape(h, w, 4)
        with open(base + ".mask", "rb") as fh:
            info["mask"] = np.frombuffer(fh.read(), np.uint8).reshape(mh, mw)
        return info

    def unfreeze(self, source: str, name: str) -> None:
        self.set_filter(source, name, {"debug_freeze": False})


def mapped_libraries(pid: int) -> List[str]:
    with open(f"/proc/{pid}/maps") as fh:
        return sorted({line.split()[-1] for line in fh if "/" in line})
