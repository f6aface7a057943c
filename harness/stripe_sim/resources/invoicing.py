"""Invoicing: invoices drafted, finalized and paid (at a subscription's start, each renewal, a plan change,
or for one-off invoice items), and what a paid invoice means for its subscription.

A 0-amount invoice is paid at once with no PaymentIntent (CONTRACTS §3); otherwise the customer's
default card is charged through a PaymentIntent and a Charge, with the test card's behaviour.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import (
    EMPTY_LIST,
    EMPTY_METADATA,
)
from ..routing import Ctx
from . import bank_transfers, cash_balance, charges, customer_balance, disputes, payment_methods, sepa_debit
from .billing_math import discount_amount

# Sub-objects that are the same on every invoice are shared, not copied (memory in long runs): they are
# never changed in place; code that changes one assigns a new dict.
NO_AUTOMATIC_TAX = {"disabled_reason": None, "enabled": False, "liability": None, "provider": None, "status": None}
ISSUER_SELF = {"type": "self"}
NO_PAYMENT_SETTINGS = {"default_mandate": None, "payment_method_options": None, "payment_method_types": None}


def _line(ctx: Ctx, inv_id: str, sub: dict, item: dict, period: tuple[int, int], amount: int) -> dict:
    price = item["price"]
    qty = item.get("quantity") or 1
    name = (ctx.find("product", price["product"]) or {}).get("name", "")
    return shape("line_item", {
        "id": ctx.new_id("il"), "amount": amount, "currency": price["currency"],
        "description": f"{qty} × {name} (at ${price['unit_amount'] / 100:.2f} / {price['recurring']['interval']})",
        "discount_amounts": EMPTY_LIST, "discountable": True, "discounts": EMPTY_LIST, "invoice": inv_id,
        "livemode": ctx.livemode, "metadata": dict(item.get("metadata") or {}) or EMPTY_METADATA,
        "parent": shape("line_item:parent", {
            "subscription_item_details": shape("line_item:parent.subscription_item_details", {
                "proration": False, "proration_details": {"credited_items": None}, "subscription": sub["id"],
                "subscription_item": item["id"]}),
            "type": "subscription_item_details"}),
        "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": EMPTY_LIST,
        "pricing": shape("line_item:pricing", {
            "price_details": {"price": price["id"], "product": price["product"]}, "type": "price_details",
            "unit_amount_decimal": str(price["unit_amount"])}),
        "quantity": qty, "quantity_decimal": str(qty), "subscription": sub["id"], "subtotal": amount, "taxes": EMPTY_LIST,
    })


def active_discounts(ctx: Ctx, sub: dict, at: int) -> list[dict]:
    """The subscription's discounts in effect at `at`; without any, the customer's own discount (which only
    requests pinned before API 2025-03-31 can set: "coupon" on a customer)."""
    out = []
    ids = sub.get("discounts") or []
    if not ids:
        cus_discount = (ctx.find("customer", sub["customer"]) or {}).get("discount")
        ids = [cus_discount["id"]] if cus_discount else []
    for di_id in ids:
        di = ctx.find("discount", di_id)
        if di and (di["end"] is None or di["end"] > at):
            out.append(di)
    return out


def draft_subscription_invoice(ctx: Ctx, sub: dict, billing_reason: str, period: tuple[int, int],
                               now: int, trial: bool = False, invoice_period: tuple[int, int] | None = None) -> dict:
    """`period` is the service period of the lines; `invoice_period` the invoice's own (the period just
    ended, for renewals; the start instant for a first invoice)."""
    invoice_period = invoice_period or (period[0], period[0])
    cus = ctx.get("customer", sub["customer"])
    inv_id = ctx.new_id("in")
    lines, subtotal = [], 0
    for item in sub["items"]["data"]:
        amount = 0 if trial else item["price"]["unit_amount"] * (item.get("quantity") or 1)
        lines.append(_line(ctx, inv_id, sub, item, period, amount))
        subtotal += amount
    parent = {"quote_details": None, "subscription_details": {"metadata": dict(sub["metadata"]) or EMPTY_METADATA,
                                                              "subscription": sub["id"]},
              "type": "subscription_details"}
    settings = sub["payment_settings"]
    payment_settings = None
    if "customer_balance" in (settings.get("payment_method_types") or ()):  # its invoices are paid the same way
        payment_settings = bank_transfers.invoice_payment_settings(settings, sub["currency"])
    return build_invoice(ctx, cus, inv_id, lines, subtotal, active_discounts(ctx, sub, now), now,
                         sub["currency"], sub["collection_method"], billing_reason, parent, invoice_period,
                         payment_settings=payment_settings)


def build_invoice(ctx: Ctx, cus: dict, inv_id: str, lines: list[dict], subtotal: int, discounts: list[dict],
                  now: int, currency: str, collection_method: str, billing_reason: str, parent: dict | None,
                  invoice_period: tuple[int, int], description: str | None = None,
                  metadata: dict | None = None, payment_settings: dict | None = None) -> dict:
    """A draft invoice (recorded with `invoice.created`)."""
    discount_amounts, remaining = [], subtotal
    for di in discounts:
        coupon = ctx.find("coupon", di["source"]["coupon"])
        off = discount_amount(coupon, remaining, currency) if coupon else 0
        remaining -= off
        discount_amounts.append({"amount": off, "discount": di["id"]})
    total = remaining
    inv = shape("invoice", {
        "id": inv_id, "account_country": "US", "account_name": "tiersync simulator",
        "amount_due": total, "amount_overpaid": 0, "amount_paid": 0,
        "amount_remaining": total, "amount_shipping": 0, "attempt_count": 0,
        "attempted": False, "auto_advance": True, "automatic_tax": NO_AUTOMATIC_TAX, "billing_reason": billing_reason,
        "collection_method": collection_method, "confirmation_secret": None, "created": now,
        "currency": currency, "customer": cus["id"],
        "customer_address": cus.get("address"), "customer_email": cus.get("email"),
        "customer_name": cus.get("name"), "customer_phone": cus.get("phone"),
        "customer_shipping": cus.get("shipping"), "customer_tax_exempt": cus.get("tax_exempt", "none"),
        "customer_tax_ids": [], "description": description, "discounts": [d["id"] for d in discounts],
        "hosted_invoice_url": None, "invoice_pdf": None, "issuer": ISSUER_SELF,
        "lines": {"object": "list", "data": lines, "has_more": False, "total_count": len(lines),
                  "url": f"/v1/invoices/{inv_id}/lines"},
        "livemode": ctx.livemode, "metadata": dict(metadata or {}) or EMPTY_METADATA, "parent": parent,
        "payment_settings": payment_settings or NO_PAYMENT_SETTINGS,
        "payments": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                     "url": f"/v1/invoice_payments?invoice={inv_id}"},
        "period_end": invoice_period[1], "period_start": invoice_period[0],
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": cus.get("balance") or 0, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": subtotal, "subtotal_excluding_tax": subtotal, "test_clock": cus.get("test_clock"),
        "total": total, "total_discount_amounts": discount_amounts, "total_excluding_tax": total,
        "total_pretax_credit_amounts": [{"amount": d["amount"], "credit_balance_transaction": None,
                                         "discount": d["discount"], "type": "discount"}
                                        for d in discount_amounts if d["amount"]],
    })
    ctx.put("invoice", inv)
    ctx.emit("invoice.created", inv)
    return inv


def finalize(ctx: Ctx, inv: dict, now: int):
    cus = ctx.get("customer", inv["customer"])
    seq = cus.get("next_invoice_sequence") or 1
    cus["next_invoice_sequence"] = seq + 1
    inv["number"] = f"{cus['invoice_prefix']}-{seq:04d}"
    inv["status"] = "open"
    inv["status_transitions"] = {**inv["status_transitions"], "finalized_at": now}
    inv["effective_at"] = now
    due = customer_balance.apply_to_invoice(ctx, inv, now)
    inv["amount_due"] = inv["amount_remaining"] = due
    base = ctx.sim.public_url
    inv["hosted_invoice_url"] = f"{base}/i/{inv['id']}"
    inv["invoice_pdf"] = f"{base}/i/{inv['id']}/pdf"
    ctx.emit("invoice.finalized", inv)
    if due and "customer_balance" in (inv["payment_settings"]["payment_method_types"] or ()):
        _request_bank_transfer(ctx, inv, now)


def _request_bank_transfer(ctx: Ctx, inv: dict, now: int):
    """An invoice the customer pays by bank transfer: its PaymentIntent is paid from the cash balance at once
    when that holds enough, else waits for the transfer (bank_transfers.py), which pays the invoice."""
    pi = new_payment_intent(ctx, inv, None, now)
    pi.update(payment_method_types=["customer_balance"],
              payment_method_options=bank_transfers.options_for_invoice(inv))
    ctx.emit("payment_intent.created", pi)
    _record_payment(ctx, inv, pi, now, "open")
    bank_transfers.confirm(ctx, pi, bank_transfers.new_payment_method(ctx, {}))


def waiting_bank_transfer(ctx: Ctx, inv: dict) -> dict | None:
    """The invoice's PaymentIntent waiting for a bank transfer, if any."""
    for payment in inv["payments"]["data"]:
        pi = ctx.find("payment_intent", payment["payment"]["payment_intent"])
        if pi is not None and bank_transfers.waiting(pi):
            return pi
    return None


