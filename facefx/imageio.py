"""Loading user images (backgrounds, stickers) with errors that say what was wrong.

Formats are detected from the file's bytes by OpenCV, not from its extension. Grayscale,
16-bit and palette images are converted to 8-bit; alpha is kept only when asked for.
"""
from __future__ import annotations

import os

import cv2
import numpy as np


class MediaError(ValueError):
    """A file given to FaceFX cannot be used; the message names the file and the expected form."""


IMAGE_HINT = "a PNG, JPEG, BMP, WebP or TIFF picture"


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
    flags = cv2.IMREAD_UNCHANGED if keep_alpha else cv2.IMREAD_COLOR
    img = cv2.imdecode(data, flags)
    if img is None or img.size == 0:
        raise MediaError(f"{path} is not a readable image (corrupt or unsupported format); expected {IMAGE_HINT}")
    return to_rgb8(img, keep_alpha=keep_alpha, bgr=True)


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
