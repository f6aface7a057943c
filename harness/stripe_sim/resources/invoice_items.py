"""Invoice items: one-off charges that wait on the customer until an invoice includes them."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted, shape
from ..params import Bool, Int, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .invoicing import add_item_to_draft, refresh_item_line

CREATE = {"customer": Str(required=True), "amount": Int(), "currency": Str(max_length=3), "description": Str(),
          "metadata": Metadata(), "quantity": Int(min=1), "invoice": Str(), "subscription": Str(),
          "discountable": Bool(), "period": Obj({"start": Int(required=True), "end": Int(required=True)}),
          "unit_amount_decimal": Str(), "pricing": Obj({"price": Str()})}


def _pricing(price: dict) -> dict:
    return shape("invoiceitem:pricing", {"price_details": {"price": price["id"], "product": price["product"]},
                                         "type": "price_details", "unit_amount_decimal": str(price["unit_amount"])})


@route("POST", "/v1/invoiceitems", CREATE)
def create(ctx: Ctx, p: dict):
    cus = ctx.get("customer", p["customer"], "customer")
    price = None
    if (p.get("pricing") or {}).get("price"):
        price = ctx.get("price", p["pricing"]["price"], "pricing[price]")
    if price is None and p.get("amount") is None:
        raise InvalidRequest("Missing required param: amount.", code="parameter_missing", param="amount")
    currency = (p.get("currency") or (price or {}).get("currency") or "").lower()
    if not currency:
        raise InvalidRequest("Missing required param: currency.", code="parameter_missing", param="currency")
    qty = p.get("quantity") or 1
    amount = p["amount"] if p.get("amount") is not None else price["unit_amount"] * qty
    now = ctx.now(cus)
    period = p.get("period") or {"start": now, "end": now}
    item = shape("invoiceitem", {
        "id": ctx.new_id("ii"), "amount": amount, "currency": currency, "customer": cus["id"], "date": now,
        "description": p.get("description"), "discountable": p.get("discountable", True),
        "livemode": ctx.livemode, "metadata": merge_metadata({}, p.get("metadata") or {}), "net_amount": amount,
        "period": period, "pricing": _pricing(price) if price else None, "proration": False, "quantity": qty,
        "quantity_decimal": str(qty), "test_clock": cus.get("test_clock"),
    })
    ctx.put("invoiceitem", item)
    ctx.emit("invoiceitem.created", item)
    if p.get("invoice"):
        add_item_to_draft(ctx, ctx.get("invoice", p["invoice"], "invoice"), item)
    return item


@route("GET", "/v1/invoiceitems/{ii_id}")
def retrieve(ctx: Ctx, p: dict, ii_id: str):
    return ctx.get("invoiceitem", ii_id)


UPDATE = {"amount": Int(), "description": Str(), "metadata": Metadata(), "quantity": Int(min=1),
          "discountable": Bool(), "period": Obj({"start": Int(required=True), "end": Int(required=True)}),
          "unit_amount_decimal": Str(), "pricing": Obj({"price": Str()})}


def _change(ctx: Ctx, item: dict, p: dict):
    """What an update (of the item, or of its line on a draft invoice) changes on the invoice item."""
    price = ctx.get("price", p["pricing"]["price"], "pricing[price]") if (p.get("pricing") or {}).get("price") \
        else None
    if price is not None:
        item["pricing"] = _pricing(price)
    for k in ("description", "discountable", "period", "quantity"):
        if k in p:
            item[k] = p[k]
    item["quantity_decimal"] = str(item["quantity"])
    if "metadata" in p:
        item["metadata"] = merge_metadata(item["metadata"], p["metadata"])
    if p.get("amount") is not None:
        item["amount"] = p["amount"]
    elif price is not None or "quantity" in p and item["pricing"]:
        unit = int(item["pricing"]["unit_amount_decimal"])
        item["amount"] = unit * (item["quantity"] or 1)
    item["net_amount"] = item["amount"]


@route("POST", "/v1/invoiceitems/{ii_id}", UPDATE)
def update(ctx: Ctx, p: dict, ii_id: str):
    """Change an invoice item while it is pending or on a draft invoice ("Updates the amount or description of
    an invoice item on an upcoming invoice. Updating an invoice item is only possible before the invoice it's
    attached to is closed", API reference)."""
    item = ctx.get("invoiceitem", ii_id)
    inv = ctx.get("invoice", item["invoice"]) if item["invoice"] else None
    if inv is not None and inv["status"] != "draft":
        raise InvalidRequest("You can only update invoice items that are pending or on a draft invoice; this one "
                             f"is on an invoice that is {inv['status']}.")
    _change(ctx, item, p)
    if inv is not None:
        refresh_item_line(ctx, inv, item)
    return item  # no event: the API version has none for an updated invoice item (only created / deleted)


@route("POST", "/v1/invoices/{inv_id}/lines/{line_id}", UPDATE)
def update_line(ctx: Ctx, p: dict, inv_id: str, line_id: str):
    """https://docs.stripe.com/api/invoice-line-item/update: "Updating an invoice's line item is only possible
    before the invoice is finalized"; fields that "live on both the invoice item and the invoice line item"
    propagate to the invoice item. A subscription's line takes only its description and metadata here (its
    amount comes from the subscription: change the subscription instead)."""
    inv = ctx.get("invoice", inv_id)
    line = next((ln for ln in inv["lines"]["data"] if ln["id"] == line_id), None)
    if line is None:
        raise InvalidRequest(f"No such invoice line item: '{line_id}'", code="resource_missing", status=404)
    if inv["status"] != "draft":
        raise InvalidRequest(f"You can only update the line items of a draft invoice; this one is {inv['status']}.")
    item_id = (line["parent"].get("invoice_item_details") or {}).get("invoice_item")
    if item_id is None:
        fixed = sorted(k for k in p if k not in ("description", "metadata", "expand"))
        if fixed:
            raise InvalidRequest(f"The {fixed[0]} of a subscription's invoice line item cannot be updated: it comes "
                                 "from the subscription.", param=fixed[0])
        if "description" in p:
            line["description"] = p["description"] or None
        if "metadata" in p:
            line["metadata"] = merge_metadata(line["metadata"], p["metadata"])
        return line
    item = ctx.get("invoiceitem", item_id)
    _change(ctx, item, p)
    refresh_item_line(ctx, inv, item)
    return next(ln for ln in inv["lines"]["data"] if ln["id"] == line_id)


@route("DELETE", "/v1/invoiceitems/{ii_id}")
def delete(ctx: Ctx, p: dict, ii_id: str):
    item = ctx.get("invoiceitem", ii_id)
    if item["invoice"]:
        raise InvalidRequest("This invoice item is attached to an invoice and cannot be deleted.")
    ctx.table("invoiceitem").remove(ii_id)
    ctx.emit("invoiceitem.deleted", item)
    return deleted("invoiceitem", ii_id)


@route("GET", "/v1/invoiceitems", {"customer": Str(), "invoice": Str(), "pending": Bool()}, listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "invoiceitem", p, "/v1/invoiceitems", lambda ii: (
        (p.get("customer") is None or ii["customer"] == p["customer"])
        and (p.get("invoice") is None or ii["invoice"] == p["invoice"])
        and (p.get("pending") is None or (ii["invoice"] is None) == p["pending"])))


