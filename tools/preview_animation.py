"""Contact sheets of FaceFX's animations and stickers over a photo, for looking at them.

A plain numpy/OpenCV alpha blit of scene.Sprites (resize, rotate clockwise, multiply alpha by
opacity), enough to judge motion and taste; the renderers' own painters are the reference.

    .venv/bin/python tools/preview_animation.py [--kind hearts|...|stickers|all] [--out DIR]
        [--ages 0.2,0.6,...] [--seed N] [--size WxH] [--photo PATH]

Writes one PNG sheet per kind (columns = ages) under --out (default /tmp/facefx-preview).
"""
from __future__ import annotations

import argparse
import os
import sys
from functools import lru_cache

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facefx import animations  # noqa: E402


@lru_cache(maxsize=128)
def _load(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise SystemExit(f"{path}: expected an RGBA PNG")
    return img


def blit(frame: np.ndarray, sprite) -> None:
    """Alpha-composite one sprite (straight alpha) into a BGR uint8 frame, in place."""
    if sprite.width < 1 or sprite.height < 1 or sprite.opacity <= 0:
        return
    src = _load(sprite.image)
    sh, sw = src.shape[:2]
    # Affine map: source pixel -> scale to the drawn size -> rotate clockwise -> place centre.
    sx, sy = sprite.width / sw, sprite.height / sh
    th = np.deg2rad(sprite.rotation)
    c, s = np.cos(th), np.sin(th)
    a = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
    t = np.array([sprite.x, sprite.y]) - a @ np.array([sw / 2, sh / 2])
    m = np.hstack([a, t[:, None]])
    H, W = frame.shape[:2]
    half = 0.5 * np.hypot(sprite.width, sprite.height) + 2
    x0, x1 = int(max(0, sprite.x - half)), int(min(W, sprite.x + half + 1))
    y0, y1 = int(max(0, sprite.y - half)), int(min(H, sprite.y + half + 1))
    if x0 >= x1 or y0 >= y1:
        return
    m[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(src, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:4].astype(np.float32) / 255.0 * float(sprite.opacity)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (roi * (1 - alpha) + warped[..., :3] * alpha + 0.5).astype(np.uint8)


def render(base: np.ndarray, sprites) -> np.ndarray:
    frame = base.copy()
    for sp in sprites:
        blit(frame, sp)
    return frame


def sticker_frames(base, ages, duration):
    H, W = base.shape[:2]
    frames = []
    for age in ages:
        sp = [animations.sticker(animations.image_path("thumbs_up.png"), "hand",
                                 (W * 0.78, H * 0.62), age, duration, 0.22, W, H),
              animations.sticker(animations.image_path("victory.png"), "top-left", None, age,
                                 duration, 0.18, W, H),
              animations.sticker(animations.image_path("emoji/happy.png"), "bottom-right", None,
                                 age, duration, 0.18, W, H)]
        frames.append(render(base, [s for s in sp if s is not None]))
    return frames


def sheet(frames, ages, label, cell_w=480):
    tiles = []
    for f, age in zip(frames, ages):
        h = int(round(f.shape[0] * cell_w / f.shape[1]))
        t = cv2.resize(f, (cell_w, h), interpolation=cv2.INTER_AREA)
        cv2.putText(t, f"{label} t={age:.2f}s", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(t, f"{label} t={age:.2f}s", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(t)
    cols = 3
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)]
    return np.vstack(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="all")
    ap.add_argument("--out", default="/tmp/facefx-preview")
    ap.add_argument("--ages", default="")
    ap.add_argument("--duration", type=float, default=animations.DEFAULT_DURATION)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--photo", default=os.path.join(ROOT, "facefx", "assets", "astronaut.png"))
    args = ap.parse_args(argv)
    W, H = (int(v) for v in args.size.lower().split("x"))
    photo = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit(f"{args.photo}: cannot be read as an image")
    # Cover-fit the photo to the frame size.
    scale = max(W / photo.shape[1], H / photo.shape[0])
    big = cv2.resize(photo, (int(np.ceil(photo.shape[1] * scale)),
                             int(np.ceil(photo.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    # Keep the head in view, the way a webcam frames a person (face in the upper middle).
    oy, ox = int((big.shape[0] - H) * 0.12), (big.shape[1] - W) // 2
    base = np.ascontiguousarray(big[oy:oy + H, ox:ox + W])
    d = args.duration
    ages = ([float(a) for a in args.ages.split(",")] if args.ages else
            [round(d * f, 2) for f in (0.04, 0.12, 0.22, 0.33, 0.45, 0.58, 0.72, 0.86, 0.95)])
    kinds = list(animations.ANIMATIONS) + ["stickers"] if args.kind == "all" else [args.kind]
    os.makedirs(args.out, exist_ok=True)
    for kind in kinds:
        if kind == "stickers":
            frames = sticker_frames(base, ages, d)
        else:
            frames = [render(base, animations.sprites(kind, a, d, W, H, seed=args.seed))
                      for a in ages]
        path = os.path.join(args.out, f"{kind}.png")
        cv2.imwrite(path, sheet(frames, ages, kind))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
