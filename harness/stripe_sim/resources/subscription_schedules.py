"""Subscription schedules: a subscription's future in phases (each with its items and a length), started now
or at a later `start_date`, then released or canceled at the end (`end_behavior`).

Run by test clocks like subscriptions (`next_due` / `run_transition`): a schedule starts its subscription at
`start_date`, moves it to the next phase's items when a phase ends (before that instant's renewal, so the
renewal bills the new phase), sends `subscription_schedule.expiring` seven days before its end ("Occurs 7 days
before a subscription schedule will expire", event reference), and at the end completes: the subscription is
released (continues on its own) or canceled. Changing the phases of an existing schedule is not simulated.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Custom, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route, snapshot
from . import invoicing
from .billing_math import add_months, period_end
from .subscription_state import cancel_subscription
from .subscriptions import create_subscription, recurring_price, update_subscription

EXPIRING_BEFORE = 7 * 86400
ITEM = Obj({"price": Str(required=True), "quantity": Int(min=0), "metadata": Metadata()})
PHASE = Obj({"items": List(ITEM, max_items=20, required=True), "iterations": Int(min=1),
             "duration": Obj({"interval": Enum("day", "week", "month", "year", required=True),
                              "interval_count": Int(min=1)}),
             "end_date": Int(min=0), "metadata": Metadata(), "description": Str(),
             "proration_behavior": Enum("always_invoice", "create_prorations", "none")})


def _start_date(value, name):
    if value == "now":
        return value
    return Int(min=0).check(value, name)


def _phases(value, name):
    """`phases` as a list, or as the CLI's indexed hash (`phases[0][...]`)."""
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        value = [value[k] for k in sorted(value, key=int)]
    return List(PHASE, max_items=10).check(value, name)


CREATE = {"customer": Str(required=True), "start_date": Custom(_start_date), "phases": Custom(_phases),
          "end_behavior": Enum("cancel", "release"), "metadata": Metadata()}
UPDATE = {"metadata": Metadata(), "end_behavior": Enum("cancel", "release")}
CANCEL = {"invoice_now": Bool(), "prorate": Bool()}
RELEASE = {"preserve_cancel_date": Bool()}


def _phase_end(start: int, spec: dict, price: dict) -> int:
    if spec.get("end_date"):
        return spec["end_date"]
    if spec.get("duration"):
        d = spec["duration"]
        n = d.get("interval_count") or 1
        if d["interval"] in ("month", "year"):
            return add_months(start, n * (12 if d["interval"] == "year" else 1))
        return start + n * (7 * 86400 if d["interval"] == "week" else 86400)
    end = start
    for _ in range(spec.get("iterations") or 1):
        end = period_end(end, price["recurring"])
    return end


def _build_phases(ctx: Ctx, specs: list[dict], start: int) -> list[dict]:
    phases = []
    for i, spec in enumerate(specs):
        items = []
        for j, it in enumerate(spec["items"]):
            price = recurring_price(ctx, it["price"], f"phases[{i}][items][{j}][price]")
            items.append(shape("subscription_schedule:phases[].items[]", {
                "metadata": dict(it.get("metadata") or {}), "plan": price["id"], "price": price["id"],
                "quantity": it.get("quantity") if it.get("quantity") is not None else 1}))
        first_price = ctx.get("price", items[0]["price"])
        end = _phase_end(start, spec, first_price)
        if end <= start:
            raise InvalidRequest("Each phase must end after it starts.", param=f"phases[{i}][end_date]")
        phases.append(shape("subscription_schedule:phases[]", {
            "currency": first_price["currency"], "description": spec.get("description"), "end_date": end,
            "items": items, "metadata": dict(spec.get("metadata") or {}),
            "proration_behavior": spec.get("proration_behavior") or "create_prorations", "start_date": start}))
        start = end
    return phases


def _items_params(phase: dict) -> list[dict]:
    return [{"price": it["price"], "quantity": it["quantity"], "metadata": it["metadata"]} for it in phase["items"]]


def _start(ctx: Ctx, sched: dict, at: int) -> dict:
    """Create the schedule's subscription on its first phase."""
    phase = sched["phases"][0]
    # a schedule starting without a card leaves its subscription incomplete (an open first invoice) rather
    # than failing: nothing can refuse a start that happens later, on the clock
    can_pay = invoicing.payment_method_for(ctx, {"customer": sched["customer"], "default_payment_method": None})
    sub = create_subscription(ctx, {"customer": sched["customer"], "items": _items_params(phase),
                                    "metadata": phase["metadata"],
                                    "payment_behavior": "allow_incomplete" if can_pay else "default_incomplete"})
    sub["schedule"] = sched["id"]
    sched.update(status="active", subscription=sub["id"],
                 current_phase={"start_date": phase["start_date"], "end_date": phase["end_date"]})
    return sub


@route("POST", "/v1/subscription_schedules", CREATE)
def create(ctx: Ctx, p: dict):
    cus = ctx.get("customer", p["customer"], "customer")
    now = ctx.now(cus)
    if not p.get("phases"):
        raise InvalidRequest("Missing required param: phases.", code="parameter_missing", param="phases")
    start = p.get("start_date") or "now"
    start = now if start == "now" else start
    sched = shape("subscription_schedule", {
        "id": ctx.new_id("sub_sched"), "billing_mode": {"flexible": None, "type": "classic"}, "created": now,
        "customer": cus["id"],
        "default_settings": shape("subscription_schedule:default_settings", {
            "automatic_tax": shape("subscription_schedule:default_settings.automatic_tax", {"enabled": False}),
            "billing_cycle_anchor": "automatic", "collection_method": "charge_automatically",
            "invoice_settings": shape("subscription_schedule:default_settings.invoice_settings",
                                      {"issuer": {"type": "self"}})}),
        "end_behavior": p.get("end_behavior") or "release", "livemode": ctx.livemode,
        "metadata": merge_metadata({}, p.get("metadata") or {}),
        "phases": _build_phases(ctx, p["phases"], start), "status": "not_started",
        "test_clock": cus.get("test_clock"),
    })
    ctx.put("subscription_schedule", sched)
    ctx.emit("subscription_schedule.created", sched)
    if start <= now:
        _start(ctx, sched, now)
    return sched


