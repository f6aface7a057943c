"""Invoice routes: retrieve, list, lines, update, pay, finalize, void, delete, and one-off invoices."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import deleted
from ..params import CREATED_FILTER, Bool, Enum, Int, Metadata, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import bank_transfers, payment_methods, sepa_debit
from .billing_math import in_range
from .invoicing import (
    after_invoice_paid,
    attach_to_invoice,
    build_invoice,
    collect,
    finalize,
    mark_paid,
    pending_for,
    subscription_of,
    waiting_bank_transfer,
)


@route("GET", "/v1/invoices/{inv_id}")
def retrieve(ctx: Ctx, p: dict, inv_id: str):
    return ctx.get("invoice", inv_id)


LIST = {"customer": Str(), "subscription": Str(), "status": Enum("draft", "open", "paid", "uncollectible", "void"),
        "collection_method": Enum("charge_automatically", "send_invoice"), "created": CREATED_FILTER}


@route("GET", "/v1/invoices", LIST, listing=True)
def list_(ctx: Ctx, p: dict):

    def keep(inv):
        return ((p.get("customer") is None or inv["customer"] == p["customer"])
                and (p.get("subscription") is None
                     or subscription_of(inv) == p["subscription"])
                and (p.get("status") is None or inv["status"] == p["status"])
                and (p.get("collection_method") is None or inv["collection_method"] == p["collection_method"])
                and (p.get("created") is None or in_range(inv["created"], p["created"])))

    return paginate(ctx, "invoice", p, "/v1/invoices", keep)


@route("GET", "/v1/invoices/{inv_id}/lines", listing=True)
def list_lines(ctx: Ctx, p: dict, inv_id: str):
    inv = ctx.get("invoice", inv_id)
    return paginate(ctx, "line_item", p, f"/v1/invoices/{inv_id}/lines", source=list(reversed(inv["lines"]["data"])))


@route("POST", "/v1/invoices/{inv_id}", {"metadata": Metadata(), "description": Str(),
                                         "auto_advance": Bool(), "footer": Str()})
def update(ctx: Ctx, p: dict, inv_id: str):
    inv = ctx.get("invoice", inv_id)
    before = {k: inv.get(k) for k in ("metadata", "description", "auto_advance", "footer")}
    if "metadata" in p:
        inv["metadata"] = merge_metadata(inv["metadata"], p["metadata"])
    for k in ("description", "auto_advance", "footer"):
        if k in p:
            inv[k] = p[k]
    changed = {k: v for k, v in before.items() if inv.get(k) != v}
    if changed:
        ctx.emit("invoice.updated", inv, changed)
    return inv


@route("POST", "/v1/invoices/{inv_id}/pay", {"payment_method": Str(), "paid_out_of_band": Bool(),
                                             "off_session": Bool()})
def pay(ctx: Ctx, p: dict, inv_id: str):
    """Pay an open (or draft: finalized first) invoice now, e.g. after the customer fixed their card.
    A decline is a 402, and its attempt and events are still recorded, as at Stripe."""
    inv = ctx.get("invoice", inv_id)
    now = ctx.now(inv["customer"])
    if inv["status"] == "draft":
        finalize(ctx, inv, now)
        if inv["status"] == "paid":  # by the customer's cash balance, at finalization
            return inv
    if inv["status"] != "open":
        raise InvalidRequest(f"Invoice is already {inv['status']}." if inv["status"] == "paid"
                             else f"This invoice cannot be paid because it is {inv['status']}.",
                             code="invoice_not_open" if inv["status"] != "paid" else "invoice_already_paid")
    pi_id = ((inv["payments"]["data"] or [{}])[0].get("payment") or {}).get("payment_intent")
    if pi_id and sepa_debit.pending_for(ctx, pi_id):
        raise InvalidRequest("This invoice's payment is processing (a bank debit); it can be paid again only if "
                             "that payment fails.")
    sub_id = subscription_of(inv)
    payer = ctx.get("subscription", sub_id) if sub_id else {"customer": inv["customer"],
                                                           "default_payment_method": inv["default_payment_method"]}
    if p.get("paid_out_of_band"):
        mark_paid(ctx, inv, now, 0)
        ctx.emit("invoice.paid", inv)
        result = "paid"
    else:
        if p.get("payment_method"):
            pm = payment_methods.attach(ctx, p["payment_method"], ctx.get("customer", inv["customer"]))
            payer = dict(payer, default_payment_method=pm["id"])
        result = collect(ctx, inv, payer, now)
    if result == "processing":  # a bank debit: the invoice stays open until it settles (sepa_debit.py)
        return inv
    if result != "paid":
        ctx.keep_events_on_error = True
        if result == "requires_action" and waiting_bank_transfer(ctx, inv):
            # Stripe's code for an invoice whose PaymentIntent needs the customer (here: their transfer)
            raise InvalidRequest("This payment requires additional user action before it can be completed "
                                 "successfully: the customer's bank transfer has not arrived yet.",
                                 code="invoice_payment_intent_requires_action")
        if result == "requires_action":
            raise payment_methods.decline_error("authentication_required")
        raise payment_methods.decline_error("generic_decline")
    if sub_id:
        after_invoice_paid(ctx, ctx.get("subscription", sub_id), inv, now)
    return inv


@route("POST", "/v1/invoices/{inv_id}/finalize", {"auto_advance": Bool()})
def finalize_route(ctx: Ctx, p: dict, inv_id: str):
    inv = ctx.get("invoice", inv_id)
    if inv["status"] != "draft":
        raise InvalidRequest("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    finalize(ctx, inv, ctx.now(inv["customer"]))
    if "auto_advance" in p:
        inv["auto_advance"] = p["auto_advance"]
    return inv


CREATE = {"customer": Str(required=True), "description": Str(), "metadata": Metadata(),
          "collection_method": Enum("charge_automatically", "send_invoice"), "days_until_due": Int(min=0),
          "auto_advance": Bool(), "pending_invoice_items_behavior": Enum("exclude", "include"),
          "default_payment_method": Str(), "currency": Str(max_length=3), "footer": Str(),
          "payment_settings": bank_transfers.INVOICE_PAYMENT_SETTINGS}


@route("POST", "/v1/invoices", CREATE)
def create(ctx: Ctx, p: dict):
    """A one-off invoice, with the customer's pending invoice items when asked (`include`)."""
    cus = ctx.get("customer", p["customer"], "customer")
    collection = p.get("collection_method") or "charge_automatically"
    if collection == "send_invoice" and p.get("days_until_due") is None:
        raise InvalidRequest("Missing required param: days_until_due.", code="parameter_missing",
                             param="days_until_due")
    now = ctx.now(cus)
    items = pending_for(ctx, cus["id"]) if p.get("pending_invoice_items_behavior") == "include" else []
    currency = (p.get("currency") or (items[0]["currency"] if items else "usd")).lower()
    inv_id = ctx.new_id("in")
    lines = [attach_to_invoice(ctx, ii, inv_id) for ii in items]
    subtotal = sum(line["amount"] for line in lines)
    inv = build_invoice(ctx, cus, inv_id, lines, subtotal, [], now, currency, collection, "manual", None,
                        (now, now), description=p.get("description"), metadata=p.get("metadata"))
    if p.get("default_payment_method"):
        inv["default_payment_method"] = payment_methods.lookup(ctx, p["default_payment_method"],
                                                               "default_payment_method")["id"]
    if p.get("payment_settings"):
        inv["payment_settings"] = bank_transfers.invoice_payment_settings(p["payment_settings"], currency)
    inv["auto_advance"] = p.get("auto_advance", False)
    inv["due_date"] = now + p["days_until_due"] * 86400 if p.get("days_until_due") is not None else None
    return inv


