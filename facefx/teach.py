"""Teaching: record a new hand gesture under a name, train a small landmark classifier in
seconds with numpy, save it as a .tflite file that load_gesture_model runs like any other.

Samples are kinivi-convention landmark features (facefx.analysis.classifiers.landmark_features),
kept per gesture in DATA/gestures/samples/NAME.npy, so teaching or deleting one gesture retrains
one model over all of them: DATA/gestures/taught.tflite with taught_labels.txt ("0 none",
"1 NAME", ...). The "none" class is what keeps a taught gesture from firing on every hand: it
is built from each sample with one finger folded or stretched (the near misses that matter) and
from random poses, both kept only when far from every taught sample.

DATA is FACEFX_DATA_DIR when set (tests), else XDG_DATA_HOME/facefx (Linux), %APPDATA%\\facefx
(Windows) or ~/Library/Application Support/facefx (macOS).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from facefx.analysis.classifiers import is_none_label, landmark_features
from facefx.results import Hand

MODEL_FILE = "taught.tflite"
LABELS_FILE = "taught_labels.txt"
MIN_SAMPLES = 10
FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
NAME_HINT = "1-40 letters, digits, spaces, '_' or '-', not a 'nothing' word such as none/background"


class TeachError(ValueError):
    """Teaching cannot go on; the message says what was wrong and what is expected."""


def data_dir() -> str:
    """The user's FaceFX data folder (not created here)."""
    override = os.environ.get("FACEFX_DATA_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or os.path.expanduser("~\\AppData\\Roaming")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "facefx")


def gestures_dir() -> str:
    return os.path.join(data_dir(), "gestures")


def model_paths() -> Optional[Tuple[str, str]]:
    """(model, labels) of the taught classifier, or None when nothing is taught."""
    model = os.path.join(gestures_dir(), MODEL_FILE)
    labels = os.path.join(gestures_dir(), LABELS_FILE)
    return (model, labels) if os.path.isfile(model) and os.path.isfile(labels) else None


def with_taught(settings):
    """Settings whose gestures use the taught classifier when gestures are on and no custom
    model is named (an explicit model takes its place), as every `--gestures` run and the OBS
    worker do; otherwise the settings unchanged."""
    import dataclasses
    g = settings.gestures
    taught = model_paths() if g.active and not g.model else None
    if taught is None:
        return settings
    return settings.replace(gestures=dataclasses.replace(g, model=taught[0], labels=taught[1]))


def check_name(name: str) -> str:
    name = name.strip()
    if not re.fullmatch(r"[\w][\w \-]{0,39}", name) or is_none_label(name):
        raise TeachError(f"invalid gesture name {name!r}; expected {NAME_HINT}")
    return name


def _sample_path(name: str) -> str:
    return os.path.join(gestures_dir(), "samples", name + ".npy")


def list_gestures() -> List[Tuple[str, int]]:
    """Taught gestures as (name, number of samples), by name."""
    folder = os.path.join(gestures_dir(), "samples")
    if not os.path.isdir(folder):
        return []
    out = []
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".npy"):
            out.append((entry[:-4], int(np.load(os.path.join(folder, entry)).shape[0])))
    return out


def features_of(hands: Sequence[Hand], frame_size: Tuple[int, int], *, mirrored: bool = False) -> Optional[np.ndarray]:
    """The sample a frame gives: its most confident hand's features, or None without a hand."""
    if not hands:
        return None
    hand = max(hands, key=lambda h: h.score)
    return landmark_features(hand.landmarks, frame_size, mirrored=mirrored)


# --- training ----------------------------------------------------------------------------

def _normalise(points: np.ndarray) -> np.ndarray:
    """Features from (N, 21, 2) wrist-relative points: / largest absolute value per sample."""
    flat = (points - points[:, :1]).reshape(len(points), -1)
    peak = np.abs(flat).max(axis=1, keepdims=True)
    return flat / np.where(peak > 0, peak, 1)


def _augment(x: np.ndarray, rng: np.random.Generator, copies: int) -> np.ndarray:
    """Rotations up to 25 degrees, either hand (mirror), small jitter: a gesture taught with one
    hand held one way is recognised with either hand at a slight roll."""
    pts = np.repeat(x.reshape(-1, 21, 2), copies, axis=0)
    angle = rng.uniform(-np.radians(25), np.radians(25), len(pts))
    c, s = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    pts = np.einsum("nij,nkj->nki", rot, pts)
    pts[rng.random(len(pts)) < 0.5, :, 0] *= -1
    pts = pts + rng.normal(0, 0.015, pts.shape)
    return _normalise(pts)


