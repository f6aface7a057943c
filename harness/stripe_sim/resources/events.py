"""Events: recorded by every state change (see `Ctx.emit`), listed and retrieved like Stripe's.

Delivery bookkeeping lives in `sim.deliveries` (filled by the webhook deliverer): per event, the
endpoints still pending and those that failed, which backs `delivery_success` and `pending_webhooks`.
"""

from __future__ import annotations

import fnmatch

from ..frozen import freeze_all, thaw
from ..objects import shape
from ..params import CREATED_FILTER, Bool, List, Str
from ..routing import Ctx, paginate, route
from .billing_math import in_range


def endpoint_matches(endpoint: dict, event_type: str) -> bool:
    return endpoint["status"] == "enabled" and (
        "*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"])


def render(event: dict) -> dict:
    """The whole event: the stored header plus its frozen payload (`data`, `api_version`, `request`)."""
    body = thaw(event)
    return shape("event", {"id": event["id"], "api_version": body["api_version"], "created": event["created"],
                           "data": body["data"], "livemode": event["livemode"],
                           "pending_webhooks": event["pending_webhooks"], "request": body["request"],
                           "type": event["type"]})


def commit_events(ctx: Ctx):
    endpoints = [e for e in ctx.table("webhook_endpoint").rows.values() if not e.get("deleted")]
    for event in ctx.events:
        event["pending_webhooks"] = sum(1 for e in endpoints if endpoint_matches(e, event["type"]))
        ctx.put("event", event)
    freeze_all(ctx.events)


LIST = {"type": Str(), "types": List(Str(), max_items=20), "created": CREATED_FILTER,
        "delivery_success": Bool()}


@route("GET", "/v1/events", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    pattern, types, created = p.get("type"), p.get("types"), p.get("created")
    success = p.get("delivery_success")
    deliveries = getattr(ctx.sim, "deliveries", {})

    def keep(evt):
        if pattern and not (fnmatch.fnmatchcase(evt["type"], pattern) if "*" in pattern else evt["type"] == pattern):
            return False
        if types and evt["type"] not in types:
            return False
        if created and not in_range(evt["created"], created):
            return False
        if success is not None:
            state = deliveries.get(evt["id"])
            ok = not state or not (state.get("pending") or state.get("failed"))
            if ok != success:
                return False
        return True

    filtered = pattern or types or created or success is not None
    exact = pattern and "*" not in pattern
    page = paginate(ctx, "event", p, "/v1/events", keep if filtered else None,
                    having=("type", pattern) if exact else None)
    page["data"] = [render(e) for e in page["data"]]
    return page


@route("GET", "/v1/events/{evt_id}")
def retrieve(ctx: Ctx, p: dict, evt_id: str):
    return render(ctx.get("event", evt_id))
