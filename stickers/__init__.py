"""FaceFX's bundled sticker artwork (shipped as package data `facefx.stickers`; see README.md here)."""
import os

DIR = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """Absolute path of a bundled sticker image, e.g. path('thumbs_up.png')."""
    return os.path.join(DIR, name)
