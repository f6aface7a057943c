"""Plans: the older API for recurring prices. A plan and a price are one object seen two ways ("you can use
plans and prices interchangeably", Stripe's migration guide): creating a plan creates a recurring price with
the plan's id, and every recurring price can be read as a plan."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted
from ..params import Bool, Custom, Enum, Int, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .catalog import new_price, new_product, plan_for, plan_from_price

PRODUCT = Obj({"name": Str(required=True), "active": Bool(), "id": Str(), "metadata": Metadata(),
               "statement_descriptor": Str(max_length=22), "tax_code": Str(), "unit_label": Str(max_length=12)})


def _product_param(value, name):
    """`product` is an existing product's id, or a hash that creates one."""
    if isinstance(value, str):
        return value
    return PRODUCT.check(value, name)


CREATE = {"id": Str(max_length=200), "currency": Str(required=True, max_length=3),
          "interval": Enum("day", "week", "month", "year", required=True), "product": Custom(_product_param),
          "amount": Int(min=0, max=99999999), "active": Bool(), "interval_count": Int(min=1, max=365),
          "metadata": Metadata(), "nickname": Str(), "trial_period_days": Int(min=0, max=730),
          "usage_type": Enum("licensed", "metered"), "billing_scheme": Enum("per_unit")}
UPDATE = {"active": Bool(), "metadata": Metadata(), "nickname": Str(), "trial_period_days": Int(min=0, max=730)}


def _deleted(ctx: Ctx, plan_id: str) -> bool:
    return ctx.table("deleted_plan").get(plan_id) is not None


def _plan(ctx: Ctx, plan_id: str) -> tuple[dict, dict]:
    price = ctx.find("price", plan_id)
    if price is None or not price.get("recurring") or _deleted(ctx, plan_id):
        raise InvalidRequest(f"No such plan: '{plan_id}'", code="resource_missing", param="plan", status=404)
    return price, plan_for(ctx, price)


@route("POST", "/v1/plans", CREATE)
def create(ctx: Ctx, p: dict):
    plan_id = p.get("id") or ctx.new_id("plan")
    if ctx.find("price", plan_id):
        raise InvalidRequest("Plan already exists.", code="resource_already_exists", param="id")
    if p.get("amount") is None:
        raise InvalidRequest("Missing required param: amount.", code="parameter_missing", param="amount")
    if not p.get("product"):
        raise InvalidRequest("Missing required param: product.", code="parameter_missing", param="product")
    product = p["product"] if isinstance(p["product"], str) else new_product(ctx, dict(p["product"]))["id"]
    recurring = {k: p[k] for k in ("interval", "interval_count", "trial_period_days", "usage_type") if p.get(k)}
    price = new_price(ctx, {"currency": p["currency"], "product": product, "unit_amount": p["amount"],
                            "recurring": recurring, "active": p.get("active", True), "metadata": p.get("metadata"),
                            "nickname": p.get("nickname")}, price_id=plan_id)
    plan = plan_for(ctx, price)
    ctx.emit("plan.created", plan)
    return plan


@route("GET", "/v1/plans/{plan_id}")
def retrieve(ctx: Ctx, p: dict, plan_id: str):
    return _plan(ctx, plan_id)[1]


@route("POST", "/v1/plans/{plan_id}", UPDATE)
def update(ctx: Ctx, p: dict, plan_id: str):
    price, plan = _plan(ctx, plan_id)
    before = dict(plan)
    for k in ("active", "nickname"):
        if k in p:
            price[k] = p[k]
    if "metadata" in p:
        price["metadata"] = merge_metadata(price["metadata"], p["metadata"])
    if "trial_period_days" in p:
        price["recurring"] = {**price["recurring"], "trial_period_days": p["trial_period_days"]}
    plan.update(plan_from_price(price))
    changed = {k: v for k, v in before.items() if plan.get(k) != v}
    if changed:
        ctx.emit("plan.updated", plan, changed)
    return plan


@route("DELETE", "/v1/plans/{plan_id}")
def delete(ctx: Ctx, p: dict, plan_id: str):
    """"Deleting plans means new subscribers can't be added. Existing subscribers aren't affected" (API
    reference): the price stays for the subscriptions on it, inactive and no longer readable as a plan."""
    price, plan = _plan(ctx, plan_id)
    price["active"] = False
    ctx.table("deleted_plan").put({"id": plan_id})
    plan.update(plan_from_price(price))
    ctx.emit("plan.deleted", plan)
    return deleted("plan", plan_id)


@route("GET", "/v1/plans", {"active": Bool(), "product": Str()}, listing=True)
def list_(ctx: Ctx, p: dict):
    prices = [pr for pr in ctx.table("price").rows.values() if pr.get("recurring") and not _deleted(ctx, pr["id"])
              and (p.get("active") is None or pr["active"] == p["active"])
              and (p.get("product") is None or pr["product"] == p["product"])]
    return paginate(ctx, "plan", p, "/v1/plans", source=[plan_for(ctx, pr) for pr in reversed(prices)])
