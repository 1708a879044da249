"""Expression-emoji timing on the shared evaluation data (not in the repository): how steady a
still face's emoji is, and how soon a change of expression shows.

    python tools/expression_timing.py [--evalset ../shared/evalset] [--json FILE]

- steady: the evalset clip with a face (a woman holding still, then raising a thumb)
  (195 frames, played at 30 fps) forward then backward: 13 s (the evalset has no 10 s face clip),
  and the bundled portrait as a 10 s stream with camera noise and a slight sway. Counts the
  emoji changes after the first second.
- change: the evalset's office-webcam photos of one man (sad, happy: the same framing) cut
  into a 30 fps stream (sad 4 s, happy 4 s, sad 4 s) with camera noise; no evalset video
  shows one person changing expression, so the change is synthesised and says so. Reports
  how long after each cut the plan shows the new emoji.

Every frame runs through the engine and the Scene as `facefx process` runs a video (30 fps
media time, default settings, expressions 'beside'), so the latency is in media time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facefx.analysis import Engine  # noqa: E402
from facefx.imageio import load_image_rgb  # noqa: E402
from facefx.nativelogs import quiet_native_logs, quiet_stderr  # noqa: E402
from facefx.scene import Scene  # noqa: E402
from facefx.settings import BackgroundSettings, ExpressionSettings, Settings  # noqa: E402

FPS = 30.0
CLIP = "clips/video_fist_then_thumbs_up__mediapipe_samples_gesture_test_video.mp4"
SAD = "faces/sad/sad__face_classification_quadrant_01.jpg"
HAPPY = "faces/happy/happy__face_classification_quadrant_10.jpg"


def shown(frames, settings):
    """The emoji file name the plan shows on each frame ('' = none)."""
    out = []
    with quiet_stderr(), Engine(settings) as engine:
        scene = Scene(settings)
        for i, frame in enumerate(frames):
            t = i / FPS
            scene.update(engine.analyze(frame, t), t)
            sprites = scene.plan(t, frame.shape[1], frame.shape[0]).sprites
            out.append(os.path.basename(sprites[0].image)[:-4] if sprites else "")
    return out


def changes(labels, after_s=1.0):
    start = int(after_s * FPS)
    return sum(1 for a, b in zip(labels[start:], labels[start + 1:]) if a != b)


def noisy(img, n, rng, sway=0.0):
    frames = []
    for i in range(n):
        f = img.astype(np.int16) + rng.normal(0, 3, img.shape).astype(np.int16)
        f = np.clip(f, 0, 255).astype(np.uint8)
        if sway:
            m = np.float32([[1, 0, sway * np.sin(i / 20)], [0, 1, 0]])
            f = cv2.warpAffine(f, m, (f.shape[1], f.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        frames.append(f)
    return frames


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--evalset", default=os.path.join(ROOT, "..", "shared", "evalset"))
    p.add_argument("--json")
    args = p.parse_args()
    quiet_native_logs()
    settings = Settings(background=BackgroundSettings(mode="none"), expressions=ExpressionSettings(mode="beside"))
    rng = np.random.default_rng(0)
    report = {}

    cap = cv2.VideoCapture(os.path.join(args.evalset, CLIP))
    clip = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        clip.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    labels = shown(clip + clip[::-1], settings)
    report["clip_pingpong"] = {"seconds": len(labels) / FPS, "changes_after_1s": changes(labels),
                               "shown": sorted(set(labels[int(FPS):]))}

    photo = load_image_rgb(os.path.join(ROOT, "facefx", "assets", "astronaut.png"))
    labels = shown(noisy(photo, int(10 * FPS), rng, sway=4.0), settings)
    report["portrait_10s"] = {"seconds": len(labels) / FPS, "changes_after_1s": changes(labels),
                              "shown": sorted(set(labels[int(FPS):]))}

    sad, happy = (load_image_rgb(os.path.join(args.evalset, p)) for p in (SAD, HAPPY))
    seg = int(4 * FPS)
    frames = noisy(sad, seg, rng) + noisy(happy, seg, rng) + noisy(sad, seg, rng)
    labels = shown(frames, settings)
    cuts = []
    for cut, want in ((seg, "happy"), (2 * seg, "sad")):
        at = next((i for i in range(cut, min(cut + seg, len(labels))) if labels[i] == want), None)
        cuts.append({"at_s": cut / FPS, "to": want, "latency_s": None if at is None else (at - cut) / FPS,
                     "shown_after": sorted(set(labels[cut + int(FPS): cut + seg]))})
    report["change"] = {"sequence": "sad 4 s, happy 4 s, sad 4 s (synthesised from two evalset photos)",
                        "shown_first_segment": sorted(set(labels[int(FPS):seg])), "cuts": cuts}
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
