"""API faults, for a receiver's re-fetch path: the next N calls to a path (or a share of them) fail with
a 500, a 429 with `Retry-After`, or a timeout (the answer comes only after `seconds`)."""

from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import dataclass, field

_ids = itertools.count(1)


@dataclass
class ApiFault:
    path: str  # a glob: "/v1/subscriptions/*"
    status: str  # "500", "429" or "timeout"
    method: str | None = None
    count: int | None = None  # the next N matching calls; None: all of them
    share: float | None = None  # or this share of matching calls, at random
    retry_after: int = 1
    seconds: float = 30.0
    seed: int = 0
    id: str = field(default_factory=lambda: f"apifault_{next(_ids)}")
    hits: int = 0

    def __post_init__(self):
        self._rng = random.Random(self.seed)

    def take(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        if self.count is not None and self.hits >= self.count:
            return False
        if self.share is not None and self._rng.random() >= self.share:
            return False
        self.hits += 1
        return True

    def as_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "status": self.status, "method": self.method,
                "count": self.count, "share": self.share, "hits": self.hits}


class ApiFaults:
    def __init__(self):
        self.faults: list[ApiFault] = []

    def add(self, fault: ApiFault | None = None, **kw) -> ApiFault:
        fault = fault or ApiFault(**kw)
        self.faults.append(fault)
        return fault

    def clear(self):
        self.faults.clear()

    def take(self, method: str, path: str) -> ApiFault | None:
        for fault in self.faults:
            if fault.take(method, path):
                return fault
        return None
