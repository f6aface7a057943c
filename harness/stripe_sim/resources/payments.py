"""PaymentIntents, Charges and Refunds.

The simulator makes PaymentIntents and Charges when it collects an invoice or a payment-mode Checkout Session;
they are retrievable by the ids its events carry. PaymentIntents can also be made directly (card payments
with Stripe's test payment methods): confirm, manual capture, cancel; and captured charges refunded.
A declined confirmation answers 402 `card_error` and its failure is still recorded and announced, as at Stripe.
A dispute test card's charge is disputed at once (disputes.py).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Enum, Int, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import bank_transfers, charges, disputes, payment_methods, sepa_debit

ADDRESS = Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")})
SHIPPING = Obj({"name": Str(required=True), "address": ADDRESS, "phone": Str(), "carrier": Str(),
                "tracking_number": Str()})
# a mandate the customer accepted (bank debits): `mandate_data[customer_acceptance][type]=offline|online`
MANDATE_DATA = Obj({"customer_acceptance": Obj({
    "type": Enum("offline", "online", required=True), "accepted_at": Int(min=0), "offline": Obj({}),
    "online": Obj({"ip_address": Str(), "user_agent": Str()})}, required=True)})
CONFIRM = {"payment_method": Str(), "return_url": Str(), "off_session": Bool(), "receipt_email": Str(),
           "error_on_requires_action": Bool(), "mandate_data": MANDATE_DATA, "mandate": Str(),
           "payment_method_data": bank_transfers.PAYMENT_METHOD_DATA,
           "payment_method_options": bank_transfers.PAYMENT_METHOD_OPTIONS}
PAYMENT_METHOD_TYPES = List(Enum("card", "sepa_debit", "customer_balance"))
CREATE = {**CONFIRM, "amount": Int(min=1, max=99999999, required=True), "currency": Str(required=True, max_length=3),
          "customer": Str(), "description": Str(max_length=1000), "metadata": Metadata(), "confirm": Bool(),
          "capture_method": Enum("automatic", "automatic_async", "manual"),
          "confirmation_method": Enum("automatic", "manual"), "payment_method_types": PAYMENT_METHOD_TYPES,
          # only cards, SEPA Direct Debit and bank transfers are simulated, so the list may only name those
          # (Stripe takes any type)
          "allowed_payment_method_types": PAYMENT_METHOD_TYPES,
          "setup_future_usage": Enum("off_session", "on_session"), "shipping": SHIPPING,
          "statement_descriptor": Str(max_length=22), "statement_descriptor_suffix": Str(max_length=22),
          "automatic_payment_methods": Obj({"enabled": Bool(required=True),
                                            "allow_redirects": Enum("always", "never")})}
TAKEN_AT_CREATE = ("payment_method", "payment_method_data", "payment_method_options")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")


def _confirm(ctx: Ctx, pi: dict, p: dict):
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise InvalidRequest(f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
                             code="payment_intent_unexpected_state")
    _take_payment_method(ctx, pi, p)
    if not pi["payment_method"]:
        raise InvalidRequest("You cannot confirm this PaymentIntent because it's missing a payment method.",
                             code="payment_intent_unexpected_state", param="payment_method")
    pm = ctx.get("payment_method", pi["payment_method"])
    now = ctx.now(pi["customer"]) if pi["customer"] else ctx.now()
    if pm["type"] not in pi["payment_method_types"]:
        raise InvalidRequest(f"The PaymentMethod provided ({pm['type']}) is not allowed for this PaymentIntent. "
                             f"Please attach a PaymentMethod of one of the following types: "
                             f"{', '.join(pi['payment_method_types'])}.", param="payment_method")
    if pm["type"] == "sepa_debit":
        _confirm_debit(ctx, pi, pm, p, now)
        return
    if pm["type"] == "customer_balance":
        bank_transfers.confirm(ctx, pi, pm)
        return
    behaviour = payment_methods.behaviour(pm)
    if behaviour == "requires_action":
        pi.update(status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}})
        ctx.emit("payment_intent.requires_action", pi)
        return
    if behaviour != "ok":  # declined: recorded and announced, then a 402
        reason = behaviour.split(":", 1)[1]
        charge = charges.new_charge(ctx, pi, pm, now, paid=False, captured=False, reason=reason)
        code, message = payment_methods.DECLINE_MESSAGES.get(reason, payment_methods.DECLINE_MESSAGES["generic_decline"])
        pi.update(status="requires_payment_method", latest_charge=charge["id"], payment_method=None,
                  last_payment_error={"charge": charge["id"], "code": code, "decline_code": reason,
                                      "message": message, "payment_method": pm, "type": "card_error"})
        ctx.emit("charge.failed", charge)
        ctx.emit("payment_intent.payment_failed", pi)
        ctx.keep_events_on_error = True
        raise payment_methods.decline_error(reason)
    manual = pi["capture_method"] == "manual"
    charge = charges.new_charge(ctx, pi, pm, now, paid=True, captured=not manual)
    pi.update(latest_charge=charge["id"], next_action=None, last_payment_error=None)
    ctx.emit("charge.succeeded", charge)
    if manual:
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        ctx.emit("payment_intent.amount_capturable_updated", pi)
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.emit("payment_intent.succeeded", pi)
        disputes.open_dispute(ctx, charge, pm, now)


def _take_payment_method(ctx: Ctx, pi: dict, p: dict):
    """The confirm or create request's `payment_method` (an id or test token), or one made from
    `payment_method_data`, and its `payment_method_options`."""
    if p.get("payment_method") and p.get("payment_method_data"):
        raise InvalidRequest("You may only specify one of these parameters: payment_method, payment_method_data.",
                             param="payment_method_data")
    if p.get("payment_method"):
        pi["payment_method"] = payment_methods.lookup(ctx, p["payment_method"], "payment_method")["id"]
    elif p.get("payment_method_data"):
        pi["payment_method"] = bank_transfers.new_payment_method(ctx, p["payment_method_data"])["id"]
    if p.get("payment_method_options"):
        pi["payment_method_options"] = bank_transfers.payment_method_options(p["payment_method_options"],
                                                                             pi["currency"])


def _confirm_debit(ctx: Ctx, pi: dict, pm: dict, p: dict, now: int):
    """A SEPA Direct Debit needs the customer's mandate: accepted now (`mandate_data`) or an earlier one."""
    if p.get("mandate"):
        mandate = ctx.get("mandate", p["mandate"], "mandate")
    elif p.get("mandate_data"):
        mandate = sepa_debit.new_mandate(ctx, pm, p["mandate_data"]["customer_acceptance"], now,
                                         multi_use=bool(pi["setup_future_usage"]), payment=pi)
    else:
        raise InvalidRequest("A mandate is required to confirm a sepa_debit payment: pass `mandate_data` (the "
                             "customer's acceptance) or `mandate`.", param="mandate_data")
    sepa_debit.check_currency(pi["currency"])
    if pi["customer"] and pi["setup_future_usage"]:
        payment_methods.attach(ctx, pm["id"], ctx.get("customer", pi["customer"]))
    sepa_debit.start(ctx, pi, pm, now, mandate=mandate)


