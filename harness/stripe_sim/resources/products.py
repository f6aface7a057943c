"""Products, whose `metadata.plan` is what a receiver turns into a tier."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted
from ..params import CREATED_FILTER, Bool, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import in_range
from .catalog import new_price, new_product

DEFAULT_PRICE_DATA = Obj({
    "currency": Str(required=True), "unit_amount": Int(min=0), "unit_amount_decimal": Str(),
    "recurring": Obj({"interval": Str(choices=("day", "week", "month", "year"), required=True),
                      "interval_count": Int(min=1)}),
    "tax_behavior": Str(choices=("exclusive", "inclusive", "unspecified")), "metadata": Metadata(),
})
FIELDS = {
    "name": Str(max_length=250), "active": Bool(), "description": Str(max_length=40000),
    "metadata": Metadata(), "images": List(Str(), max_items=8), "url": Str(), "tax_code": Str(),
    "unit_label": Str(max_length=12), "statement_descriptor": Str(max_length=22), "shippable": Bool(),
    "marketing_features": List(Obj({"name": Str(required=True)}), max_items=15),
}
CREATE = {**FIELDS, "name": Str(max_length=250, required=True), "id": Str(max_length=200),
          "default_price_data": DEFAULT_PRICE_DATA, "type": Str(choices=("good", "service"))}
UPDATE = {**FIELDS, "default_price": Str()}


@route("POST", "/v1/products", CREATE)
def create(ctx: Ctx, p: dict):
    prod = new_product(ctx, p)
    if p.get("default_price_data"):
        price = new_price(ctx, {**p["default_price_data"], "product": prod["id"]}, "default_price_data")
        prod["default_price"] = price["id"]
    return prod


@route("GET", "/v1/products/{prod_id}")
def retrieve(ctx: Ctx, p: dict, prod_id: str):
    return ctx.get("product", prod_id)


@route("POST", "/v1/products/{prod_id}", UPDATE)
def update(ctx: Ctx, p: dict, prod_id: str):
    prod = ctx.get("product", prod_id)
    before = dict(prod)
    for k in ("name", "active", "description", "images", "url", "tax_code", "unit_label", "statement_descriptor",
              "shippable", "marketing_features"):
        if k in p:
            prod[k] = p[k] if p[k] is not None or k not in ("images", "marketing_features") else []
    if "metadata" in p:
        prod["metadata"] = merge_metadata(prod["metadata"], p["metadata"])
    if "default_price" in p:
        if p["default_price"]:
            price = ctx.get("price", p["default_price"], "default_price")
            if price["product"] != prod_id:
                raise InvalidRequest("The default price must belong to this product.", param="default_price")
        prod["default_price"] = p["default_price"]
    changed = {k: v for k, v in before.items() if prod.get(k) != v}
    if changed:
        prod["updated"] = ctx.now()
        ctx.emit("product.updated", prod, changed)
    return prod


@route("DELETE", "/v1/products/{prod_id}")
def delete(ctx: Ctx, p: dict, prod_id: str):
    prod = ctx.get("product", prod_id)
    if any(pr["product"] == prod_id for pr in ctx.table("price").rows.values()):
        raise InvalidRequest("This product cannot be deleted because it has one or more user-created prices.")
    ctx.table("product").remove(prod_id)
    ctx.emit("product.deleted", prod)
    return deleted("product", prod_id)


LIST = {"active": Bool(), "ids": List(Str()), "url": Str(), "created": CREATED_FILTER, "shippable": Bool()}


@route("GET", "/v1/products", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    active, ids, url, created = p.get("active"), p.get("ids"), p.get("url"), p.get("created")

    def keep(prod):
        return ((active is None or prod["active"] == active) and (not ids or prod["id"] in ids)
                and (url is None or prod["url"] == url) and (created is None or in_range(prod["created"], created)))

    return paginate(ctx, "product", p, "/v1/products", keep)
