"""Replaying recorded Stripe events against a receiver: the events re-signed with the target's secret, and
before each delivery the simulator given the objects as Stripe held them at that moment, so a receiver
that re-fetches reads what it would have read then.

The state at a delivery is the newest snapshot of each object (an event's `data.object`, or a price embedded
in a subscription item) among the events created up to the newest event delivered so far: an old event
delivered late finds Stripe already holding the newer state, as it would.

Used by the `replay` scenario step and by `tiersync repro`."""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..signer import build_request

ORDERS = ("delivered", "created", "shuffled", "duplicated")
# `object` values of snapshots the simulator is given (see stripe_sim/resources/seeding.py)
SEEDED = ("customer", "product", "price", "subscription", "invoice", "checkout.session", "payment_intent",
          "charge", "coupon", "promotion_code", "payment_method")


class ReplayError(Exception):
    """The replay cannot go on: the message says why."""


@dataclass
class Delivery:
    """One POST of one event to the receiver."""
    event: dict
    position: int  # the event's index in created order
    copy: int = 0  # 0: first delivery of this event in the plan; 1, 2...: a duplicate or retry


@dataclass
class Sent:
    delivery: Delivery
    status: int | None
    body: str
    ms: float
    error: str | None = None
    attempts: int = 1  # tries it took (a 5xx or no answer is tried again)


def as_test_mode(value):
    """A copy with every `livemode` set to false: a live incident replays in the simulator's test mode."""
    if isinstance(value, dict):
        return {k: (False if k == "livemode" else as_test_mode(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [as_test_mode(v) for v in value]
    return value


def snapshots_of(event: dict) -> Iterable[dict]:
    """The objects an event carries in full: `data.object` and, inside it, the prices of subscription
    items (and their products when expanded)."""
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict):
        return
    if obj.get("object") in SEEDED and isinstance(obj.get("id"), str):
        yield obj
    items = obj.get("items") if isinstance(obj.get("items"), dict) else None
    for item in (items or {}).get("data") or []:
        price = item.get("price") if isinstance(item, dict) else None
        if isinstance(price, dict) and isinstance(price.get("id"), str):
            yield price
            if isinstance(price.get("product"), dict) and isinstance(price["product"].get("id"), str):
                yield price["product"]


def plan(events: list[dict], order: str, *, deliveries: list[dict] | None = None, seed: int = 0) -> list[Delivery]:
    """The deliveries to make, from events in created order (oldest first)."""
    if order not in ORDERS:
        raise ReplayError(f"unknown order {order!r}: one of {', '.join(ORDERS)}")
    by_id = {e["id"]: i for i, e in enumerate(events)}
    if order == "delivered":
        if not deliveries:
            raise ReplayError("order 'delivered' needs the delivery attempts (none were given)")
        out, seen = [], set()
        for attempt in deliveries:
            i = by_id.get(attempt.get("event"))
            if i is None:
                continue  # an attempt for an event the file lacks: reported by the incident loader
            out.append(Delivery(events[i], i, copy=1 if i in seen else 0))
            seen.add(i)
        return out
    if order == "created":
        return [Delivery(e, i) for i, e in enumerate(events)]
    if order == "shuffled":
        positions = list(range(len(events)))
        random.Random(seed).shuffle(positions)
        return [Delivery(events[i], i) for i in positions]
    return [Delivery(events[i], i, copy=c) for i in range(len(events)) for c in (0, 1)]


class StripeState:
    """Snapshots per object over the events' created order, and what the simulator was last given."""

    def __init__(self, events: list[dict], extra_objects: list[dict] | None = None):
        self.snapshots: dict[str, list[tuple[int, dict]]] = {}
        for obj in extra_objects or []:  # objects known from outside the events (a product's plan)
            self.snapshots.setdefault(obj["id"], []).append((-1, obj))
        for i, event in enumerate(events):
            for obj in snapshots_of(event):
                self.snapshots.setdefault(obj["id"], []).append((i, obj))
        self.seeded: dict[str, int] = {}  # object id -> position of the snapshot the simulator holds

    def as_of(self, position: int) -> dict[str, dict]:
        """The newest snapshot of every object among events 0..position."""
        state = {}
        for obj_id, history in self.snapshots.items():
            known = [obj for i, obj in history if i <= position]
            if known:
                state[obj_id] = _merged(known)
        return state

    def changed_since_seeded(self, position: int) -> list[tuple[int, dict]]:
        out = []
        for obj_id, history in self.snapshots.items():
            known = [(i, obj) for i, obj in history if i <= position]
            if known and self.seeded.get(obj_id) != known[-1][0]:
                out.append((known[-1][0], _merged([obj for _, obj in known])))
        return out


def _merged(history: list[dict]) -> dict:
    """The newest snapshot, with keys only older ones carried (a price's product, expanded once) kept."""
    newest = copy.deepcopy(history[-1])
    for older in reversed(history[:-1]):
        for key, value in older.items():
            newest.setdefault(key, copy.deepcopy(value))
    return newest


@dataclass
class Replayer:
    """Seeds the simulator and sends deliveries, one at a time. `sim_post(path, data)` is the Stripe
    simulator's control call (a RunContext's); `send(url, body, headers)` posts to the receiver and returns
    (status, body)."""

    events: list[dict]
    webhook_url: str
    webhook_secret: str
    sim_post: Callable[[str, dict], dict]
    send: Callable[[str, bytes, dict], tuple[int, str]]
    extra_objects: list[dict] = field(default_factory=list)
    retries: int = 2  # more tries after a 5xx or no answer, as Stripe would (seconds apart, not hours)
    retry_wait: float = 0.5

    def __post_init__(self):
        self.state = StripeState(self.events, self.extra_objects)
        self.frontier = -1  # the newest created position delivered so far

    def seed_until(self, position: int):
        for snap_position, obj in self.state.changed_since_seeded(position):
            self.sim_post("/_sim/objects", {"object": json.dumps(obj), "mode": "test"})
            self.state.seeded[obj["id"]] = snap_position

    def deliver(self, delivery: Delivery) -> Sent:
        self.frontier = max(self.frontier, delivery.position)
        self.seed_until(self.frontier)
        for attempt in range(self.retries + 1):
            request = build_request(delivery.event, self.webhook_secret, test_mode=True)  # signed afresh
            started = time.perf_counter()
            try:
                status, body = self.send(self.webhook_url, request.body, request.headers)
                error = None
            except Exception as exc:  # the receiver is down or hung: reported, the replay goes on
                status, body, error = None, "", f"{type(exc).__name__}: {exc}"
            sent = Sent(delivery, status, body, (time.perf_counter() - started) * 1000, error, attempt + 1)
            if status is not None and status < 500:
                break
            if attempt < self.retries:
                time.sleep(self.retry_wait)
        return sent

    def run(self, deliveries: list[Delivery], after: Callable[[Sent], None] | None = None) -> list[Sent]:
        sent = []
        for delivery in deliveries:
            result = self.deliver(delivery)
            sent.append(result)
            if after:
                after(result)
        return sent
