"""Webhook delivery controls: `POST /v1/events/{id}/retry` (what `stripe events resend` calls), and the
simulator's `/_sim/...` routes for faults, the delivery log, virtual time, secret rolling, `listen`
sessions and API faults."""

from __future__ import annotations

import dataclasses
import time

from ..api_faults import ApiFault
from ..errors import InvalidRequest
from ..params import Bool, Decimal, Enum, Int, List, Str, Url
from ..routing import Ctx, route
from ..webhooks.faults import KINDS, Fault, FaultError
from .events import render
from .webhook_endpoints import roll_secret

MODE = Enum("test", "live")
TEN_YEARS = 10 * 366 * 86400
CENTURY = 100 * 366 * 86400


class Bounded(Decimal):
    """A finite number of seconds within [low, high]: a control input that cannot break the simulator."""

    def __init__(self, low: float, high: float, **kw):
        super().__init__(**kw)
        self.low, self.high = low, high

    def check(self, value, name):
        n = super().check(value, name)
        if not self.low <= n <= self.high:
            raise InvalidRequest(f"Invalid {name}: must be between {self.low:.10g} and {self.high:.10g}", param=name)
        return n


def _owner_mode(ctx: Ctx, obj_id: str | None, given: str | None) -> str:
    return given or (ctx.store.mode_of(obj_id) if obj_id else None) or "test"


@route("POST", "/v1/events/{evt_id}/retry", {"webhook_endpoint": Str(required=True)})
def retry(ctx: Ctx, p: dict, evt_id: str):
    event = ctx.get("event", evt_id)
    ctx.get("webhook_endpoint", p["webhook_endpoint"], "webhook_endpoint")
    if ctx.sim.clock.now() - event["created"] > 30 * 86400:
        raise InvalidRequest("Events older than 30 days cannot be resent.", param="id")
    ctx.sim.webhooks.resend(ctx.mode, evt_id, p["webhook_endpoint"])
    return render(event)


FAULT = {
    "kind": Enum(*KINDS, required=True), "endpoint": Str(), "event_type": Str(), "event_id": Str(),
    "count": Int(min=1, max=1_000_000), "copies": Int(min=1, max=100), "concurrent": Bool(),
    "seconds": Bounded(0, TEN_YEARS), "attempts": Int(min=0, max=100), "until": Str(),
    "window": Int(min=2, max=10000), "seed": Int(), "secret": Str(), "offset": Int(min=-TEN_YEARS, max=TEN_YEARS),
    "value": Str(),
}


@route("POST", "/_sim/webhooks/faults", FAULT, admin=True)
def add_fault(ctx: Ctx, p: dict):
    p.pop("expand", None)
    try:
        fault = ctx.sim.webhooks.faults.add(Fault(**p))
    except FaultError as exc:
        raise InvalidRequest(str(exc), param="kind") from None
    return {"object": "sim.fault", **fault.as_dict()}


@route("GET", "/_sim/webhooks/faults", admin=True)
def list_faults(ctx: Ctx, p: dict):
    return {"object": "list", "data": [f.as_dict() for f in ctx.sim.webhooks.faults.faults], "has_more": False,
            "url": "/_sim/webhooks/faults"}


@route("DELETE", "/_sim/webhooks/faults", admin=True)
def clear_faults(ctx: Ctx, p: dict):
    ctx.sim.webhooks.faults.clear()
    return {"object": "sim.faults", "deleted": True}


@route("DELETE", "/_sim/webhooks/faults/{fault_id}", admin=True)
def remove_fault(ctx: Ctx, p: dict, fault_id: str):
    if not ctx.sim.webhooks.faults.remove(fault_id):
        raise InvalidRequest(f"No such fault: '{fault_id}'", code="resource_missing", param="id", status=404)
    return {"object": "sim.fault", "id": fault_id, "deleted": True}


@route("GET", "/_sim/webhooks/log", {"event": Str(), "endpoint": Str(), "limit": Int(min=1, max=100000),
                                     "offset": Int(min=0)}, admin=True)
def delivery_log(ctx: Ctx, p: dict):
    """Delivery attempts, oldest first; `offset` skips the first N matching ones (poll for what is new)."""
    data = ctx.sim.webhooks.attempts(event=p.get("event"), endpoint=p.get("endpoint"))
    total = len(data)
    data = data[p.get("offset") or 0:]
    if p.get("limit"):
        data = data[-p["limit"]:]
    return {"object": "list", "data": data, "has_more": False, "total_count": total, "url": "/_sim/webhooks/log"}


