"""Tax rates (`/v1/tax_rates`): the objects, created, changed, listed and archived (`active=false`; Stripe
never deletes them). Applying them to subscriptions and invoices (`default_tax_rates`, `tax_rates`) is not
simulated: those parameters are refused as unknown, so no total is ever computed without its tax."""

from __future__ import annotations

from ..objects import shape
from ..params import CREATED_FILTER, Bool, Decimal, Enum, Metadata, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import in_range

TAX_TYPES = ("amusement_tax", "communications_tax", "gst", "hst", "igst", "jct", "lease_tax", "pst", "qst",
             "retail_delivery_fee", "rst", "sales_tax", "service_tax", "vat")
CREATE = {"display_name": Str(max_length=50, required=True), "inclusive": Bool(required=True),
          "percentage": Decimal(required=True), "active": Bool(), "country": Str(max_length=2),
          "description": Str(), "jurisdiction": Str(max_length=50), "metadata": Metadata(),
          "state": Str(max_length=2), "tax_type": Enum(*TAX_TYPES)}
UPDATE = {"active": Bool(), "country": Str(max_length=2), "description": Str(), "display_name": Str(max_length=50),
          "jurisdiction": Str(max_length=50), "metadata": Metadata(), "state": Str(max_length=2),
          "tax_type": Enum(*TAX_TYPES)}


@route("POST", "/v1/tax_rates", CREATE)
def create(ctx: Ctx, p: dict):
    pct = p["percentage"]
    pct = int(pct) if pct == int(pct) else pct
    rate = shape("tax_rate", {
        "id": ctx.new_id("txr"), "active": p.get("active", True), "country": p.get("country"), "created": ctx.now(),
        "description": p.get("description"), "display_name": p["display_name"], "effective_percentage": pct,
        "inclusive": p["inclusive"], "jurisdiction": p.get("jurisdiction"), "livemode": ctx.livemode,
        "metadata": merge_metadata({}, p.get("metadata") or {}), "percentage": pct, "rate_type": "percentage",
        "state": p.get("state"), "tax_type": p.get("tax_type")})
    ctx.put("tax_rate", rate)
    ctx.emit("tax_rate.created", rate)
    return rate


@route("GET", "/v1/tax_rates/{txr_id}")
def retrieve(ctx: Ctx, p: dict, txr_id: str):
    return ctx.get("tax_rate", txr_id)


@route("POST", "/v1/tax_rates/{txr_id}", UPDATE)
def update(ctx: Ctx, p: dict, txr_id: str):
    rate = ctx.get("tax_rate", txr_id)
    before = {k: rate[k] for k in UPDATE}
    for k in UPDATE:
        if k in p and k != "metadata":
            rate[k] = p[k]
    if "metadata" in p:
        rate["metadata"] = merge_metadata(rate["metadata"], p["metadata"])
    changed = {k: v for k, v in before.items() if rate[k] != v}
    if changed:
        ctx.emit("tax_rate.updated", rate, changed)
    return rate


@route("GET", "/v1/tax_rates", {"active": Bool(), "inclusive": Bool(), "created": CREATED_FILTER}, listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "tax_rate", p, "/v1/tax_rates", lambda r: (
        (p.get("active") is None or r["active"] == p["active"])
        and (p.get("inclusive") is None or r["inclusive"] == p["inclusive"])
        and (p.get("created") is None or in_range(r["created"], p["created"]))))
