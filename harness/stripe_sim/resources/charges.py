"""The charge of a payment attempt, as PaymentIntents, invoices and Checkout make it (no routes: the charge
routes are in payments.py)."""

from __future__ import annotations

from ..objects import shape
from ..params import EMPTY_METADATA
from ..routing import Ctx


def new_charge(ctx: Ctx, pi: dict, pm: dict, now: int, *, paid: bool, captured: bool, reason: str = "") -> dict:
    """The charge of one payment attempt of `pi` with the card `pm` (PaymentIntents, invoices, Checkout)."""
    card = pm["card"]
    charge = shape("charge", {
        "id": ctx.new_id("ch"), "amount": pi["amount"], "amount_captured": pi["amount"] if captured else 0,
        "amount_refunded": 0, "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "TIERSYNC SIM", "captured": captured, "created": now,
        "currency": pi["currency"], "customer": pi["customer"], "description": pi["description"], "disputed": False,
        "failure_code": None if paid else "card_declined",
        "failure_message": None if paid else "Your card was declined.", "fraud_details": {}, "livemode": ctx.livemode,
        "metadata": dict(pi["metadata"]) or EMPTY_METADATA,
        "outcome": shape("charge:outcome", {
            "network_decline_code": None if paid else reason,
            "network_status": "approved_by_network" if paid else "declined_by_network",
            "reason": None if paid else reason, "risk_level": "normal", "risk_score": 20,
            "seller_message": "Payment complete." if paid else "The bank did not return any further details "
                                                                "with this decline.",
            "type": "authorized" if paid else "issuer_declined"}),
        "paid": paid, "payment_intent": pi["id"], "payment_method": pm["id"],
        "payment_method_details": shape("charge:payment_method_details", {"card": shape(
            "charge:payment_method_details.card", {
                "amount_authorized": pi["amount"] if paid else None, "brand": card["brand"],
                "checks": dict(card["checks"]) if card.get("checks") else None, "country": card["country"],
                "exp_month": card["exp_month"], "exp_year": card["exp_year"], "fingerprint": card.get("fingerprint"), "funding": card["funding"],
                "last4": card["last4"], "network": card["brand"], "regulated_status": card.get("regulated_status")}),
            "type": "card"}),
        "receipt_email": pi["receipt_email"], "receipt_url": f"{ctx.sim.public_url}/receipts/{pi['id']}",
        "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": "/v1/refunds"},
        "shipping": pi["shipping"], "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": "succeeded" if paid else "failed",
    })
    return ctx.put("charge", charge)
