"""Webhook endpoints: where events go. The signing secret is shown on create only, per mode."""

from __future__ import annotations

from urllib.parse import urlparse

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import UNPARSEABLE, Bool, List, Metadata, Str, merge_metadata
from ..routing import Ctx, paginate, route, served_version
from .event_types import EVENT_TYPES

FIELDS = {"url": Str(max_length=5000), "enabled_events": List(Str(), max_items=len(EVENT_TYPES) + 1),
          "description": Str(max_length=5000), "metadata": Metadata()}
CREATE = {**FIELDS, "url": Str(max_length=5000, required=True),
          "enabled_events": List(Str(), max_items=len(EVENT_TYPES) + 1, required=True),
          "api_version": Str(), "connect": Bool()}
UPDATE = {**FIELDS, "disabled": Bool()}
MAX_ENDPOINTS = 16


def _check_url(url: str, param: str = "url"):
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidRequest(f"Invalid URL: {url}. URLs must begin with http:// or https://", param=param)


def _check_events(events: list[str]):
    if not events:
        raise InvalidRequest("Missing required param: enabled_events.", code="parameter_missing",
                             param="enabled_events")
    for i, e in enumerate(events):
        if e != "*" and e not in EVENT_TYPES:
            raise InvalidRequest(f"Invalid enabled_events[{i}]: must be one of the event types Stripe sends, or "
                                 f"'*' ({e!r} is not).", param=f"enabled_events[{i}]")


@route("POST", "/v1/webhook_endpoints", CREATE)
def create(ctx: Ctx, p: dict):
    _check_url(p["url"])
    _check_events(p["enabled_events"])
    if p.get("api_version"):
        try:
            served_version(p["api_version"])  # events are sent in the shapes of a served version only
        except InvalidRequest:
            # Stripe's answer to an endpoint pinned to a version it will not send (2024-06-20 on a 2026 account):
            # its generic text, naming no parameter (observed, Lauiskk/ticket-to-ride README)
            raise InvalidRequest(UNPARSEABLE) from None
    if len(ctx.table("webhook_endpoint")) >= MAX_ENDPOINTS:
        raise InvalidRequest(f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints.")
    we = shape("webhook_endpoint", {
        "id": ctx.new_id("we"), "api_version": p.get("api_version"), "created": ctx.now(),
        "description": p.get("description"), "enabled_events": list(dict.fromkeys(p["enabled_events"])),
        "livemode": ctx.livemode, "metadata": merge_metadata({}, p.get("metadata") or {}), "status": "enabled",
        "url": p["url"]})
    ctx.put("webhook_endpoint", we)
    secret = ctx.store.ids.secret("whsec", 32)
    ctx.sim.webhook_secrets[we["id"]] = [{"secret": secret, "expires_at": None}]
    return {**we, "secret": secret}


@route("GET", "/v1/webhook_endpoints/{we_id}")
def retrieve(ctx: Ctx, p: dict, we_id: str):
    return ctx.get("webhook_endpoint", we_id)


@route("POST", "/v1/webhook_endpoints/{we_id}", UPDATE)
def update(ctx: Ctx, p: dict, we_id: str):
    we = ctx.get("webhook_endpoint", we_id)
    if "url" in p:
        _check_url(p["url"])
        we["url"] = p["url"]
    if "enabled_events" in p:
        _check_events(p["enabled_events"] or [])
        we["enabled_events"] = list(dict.fromkeys(p["enabled_events"]))
    if "description" in p:
        we["description"] = p["description"]
    if "metadata" in p:
        we["metadata"] = merge_metadata(we["metadata"], p["metadata"])
    if "disabled" in p and p["disabled"] is not None:
        we["status"] = "disabled" if p["disabled"] else "enabled"
    for listener in getattr(ctx.sim, "endpoint_listeners", []):
        listener(ctx.mode, we)
    return we


@route("DELETE", "/v1/webhook_endpoints/{we_id}")
def delete(ctx: Ctx, p: dict, we_id: str):
    we = ctx.get("webhook_endpoint", we_id)
    ctx.table("webhook_endpoint").remove(we_id)
    ctx.sim.webhook_secrets.pop(we_id, None)
    for listener in getattr(ctx.sim, "endpoint_listeners", []):
        listener(ctx.mode, {**we, "deleted": True})
    return deleted("webhook_endpoint", we_id)


@route("GET", "/v1/webhook_endpoints", listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "webhook_endpoint", p, "/v1/webhook_endpoints")




def roll_secret(ctx: Ctx, we_id: str, expires_in: int = 86400) -> str:
    """The Dashboard's "Roll secret": a new secret now; the old ones stay valid for `expires_in` seconds
    (Stripe allows up to 24 h), and meanwhile deliveries carry one `v1` per valid secret."""
    ctx.get("webhook_endpoint", we_id)
    secret = ctx.store.ids.secret("whsec", 32)
    expires = ctx.sim.clock.time() + expires_in
    old = [{**s, "expires_at": min(s["expires_at"] or expires, expires)}
           for s in ctx.sim.webhook_secrets.get(we_id, [])]
    ctx.sim.webhook_secrets[we_id] = [{"secret": secret, "expires_at": None}, *old]
    return secret
