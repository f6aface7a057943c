"""Subscription items: the lines of a subscription, each with a price and (since API 2025-03-31) its
own current period. Changes go through the subscription so its events carry the whole story."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted
from ..params import Bool, Enum, Int, Metadata, Str
from ..routing import Ctx, paginate, route
from .subscriptions import update_subscription

PRORATION = Enum("always_invoice", "create_prorations", "none")
CREATE = {"subscription": Str(required=True), "price": Str(required=True), "quantity": Int(min=0),
          "metadata": Metadata(), "proration_behavior": PRORATION, "proration_date": Int(min=0),
          "payment_behavior": Enum("allow_incomplete", "default_incomplete", "error_if_incomplete",
                                   "pending_if_incomplete")}
UPDATE = {"price": Str(), "quantity": Int(min=0), "metadata": Metadata(), "proration_behavior": PRORATION,
          "proration_date": Int(min=0), "off_session": Bool(),
          "payment_behavior": Enum("allow_incomplete", "default_incomplete", "error_if_incomplete",
                                   "pending_if_incomplete")}
DELETE = {"proration_behavior": PRORATION, "proration_date": Int(min=0), "clear_usage": Bool()}


def _sub_params(p: dict, item_spec: dict) -> dict:
    out = {"items": [item_spec]}
    for k in ("proration_behavior", "proration_date", "payment_behavior"):
        if k in p:
            out[k] = p[k]
    return out


@route("POST", "/v1/subscription_items", CREATE)
def create(ctx: Ctx, p: dict):
    sub = ctx.get("subscription", p["subscription"], "subscription")
    if any(it["price"]["id"] == p["price"] for it in sub["items"]["data"]):
        raise InvalidRequest("Cannot add multiple subscription items with the same price to a subscription.",
                             param="price")
    spec = {"price": p["price"], "quantity": p.get("quantity", 1), "metadata": p.get("metadata") or {}}
    update_subscription(ctx, sub, _sub_params(p, spec))
    return sub["items"]["data"][-1]


@route("GET", "/v1/subscription_items/{si_id}")
def retrieve(ctx: Ctx, p: dict, si_id: str):
    return ctx.get("subscription_item", si_id)


@route("POST", "/v1/subscription_items/{si_id}", UPDATE)
def update(ctx: Ctx, p: dict, si_id: str):
    item = ctx.get("subscription_item", si_id)
    sub = ctx.get("subscription", item["subscription"])
    spec = {"id": si_id, **{k: p[k] for k in ("price", "quantity", "metadata") if k in p}}
    update_subscription(ctx, sub, _sub_params(p, spec))
    return ctx.get("subscription_item", si_id)


@route("DELETE", "/v1/subscription_items/{si_id}", DELETE)
def delete(ctx: Ctx, p: dict, si_id: str):
    item = ctx.get("subscription_item", si_id)
    sub = ctx.get("subscription", item["subscription"])
    if len(sub["items"]["data"]) == 1:
        raise InvalidRequest("A subscription must have at least one active plan. To cancel a subscription, "
                             "please use the cancel API endpoint.")
    update_subscription(ctx, sub, _sub_params(p, {"id": si_id, "deleted": True}))
    return deleted("subscription_item", si_id)


@route("GET", "/v1/subscription_items", {"subscription": Str(required=True)}, listing=True)
def list_(ctx: Ctx, p: dict):
    sub = ctx.get("subscription", p["subscription"], "subscription")
    return paginate(ctx, "subscription_item", p, f"/v1/subscription_items?subscription={sub['id']}",
                    source=list(reversed(sub["items"]["data"])))
