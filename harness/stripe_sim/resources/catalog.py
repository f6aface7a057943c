"""The product catalog's builders: products, prices, and the legacy `plan` view of a recurring price.

Shared by the products and prices routes (a product can be created with a default price, a price with
its product) and by subscriptions (items carry a `plan`), so it imports none of them."""

from __future__ import annotations

import decimal

from ..errors import InvalidRequest
from ..objects import shape
from ..params import merge_metadata
from ..routing import Ctx


def new_product(ctx: Ctx, p: dict) -> dict:
    prod_id = p.get("id") or ctx.new_id("prod", 14)
    if ctx.find("product", prod_id):
        raise InvalidRequest("Product already exists.", code="resource_already_exists", param="id")
    now = ctx.now()
    prod = shape("product", {
        "id": prod_id, "active": p.get("active", True), "created": now,
        "default_price": None, "description": p.get("description"), "images": p.get("images") or [],
        "livemode": ctx.livemode, "marketing_features": p.get("marketing_features") or [],
        "metadata": merge_metadata({}, p.get("metadata") or {}), "name": p["name"],
        "shippable": p.get("shippable"),
        "statement_descriptor": p.get("statement_descriptor"), "tax_code": p.get("tax_code"),
        "type": p.get("type") or "service", "unit_label": p.get("unit_label"),
        "updated": now, "url": p.get("url"),
    })
    ctx.put("product", prod)
    ctx.emit("product.created", prod)
    return prod


CURRENCIES = {"usd", "eur", "gbp", "cad", "aud", "jpy", "chf", "sek", "nok", "dkk", "nzd", "sgd", "hkd",
              "inr", "brl", "mxn", "pln", "czk"}


def take_lookup_key(ctx: Ctx, key: str, transfer: bool, param: str, owner: str | None):
    for other in ctx.table("price").rows.values():
        if other.get("lookup_key") == key and other["id"] != owner:
            if not transfer:
                raise InvalidRequest(f"A price (`{other['id']}`) already uses that lookup key.",
                                     param=param)
            other["lookup_key"] = None


def decimal_amount(text: str, param: str) -> int:
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > 99_999_999_999:
        raise InvalidRequest(f"Invalid decimal: {str(text)[:40]}", param=param, code="parameter_invalid_decimal")
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))


def new_price(ctx: Ctx, p: dict, prefix: str | None = None, price_id: str | None = None) -> dict:
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
        product = new_product(ctx, dict(p["product_data"]))
    else:
        raise InvalidRequest("Missing required param: product.", code="parameter_missing", param=name("product"))
    amount = p.get("unit_amount")
    if amount is None and p.get("unit_amount_decimal") is not None:
        amount = decimal_amount(p["unit_amount_decimal"], name("unit_amount_decimal"))
    if amount is None:
        raise InvalidRequest("Missing required param: unit_amount.", code="parameter_missing",
                             param=name("unit_amount"))
    if p.get("unit_amount") is not None and p.get("unit_amount_decimal") is not None:
        raise InvalidRequest("You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                             param=name("unit_amount"))
    if p.get("lookup_key"):
        take_lookup_key(ctx, p["lookup_key"], bool(p.get("transfer_lookup_key")), name("lookup_key"), None)
    rec = p.get("recurring")
    recurring = None
    if rec:
        recurring = {"interval": rec["interval"], "interval_count": rec.get("interval_count") or 1,
                     "meter": rec.get("meter"), "trial_period_days": rec.get("trial_period_days"),
                     "usage_type": rec.get("usage_type") or "licensed"}
    price = shape("price", {
        "id": price_id or ctx.new_id("price"), "active": p.get("active", True),
        "billing_scheme": "per_unit", "created": ctx.now(), "currency": currency,
        "livemode": ctx.livemode, "lookup_key": p.get("lookup_key"),
        "metadata": merge_metadata({}, p.get("metadata") or {}), "nickname": p.get("nickname"),
        "product": product["id"], "recurring": recurring, "tax_behavior": p.get("tax_behavior") or "unspecified",
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount, "unit_amount_decimal": str(amount),
    })
    ctx.put("price", price)
    ctx.emit("price.created", price)
    return price


def plan_from_price(price: dict) -> dict:
    rec = price["recurring"]
    return shape("plan", {
        "id": price["id"], "active": price["active"], "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"], "billing_scheme": price["billing_scheme"],
        "created": price["created"], "currency": price["currency"], "interval": rec["interval"],
        "interval_count": rec["interval_count"], "livemode": price["livemode"], "metadata": price["metadata"],
        "meter": rec.get("meter"), "nickname": price["nickname"], "product": price["product"],
        "trial_period_days": rec.get("trial_period_days"), "usage_type": rec.get("usage_type", "licensed")})


def plan_for(ctx: Ctx, price: dict) -> dict:
    """The legacy `plan` view of a price: one shared object per price, refreshed when the price changes."""
    table = ctx.table("plan")
    plan = table.get(price["id"])
    if plan is None:  # made through ctx.put: a request that fails (or a preview) leaves no plan behind
        plan = ctx.put("plan", plan_from_price(price))
    return plan
