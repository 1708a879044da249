"""Face privacy in the OBS filter fails closed: when the filter cannot trust its analysis for
the frame it is about to show, the whole frame is covered.

The Scene covers faces from results; only the filter knows the things that make those results
untrustworthy for the frame on screen - the worker's state, how many frames old the newest
result is, that the source changed resolution, that the settings changed, that this filter
(or the script) has just been created. PrivacyGuard turns them into one reason (for the
Scene's set_stale() and the status line), or "" when the results can be used.

Standard library only; no OBS calls (tests drive it directly).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple

from ..scene import Cover

FULL_FRAME_SIGMA = 0.06      # the whole-frame blur's sigma, as a fraction of the frame's long side
MIN_FULL_FRAME_SIGMA = 12.0


class PrivacyGuard:
    """Per-filter fail-closed state. Graphics thread, except reset() (any thread: one
    assignment of a tuple)."""

    def __init__(self) -> None:
        # A result counts only if it was analysed from a frame after `_after` (frame seq);
        # `_why` says what we are waiting for.
        self._pending: Tuple[int, str] = (0, "waiting for the first analysis result")
        self._size: Optional[Tuple[int, int]] = None

    def reset(self, frame_seq: int, why: str) -> None:
        """Results from frames up to frame_seq no longer count (settings changed, ...)."""
        self._pending = (frame_seq, why)

    def reason(self, *, worker_state: str, frame_seq: int, shown_seq: int,
               result_frame_seq: Optional[int], size: Tuple[int, int], stale_frames: int) -> str:
        """Why the whole frame must be covered now, or "".

        frame_seq: this frame's number; shown_seq: the number of the frame shown (older with
        "keep mask in sync"); result_frame_seq: the frame the newest result was analysed from
        (None: no result yet); stale_frames: the most frames a result may lag the shown one."""
        if self._size != size:
            if self._size is not None:
                self.reset(frame_seq - 1, "the source resolution changed to %dx%d" % size)
            self._size = size
        after, why = self._pending
        if worker_state != "running":
            return "the analysis worker is %s" % worker_state
        if result_frame_seq is None or result_frame_seq <= after:
            return why
        lag = shown_seq - result_frame_seq
        if lag > stale_frames:
            return "analysis is %d frames behind (more than %d)" % (lag, stale_frames)
        return ""


def full_frame_cover(privacy: Any, width: int, height: int, plate: bool) -> Cover:
    """The whole-frame cover: the plate when the style is 'plate' and one is captured, else a
    strong blur (settings.PrivacySettings.blur scales it)."""
    style = "plate" if privacy.style == "plate" and plate else "blur"
    sigma = max(MIN_FULL_FRAME_SIGMA, FULL_FRAME_SIGMA * max(width, height) * max(0.5, privacy.blur / 100.0))
    return Cover(width / 2.0, height / 2.0, float(width), float(height), "rect", style, sigma,
                 tuple(privacy.color))


def covers_frame(cover: Any, width: int, height: int) -> bool:
    """True when an unrotated rect cover spans the whole frame."""
    return (cover.shape == "rect" and not cover.rotation
            and cover.x - cover.width / 2.0 <= 0.0 and cover.x + cover.width / 2.0 >= width
            and cover.y - cover.height / 2.0 <= 0.0 and cover.y + cover.height / 2.0 >= height)


def ensure_covered(plan: Any, privacy: Any, reason: str, plate: bool) -> Any:
    """The plan with a whole-frame cover first when `reason` says the frame must be covered
    and the Scene's plan has none (a Scene that does not know the reason, or an older one),
    and with `reason` as its notice."""
    if not reason:
        return plan
    covers = tuple(plan.covers)
    if not any(covers_frame(c, plan.width, plan.height) for c in covers):
        covers = (full_frame_cover(privacy, plan.width, plan.height, plate),) + covers
    notice = plan.notice or ("privacy: whole frame covered, %s" % reason)
    return dataclasses.replace(plan, covers=covers, notice=notice)
