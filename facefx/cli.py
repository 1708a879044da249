"""The `facefx` command line: effects on cameras, videos, pictures and folders without OBS.

    facefx demo                          # every background on the bundled photo -> ./facefx-demo/
    facefx process 0                     # camera 0 in a preview window (blurred background)
    facefx process talk.mp4 -o out.mp4 --background image --background-image beach.jpg
    facefx process photos/ -o done/ --background transparent
    facefx process 0 -o virtualcam --background color --background-color '#202830'
    facefx bench                         # speed figures (see facefx/bench.py)

Every user mistake (missing or unreadable file, unknown camera, unwritable output, a value out
of range) ends the run with one line on stderr naming what was wrong and what is expected, and
exit status 2. Tracebacks appear only with --verbose.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence, Tuple

from . import __version__
from .nativelogs import quiet_native_logs, quiet_stderr

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
LOOP_SECONDS = 4.0

DESCRIPTION = "FaceFX: real-time webcam effects (virtual backgrounds) for the command line and OBS Studio."
EPILOG = """\
commands:
  process INPUT [-o OUTPUT]   apply effects to a camera, video, picture or folder
  demo [-o DIR]               show every background on the bundled sample photo
  bench [--json FILE]         measure speed (per-stage ms, fps, memory)

Run 'facefx COMMAND --help' for a command's options. New here? Try: facefx demo
"""

PROCESS_EPILOG = """\
inputs:   0, 1, ...  camera index | a video file | an image file | a folder of images
          (processed in natural sorted order; failed files are reported and skipped)
          synth[:size=WxH:fps=N:frames=N:image=PATH:live=0|1]  a synthetic camera
outputs:  none       a preview window (cameras mirrored; keys: q/Esc quit, h help,
                     f fullscreen, space/b next effect, m mirror, n/Enter next picture,
                     g gestures, e expression emojis, c recalibrate the neutral face)
          FILE.png   an image (also .jpg .webp .tif .bmp) for an image input
          FILE.mp4   a video (also .m4v .mkv .mov .webm .avi) that keeps the input's audio track
          DIR/       a folder: one output per picture, or one PNG per video frame
          virtualcam a virtual camera (needs pip install 'facefx[virtualcam]')
transparency: --background transparent keeps alpha in .png/.webp/.tif pictures, .webm (VP9)
          and .mov (ProRes 4444) videos and PNG folders; other formats are refused.

examples:
  facefx process 0
  facefx process talk.mp4 -o talk-blur.mp4 --blur 70
  facefx process me.jpg -o me.png --background transparent
  facefx process 0 -o virtualcam --background image --background-image office.jpg
  facefx process 0 --expressions beside --expression-label --background none
  facefx process photos/ --expressions replace --loop        # the exhibition demo
"""


class UsageError(ValueError):
    """A bad command line; printed as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse's default prints the whole usage first)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _number(kind: type, what: str) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if kind is float and value != value:  # NaN
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return convert


def _size(text: str) -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if w < 2 or h < 2:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 2x2, got {text!r}")
    return w, h


