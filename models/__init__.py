"""FaceFX's bundled model files (shipped as package data `facefx.models`; see README.md here)."""
import os

DIR = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """Absolute path of a bundled model file, e.g. path('fer_emotion/model.tflite')."""
    return os.path.join(DIR, name)
