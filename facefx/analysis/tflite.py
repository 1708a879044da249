"""TFLite models: the runtime (ai-edge-litert, else tflite-runtime) and the models bundled in
the installed MediaPipe wheel. Nothing is downloaded: a model is a file that is already here."""
from __future__ import annotations

import importlib.util
import os
from typing import Any


class ModelError(RuntimeError):
    """A model could not be loaded; the message says which and what to install."""


def interpreter_class() -> Any:
    """LiteRT's Interpreter (ai-edge-litert, the successor of tflite-runtime), or
    tflite-runtime's on Python versions LiteRT has no wheels for."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter
    except ImportError:
        raise ModelError("no TFLite runtime is installed; expected ai-edge-litert (or tflite-runtime): "
                         "pip install -e .") from None


def load_interpreter(path: str, *, num_threads: int = 1) -> Any:
    """An Interpreter for the model file with tensors allocated."""
    if not os.path.isfile(path):
        raise ModelError(f"model file not found: {path} (expected a .tflite file)")
    from ..nativelogs import quiet_stderr
    cls = interpreter_class()
    try:
        # LiteRT announces its CPU delegate on stderr when the first model loads; a failure is
        # raised here and reported by FaceFX in a message of its own
        with quiet_stderr():
            interpreter = cls(model_path=path, num_threads=num_threads)
            interpreter.allocate_tensors()
    except ModelError:
        raise
    except Exception as exc:  # corrupt file, unsupported op or op version
        raise ModelError(f"cannot load TFLite model {path}: {str(exc).strip().splitlines()[0]}") from None
    return interpreter


def mediapipe_model(relative: str) -> str:
    """Path of a model file inside the installed mediapipe package (found without importing
    mediapipe, which costs half a second)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("MediaPipe is not installed; its wheel carries FaceFX's segmentation models: "
                         "pip install -e .")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, relative)
        if os.path.isfile(path):
            return path
    raise ModelError(f"mediapipe/{relative} is missing from the installed MediaPipe; "
                     "reinstall it: pip install --force-reinstall mediapipe==0.10.21")