def _bank_transfer_paid(ctx: Ctx, pi: dict, automatic: bool):
    inv = next((i for i in ctx.table("invoice").having_newest_first("customer", pi["customer"])
                if i["status"] == "open" and any(pay["payment"]["payment_intent"] == pi["id"]
                                                 for pay in i["payments"]["data"])), None)
    if inv is not None:
        ctx.touch("invoice", inv)
        _paid_by(ctx, inv, pi, ctx.now(inv["customer"]), automatic)


bank_transfers.ON_PAID.append(_bank_transfer_paid)


def mark_paid(ctx: Ctx, inv: dict, now: int, amount: int):
    previous = {"amount_paid": inv["amount_paid"], "amount_remaining": inv["amount_remaining"],
                "status": inv["status"], "status_transitions": dict(inv["status_transitions"])}
    inv.update(amount_paid=amount, amount_remaining=0, status="paid", attempted=True, next_payment_attempt=None)
    inv["status_transitions"] = {**inv["status_transitions"], "paid_at": now}
    if amount == 0:
        inv["attempted"] = inv["attempt_count"] > 0
    return previous


def payment_method_for(ctx: Ctx, sub: dict) -> dict | None:
    pm_id = sub.get("default_payment_method")
    if not pm_id:
        cus = ctx.get("customer", sub["customer"])
        pm_id = cus["invoice_settings"].get("default_payment_method") or cus.get("default_source")
    return ctx.find("payment_method", pm_id) if pm_id else None


