"""Frame sources, frame sinks, the processing pipeline and progress reporting for the command line.

Sources (camera, video file, image, folder of images, synthetic) and sinks (preview window,
image, folder, video file, virtual camera) share small interfaces so the pipeline treats them
alike and tests can replace the camera with a synthetic source. One module per concern:

    sources.py     every input: camera, video file, picture, folder, synthetic camera
    sink.py        the FrameSink interface and the output path check
    images.py      picture and folder writers
    video.py       video files: FFmpeg codec and audio policy, the encoding sink
    ffmpeg.py      the bundled FFmpeg binary and its stream probe
    virtualcam.py  the virtual camera (pyvirtualcam)
    preview.py     the preview window and its keys
    outputs.py     choosing and checking the sink for -o OUTPUT
    pipeline.py    the threaded decode -> analyse/render -> encode loop
    progress.py    the progress bar Errors raised here are
MediaError subclasses whose message names the file or device and the expected form; the command
line prints them as one line.
"""
from __future__ import annotations

from ..imageio import MediaError


class SourceError(MediaError):
    """An input (file, folder, camera) cannot be read."""


class SinkError(MediaError):
    """An output (file, folder, window, virtual camera) cannot be written or opened."""


__all__ = ["MediaError", "SourceError", "SinkError"]
