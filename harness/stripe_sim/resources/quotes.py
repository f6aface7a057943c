"""Quotes: a priced offer to a customer (draft, finalized to `open`, then accepted or canceled).

Accepting a quote makes what it sells: a subscription for its recurring line items (charged as any
subscription), or a draft invoice for one-time items. Discounts, taxes, and scheduled starts
(`subscription_data[effective_date]`) on quotes are not simulated (refused as unknown parameters).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import EMPTY_LIST, Custom, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import invoicing
from .invoice_items import create as create_invoice_item
from .subscriptions import create_subscription

EXPIRES_AFTER = 30 * 86400
LINE = Obj({"price": Str(required=True), "quantity": Int(min=0)})


def _lines(value, name):
    """`line_items` as a list, or as the CLI's indexed hash (`line_items[0][...]`)."""
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        value = [value[k] for k in sorted(value, key=int)]
    return List(LINE, max_items=20).check(value, name)


CREATE = {"customer": Str(), "line_items": Custom(_lines), "description": Str(max_length=500),
          "header": Str(max_length=50), "footer": Str(max_length=500), "metadata": Metadata(),
          "expires_at": Int(min=0), "collection_method": Enum("charge_automatically", "send_invoice")}
UPDATE = {"description": Str(max_length=500), "header": Str(max_length=50), "footer": Str(max_length=500),
          "metadata": Metadata(), "expires_at": Int(min=0)}


def _line(ctx: Ctx, quote_id: str, price: dict, qty: int) -> dict:
    amount = price["unit_amount"] * qty
    return shape("item", {
        "id": ctx.new_id("li"), "amount_discount": 0, "amount_subtotal": amount, "amount_tax": 0,
        "amount_total": amount, "currency": price["currency"],
        "description": (ctx.find("product", price["product"]) or {}).get("name"), "discounts": EMPTY_LIST,
        "metadata": {}, "price": price, "quantity": qty, "taxes": EMPTY_LIST})


def _totals(lines: list[dict], recurring: bool | None) -> dict:
    """The totals of the recurring lines, of the one-time ones, or (None) of all."""
    picked = [ln for ln in lines if recurring is None or (ln["price"]["type"] == "recurring") == recurring]
    total = sum(ln["amount_total"] for ln in picked)
    return {"amount_subtotal": total, "amount_total": total, "total_details": _no_details()}


def _no_details() -> dict:
    return shape("quote:total_details", {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0})


def public(quote: dict) -> dict:
    return {k: v for k, v in quote.items() if k != "line_items"}


@route("POST", "/v1/quotes", CREATE)
def create(ctx: Ctx, p: dict):
    customer = ctx.get("customer", p["customer"], "customer") if p.get("customer") else None
    now = ctx.now(customer)
    quote_id = ctx.new_id("qt")
    lines = []
    for i, spec in enumerate(p.get("line_items") or []):
        price = ctx.get("price", spec["price"], f"line_items[{i}][price]")
        lines.append(_line(ctx, quote_id, price, spec.get("quantity") if spec.get("quantity") is not None else 1))
    currencies = {ln["currency"] for ln in lines}
    if len(currencies) > 1:
        raise InvalidRequest("All line items of a quote must have the same currency.", param="line_items")
    recurring = [ln["price"]["recurring"] for ln in lines if ln["price"]["type"] == "recurring"]
    rec = _totals(lines, True)
    quote = shape("quote", {
        "id": quote_id, "amount_subtotal": sum(ln["amount_subtotal"] for ln in lines),
        "amount_total": sum(ln["amount_total"] for ln in lines),
        "automatic_tax": shape("quote:automatic_tax", {"enabled": False}),
        "collection_method": p.get("collection_method") or "charge_automatically",
        "computed": shape("quote:computed", {
            "recurring": shape("quote:computed.recurring", {
                **rec, "interval": recurring[0]["interval"], "interval_count": recurring[0]["interval_count"]})
            if recurring else None,
            # "the totals on the first invoice": the one-time items and the first period of the recurring ones
            "upfront": shape("quote:computed.upfront", _totals(lines, None))}),
        "created": now, "currency": currencies.pop() if currencies else "usd",
        "customer": customer["id"] if customer else None, "description": p.get("description"),
        "expires_at": p.get("expires_at") or now + EXPIRES_AFTER, "footer": p.get("footer"),
        "header": p.get("header"),
        "invoice_settings": shape("quote:invoice_settings", {"issuer": {"type": "self"}}), "livemode": ctx.livemode,
        "metadata": merge_metadata({}, p.get("metadata") or {}), "status": "draft",
        "status_transitions": shape("quote:status_transitions", {}),
        "subscription_data": shape("quote:subscription_data", {"billing_mode": {"type": "classic"}}),
        "test_clock": customer.get("test_clock") if customer else None, "total_details": _no_details(),
        "line_items": {"object": "list", "data": lines, "has_more": False, "url": f"/v1/quotes/{quote_id}/line_items"},
    })
    ctx.put("quote", quote)
    ctx.emit("quote.created", public(quote))
    return public(quote)


@route("GET", "/v1/quotes/{quote_id}")
def retrieve(ctx: Ctx, p: dict, quote_id: str):
    return public(ctx.get("quote", quote_id))


