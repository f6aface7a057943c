"""Delivery faults: the broken ways real deployments receive webhooks, applied on request.

A `Fault` selects deliveries (by endpoint, event type — `*` wildcards allowed — or event id), applies to
at most `count` events (all when None), and is one of:

  duplicate  copies=N, concurrent=bool      the event is delivered N times (sequentially or all at once)
  delay      seconds=S                      each delivery waits S (virtual) seconds before its first attempt
  drop       attempts=K                     the first K attempts never reach the receiver (forces retries)
  hold       until=TYPE                     held back until an event of TYPE has been delivered
  reverse    window=N                       the next N matching events are sent in reverse order
  shuffle    window=N, seed=S               the next N matching events are sent in a shuffled order
  sign       secret=other_mode|stale|whsec_...  signed with the wrong secret
  timestamp  offset=SECONDS                 `t` shifted (e.g. -600: outside the 300 s tolerance)
  header     value=missing|malformed|no_v1  a missing or unparseable `Stripe-Signature`
  body       value=reserialized|crlf        the body changed after signing
  zero_ids   -                              a Dashboard-style test event: all-zero ids
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field

from ...signer import BODY_FAULTS, HEADER_FAULTS

KINDS = ("duplicate", "delay", "drop", "hold", "reverse", "shuffle", "sign", "timestamp", "header", "body",
         "zero_ids")
_ids = itertools.count(1)


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    kind: str
    endpoint: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    count: int | None = None
    copies: int = 2
    concurrent: bool = False
    seconds: float = 0.0
    attempts: int = 1
    until: str | None = None
    window: int = 2
    seed: int = 0
    secret: str | None = None
    offset: int = 0
    value: str | None = None
    id: str = field(default_factory=lambda: f"fault_{next(_ids)}")
    applied: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise FaultError(f"unknown fault kind {self.kind!r}; one of: {', '.join(KINDS)}")
        if self.kind == "header" and self.value not in HEADER_FAULTS:
            raise FaultError(f"header fault value must be one of {', '.join(HEADER_FAULTS)}")
        if self.kind == "body" and self.value not in BODY_FAULTS:
            raise FaultError(f"body fault value must be one of {', '.join(BODY_FAULTS)}")
        if self.kind == "sign" and not self.secret:
            raise FaultError("sign fault needs secret=other_mode, stale, or a whsec_ value")
        if self.kind == "hold" and not self.until:
            raise FaultError("hold fault needs until=<event type>")
        if self.kind == "duplicate" and not 1 <= self.copies <= 100:
            raise FaultError("duplicate copies must be between 1 and 100")
        if self.kind in ("reverse", "shuffle") and not 2 <= self.window <= 10_000:
            raise FaultError("reorder window must be between 2 and 10000")
        if self.kind == "drop" and not 0 <= self.attempts <= 100:
            raise FaultError("drop attempts must be between 0 and 100")
        if self.count is not None and self.count < 1:
            raise FaultError("count must be at least 1")

    def matches(self, endpoint_id: str, event: dict) -> bool:
        if self.count is not None and self.applied >= self.count:
            return False
        if self.endpoint and self.endpoint != endpoint_id:
            return False
        if self.event_id and self.event_id != event["id"]:
            return False
        if self.event_type and not fnmatch.fnmatchcase(event["type"], self.event_type):
            return False
        return True

    def describe(self) -> str:
        detail = {"duplicate": f"x{self.copies}{' concurrent' if self.concurrent else ''}",
                  "delay": f"{self.seconds:g}s", "drop": f"first {self.attempts}", "hold": f"until {self.until}",
                  "reverse": f"window {self.window}", "shuffle": f"window {self.window}",
                  "sign": "other_mode" if self.secret == "other_mode" else "stale" if self.secret == "stale"
                  else "other secret", "timestamp": f"{self.offset:+d}s", "header": self.value or "",
                  "body": self.value or "", "zero_ids": ""}[self.kind]
        return f"{self.kind}:{detail}" if detail else self.kind

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "endpoint": self.endpoint, "event_type": self.event_type,
                "event_id": self.event_id, "count": self.count, "applied": self.applied,
                "description": self.describe()}


class FaultSet:
    def __init__(self):
        self.faults: list[Fault] = []

    def add(self, fault: Fault | None = None, **kw) -> Fault:
        fault = fault or Fault(**kw)
        self.faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def clear(self):
        self.faults.clear()

    def for_delivery(self, endpoint_id: str, event: dict) -> list[Fault]:
        """The faults that apply to this (endpoint, event), counted as applied."""
        hits = [f for f in self.faults if f.matches(endpoint_id, event)]
        for f in hits:
            f.applied += 1
        return hits


def zero_ids(event: dict) -> dict:
    """A Dashboard "Send test webhook" event: all-zero ids that cannot be fetched from the API."""
    def zero(obj_id):
        if isinstance(obj_id, str) and "_" in obj_id:
            return obj_id.split("_", 1)[0] + "_00000000000000"
        return obj_id

    obj = dict(event["data"]["object"])
    for key in ("id", "customer", "subscription", "invoice", "latest_invoice", "payment_intent"):
        if isinstance(obj.get(key), str):
            obj[key] = zero(obj[key])
    return {**event, "id": "evt_00000000000000", "data": {**event["data"], "object": obj}}
