"""The fake's one clock: every timestamp, start time and elapsed time comes from it.

Three ways for time to pass:

- `realtime`: wall-clock time scaled by `speed` (60: a minute of recording per second);
- `instant`: wall-clock time, but each scheduled step (an auto-stop, an upload) happens as
  soon as it is reached, the clock jumping forward to it, so timestamps stay coherent;
- `manual`: time stands still until `advance(seconds)`, so tests never sleep.

In every mode `advance` moves time forward by hand.
"""

from __future__ import annotations

import threading
import time
from typing import Literal

from ..errors import UsageError

ClockMode = Literal["realtime", "instant", "manual"]
CLOCK_MODES: tuple[str, ...] = ("realtime", "instant", "manual")


class Clock:
    """Epoch milliseconds in fake time (thread-safe)."""

    def __init__(
        self, mode: ClockMode = "manual", *, speed: float = 1.0, start_ms: int | None = None
    ) -> None:
        if mode not in CLOCK_MODES:
            raise UsageError(f"clock must be one of {', '.join(CLOCK_MODES)}, got {mode!r}")
        if not speed > 0:
            raise UsageError(f"speed must be positive, got {speed}")
        if mode != "realtime" and speed != 1.0:
            raise UsageError("speed applies to the realtime clock only")
        self.mode: ClockMode = mode
        self.speed = float(speed)
        self._lock = threading.Lock()
        self._epoch_ms = int(time.time() * 1000) if start_ms is None else int(start_ms)
        self._mono = time.monotonic()
        self._offset_ms = 0
        """Time added by `advance` and, in instant mode, by jumps to due steps."""

    def _base(self) -> int:
        if self.mode == "manual":
            return self._epoch_ms
        return self._epoch_ms + int((time.monotonic() - self._mono) * 1000 * self.speed)

    def now(self) -> int:
        """The current fake time, in epoch milliseconds."""
        with self._lock:
            return self._base() + self._offset_ms

    def advance(self, seconds: float) -> int:
        """Move time forward by `seconds`; returns the new time."""
        if not seconds >= 0:
            raise UsageError(f"time only moves forward: advance({seconds!r})")
        with self._lock:
            self._offset_ms += round(seconds * 1000)
            return self._base() + self._offset_ms

    def reach(self, at_ms: int) -> int:
        """Jump forward to `at_ms` if it is later than now (a due step); returns the time."""
        with self._lock:
            now = self._base() + self._offset_ms
            if at_ms > now:
                self._offset_ms += at_ms - now
                return at_ms
            return now

    def wall_seconds_until(self, at_ms: int) -> float:
        """Real seconds until the clock shows `at_ms` on its own (0 if already there;
        infinite for a manual clock, which moves only by hand)."""
        left = at_ms - self.now()
        if left <= 0:
            return 0.0
        if self.mode == "manual":
            return float("inf")
        if self.mode == "instant":
            return 0.0
        return left / 1000 / self.speed

    def describe(self) -> str:
        """One line for the start-up banner."""
        if self.mode == "realtime":
            return f"real time x{self.speed:g}"
        if self.mode == "instant":
            return "instant (each step as soon as it is due)"
        return "manual (time moves only by advance)"