def _positive(kind: type, what: str) -> Any:
    convert = _number(kind, what)

    def positive(text: str) -> Any:
        value = convert(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected {what} above 0, got {text!r}")
        return value
    return positive


def build_parser() -> argparse.ArgumentParser:
    from .settings import BACKGROUND_MODES, EXPRESSION_MODES, FACE_DETECTORS, SEGMENTATION_MODELS

    parser = _Parser(prog="facefx", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"facefx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("process", help="apply effects to a camera, video, picture or folder",
                       description="Apply FaceFX effects to a camera, a video, a picture or a folder of pictures.",
                       epilog=PROCESS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="camera index (0), video file, image file or folder of images")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="image/video file, folder, or 'virtualcam' (default: a preview window)")

    bg = p.add_argument_group("background")
    bg.add_argument("--background", metavar="MODE", choices=BACKGROUND_MODES,
                    help=f"one of {{{','.join(BACKGROUND_MODES)}}} (default: blur; image when "
                         "--background-image is given, color when --background-color is)")
    bg.add_argument("--background-image", metavar="PATH",
                    help="picture behind the person (any size; cover-fit; also used by hologram)")
    bg.add_argument("--background-color", metavar="#RRGGBB", help="colour for --background color (default #00B140)")
    bg.add_argument("--blur", metavar="STRENGTH", type=_number(float, "a number from 0 to 100"),
                    help="blur strength 0..100 (default 50)")
    bg.add_argument("--hologram-color", metavar="#RRGGBB", help="tint of the hologram (default #46BEFF)")

    seg = p.add_argument_group("segmentation (the same settings as the OBS filter)")
    seg.add_argument("--model", choices=SEGMENTATION_MODELS,
                     help="auto (default: landscape for wide frames, general for square and portrait ones), "
                          "landscape (256x144, faster) or general (256x256)")
    seg.add_argument("--analysis-width", metavar="PIXELS", type=_number(int, "a whole number of pixels"),
                     help="width frames are reduced to for analysis, 64..1920 (default 256)")
    seg.add_argument("--smoothing", metavar="0..1", type=_number(float, "a number from 0 to 1"),
                     help="temporal mask smoothing, motion-adaptive (default 0.6)")
    seg.add_argument("--threshold", metavar="0.05..0.95", type=_number(float, "a number from 0.05 to 0.95"),
                     help="mask level taken as the person's edge (default 0.5)")
    seg.add_argument("--softness", metavar="0..1", type=_number(float, "a number from 0 to 1"),
                     help="edge softness, 0 = hard cut (default 0.35)")
    seg.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                     help="refine the edge at full resolution, guided by the frame (default off)")
    seg.add_argument("--settings", metavar="FILE.json",
                     help="start from settings saved as JSON ({\"segmentation\": {...}, \"background\": {...}}); "
                          "flags override it")

    ges = p.add_argument_group("gesture stickers (see README: Gesture stickers)")
    ges.add_argument("--gestures", metavar="NAMES", nargs="?", const="all",
                     help="show a sticker when a hand gesture is held; optionally a comma-separated list "
                          "of gesture names (default: all built-in gestures)")
    ges.add_argument("--sticker", metavar="GESTURE=PATH_OR_NAME", action="append", default=[],
                     help="the sticker of a gesture: an RGBA .png, a bundled sticker name (thumbs_up, ...) "
                          "or an animation (hearts, confetti, fireworks, balloons, rain); repeatable")
    ges.add_argument("--gesture-model", metavar="PATH",
                     help="a custom gesture model (.tflite: Teachable Machine export or landmark classifier)")
    ges.add_argument("--gesture-labels", metavar="PATH", help="the custom model's labels file")
    add_privacy_arguments(p)

    exp = p.add_argument_group("expression emojis (see README: Expression emojis)")
    exp.add_argument("--expressions", metavar="MODE", nargs="?", const="beside", choices=EXPRESSION_MODES,
                     help=f"one of {{{','.join(EXPRESSION_MODES)}}}: an emoji of each face's expression beside it, "
                          "over it, or the main face's in a corner panel (default without MODE: beside)")
    exp.add_argument("--expression-label", action=argparse.BooleanOptionalAction, default=None,
                     help="also write the expression's name under each emoji")
    exp.add_argument("--expression-model", metavar="PATH",
                     help="a custom expression model (.tflite: FER layout or a Teachable Machine image export)")
    exp.add_argument("--expression-labels", metavar="PATH", help="the custom model's labels file (labels.txt)")
    exp.add_argument("--emoji", metavar="LABEL=PATH", action="append", default=[],
                     help="the picture (an RGBA .png) shown for an expression label, e.g. happy=me.png; repeatable")
    exp.add_argument("--max-faces", metavar="N", type=_number(int, "a whole number from 1 to 8"),
                     help="faces tracked at once, 1..8 (default 4)")
    exp.add_argument("--face-detector", choices=FACE_DETECTORS,
                     help="auto (default: by face size), short (faces near the camera) or full (up to ~5 m)")
    run = p.add_argument_group("running")
    mirror = run.add_mutually_exclusive_group()
    mirror.add_argument("--mirror", dest="mirror", action="store_true", default=None,
                        help="mirror the preview (default for cameras)")
    mirror.add_argument("--no-mirror", dest="mirror", action="store_false", help="do not mirror the preview")
    run.add_argument("--max-frames", metavar="N", type=_positive(int, "a whole number"),
                     help="stop after N frames")
    run.add_argument("--camera-size", metavar="WxH", type=_size, help="ask the camera for this resolution")
    run.add_argument("--fps", type=_positive(float, "a frame rate"),
                     help="frame rate to ask the camera / virtual camera for")
    run.add_argument("--loop", metavar="SECONDS", nargs="?", const=LOOP_SECONDS,
                     type=_positive(float, "a number of seconds"),
                     help=f"show the picture, or the folder's pictures, endlessly in the preview window, "
                          f"each for SECONDS (default {LOOP_SECONDS:g}; n moves on at once): the exhibition demo")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show native library logs and tracebacks (for bug reports)")

    d = sub.add_parser("demo", help="show every background on the bundled sample photo",
                       description="Process the bundled sample photo (or --input PHOTO) through every background "
                                   "mode and write the results and a labelled contact sheet.")
    d.add_argument("-o", "--output", metavar="DIR", default="facefx-demo",
                   help="output folder (default: ./facefx-demo)")
    d.add_argument("--input", metavar="PHOTO", help="use this photo instead of the bundled astronaut")
    d.add_argument("-v", "--verbose", action="store_true", help="show native library logs and tracebacks")

    sub.add_parser("bench", help="measure speed (per-stage ms, fps, memory); see 'facefx bench --help'",
                   add_help=False)
    sub.add_parser("eval", help="measure accuracy on labelled data; 'facefx eval {gestures,segmentation} --help'",
                   add_help=False)
    from .teach import add_parser as add_teach_parser
    add_teach_parser(sub)
    return parser


