"""Picture outputs: one image file, or a folder of them (one per picture or per video frame).

The format follows the extension. PNG, WebP and TIFF keep the alpha channel; JPEG and BMP
cannot, so a transparent run into them is refused when the output is chosen.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from . import SinkError
from .sink import FrameSink, check_writable_file, write_file_atomically
from .sources import Frame

IMAGE_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
ALPHA_IMAGE_EXTENSIONS = (".png", ".webp", ".tif", ".tiff")


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def encode_image(image: np.ndarray, ext: str) -> bytes:
    ext = ext.lower()
    params: List[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
        if image.shape[2] == 4:
            image = image[:, :, :3]
    elif ext == ".bmp" and image.shape[2] == 4:
        image = image[:, :, :3]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if image.shape[2] == 4 else 95]
    ok, buf = cv2.imencode(ext, to_bgr(np.ascontiguousarray(image)), params)
    if not ok:
        raise SinkError(f"cannot encode a {ext} image; expected one of {', '.join(IMAGE_WRITE_EXTENSIONS)}")
    return buf.tobytes()


def write_image(path: str, image: np.ndarray) -> None:
    write_file_atomically(path, encode_image(image, os.path.splitext(path)[1]))


class ImageSink(FrameSink):
    """One image file; the format follows the extension."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.description = path

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "ImageSink":
        check_writable_file(self.path)
        return self

    def write(self, frame: Frame, image: np.ndarray) -> None:
        write_image(self.path, image)
        self.frames += 1
        if self.path not in self.written:
            self.written.append(self.path)


class FolderSink(FrameSink):
    """A folder of images: pictures from a folder keep their names (and format where it can hold
    the result); video frames become frame_000001.png, ...

    plan(inputs) fixes every picture's output name before anything is written, so two inputs
    never share an output (x.jpg and x.png in a transparent run would both become x.png: the
    one that changes format is written as x-jpg.png instead, listed in `renamed`), and an
    output that would replace one of the inputs is refused up front.
    """

    def __init__(self, path: str, *, alpha: bool = False) -> None:
        super().__init__()
        self.path = path
        self.alpha = alpha
        self.description = path
        self.renamed: List[Tuple[str, str]] = []   # (input name, output name) moved aside
        self._planned: Dict[str, str] = {}

    def default_name(self, name: str) -> str:
        stem, ext = os.path.splitext(name)
        ext = ext.lower()
        if ext not in IMAGE_WRITE_EXTENSIONS or (self.alpha and ext not in ALPHA_IMAGE_EXTENSIONS):
            ext = ".png"
        return stem + ext

    def plan(self, inputs: Sequence[str]) -> "FolderSink":
        """Assign each input picture (a path) its own output name; raise SinkError when an
        output would overwrite an input. Names are compared case-insensitively, as macOS and
        Windows file systems do."""
        names = [os.path.basename(p) for p in inputs]
        wanted = {n: self.default_name(n) for n in names}
        # Pictures that keep their own name choose first; the ones changing format give way.
        order = sorted(names, key=lambda n: wanted[n].lower() != n.lower())
        taken: Dict[str, str] = {}
        planned: Dict[str, str] = {}
        renamed: List[Tuple[str, str]] = []
        for name in order:
            out = wanted[name]
            if out.lower() in taken:
                stem, ext = os.path.splitext(name)
                out_ext = os.path.splitext(out)[1]
                base = f"{stem}-{ext[1:].lower() or 'file'}"
                out, i = base + out_ext, 2
                while out.lower() in taken:
                    out, i = f"{base}-{i}{out_ext}", i + 1
                renamed.append((name, out))
            taken[out.lower()] = name
            planned[name] = out
        originals = {}
        for p in inputs:
            try:
                st = os.stat(p)
                originals[(st.st_dev, st.st_ino)] = p
            except OSError:
                continue
        for name, out in planned.items():
            target = os.path.join(self.path, out)
            try:
                st = os.stat(target)
            except OSError:
                continue
            hit = originals.get((st.st_dev, st.st_ino))
            if hit is not None:
                raise SinkError(f"writing {out} into {self.path} would overwrite the input {hit}; "
                                "expected an output folder other than the input's")
        self._planned = planned
        self.renamed = sorted(renamed)
        return self

    def open(self, size: Optional[Tuple[int, int]], fps: float) -> "FolderSink":
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise SinkError(f"output {self.path} is a file; expected a folder for this input")
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create output folder {self.path}: {exc.strerror or exc}") from None
        probe = os.path.join(self.path, ".facefx-write-test")
        try:
            with open(probe, "wb"):
                pass
            os.remove(probe)
        except OSError as exc:
            raise SinkError(f"cannot write into folder {self.path}: {exc.strerror or exc}") from None
        return self

    def name_for(self, frame: Frame) -> str:
        if frame.name:
            return self._planned.get(frame.name) or self.default_name(frame.name)
        return f"frame_{frame.index + 1:06d}.png"

    def write(self, frame: Frame, image: np.ndarray) -> None:
        path = os.path.join(self.path, self.name_for(frame))
        write_image(path, image)
        self.frames += 1
        self.written.append(path)

