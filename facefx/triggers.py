"""When a recognised gesture becomes an event: hold, hysteresis, cooldown, pause.

Per-frame gesture hits flicker (a finger judged uncertain for a frame, a hand lost in motion
blur), and a gesture shown on the way to another pose must not fire. A TriggerBank follows one
candidate gesture at a time: it fires once the candidate has been held for `hold` seconds,
tolerates gaps up to `dropout` seconds without restarting the hold, restarts when a different
gesture replaces it, never fires again while the same gesture is still held, and keeps each
gesture quiet for `cooldown` seconds after it fired. Times are the caller's clock (output-frame
or media time, in seconds), so tests drive it with a fake clock and a seek is handled by
starting over.

Standard library only: it runs in the Scene, possibly inside OBS's interpreter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

__all__ = ["Arming", "Fired", "TriggerBank", "TriggerSettings"]


@dataclass(frozen=True)
class TriggerSettings:
    """hold: seconds a gesture must be held before it fires.
    cooldown: seconds after firing during which the same gesture cannot fire again.
    dropout: longest gap (seconds without the gesture) that does not break a hold.
    enabled: the gesture names that may fire; None means every name.
    holds, cooldowns: per-gesture overrides of hold and cooldown (name -> seconds).

    Raises:
        ValueError: a negative or non-finite time, or enabled not a collection of names.
    """

    hold: float = 0.5
    cooldown: float = 2.0
    dropout: float = 0.25
    enabled: Optional[FrozenSet[str]] = None
    holds: Mapping[str, float] = field(default_factory=dict)
    cooldowns: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = [(name, getattr(self, name)) for name in ("hold", "cooldown", "dropout")]
        for what in ("holds", "cooldowns"):
            table = getattr(self, what)
            if not isinstance(table, Mapping) or not all(isinstance(k, str) for k in table):
                raise ValueError(f"trigger {what} must map gesture names to seconds, got {table!r}")
            object.__setattr__(self, what, dict(table))
            values += [(f"{what[:-1]} for {k!r}", v) for k, v in table.items()]
        for name, value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"trigger {name} must be a number of seconds >= 0, got {value!r}")
        if self.enabled is not None:
            if isinstance(self.enabled, str) or not all(isinstance(n, str) for n in self.enabled):
                raise ValueError(f"trigger enabled must be a collection of gesture names or None, "
                                 f"got {self.enabled!r}")
            object.__setattr__(self, "enabled", frozenset(self.enabled))


@dataclass(frozen=True)
class Fired:
    """A gesture that fired at time t, made by these hand indices of that frame."""

    name: str
    t: float
    hands: Tuple[int, ...]


@dataclass(frozen=True)
class Arming:
    """A gesture being held that has not fired yet; progress 0..1 of the hold time."""

    name: str
    progress: float
    hands: Tuple[int, ...]


class TriggerBank:
    """Turns per-frame GestureHits (anything with .name, .score, .hands) into Fired events.

    Example:
        bank = TriggerBank(TriggerSettings(hold=0.5))
        for t, hits in frames:
            for event in bank.update(hits, t):
                show_sticker(event.name)
    """

    def __init__(self, settings: Optional[TriggerSettings] = None) -> None:
        self.settings = settings or TriggerSettings()
        self._paused = False
        self._last_fired: Dict[str, float] = {}
        self._last_t: Optional[float] = None
        self._clear()

    def _clear(self) -> None:
        self._name: Optional[str] = None
        self._start = 0.0
        self._seen = 0.0
        self._hands: Tuple[int, ...] = ()
        self._fired = False

    def configure(self, settings: TriggerSettings) -> None:
        """New settings; a hold in progress of a gesture no longer enabled is dropped."""
        self.settings = settings
        if self._name is not None and not self._allowed(self._name):
            self._clear()

    @property
    def paused(self) -> bool:
        """While paused nothing fires or arms; resuming starts every hold afresh."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = bool(value)
        self._clear()

    def reset(self) -> None:
        """Forget holds and cooldowns (new source, seek)."""
        self._last_fired.clear()
        self._last_t = None
        self._clear()

    def _allowed(self, name: str) -> bool:
        enabled = self.settings.enabled
        return enabled is None or name in enabled

    def _hold(self, name: str) -> float:
        return self.settings.holds.get(name, self.settings.hold)

    def _cooling(self, name: str, t: float) -> bool:
        last = self._last_fired.get(name)
        return last is not None and t - last < self.settings.cooldowns.get(name, self.settings.cooldown)

    def update(self, hits: Sequence, t: float) -> List[Fired]:
        """Feed one analysed frame's hits at time t (seconds); returns what fires now."""
        t = float(t)
        if self._last_t is not None and t < self._last_t:
            self.reset()   # time went backwards: a seek or a restarted source
        self._last_t = t
        if self._paused:
            return []
        hits = [h for h in hits if self._allowed(h.name)]
        current = next((h for h in hits if h.name == self._name), None)
        if current is None and hits:
            best = max(hits, key=lambda h: h.score)
            self._clear()
            self._name, self._start = best.name, t
            current = best
        if current is None:
            if self._name is not None and t - self._seen > self.settings.dropout:
                self._clear()
            return []
        self._seen = t
        self._hands = tuple(current.hands)
        if self._fired or t - self._start < self._hold(self._name) or self._cooling(self._name, t):
            return []
        self._fired = True
        self._last_fired[self._name] = t
        return [Fired(self._name, t, self._hands)]

    def arming(self, t: float) -> List[Arming]:
        """The gesture being held at time t and how far its hold has come (for the arming
        ring); empty when nothing is held, it already fired, it is cooling down, or paused."""
        if self._paused or self._name is None or self._fired or self._cooling(self._name, t):
            return []
        if t - self._seen > self.settings.dropout:
            return []
        hold = self._hold(self._name)
        progress = 1.0 if hold <= 0 else max(0.0, min(1.0, (t - self._start) / hold))
        return [Arming(self._name, progress, self._hands)]

    @property
    def held(self) -> Optional[str]:
        """The gesture currently followed (held or within a tolerated dropout), or None."""
        return self._name


def events(bank: TriggerBank, timeline: Iterable[Tuple[float, Sequence]]) -> List[Fired]:
    """Every event a bank fires over (t, hits) pairs, in order (for evaluation and tests)."""
    out: List[Fired] = []
    for t, hits in timeline:
        out.extend(bank.update(hits, t))
    return out