# --- settings from flags -----------------------------------------------------------------------

def settings_from_args(args: argparse.Namespace) -> Any:
    """Build validated Settings from the flags (over --settings FILE when given)."""
    from .settings import BackgroundSettings, SegmentationSettings, Settings, SettingsError

    base = Settings()
    if args.settings:
        try:
            with open(args.settings, "r", encoding="utf-8-sig") as fh:  # Windows editors add a BOM
                data = json.load(fh)
        except OSError as exc:
            raise UsageError(f"cannot read settings file {args.settings}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"settings file {args.settings} is not valid JSON ({exc}); "
                             "expected {\"segmentation\": {...}, \"background\": {...}}") from None
        if not isinstance(data, dict):
            raise UsageError(f"settings file {args.settings} must hold a JSON object; "
                             "expected {\"segmentation\": {...}, \"background\": {...}}")
        try:
            base = Settings.from_dict(data)
        except SettingsError as exc:  # includes sections and values of the wrong JSON type
            raise UsageError(f"settings file {args.settings}: {exc}") from None

    check_flags(args)
    seg: Dict[str, Any] = dataclasses.asdict(base.segmentation)
    for key in ("model", "analysis_width", "smoothing", "threshold", "softness", "refine"):
        value = getattr(args, key)
        if value is not None:
            seg[key] = value
    bg: Dict[str, Any] = dataclasses.asdict(base.background)
    if args.background_image is not None:
        bg["image"] = args.background_image
    if args.background_color is not None:
        bg["color"] = args.background_color
    if args.hologram_color is not None:
        bg["hologram_color"] = args.hologram_color
    if args.blur is not None:
        bg["blur"] = args.blur
    if args.background is not None:
        bg["mode"] = args.background
    elif not args.settings:
        bg["mode"] = ("image" if args.background_image else "color" if args.background_color
                      else "none" if face_or_hand_effect_requested(args) else "blur")
    if bg["mode"] == "image" and not bg["image"]:
        raise UsageError("--background image needs --background-image PATH (a PNG, JPEG, BMP, WebP, TIFF or GIF picture)")
    return base.replace(segmentation=SegmentationSettings(**seg), background=BackgroundSettings(**bg),
                        gestures=gesture_settings_from_args(args, base.gestures),
                        faces=face_settings_from_args(args, base.faces),
                        expressions=expression_settings_from_args(args, base.expressions),
                        privacy=privacy_settings_from_args(args, base.privacy))


# --- face privacy flags ------------------------------------------------------------------------

PRIVACY_FLAGS = {"privacy": "style", "privacy_shape": "shape", "privacy_margin": "margin",
                 "privacy_color": "color", "privacy_image": "image", "privacy_block": "block",
                 "privacy_blur": "blur", "keep_face": "keep_face", "privacy_thorough": "full_analysis"}


