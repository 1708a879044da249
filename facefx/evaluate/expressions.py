"""`facefx eval expressions`: expression accuracy on a folder of labelled face photos.

DIR holds one folder per label (angry/, happy/, ...) and optionally multi_face/ with group
photos. For each labelled photo the most confident face is classified by the full pipeline
(mesh-aligned crop, CNN + geometry) and, in the same run, by the plain tutorial pipeline (face
box, 10 px padding, 64x64 grayscale, the same CNN), so the two figures are comparable.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class EvalError(ValueError):
    """Bad evaluation input; the message names it and the expected form."""


def _read_rgb(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise EvalError(f"cannot read image {path} (expected a JPEG/PNG photo)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _images(folder: str) -> List[str]:
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTS))


def evaluate(data: str, model: Optional[str] = None, labels: Optional[str] = None) -> Dict:
    """Run the evaluation; returns the figures `--json` writes."""
    from ..analysis.expressions import ExpressionModel, ExpressionsStage, box_crop
    from ..analysis.faces import FacesStage

    if not os.path.isdir(data):
        raise EvalError(f"data folder not found: {data} (expected one sub-folder of photos per label)")
    classes = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)) and d != "multi_face")
    if not classes:
        raise EvalError(f"{data} has no label folders; expected e.g. {data}/happy/*.jpg")
    faces = FacesStage(max_faces=8, mesh_budget_ms=1e9, tiled=True)
    stage = ExpressionsStage(model=model, labels=labels)
    base_model = ExpressionModel()
    singles = {} if model else {m: ExpressionsStage(mode=m) for m in ("cnn", "geometry")}
    single_right = {m: 0 for m in singles}
    results, base_right, no_face, errors = [], 0, [], []
    try:
        for cls in classes:
            for path in _images(os.path.join(data, cls)):
                try:
                    img = _read_rgb(path)
                except EvalError as exc:
                    errors.append(str(exc))
                    continue
                faces.reset()
                found = faces.analyse(img, 0.0)
                if not found:
                    no_face.append(path)
                    results.append((cls, "", path))
                    continue
                face = max(found, key=lambda f: f.score)
                pred, _ = stage.classify_still(img, face)
                results.append((cls, pred, path))
                for m, st in singles.items():
                    single_right[m] += int(st.classify_still(img, face)[0] == cls)
                crop = cv2.resize(box_crop(img, face.box, 10), (64, 64), interpolation=cv2.INTER_AREA)
                bp = base_model.classify(crop)
                base_right += int(max(bp, key=bp.get) == cls)
        multi = []
        mdir = os.path.join(data, "multi_face")
        if os.path.isdir(mdir):
            for path in _images(mdir):
                img = _read_rgb(path)
                faces.reset()
                found = faces.analyse(img, 0.0)
                multi.append({"file": path, "faces": len(found),
                              "expressions": [stage.classify_still(img, f)[0] for f in found]})
    finally:
        faces.close()
    labels_seen = sorted(set(classes) | {p for _, p, _ in results if p})
    confusion = {t: {p: 0 for p in labels_seen + [""]} for t in classes}
    for t, p, _ in results:
        confusion[t][p] += 1
    per_class = {}
    for c in labels_seen:
        tp = sum(1 for t, p, _ in results if t == c and p == c)
        npred = sum(1 for _, p, _ in results if p == c)
        ntrue = sum(1 for t, _, _ in results if t == c)
        per_class[c] = {"precision": tp / npred if npred else 0.0, "recall": tp / ntrue if ntrue else 0.0,
                        "support": ntrue}
    n = len(results)
    return {"accuracy": sum(t == p for t, p, _ in results) / n if n else 0.0,
            "baseline_accuracy": base_right / n if n else 0.0,
            **{f"{m}_only_accuracy": single_right[m] / n if n else 0.0 for m in singles},
            "photos": n, "per_class": per_class, "confusion": confusion, "no_face": no_face,
            "predictions": [{"file": f, "label": t, "predicted": p} for t, p, f in results],
            "multi_face": multi, "errors": errors}


def format_report(r: Dict) -> str:
    lines = [f"{'class':<10} {'precision':>9} {'recall':>7} {'n':>3}"]
    for c, v in r["per_class"].items():
        lines.append(f"{c:<10} {v['precision']:>9.2f} {v['recall']:>7.2f} {v['support']:>3}")
    cols = list(next(iter(r["confusion"].values())).keys())
    lines.append("confusion (rows: label, columns: predicted; '-' = no face)")
    lines.append(" " * 10 + "".join(f"{(c or '-')[:7]:>8}" for c in cols))
    for t, row in r["confusion"].items():
        lines.append(f"{t:<10}" + "".join(f"{row[c]:>8}" for c in cols))
    for m in r["multi_face"]:
        lines.append(f"multi_face {os.path.basename(m['file'])}: {m['faces']} faces: {', '.join(m['expressions'])}")
    for e in r["errors"]:
        lines.append(f"skipped: {e}")
    alone = "".join(f", {k[:-len('_only_accuracy')]} alone {v:.3f}" for k, v in r.items() if k.endswith("_only_accuracy"))
    lines.append(f"accuracy {r['accuracy']:.3f} (baseline {r['baseline_accuracy']:.3f}{alone}) on {r['photos']} photos; "
                 f"no face in {len(r['no_face'])}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """Entry for `facefx eval expressions ...`; returns the exit status."""
    p = argparse.ArgumentParser(prog="facefx eval expressions",
                                description="Expression accuracy on DIR/<label>/*.jpg (and DIR/multi_face/).")
    p.add_argument("--data", required=True, metavar="DIR")
    p.add_argument("--model", metavar="PATH", help="custom LiteRT expression model")
    p.add_argument("--labels", metavar="PATH", help="its labels.txt ('0 Label' per line)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(list(argv))
    if args.labels and not args.model:
        p.error("--labels needs --model")
    r = evaluate(args.data, args.model, args.labels)
    print(format_report(r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    return 0
