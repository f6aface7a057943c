"""What both the API operations and the time-driven transitions do to a subscription: its period (kept on
its items since API 2025-03-31), `customer.subscription.updated` with the changed fields, once-only discounts,
prorations waiting for the next invoice, and cancellation."""

from __future__ import annotations

from ..routing import Ctx
from . import invoicing


def period_of(sub: dict) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def set_period(sub: dict, period: tuple[int, int]):
    sub["items"] = {**sub["items"], "data": [
        {**it, "current_period_start": period[0], "current_period_end": period[1]} for it in sub["items"]["data"]]}


def save_items(ctx: Ctx, sub: dict):
    for it in sub["items"]["data"]:
        ctx.put("subscription_item", it)


def emit_updated(ctx: Ctx, sub: dict, before: dict, automatic: bool = False):
    changed = {k: v for k, v in before.items() if sub.get(k) != v}
    if changed:
        ctx.emit("customer.subscription.updated", sub, changed, automatic=automatic)


def drop_used_once_discounts(ctx: Ctx, sub: dict):
    keep = []
    for di_id in sub["discounts"]:
        di = ctx.find("discount", di_id)
        coupon = ctx.find("coupon", di["source"]["coupon"]) if di else None
        if coupon and coupon["duration"] == "once":
            continue
        keep.append(di_id)
    sub["discounts"] = keep


def take_pending_prorations(ctx: Ctx, sub_id: str) -> int:
    entry = ctx.table("pending_proration").remove(sub_id)
    return entry["amount"] if entry else 0


def cancel_subscription(ctx: Ctx, sub: dict, *, reason: str = "cancellation_requested", at: int | None = None,
                        automatic: bool = False, details: dict | None = None) -> dict:
    now = ctx.now(sub["customer"]) if at is None else at
    sub["status"] = "canceled"
    sub["ended_at"] = now
    sub["canceled_at"] = sub["canceled_at"] or now
    sub["cancellation_details"] = {**sub["cancellation_details"], **(details or {}), "reason": reason}
    for inv in ctx.table("invoice").rows.values():
        if invoicing.subscription_of(inv) == sub["id"] and inv["status"] == "draft":
            ctx.touch("invoice", inv)
            inv["status"] = "void"
    ctx.emit("customer.subscription.deleted", sub, automatic=automatic)
    sched = ctx.find("subscription_schedule", sub["schedule"]) if sub.get("schedule") else None
    if sched is not None and sched["status"] in ("not_started", "active"):
        # the schedule ends with its subscription; "aborted" when that was "because of delinquency"
        # (subscription_schedule.aborted, event reference)
        sched.update(status="canceled", canceled_at=now, current_phase=None)
        ctx.emit("subscription_schedule.aborted" if reason == "payment_failed" else "subscription_schedule.canceled",
                 sched, automatic=automatic)
    return sub