def add_privacy_arguments(p: argparse.ArgumentParser) -> None:
    from .settings import KEEP_FACES, PRIVACY_SHAPES, PRIVACY_STYLES

    g = p.add_argument_group("face privacy (see README: Face privacy)")
    g.add_argument("--privacy", metavar="STYLE", choices=PRIVACY_STYLES,
                   help=f"hide every face: one of {{{','.join(PRIVACY_STYLES)}}} (plate = the captured "
                        "background: --plate PATH, or the preview's p key)")
    g.add_argument("--privacy-shape", metavar="SHAPE", choices=PRIVACY_SHAPES,
                   help="ellipse (default) or rect")
    g.add_argument("--privacy-margin", metavar="0..1", type=_number(float, "a number from 0 to 1"),
                   help="extra cover around each face, as a fraction of its size (default 0.25)")
    g.add_argument("--privacy-blur", metavar="STRENGTH", type=_number(float, "a number from 1 to 100"),
                   help="blur strength of the face covers, 1..100 (default 70)")
    g.add_argument("--privacy-block", metavar="N", type=_number(int, "a whole number of pixels"),
                   help="pixelate block size in pixels, 2..128 (default 16; larger on big faces)")
    g.add_argument("--privacy-color", metavar="#RRGGBB", help="colour of --privacy color (default #000000)")
    g.add_argument("--privacy-image", metavar="PATH",
                   help="picture for --privacy emoji (an RGBA .png; default the bundled neutral emoji)")
    g.add_argument("--privacy-thorough", action="store_const", const=True, default=None,
                   help="a camera: analyse every frame as recordings are (both face detectors, "
                        "overlapping tiles, every face meshed), so small faces coming in at the edges "
                        "are found sooner; several times the analysis cost (recordings always are)")
    g.add_argument("--keep-face", metavar="WHICH", choices=KEEP_FACES,
                   help="leave one face uncovered: none (default), largest or center")
    g.add_argument("--plate", metavar="PATH",
                   help="the empty scene as a picture, for --privacy plate (rescaled to the frame)")


def privacy_requested(args: argparse.Namespace) -> bool:
    return getattr(args, "privacy", None) not in (None, "off")


def face_or_hand_effect_requested(args: argparse.Namespace) -> bool:
    """Face privacy, expression emojis or gesture stickers asked for on the command line: the
    background is then left as it is unless a --background flag asks for one (blur is the
    default only of a plain background run)."""
    return (privacy_requested(args) or getattr(args, "expressions", None) not in (None, "off")
            or bool(getattr(args, "gestures", None)))


def privacy_settings_from_args(args: argparse.Namespace, base: Any) -> Any:
    """The privacy section from the --privacy flags over the settings file's; a --privacy-*
    flag without --privacy (and no style in the settings file) turns blur on."""
    from .settings import PrivacySettings, SettingsError

    given = {field: getattr(args, flag) for flag, field in PRIVACY_FLAGS.items()
             if getattr(args, flag, None) is not None}
    if getattr(args, "plate", None) and "style" not in given and not base.active:
        given["style"] = "plate"
    if not given:
        return base
    if "style" not in given and not base.active:
        given["style"] = ("emoji" if "image" in given else "color" if "color" in given
                          else "pixelate" if "block" in given else "blur")
    for flag, field in PRIVACY_FLAGS.items():
        if field in given and field != "style":
            try:
                PrivacySettings(**{field: given[field]})
            except SettingsError as exc:
                raise UsageError(f"--{flag.replace('_', '-')}: {exc}") from None
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields.update(given)
    try:
        return PrivacySettings(**fields)
    except SettingsError as exc:
        raise UsageError(f"--privacy: {exc}") from None


def check_privacy_inputs(settings: Any, args: argparse.Namespace) -> Any:
    """Decode the cover picture and the plate once, before any work: a bad file is one line.
    Returns the plate (RGB array) or None."""
    from .imageio import MediaError, load_image_rgb

    p = settings.privacy
    if p.active and p.style == "emoji" and p.image:
        check_sticker_image(p.image, flag="--privacy-image" if getattr(args, "privacy_image", None)
                            else f"settings file {args.settings}: privacy image", need_alpha=False)
    path = getattr(args, "plate", None)
    if not path:
        return None
    if not p.active:
        raise UsageError("--plate needs face privacy on (--privacy plate)")
    try:
        return load_image_rgb(path)
    except MediaError as exc:
        raise UsageError(f"--plate: {exc}") from None


# Larger sticker pictures are refused: they cost memory and time in every frame that shows one.
MAX_STICKER_SIDE = 2048


def check_sticker_image(path: str, flag: str = "--sticker", need_alpha: bool = True) -> None:
    """Decode a sticker (or emoji, or privacy cover) picture once, so a bad file is one clear
    message before any work; `flag` names where the path came from; need_alpha=False accepts
    an opaque picture (a privacy cover need not be transparent)."""
    import cv2
    import numpy as np

    expected = f"expected an RGBA .png of at most {MAX_STICKER_SIDE}x{MAX_STICKER_SIDE} pixels"
    if not os.path.isfile(path):
        raise UsageError(f"{flag}: {path}: no such file; {expected}")
    try:
        with open(path, "rb") as fh:
            data = np.frombuffer(fh.read(), np.uint8)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}; {expected}") from None
    head = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if head is None or not bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
        raise UsageError(f"{flag}: {path} is not a readable PNG picture; {expected}")
    h, w = head.shape[:2]
    if max(w, h) > MAX_STICKER_SIDE:
        raise UsageError(f"{flag}: {path} is {w}x{h}, too large; {expected}")
    if need_alpha and (head.ndim != 3 or head.shape[2] != 4):
        raise UsageError(f"{flag}: {path} has no alpha channel; {expected} (a transparent background)")