def collect(ctx: Ctx, inv: dict, sub: dict, now: int) -> str:
    """Pay an open invoice. Returns 'paid', 'failed', 'requires_action' or 'processing' (a bank debit: the
    invoice stays open until it settles, see `_debit_settled`)."""
    if inv["amount_due"] == 0:
        mark_paid(ctx, inv, now, 0)
        ctx.emit("invoice.paid", inv)
        ctx.emit("invoice.payment_succeeded", inv)
        return "paid"
    if inv["status"] == "paid":  # by the customer's cash balance, when it was finalized
        return "paid"
    by_transfer = "customer_balance" in (inv["payment_settings"]["payment_method_types"] or ())
    waiting = waiting_bank_transfer(ctx, inv) if by_transfer else None  # (no lookup for a card invoice)
    if waiting is not None:  # paid from the cash balance if it holds enough, else still waiting
        if cash_balance.available(ctx, inv["customer"], inv["currency"]) < bank_transfers.remaining(waiting):
            return "requires_action"
        bank_transfers.apply(ctx, waiting, bank_transfers.remaining(waiting))
        return "paid"
    if inv["collection_method"] == "send_invoice":
        return "failed"
    pm = payment_method_for(ctx, sub)
    outcome = "failed" if pm is None else payment_methods.behaviour(pm)
    inv["attempt_count"] += 1
    inv["attempted"] = True
    pi = new_payment_intent(ctx, inv, pm, now)
    if pm is not None and pm["type"] == "sepa_debit":
        return _collect_by_debit(ctx, inv, pi, pm, now)
    ctx.emit("payment_intent.created", pi)
    if outcome == "ok":
        charge = new_charge(ctx, inv, pi, pm, now, paid=True)
        pi.update(status="succeeded", latest_charge=charge["id"], amount_received=inv["amount_due"])
        ctx.emit("charge.succeeded", charge)
        ctx.emit("payment_intent.succeeded", pi)
        _record_payment(ctx, inv, pi, now, "paid")
        previous = mark_paid(ctx, inv, now, inv["amount_due"])
        ctx.emit("invoice.updated", inv, {"status": previous["status"]})
        ctx.emit("invoice.paid", inv)
        ctx.emit("invoice.payment_succeeded", inv)
        disputes.open_dispute(ctx, charge, pm, now)
        return "paid"
    if outcome == "requires_action":
        pi.update(status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}})
        ctx.emit("payment_intent.requires_action", pi)
        _record_payment(ctx, inv, pi, now, "open")
        ctx.emit("invoice.payment_action_required", inv)
        return "requires_action"
    reason = outcome.split(":", 1)[1] if ":" in outcome else "generic_decline"
    if pm is not None:
        charge = new_charge(ctx, inv, pi, pm, now, paid=False, reason=reason)
        pi["latest_charge"] = charge["id"]
        ctx.emit("charge.failed", charge)
    pi.update(status="requires_payment_method", last_payment_error={
        "code": "card_declined", "decline_code": reason, "message": "Your card was declined.",
        "type": "card_error"} if pm else {"code": "payment_method_missing", "type": "invalid_request_error",
                                          "message": "No payment method"})
    ctx.emit("payment_intent.payment_failed", pi)
    _record_payment(ctx, inv, pi, now, "open")
    inv["next_payment_attempt"] = now + 3 * 86400 if inv["billing_reason"] != "subscription_create" else None
    ctx.emit("invoice.payment_failed", inv)
    return "failed"


