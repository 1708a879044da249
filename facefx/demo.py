"""`facefx demo`: the bundled sample photo through every background mode, plus a contact sheet.

Works offline on a fresh machine: the photo ships in facefx/assets/, the segmentation model
ships inside the mediapipe wheel, and the picture for the 'image' background is painted here at
run time (a dusk landscape from gradients and layered ridges), so no asset with its own licence
is needed for it. The photo is analysed once; every mode is rendered from the same analysis.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
SAMPLE = os.path.join(ASSETS, "astronaut.png")
LABELS = {"none": "original"}  # file and tile names; the other modes go by their own name
HOLOGRAM_TIME = 0.35  # a moment where the scan lines and flicker look typical
TILE_WIDTH = 320


def painted_background(width: int, height: int) -> np.ndarray:
    """A calm dusk landscape (RGB uint8): sky gradient, a low sun with glow, three ridges that
    fade with distance. Deterministic, resolution independent."""
    w, h = int(width), int(height)
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    top = np.array([38, 52, 110], np.float32)
    mid = np.array([196, 120, 140], np.float32)
    low = np.array([250, 190, 120], np.float32)
    t = np.clip(y / 0.62, 0.0, 1.0)
    sky = np.where(t < 0.6, top + (mid - top) * (t / 0.6), mid + (low - mid) * ((t - 0.6) / 0.4))
    sky = np.broadcast_to(sky, (h, w, 3)).copy()
    # Sun with a soft glow.
    sx, sy, sr = 0.68, 0.52, 0.07
    aspect = w / float(h)
    d = np.sqrt(((x - sx) * aspect) ** 2 + (y - sy) ** 2)
    glow = np.exp(-((d / 0.22) ** 2))
    sky += glow * np.array([60, 40, 10], np.float32)
    sun = np.clip((sr - d) / 0.006, 0.0, 1.0)
    sky = sky * (1 - sun) + np.array([255, 236, 200], np.float32) * sun
    # Ridges: sums of sines, nearer ones darker and lower.
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)[:, None]
    ridges = [
        (0.60, 0.05, (120, 92, 130), 1.0),
        (0.70, 0.07, (74, 62, 98), 2.3),
        (0.82, 0.06, (34, 32, 56), 4.1),
    ]
    for base, amp, color, phase in ridges:
        line = base - amp * (0.6 * np.sin(xs * 7.0 + phase) + 0.3 * np.sin(xs * 17.0 + 2 * phase)
                             + 0.1 * np.sin(xs * 41.0 + 3 * phase))
        edge = np.clip(rows - line[None, :] * h + 0.5, 0.0, 1.0)[:, :, None]  # antialiased
        sky = sky * (1 - edge) + np.array(color, np.float32) * edge
    return np.clip(sky + 0.5, 0, 255).astype(np.uint8)


def label_tile(image: np.ndarray, label: str, width: int = TILE_WIDTH) -> np.ndarray:
    """Scale to `width`, flatten alpha over a checkerboard, add a caption bar below."""
    from .io.preview import flatten_alpha

    rgb = flatten_alpha(image)
    h, w = rgb.shape[:2]
    th = max(2, int(round(h * width / float(w))))
    tile = cv2.resize(rgb, (width, th), interpolation=cv2.INTER_AREA)
    bar = np.full((34, width, 3), 28, np.uint8)
    (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.putText(bar, label, ((width - tw) // 2, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (240, 240, 240), 1, cv2.LINE_AA)
    return np.vstack([tile, bar])


def contact_sheet(tiles: Sequence[np.ndarray], columns: int = 3, gap: int = 8,
                  title: str = "FaceFX background modes") -> np.ndarray:
    rows = int(math.ceil(len(tiles) / float(columns)))
    th = max(t.shape[0] for t in tiles)
    tw = max(t.shape[1] for t in tiles)
    head = 44
    sheet = np.full((head + rows * (th + gap) + gap, columns * (tw + gap) + gap, 3), 16, np.uint8)
    cv2.putText(sheet, title, (gap + 4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y = head + gap + r * (th + gap)
        x = gap + c * (tw + gap)
        sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return sheet


@dataclasses.dataclass
class DemoResult:
    folder: str
    pictures: List[Tuple[str, str]]   # (mode, path)
    background: str
    sheet: str
    models: str = ""                  # old default (landscape, unrefined) next to auto + refined


def model_comparison(rgb: np.ndarray, renderer: Any) -> np.ndarray:
    """The photo over a saturated colour twice: as the landscape model without refinement
    (FaceFX's former default) and as --model auto with edge refinement, side by side."""
    from .analysis import Engine
    from .scene import build_plan
    from .settings import BackgroundSettings, SegmentationSettings, Settings

    h, w = rgb.shape[:2]
    tiles = []
    for seg, label in ((SegmentationSettings(model="landscape", refine=False), "landscape, unrefined"),
                       (SegmentationSettings(), "auto + refined")):
        settings = Settings(segmentation=seg, background=BackgroundSettings(mode="color", color=(255, 0, 255)))
        with Engine(settings) as engine:
            analysis = engine.analyze(rgb, timestamp=0.0)
        chosen = analysis.extras.get("model", seg.model)
        out = renderer.render(rgb, build_plan(analysis, settings, 0.0, w, h))
        tiles.append(label_tile(out, label if seg.model != "auto" else f"auto ({chosen}) + refined"))
    return contact_sheet(tiles, columns=2, title="Model by frame shape and edge refinement")


def run_demo(out_dir: str = "facefx-demo", photo: Optional[str] = None) -> DemoResult:
    """Write one picture per background mode, the painted background and a contact sheet into
    out_dir. Raises MediaError/SinkError with one-line messages for bad paths."""
    from .analysis import Engine
    from .imageio import MediaError, load_image_rgb
    from .io import SinkError
    from .io.images import write_image
    from .render.cpu import CpuRenderer
    from .scene import Scene
    from .settings import BACKGROUND_MODES, BackgroundSettings, Settings

    photo = photo or SAMPLE
    rgb = load_image_rgb(photo)
    h, w = rgb.shape[:2]
    if min(h, w) < 2:
        raise MediaError(f"{photo} is {w}x{h} pixels; expected a picture at least 2x2 pixels")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SinkError(f"demo output {out_dir} is a file; expected a folder")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise SinkError(f"cannot create demo folder {out_dir}: {exc.strerror or exc}") from None
    if not os.access(out_dir, os.W_OK):
        raise SinkError(f"cannot write into demo folder {out_dir}: permission denied")

    stem = os.path.splitext(os.path.basename(photo))[0]
    bg_path = os.path.join(out_dir, "background.png")
    write_image(bg_path, painted_background(max(w, 640), max(h, 360)))

    base = Settings()
    with Engine(base.replace(background=BackgroundSettings(mode="blur"))) as engine:
        analysis = engine.analyze(rgb, timestamp=0.0)
    renderer = CpuRenderer()
    pictures: List[Tuple[str, str]] = []
    tiles = []
    try:
        for mode in BACKGROUND_MODES:
            bg = BackgroundSettings(mode=mode, image=bg_path if mode == "image" else "")
            settings = base.replace(background=bg)
            scene = Scene(settings)
            scene.update(analysis, 0.0)
            plan = scene.plan(HOLOGRAM_TIME, w, h)
            out = renderer.render(rgb, plan)  # used up before the next render reuses its buffer
            label = LABELS.get(mode, mode)
            path = os.path.join(out_dir, f"{stem}-{label}.png")
            write_image(path, out)
            pictures.append((mode, path))
            tiles.append(label_tile(out, label))
        models_path = os.path.join(out_dir, "models.png")
        write_image(models_path, model_comparison(rgb, renderer))
    finally:
        renderer.close()
    sheet_path = os.path.join(out_dir, "contact-sheet.png")
    write_image(sheet_path, contact_sheet(tiles))
    return DemoResult(out_dir, pictures, bg_path, sheet_path, models_path)


def run_demo_cli(args: argparse.Namespace) -> int:
    from .nativelogs import quiet_native_logs, quiet_stderr

    quiet_native_logs()
    with quiet_stderr(not getattr(args, "verbose", False)):
        result = run_demo(args.output, args.input)
    where = os.path.abspath(result.folder)
    print(f"FaceFX demo: wrote {len(result.pictures)} pictures and a contact sheet to {where}")
    for mode, path in result.pictures:
        print(f"  {mode:12s} {path}")
    print(f"  {'background':12s} {result.background}  (painted at run time for the 'image' mode)")
    print(f"  {'sheet':12s} {result.sheet}")
    print(f"  {'models':12s} {result.models}  (former default next to --model auto with edge refinement)")
    sys.stdout.flush()
    return 0
