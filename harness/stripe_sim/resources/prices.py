"""Prices: one-time or recurring, with lookup keys (unique per mode, movable with transfer_lookup_key)."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..params import CREATED_FILTER, Bool, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .products import create as create_product

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
CURRENCIES = {"usd", "eur", "gbp", "cad", "aud", "jpy", "chf", "sek", "nok", "dkk", "nzd", "sgd", "hkd",
              "inr", "brl", "mxn", "pln", "czk"}


def _take_lookup_key(ctx: Ctx, key: str, transfer: bool, param: str, owner: str | None):
    for other in ctx.table("price").rows.values():
        if other.get("lookup_key") == key and other["id"] != owner:
            if not transfer:
                raise InvalidRequest(f"A price (`{other['id']}`) already uses that lookup key.",
                                     param=param)
            other["lookup_key"] = None


def _decimal_amount(text: str, param: str) -> int:
    import decimal
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > 99_999_999_999:
        raise InvalidRequest(f"Invalid decimal: {str(text)[:40]}", param=param, code="parameter_invalid_decimal")
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))


def new_price(ctx: Ctx, p: dict, prefix: str | None = None) -> dict:
    def name(k):
        return f"{prefix}[{k}]" if prefix else k

    currency = p["currency"].lower()
    if currency not in CURRENCIES:
        raise InvalidRequest(f"Invalid currency: {p['currency']}. Stripe currently supports these currencies: "
                             + ", ".join(sorted(CURRENCIES)), code="parameter_invalid", param=name("currency"))
    if p.get("product") and p.get("product_data"):
        raise InvalidRequest("You may only specify one of these parameters: product, product_data.",
                             param=name("product"))
    if p.get("product"):
        product = ctx.get("product", p["product"], name("product"))
    elif p.get("product_data"):
        product = create_product(ctx, dict(p["product_data"]))
    else:
        raise InvalidRequest("Missing required param: product.", code="parameter_missing", param=name("product"))
    amount = p.get("unit_amount")
    if amount is None and p.get("unit_amount_decimal") is not None:
        amount = _decimal_amount(p["unit_amount_decimal"], name("unit_amount_decimal"))
    if amount is None:
        raise InvalidRequest("Missing required param: unit_amount.", code="parameter_missing",
                             param=name("unit_amount"))
    if p.get("unit_amount") is not None and p.get("unit_amount_decimal") is not None:
        raise InvalidRequest("You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                             param=name("unit_amount"))
    if p.get("lookup_key"):
        _take_lookup_key(ctx, p["lookup_key"], bool(p.get("transfer_lookup_key")), name("lookup_key"), None)
    rec = p.get("recurring")
    recurring = None
    if rec:
        recurring = {"interval": rec["interval"], "interval_count": rec.get("interval_count") or 1,
                     "meter": rec.get("meter"), "trial_period_days": rec.get("trial_period_days"),
                     "usage_type": rec.get("usage_type") or "licensed"}
    price = {
        "id": ctx.new_id("price"), "object": "price", "active": p.get("active", True),
        "billing_scheme": "per_unit", "created": ctx.now(), "currency": currency, "custom_unit_amount": None,
        "livemode": ctx.livemode, "lookup_key": p.get("lookup_key"),
        "metadata": merge_metadata({}, p.get("metadata") or {}), "nickname": p.get("nickname"),
        "product": product["id"], "recurring": recurring, "tax_behavior": p.get("tax_behavior") or "unspecified",
        "tiers_mode": None, "transform_quantity": None, "type": "recurring" if recurring else "one_time",
        "unit_amount": amount, "unit_amount_decimal": str(amount),
    }
    ctx.put("price", price)
    ctx.emit("price.created", price)
    return price


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
        _take_lookup_key(ctx, p["lookup_key"], bool(p.get("transfer_lookup_key")), "lookup_key", price_id)
    for k in ("active", "lookup_key", "nickname", "tax_behavior"):
        if k in p:
            price[k] = p[k]
    if "metadata" in p:
        price["metadata"] = merge_metadata(price["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if price.get(k) != v}
    if changed:
        plan = ctx.table("plan").get(price_id)
        if plan is not None:  # the shared legacy `plan` view follows the price
            from .subscriptions import plan_from_price
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
    from .customers import in_range
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
