"""Prices: one-time or recurring, with lookup keys (unique per mode, movable with transfer_lookup_key)."""

from __future__ import annotations

from ..params import CREATED_FILTER, Bool, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import in_range
from .catalog import new_price, plan_from_price, take_lookup_key

RECURRING = Obj({
    "interval": Enum("day", "week", "month", "year", required=True), "interval_count": Int(min=1, max=365),
    "usage_type": Enum("licensed", "metered"), "trial_period_days": Int(min=0, max=730), "meter": Str(),
})
PRODUCT_DATA = Obj({"name": Str(required=True), "active": Bool(), "metadata": Metadata(), "id": Str(),
                    "unit_label": Str(), "tax_code": Str(), "statement_descriptor": Str()})
CREATE = {
    "currency": Str(required=True, max_length=3), "product": Str(), "product_data": PRODUCT_DATA,
    "unit_amount": Int(min=0, max=99999999), "unit_amount_decimal": Str(), "recurring": RECURRING,
    "active": Bool(), "lookup_key": Str(max_length=200), "transfer_lookup_key": Bool(), "metadata": Metadata(),
    "nickname": Str(), "tax_behavior": Enum("exclusive", "inclusive", "unspecified"),
    "billing_scheme": Enum("per_unit"),
}
UPDATE = {"active": Bool(), "lookup_key": Str(max_length=200), "transfer_lookup_key": Bool(),
          "metadata": Metadata(), "nickname": Str(), "tax_behavior": Enum("exclusive", "inclusive", "unspecified")}
@route("POST", "/v1/prices", CREATE)
def create(ctx: Ctx, p: dict):
    return new_price(ctx, p)


@route("GET", "/v1/prices/{price_id}")
def retrieve(ctx: Ctx, p: dict, price_id: str):
    return ctx.get("price", price_id)


@route("POST", "/v1/prices/{price_id}", UPDATE)
def update(ctx: Ctx, p: dict, price_id: str):
    price = ctx.get("price", price_id)
    before = dict(price)
    if p.get("lookup_key"):
        take_lookup_key(ctx, p["lookup_key"], bool(p.get("transfer_lookup_key")), "lookup_key", price_id)
    for k in ("active", "lookup_key", "nickname", "tax_behavior"):
        if k in p:
            price[k] = p[k]
    if "metadata" in p:
        price["metadata"] = merge_metadata(price["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if price.get(k) != v}
    if changed:
        plan = ctx.table("plan").get(price_id)
        if plan is not None:  # the shared legacy `plan` view follows the price
            plan.update(plan_from_price(price))
        ctx.emit("price.updated", price, changed)
    return price


LIST = {
    "active": Bool(), "currency": Str(), "product": Str(), "type": Enum("one_time", "recurring"),
    "lookup_keys": List(Str(), max_items=10), "created": CREATED_FILTER,
    "recurring": Obj({"interval": Enum("day", "week", "month", "year"), "usage_type": Enum("licensed", "metered"),
                      "meter": Str()}),
}


@route("GET", "/v1/prices", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    keys = p.get("lookup_keys")

    def keep(pr):
        rec = p.get("recurring") or {}
        return ((p.get("active") is None or pr["active"] == p["active"])
                and (p.get("currency") is None or pr["currency"] == p["currency"].lower())
                and (p.get("product") is None or pr["product"] == p["product"])
                and (p.get("type") is None or pr["type"] == p["type"])
                and (not keys or pr["lookup_key"] in keys)
                and (p.get("created") is None or in_range(pr["created"], p["created"]))
                and all((pr["recurring"] or {}).get(k) == v for k, v in rec.items()))

    return paginate(ctx, "price", p, "/v1/prices", keep)
