"""The simulator's notion of now. Real time by default; tests may pin or shift it."""

from __future__ import annotations

import time


class Clock:
    def __init__(self):
        self.offset = 0
        self.frozen: int | None = None

    def now(self) -> int:
        return int(self.time())

    def time(self) -> float:
        """Unix time in seconds as a float: real time plus any fast-forward, or the frozen instant."""
        if self.frozen is not None:
            return float(self.frozen)
        return time.time() + self.offset

    def freeze(self, at: int | None = None):
        self.frozen = int(time.time()) if at is None else at

    def advance(self, seconds: int):
        if self.frozen is not None:
            self.frozen += seconds
        else:
            self.offset += seconds

    def reset(self):
        self.offset, self.frozen = 0, None
