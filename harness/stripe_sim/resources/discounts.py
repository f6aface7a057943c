"""Removing the discount of a subscription or a customer (`DELETE .../discount`)."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..routing import Ctx, route

DELETED = {"object": "discount", "deleted": True}


def _deleted(ctx: Ctx, discount: dict) -> dict:
    out = {**discount, "deleted": True}
    out.pop("end", None)  # a deleted discount has no `end` (Stripe's deleted_discount)
    ctx.emit("customer.discount.deleted", out)
    return out


@route("DELETE", "/v1/subscriptions/{sub_id}/discount")
def delete_subscription_discount(ctx: Ctx, p: dict, sub_id: str):
    """"Removes the currently applied discount on a subscription ... returns an error otherwise, such as if no
    discount exists on this subscription" (API reference, "Delete a subscription discount")."""
    sub = ctx.get("subscription", sub_id)
    if not sub["discounts"]:
        raise InvalidRequest(f"The subscription {sub_id} has no discount to remove.")
    before = {"discounts": list(sub["discounts"])}
    removed = [_deleted(ctx, ctx.get("discount", di_id)) for di_id in sub["discounts"]]
    sub["discounts"] = []
    ctx.emit("customer.subscription.updated", sub, before)
    return {**DELETED, **{k: removed[0][k] for k in ("id", "customer", "subscription", "promotion_code")}}


@route("DELETE", "/v1/customers/{cus_id}/discount")
def delete_customer_discount(ctx: Ctx, p: dict, cus_id: str):
    """A customer-level discount (the Dashboard can apply one; the API no longer takes `coupon` on customers)."""
    cus = ctx.get("customer", cus_id)
    if not cus.get("discount"):
        raise InvalidRequest(f"The customer {cus_id} has no discount to remove.")
    before = {"discount": cus["discount"]}
    removed = _deleted(ctx, cus["discount"])
    cus["discount"] = None
    ctx.emit("customer.updated", cus, before)
    return {**DELETED, **{k: removed[k] for k in ("id", "customer", "subscription", "promotion_code")}}
