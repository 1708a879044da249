#!/usr/bin/env python3
"""Benchmark the FaceFX filter in a real, headless OBS (software rendering on this machine).

For each canvas size (1280x720 and 1920x1080 by default) one OBS process runs one image source
(the bundled photo, cover-fitted to the canvas) carrying two filters, OBS's own Chroma Key
(chroma_key_filter_v2) and FaceFX, enabled one at a time. OBS's average frame render time is
sampled for each phase: no filter, Chroma Key, FaceFX image background, FaceFX blur. Ratios
are FaceFX over Chroma Key from the same OBS run. Targets: image <= 1.5x, blur <= 2.5x.

Then, at 1280x720 30 fps with the image background on, it counts skipped (render-lag) frames
over --lag-seconds (target <= 1%) and reads the analysis rate the worker reached (target:
keeps up with 30 fps).

With --gestures (default 1280x720) a frame of the evalset's fist-then-thumbs-up clip (one raised
hand) runs blur, then blur + every built-in gesture: OBS's render time, and over --gest-seconds
the analysis rate, stage timings and skipped frames (issue 7: keeps up with 30 fps). --stickers
draws one sticker, each full-frame animation at its heaviest frame and a busy plan over blur,
with OBS's render time and the OBS process's CPU time per frame (with software rendering the
render time also holds the graphics thread's waits for llvmpipe's rasterizer threads).

With --expressions (default 1280x720) the same photo runs the blur background, then blur +
expression emojis (replace mode with labels): OBS's frame render time for both, and over
--expr-seconds the analysis rate, the stage timings and the skipped frames (target: the
analysis keeps up with 30 fps, issue 8).

    .venv/bin/python tests/obs/bench_obs.py [--sizes 1280x720,1920x1080] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from facefx.imageio import cover_fit, load_image_rgb  # noqa: E402
from tests.obs.harness import (ASTRONAUT, ObsSession, filter_entry, image_source,  # noqa: E402
                               obs_available)

TARGET_IMAGE_RATIO = 1.5
TARGET_BLUR_RATIO = 2.5
TARGET_LAG = 0.01
TARGET_STICKERS_RATIO = 1.2   # stickers add at most 20% to the frame render time
STICKERS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "stickers")


def _picture(path: str, w: int, h: int, flip: bool = False) -> str:
    img = cover_fit(load_image_rgb(ASTRONAUT), w, h)
    if flip:
        img = cv2.applyColorMap(img[::-1], cv2.COLORMAP_OCEAN)
    cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR))
    return path


def _picture_fit(path: str, w: int, h: int) -> str:
    """The photo scaled to the canvas height and centred on grey: the whole face in view
    (cover-fitting a square photo to 16:9 cuts the forehead off, a face the detector may drop)."""
    img = load_image_rgb(ASTRONAUT)
    side = min(w, h)
    out = np.full((h, w, 3), 40, np.uint8)
    x0, y0 = (w - side) // 2, (h - side) // 2
    out[y0:y0 + side, x0:x0 + side] = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
    cv2.imwrite(path, cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    return path


def obs_cpu_seconds(obs: ObsSession) -> Optional[float]:
    """CPU time (user + system, all threads) the OBS process has used, or None where /proc is
    not there. With software rendering (llvmpipe) OBS's render time also counts the graphics
    thread waiting for llvmpipe's rasterizer threads (at the first texture drawn into and read
    back within the frame); the process's CPU per frame is the work itself."""
    try:
        with open(f"/proc/{obs.obs.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, AttributeError, IndexError, ValueError):
        return None


class CpuPerFrame:
    """OBS's CPU ms per rendered frame and its rendered fps between start() and stop()."""

    def __init__(self, obs: ObsSession) -> None:
        self.obs = obs

    def start(self) -> None:
        self.cpu0 = obs_cpu_seconds(self.obs)
        self.frames0 = int(self.obs.client.get_stats().render_total_frames)
        self.t0 = time.monotonic()

    def stop(self) -> Dict[str, Optional[float]]:
        cpu1 = obs_cpu_seconds(self.obs)
        frames = int(self.obs.client.get_stats().render_total_frames) - self.frames0
        seconds = time.monotonic() - self.t0
        cpu = (cpu1 - self.cpu0) * 1000.0 / frames if None not in (cpu1, self.cpu0) and frames > 0 else None
        return {"cpu_ms_per_frame": cpu, "fps": frames / seconds if seconds > 0 else 0.0}


def _render_ms(obs: ObsSession, settle: float, samples: int) -> float:
    """Median of OBS's 1-second average frame render time over `samples` seconds."""
    time.sleep(settle)
    values: List[float] = []
    for _ in range(samples):
        time.sleep(1.05)
        values.append(float(obs.client.get_stats().average_frame_render_time))
    return statistics.median(values)


def bench_size(w: int, h: int, tmp: str, settle: float, samples: int) -> Dict[str, float]:
    cam = _picture(os.path.join(tmp, f"cam{h}.png"), w, h)
    bg = _picture(os.path.join(tmp, f"bg{h}.png"), w, h, flip=True)
    filters = [filter_entry("chroma_key_filter_v2", "Chroma", {}, enabled=False),
               filter_entry("facefx_filter", "FaceFX", {"bg_mode": "image", "bg_image": bg},
                            enabled=False)]
    session = ObsSession({"Bench": [image_source("Cam", cam, filters)]}, width=w, height=h, fps=30)
    out: Dict[str, float] = {}
    try:
        session.start()
        c = session.client
        out["none_ms"] = _render_ms(session, settle, samples)
        c.set_source_filter_enabled("Cam", "Chroma", True)
        out["chroma_ms"] = _render_ms(session, settle, samples)
        c.set_source_filter_enabled("Cam", "Chroma", False)
        c.set_source_filter_enabled("Cam", "FaceFX", True)
        session.wait_results("FaceFX", 5)
        out["facefx_image_ms"] = _render_ms(session, settle, samples)
        session.set_filter("Cam", "FaceFX", {"seg_refine": False})
        out["facefx_image_norefine_ms"] = _render_ms(session, settle, samples)
        session.set_filter("Cam", "FaceFX", {"seg_refine": True})
        session.set_filter("Cam", "FaceFX", {"bg_mode": "blur", "bg_blur": 50})
        out["facefx_blur_ms"] = _render_ms(session, settle, samples)
        c.set_source_filter_enabled("Cam", "FaceFX", False)
        c.set_source_filter_enabled("Cam", "Chroma", True)
        out["chroma_again_ms"] = _render_ms(session, settle, samples)
    finally:
        session.stop()
        session.cleanup()
    chroma = (out["chroma_ms"] + out["chroma_again_ms"]) / 2
    out["image_ratio"] = out["facefx_image_ms"] / chroma
    out["blur_ratio"] = out["facefx_blur_ms"] / chroma
    out["refine_ratio"] = out["facefx_image_ms"] / out["facefx_image_norefine_ms"]
    return out


def _sticker_plan(w: int, h: int, n: int = 16) -> str:
    """A busy sticker plan (a hand sticker and a full-frame animation's worth of particles),
    as JSON for the filter's debug_sprites hook."""
    names = ["thumbs_up", "heart_hands", "victory", "fist"]
    items = [dict(image=os.path.join(STICKERS, names[i % len(names)] + ".png"),
                  x=(i * 0.137 % 1.0) * w, y=(i * 0.291 % 1.0) * h, width=0.12 * h, height=0.12 * h,
                  rotation=(i * 23) % 360 - 180.0, opacity=0.5 + 0.5 * (i % 2)) for i in range(n - 1)]
    items.append(dict(image=os.path.join(STICKERS, "thumbs_up.png"), x=w / 2, y=h / 2,
                      width=0.25 * h, height=0.25 * h))
    return json.dumps(items)


def _peak_animation(kind: str, w: int, h: int) -> str:
    """The frame of a full-frame animation that covers the most pixels (its heaviest to draw),
    as facefx.animations makes it, in the JSON of the filter's debug_sprites hook."""
    from facefx import animations
    duration = animations.DEFAULT_DURATION
    frames = [animations.sprites(kind, i / 30.0, duration, w, h, 1) for i in range(int(duration * 30))]
    peak = max(frames, key=lambda f: sum(s.width * s.height for s in f))
    return json.dumps([dict(image=s.image, x=s.x, y=s.y, width=s.width, height=s.height,
                            rotation=s.rotation, opacity=s.opacity) for s in peak])


def bench_stickers(w: int, h: int, tmp: str, settle: float, samples: int) -> Dict[str, float]:
    """OBS's frame render time with the blur background, without and with what gestures draw,
    through the filter's debug_sprites/debug_rings hooks (the same GPU painters gesture
    stickers use): one hand sticker and its arming ring (what a gesture shows), each full-frame
    animation at its heaviest frame, and a busy plan of 16 stickers and a ring."""
    from facefx import animations
    cam = _picture(os.path.join(tmp, f"cam{h}.png"), w, h)
    session = ObsSession({"Bench": [image_source("Cam", cam, [filter_entry(
        "facefx_filter", "FaceFX", {"bg_mode": "blur", "bg_blur": 50})])]}, width=w, height=h, fps=30)
    ring = json.dumps([dict(x=w * 0.3, y=h * 0.6, radius=0.045 * h, thickness=max(2.0, 0.009 * h), progress=0.7,
                            color=[255, 255, 255], opacity=0.9)])   # the arming ring as the Scene makes it
    one = json.dumps([dict(image=os.path.join(STICKERS, "thumbs_up.png"), x=w * 0.3, y=h * 0.4,
                           width=0.22 * h, height=0.22 * h, rotation=-6.0, opacity=1.0)])
    cases = [("one_sticker", one, ring), ("busy16", _sticker_plan(w, h), ring)]
    cases += [(kind, _peak_animation(kind, w, h), "") for kind in animations.ANIMATIONS]
    out: Dict[str, float] = {}
    try:
        session.start()
        session.wait_results("FaceFX", 5)
        cpu = CpuPerFrame(session)

        def measure(key: str) -> None:
            time.sleep(settle)
            cpu.start()
            out[key + "_ms"] = _render_ms(session, 0.0, samples)
            out[key + "_cpu_ms"] = cpu.stop()["cpu_ms_per_frame"]

        measure("blur")
        for name, sprites, rings in cases:
            session.set_filter("Cam", "FaceFX", {"debug_sprites": sprites, "debug_rings": rings})
            measure(f"blur_{name}")
        session.set_filter("Cam", "FaceFX", {"debug_sprites": "", "debug_rings": ""})
        measure("blur_again")
    finally:
        session.stop()
        session.cleanup()
    base = (out["blur_ms"] + out["blur_again_ms"]) / 2
    cpus = [out["blur_cpu_ms"], out["blur_again_cpu_ms"]]
    base_cpu = sum(cpus) / 2 if None not in cpus else None
    for name, _, _ in cases:
        out[f"{name}_ratio"] = out[f"blur_{name}_ms"] / base
        c = out[f"blur_{name}_cpu_ms"]
        out[f"{name}_cpu_ratio"] = c / base_cpu if c is not None and base_cpu else None
    out["stickers_ratio"] = out["busy16_ratio"]
    out["blur_stickers_ms"] = out["blur_busy16_ms"]
    return out


def _analysis(session: ObsSession, name: str) -> Dict[str, object]:
    st = session.filter_status(name) or {}
    return st.get("analysis") or {}


def bench_expressions(w: int, h: int, tmp: str, settle: float, samples: int, seconds: float) -> Dict[str, object]:
    """Background blur, then blur + expression emojis on the photo's face: OBS's render time,
    the worker's analysis rate and stage timings, and frames OBS skipped meanwhile."""
    cam = _picture_fit(os.path.join(tmp, f"face{h}.png"), w, h)
    session = ObsSession({"Bench": [image_source("Cam", cam, [filter_entry(
        "facefx_filter", "FaceFX", {"bg_mode": "blur", "bg_blur": 50})])]}, width=w, height=h, fps=30)
    out: Dict[str, object] = {}
    try:
        session.start()
        session.wait_results("FaceFX", 5)
        out["blur_ms"] = _render_ms(session, settle, samples)
        out["blur_analysis"] = _analysis(session, "FaceFX")
        session.set_filter("Cam", "FaceFX", {"expressions": True, "expr_mode": "replace", "expr_label": True})
        session.wait_for(lambda: "main face:" in (session.filter_status("FaceFX") or {}).get("status", ""),
                         60, "an expression on the photo's face")
        out["blur_expressions_ms"] = _render_ms(session, settle, samples)
        s0 = session.client.get_stats()
        fps: List[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(1.0)
            fps.append(float(_analysis(session, "FaceFX").get("fps") or 0.0))
        s1 = session.client.get_stats()
        analysis = _analysis(session, "FaceFX")
        out["status"] = (session.filter_status("FaceFX") or {}).get("status", "")
    finally:
        session.stop()
        session.cleanup()
    total = s1.render_total_frames - s0.render_total_frames
    skipped = s1.render_skipped_frames - s0.render_skipped_frames
    out.update({"seconds": seconds, "frames": total, "skipped": skipped,
                "skipped_ratio": skipped / max(1, total + skipped), "active_fps": float(s1.active_fps),
                "analysis_fps_median": statistics.median(fps) if fps else 0.0,
                "analysis_fps_min": min(fps) if fps else 0.0,
                "analysis_stage_ms": analysis.get("stage_ms", {}),
                "latency_frames": analysis.get("latency_frames"),
                "expressions_ratio": out["blur_expressions_ms"] / max(out["blur_ms"], 1e-6)})
    return out


CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "..", "shared",
                    "evalset", "clips", "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")


def _hand_frame(path: str, w: int, h: int, at: float = 3.2) -> str:
    """The evalset clip's frame at `at` s (a raised thumbs-up hand), cover-fitted to w x h."""
    cap = cv2.VideoCapture(CLIP)
    cap.set(cv2.CAP_PROP_POS_MSEC, at * 1000.0)
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read a frame of {CLIP} (the shared evalset is needed for --gestures)")
    rgb = cover_fit(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), w, h)
    cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    return path


