"""Loading user images (backgrounds, stickers) with errors that say what was wrong.

Formats are detected from the file's bytes by OpenCV, not from its extension. Grayscale,
16-bit and palette images are converted to 8-bit; alpha is kept only when asked for.

EXIF orientation (how a phone says "this photo was taken upright") is applied here for JPEG, PNG
and WebP alike: OpenCV applies it only to some formats and only in some read modes, so it is
always told to ignore it and the rotation is done once, from the file's own EXIF block.
"""
from __future__ import annotations

import os
import struct
from typing import Optional

import cv2
import numpy as np


class MediaError(ValueError):
    """A file given to FaceFX cannot be used; the message names the file and the expected form."""


IMAGE_HINT = "a PNG, JPEG, BMP, WebP, TIFF or GIF picture"


def load_image_rgb(path: str, *, keep_alpha: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB (or RGBA when keep_alpha and the file has alpha)."""
    if not path:
        raise MediaError(f"no image path given; expected {IMAGE_HINT}")
    if not os.path.exists(path):
        raise MediaError(f"image not found: {path} (expected {IMAGE_HINT})")
    if os.path.isdir(path):
        raise MediaError(f"{path} is a folder; expected {IMAGE_HINT}")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.size == 0:
        raise MediaError(f"{path} is empty; expected {IMAGE_HINT}")
    flags = cv2.IMREAD_UNCHANGED if keep_alpha else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    img = cv2.imdecode(data, flags)
    if (img is None or img.size == 0) and data[:4].tobytes() == b"GIF8":
        img = _first_gif_frame(path)
    if img is None or img.size == 0:
        raise MediaError(f"{path} is not a readable image (corrupt or unsupported format); expected {IMAGE_HINT}")
    return apply_orientation(to_rgb8(img, keep_alpha=keep_alpha, bgr=True), exif_orientation(data.tobytes()))


def is_gif(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"GIF8"
    except OSError:
        return False


def gif_frame_count(path: str) -> int:
    """Frames in a GIF (0 when unreadable). OpenCV's image decoder has no GIF support here, so
    GIFs go through its FFmpeg reader: one frame is a picture, more are a video."""
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT) if cap.isOpened() else 0
        return int(n) if n and n > 0 else 0
    finally:
        cap.release()


def _first_gif_frame(path: str) -> Optional[np.ndarray]:
    """The first frame of a GIF as BGR (a GIF used as a picture: background, folder item)."""
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        return frame if ok else None
    finally:
        cap.release()


def _exif_block(data: bytes) -> Optional[bytes]:
    """The TIFF-structured EXIF block of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk)."""
    if data[:3] == b"\xff\xd8\xff":
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
                return None
            size = struct.unpack(">H", data[pos + 2:pos + 4])[0]
            body = data[pos + 4:pos + 2 + size]
            if marker == 0xE1 and body.startswith(b"Exif\0\0"):
                return body[6:]
            pos += 2 + size
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        pos = 8
        while pos + 8 <= len(data):
            size, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if kind == b"eXIf":
                return data[pos + 8:pos + 8 + size]
            if kind == b"IEND":
                return None
            pos += 12 + size
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        pos = 12
        while pos + 8 <= len(data):
            kind, size = struct.unpack("<4sI", data[pos:pos + 8])
            if kind == b"EXIF":
                body = data[pos + 8:pos + 8 + size]
                return body[6:] if body.startswith(b"Exif\0\0") else body
            pos += 8 + size + (size & 1)
    return None


def exif_orientation(data: bytes) -> int:
    """EXIF orientation 1..8 of an encoded picture (1, upright, when absent or unreadable)."""
    tiff = _exif_block(data)
    if not tiff or len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    end = "<" if tiff[:2] == b"II" else ">"
    try:
        ifd = struct.unpack(end + "I", tiff[4:8])[0]
        count = struct.unpack(end + "H", tiff[ifd:ifd + 2])[0]
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, kind = struct.unpack(end + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:  # Orientation, a SHORT
                value = struct.unpack(end + "H", entry[8:10])[0]
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a picture stored with EXIF orientation 1..8 upright (as viewers show it)."""
    if orientation == 2:
        img = cv2.flip(img, 1)
    elif orientation == 3:
        img = cv2.rotate(img, cv2.ROTATE_180)
    elif orientation == 4:
        img = cv2.flip(img, 0)
    elif orientation == 5:
        img = cv2.transpose(img)
    elif orientation == 6:
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        img = cv2.rotate(cv2.transpose(img), cv2.ROTATE_180)
    elif orientation == 8:
        img = cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(img)


def to_rgb8(img: np.ndarray, *, keep_alpha: bool = False, bgr: bool = False) -> np.ndarray:
    """Normalise any decoded image (gray, 16-bit, float, BGR(A)) to uint8 RGB or RGBA."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise MediaError(f"unsupported pixel type {img.dtype}; expected 8- or 16-bit images")
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    if channels == 1:
        code = cv2.COLOR_GRAY2RGBA if keep_alpha else cv2.COLOR_GRAY2RGB
        return cv2.cvtColor(img, code)
    if channels == 3:
        if keep_alpha:
            return cv2.cvtColor(img, cv2.COLOR_BGR2RGBA if bgr else cv2.COLOR_RGB2RGBA)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if bgr else np.ascontiguousarray(img)
    if channels == 4:
        if keep_alpha:
            return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA) if bgr else np.ascontiguousarray(img)
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
    raise MediaError(f"unsupported image with {channels} channels; expected 1, 3 or 4")


def cover_fit(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height without distortion, cropping the overflow centred."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, int(round(w * scale))), max(height, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(img, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])
