"""The steps that break things on purpose: webhook delivery faults (duplicates, delays, drops, reordering,
bad signatures), service outages that reach every call an app makes to Stripe or Clerk, re-delivery of an
event, secret rolling and Stripe's retry schedule in virtual time."""

from __future__ import annotations

import stripe

from .context import RunContext, StepFailed
from .model import FaultArgs


def step_fault(ctx: RunContext, a) -> str:
    data = {k: v for k, v in a.model_dump().items() if v is not None}
    if ctx.target.endpoint_id:
        data["endpoint"] = ctx.target.endpoint_id
    data = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in data.items()}
    fault = ctx.sim_post("/_sim/webhooks/faults", data)
    return f"delivery fault {fault['description']}" + (f" on {a.event_type}" if a.event_type else "")


def _fault(ctx: RunContext, **fields) -> str:
    return step_fault(ctx, FaultArgs(**{k: v for k, v in fields.items() if v is not None}))


def step_duplicate(ctx: RunContext, a) -> str:
    return _fault(ctx, kind="duplicate", copies=a.copies, concurrent=a.concurrent, event_type=a.event_type,
                  count=a.count)


def step_reorder(ctx: RunContext, a) -> str:
    if a.mode == "hold":
        return _fault(ctx, kind="hold", until=a.until, event_type=a.event_type)
    return _fault(ctx, kind=a.mode, window=a.window, seed=a.seed, event_type=a.event_type)


def step_delay(ctx: RunContext, a) -> str:
    return _fault(ctx, kind="delay", seconds=a.seconds, event_type=a.event_type)


def step_drop(ctx: RunContext, a) -> str:
    return _fault(ctx, kind="drop", attempts=a.attempts, event_type=a.event_type, count=a.count)


def step_api_fault(ctx: RunContext, a) -> str:
    if a.service == "stripe":
        ctx.sim_post("/_sim/api_faults", {"path": a.path, "status": a.status, "count": a.count})
    else:
        kind = {"500": "error", "429": "rate_limit", "timeout": "timeout"}[a.status]
        r = ctx.http.post(f"{ctx.target.clerk_api_url}/_sim/faults",
                          json={"endpoint": a.path, "kind": kind, "count": a.count})
        if r.status_code >= 400:
            raise StepFailed(f"Clerk simulator refused the fault: {r.status_code} {r.text[:200]}")
    return f"{a.service} API fault: next {a.count} x {a.path} -> {a.status}"


# which calls an outage hits: Stripe's API (methods it accepts) and Clerk's Backend API
_STRIPE_METHODS = {"all": [None], "reads": ["GET"], "writes": ["POST", "DELETE"]}
_CLERK_METHODS = {"all": [""], "reads": ["GET "], "writes": ["POST ", "PATCH ", "PUT ", "DELETE "]}


def step_outage(ctx: RunContext, a) -> str:
    if a.service == "stripe":
        for method in _STRIPE_METHODS[a.calls]:  # no count: every matching call until cleared
            ctx.sim_post("/_sim/api_faults", {"path": "/v1/*", "status": a.status,
                                              **({"method": method} if method else {})})
    else:
        kind = {"500": "error", "429": "rate_limit"}[a.status]
        for method in _CLERK_METHODS[a.calls]:  # rate 1: every matching call until cleared
            r = ctx.http.post(f"{ctx.target.clerk_api_url}/__sim/faults",
                              json={"endpoint": f"{method}/v1/*", "kind": kind, "rate": 1.0})
            if r.status_code >= 400:
                raise StepFailed(f"Clerk simulator refused the fault: {r.status_code} {r.text[:200]}")
    what = {"all": "every call", "reads": "every read", "writes": "every write"}[a.calls]
    return f"{a.service} outage: {what} answers {a.status}" + (" (rate limited)" if a.status == "429" else "")


def step_recover(ctx: RunContext, a) -> str:
    if a.service in ("stripe", "all"):
        ctx.http.delete(f"{ctx.target.stripe_url}/_sim/api_faults")
    if a.service in ("clerk", "all"):
        ctx.http.delete(f"{ctx.target.clerk_api_url}/__sim/faults")
    return f"{a.service if a.service != 'all' else 'Stripe and Clerk'} answering again"


def step_resend(ctx: RunContext, a) -> str:
    if not ctx.target.endpoint_id:
        raise StepFailed("resend needs the target's webhook endpoint id")
    since = {ctx_event["event"] for ctx_event in ctx.deliveries(ctx.scenario_mark)}
    try:
        events = ctx.stripe.v1.events.list(params={"type": a.event_type, "limit": 100}).data
    except stripe.StripeError as exc:
        raise StepFailed(f"Stripe refused: {exc.user_message or exc}") from None
    mine = [e for e in events if e.id in since]
    if not mine:
        raise StepFailed(f"no {a.event_type} event was delivered to the app in this scenario")
    event = max(mine, key=lambda e: e.created)
    r = ctx.http.post(f"{ctx.target.stripe_url}/v1/events/{event.id}/retry",
                      data={"webhook_endpoint": ctx.target.endpoint_id},
                      headers={"Authorization": f"Bearer {ctx.target.stripe_key}"})
    if r.status_code >= 400:
        raise StepFailed(f"Stripe refused the resend: {r.status_code} {r.text[:200]}")
    ctx.settle()
    last = [d for d in ctx.deliveries(ctx.scenario_mark) if d["event"] == event.id][-1]
    return f"resent {a.event_type} {event.id}: the app answered {last['status']}"


def step_roll_secret(ctx: RunContext, a) -> str:
    if not ctx.target.endpoint_id:
        raise StepFailed("roll_secret needs the target's webhook endpoint id")
    ctx.sim_post(f"/_sim/webhook_endpoints/{ctx.target.endpoint_id}/roll_secret", {"expires_in": a.expires_in})
    return f"endpoint {ctx.target.endpoint_id}: secret rolled, the old one valid {a.expires_in}s more"


def step_clear_faults(ctx: RunContext, a) -> str:
    ctx.http.delete(f"{ctx.target.stripe_url}/_sim/webhooks/faults")
    ctx.http.delete(f"{ctx.target.stripe_url}/_sim/api_faults")
    ctx.http.delete(f"{ctx.target.clerk_api_url}/_sim/faults")
    return "faults cleared"


def step_let_retries_run(ctx: RunContext, a) -> str:
    ctx.sim_post("/_sim/webhooks/advance", {"seconds": a.hours * 3600})
    ctx.settle()
    return f"{a.hours:g} h of delivery retries ran (virtual time)"
