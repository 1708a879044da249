"""`facefx eval segmentation`: how well FaceFX's person coverage matches ground-truth masks.

The data folder holds pairs NAME.ext + NAME_mask.png (255 = person, or an 8-bit alpha matte).
Each picture goes through the engine and the CPU renderer exactly as `facefx process` would
run it (fresh temporal state per picture), and three numbers are measured for FaceFX's
coverage and for the raw model mask (the same model's probability, upsampled bilinearly, the
way the renderers used it before refinement):

- IoU of the person at level 0.5;
- boundary IoU (Cheng et al., CVPR 2021): IoU of the bands of width d = 1% of the image
  diagonal inside each mask's outline, which, unlike IoU, does not grow with the person's area;
- mean alpha error in the band of width d on both sides of the true outline (0..1).

The figures are means over the pictures; --json also writes each picture's.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
BAND_FRACTION = 0.01


class EvalError(ValueError):
    """Bad evaluation input (a missing folder, no pairs, a mask of the wrong size)."""


def find_pairs(data_dir: str) -> List[Tuple[str, str, str]]:
    """[(name, image path, mask path)] for every NAME.ext with a NAME_mask.png, name order."""
    if not os.path.isdir(data_dir):
        raise EvalError(f"evaluation data folder not found: {data_dir} "
                        "(expected a folder of NAME.jpg + NAME_mask.png pairs)")
    files = set(os.listdir(data_dir))
    pairs = []
    for f in files:
        stem, ext = os.path.splitext(f)
        if ext.lower() not in IMAGE_EXTS or stem.endswith("_mask"):
            continue
        mask = stem + "_mask.png"
        if mask in files:
            pairs.append((stem, os.path.join(data_dir, f), os.path.join(data_dir, mask)))
    if not pairs:
        raise EvalError(f"no NAME.ext + NAME_mask.png pairs in {data_dir}")
    return sorted(pairs, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p[0])])


def band_width(shape: Tuple[int, ...]) -> int:
    return max(1, int(round(BAND_FRACTION * float(np.hypot(shape[0], shape[1])))))


def _disc(d: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))


def inner_boundary(mask: np.ndarray, d: int) -> np.ndarray:
    """Pixels of a boolean mask within d of its outline (the image border counts as outline)."""
    m = np.pad(mask.astype(np.uint8), 1)
    eroded = cv2.erode(m, _disc(d), borderType=cv2.BORDER_CONSTANT, borderValue=0)[1:-1, 1:-1]
    return mask & (eroded == 0)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def metrics(alpha: np.ndarray, truth: np.ndarray) -> Dict[str, float]:
    """alpha, truth: uint8 HxW (255 = person). IoU, boundary IoU and band alpha error."""
    if alpha.shape != truth.shape:
        raise EvalError(f"prediction {alpha.shape} and truth {truth.shape} differ in size")
    d = band_width(truth.shape)
    pred, gt = alpha >= 128, truth >= 128
    gt8 = gt.astype(np.uint8)
    band = (cv2.dilate(gt8, _disc(d)) > 0) & (cv2.erode(gt8, _disc(d)) == 0)
    err = np.abs(alpha.astype(np.float32) - truth.astype(np.float32))[band] / 255.0
    return {"iou": iou(pred, gt),
            "boundary_iou": iou(inner_boundary(pred, d), inner_boundary(gt, d)),
            "alpha_error": float(err.mean()) if err.size else 0.0}


def load_mask(path: str, size: Tuple[int, int]) -> np.ndarray:
    m = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if m is None:
        raise EvalError(f"cannot read mask {path} (expected an 8-bit PNG, 255 = person)")
    if m.ndim == 3:
        m = m[:, :, 0]
    if m.dtype != np.uint8:
        raise EvalError(f"mask {path} is {m.dtype}; expected 8-bit (255 = person)")
    if (m.shape[1], m.shape[0]) != size:
        raise EvalError(f"mask {path} is {m.shape[1]}x{m.shape[0]}, its picture {size[0]}x{size[1]}")
    return m


def evaluate(data_dir: str, settings=None, progress=None) -> Dict[str, object]:
    """Run FaceFX and the raw model over the pairs in data_dir; returns the report dict."""
    from .analysis import Engine
    from .imageio import load_image_rgb
    from .render.cpu import CpuRenderer
    from .scene import build_plan
    from .settings import BackgroundSettings, Settings

    settings = settings or Settings()
    settings = settings.replace(background=BackgroundSettings(mode="color"))
    pairs = find_pairs(data_dir)
    rows: List[Dict[str, object]] = []
    with Engine(settings) as engine, CpuRenderer() as renderer:
        for name, image_path, mask_path in pairs:
            frame = load_image_rgb(image_path)
            h, w = frame.shape[:2]
            truth = load_mask(mask_path, (w, h))
            engine.reset()
            analysis = engine.analyze(frame, 0.0)
            plan = build_plan(analysis, settings, 0.0, w, h)
            ours = renderer.coverage(frame, plan).copy()
            # First frame after reset: the mask is the model's probability, unsmoothed.
            raw = cv2.resize(analysis.mask, (w, h), interpolation=cv2.INTER_LINEAR)
            mine, base = metrics(ours, truth), metrics(raw, truth)
            row = {"name": name, "size": [w, h], "model": analysis.extras.get("model"), **mine,
                   **{"raw_" + k: v for k, v in base.items()}}
            rows.append(row)
            if progress:
                progress(row)
    keys = ("iou", "boundary_iou", "alpha_error")
    report: Dict[str, object] = {"data": data_dir, "images": len(rows),
                                 "band_fraction_of_diagonal": BAND_FRACTION,
                                 "settings": settings.to_dict()["segmentation"]}
    for k in keys:
        report[k] = float(np.mean([r[k] for r in rows]))
        report["raw_" + k] = float(np.mean([r["raw_" + k] for r in rows]))
    report["per_image"] = rows
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facefx eval segmentation",
                                description="Measure FaceFX's person coverage against ground-truth masks "
                                            "(pairs NAME.ext + NAME_mask.png), next to the raw model mask.")
    p.add_argument("--data", metavar="DIR", required=True, help="folder of NAME.ext + NAME_mask.png pairs")
    p.add_argument("--json", metavar="FILE", help="also write the figures (and each picture's) as JSON")
    p.add_argument("--model", choices=("auto", "landscape", "general"), help="segmentation model (default auto)")
    p.add_argument("--no-refine", dest="refine", action="store_false", default=True,
                   help="measure without edge refinement")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry of `facefx eval ...`; returns the exit status (errors are raised for the CLI)."""
    from .cli import UsageError
    from .settings import SegmentationSettings, Settings

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "segmentation":
        raise UsageError(f"unknown evaluation {argv[0] if argv else ''!r}; expected: facefx eval segmentation "
                         "--data DIR [--json FILE]")
    args = build_parser().parse_args(argv[1:])
    seg = {"refine": args.refine}
    if args.model:
        seg["model"] = args.model
    settings = Settings(segmentation=SegmentationSettings(**seg))
    try:
        say = None if args.quiet else (lambda r: print(
            f"{r['name'][:32]:32s} {r['model'] or '':9s} IoU {r['iou']:.3f} (raw {r['raw_iou']:.3f})  "
            f"boundary IoU {r['boundary_iou']:.3f} (raw {r['raw_boundary_iou']:.3f})  "
            f"alpha error {r['alpha_error']:.3f} (raw {r['raw_alpha_error']:.3f})", flush=True))
        report = evaluate(args.data, settings, say)
    except EvalError as exc:
        raise UsageError(str(exc)) from None
    print(f"{report['images']} pictures: IoU {report['iou']:.3f} (raw model {report['raw_iou']:.3f}), "
          f"boundary IoU {report['boundary_iou']:.3f} (raw {report['raw_boundary_iou']:.3f}), "
          f"alpha error in the band {report['alpha_error']:.3f} (raw {report['raw_alpha_error']:.3f})")
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=1)
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    return 0
