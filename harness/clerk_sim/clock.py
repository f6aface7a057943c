"""The simulator's clock: real time plus an adjustable offset.

Token lifetimes are short (60 s), so tests move the clock instead of sleeping. Verifiers
outside the simulator use the real clock, so moving it back before minting yields a token
that real verifiers see as already expired.
"""

from __future__ import annotations

import threading
import time


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
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
