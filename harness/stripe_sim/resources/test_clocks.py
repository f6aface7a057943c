"""Test clocks: frozen time for the customers (and their subscriptions) attached to them.

Advancing runs every due transition (trial warnings and ends, renewals, invoice finalization,
period-end cancellations) in time order across the clock's subscriptions, then reports `ready`.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import Int, Str
from ..routing import Ctx, paginate, route
from . import sepa_debit
from . import subscription_schedules as schedules
from .billing_math import period_end
from .customers import delete as delete_customer
from .subscription_cycle import next_due, run_transition

DELETES_AFTER = 30 * 86400
MAX_ADVANCE_INTERVALS = 2  # Stripe: at most two intervals of the shortest subscription ahead


def _check_mode(ctx: Ctx):
    if ctx.livemode:
        raise InvalidRequest("Test clocks are only available in test mode.")


MAX_AHEAD = 2 * 366 * 86400  # Stripe: a clock may not be set more than two years ahead


def _check_ahead(target: int, base: int):
    if target > base + MAX_AHEAD:
        raise InvalidRequest("The frozen_time cannot be more than two years in the future.", param="frozen_time")


@route("POST", "/v1/test_helpers/test_clocks", {"frozen_time": Int(min=0, required=True), "name": Str(max_length=300)})
def create(ctx: Ctx, p: dict):
    _check_mode(ctx)
    now = ctx.now()
    _check_ahead(p["frozen_time"], now)
    clock = shape("test_helpers.test_clock", {
        "id": ctx.new_id("clock"), "created": now, "deletes_after": now + DELETES_AFTER,
        "frozen_time": p["frozen_time"], "livemode": False, "name": p.get("name"), "status": "ready",
        "status_details": {}})
    ctx.put("test_helpers.test_clock", clock)
    ctx.emit("test_helpers.test_clock.created", clock)
    return clock


@route("GET", "/v1/test_helpers/test_clocks/{clock_id}")
def retrieve(ctx: Ctx, p: dict, clock_id: str):
    _check_mode(ctx)
    return ctx.get("test_helpers.test_clock", clock_id)


@route("GET", "/v1/test_helpers/test_clocks", listing=True)
def list_(ctx: Ctx, p: dict):
    _check_mode(ctx)
    return paginate(ctx, "test_helpers.test_clock", p, "/v1/test_helpers/test_clocks")


@route("DELETE", "/v1/test_helpers/test_clocks/{clock_id}")
def delete(ctx: Ctx, p: dict, clock_id: str):
    """Deleting a clock deletes its customers (and so cancels their subscriptions), as at Stripe."""
    _check_mode(ctx)
    clock = ctx.get("test_helpers.test_clock", clock_id)
    for cus in [c for c in ctx.table("customer").rows.values() if c.get("test_clock") == clock_id]:
        delete_customer(ctx, {}, cus["id"])
    ctx.table("test_helpers.test_clock").remove(clock_id)
    ctx.emit("test_helpers.test_clock.deleted", clock)
    return deleted("test_helpers.test_clock", clock_id)


@route("POST", "/v1/test_helpers/test_clocks/{clock_id}/advance", {"frozen_time": Int(min=0, required=True)})
def advance(ctx: Ctx, p: dict, clock_id: str):
    _check_mode(ctx)
    clock = ctx.get("test_helpers.test_clock", clock_id)
    target = p["frozen_time"]
    if target <= clock["frozen_time"]:
        raise InvalidRequest("The test clock's frozen_time cannot be set to a time before or equal to its current "
                             "frozen_time.", param="frozen_time")
    _check_ahead(target, clock["frozen_time"])
    _check_intervals(ctx, clock, target)
    advance_clock(ctx, clock, target)
    return clock


def _check_intervals(ctx: Ctx, clock: dict, target: int):
    """"Cannot be more than two intervals in the future from the shortest subscription in this test clock"
    (API reference, Advance a test clock, `frozen_time`); the message is ours (no public record of Stripe's)."""
    customers = {c["id"] for c in ctx.table("customer").rows.values() if c.get("test_clock") == clock["id"]}
    limits = []
    for sub in ctx.table("subscription").rows.values():
        if sub["customer"] in customers and sub["status"] not in ("canceled", "incomplete_expired"):
            recurring = sub["items"]["data"][0]["price"]["recurring"]
            limits.append(period_end(period_end(clock["frozen_time"], recurring), recurring))
    if limits and target > min(limits):
        raise InvalidRequest("The frozen_time cannot be more than two intervals of the shortest subscription on "
                             "this test clock in the future.", param="frozen_time")


def advance_clock(ctx: Ctx, clock: dict, target: int):
    customers = {c["id"] for c in ctx.table("customer").rows.values() if c.get("test_clock") == clock["id"]}
    subs = [s for s in ctx.table("subscription").rows.values() if s["customer"] in customers]
    scheds = [s for s in ctx.table("subscription_schedule").rows.values() if s["customer"] in customers]
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    # Stripe announces the start of an advance (`test_helpers.test_clock.advancing`) and its end (`.ready`)
    ctx.emit("test_helpers.test_clock.advancing", clock, automatic=True)
    for _ in range(100_000):  # bounded; each step moves time forward
        # at one instant a schedule's phase change comes before its subscription's renewal
        due = [(d[0], 0, i, d[1]) for i, s in enumerate(scheds) if (d := schedules.next_due(ctx, s))
               and d[0] <= target]
        due += [(d[0], 1, i, d[1]) for i, s in enumerate(subs) if (d := next_due(ctx, s)) and d[0] <= target]
        if not due:
            break
        at, kind, i, what = min(due)
        clock["frozen_time"] = at  # events of this step carry the clock's time
        if kind == 0:
            started = schedules.run_transition(ctx, scheds[i], at, what)
            if started is not None:
                subs.append(started)
        else:
            run_transition(ctx, subs[i], at, what)
    clock["frozen_time"] = target
    sepa_debit.settle_due(ctx)  # bank debits of the clock's customers that are due by now
    clock["status"] = "ready"
    clock["status_details"] = {}
    ctx.emit("test_helpers.test_clock.ready", clock, automatic=True)
