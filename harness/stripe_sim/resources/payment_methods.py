"""Payment methods with Stripe's test tokens and card numbers.

The behaviour of a test card is a property of its number (as at Stripe), kept here by last4:
`pm_card_chargeDeclined` (…0002) fails when attached, `pm_card_chargeCustomerFail` (…0341) attaches and
then every charge fails, `pm_card_threeDSecure2Required` (…3220) needs authentication on every charge.
"""

from __future__ import annotations

import hashlib

from ..errors import CardError, InvalidRequest, card_declined
from ..objects import shape
from ..params import Enum, Int, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import sepa_debit

# number -> (brand, funding, behaviour)
CARDS = {
    "4242424242424242": ("visa", "credit", "ok"),
    "4000056655665556": ("visa", "debit", "ok"),
    "5555555555554444": ("mastercard", "credit", "ok"),
    "378282246310005": ("amex", "credit", "ok"),
    "4000000000000002": ("visa", "credit", "decline_on_attach:generic_decline"),
    "4000000000009995": ("visa", "credit", "decline_on_attach:insufficient_funds"),
    "4000000000000069": ("visa", "credit", "decline_on_attach:expired_card"),
    "4000000000000341": ("visa", "credit", "decline_on_charge:generic_decline"),
    "4000000000003220": ("visa", "credit", "requires_action"),
    "4000002760003184": ("visa", "credit", "requires_action"),
    # charged, then disputed at once (disputes.py)
    "4000000000000259": ("visa", "credit", "ok"),
    "4000000000002685": ("visa", "credit", "ok"),
    "4000000000001976": ("visa", "credit", "ok"),
}
TOKENS = {
    "pm_card_visa": "4242424242424242", "tok_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556", "tok_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444", "tok_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005", "tok_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002", "tok_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeCustomerFail": "4000000000000341", "tok_chargeCustomerFail": "4000000000000341",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_createDispute": "4000000000000259", "tok_createDispute": "4000000000000259",
    "pm_card_createDisputeProductNotReceived": "4000000000002685",
    "tok_createDisputeProductNotReceived": "4000000000002685",
    "pm_card_createDisputeInquiry": "4000000000001976", "tok_createDisputeInquiry": "4000000000001976",
}
# shared by every card (never changed in place), to keep long runs small
CARD_CHECKS = {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}
THREE_DS_SUPPORTED = {"supported": True}
BEHAVIOUR_BY_LAST4 = {n[-4:]: b for n, (_, _, b) in CARDS.items()}
DECLINE_MESSAGES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "expired_card": ("expired_card", "Your card has expired."),
}

BILLING_DETAILS = Obj({
    "address": Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")}),
    "email": Str(), "name": Str(), "phone": Str(),
})
CARD = Obj({"number": Str(), "exp_month": Int(min=1, max=12), "exp_year": Int(), "cvc": Str(),
            "token": Str()})
CREATE = {"type": Enum("card", "sepa_debit", required=True), "card": CARD, "billing_details": BILLING_DETAILS,
          "sepa_debit": Obj({"iban": Str(required=True)}), "metadata": Metadata(), "customer": Str(),
          "payment_method": Str()}


def behaviour(pm: dict) -> str:
    """A card's test behaviour; a bank debit (`sepa_debit`) is accepted here and decided when it settles."""
    card = pm.get("card") or {}
    return BEHAVIOUR_BY_LAST4.get(card.get("last4", ""), "ok")


def decline_error(reason: str, param: str | None = None):
    code, message = DECLINE_MESSAGES.get(reason, DECLINE_MESSAGES["generic_decline"])
    err = card_declined(reason, message, param)
    err.code = code
    return err