def _sticker_effect(spec: str, enabled: Sequence[str]) -> Any:
    from . import animations
    from .settings import ANIMATIONS, GestureEffect, SettingsError

    gesture, sep, value = spec.partition("=")
    gesture, value = gesture.strip(), value.strip()
    if not sep or not gesture or not value:
        raise UsageError(f"--sticker {spec!r}: expected GESTURE=PATH_OR_NAME, e.g. thumbs_up=star.png or "
                         f"victory=confetti")
    try:
        if value in ANIMATIONS:
            return GestureEffect(gesture, placement="fullscreen", animation=value)
        if value.lower().endswith(".png"):
            check_sticker_image(value)
            return GestureEffect(gesture, sticker=os.path.abspath(value), animation="")
        if os.path.exists(value) or os.sep in value or "." in value:
            raise UsageError(f"--sticker {spec!r}: {value} is not a .png; expected an RGBA .png, a bundled "
                             f"sticker name or an animation ({', '.join(ANIMATIONS)})")
        builtin = animations.image_path(value + ".png") if hasattr(animations, "image_path") else ""
        if not builtin or not os.path.isfile(builtin):
            from .settings import BUILTIN_GESTURES
            raise UsageError(f"--sticker {spec!r}: no bundled sticker named {value!r}; expected a .png path, "
                             f"one of {', '.join(BUILTIN_GESTURES)} or an animation ({', '.join(ANIMATIONS)})")
        return GestureEffect(gesture, sticker=value, animation="")
    except SettingsError as exc:
        raise UsageError(f"--sticker {spec!r}: {exc}") from None


def gesture_settings_from_args(args: argparse.Namespace, base: Any) -> Any:
    """The gestures section from --gestures/--sticker/--gesture-model over the settings file's.
    A --sticker or --gesture-model alone turns gestures on (with every built-in gesture)."""
    from .settings import BUILTIN_GESTURES, GestureSettings, SettingsError

    wanted = getattr(args, "gestures", None)
    stickers = list(getattr(args, "sticker", None) or ())
    model = getattr(args, "gesture_model", None)
    labels = getattr(args, "gesture_labels", None)
    if labels and not model:
        raise UsageError("--gesture-labels needs --gesture-model PATH (a .tflite gesture model)")
    if wanted is None and not stickers and not model:
        return base
    fields: Dict[str, Any] = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields["enabled"] = True
    names = list(base.gestures if base.enabled else BUILTIN_GESTURES)
    if wanted not in (None, "all"):
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        if not names:
            raise UsageError(f"--gestures {wanted!r}: expected a comma-separated list of gesture names "
                             f"({', '.join(BUILTIN_GESTURES)}) or nothing for all")
    flag = "--gesture-model"
    if not model:
        from .teach import model_paths
        taught = model_paths()   # gestures taught with `facefx teach` work without a flag
        if taught:
            model, labels, flag = taught[0], taught[1], f"taught gestures ({taught[0]})"
    if model:
        from .analysis.classifiers import GestureModelError, is_none_label, load_gesture_model
        try:
            classifier = load_gesture_model(model, labels)
        except GestureModelError as exc:
            raise UsageError(f"{flag}: {exc}") from None
        fields["model"], fields["labels"] = os.path.abspath(model), os.path.abspath(labels) if labels else ""
        custom = [label for label in classifier.labels if not is_none_label(label)]
        if wanted in (None, "all"):
            names = custom + [n for n in names if n not in custom]
    effects = {e.gesture: e for e in base.effects}
    for spec in stickers:
        effect = _sticker_effect(spec, names)
        effects[effect.gesture] = effect
        if effect.gesture not in names:
            names.append(effect.gesture)
    fields["gestures"] = tuple(dict.fromkeys(names))
    fields["effects"] = tuple(effects.values())
    try:
        return GestureSettings(**fields)
    except SettingsError as exc:
        raise UsageError(f"--gestures: {exc}") from None


