"""`facefx eval gestures`: gesture recognition and triggering on labelled photos and videos.

DIR holds one folder per label: a built-in gesture name (or a custom model's label) and `none`
for look-alikes that must not fire. A few folder names of public data sets are read as the
built-in names they mean (`two_hand_heart` -> heart_hands, `closed_fist` -> fist). Videos in a
folder that is no label (the evalset's `clips/`, or DIR itself) are unlabelled: their trigger
events are reported, and a video in `none` that fires anything counts as a false trigger.

Photos are classified one by one (palm detection on each); a photo's prediction is its
two-hand hit if it has one, else its best one-hand hit, else `none`. Videos are tracked frame
by frame, hits of hands that jitter or move fast are dropped (gestures.StabilityGate), and
the rest run through a TriggerBank with the default trigger settings, at media time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ..results import BUILTIN_GESTURES, TWO_HAND_GESTURES

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi")
NONE = "none"
ALIASES = {"two_hand_heart": "heart_hands", "heart": "heart_hands", "closed_fist": "fist",
           "palm": "open_palm", "peace": "victory", "like": "thumbs_up", "dislike": "thumbs_down",
           "two_victory": "two_victories", "iloveyou": "i_love_you", "i_love_u": "i_love_you"}


class EvalError(ValueError):
    """Bad evaluation input; the message names it and the expected form."""


@dataclass
class Sample:
    path: str
    label: Optional[str]     # None: an unlabelled video
    video: bool


@dataclass
class Report:
    labels: List[str]
    photos: List[Dict[str, Any]] = field(default_factory=list)
    videos: List[Dict[str, Any]] = field(default_factory=list)

    def confusion(self) -> Dict[str, Dict[str, int]]:
        classes = self.classes()
        matrix = {a: {b: 0 for b in classes} for a in classes}
        for p in self.photos:
            matrix[p["label"]][p["predicted"]] += 1
        return matrix

    def classes(self) -> List[str]:
        seen = {p["label"] for p in self.photos} | {p["predicted"] for p in self.photos}
        return [c for c in self.labels if c in seen] + sorted(seen - set(self.labels))

    def as_dict(self) -> Dict[str, Any]:
        n = len(self.photos)
        correct = sum(p["label"] == p["predicted"] for p in self.photos)
        per_class = {}
        matrix = self.confusion()
        for c in self.classes():
            tp = matrix[c][c]
            predicted = sum(matrix[a][c] for a in matrix)
            actual = sum(matrix[c].values())
            per_class[c] = {"precision": tp / predicted if predicted else None,
                            "recall": tp / actual if actual else None, "support": actual}
        photo_false = [p["file"] for p in self.photos if p["label"] == NONE and p["predicted"] != NONE]
        video_false = [{"file": v["file"], "events": v["events"]} for v in self.videos
                       if v["label"] == NONE and v["events"]]
        return {"accuracy": correct / n if n else None, "photos": n, "correct": correct,
                "false_triggers": len(photo_false) + len(video_false),
                "false_trigger_files": photo_false + [v["file"] for v in video_false],
                "per_class": per_class, "confusion": matrix,
                "results": self.photos, "videos": self.videos}


def canonical(label: str) -> str:
    name = label.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(name, name)


def collect(dirs: Sequence[str], labels: Sequence[str]) -> List[Sample]:
    """The photos and videos under each DIR (label folders one level down, videos anywhere)."""
    known = {canonical(x) for x in labels} | {NONE}
    samples: List[Sample] = []
    for root in dirs:
        if not os.path.isdir(root):
            raise EvalError(f"--data {root}: not a folder; expected a folder with one sub-folder per "
                            f"label ({', '.join(BUILTIN_GESTURES)}, none) holding images or videos")
        for entry in sorted(os.listdir(root)):
            path = os.path.join(root, entry)
            if os.path.isdir(path):
                label = canonical(entry)
                files = sorted(os.path.join(path, f) for f in os.listdir(path))
                samples += [_sample(f, label if label in known else None) for f in files if _media(f)]
            elif _media(path):
                samples.append(_sample(path, None))
    photos = [s for s in samples if not s.video and s.label is not None]
    videos = [s for s in samples if s.video]
    if not photos and not videos:
        raise EvalError(f"--data {', '.join(dirs)}: no labelled images or videos found; expected sub-folders "
                        f"named after labels ({', '.join(BUILTIN_GESTURES)}, none) with "
                        f"{'/'.join(IMAGE_EXTS + VIDEO_EXTS)} files")
    return photos + videos


def _media(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(IMAGE_EXTS + VIDEO_EXTS)


def _sample(path: str, label: Optional[str]) -> Sample:
    return Sample(path, label, path.lower().endswith(VIDEO_EXTS))


class BuiltinClassifier:
    """The landmark rules of facefx.analysis.gestures behind the custom-model interface."""

    labels = BUILTIN_GESTURES

    def classify(self, hands: Sequence[Any], frame_rgb: Any) -> List[Any]:
        from ..analysis.gestures import classify
        h, w = frame_rgb.shape[:2]
        return classify(hands, aspect=w / h)


def load_classifier(model: Optional[str], labels: Optional[str]) -> Any:
    if model is None:
        if labels is not None:
            raise EvalError("--labels needs --model PATH (a .tflite gesture model)")
        return BuiltinClassifier()
    try:
        from ..analysis.classifiers import load_gesture_model
    except ImportError as exc:
        raise EvalError(f"--model: custom gesture models need facefx.analysis.classifiers, which this "
                        f"build does not have ({exc}); run without --model for the built-in gestures") from None
    return load_gesture_model(model, labels)


def _video_engine(model: Optional[str], labels: Optional[str], names: Sequence[str], max_hands: int) -> Any:
    """The engine's hands and gesture stages and the TriggerBank of the default gesture
    settings: the path a `facefx process` run takes, so the events reported are those it fires."""
    from ..analysis import Engine
    from ..analysis.gestures import GestureStage
    from ..analysis.hands import HandsStage
    from ..settings import GestureSettings, Settings
    from ..triggers import TriggerBank

    gestures = GestureSettings(enabled=True, gestures=tuple(dict.fromkeys(names)),
                               model=model or "", labels=labels or "")
    settings = Settings(gestures=gestures)
    stages = [HandsStage(max_hands=max_hands), GestureStage()]
    engine = Engine(settings, stages=stages)
    for stage in stages[:1]:   # the evaluation's own max_hands, not the one the gestures imply
        stage._options["max_hands"] = max_hands
    return engine, TriggerBank(gestures.trigger_settings())


def predicted_name(hits: Sequence[Any]) -> str:
    if not hits:
        return NONE
    pairs = [h for h in hits if len(h.hands) > 1 or h.name in TWO_HAND_GESTURES]
    return canonical(max(pairs or hits, key=lambda h: h.score).name)


def evaluate(dirs: Sequence[str], *, model: Optional[str] = None, labels: Optional[str] = None,
             max_hands: int = 2, progress: Any = None) -> Report:
    """Classify every labelled photo and run every video through the default triggers."""
    import cv2

    from ..analysis.gestures import StabilityGate
    from ..analysis.hands import HandTracker
    from ..imageio import MediaError, load_image_rgb
    from ..triggers import TriggerBank

    classifier = load_classifier(model, labels)
    names = [canonical(x) for x in getattr(classifier, "labels", BUILTIN_GESTURES)]
    samples = collect(dirs, names)
    report = Report(labels=list(dict.fromkeys(names + [NONE])))
    photo_tracker = HandTracker(max_hands=max_hands, static=True)
    try:
        for s in samples:
            if progress:
                progress(s.path)
            if not s.video:
                try:
                    rgb = load_image_rgb(s.path)
                except MediaError as exc:
                    raise EvalError(f"{s.path}: {exc}") from None
                hands = photo_tracker(rgb)
                hits = classifier.classify(hands, rgb)
                report.photos.append({"file": s.path, "label": s.label, "predicted": predicted_name(hits),
                                      "hands": len(hands), "hits": [h.name for h in hits]})
                continue
            cap = cv2.VideoCapture(s.path)
            if not cap.isOpened():
                raise EvalError(f"{s.path}: cannot open this video; expected {'/'.join(VIDEO_EXTS)}")
            fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
            engine, bank = _video_engine(model, labels, getattr(classifier, "labels", BUILTIN_GESTURES),
                                         max_hands)
            events, frames, index = [], 0, 0
            try:
                while True:
                    ok, bgr = cap.read()
                    if not ok:
                        break
                    t = index / fps
                    index += 1
                    analysis = engine.analyze(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), timestamp=t)
                    events += [{"gesture": e.name, "time": round(e.t, 3)}
                               for e in bank.update(analysis.gestures, t)]
                    frames += 1
            finally:
                cap.release()
                engine.close()
            report.videos.append({"file": s.path, "label": s.label, "frames": frames,
                                  "duration": round(frames / fps, 3), "events": events})
    finally:
        photo_tracker.close()
    return report


def format_report(data: Dict[str, Any]) -> str:
    lines = []
    if data["photos"]:
        lines.append(f"photos: {data['correct']}/{data['photos']} correct (accuracy {data['accuracy']:.3f})")
        lines.append(f"{'class':<16} {'precision':>9} {'recall':>7} {'n':>4}")
        for c, m in data["per_class"].items():
            fmt = lambda v: "-" if v is None else f"{v:.2f}"   # noqa: E731
            lines.append(f"{c:<16} {fmt(m['precision']):>9} {fmt(m['recall']):>7} {m['support']:>4}")
        classes = list(data["confusion"])
        short = [c[:6] for c in classes]
        lines.append("confusion (rows: label, columns: predicted)")
        lines.append(" " * 16 + " ".join(f"{s:>6}" for s in short))
        for c in classes:
            lines.append(f"{c:<16}" + " ".join(f"{data['confusion'][c][p]:>6}" for p in classes))
        wrong = [r for r in data["results"] if r["label"] != r["predicted"]]
        for r in wrong:
            lines.append(f"  wrong: {os.path.basename(r['file'])}: {r['label']} -> {r['predicted']} "
                         f"({r['hands']} hand(s) found)")
    for v in data["videos"]:
        ev = ", ".join(f"{e['gesture']}@{e['time']:.2f}s" for e in v["events"]) or "nothing fired"
        lines.append(f"video {os.path.basename(v['file'])} ({v['duration']:.1f} s): {ev}")
    lines.append(f"false triggers: {data['false_triggers']}"
                 + (f" ({', '.join(os.path.basename(f) for f in data['false_trigger_files'])})"
                    if data["false_triggers"] else ""))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facefx eval gestures",
        description="Measure gesture recognition on labelled photos and videos: per-class precision and "
                    "recall, a confusion matrix, false triggers, and each video's trigger events.")
    p.add_argument("--data", metavar="DIR", action="append", required=True,
                   help="folder with one sub-folder per label (built-in gesture names, 'none' for "
                        "look-alikes); repeat for several folders")
    p.add_argument("--model", metavar="PATH", help="custom gesture model (.tflite) instead of the built-in rules")
    p.add_argument("--labels", metavar="PATH", help="labels file of --model")
    p.add_argument("--max-hands", type=int, choices=(1, 2), default=2, help="hands tracked (default 2)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from ..analysis.segmentation import quiet_mediapipe
    quiet_mediapipe()
    try:
        progress = None if args.quiet else (lambda path: print(f"  {path}", file=sys.stderr))
        report = evaluate(args.data, model=args.model, labels=args.labels, max_hands=args.max_hands,
                          progress=progress)
        data = report.as_dict()
        if args.json:
            try:
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=2)
            except OSError as exc:
                raise EvalError(f"--json {args.json}: cannot write ({exc.strerror or exc}); "
                                "expected a writable file path") from None
    except EvalError as exc:
        print(f"facefx: {exc}", file=sys.stderr)
        return 2
    print(format_report(data))
    return 0
