"""A customer's or subscription's discount: removing it (`DELETE .../discount`), and the customer-level
discount older API versions set with `coupon` / `promotion_code` on a customer."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted
from ..routing import Ctx, route
from .coupons import new_discount, usable_coupon
from .promotion_codes import redeemable


def _deleted(ctx: Ctx, discount: dict) -> dict:
    # Stripe's deleted_discount: the discount's fields but `end`, and `deleted: true`
    out = deleted("discount", discount["id"], {k: v for k, v in discount.items()
                                               if k not in ("id", "object", "end", "deleted")})
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
    return removed[0]


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
    return removed


def legacy_customer_discount(ctx: Ctx, cus: dict, p: dict) -> tuple[str, dict] | None:
    """`coupon` or `promotion_code` on a customer, which Stripe took before 2025-03-31.basil (only requests
    pinned to such a version get here: versions.py). Sets the customer's discount ('' removes it) and returns
    the `customer.discount.*` event to send, or None when nothing changed."""
    given = [k for k in ("coupon", "promotion_code") if k in p]
    if not given:
        return None
    if len(given) > 1:
        raise InvalidRequest("You may only specify one of these parameters: coupon, promotion_code.", param="coupon")
    key, old = given[0], cus.get("discount")
    if not p[key]:
        if not old:
            return None
        cus["discount"] = None
        out = {**old, "deleted": True}
        out.pop("end", None)
        return "customer.discount.deleted", out
    now = ctx.now(cus)
    promo_id = None
    if key == "promotion_code":
        promo = ctx.get("promotion_code", p[key], key)
        coupon = redeemable(ctx, promo, customer=cus, amount=0, currency="", now=now, param=key)
        promo["times_redeemed"] += 1
        promo_id = promo["id"]
    else:
        coupon = usable_coupon(ctx, p[key], key, now)
    cus["discount"] = dict(new_discount(ctx, coupon, customer=cus["id"], promotion_code=promo_id, start=now))
    return ("customer.discount.updated" if old else "customer.discount.created"), cus["discount"]