@route("POST", "/v1/payment_intents", CREATE)
def create(ctx: Ctx, p: dict):
    customer = ctx.get("customer", p["customer"], "customer") if p.get("customer") else None
    now = ctx.now(customer)
    pi_id = ctx.new_id("pi")
    pi = shape("payment_intent", {
        "id": pi_id, "allowed_payment_method_types": p.get("allowed_payment_method_types"), "amount": p["amount"],
        "amount_capturable": 0, "amount_details": shape("payment_intent:amount_details", {"tip": {}}),
        "amount_received": 0, "automatic_payment_methods": p.get("automatic_payment_methods"),
        "capture_method": p.get("capture_method") or "automatic",
        "client_secret": f"{pi_id}_secret_{ctx.new_id('s', 24)[2:]}",
        "confirmation_method": p.get("confirmation_method") or "automatic", "created": now,
        "currency": p["currency"].lower(), "customer": customer["id"] if customer else None,
        "description": p.get("description"), "livemode": ctx.livemode,
        "metadata": merge_metadata({}, p.get("metadata") or {}), "payment_method_options": {},
        "payment_method_types": p.get("payment_method_types") or ["card"], "receipt_email": p.get("receipt_email"),
        "setup_future_usage": p.get("setup_future_usage"), "shipping": p.get("shipping"),
        "statement_descriptor": p.get("statement_descriptor"),
        "statement_descriptor_suffix": p.get("statement_descriptor_suffix"), "status": "requires_payment_method",
    })
    _take_payment_method(ctx, pi, p)
    if pi["payment_method"]:
        pi["status"] = "requires_confirmation"
    ctx.put("payment_intent", pi)
    ctx.emit("payment_intent.created", pi)
    if p.get("confirm"):  # the payment method and its options are taken already
        _confirm(ctx, pi, {k: v for k, v in p.items() if k not in TAKEN_AT_CREATE})
    return pi


@route("GET", "/v1/payment_intents/{pi_id}")
def retrieve_payment_intent(ctx: Ctx, p: dict, pi_id: str):
    return ctx.get("payment_intent", pi_id)


MODIFIABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
UPDATE = {"amount": Int(min=1, max=99999999), "currency": Str(max_length=3),
          "customer": Str(), "description": Str(max_length=1000), "metadata": Metadata(),
          "payment_method": Str(), "payment_method_types": PAYMENT_METHOD_TYPES, "receipt_email": Str(),
          "setup_future_usage": Enum("off_session", "on_session", ""), "shipping": SHIPPING,
          "statement_descriptor": Str(max_length=22), "statement_descriptor_suffix": Str(max_length=22)}
# What a payment already made fixes. Stripe's error for such an update (code payment_intent_unexpected_state):
# "This PaymentIntent's payment_method could not be updated because it has a status of succeeded. You may only
# update the payment_method of a PaymentIntent with one of the following statuses: requires_payment_method, ..."
FIXED_ONCE_PAID = ("amount", "currency", "customer", "payment_method", "payment_method_types", "setup_future_usage")


@route("POST", "/v1/payment_intents/{pi_id}", UPDATE)
def update_payment_intent(ctx: Ctx, p: dict, pi_id: str):
    """https://docs.stripe.com/api/payment_intents/update: "updating the payment_method always requires you to
    confirm the PaymentIntent again" (status back to requires_confirmation). No event: Stripe has none."""
    pi = ctx.get("payment_intent", pi_id)
    for name in FIXED_ONCE_PAID:
        if name in p and pi["status"] not in MODIFIABLE:
            raise InvalidRequest(
                f"This PaymentIntent's {name} could not be updated because it has a status of {pi['status']}. "
                f"You may only update the {name} of a PaymentIntent with one of the following statuses: "
                f"{', '.join(MODIFIABLE)}.", code="payment_intent_unexpected_state", param=name)
    customer = ctx.get("customer", p["customer"], "customer")["id"] if p.get("customer") else None
    pm = payment_methods.lookup(ctx, p["payment_method"], "payment_method")["id"] if p.get("payment_method") else None
    if customer:  # both looked up before anything changes
        pi["customer"] = customer
    if pm:
        pi.update(payment_method=pm, status="requires_confirmation", next_action=None)
    if "metadata" in p:
        pi["metadata"] = merge_metadata(pi["metadata"], p["metadata"])
    if p.get("currency"):
        pi["currency"] = p["currency"].lower()
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p["setup_future_usage"] or None
    for name in ("amount", "description", "payment_method_types", "receipt_email", "shipping",
                 "statement_descriptor", "statement_descriptor_suffix"):
        if name in p:
            pi[name] = p[name] if p[name] != "" else None
    return pi


@route("GET", "/v1/payment_intents", {"customer": Str()}, listing=True)
def list_payment_intents(ctx: Ctx, p: dict):
    return paginate(ctx, "payment_intent", p, "/v1/payment_intents",
                    lambda pi: p.get("customer") is None or pi["customer"] == p["customer"])


@route("POST", "/v1/payment_intents/{pi_id}/confirm", CONFIRM)
def confirm(ctx: Ctx, p: dict, pi_id: str):
    pi = ctx.get("payment_intent", pi_id)
    _confirm(ctx, pi, p)
    return pi


@route("POST", "/v1/payment_intents/{pi_id}/capture", {"amount_to_capture": Int(min=1), "metadata": Metadata()})
def capture(ctx: Ctx, p: dict, pi_id: str):
    pi = ctx.get("payment_intent", pi_id)
    if pi["status"] != "requires_capture":
        raise InvalidRequest(f"This PaymentIntent could not be captured because it has a status of {pi['status']}. "
                             "Only a PaymentIntent with one of the following statuses may be captured: "
                             "requires_capture.", code="payment_intent_unexpected_state")
    amount = p.get("amount_to_capture") or pi["amount_capturable"]
    if amount > pi["amount_capturable"]:
        raise InvalidRequest(f"The amount to capture ({amount}) is more than the amount capturable "
                             f"({pi['amount_capturable']}).", param="amount_to_capture")
    charge = ctx.get("charge", pi["latest_charge"])
    charge.update(captured=True, amount_captured=amount)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    ctx.emit("charge.captured", charge)
    ctx.emit("payment_intent.succeeded", pi)
    return pi


@route("POST", "/v1/payment_intents/{pi_id}/cancel", {"cancellation_reason": Enum(
    "abandoned", "duplicate", "fraudulent", "requested_by_customer")})