def _near_misses(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each sample with one finger folded onto its knuckle or stretched straight out."""
    pts = x.reshape(-1, 21, 2)
    out = []
    for finger in FINGERS:
        base, rest = finger[0], list(finger[1:])
        p = pts.copy()
        reach = np.linalg.norm(p[:, finger[-1]], axis=1) - np.linalg.norm(p[:, base], axis=1)
        extended = reach > 0.15
        folded = p[:, [base]] * rng.uniform(0.8, 1.0, (len(p), 1, 1))
        direction = p[:, [base]] / np.maximum(np.linalg.norm(p[:, [base]], axis=2, keepdims=True), 1e-6)
        steps = np.array([0.35, 0.6, 0.8])[None, :, None]
        straight = p[:, [base]] + direction * steps
        p[:, rest] = np.where(extended[:, None, None], folded, straight)
        out.append(p)
    return _normalise(np.concatenate(out))


def _random_poses(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random hands in feature space: knuckles on an arc above the wrist, each finger a chain
    of random length (folded to stretched), at any roll and either hand."""
    angles = np.radians([-150, -110, -95, -80, -65])
    pts = np.zeros((n, 21, 2))
    roll = rng.uniform(-np.pi / 3, np.pi / 3, n)
    for f, finger in enumerate(FINGERS):
        a = angles[f] + roll + rng.normal(0, 0.1, n)
        knuckle = np.stack([np.cos(a), np.sin(a)], 1) * (0.45 if f == 0 else 0.9)
        pts[:, finger[0]] = knuckle
        bend = rng.uniform(-0.2, 1.0, n)
        d = a + bend * rng.choice([-1, 1], n) * rng.uniform(0, 0.6, n)
        for k, j in enumerate(finger[1:]):
            step = np.stack([np.cos(d), np.sin(d)], 1) * 0.3 * bend[:, None]
            pts[:, j] = pts[:, finger[k]] + step
    pts[rng.random(n) < 0.5, :, 0] *= -1
    return _normalise(pts)


def _far_from(candidates: np.ndarray, positives: np.ndarray, radius: float) -> np.ndarray:
    d2 = (candidates ** 2).sum(1)[:, None] - 2 * candidates @ positives.T + (positives ** 2).sum(1)[None]
    return candidates[np.sqrt(np.maximum(d2.min(1), 0)) > radius]


def train(samples: Dict[str, np.ndarray], *, seed: int = 0, hidden: int = 32, epochs: int = 300):
    """A [42 -> hidden -> 1 + len(samples)] MLP (class 0 = "none") as (layers, labels); numpy
    only, full-batch Adam on class-balanced cross-entropy."""
    rng = np.random.default_rng(seed)
    names = sorted(samples)
    positives = [np.asarray(samples[n], np.float64).reshape(-1, 42) for n in names]
    everything = np.concatenate(positives)
    # A negative must lie farther from every sample than samples lie from their neighbours.
    d2 = (everything ** 2).sum(1)[:, None] - 2 * everything @ everything.T + (everything ** 2).sum(1)[None]
    np.fill_diagonal(d2, np.inf)
    radius = max(0.4, 3 * float(np.median(np.sqrt(np.maximum(d2.min(1), 0)))))
    negatives = np.concatenate([_near_misses(everything, rng), _random_poses(4000, rng)])
    negatives = _far_from(negatives, everything, radius)
    if len(negatives) < 100:
        raise TeachError("the recorded samples cover almost every hand pose; expected one steady gesture")
    xs = [negatives] + [np.concatenate([p, _augment(p, rng, 8)]) for p in positives]
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate([np.full(len(a), i) for i, a in enumerate(xs)])
    weight = (len(y) / (len(xs) * np.bincount(y, minlength=len(xs))))[y]
    k = len(xs)
    params = [rng.normal(0, np.sqrt(2 / 42), (hidden, 42)), np.zeros(hidden),
              rng.normal(0, np.sqrt(1 / hidden), (k, hidden)), np.zeros(k)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(k)[y]
    for t in range(1, epochs + 1):
        w1, b1, w2, b2 = params
        h = np.maximum(x @ w1.T + b1, 0)
        logits = h @ w2.T + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) * weight[:, None] / len(x)
        gw2, gb2 = g.T @ h + 1e-4 * w2, g.sum(0)
        gh = (g @ w2) * (h > 0)
        gw1, gb1 = gh.T @ x + 1e-4 * w1, gh.sum(0)
        for i, grad in enumerate((gw1, gb1, gw2, gb2)):
            m[i] = 0.9 * m[i] + 0.1 * grad
            v[i] = 0.999 * v[i] + 0.001 * grad ** 2
            params[i] = params[i] - 0.01 * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    return [(params[0], params[1]), (params[2], params[3])], ["none"] + names


def _rebuild() -> Optional[Tuple[str, str]]:
    """Train over every taught gesture and write the model (or remove it when none is left)."""
    from facefx.analysis.tflite_writer import mlp_classifier

    taught = {name: np.load(_sample_path(name)) for name, _ in list_gestures()}
    model = os.path.join(gestures_dir(), MODEL_FILE)
    labels_file = os.path.join(gestures_dir(), LABELS_FILE)
    if not taught:
        for path in (model, labels_file):
            if os.path.exists(path):
                os.remove(path)
        return None
    layers, labels = train(taught)
    for path, data in ((model, mlp_classifier(layers, "FaceFX taught gestures")),
                       (labels_file, "".join(f"{i} {label}\n" for i, label in enumerate(labels)).encode())):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return model, labels_file


def teach(name: str, samples: Iterable[np.ndarray]) -> Tuple[str, str]:
    """Save the samples under `name` (replacing an earlier recording of it), retrain, and
    return (model, labels) for load_gesture_model.

    Raises:
        TeachError: a bad name, or fewer than MIN_SAMPLES samples (no hand seen long enough).
    """
    name = check_name(name)
    x = np.asarray([np.asarray(s, np.float32).reshape(42) for s in samples], np.float32).reshape(-1, 42)
    if len(x) < MIN_SAMPLES:
        raise TeachError(f"only {len(x)} frames with a hand for {name!r}; expected at least {MIN_SAMPLES}: "
                         "hold the gesture in view for the whole recording")
    os.makedirs(os.path.join(gestures_dir(), "samples"), exist_ok=True)
    np.save(_sample_path(name), x)
    return _rebuild()


def delete_gesture(name: str) -> None:
    """Forget a taught gesture and retrain without it."""
    path = _sample_path(check_name(name))
    if not os.path.isfile(path):
        known = ", ".join(n for n, _ in list_gestures()) or "none"
        raise TeachError(f"no taught gesture named {name!r} (taught: {known})")
    os.remove(path)
    _rebuild()


# --- recording from a source -------------------------------------------------------------

def record(source, seconds: float, *, mirrored: bool = False, hands_for=None) -> List[np.ndarray]:
    """Samples from a FrameSource: every frame within `seconds` of the first, one per frame
    with a hand. hands_for(rgb) -> hands defaults to MediaPipe's Hands (tracking mode)."""
    close = None
    if hands_for is None:
        hands_for, close = _mediapipe_hands(mirrored)
    samples: List[np.ndarray] = []
    start = None
    try:
        for item in source:
            image = getattr(item, "image", None)
            if image is None:
                continue
            start = item.time if start is None else start
            if item.time - start > seconds:
                break
            sample = features_of(hands_for(image), (image.shape[1], image.shape[0]), mirrored=mirrored)
            if sample is not None:
                samples.append(sample)
    finally:
        if close:
            close()
    return samples


def _mediapipe_hands(mirrored: bool):
    """MediaPipe's legacy Hands as hands_for(); its handedness assumes a mirrored image."""
    import mediapipe as mp
    tracker = mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=1, model_complexity=0)

    def hands_for(rgb):
        result = tracker.process(rgb)
        hands = []
        for lms, handed in zip(result.multi_hand_landmarks or (), result.multi_handedness or ()):
            label = handed.classification[0].label.lower()
            own = label if mirrored else ("left" if label == "right" else "right")
            hands.append(Hand(tuple((p.x, p.y, p.z) for p in lms.landmark), own, handed.classification[0].score))
        return tuple(hands)
    return hands_for, tracker.close


