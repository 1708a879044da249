#!/usr/bin/env python3
"""Benchmark face privacy's cost in a real, headless OBS (software rendering on this machine).

One OBS process at 1280x720 30 fps runs one image source (the bundled photo, cover-fitted) with
a FaceFX filter on the image background; OBS's average frame render time is sampled for each
phase: image background alone, then with face privacy on (blur; pixelate; four extra face
covers through the debug_covers hook, i.e. up to five faces), the four covers alone with privacy
off (what drawing costs without the face analysis beside OBS), then the image background again,
interleaved over --rounds. Each phase's figure is the median of its runs; ratios are privacy
over the image background from the same run. Target: <= 1.5x. Beside it, the OBS process's CPU
time per rendered frame and its fps: with software rendering the render time also holds the
graphics thread's wait for llvmpipe's rasterizer at the first drawn-and-read texture of a frame
(the blur background and the blur/pixelate covers have one, the image background has none).

With privacy on the frame is covered whole whenever analysis lags by more than stale_frames
(often, on a loaded machine): the phase's share of such frames is printed beside it.

    .venv/bin/python tests/obs/bench_obs_privacy.py [--size 1280x720] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.obs.bench_obs import CpuPerFrame, _picture  # noqa: E402
from tests.obs.harness import ObsSession, filter_entry, image_source, obs_available  # noqa: E402

TARGET_RATIO = 1.5


def _faces(w: int, h: int, style: str) -> str:
    return json.dumps([dict(x=w * (0.2 + 0.2 * i), y=h * 0.35, width=0.12 * w, height=0.2 * h,
                            rotation=10.0 * i, style=style, strength=16.0 if style == "pixelate" else 24.0)
                       for i in range(4)])


def _sample(obs: ObsSession, settle: float, samples: int) -> Dict[str, float]:
    """Median of OBS's 1-second average frame render time, and the share of status samples
    that found the whole frame covered."""
    time.sleep(settle)
    values: List[float] = []
    whole = 0
    cpu = CpuPerFrame(obs)
    cpu.start()
    for _ in range(samples):
        time.sleep(1.05)
        values.append(float(obs.client.get_stats().average_frame_render_time))
        st = obs.filter_status("FaceFX") or {}
        whole += bool(st.get("privacy_reason") or "whole frame" in (st.get("privacy_notice") or ""))
    return dict(cpu.stop(), ms=statistics.median(values), whole_share=whole / samples)


PHASES = (("privacy_blur", {"privacy": True, "privacy_style": "blur", "debug_covers": ""}),
          ("privacy_pixelate", {"privacy": True, "privacy_style": "pixelate", "debug_covers": ""}),
          ("privacy_blur_5faces", {"privacy": True, "privacy_style": "blur"}),   # + debug covers
          ("covers_only", {"privacy": False}),   # + debug covers: the drawing alone, no face analysis
          ("image", {"privacy": False, "debug_covers": ""}))


def bench(w: int, h: int, tmp: str, settle: float, samples: int, rounds: int) -> Dict[str, object]:
    """Phases interleaved over `rounds` (image, privacy blur, pixelate, five faces, image, ...):
    load that drifts during the run (a shared machine) then hits every phase alike."""
    cam = _picture(os.path.join(tmp, f"cam{h}.png"), w, h)
    bg = _picture(os.path.join(tmp, f"bg{h}.png"), w, h, flip=True)
    session = ObsSession({"Bench": [image_source("Cam", cam, [filter_entry(
        "facefx_filter", "FaceFX", {"bg_mode": "image", "bg_image": bg})])]}, width=w, height=h, fps=30)
    runs: Dict[str, List[Dict[str, float]]] = {}
    out: Dict[str, object] = {}
    try:
        session.start()
        session.wait_results("FaceFX", 5)
        runs.setdefault("image", []).append(_sample(session, settle, samples))
        for _ in range(rounds):
            for name, values in PHASES:
                if name in ("privacy_blur_5faces", "covers_only"):
                    values = dict(values, debug_covers=_faces(w, h, "blur"))
                session.set_filter("Cam", "FaceFX", values)
                runs.setdefault(name, []).append(_sample(session, settle, samples))
        st = session.filter_status("FaceFX") or {}
        out["analysis"] = st.get("analysis")
    finally:
        session.stop()
        session.cleanup()
    for name, rs in runs.items():
        cpus = [r["cpu_ms_per_frame"] for r in rs if r["cpu_ms_per_frame"] is not None]
        out[name] = {"ms": statistics.median(r["ms"] for r in rs), "runs_ms": [r["ms"] for r in rs],
                     "whole_share": sum(r["whole_share"] for r in rs) / len(rs),
                     "obs_cpu_ms_per_frame": statistics.median(cpus) if cpus else None,
                     "obs_fps": statistics.median(r["fps"] for r in rs)}
    base = out["image"]["ms"]
    base_cpu = out["image"]["obs_cpu_ms_per_frame"]
    for name, _ in PHASES[:-1]:
        out[name]["ratio"] = out[name]["ms"] / base
        cpu = out[name]["obs_cpu_ms_per_frame"]
        out[name]["cpu_ratio"] = cpu / base_cpu if cpu is not None and base_cpu else None
    return out


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args(argv)
    reason = obs_available()
    if reason:
        print(f"cannot benchmark: {reason}", file=sys.stderr)
        return 2
    w, h = (int(v) for v in a.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="facefx-bench-") as tmp:
        r = bench(w, h, tmp, a.settle, a.samples, a.rounds)
    def cpu(k: str) -> str:
        c, ratio = r[k]["obs_cpu_ms_per_frame"], r[k].get("cpu_ratio")
        return "OBS CPU %s ms/frame%s at %.1f fps" % ("?" if c is None else "%.1f" % c,
                                                     "" if ratio is None else " (%.2fx)" % ratio, r[k]["obs_fps"])
    print(f"{a.size}: render ms  image {r['image']['ms']:.2f} (runs {r['image']['runs_ms']}); {cpu('image')}")
    for k in ("privacy_blur", "privacy_pixelate", "privacy_blur_5faces", "covers_only"):
        print(f"{a.size}: image + {k.replace('_', ' ')} {r[k]['ms']:.2f} ms (runs {r[k]['runs_ms']}): {r[k]['ratio']:.2f}x "
              f"(target <= {TARGET_RATIO}x); {cpu(k)}; whole frame covered in {100 * r[k]['whole_share']:.0f}% of samples")
    an = r.get("analysis") or {}
    print("analysis: %.1f fps, %s" % (an.get("fps", 0.0), an.get("stage_ms")))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
