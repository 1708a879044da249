"""Mask post-processing: motion-adaptive temporal smoothing (threshold and edge softness are
applied by the renderers after upsampling; see scene.edge_bounds).

Runs at analysis size (e.g. 256x144), so float arithmetic here costs microseconds.

Temporal smoothing is an exponential moving average whose rate is chosen per pixel from how far
the new value is from the smoothed one: small differences (model jitter on a still person) are
averaged away, large ones (the person moved) are followed at once. A fixed-rate average has to
choose between flicker and ghosting; this one avoids both.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

# A per-pixel change of this size or more is treated as motion and followed immediately.
MOTION_DELTA = 0.5


class MaskPostProcessor:
    """Turns raw per-frame model probabilities into a stable uint8 probability mask (255 = person)."""

    def __init__(self, *, smoothing: float = 0.6) -> None:
        self._state: Optional[np.ndarray] = None
        self.configure(smoothing=smoothing)

    def configure(self, *, smoothing: float) -> None:
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"smoothing must be in 0..1, got {smoothing}")
        # smoothing 0 -> rate 1 (raw); smoothing 1 -> rate 0.1 on still pixels.
        self._min_rate = 1.0 - 0.9 * float(smoothing)

    def reset(self) -> None:
        """Forget history (call on a scene cut or when the source changes)."""
        self._state = None

    def process(self, raw: np.ndarray) -> np.ndarray:
        """raw: float32 HxW probabilities in 0..1 (or uint8 0..255). Returns uint8 HxW."""
        if raw.dtype == np.uint8:
            cur = raw.astype(np.float32) * (1.0 / 255.0)
        else:
            cur = np.clip(raw.astype(np.float32, copy=False), 0.0, 1.0)
        state = self._state
        if state is None or state.shape != cur.shape or self._min_rate >= 1.0:
            state = cur.copy()
        else:
            diff = np.abs(cur - state)
            # Quadratic response: jitter (small diff) gets the slow rate, motion the fast one.
            motion = np.minimum(diff * (1.0 / MOTION_DELTA), 1.0)
            rate = self._min_rate + (1.0 - self._min_rate) * (motion * motion)
            state += rate * (cur - state)
        self._state = state
        return (state * 255.0 + 0.5).astype(np.uint8)