def add_parser(sub) -> None:
    """`facefx teach` for cli.build_parser's subparsers."""
    t = sub.add_parser("teach", help="teach a new hand gesture, or list/delete taught ones",
                       description="Record a gesture from a camera, video or pictures and train a "
                                   f"classifier for it (saved in {gestures_dir()}).")
    t.add_argument("name", nargs="?", help="name of the gesture to teach")
    t.add_argument("--input", help="camera index, video, picture or folder showing the gesture")
    t.add_argument("--seconds", type=float, default=5.0, help="how long to record (default 5)")
    t.add_argument("--mirrored", action="store_true", help="the input is already mirrored (selfie view)")
    t.add_argument("--list", action="store_true", help="list taught gestures")
    t.add_argument("--delete", metavar="NAME", help="forget a taught gesture")


def run_cli(args: argparse.Namespace) -> int:
    """The `facefx teach` command: 0 done, 2 bad input (one line on stderr)."""
    from facefx.imageio import MediaError
    try:
        if args.list:
            for name, count in list_gestures():
                print(f"{name}\t{count} samples")
            return 0
        if args.delete:
            delete_gesture(args.delete)
            print(f"deleted {args.delete}")
            return 0
        if not args.name or not args.input:
            raise TeachError("expected: facefx teach NAME --input SOURCE [--seconds N], --list or --delete NAME")
        name = check_name(args.name)
        if args.seconds <= 0:
            raise TeachError(f"--seconds must be above 0, got {args.seconds}")
        from facefx.io.sources import open_source
        with open_source(args.input) as source:
            print(f"recording {name!r} for {args.seconds:g} s from {args.input}...", file=sys.stderr)
            samples = record(source, args.seconds, mirrored=args.mirrored)
        model, labels = teach(name, samples)
        print(f"taught {name!r} from {len(samples)} frames: {model}")
        return 0
    except (TeachError, MediaError) as exc:
        print(f"facefx teach: {exc}", file=sys.stderr)
        return 2
