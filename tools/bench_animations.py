"""Cost of facefx.animations per output frame: microseconds per call and sprites drawn.

    .venv/bin/python tools/bench_animations.py [--size WxH] [--duration S]

The Scene calls sprites() once per output frame on OBS's render thread, so this is the Python
time an animation adds to each frame there (before the renderer draws the sprites).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facefx import animations  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--duration", type=float, default=animations.DEFAULT_DURATION)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    frames = int(args.duration * 60)
    print(f"{'animation':<10} {'median us':>9} {'p95 us':>8} {'max sprites':>11}  ({w}x{h}, 60 fps)")
    for kind in animations.ANIMATIONS:
        animations.sprites(kind, 0.5, args.duration, w, h)
        times, most = [], 0
        for i in range(frames):
            t0 = time.perf_counter()
            n = len(animations.sprites(kind, i / 60.0, args.duration, w, h))
            times.append((time.perf_counter() - t0) * 1e6)
            most = max(most, n)
        times.sort()
        print(f"{kind:<10} {times[len(times) // 2]:>9.0f} {times[int(len(times) * 0.95)]:>8.0f} {most:>11}")
    sticker = animations.image_path("thumbs_up.png")
    t0 = time.perf_counter()
    for i in range(frames):
        animations.sticker(sticker, "hand", (w * 0.7, h * 0.6), i / 60.0, args.duration, 0.22,
                           w, h)
    print(f"{'sticker':<10} {(time.perf_counter() - t0) * 1e6 / frames:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