def new_payment_method(ctx: Ctx, number: str, exp_month: int = 12, exp_year: int = 2034,
                       billing_details: dict | None = None, metadata: dict | None = None, param="card[number]",
                       pm_id: str | None = None):
    number = number.replace(" ", "")
    if number not in CARDS:
        if not (number.isdigit() and 13 <= len(number) <= 19 and _luhn_ok(number)):
            raise CardError("Your card number is incorrect.", code="incorrect_number", param=param)
        brand, funding = "visa", "credit"
    else:
        brand, funding, _ = CARDS[number]
    bd = billing_details or {}
    addr = bd.get("address") or {}
    pm = shape("payment_method", {
        "id": pm_id or ctx.new_id("pm"), "allow_redisplay": "unspecified",
        "billing_details": shape("payment_method:billing_details", {
            "address": {k: addr.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")},
            "email": bd.get("email"), "name": bd.get("name"), "phone": bd.get("phone")}),
        "card": shape("payment_method:card", {
            "brand": brand, "checks": CARD_CHECKS, "country": "US", "display_brand": brand, "exp_month": exp_month,
            "exp_year": exp_year, "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16], "funding": funding,
            "last4": number[-4:], "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated", "three_d_secure_usage": THREE_DS_SUPPORTED}),
        "created": ctx.now(), "livemode": ctx.livemode, "metadata": merge_metadata({}, metadata or {}),
        "type": "card",
    })
    return ctx.put("payment_method", pm)


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def lookup(ctx: Ctx, pm_id: str, param: str) -> dict:
    """An existing payment method, or a fresh one for a test token such as `pm_card_visa`."""
    if pm_id in TOKENS:
        return new_payment_method(ctx, TOKENS[pm_id], param=param)
    if pm_id in sepa_debit.TOKENS:
        return sepa_debit.new_payment_method(ctx, sepa_debit.TOKENS[pm_id], {"name": "Jenny Rosen",
                                                                             "email": "jenny@example.com"}, {})
    return ctx.get("payment_method", pm_id, param)


def attach(ctx: Ctx, pm_id: str, customer: dict, param: str = "payment_method") -> dict:
    pm = lookup(ctx, pm_id, param)
    b = behaviour(pm)
    if b.startswith("decline_on_attach:"):
        raise decline_error(b.split(":", 1)[1], param)
    if pm["customer"] and pm["customer"] != customer["id"]:
        raise InvalidRequest("The payment method you provided has already been attached to a customer.",
                             code="payment_method_unexpected_state", param=param)
    if pm["customer"] != customer["id"]:
        pm["customer"] = customer["id"]
        ctx.emit("payment_method.attached", pm)
    return pm


@route("POST", "/v1/payment_methods", CREATE)
def create(ctx: Ctx, p: dict):
    if p.get("payment_method"):  # cloning onto a customer (Connect) is not simulated: plain lookup
        return lookup(ctx, p["payment_method"], "payment_method")
    if p["type"] == "sepa_debit":
        if not p.get("sepa_debit"):
            raise InvalidRequest("Missing required param: sepa_debit.", code="parameter_missing", param="sepa_debit")
        return sepa_debit.new_payment_method(ctx, p["sepa_debit"]["iban"], p.get("billing_details"),
                                             merge_metadata({}, p.get("metadata") or {}))
    card = p.get("card") or {}
    if card.get("token"):
        if card["token"] not in TOKENS:
            raise InvalidRequest(f"No such token: '{card['token']}'", code="resource_missing", param="card[token]")
        number = TOKENS[card["token"]]
    elif card.get("number"):
        number = card["number"]
        for k in ("exp_month", "exp_year"):
            if k not in card:
                raise InvalidRequest(f"Missing required param: card[{k}].", code="parameter_missing",
                                     param=f"card[{k}]")
    else:
        raise InvalidRequest("Missing required param: card.", code="parameter_missing", param="card")
    return new_payment_method(ctx, number, card.get("exp_month", 12), card.get("exp_year", 2034),
                              p.get("billing_details"), p.get("metadata"))


@route("GET", "/v1/payment_methods/{pm_id}")
def retrieve(ctx: Ctx, p: dict, pm_id: str):
    if pm_id in TOKENS:
        return lookup(ctx, pm_id, "id")
    return ctx.get("payment_method", pm_id)


@route("POST", "/v1/payment_methods/{pm_id}", {"metadata": Metadata(), "billing_details": BILLING_DETAILS,
                                                "allow_redisplay": Enum("always", "limited", "unspecified")})
def update(ctx: Ctx, p: dict, pm_id: str):
    pm = ctx.get("payment_method", pm_id)
    before = {"metadata": pm["metadata"], "billing_details": pm["billing_details"]}
    if "metadata" in p:
        pm["metadata"] = merge_metadata(pm["metadata"], p["metadata"])
    if p.get("billing_details"):
        bd = dict(pm["billing_details"])
        bd.update({k: v for k, v in p["billing_details"].items() if k != "address"})
        if "address" in p["billing_details"]:
            bd["address"] = {**bd["address"], **p["billing_details"]["address"]}
        pm["billing_details"] = bd
    if "allow_redisplay" in p:
        pm["allow_redisplay"] = p["allow_redisplay"]
    ctx.emit("payment_method.updated", pm, {k: v for k, v in before.items() if pm[k] != v})
    return pm


@route("POST", "/v1/payment_methods/{pm_id}/attach", {"customer": Str(required=True)})
def attach_route(ctx: Ctx, p: dict, pm_id: str):
    customer = ctx.get("customer", p["customer"], "customer")
    return attach(ctx, pm_id, customer, param="payment_method")


@route("POST", "/v1/payment_methods/{pm_id}/detach")
def detach(ctx: Ctx, p: dict, pm_id: str):
    pm = ctx.get("payment_method", pm_id)
    if not pm["customer"]:
        raise InvalidRequest("The payment method you provided is not attached to a customer so detachment is "
                             "impossible.", code="payment_method_unexpected_state")
    previous = {"customer": pm["customer"]}
    cus = ctx.find("customer", pm["customer"])
    pm["customer"] = None
    if cus and cus.get("invoice_settings", {}).get("default_payment_method") == pm_id:
        cus["invoice_settings"] = {**cus["invoice_settings"], "default_payment_method": None}
    ctx.emit("payment_method.detached", pm, previous)
    return pm


LIST = {"customer": Str(), "type": Enum("card", "sepa_debit")}


@route("GET", "/v1/payment_methods", LIST, listing=True)
def list_(ctx: Ctx, p: dict):
    cus = p.get("customer")
    if cus:
        ctx.get("customer", cus, "customer")
    return paginate(ctx, "payment_method", p, "/v1/payment_methods",
                    lambda pm: (cus is None or pm["customer"] == cus) and p.get("type") in (None, pm["type"]))


@route("GET", "/v1/customers/{cus_id}/payment_methods", {"type": Enum("card", "sepa_debit")}, listing=True)
def list_for_customer(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return paginate(ctx, "payment_method", p, f"/v1/customers/{cus_id}/payment_methods",
                    lambda pm: pm["customer"] == cus_id and p.get("type") in (None, pm["type"]),
                    having=("customer", cus_id))