@route("GET", "/v1/subscription_schedules/{sched_id}")
def retrieve(ctx: Ctx, p: dict, sched_id: str):
    return ctx.get("subscription_schedule", sched_id)


@route("POST", "/v1/subscription_schedules/{sched_id}", UPDATE)
def update(ctx: Ctx, p: dict, sched_id: str):
    sched = ctx.get("subscription_schedule", sched_id)
    if sched["status"] in ("canceled", "completed", "released"):
        raise InvalidRequest(f"You cannot update a subscription schedule that is {sched['status']}.")
    before = snapshot(sched)
    if "metadata" in p:
        sched["metadata"] = merge_metadata(sched["metadata"], p["metadata"])
    if p.get("end_behavior"):
        sched["end_behavior"] = p["end_behavior"]
    changed = {k: v for k, v in before.items() if sched.get(k) != v}
    if changed:
        ctx.emit("subscription_schedule.updated", sched, changed)
    return sched


def _check_open(sched: dict, verb: str):
    if sched["status"] not in ("not_started", "active"):
        raise InvalidRequest(f"You cannot {verb} a subscription schedule that is {sched['status']}.")


@route("POST", "/v1/subscription_schedules/{sched_id}/cancel", CANCEL)
def cancel(ctx: Ctx, p: dict, sched_id: str):
    """Cancels the schedule and its subscription at once."""
    sched = ctx.get("subscription_schedule", sched_id)
    _check_open(sched, "cancel")
    now = ctx.now(sched["customer"])
    sched.update(status="canceled", canceled_at=now, current_phase=None)  # first: its subscription's end is ours
    if sched["subscription"]:
        sub = ctx.get("subscription", sched["subscription"])
        if sub["status"] not in ("canceled", "incomplete_expired"):
            cancel_subscription(ctx, sub)
    ctx.emit("subscription_schedule.canceled", sched)
    return sched


@route("POST", "/v1/subscription_schedules/{sched_id}/release", RELEASE)
def release(ctx: Ctx, p: dict, sched_id: str):
    """The subscription goes on without the schedule (`released_subscription`)."""
    sched = ctx.get("subscription_schedule", sched_id)
    _check_open(sched, "release")
    if sched["subscription"]:
        ctx.get("subscription", sched["subscription"])["schedule"] = None
    sched.update(status="released", released_at=ctx.now(sched["customer"]), current_phase=None,
                 released_subscription=sched["subscription"], subscription=None)
    ctx.emit("subscription_schedule.released", sched)
    return sched


@route("GET", "/v1/subscription_schedules", {"customer": Str(), "scheduled": Bool()}, listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "subscription_schedule", p, "/v1/subscription_schedules", lambda s: (
        (p.get("customer") is None or s["customer"] == p["customer"])
        and (p.get("scheduled") is None or (s["status"] == "not_started") == p["scheduled"])))


# ---- time (test clocks) ------------------------------------------------------------------------------------

def next_due(ctx: Ctx, sched: dict) -> tuple[int, str] | None:
    if sched["status"] == "not_started":
        return sched["phases"][0]["start_date"], "start"
    if sched["status"] != "active":
        return None
    end = sched["phases"][-1]["end_date"]
    candidates = [(sched["current_phase"]["end_date"], "next_phase")]
    if ctx.table("schedule_expiring").get(sched["id"]) is None and end - EXPIRING_BEFORE > sched["created"]:
        candidates.append((end - EXPIRING_BEFORE, "expiring"))
    return min(candidates)


def run_transition(ctx: Ctx, sched: dict, at: int, what: str) -> dict | None:
    """Returns a subscription the schedule started (for the clock to run from then on)."""
    if what == "start":
        return _start(ctx, sched, at)
    if what == "expiring":
        ctx.table("schedule_expiring").put({"id": sched["id"]})
        ctx.emit("subscription_schedule.expiring", sched, automatic=True)
        return None
    sub = ctx.get("subscription", sched["subscription"])
    following = [ph for ph in sched["phases"] if ph["start_date"] >= at]
    if following and sub["status"] not in ("canceled", "incomplete_expired"):
        phase = following[0]
        old = [{"id": it["id"], "deleted": True} for it in sub["items"]["data"]]
        update_subscription(ctx, sub, {"items": [*old, *_items_params(phase)], "proration_behavior": "none"})
        before = snapshot(sched)
        sched["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
        ctx.emit("subscription_schedule.updated", sched, {"current_phase": before["current_phase"]}, automatic=True)
        return None
    if sched["end_behavior"] == "cancel" and sub["status"] not in ("canceled", "incomplete_expired"):
        cancel_subscription(ctx, sub, at=at, automatic=True)
    else:
        sub["schedule"] = None
    sched.update(status="completed", completed_at=at, current_phase=None)
    ctx.emit("subscription_schedule.completed", sched, automatic=True)
    return None