@route("DELETE", "/v1/invoices/{inv_id}")
def delete(ctx: Ctx, p: dict, inv_id: str):
    inv = ctx.get("invoice", inv_id)
    if inv["status"] != "draft":
        raise InvalidRequest("You can only delete draft invoices.")
    ctx.table("invoice").remove(inv_id)
    ctx.emit("invoice.deleted", inv)
    return deleted("invoice", inv_id)


@route("POST", "/v1/invoices/{inv_id}/void")
def void(ctx: Ctx, p: dict, inv_id: str):
    inv = ctx.get("invoice", inv_id)
    if inv["status"] != "open":
        raise InvalidRequest(f"You can only void an open invoice; this one is {inv['status']}.",
                             code="invoice_not_open")
    inv["status"] = "void"
    inv["status_transitions"] = {**inv["status_transitions"], "voided_at": ctx.now(inv["customer"])}
    ctx.emit("invoice.voided", inv, {"status": "open"})
    return inv


@route("POST", "/v1/invoices/{inv_id}/send")
def send(ctx: Ctx, p: dict, inv_id: str):
    """Send the invoice to the customer now: a draft is finalized first. "Requests made in test-mode result in
    no emails being sent, despite sending an invoice.sent event" (API reference, "Send an invoice")."""
    inv = ctx.get("invoice", inv_id)
    now = ctx.now(inv["customer"])
    if inv["status"] == "draft":
        finalize(ctx, inv, now)
    if inv["status"] not in ("open", "paid", "uncollectible"):
        raise InvalidRequest(f"You can't send an invoice that is {inv['status']}.", code="invoice_not_open")
    ctx.emit("invoice.sent", inv)
    return inv


@route("POST", "/v1/invoices/{inv_id}/mark_uncollectible")
def mark_uncollectible(ctx: Ctx, p: dict, inv_id: str):
    """An open invoice the business gives up on: `uncollectible`, no more payment attempts."""
    inv = ctx.get("invoice", inv_id)
    if inv["status"] != "open":
        raise InvalidRequest(f"You can only mark an open invoice as uncollectible; this one is {inv['status']}.",
                             code="invoice_not_open")
    previous = {"status": inv["status"], "status_transitions": dict(inv["status_transitions"])}
    inv.update(status="uncollectible", next_payment_attempt=None)
    inv["status_transitions"] = {**inv["status_transitions"], "marked_uncollectible_at": ctx.now(inv["customer"])}
    ctx.emit("invoice.marked_uncollectible", inv, previous)
    return inv