def _collect_by_debit(ctx: Ctx, inv: dict, pi: dict, pm: dict, now: int) -> str:
    """A SEPA Direct Debit: the PaymentIntent is `processing`, the invoice stays `open` (and its subscription
    unpaid: `incomplete` or `past_due`) until the debit settles. The customer's standing mandate for the account
    is reused (Checkout and SetupIntents collect one; here one is assumed if the account has none)."""
    pi["payment_method_types"] = ["sepa_debit"]
    ctx.emit("payment_intent.created", pi)
    mandate = next((m for m in ctx.table("mandate").rows.values() if m["payment_method"] == pm["id"]
                    and m["type"] == "multi_use" and m["status"] == "active"), None)
    if mandate is None:
        mandate = sepa_debit.new_mandate(ctx, pm, {"type": "online", "accepted_at": now}, now, multi_use=True)
    sepa_debit.start(ctx, pi, pm, now, mandate=mandate, invoice=inv["id"])
    _record_payment(ctx, inv, pi, now, "open")
    return "processing"


def _debit_settled(ctx: Ctx, row: dict, succeeded: bool):
    """An invoice's bank debit settled: paid (and its subscription active), or failed as a declined card fails."""
    inv = ctx.find("invoice", row["invoice"])
    if inv is None or inv["status"] != "open":
        return
    pi = ctx.get("payment_intent", row["id"])
    now = ctx.now(inv["customer"])
    if succeeded:
        _paid_by(ctx, inv, pi, now, automatic=True)
        return
    inv["next_payment_attempt"] = now + 3 * 86400 if inv["billing_reason"] != "subscription_create" else None
    ctx.emit("invoice.payment_failed", inv, automatic=True)


sepa_debit.ON_SETTLED["invoice"] = _debit_settled


def _paid_by(ctx: Ctx, inv: dict, pi: dict, now: int, automatic: bool):
    """An invoice's PaymentIntent succeeded after the request that started it (a debit, a bank transfer)."""
    _record_payment(ctx, inv, pi, now, "paid")
    previous = mark_paid(ctx, inv, now, inv["amount_due"])
    ctx.emit("invoice.updated", inv, {"status": previous["status"]}, automatic=automatic)
    ctx.emit("invoice.paid", inv, automatic=automatic)
    ctx.emit("invoice.payment_succeeded", inv, automatic=automatic)
    sub = ctx.find("subscription", subscription_of(inv) or "")
    if sub is not None:
        after_invoice_paid(ctx, sub, inv, now, automatic=automatic)


def _record_payment(ctx: Ctx, inv: dict, pi: dict, now: int, status: str):
    payment = shape("invoice_payment", {
        "id": ctx.new_id("inpay"), "amount_paid": pi["amount_received"], "amount_requested": pi["amount"],
        "created": now, "currency": inv["currency"], "invoice": inv["id"], "is_default": True,
        "livemode": ctx.livemode,
        "payment": shape("invoice_payment:payment", {"payment_intent": pi["id"], "type": "payment_intent"}),
        "status": status, "status_transitions": {"canceled_at": None, "paid_at": now if status == "paid" else None}})
    inv["payments"] = {**inv["payments"], "data": [payment], "total_count": 1}


def new_payment_intent(ctx: Ctx, inv: dict, pm: dict | None, now: int) -> dict:
    pi_id = ctx.new_id("pi")
    pi = shape("payment_intent", {
        "id": pi_id, "amount": inv["amount_due"], "amount_capturable": 0, "amount_received": 0,
        "capture_method": "automatic", "client_secret": f"{pi_id}_secret_{ctx.new_id('s', 24)[2:]}",
        "confirmation_method": "automatic", "created": now, "currency": inv["currency"],
        "customer": inv["customer"], "description": "Subscription creation"
        if inv["billing_reason"] == "subscription_create" else "Subscription update",
        "livemode": ctx.livemode, "metadata": EMPTY_METADATA, "payment_method": pm["id"] if pm else None,
        "payment_method_types": ["card"], "setup_future_usage": "off_session", "status": "processing",
    })
    return ctx.put("payment_intent", pi)