def face_settings_from_args(args: argparse.Namespace, base: Any) -> Any:
    """The faces section from --max-faces/--face-detector over the settings file's."""
    from .settings import FaceSettings, SettingsError

    fields: Dict[str, Any] = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    for key, flag in (("max_faces", "--max-faces"), ("detector", "--face-detector")):
        value = getattr(args, key if key != "detector" else "face_detector", None)
        if value is None:
            continue
        try:
            FaceSettings(**{key: value})
        except SettingsError as exc:
            raise UsageError(f"{flag}: {exc}") from None
        fields[key] = value
    return FaceSettings(**fields)


def _emoji_spec(spec: str) -> Tuple[str, str]:
    label, sep, path = spec.partition("=")
    label, path = label.strip(), path.strip()
    if not sep or not label or not path:
        raise UsageError(f"--emoji {spec!r}: expected LABEL=PATH, e.g. happy=my_happy.png")
    if not path.lower().endswith(".png"):
        raise UsageError(f"--emoji {spec!r}: {path} is not a .png; expected an RGBA .png picture")
    check_sticker_image(path, f"--emoji {label}")
    return label, os.path.abspath(path)


def expression_settings_from_args(args: argparse.Namespace, base: Any) -> Any:
    """The expressions section from --expressions/--expression-*/--emoji over the settings
    file's. A model, an --emoji or --expression-label alone turns emojis on (beside). The model
    and every emoji picture are loaded once here, so a bad file is one line naming the flag
    (or the settings file) before any work."""
    from .settings import ExpressionSettings, SettingsError

    mode = getattr(args, "expressions", None)
    model = getattr(args, "expression_model", None)
    labels = getattr(args, "expression_labels", None)
    specs = list(getattr(args, "emoji", None) or ())
    label = getattr(args, "expression_label", None)
    if labels and not model:
        raise UsageError("--expression-labels needs --expression-model PATH (a .tflite expression model)")
    fields: Dict[str, Any] = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    from_file = f"settings file {args.settings}: " if getattr(args, "settings", None) else ""
    if mode is not None:
        fields["mode"] = mode
    elif (model or specs or label) and not base.active:
        fields["mode"] = "beside"
    if label is not None:
        fields["label"] = label
    if model:
        fields["model"], fields["labels"] = os.path.abspath(model), os.path.abspath(labels) if labels else ""
        where = "--expression-model"
    else:
        where = f"{from_file}expression model"
    emojis = dict(fields["emojis"])
    if fields["mode"] != "off":
        for name, path in emojis.items():    # from the settings file
            check_sticker_image(path, f"{from_file}emoji for {name!r}")
        if fields["model"]:
            from .analysis.expressions import ExpressionModel
            from .analysis.tflite import ModelError
            try:
                ExpressionModel(fields["model"], fields["labels"] or None)
            except ModelError as exc:   # ExpressionModelError too: the layout or the labels
                raise UsageError(f"{where}: {exc}") from None
    for spec in specs:
        name, path = _emoji_spec(spec)
        emojis[name] = path
    fields["emojis"] = tuple(emojis.items())
    try:
        return ExpressionSettings(**fields)
    except SettingsError as exc:
        raise UsageError(f"--expressions: {exc}") from None


# Flags that set one settings field: (section, field) -> flag.
FIELD_FLAGS = {
    ("segmentation", "model"): "--model", ("segmentation", "analysis_width"): "--analysis-width",
    ("segmentation", "smoothing"): "--smoothing", ("segmentation", "threshold"): "--threshold",
    ("segmentation", "softness"): "--softness", ("background", "image"): "--background-image",
    ("background", "color"): "--background-color", ("background", "hologram_color"): "--hologram-color",
    ("background", "blur"): "--blur",
}


def check_flags(args: argparse.Namespace) -> None:
    """Check each flag on its own, so an out-of-range value or a bad colour is reported with
    the flag that carried it (Settings itself knows only the field)."""
    from .settings import BackgroundSettings, SegmentationSettings, SettingsError

    for (section, field), flag in FIELD_FLAGS.items():
        value = getattr(args, field if section == "segmentation" else
                        {"image": "background_image", "color": "background_color"}.get(field, field))
        if value is None:
            continue
        try:
            (SegmentationSettings if section == "segmentation" else BackgroundSettings)(**{field: value})
        except SettingsError as exc:
            raise UsageError(f"{flag}: {exc}") from None


def check_background_image(settings: Any, args: Optional[argparse.Namespace] = None) -> None:
    """Load the background picture once up front so a bad file is reported before any work,
    naming where the path came from (the flag, or the settings file)."""
    from .imageio import MediaError, load_image_rgb

    bg = settings.background
    if bg.image and bg.mode in ("image", "hologram"):
        try:
            load_image_rgb(bg.image)
        except MediaError as exc:
            if args is not None and args.background_image is None and args.settings:
                raise UsageError(f"settings file {args.settings}: background image: {exc}") from None
            raise UsageError(f"--background-image: {exc}") from None


