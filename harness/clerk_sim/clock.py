"""The simulator's clock: real time plus an adjustable offset.

Token lifetimes are short (60 s), so tests move the clock instead of sleeping. Verifiers
outside the simulator use the real clock, so moving it back before minting yields a token
that real verifiers see as already expired.
"""

from __future__ import annotations

import math
import threading
import time

# How far the clock may move from real time (either way): far enough for any token or retry schedule,
# near enough that every timestamp stays a valid date and JSON number.
MAX_OFFSET_S = 100 * 365 * 86400


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def now_s(self) -> int:
        return int(self.now())

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the clock; a non-finite step or one past MAX_OFFSET_S raises ValueError and changes nothing."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("advance must be a number of seconds")
        if not math.isfinite(seconds) or abs(seconds) > MAX_OFFSET_S:
            raise ValueError(f"advance must be a finite number of seconds within +/-{MAX_OFFSET_S}")
        with self._lock:
            offset = self._offset + seconds
            if abs(offset) > MAX_OFFSET_S:
                raise ValueError(f"the clock may move at most {MAX_OFFSET_S} seconds from real time "
                                 f"(it is {self._offset:+.0f} s off now)")
            self._offset = offset

    @property
    def offset(self) -> float:
        return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
