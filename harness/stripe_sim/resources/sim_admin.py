"""The simulator's control plane (`/_sim/...`, no API key): reset, and the Dashboard steps an API can't do."""

from __future__ import annotations

from ..params import Enum, Str, Url
from ..routing import Ctx, route
from .billing_portal import activate_default_portal

MODE = Enum("test", "live")


@route("POST", "/_sim/reset", admin=True)
def reset(ctx: Ctx, p: dict):
    ctx.sim.reset()
    return {"object": "sim.reset", "ok": True}


@route("POST", "/_sim/billing_portal/activate", {"mode": MODE, "default_return_url": Url()}, admin=True)
def activate_portal(ctx: Ctx, p: dict):
    """Dashboard → Settings → Billing → Customer portal → Activate, for one mode."""
    ctx.mode = p.get("mode") or "test"
    return activate_default_portal(ctx, default_return_url=p.get("default_return_url"))


@route("GET", "/_sim/health", admin=True)
def health(ctx: Ctx, p: dict):
    return {"object": "sim.health", "ok": True}


@route("POST", "/_sim/test_clocks/default", {"test_clock": Str()}, admin=True)
def default_test_clock(ctx: Ctx, p: dict):
    """From now on, test-mode customers created without a test clock (e.g. by Checkout) join this one;
    an empty value turns it off. Stripe has no such switch: it lets a scenario drive time end to end."""
    clock_id = p.get("test_clock") or None
    if clock_id:
        ctx.get("test_helpers.test_clock", clock_id, "test_clock")
    ctx.sim.default_test_clock = clock_id
    return {"object": "sim.default_test_clock", "test_clock": clock_id}


@route("POST", "/_sim/world/restore", admin=True, waits=True)
def restore_world(ctx: Ctx, p: dict):
    """Put back the seeded world saved by `tiersync serve` (or any `StripeSim.save_world`) after scenarios
    changed it: same ids and secrets, the clock as it was then (real time), pending deliveries and faults
    gone. Runs outside the lock (`waits`): it waits for deliveries in flight, which may call the API."""
    ctx.sim.restore_world()
    return {"object": "sim.world", "restored": True}


FAILED_PAYMENT_OUTCOMES = ("cancel", "mark_unpaid", "leave_past_due")


@route("POST", "/_sim/settings/failed_payments",
       {"mode": MODE, "after_all_retries": Enum(*FAILED_PAYMENT_OUTCOMES, required=True)}, admin=True)
def set_failed_payments(ctx: Ctx, p: dict):
    """Dashboard > Billing > Revenue recovery > "Subscription status: if all retries for a payment fail":
    cancel the subscription, mark it as unpaid, or leave it past-due. Per mode; both modes when none is named."""
    modes = [p["mode"]] if p.get("mode") else ["test", "live"]
    for mode in modes:
        ctx.sim.failed_payment_settings[mode] = p["after_all_retries"]
    return failed_payments(ctx, {})


@route("GET", "/_sim/settings/failed_payments", admin=True)
def failed_payments(ctx: Ctx, p: dict):
    return {"object": "sim.settings.failed_payments",
            "after_all_retries": dict(ctx.sim.failed_payment_settings)}
