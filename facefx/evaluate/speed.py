"""Hands + built-in gesture cost per frame: `python -m facefx.evaluate.speed [CLIP]`.

Times HandTracker (tracking mode) plus classify() on 1280x720 frames of a clip with one raised
hand (the evalset's fist-then-thumbs-up clip by default), fed at full size and reduced to
smaller analysis widths first (the resize is included), and prints the medians. The load
average is printed too: on a shared machine other processes inflate every figure.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from typing import List, Optional, Sequence

DEFAULT_CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "evalset", "clips",
    "video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4")


def measure(clip: str, widths: Sequence[int] = (1280, 640, 320), *, max_hands: int = 1,
            first: int = 60, count: int = 100, repeats: int = 2) -> List[dict]:
    import cv2

    from ..analysis.gestures import classify
    from ..analysis.hands import HandTracker

    cap = cv2.VideoCapture(clip)
    frames = []
    while len(frames) < first + count:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(cv2.resize(bgr, (1280, 720)), cv2.COLOR_BGR2RGB))
    cap.release()
    frames = frames[first:]
    if not frames:
        raise SystemExit(f"facefx: cannot read frames from {clip}; expected a video with a hand in view")
    rows = []
    for width in widths:
        tracker = HandTracker(max_hands=max_hands)
        times, found = [], 0
        for frame in frames * repeats:
            t = time.perf_counter()
            img = frame if width == 1280 else cv2.resize(frame, (width, width * 9 // 16),
                                                         interpolation=cv2.INTER_LINEAR)
            hands = tracker(img)
            classify(hands, aspect=16 / 9)
            times.append((time.perf_counter() - t) * 1000.0)
            found += bool(hands)
        tracker.close()
        rows.append({"input_width": width, "median_ms": statistics.median(times),
                     "p90_ms": sorted(times)[int(len(times) * 0.9)], "hand_found": found / len(times)})
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    clip = argv[0] if argv else DEFAULT_CLIP
    from ..analysis.segmentation import quiet_mediapipe
    quiet_mediapipe()
    for max_hands in (1, 2):
        for row in measure(clip, max_hands=max_hands):
            print(f"hands+gesture 1280x720 frame -> {row['input_width']:>4} wide, max_hands={max_hands}: "
                  f"median {row['median_ms']:.1f} ms, p90 {row['p90_ms']:.1f} ms, "
                  f"hand found {row['hand_found']:.0%}")
    if hasattr(os, "getloadavg"):
        print("load average: %.2f %.2f %.2f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