def bench_gestures(w: int, h: int, tmp: str, settle: float, samples: int, seconds: float) -> Dict[str, object]:
    """Background blur, then blur + gestures (every built-in gesture on, so two hands are
    tracked) on a frame with one raised hand: OBS's render time, the worker's analysis rate
    and stage timings, and frames OBS skipped meanwhile (issue 7: the analysis keeps up with
    30 fps with both on)."""
    cam = _hand_frame(os.path.join(tmp, f"hand{h}.png"), w, h)
    session = ObsSession({"Bench": [image_source("Cam", cam, [filter_entry(
        "facefx_filter", "FaceFX", {"bg_mode": "blur", "bg_blur": 50})])]}, width=w, height=h, fps=30)
    out: Dict[str, object] = {}
    try:
        session.start()
        session.wait_results("FaceFX", 5)
        out["blur_ms"] = _render_ms(session, settle, samples)
        session.set_filter("Cam", "FaceFX", {"gestures": True})
        session.wait_for(lambda: "hands" in (_analysis(session, "FaceFX").get("stage_ms") or {}), 60,
                         "the hands stage running")
        out["blur_gestures_ms"] = _render_ms(session, settle, samples)
        s0 = session.client.get_stats()
        fps: List[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(1.0)
            fps.append(float(_analysis(session, "FaceFX").get("fps") or 0.0))
        s1 = session.client.get_stats()
        analysis = _analysis(session, "FaceFX")
        out["status"] = (session.filter_status("FaceFX") or {}).get("status", "")
    finally:
        session.stop()
        session.cleanup()
    total = s1.render_total_frames - s0.render_total_frames
    skipped = s1.render_skipped_frames - s0.render_skipped_frames
    out.update({"seconds": seconds, "frames": total, "skipped": skipped,
                "skipped_ratio": skipped / max(1, total + skipped), "active_fps": float(s1.active_fps),
                "analysis_fps_median": statistics.median(fps) if fps else 0.0,
                "analysis_fps_min": min(fps) if fps else 0.0,
                "analysis_stage_ms": analysis.get("stage_ms", {}),
                "latency_frames": analysis.get("latency_frames"),
                "gestures_ratio": out["blur_gestures_ms"] / max(out["blur_ms"], 1e-6)})
    return out


def bench_lag(tmp: str, seconds: float) -> Dict[str, float]:
    w, h = 1280, 720
    cam = _picture(os.path.join(tmp, "cam720.png"), w, h)
    bg = _picture(os.path.join(tmp, "bg720.png"), w, h, flip=True)
    session = ObsSession({"Lag": [image_source("Cam", cam, [filter_entry(
        "facefx_filter", "FaceFX", {"bg_mode": "image", "bg_image": bg})])]}, width=w, height=h, fps=30)
    try:
        session.start()
        session.wait_results("FaceFX", 10)
        time.sleep(3)
        s0 = session.client.get_stats()
        time.sleep(seconds)
        s1 = session.client.get_stats()
        st = session.filter_status("FaceFX") or {}
    finally:
        session.stop()
        session.cleanup()
    total = s1.render_total_frames - s0.render_total_frames
    skipped = s1.render_skipped_frames - s0.render_skipped_frames
    analysis = st.get("analysis") or {}
    return {"seconds": seconds, "frames": total, "skipped": skipped,
            "skipped_ratio": skipped / max(1, total + skipped),
            "active_fps": float(s1.active_fps), "analysis_fps": float(analysis.get("fps", 0.0)),
            "analysis_stage_ms": analysis.get("stage_ms", {}),
            "latency_frames": analysis.get("latency_frames")}


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1280x720,1920x1080")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds before sampling a phase")
    ap.add_argument("--samples", type=int, default=6, help="1-second samples per phase")
    ap.add_argument("--lag-seconds", type=float, default=60.0)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--stickers", default="1280x720", help="canvas size of the stickers case ('' = skip)")
    ap.add_argument("--expressions", default="1280x720", help="canvas size of the expressions case ('' = skip)")
    ap.add_argument("--expr-seconds", type=float, default=30.0)
    ap.add_argument("--gestures", default="1280x720", help="canvas size of the gestures case ('' = skip)")
    ap.add_argument("--gest-seconds", type=float, default=30.0)
    a = ap.parse_args(argv)
    reason = obs_available()
    if reason:
        print(f"cannot benchmark: {reason}", file=sys.stderr)
        return 2
    results: Dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="facefx-bench-") as tmp:
        for size in filter(None, a.sizes.split(",")):
            w, h = (int(v) for v in size.split("x"))
            r = bench_size(w, h, tmp, a.settle, a.samples)
            results[size] = r
            print(f"{size}: render ms  none {r['none_ms']:.2f}  chroma key {r['chroma_ms']:.2f}/"
                  f"{r['chroma_again_ms']:.2f}  FaceFX image {r['facefx_image_ms']:.2f}  "
                  f"FaceFX blur {r['facefx_blur_ms']:.2f}  FaceFX image without refinement "
                  f"{r['facefx_image_norefine_ms']:.2f} (with/without {r['refine_ratio']:.2f}x, target <= 1.3x)")
            print(f"{size}: FaceFX/chroma key  image {r['image_ratio']:.2f}x (target <= "
                  f"{TARGET_IMAGE_RATIO}x)  blur {r['blur_ratio']:.2f}x (target <= {TARGET_BLUR_RATIO}x)",
                  flush=True)
        if a.stickers:
            w, h = (int(v) for v in a.stickers.split("x"))
            r = bench_stickers(w, h, tmp, a.settle, a.samples)
            results["stickers_" + a.stickers] = r
            names = [k[:-len("_cpu_ratio")] for k in r if k.endswith("_cpu_ratio")]
            cases = ", ".join(f"{n} {r['blur_' + n + '_ms']:.2f} ({r[n + '_ratio']:.2f}x)" for n in names)
            print(f"{a.stickers}: render ms  blur {r['blur_ms']:.2f}/{r['blur_again_ms']:.2f}; blur + {cases} "
                  f"(target <= {TARGET_STICKERS_RATIO}x)", flush=True)
            if r["blur_cpu_ms"] is not None:
                cpus = ", ".join(f"{n} {r['blur_' + n + '_cpu_ms']:.1f} ({r[n + '_cpu_ratio']:.2f}x)" for n in names)
                print(f"{a.stickers}: OBS CPU ms per frame  blur {r['blur_cpu_ms']:.1f}/{r['blur_again_cpu_ms']:.1f}; "
                      f"blur + {cpus}", flush=True)
        if a.expressions:
            w, h = (int(v) for v in a.expressions.split("x"))
            r = bench_expressions(w, h, tmp, a.settle, a.samples, a.expr_seconds)
            results["expressions_" + a.expressions] = r
            stages = ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(r["analysis_stage_ms"].items()))
            total = r["analysis_stage_ms"].get("total") or 0.0
            print(f"{a.expressions}: render ms  blur {r['blur_ms']:.2f}  blur + expression emojis "
                  f"{r['blur_expressions_ms']:.2f} ({r['expressions_ratio']:.2f}x)", flush=True)
            print(f"{a.expressions}@30 blur + expressions, {r['seconds']:.0f} s: analysis median "
                  f"{r['analysis_fps_median']:.1f} fps (min {r['analysis_fps_min']:.1f}) vs 30 fps target, "
                  f"OBS {r['active_fps']:.1f} fps, {r['skipped']} of {r['frames'] + r['skipped']} frames skipped; "
                  f"{stages} (capacity ~{1000.0 / total if total else 0:.0f} fps); latency "
                  f"{r['latency_frames']} frame(s)", flush=True)
        if a.gestures:
            w, h = (int(v) for v in a.gestures.split("x"))
            r = bench_gestures(w, h, tmp, a.settle, a.samples, a.gest_seconds)
            results["gestures_" + a.gestures] = r
            stages = ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(r["analysis_stage_ms"].items()))
            total = r["analysis_stage_ms"].get("total") or 0.0
            print(f"{a.gestures}: render ms  blur {r['blur_ms']:.2f}  blur + gestures "
                  f"{r['blur_gestures_ms']:.2f} ({r['gestures_ratio']:.2f}x)", flush=True)
            print(f"{a.gestures}@30 blur + gestures, {r['seconds']:.0f} s: analysis median "
                  f"{r['analysis_fps_median']:.1f} fps (min {r['analysis_fps_min']:.1f}) vs 30 fps target, "
                  f"OBS {r['active_fps']:.1f} fps, {r['skipped']} of {r['frames'] + r['skipped']} frames skipped; "
                  f"{stages} (capacity ~{1000.0 / total if total else 0:.0f} fps); latency "
                  f"{r['latency_frames']} frame(s)", flush=True)
        if a.lag_seconds > 0:
            lag = bench_lag(tmp, a.lag_seconds)
            results["lag_720p30"] = lag
            print(f"1280x720@30 image background, {lag['seconds']:.0f} s: {lag['skipped']} of "
                  f"{lag['frames'] + lag['skipped']} frames skipped ({100 * lag['skipped_ratio']:.2f}%, "
                  f"target <= {100 * TARGET_LAG:.0f}%), OBS {lag['active_fps']:.1f} fps")
            stages = ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(lag["analysis_stage_ms"].items()))
            total = lag["analysis_stage_ms"].get("total") or 0.0
            capacity = 1000.0 / total if total else 0.0
            print(f"analysis at 1280x720: {lag['analysis_fps']:.1f} fps vs 30 fps target "
                  f"({lag['analysis_fps'] / 30:.2f}x) and {lag['active_fps']:.1f} fps rendered by OBS "
                  f"({lag['analysis_fps'] / max(lag['active_fps'], 0.1):.2f}x); {stages} "
                  f"(capacity ~{capacity:.0f} fps); mask latency {lag['latency_frames']} frame(s)")
            lag["analysis_capacity_fps"] = capacity
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
