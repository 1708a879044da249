"""Choosing the output for -o OUTPUT: which sink, and whether the combination can work.

Everything here runs before any model loads, so an impossible combination (transparency into
MP4, a video into a .png, a folder into one picture) is reported at once as one line naming
what would work.
"""
from __future__ import annotations

import os
from typing import Optional

from . import SinkError
from .images import ALPHA_IMAGE_EXTENSIONS, IMAGE_WRITE_EXTENSIONS, FolderSink, ImageSink
from .preview import PreviewSink
from .sink import FrameSink
from .sources import FolderSource, FrameSource
from .video import VIDEO_EXTENSIONS, VideoSink
from .virtualcam import VIRTUALCAM, VirtualCameraSink


def output_kind(output: Optional[str]) -> str:
    """'preview', 'virtualcam', 'folder', 'image' or 'video' for an -o value."""
    if output is None:
        return "preview"
    if output.lower() == VIRTUALCAM:
        return "virtualcam"
    if os.path.isdir(output) or output.endswith(("/", os.sep)):
        return "folder"
    ext = os.path.splitext(output)[1].lower()
    if ext in IMAGE_WRITE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext == "":
        return "folder"
    raise SinkError(f"cannot tell what to write for {output}: unknown extension {ext!r}; expected an image "
                    f"({', '.join(IMAGE_WRITE_EXTENSIONS)}), a video ({', '.join(VIDEO_EXTENSIONS)}), "
                    f"a folder, or {VIRTUALCAM}")


def _same_path(a: str, b: str) -> bool:
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def resolve_output(output: Optional[str], source: FrameSource, *, alpha: bool, input_path: Optional[str] = None,
                   max_frames: Optional[int] = None, mirror: bool = False, fps: Optional[float] = None) -> FrameSink:
    """Choose and check the sink for -o OUTPUT given the opened source. Raises SinkError for
    combinations that cannot work, naming what would."""
    kind = output_kind(output)
    is_folder_input = isinstance(source, FolderSource)
    single_image = source.stills and not is_folder_input
    if input_path and output and _same_path(input_path, output):
        raise SinkError(f"output {output} is the input; expected a different path so the original is kept")

    if kind == "preview":
        return PreviewSink(mirror=mirror, stills=source.stills)
    if kind == "virtualcam":
        if source.stills:
            raise SinkError("virtualcam output needs a camera or video input; expected -o PICTURE.png or a folder for pictures")
        if alpha:
            raise SinkError("a virtual camera cannot carry transparency; expected another --background mode "
                            "(e.g. color) for virtualcam output")
        return VirtualCameraSink(pace=not source.live, fps=fps)
    assert output is not None
    if kind == "folder":
        folder = FolderSink(output, alpha=alpha)
        if is_folder_input:
            folder.plan(source.files)
        elif single_image and input_path:
            folder.plan([input_path])
        return folder
    ext = os.path.splitext(output)[1].lower()
    if kind == "image":
        if not single_image:
            what = "a folder input" if is_folder_input else "a video or camera input"
            expected = "an output folder" if is_folder_input else \
                f"a video file ({', '.join(VIDEO_EXTENSIONS)}), a folder (one PNG per frame) or {VIRTUALCAM}"
            raise SinkError(f"cannot write {what} to the single image {output}; expected {expected}")
        if alpha and ext not in ALPHA_IMAGE_EXTENSIONS:
            raise SinkError(f"{ext} images cannot store transparency; expected {', '.join(ALPHA_IMAGE_EXTENSIONS)} "
                            "for --background transparent")
        return ImageSink(output)
    # video
    if source.stills:
        what = "a folder of pictures" if is_folder_input else "a picture"
        expected = "an output folder" if is_folder_input else f"an image file ({', '.join(IMAGE_WRITE_EXTENSIONS)})"
        raise SinkError(f"cannot write {what} to the video {output}; expected {expected}")
    audio_from = input_path if input_path and os.path.isfile(input_path) else None
    duration = (max_frames / source.fps) if (max_frames and audio_from and not getattr(source, "variable_rate", False)) else None
    timed = source.live or getattr(source, "variable_rate", False)
    return VideoSink(output, alpha=alpha, audio_from=audio_from, duration=duration, realtime=timed)
