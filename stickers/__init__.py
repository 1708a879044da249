"""FaceFX's bundled sticker artwork (shipped as package data `facefx.stickers`; see README.md here)."""
import os

DIR = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """Absolute path of a bundled sticker image, e.g. path('thumbs_up.png')."""
    return os.path.join(DIR, name)


def gesture(name: str) -> str:
    """The default sticker of a built-in gesture (a facefx.results.BUILTIN_GESTURES name)."""
    return path(f"{name}.png")


def emoji(expression: str) -> str:
    """The emoji of an expression (a facefx.results.EXPRESSIONS name)."""
    return path(os.path.join("emoji", f"{expression}.png"))