@route("POST", "/_sim/webhooks/advance", {"seconds": Bounded(0, TEN_YEARS, required=True)}, admin=True,
       waits=True)
def advance(ctx: Ctx, p: dict):
    if ctx.sim.clock.time() + p["seconds"] > time.time() + CENTURY:  # every timestamp stays a date
        raise InvalidRequest("Invalid seconds: the clock may not move more than 100 years past real time "
                             "(POST /_sim/reset or /_sim/world/restore puts it back)", param="seconds")
    ctx.sim.webhooks.advance(p["seconds"])
    ctx.sim.run_due()  # what the new time makes due (bank debits settling) happens now, not at the next call
    return {"object": "sim.clock", "now": ctx.sim.clock.time()}


@route("POST", "/_sim/webhooks/wait_idle", {"timeout": Bounded(0, 300)}, admin=True, waits=True)
def wait_idle(ctx: Ctx, p: dict):
    return {"object": "sim.idle", "idle": ctx.sim.webhooks.wait_idle(p.get("timeout") or 10.0)}


@route("POST", "/_sim/webhook_endpoints/{we_id}/roll_secret", {"expires_in": Int(min=0, max=86400)}, admin=True)
def roll(ctx: Ctx, p: dict, we_id: str):
    ctx.mode = _owner_mode(ctx, we_id, None)
    return {"object": "sim.secret", "endpoint": we_id, "secret": roll_secret(ctx, we_id, p.get("expires_in", 86400))}


@route("POST", "/_sim/webhook_endpoints/{we_id}/secret", {"secret": Str(required=True)}, admin=True)
def set_secret(ctx: Ctx, p: dict, we_id: str):
    """Give an endpoint a known signing secret (a simulator control: lets an already configured receiver
    keep its STRIPE_WEBHOOK_SECRET when the engine points an endpoint at it)."""
    ctx.mode = _owner_mode(ctx, we_id, None)
    ctx.get("webhook_endpoint", we_id)
    if not p["secret"].startswith("whsec_"):
        raise InvalidRequest("A signing secret starts with whsec_.", param="secret")
    ctx.sim.webhook_secrets[we_id] = [{"secret": p["secret"], "expires_at": None}]
    return {"object": "sim.secret", "endpoint": we_id}


@route("POST", "/_sim/listen", {"url": Url(required=True), "mode": MODE, "events": List(Str())}, admin=True)
def listen(ctx: Ctx, p: dict):
    return {"object": "sim.listen_session",
            **ctx.sim.webhooks.add_session(p.get("mode") or "test", p["url"], p.get("events"))}


@route("DELETE", "/_sim/listen/{session_id}", admin=True)
def stop_listen(ctx: Ctx, p: dict, session_id: str):
    ctx.sim.webhooks.remove_session(session_id)
    return {"object": "sim.listen_session", "id": session_id, "deleted": True}


API_FAULT = {"path": Str(required=True), "method": Enum("GET", "POST", "DELETE"), "count": Int(min=1, max=1_000_000),
             "share": Decimal(), "status": Enum("500", "429", "timeout", required=True),
             "retry_after": Int(min=0, max=86400), "seconds": Bounded(0, 600)}


@route("POST", "/_sim/api_faults", API_FAULT, admin=True)
def add_api_fault(ctx: Ctx, p: dict):
    p.pop("expand", None)
    if p.get("share") is not None and not 0 < p["share"] <= 1:
        raise InvalidRequest("share must be in (0, 1]", param="share")
    fault = ctx.sim.api_faults.add(ApiFault(**p))
    return {"object": "sim.api_fault", **fault.as_dict()}


@route("DELETE", "/_sim/api_faults", admin=True)
def clear_api_faults(ctx: Ctx, p: dict):
    ctx.sim.api_faults.clear()
    return {"object": "sim.api_faults", "deleted": True}


@route("GET", "/_sim/requests", {"limit": Int(min=1, max=100000)}, admin=True)
def request_log(ctx: Ctx, p: dict):
    data = [dataclasses.asdict(r) for r in ctx.sim.request_log[-(p.get("limit") or 1000):]]
    return {"object": "list", "data": data, "has_more": False, "url": "/_sim/requests"}