@route("GET", "/v1/quotes/{quote_id}/line_items", listing=True)
def list_line_items(ctx: Ctx, p: dict, quote_id: str):
    quote = ctx.get("quote", quote_id)
    return paginate(ctx, "quote_line_item", p, f"/v1/quotes/{quote_id}/line_items",
                    source=list(reversed(quote["line_items"]["data"])))


@route("GET", "/v1/quotes/{quote_id}/computed_upfront_line_items", listing=True)
def list_computed_upfront_line_items(ctx: Ctx, p: dict, quote_id: str):
    """"The computed upfront line items": what the first invoice charges, every line of the quote (one-time items
    and the first period of recurring ones; no discounts or taxes are simulated on quotes)."""
    quote = ctx.get("quote", quote_id)
    return paginate(ctx, "quote_line_item", p, f"/v1/quotes/{quote_id}/computed_upfront_line_items",
                    source=list(reversed(quote["line_items"]["data"])))


@route("GET", "/v1/quotes", {"customer": Str(), "status": Str()}, listing=True)
def list_(ctx: Ctx, p: dict):
    page = paginate(ctx, "quote", p, "/v1/quotes", lambda q: (
        (p.get("customer") is None or q["customer"] == p["customer"])
        and (p.get("status") is None or q["status"] == p["status"])))
    page["data"] = [public(q) for q in page["data"]]
    return page


@route("POST", "/v1/quotes/{quote_id}", UPDATE)
def update(ctx: Ctx, p: dict, quote_id: str):
    quote = ctx.get("quote", quote_id)
    if quote["status"] != "draft":
        raise InvalidRequest(f"You can only update a draft quote; this one is {quote['status']}.")
    for k in ("description", "header", "footer", "expires_at"):
        if k in p:
            quote[k] = p[k]
    if "metadata" in p:
        quote["metadata"] = merge_metadata(quote["metadata"], p["metadata"])
    return public(quote)


@route("POST", "/v1/quotes/{quote_id}/finalize", {"expires_at": Int(min=0)})
def finalize(ctx: Ctx, p: dict, quote_id: str):
    quote = ctx.get("quote", quote_id)
    if quote["status"] != "draft":
        raise InvalidRequest(f"You can only finalize a draft quote; this one is {quote['status']}.")
    if not quote["customer"]:
        raise InvalidRequest("A quote needs a customer before it can be finalized.", param="customer")
    if not quote["line_items"]["data"]:
        raise InvalidRequest("A quote needs at least one line item before it can be finalized.", param="line_items")
    now = ctx.now(quote["customer"])
    count = sum(1 for q in ctx.table("quote").rows.values() if q["number"]) + 1
    quote.update(status="open", number=f"QT-{count:04d}", expires_at=p.get("expires_at") or quote["expires_at"])
    quote["status_transitions"] = {**quote["status_transitions"], "finalized_at": now}
    ctx.emit("quote.finalized", public(quote))
    return public(quote)


@route("POST", "/v1/quotes/{quote_id}/accept")
def accept(ctx: Ctx, p: dict, quote_id: str):
    """The customer agrees: a subscription for recurring items (its first invoice charged as usual), else a
    draft invoice with the one-time items."""
    quote = ctx.get("quote", quote_id)
    if quote["status"] != "open":
        raise InvalidRequest(f"You can only accept an open (finalized) quote; this one is {quote['status']}.")
    now = ctx.now(quote["customer"])
    lines = quote["line_items"]["data"]
    recurring = [ln for ln in lines if ln["price"]["type"] == "recurring"]
    if recurring:
        sub = create_subscription(ctx, {"customer": quote["customer"], "collection_method": quote["collection_method"],
                                        "days_until_due": 30 if quote["collection_method"] == "send_invoice" else None,
                                        "items": [{"price": ln["price"]["id"], "quantity": ln["quantity"]}
                                                  for ln in recurring], "description": quote["description"]})
        quote.update(subscription=sub["id"], invoice=sub["latest_invoice"])
    else:
        for ln in lines:
            create_invoice_item(ctx, {"customer": quote["customer"], "pricing": {"price": ln["price"]["id"]},
                                      "quantity": ln["quantity"] or 1})
        cus = ctx.get("customer", quote["customer"])
        items = invoicing.pending_for(ctx, cus["id"])
        inv_id = ctx.new_id("in")
        inv_lines = [invoicing.attach_to_invoice(ctx, ii, inv_id) for ii in items]
        inv = invoicing.build_invoice(ctx, cus, inv_id, inv_lines, sum(ln["amount"] for ln in inv_lines), [], now,
                                      quote["currency"], quote["collection_method"], "manual", None, (now, now),
                                      description=quote["description"])
        quote["invoice"] = inv["id"]
    quote["status"] = "accepted"
    quote["status_transitions"] = {**quote["status_transitions"], "accepted_at": now}
    ctx.emit("quote.accepted", public(quote))
    return public(quote)


@route("POST", "/v1/quotes/{quote_id}/cancel")
def cancel(ctx: Ctx, p: dict, quote_id: str):
    quote = ctx.get("quote", quote_id)
    if quote["status"] not in ("draft", "open"):
        raise InvalidRequest(f"You can only cancel a draft or open quote; this one is {quote['status']}.")
    quote["status"] = "canceled"
    quote["status_transitions"] = {**quote["status_transitions"], "canceled_at": ctx.now(quote["customer"])}
    ctx.emit("quote.canceled", public(quote))
    return public(quote)
