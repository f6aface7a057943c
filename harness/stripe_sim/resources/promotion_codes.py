"""Promotion codes: customer-facing codes for a coupon, with redemption limits and restrictions."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import CREATED_FILTER, Bool, Enum, Int, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import in_range
from .coupons import refresh_validity

RESTRICTIONS = Obj({"first_time_transaction": Bool(), "minimum_amount": Int(min=1),
                    "minimum_amount_currency": Str(max_length=3)})
CREATE = {
    "promotion": Obj({"type": Enum("coupon", required=True), "coupon": Str()}, required=True),
    "code": Str(max_length=500), "active": Bool(), "customer": Str(), "expires_at": Int(min=0),
    "max_redemptions": Int(min=1), "metadata": Metadata(), "restrictions": RESTRICTIONS,
}
UPDATE = {"active": Bool(), "metadata": Metadata(), "restrictions": Obj({})}


@route("POST", "/v1/promotion_codes", CREATE)
def create(ctx: Ctx, p: dict):
    promotion = p["promotion"]
    if not promotion.get("coupon"):
        raise InvalidRequest("Missing required param: promotion[coupon].", code="parameter_missing",
                             param="promotion[coupon]")
    coupon = ctx.get("coupon", promotion["coupon"], "promotion[coupon]")
    code = p.get("code") or ctx.new_id("x", 8)[2:].upper()
    if not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidRequest("Invalid code: only letters, digits, '-' and '_' are allowed.", param="code")
    if any(pc["code"].lower() == code.lower() and pc["active"] for pc in ctx.table("promotion_code").rows.values()):
        raise InvalidRequest("An active promotion code with `code: " + code + "` already exists.",
                             code="resource_already_exists", param="code")
    if p.get("customer"):
        ctx.get("customer", p["customer"], "customer")
    r = p.get("restrictions") or {}
    if r.get("minimum_amount") and not r.get("minimum_amount_currency"):
        raise InvalidRequest("Missing required param: restrictions[minimum_amount_currency].",
                             code="parameter_missing", param="restrictions[minimum_amount_currency]")
    promo = shape("promotion_code", {
        "id": ctx.new_id("promo"), "active": p.get("active", True), "code": code,
        "created": ctx.now(), "customer": p.get("customer"),
        "expires_at": p.get("expires_at"), "livemode": ctx.livemode, "max_redemptions": p.get("max_redemptions"),
        "metadata": merge_metadata({}, p.get("metadata") or {}),
        "promotion": {"coupon": coupon["id"], "type": "coupon"},
        "restrictions": {"currency_options": {}, "first_time_transaction": bool(r.get("first_time_transaction")),
                         "minimum_amount": r.get("minimum_amount"),
                         "minimum_amount_currency": (r.get("minimum_amount_currency") or "").lower() or None},
        "times_redeemed": 0,
    })
    ctx.put("promotion_code", promo)
    ctx.emit("promotion_code.created", promo)
    return promo


@route("GET", "/v1/promotion_codes/{promo_id}")
def retrieve(ctx: Ctx, p: dict, promo_id: str):
    return ctx.get("promotion_code", promo_id)


@route("POST", "/v1/promotion_codes/{promo_id}", UPDATE)
def update(ctx: Ctx, p: dict, promo_id: str):
    promo = ctx.get("promotion_code", promo_id)
    before = {"active": promo["active"], "metadata": promo["metadata"]}
    if "active" in p:
        if p["active"] and not promo["active"] and any(
                o["code"].lower() == promo["code"].lower() and o["active"]
                for o in ctx.table("promotion_code").rows.values()):
            raise InvalidRequest("Another active promotion code uses this code.", param="active")
        promo["active"] = p["active"]
    if "metadata" in p:
        promo["metadata"] = merge_metadata(promo["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if promo[k] != v}
    if changed:
        ctx.emit("promotion_code.updated", promo, changed)
    return promo


LIST = {"active": Bool(), "code": Str(), "coupon": Str(), "customer": Str(), "created": CREATED_FILTER}


@route("GET", "/v1/promotion_codes", LIST, listing=True)
def list_(ctx: Ctx, p: dict):

    def keep(pc):
        return ((p.get("active") is None or pc["active"] == p["active"])
                and (p.get("code") is None or pc["code"].lower() == p["code"].lower())
                and (p.get("coupon") is None or pc["promotion"]["coupon"] == p["coupon"])
                and (p.get("customer") is None or pc["customer"] == p["customer"])
                and (p.get("created") is None or in_range(pc["created"], p["created"])))

    return paginate(ctx, "promotion_code", p, "/v1/promotion_codes", keep)


def redeemable(ctx: Ctx, promo: dict, *, customer: dict | None, amount: int, currency: str, now: int,
               param: str = "promotion_code") -> dict:
    """The promotion code's coupon if it may be used now for this purchase, else Stripe's error."""
    def fail(msg):
        raise InvalidRequest(msg, param=param)

    if not promo["active"]:
        fail("This promotion code is inactive.")
    if promo["expires_at"] and now > promo["expires_at"]:
        fail("This promotion code has expired.")
    if promo["max_redemptions"] and promo["times_redeemed"] >= promo["max_redemptions"]:
        fail("This promotion code has reached its maximum number of redemptions.")
    if promo["customer"] and (customer is None or customer["id"] != promo["customer"]):
        fail("This promotion code cannot be redeemed by this customer.")
    r = promo["restrictions"]
    if r["first_time_transaction"] and customer is not None and any(
            inv["customer"] == customer["id"] and inv["status"] == "paid" and inv["amount_paid"] > 0
            for inv in ctx.table("invoice").rows.values()):
        fail("This promotion code cannot be redeemed because it is only for first-time customers.")
    if r["minimum_amount"] and (currency != r["minimum_amount_currency"] or amount < r["minimum_amount"]):
        fail("This promotion code requires a minimum order amount.")
    coupon = refresh_validity(ctx, ctx.get("coupon", promo["promotion"]["coupon"], param), now)
    if not coupon["valid"]:
        fail("This promotion code's coupon is no longer valid.")
    return coupon


def find_by_code(ctx: Ctx, code: str) -> dict | None:
    for pc in ctx.table("promotion_code").rows.values():
        if pc["code"].lower() == code.strip().lower() and pc["active"]:
            ctx.touch("promotion_code", pc)  # the caller may redeem it
            return pc
    return None
