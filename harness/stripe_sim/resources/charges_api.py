"""The legacy Charges API (`POST /v1/charges`, update, capture) and the payment operations Stripe keeps for
other payment methods than the simulated cards: refund cancel and expire, incremental authorization.

A direct charge takes a card `source` (a `tok_` test token, or a card source of the `customer`) or only a
`customer` (their `default_source`), and follows the test card's behaviour as PaymentIntents do: a declined card
is a 402 `card_error` naming the failed charge, which is still recorded (`charge.failed`). `capture=false`
authorizes only: `POST /v1/charges/{id}/capture` captures all or part (the rest is released, as a refund).
Charges made by PaymentIntents are captured through their PaymentIntent.
"""

from __future__ import annotations

from ..errors import CardError, InvalidRequest, card_declined
from ..objects import shape
from ..params import Bool, Int, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, route
from . import charges, customer_sources, payment_methods

SHIPPING = Obj({"name": Str(required=True), "phone": Str(), "carrier": Str(), "tracking_number": Str(),
                "address": Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")})})
CREATE = {"amount": Int(min=1, max=99999999, required=True), "currency": Str(required=True, max_length=3),
          "source": Str(), "customer": Str(), "capture": Bool(), "description": Str(max_length=1000),
          "metadata": Metadata(), "receipt_email": Str(), "shipping": SHIPPING,
          "statement_descriptor": Str(max_length=22), "statement_descriptor_suffix": Str(max_length=22),
          "transfer_group": Str()}
# "Amount must be at least $0.50 usd": Stripe's minimum charge amount (docs.stripe.com/currencies#minimum-and-
# maximum-charge-amounts), for the account's own currency
MINIMUM = {"usd": (50, "$0.50 usd")}


def _source(ctx: Ctx, p: dict, customer: dict | None) -> tuple[dict, dict]:
    """(payment method, card object shown as the charge's `source`) for the request's source or customer."""
    source_id = p.get("source")
    if customer is not None:
        source_id = source_id or customer.get("default_source")
        if not source_id:
            raise InvalidRequest("Cannot charge a customer that has no active card", code="missing", param="card")
        card = ctx.find("card_source", source_id)
        if card is None or card["customer"] != customer["id"]:
            raise InvalidRequest(f"Customer {customer['id']} does not have a linked source with ID {source_id}.",
                                 code="missing", param="source")
        return ctx.get("payment_method", source_id), dict(card)
    if not source_id:
        raise InvalidRequest("Must provide source or customer.")
    if source_id not in payment_methods.TOKENS or not source_id.startswith("tok_"):
        raise InvalidRequest(f"No such token: '{source_id}'", code="resource_missing", param="source")
    pm = payment_methods.new_payment_method(ctx, payment_methods.TOKENS[source_id], pm_id=ctx.new_id("card"))
    c = pm["card"]
    card = shape("card", {
        "id": pm["id"], "brand": customer_sources.BRANDS.get(c["brand"], c["brand"]), "country": c["country"],
        "cvc_check": "pass", "exp_month": c["exp_month"], "exp_year": c["exp_year"], "fingerprint": c["fingerprint"],
        "funding": c["funding"], "last4": c["last4"], "metadata": {}, "regulated_status": "unregulated"})
    return pm, card


@route("POST", "/v1/charges", CREATE)
def create(ctx: Ctx, p: dict):
    currency = p["currency"].lower()
    if currency in MINIMUM and p["amount"] < MINIMUM[currency][0]:
        raise InvalidRequest(f"Amount must be at least {MINIMUM[currency][1]}", code="amount_too_small",
                             param="amount")
    customer = ctx.get("customer", p["customer"], "customer") if p.get("customer") else None
    pm, card = _source(ctx, p, customer)
    now = ctx.now(customer)
    payer = {"id": None, "amount": p["amount"], "currency": currency, "customer": customer["id"] if customer else None,
             "description": p.get("description"), "metadata": merge_metadata({}, p.get("metadata") or {}),
             "receipt_email": p.get("receipt_email"), "shipping": p.get("shipping"),
             "statement_descriptor": p.get("statement_descriptor"),
             "statement_descriptor_suffix": p.get("statement_descriptor_suffix")}
    behaviour = payment_methods.behaviour(pm)
    capture = p.get("capture", True)
    if behaviour != "ok":  # a 3-D Secure card cannot authenticate on this API: declined as such
        reason = "authentication_required" if behaviour == "requires_action" else behaviour.split(":", 1)[1]
        charge = charges.new_charge(ctx, payer, pm, now, paid=False, captured=False, reason=reason)
        charge.update(source=card, receipt_url=None, transfer_group=p.get("transfer_group"))
        ctx.emit("charge.failed", charge)
        ctx.keep_events_on_error = True
        code, message = payment_methods.DECLINE_MESSAGES.get(reason, payment_methods.DECLINE_MESSAGES[
            "generic_decline"])
        err: CardError = card_declined(reason, message, charge=charge["id"])
        err.code = code
        raise err
    charge = charges.new_charge(ctx, payer, pm, now, paid=True, captured=capture)
    charge.update(source=card, transfer_group=p.get("transfer_group"),
                  receipt_url=f"{ctx.sim.public_url}/receipts/{charge['id']}")
    ctx.emit("charge.succeeded", charge)
    return charge


UPDATE = {"description": Str(max_length=1000), "metadata": Metadata(), "receipt_email": Str(), "shipping": SHIPPING,
          "customer": Str(), "transfer_group": Str(),
          "fraud_details": Obj({"user_report": Str(choices=("", "fraudulent", "safe"), required=True)})}


@route("POST", "/v1/charges/{ch_id}", UPDATE)
def update(ctx: Ctx, p: dict, ch_id: str):
    """`charge.updated` with what changed; a charge's customer can be set only while it has none."""
    charge = ctx.get("charge", ch_id)
    before = {k: charge[k] for k in UPDATE}
    if p.get("customer"):
        if charge["customer"] and charge["customer"] != p["customer"]:
            raise InvalidRequest("This charge already has a customer; its customer cannot be changed.",
                                 param="customer")
        charge["customer"] = ctx.get("customer", p["customer"], "customer")["id"]
    if "metadata" in p:
        charge["metadata"] = merge_metadata(charge["metadata"], p["metadata"])
    if "fraud_details" in p:
        report = p["fraud_details"]["user_report"]
        charge["fraud_details"] = {"user_report": report} if report else {}
    for name in ("description", "receipt_email", "shipping", "transfer_group"):
        if name in p:
            charge[name] = p[name] if p[name] != "" else None
    changed = {k: v for k, v in before.items() if charge[k] != v}
    if changed:
        ctx.emit("charge.updated", charge, changed)
    return charge


@route("POST", "/v1/charges/{ch_id}/capture", {"amount": Int(min=1), "receipt_email": Str(),
                                               "statement_descriptor": Str(max_length=22),
                                               "statement_descriptor_suffix": Str(max_length=22)})
def capture(ctx: Ctx, p: dict, ch_id: str):
    charge = ctx.get("charge", ch_id)
    if charge["payment_intent"]:
        raise InvalidRequest(f"This charge was created by the PaymentIntent {charge['payment_intent']}: capture "
                             "it with POST /v1/payment_intents/{id}/capture.", code="charge_not_capturable")
    if charge["captured"]:
        raise InvalidRequest(f"Charge {ch_id} has already been captured.", code="charge_already_captured")
    if charge["refunded"]:  # the authorization was released by a refund
        raise InvalidRequest(f"Charge {ch_id} has already been refunded.", code="charge_already_refunded")
    if charge["status"] != "succeeded":
        raise InvalidRequest(f"Charge {ch_id} cannot be captured because it has a status of {charge['status']}.",
                             code="charge_not_capturable")
    amount = p.get("amount") or charge["amount"]
    if amount > charge["amount"]:
        raise InvalidRequest(f"You cannot capture more than the authorized amount ({charge['amount']}).",
                             code="amount_too_large", param="amount")
    for name in ("receipt_email", "statement_descriptor", "statement_descriptor_suffix"):
        if name in p:
            charge[name] = p[name]
    released = charge["amount"] - amount  # the uncaptured rest goes back to the card
    charge.update(captured=True, amount_captured=amount, amount_refunded=released)
    ctx.emit("charge.captured", charge)
    return charge


# ---- what Stripe keeps for payment methods other than the simulated cards -------------------------------

@route("POST", "/v1/refunds/{re_id}/cancel")
def cancel_refund(ctx: Ctx, p: dict, re_id: str):
    """"Cancels a refund with a status of requires_action. You can't cancel refunds in other states. Only
    refunds for payment methods that require customer action can enter the requires_action state" (API
    reference): a simulated refund (a card's) has none."""
    refund = ctx.get("refund", re_id)
    raise InvalidRequest(f"You can't cancel this refund because it has a status of {refund['status']}: only a "
                         "refund with a status of requires_action can be canceled.")


@route("POST", "/v1/test_helpers/refunds/{re_id}/expire")
def expire_refund(ctx: Ctx, p: dict, re_id: str):
    """"Expire a refund with a status of requires_action" (test helper): as above, none here."""
    if ctx.livemode:
        raise InvalidRequest("Test helpers are only available in test mode.")
    refund = ctx.get("refund", re_id)
    raise InvalidRequest(f"You can't expire this refund because it has a status of {refund['status']}: only a "
                         "refund with a status of requires_action can be expired.")


@route("POST", "/v1/payment_intents/{pi_id}/increment_authorization", {
    "amount": Int(min=1, required=True), "description": Str(max_length=1000), "metadata": Metadata(),
    "statement_descriptor": Str(max_length=22)})
def increment_authorization(ctx: Ctx, p: dict, pi_id: str):
    """Only for a PaymentIntent that asked for it (`payment_method_options[card][request_incremental_
    authorization]`, card_present or IC+ pricing), which the simulator does not take: Stripe's answer to one
    that did not, quoted from a recorded test-mode response (2026-03): a 400 with no code."""
    pi = ctx.get("payment_intent", pi_id)
    if pi["status"] != "requires_capture":
        raise InvalidRequest(f"This PaymentIntent's amount could not be updated because it has a status of "
                             f"{pi['status']}. You may only increment the authorization of a PaymentIntent with "
                             "a status of requires_capture.", code="payment_intent_unexpected_state")
    raise InvalidRequest("This PaymentIntent is not eligible for incremental authorization because you did not "
                         "request support using `request_incremental_authorization` when you created or "
                         "confirmed it.")
