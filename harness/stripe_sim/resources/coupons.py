"""Coupons (percent or amount off; once / repeating / forever) and the discounts they become."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import CREATED_FILTER, Decimal, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import add_months, in_range

CREATE = {
    "id": Str(max_length=200), "name": Str(max_length=40), "percent_off": Decimal(), "amount_off": Int(min=1),
    "currency": Str(max_length=3), "duration": Enum("forever", "once", "repeating"),
    "duration_in_months": Int(min=1), "max_redemptions": Int(min=1), "redeem_by": Int(min=0),
    "metadata": Metadata(), "applies_to": Obj({"products": List(Str())}),
}
UPDATE = {"name": Str(max_length=40), "metadata": Metadata()}


@route("POST", "/v1/coupons", CREATE)
def create(ctx: Ctx, p: dict):
    pct, amt = p.get("percent_off"), p.get("amount_off")
    if (pct is None) == (amt is None):
        raise InvalidRequest("Must provide one of `percent_off` or `amount_off`." if pct is None else
                             "You may only specify one of these parameters: amount_off, percent_off.",
                             param="percent_off")
    if pct is not None and not 0 < pct <= 100:
        raise InvalidRequest("Invalid percent_off: must be greater than 0 and at most 100.", param="percent_off")
    if amt is not None and not p.get("currency"):
        raise InvalidRequest("You must specify a currency when creating an amount_off coupon.",
                             code="parameter_missing", param="currency")
    duration = p.get("duration") or "once"
    months = p.get("duration_in_months")
    if duration == "repeating" and not months:
        raise InvalidRequest("Missing required param: duration_in_months.", code="parameter_missing",
                             param="duration_in_months")
    if duration != "repeating" and months:
        raise InvalidRequest("duration_in_months can only be set when duration is 'repeating'.",
                             param="duration_in_months")
    coupon_id = p.get("id") or ctx.new_id("x", 8)[2:]
    if ctx.find("coupon", coupon_id) and not ctx.find("coupon", coupon_id).get("deleted"):
        raise InvalidRequest("Coupon already exists.", code="resource_already_exists", param="id")
    products = (p.get("applies_to") or {}).get("products")
    for i, prod in enumerate(products or []):
        ctx.get("product", prod, f"applies_to[products][{i}]")
    coupon = shape("coupon", {
        "id": coupon_id, "amount_off": amt,
        "created": ctx.now(),
        "currency": (p.get("currency") or "").lower() or None, "duration": duration, "duration_in_months": months,
        "livemode": ctx.livemode, "max_redemptions": p.get("max_redemptions"),
        "metadata": merge_metadata({}, p.get("metadata") or {}), "name": p.get("name"),
        "percent_off": int(pct) if pct is not None and pct == int(pct) else pct, "redeem_by": p.get("redeem_by"),
        "times_redeemed": 0, "valid": True,
        **({"applies_to": {"products": products}} if products else {}),  # absent unless set, as at Stripe
    })
    ctx.put("coupon", coupon)
    ctx.emit("coupon.created", coupon)
    return coupon


@route("GET", "/v1/coupons/{coupon_id}")
def retrieve(ctx: Ctx, p: dict, coupon_id: str):
    return refresh_validity(ctx, ctx.get("coupon", coupon_id))


@route("POST", "/v1/coupons/{coupon_id}", UPDATE)
def update(ctx: Ctx, p: dict, coupon_id: str):
    coupon = ctx.get("coupon", coupon_id)
    before = {"name": coupon["name"], "metadata": coupon["metadata"]}
    if "name" in p:
        coupon["name"] = p["name"]
    if "metadata" in p:
        coupon["metadata"] = merge_metadata(coupon["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if coupon[k] != v}
    if changed:
        ctx.emit("coupon.updated", coupon, changed)
    return coupon


@route("DELETE", "/v1/coupons/{coupon_id}")
def delete(ctx: Ctx, p: dict, coupon_id: str):
    coupon = ctx.get("coupon", coupon_id)
    ctx.table("coupon").remove(coupon_id)
    ctx.emit("coupon.deleted", coupon)
    return deleted("coupon", coupon_id)


@route("GET", "/v1/coupons", {"created": CREATED_FILTER}, listing=True)
def list_(ctx: Ctx, p: dict):
    created = p.get("created")
    return paginate(ctx, "coupon", p, "/v1/coupons",
                    (lambda c: in_range(c["created"], created)) if created else None)


def refresh_validity(ctx: Ctx, coupon: dict, now: int | None = None) -> dict:
    now = ctx.now() if now is None else now
    coupon["valid"] = not ((coupon["redeem_by"] and now > coupon["redeem_by"])
                           or (coupon["max_redemptions"] and coupon["times_redeemed"] >= coupon["max_redemptions"]))
    return coupon


def usable_coupon(ctx: Ctx, coupon_id: str, param: str, now: int | None = None) -> dict:
    coupon = refresh_validity(ctx, ctx.get("coupon", coupon_id, param), now)
    if not coupon["valid"]:
        raise InvalidRequest(f"Coupon expired: {coupon_id}", code="coupon_expired", param=param)
    return coupon


def new_discount(ctx: Ctx, coupon: dict, *, customer: str | None, subscription: str | None = None,
                 promotion_code: str | None = None, checkout_session: str | None = None,
                 start: int | None = None) -> dict:
    start = ctx.now() if start is None else start
    end = None
    if coupon["duration"] == "repeating":
        end = add_months(start, coupon["duration_in_months"])
    discount = shape("discount", {
        "id": ctx.new_id("di"), "checkout_session": checkout_session, "customer": customer, "end": end,
        "promotion_code": promotion_code, "source": shape("discount:source", {"coupon": coupon["id"], "type": "coupon"}),
        "start": start, "subscription": subscription,
    })
    coupon["times_redeemed"] += 1
    refresh_validity(ctx, coupon, start)
    return ctx.put("discount", discount)