# --- process -----------------------------------------------------------------------------------

def cmd_process(args: argparse.Namespace) -> int:
    from .io.virtualcam import VirtualCameraSink

    quiet_native_logs()
    settings = settings_from_args(args)
    check_background_image(settings, args)
    plate = check_privacy_inputs(settings, args)

    from .io.pipeline import Pipeline, Processor
    from .io.progress import Progress
    from .io.outputs import resolve_output
    from .io.sources import FolderSource, ImageSource, open_source
    if args.loop is not None and args.output:
        raise UsageError("--loop shows the pictures endlessly in the preview window; leave out -o OUTPUT")
    with quiet_stderr(not args.verbose):
        source = open_source(args.input, camera_size=args.camera_size, camera_fps=args.fps)
    if args.loop is not None:
        if not source.stills:
            source.close()
            raise UsageError(f"--loop: {args.input} is not a picture or a folder of pictures; expected one image "
                             "or a folder (a camera or video plays on by itself)")
        from .io.sources import LoopSource
        source = LoopSource(source)
    sink = None
    processor = None
    try:
        alpha = settings.background.mode == "transparent"
        mirror = args.mirror if args.mirror is not None else source.live
        input_path = args.input if os.path.exists(args.input) else None
        sink = resolve_output(args.output, source, alpha=alpha, input_path=input_path,
                              max_frames=args.max_frames, mirror=mirror, fps=args.fps)
        sink.open(source.size, source.fps)
        if settings.privacy.active and not source.live:
            # Recordings: accuracy over speed (every frame fully analysed, see FacesStage).
            settings = settings.replace(privacy=dataclasses.replace(settings.privacy, full_analysis=True))
        with quiet_stderr(not args.verbose):   # LiteRT announces its delegate when a model loads
            processor = Processor(settings)
        if plate is not None:
            processor.set_plate(plate)
        if settings.stages() or sink.main_thread:  # the preview can switch effects on
            with quiet_stderr(not args.verbose):
                processor.warm_up(source.size or (640, 360), still=source.stills)
        total = source.frame_count
        if total is not None and args.max_frames:
            total = min(total, args.max_frames)
        unit = "pictures" if source.stills else "frames"
        show_progress = not args.quiet and not sink.main_thread
        progress = Progress(total, unit, enabled=None if show_progress else False)

        def report(failure: Any) -> None:
            if isinstance(getattr(source, "inner", source), FolderSource):  # a single picture's failure ends the run below
                detail = failure.message if failure.name in failure.message else f"{failure.name}: {failure.message}"
                progress.note(f"facefx: failed: {detail}")

        pipeline = Pipeline(source, processor, sink, progress=progress, max_frames=args.max_frames,
                            on_failure=report, loop_seconds=args.loop)
        try:
            result = pipeline.run()
        finally:
            progress.close()
        sink.close()
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    finally:
        if processor is not None:
            processor.close()
        source.close()

    if isinstance(source, ImageSource) and result.failures:
        raise UsageError(result.failures[0].message)
    if not args.quiet:
        say(summary(sink, result, source))
        for name, out in getattr(sink, "renamed", ()):
            say(f"facefx: {name} written as {out} (another picture's output takes its usual name)")
    skipped = getattr(source, "skipped", [])
    if skipped:
        print(f"facefx: skipped {len(skipped)} file{'s' if len(skipped) != 1 else ''} that "
              f"{'are' if len(skipped) != 1 else 'is'} not a picture: {', '.join(skipped)}", file=sys.stderr)
    short = truncated_input(source, result, args.max_frames)
    if short:
        print(f"facefx: error: {short}", file=sys.stderr)
        return EXIT_USAGE
    if result.failures:
        print(f"facefx: error: {len(result.failures)} of {len(result.failures) + result.processed} "
              f"pictures failed: {', '.join(f.name for f in result.failures)}", file=sys.stderr)
        return EXIT_USAGE
    if result.stopped_by_user and not source.live and not sink.main_thread:
        return EXIT_INTERRUPTED
    if not sink.main_thread and not isinstance(sink, VirtualCameraSink) and not sink.written:
        return EXIT_INTERRUPTED if result.stopped_by_user else EXIT_FAILED
    return EXIT_OK


