"""Heads from the person mask: where face privacy covers a head that no face detector found.

A face turned away, in profile, blurred by motion or too small for the detectors still shows
in the person mask as the top of a blob. The mask's top profile (for each column, the first
person row) has a peak at each head: starting at the highest column, the head is the run of
columns whose top lies within a growing depth of the peak, until the run jumps wider (the
shoulders) or gets as deep as a head is tall. A peak counts only when the profile falls
away on both sides of its run (or the run meets the frame edge), so shoulders next to a
head, which rise into the head, are not heads themselves. Runs over the mask at analysis size
(about 256x144): well under a millisecond.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from . import Analysis, Stage

Box = Tuple[float, float, float, float]

MASK_LEVEL = 128           # mask value taken as person
MIN_BLOB = 0.01            # blobs smaller than this fraction of the frame are not people
MIN_HEAD = 0.025           # narrower than this fraction of the width is not a head (a finger)
MAX_HEADS = 8
SHOULDER_JUMP = 1.6        # the run widening this much at once is the shoulders starting
HEAD_ASPECT = 1.3          # head height / width (hair to chin)
PLATEAU_GROWTH = 1.15     # once the sides are reached, widening by this much is the shoulders
FLAT_TOP = 0.8             # a run this wide one row below its peak has a flat top
PROMINENCE = 0.35          # the profile beside a head must fall by this fraction of its width


def head_boxes(mask: np.ndarray, *, max_heads: int = MAX_HEADS) -> List[Box]:
    """Head boxes (x, y, w, h normalised to the mask) from a uint8 person mask (255 = person)."""
    if mask is None or mask.ndim != 2 or mask.size == 0:
        return []
    h, w = mask.shape
    person = (mask >= MASK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
    out: List[Box] = []
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < MIN_BLOB * h * w:
            continue
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        blob = labels[by:by + bh, bx:bx + bw] == i
        has = blob.any(axis=0)
        top = np.where(has, blob.argmax(axis=0), bh).astype(np.int32)
        blocked = np.zeros(bw, bool)
        for _ in range(max_heads):
            if len(out) >= max_heads:
                return out
            free = np.where(blocked | ~has, bh + 1, top)
            xp = int(free.argmin())
            yp = int(free[xp])
            if yp >= bh:
                break
            box = _grow(top, blocked, xp, yp, bh, cut_at_top=by + yp == 0)
            if box is None:
                blocked[xp] = True
                continue
            x0, x1, depth, ok = box
            blocked[x0:x1] = True
            hw = x1 - x0
            if not ok or hw < MIN_HEAD * w:
                continue
            hh = min(HEAD_ASPECT * hw, bh - yp)
            out.append(((bx + x0) / w, (by + yp) / h, hw / w, hh / h))
    return out


def _grow(top: np.ndarray, blocked: np.ndarray, xp: int, yp: int, bh: int, *,
          cut_at_top: bool = False) -> Optional[Tuple[int, int, int, bool]]:
    """The head run around the peak (xp, yp): (x0, x1, depth, prominent)."""
    n = len(top)
    prev = 1
    x0, x1 = xp, xp + 1
    depth = 0
    plateau = 0          # the run's width once it stopped widening (the sides of the head)
    first = 0            # the run's width one row below the peak (a head's top is round)
    # The run around xp within depth d reaches as far as the running maximum of the profile
    # (walking out from xp) stays within yp + d: both maxima are non-decreasing, so each depth
    # is two binary searches instead of a walk over the columns.
    t = np.where(blocked, np.iinfo(np.int32).max, top)
    left = np.maximum.accumulate(t[xp::-1])
    right = np.maximum.accumulate(t[xp:])
    thr = yp + np.arange(1, bh - yp + 1)
    starts = (xp + 1 - np.searchsorted(left, thr, side="right")).tolist()
    ends = (xp + np.searchsorted(right, thr, side="right")).tolist()
    for d, a, b in zip(range(1, bh - yp + 1), starts, ends):
        width = b - a
        first = first or width
        if width > SHOULDER_JUMP * prev and d > 0.4 * prev and prev >= 3:
            break                                   # the shoulders, all at once
        if plateau and width > PLATEAU_GROWTH * plateau:
            break                                   # the shoulders, sloping
        if not plateau and d > 0.4 * width and width - prev <= 1 and prev >= 3:
            plateau = width
        x0, x1, depth, prev = a, b, d, max(prev, width)
        if d >= HEAD_ASPECT * width:
            break
    width = x1 - x0
    need = PROMINENCE * width

    def falls(edge: int, beside: int) -> bool:
        if beside < 0 or beside >= n:
            return True                       # the frame edge cuts the head
        if blocked[beside]:                   # another head: this run must fall towards it
            return top[edge] - yp >= need
        return top[beside] - yp >= need

    # A flat top (a table edge, a shoulder line) is no head, unless the frame's top edge cut it.
    flat = not cut_at_top and width >= 8 and first >= FLAT_TOP * width
    return x0, x1, depth, not flat and falls(x0, x0 - 1) and falls(x1 - 1, x1)


class HeadsStage(Stage):
    """Fills analysis.heads from this frame's person mask (runs last: segmentation, which runs
    beside the other stages, has finished by then)."""

    name = "heads"
    outputs = ("heads",)
    needs = ("mask",)

    def __init__(self, *, threads: Optional[int] = None) -> None:
        pass

    def process(self, image: np.ndarray, analysis: Analysis) -> None:
        mask = analysis.mask
        analysis.heads = tuple(head_boxes(mask)) if mask is not None else ()