def new_charge(ctx: Ctx, inv: dict, pi: dict, pm: dict, now: int, paid: bool, reason: str = "") -> dict:
    return charges.new_charge(ctx, pi, pm, now, paid=paid, captured=paid, reason=reason)


def subscription_of(inv: dict) -> str | None:
    parent = inv.get("parent") or {}
    return (parent.get("subscription_details") or {}).get("subscription")


def after_invoice_paid(ctx: Ctx, sub: dict, inv: dict, now: int, automatic: bool = False):
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        before = {"status": sub["status"]}
        sub["status"] = "active"
        ctx.emit("customer.subscription.updated", sub, before, automatic=automatic)


def _proration_line(ctx: Ctx, inv: dict, sub: dict, amount: int) -> dict:
    item = sub["items"]["data"][0]
    line = _line(ctx, inv["id"], sub, item, (item["current_period_start"], item["current_period_end"]), amount)
    line["description"] = "Proration for the plan change" if amount >= 0 else "Unused time (proration credit)"
    line["parent"]["subscription_item_details"]["proration"] = True
    line["discountable"] = False
    return line


def _set_lines(inv: dict, lines: list[dict], subtotal: int):
    inv["lines"] = {**inv["lines"], "data": lines, "total_count": len(lines)}
    discount = sum(d["amount"] for d in inv["total_discount_amounts"])
    total = subtotal - discount
    due = max(total, 0)
    inv.update(subtotal=subtotal, subtotal_excluding_tax=subtotal, total=total, total_excluding_tax=total,
               amount_due=due, amount_remaining=due)


def add_proration(ctx: Ctx, inv: dict, sub: dict, amount: int):
    """Add pending proration (credit or charge) from plan changes to a renewal invoice."""
    if amount:
        lines = [*inv["lines"]["data"], _proration_line(ctx, inv, sub, amount)]
        _set_lines(inv, lines, inv["subtotal"] + amount)


def replace_with_proration(ctx: Ctx, inv: dict, sub: dict, amount: int):
    """An immediate plan-change invoice (`always_invoice`) bills only the proration."""
    inv["total_discount_amounts"] = []
    inv["discounts"] = []
    _set_lines(inv, [_proration_line(ctx, inv, sub, amount)] if amount else [], amount)


def add_item_to_draft(ctx: Ctx, inv: dict, item: dict):
    if inv["status"] != "draft":
        raise InvalidRequest("You can only add invoice items to draft invoices.", param="invoice")
    line = attach_to_invoice(ctx, item, inv["id"])
    _set_lines(inv, [*inv["lines"]["data"], line], inv["subtotal"] + line["amount"])


def refresh_item_line(ctx: Ctx, inv: dict, item: dict):
    """An invoice item changed while on a draft invoice: its line (and the invoice's totals) follow."""
    lines = [{**attach_to_invoice(ctx, item, inv["id"]), "id": ln["id"]}  # the line keeps its id, as at Stripe
             if (ln["parent"].get("invoice_item_details") or {}).get("invoice_item") == item["id"] else ln
             for ln in inv["lines"]["data"]]
    _set_lines(inv, lines, sum(ln["amount"] for ln in lines))


def pending_for(ctx: Ctx, customer_id: str) -> list[dict]:
    items = [ii for ii in ctx.table("invoiceitem").rows.values()
             if ii["customer"] == customer_id and ii["invoice"] is None]
    return items


def attach_to_invoice(ctx: Ctx, item: dict, inv_id: str) -> dict:
    """Mark the item as invoiced and return its invoice line."""
    item["invoice"] = inv_id
    return shape("line_item", {
        "id": ctx.new_id("il"), "amount": item["amount"], "currency": item["currency"],
        "description": item["description"], "discount_amounts": [], "discountable": item["discountable"],
        "discounts": [], "invoice": inv_id, "livemode": ctx.livemode, "metadata": dict(item["metadata"]),
        "parent": shape("line_item:parent", {
            "invoice_item_details": shape("line_item:parent.invoice_item_details", {
                "invoice_item": item["id"], "proration": False, "proration_details": {"credited_items": None}}),
            "type": "invoice_item_details"}),
        "period": dict(item["period"]), "pretax_credit_amounts": [], "pricing": item["pricing"],
        "quantity": item["quantity"], "quantity_decimal": str(item["quantity"]), "subtotal": item["amount"],
        "taxes": [],
    })