def say(text: str) -> None:
    """Print to stdout; a reader that went away (`facefx ... | head -0`) is not an error once the
    output file is written, so stdout is then pointed at the null device for the rest of the run."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def truncated_input(source: Any, result: Any, max_frames: Optional[int]) -> str:
    """A message when a video file ended well before the frame count its index promises (a
    truncated download or copy), else ''. Small differences are tolerated: some containers
    only estimate the count from the duration."""
    from .io.sources import VideoFileSource

    if not isinstance(source, VideoFileSource) or result.stopped_by_user:
        return ""
    expected = source.frame_count
    if expected is None:
        return ""
    if max_frames:
        expected = min(expected, max_frames)
    if expected - result.processed <= max(2, expected // 50):
        return ""
    return (f"{source.path} ended after {result.processed} of its {expected} frames (truncated or damaged?); "
            f"the output holds only those {result.processed} frames")


def summary(sink: Any, result: Any, source: Any) -> str:
    from .io.images import FolderSink
    from .io.virtualcam import VirtualCameraSink

    unit = "picture" if source.stills else "frame"
    n = result.processed
    what = f"{n} {unit}{'s' if n != 1 else ''}"
    rate = f", {result.fps:.1f} fps" if not source.stills and result.elapsed > 0 else ""
    dropped = f", {result.dropped} dropped" if result.dropped else ""
    stopped = " (stopped early)" if result.stopped_by_user else ""
    if sink.main_thread:
        return f"facefx: showed {what}{rate}{dropped}{stopped}"
    if not sink.written and not isinstance(sink, VirtualCameraSink):
        why = "stopped before any frame was done" if result.stopped_by_user else "no frame was processed"
        return f"facefx: wrote nothing ({why}; {sink.description} was not created)"
    if isinstance(sink, FolderSink) or len(sink.written) != 1:
        where = sink.description
    else:
        where = sink.written[0]
    verb = "sent" if isinstance(sink, VirtualCameraSink) else "wrote"
    return f"facefx: {verb} {where} ({what}{rate}{dropped}){stopped}"


# --- bench -------------------------------------------------------------------------------------

def cmd_bench(argv: Sequence[str]) -> int:
    """`facefx bench` lives in facefx/bench.py; import it only when asked (it is heavy)."""
    try:
        bench = importlib.import_module("facefx.bench")
    except ModuleNotFoundError as exc:
        if exc.name in ("facefx.bench",):
            raise UsageError("'facefx bench' is not available in this build (facefx/bench.py is missing)") from None
        raise
    rc = bench.main(list(argv))
    return int(rc or 0)


# --- entry point -------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    try:
        if argv and argv[0] == "bench":
            return cmd_bench(argv[1:])
        if argv and argv[0] == "eval":
            from .evaluate import main as eval_main
            return eval_main(argv[1:])
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser, pointing to its own --help
            prog = f"facefx {args.command}" if args.command else "facefx"
            print(f"{prog}: error: unrecognized arguments: {' '.join(extra)} (see '{prog} --help')",
                  file=sys.stderr)
            return EXIT_USAGE
        if args.command is None:
            parser.print_help()
            return EXIT_OK
        if args.command == "process":
            return cmd_process(args)
        if args.command == "teach":
            from .teach import run_cli as run_teach
            return run_teach(args)
        if args.command == "demo":
            from .demo import run_demo_cli
            return run_demo_cli(args)
        parser.error(f"unknown command {args.command!r}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("facefx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return report_error(exc, verbose)


def report_error(exc: BaseException, verbose: bool = False) -> int:
    """One line for the user; exit 2 for bad input, 1 for everything else."""
    from .imageio import MediaError
    from .settings import SettingsError

    user_errors: Tuple[type, ...] = (UsageError, SettingsError, MediaError)
    try:
        from .evaluate.expressions import EvalError
        from .analysis.expressions import ExpressionModelError
        user_errors += (EvalError, ExpressionModelError)
    except ImportError:  # pragma: no cover - broken install; reported below
        pass
    try:
        from .analysis import FrameError
        user_errors += (FrameError,)
    except ImportError:  # pragma: no cover - broken install; reported below
        pass
    if verbose:
        import traceback
        traceback.print_exc()
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, user_errors):
        print(f"facefx: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from .analysis.segmentation import ModelError
    except ImportError:  # pragma: no cover
        ModelError = ()  # type: ignore[misc,assignment]
    if isinstance(exc, ModelError):  # type: ignore[arg-type]
        print(f"facefx: error: {message}", file=sys.stderr)
        return EXIT_FAILED
    print(f"facefx: internal error: {type(exc).__name__}: {message} (run with --verbose for details)",
          file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