def cancel(ctx: Ctx, p: dict, pi_id: str):
    pi = ctx.get("payment_intent", pi_id)
    if pi["status"] not in CANCELABLE:
        raise InvalidRequest(f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
                             f"Only a PaymentIntent with one of the following statuses may be canceled: "
                             f"{', '.join(CANCELABLE)}.", code="payment_intent_unexpected_state")
    pi.update(status="canceled", canceled_at=ctx.now(pi["customer"]) if pi["customer"] else ctx.now(),
              cancellation_reason=p.get("cancellation_reason"), amount_capturable=0, next_action=None)
    ctx.emit("payment_intent.canceled", pi)
    return pi


@route("GET", "/v1/charges/{ch_id}")
def retrieve_charge(ctx: Ctx, p: dict, ch_id: str):
    return ctx.get("charge", ch_id)


@route("GET", "/v1/charges", {"customer": Str(), "payment_intent": Str()}, listing=True)
def list_charges(ctx: Ctx, p: dict):
    return paginate(ctx, "charge", p, "/v1/charges", lambda c: (
        (p.get("customer") is None or c["customer"] == p["customer"])
        and (p.get("payment_intent") is None or c["payment_intent"] == p["payment_intent"])))


# ---- refunds -----------------------------------------------------------------------------------------------

REFUND = {"payment_intent": Str(), "charge": Str(), "amount": Int(min=1), "metadata": Metadata(),
          "reason": Enum("duplicate", "fraudulent", "requested_by_customer")}


@route("POST", "/v1/refunds", REFUND)
def create_refund(ctx: Ctx, p: dict):
    if bool(p.get("payment_intent")) == bool(p.get("charge")):
        raise InvalidRequest("You must pass either charge or payment_intent (and not both).", param="charge")
    if p.get("payment_intent"):
        pi = ctx.get("payment_intent", p["payment_intent"], "payment_intent")
        if not pi["latest_charge"] or pi["status"] != "succeeded":
            raise InvalidRequest(f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                                 param="payment_intent")
        charge = ctx.get("charge", pi["latest_charge"])
    else:
        charge = ctx.get("charge", p["charge"], "charge")
    # a direct charge only authorized (`capture=false`): a refund releases the authorization, whole
    held = not charge["captured"] and not charge["payment_intent"] and charge["paid"] and not charge["refunded"]
    if held and p.get("amount") and p["amount"] != charge["amount"]:
        raise InvalidRequest("You cannot partially refund an uncaptured charge. Instead, capture the charge for an "
                             "amount less than the original amount", param="amount")
    left = charge["amount"] if held else charge["amount_captured"] - charge["amount_refunded"]
    if not (held or charge["captured"]) or left <= 0:
        raise InvalidRequest(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    amount = p.get("amount") or left
    if amount > left:
        raise InvalidRequest(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                             param="amount")
    now = ctx.now(charge["customer"]) if charge["customer"] else ctx.now()
    refund = shape("refund", {
        "id": ctx.new_id("re"), "amount": amount, "charge": charge["id"], "created": now,
        "currency": charge["currency"], "customer": charge["customer"],
        "destination_details": shape("refund:destination_details", {
            "card": shape("refund:destination_details.card", {
                "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"}),
            "type": "card"}),
        "metadata": merge_metadata({}, p.get("metadata") or {}), "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"], "reason": p.get("reason"), "status": "succeeded"})
    ctx.put("refund", refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == (charge["amount"] if held else charge["amount_captured"])
    charge["refunds"] = {**charge["refunds"], "data": [refund, *charge["refunds"]["data"]],
                         "total_count": charge["refunds"]["total_count"] + 1}
    ctx.emit("charge.refunded", charge)
    ctx.emit("refund.created", refund)
    return refund


@route("GET", "/v1/refunds/{re_id}")
def retrieve_refund(ctx: Ctx, p: dict, re_id: str):
    return ctx.get("refund", re_id)


@route("POST", "/v1/refunds/{re_id}", {"metadata": Metadata()})
def update_refund(ctx: Ctx, p: dict, re_id: str):
    refund = ctx.get("refund", re_id)
    before = {"metadata": refund["metadata"]}
    if "metadata" in p:
        refund["metadata"] = merge_metadata(refund["metadata"], p["metadata"])
    if refund["metadata"] != before["metadata"]:
        ctx.emit("charge.refund.updated", refund, before)
        ctx.emit("refund.updated", refund, before)
    return refund


@route("GET", "/v1/refunds", {"charge": Str(), "payment_intent": Str()}, listing=True)
def list_refunds(ctx: Ctx, p: dict):
    return paginate(ctx, "refund", p, "/v1/refunds", lambda r: (
        (p.get("charge") is None or r["charge"] == p["charge"])
        and (p.get("payment_intent") is None or r["payment_intent"] == p["payment_intent"])))


