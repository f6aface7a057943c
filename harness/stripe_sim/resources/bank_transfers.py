"""Bank transfers: the `customer_balance` payment method (docs.stripe.com/payments/bank-transfers).

A PaymentIntent paid this way is confirmed with `payment_method_data[type]=customer_balance` (or a
`customer_balance` payment method) and `payment_method_options[customer_balance][funding_type]=bank_transfer`.
Confirming it, as Stripe.js's `confirmCustomerBalancePayment` documents: a cash balance that covers the amount
pays it at once (`succeeded`); otherwise, with a funding type, it waits in `requires_action` showing
`next_action.display_bank_transfer_instructions` (the account to send money to, the amount remaining, a
reference); without one it goes back to `requires_payment_method`.

Money arrives with the test helper `POST /v1/test_helpers/customers/{id}/fund_cash_balance`: a `funded` cash
balance transaction, then reconciliation (cash_balance.py): under `automatic`, the funds go to the customer's
waiting payments in that currency, the one whose reference the transfer quotes first, then the oldest; under
`manual`, only to the payment the reference names. A payment paid in part stays in `requires_action` with a
smaller `amount_remaining` (`payment_intent.partially_funded`); paid in full it succeeds (a `py_` charge,
`charge.succeeded`, `payment_intent.succeeded`). What is left over stays in the balance
(`cash_balance.funds_available`) until `POST /v1/payment_intents/{id}/apply_customer_balance` or a later
payment uses it.
"""

from __future__ import annotations

import hashlib

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Enum, Int, List, Metadata, Obj, Str
from ..routing import Ctx, route
from . import cash_balance

# bank transfer type -> the currency it carries and the country of the account it shows
TYPES = {"eu_bank_transfer": ("eur", None), "gb_bank_transfer": ("gbp", "GB"), "jp_bank_transfer": ("jpy", "JP"),
         "mx_bank_transfer": ("mxn", "MX"), "us_bank_transfer": ("usd", "US")}
TYPE_OF_CURRENCY = {currency: kind for kind, (currency, _) in TYPES.items()}
EU_COUNTRIES = ("BE", "DE", "ES", "FR", "IE", "NL")
ADDRESS_TYPE = {"eu_bank_transfer": "iban", "gb_bank_transfer": "sort_code", "jp_bank_transfer": "zengin",
                "mx_bank_transfer": "spei", "us_bank_transfer": "aba"}
NETWORKS = {"aba": ["ach", "domestic_wire_us"], "iban": ["sepa"], "sort_code": ["bacs", "fps"],
            "spei": ["spei"], "zengin": ["zengin"]}
ADDRESS_TYPES = ("aba", "iban", "sepa", "sort_code", "spei", "swift", "zengin")
BANK_TRANSFER = Obj({"type": Str(required=True), "eu_bank_transfer": Obj({"country": Str(required=True)}),
                     "requested_address_types": List(Enum(*ADDRESS_TYPES))})
PAYMENT_METHOD_OPTIONS = Obj({"customer_balance": Obj({
    "funding_type": Enum("bank_transfer"), "bank_transfer": BANK_TRANSFER, "setup_future_usage": Enum("none")})})
# only the customer_balance type is simulated here: a card comes as a payment method id or test token
PAYMENT_METHOD_DATA = Obj({"type": Enum("customer_balance", required=True), "metadata": Metadata()})
HOLDER = "tiersync simulator"  # the simulated account's name (as on its invoices)
BANK_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}
# what else a paid bank-transfer PaymentIntent concludes: fn(ctx, pi) (set by invoicing, which this module may
# not import)
ON_PAID: list = []


def bank_transfer_options(bank_transfer: dict, currency: str, param: str) -> dict:
    """The checked `bank_transfer` options: one of the documented types (the Stripe CLI's 2022 trigger file sends
    `jp_bank_account`, not one of them: refused, see docs/stripe-billing.md), the EU country when needed, and a
    currency the type carries."""
    kind = bank_transfer["type"]
    if kind not in TYPES:
        raise InvalidRequest(f"Invalid {param}[type]: must be one of eu_bank_transfer, gb_bank_transfer, "
                             "jp_bank_transfer, mx_bank_transfer, or us_bank_transfer", code="parameter_invalid",
                             param=f"{param}[type]")
    out = {"type": kind, "requested_address_types": list(bank_transfer.get("requested_address_types") or [])}
    if kind == "eu_bank_transfer":
        country = (bank_transfer.get("eu_bank_transfer") or {}).get("country")
        if not country:
            raise InvalidRequest(f"Missing required param: {param}[eu_bank_transfer][country].",
                                 code="parameter_missing", param=f"{param}[eu_bank_transfer][country]")
        if country not in EU_COUNTRIES:
            raise InvalidRequest(f"Invalid {param}[eu_bank_transfer][country]: must be one of "
                                 f"{', '.join(EU_COUNTRIES[:-1])}, or {EU_COUNTRIES[-1]}",
                                 code="parameter_invalid", param=f"{param}[eu_bank_transfer][country]")
        out["eu_bank_transfer"] = {"country": country}
    if TYPES[kind][0] != currency:
        raise InvalidRequest(f"The currency {currency} is not supported by {kind}, which only supports "
                             f"{TYPES[kind][0]}.", param="currency")
    return out


def payment_method_options(options: dict, currency: str, param: str = "payment_method_options") -> dict:
    """A PaymentIntent's `payment_method_options` from the request's (only `customer_balance` is taken)."""
    given = options.get("customer_balance")
    if given is None:
        return {}
    values = {"funding_type": given.get("funding_type")}
    if given.get("bank_transfer"):
        if not given.get("funding_type"):
            raise InvalidRequest(f"Missing required param: {param}[customer_balance][funding_type].",
                                 code="parameter_missing", param=f"{param}[customer_balance][funding_type]")
        values["bank_transfer"] = shape("payment_intent:payment_method_options.customer_balance.bank_transfer",
                                        bank_transfer_options(given["bank_transfer"], currency,
                                                              f"{param}[customer_balance][bank_transfer]"))
    elif given.get("funding_type"):
        raise InvalidRequest(f"Missing required param: {param}[customer_balance][bank_transfer].",
                             code="parameter_missing", param=f"{param}[customer_balance][bank_transfer]")
    return {"customer_balance": shape("payment_intent:payment_method_options.customer_balance", values)}


def new_payment_method(ctx: Ctx, data: dict) -> dict:
    pm = shape("payment_method", {
        "id": ctx.new_id("pm"), "allow_redisplay": "unspecified",
        "billing_details": shape("payment_method:billing_details", {"address": BANK_ADDRESS}),
        "created": ctx.now(), "customer_balance": {}, "livemode": ctx.livemode,
        "metadata": dict(data.get("metadata") or {}), "type": "customer_balance"})
    return ctx.put("payment_method", pm)


# ---- the account the customer sends money to --------------------------------------------------------------

def _digits(seed: str, n: int) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "".join(str(int(ch, 16) % 10) for ch in (digest * 2)[:n])


def _iban(country: str, seed: str) -> str:
    bban = {"BE": _digits(seed, 12), "DE": _digits(seed, 18), "ES": _digits(seed, 20), "FR": _digits(seed, 23),
            "IE": "STRP" + _digits(seed, 14), "NL": "STRP" + _digits(seed, 10)}[country]
    check = 98 - int("".join(str(int(ch, 36)) for ch in bban + country + "00")) % 97
    return f"{country}{check:02d}{bban}"


def financial_address(cus_id: str, kind: str, country: str) -> dict:
    """The customer's own account for this transfer type (a virtual account number: the same every time)."""
    seed = f"{cus_id}:{kind}:{country}"
    common = {"account_holder_address": {**BANK_ADDRESS, "country": country}, "account_holder_name": HOLDER,
              "bank_address": {**BANK_ADDRESS, "country": country}}
    address_type = ADDRESS_TYPE[kind]
    details = {
        "aba": lambda: {**common, "account_number": _digits(seed, 12), "account_type": "checking",
                        "bank_name": "TEST BANK", "routing_number": "110000000"},
        "iban": lambda: {**common, "bic": "STRPDEFFXXX", "country": country, "iban": _iban(country, seed)},
        "sort_code": lambda: {**common, "account_number": _digits(seed, 8), "sort_code": _digits(seed + "s", 6)},
        "spei": lambda: {**common, "bank_code": "002", "bank_name": "TEST BANK", "clabe": _digits(seed, 18)},
        "zengin": lambda: {**common, "account_number": _digits(seed, 7), "account_type": "futsu",
                           "bank_code": "0001", "bank_name": "TEST BANK", "branch_code": _digits(seed + "b", 3),
                           "branch_name": "TEST BRANCH"},
    }[address_type]()
    return shape("funding_instructions:bank_transfer.financial_addresses[]", {
        address_type: shape(f"funding_instructions:bank_transfer.financial_addresses[].{address_type}", details),
        "supported_networks": NETWORKS[address_type], "type": address_type})


def _addresses(cus_id: str, options: dict, country: str) -> list[dict]:
    wanted = options.get("requested_address_types")
    if wanted and ADDRESS_TYPE[options["type"]] not in wanted:
        return []
    return [financial_address(cus_id, options["type"], country)]


def _country(options: dict) -> str:
    return (options.get("eu_bank_transfer") or {}).get("country") or TYPES[options["type"]][1]


FUNDING = {"bank_transfer": Obj({"type": Str(required=True), "eu_bank_transfer": Obj({"country": Str(required=True)}),
                                 "requested_address_types": List(Enum("iban", "sort_code", "spei", "zengin"))},
                                required=True),
           "currency": Str(required=True, max_length=3), "funding_type": Enum("bank_transfer", required=True)}


@route("POST", "/v1/customers/{cus_id}/funding_instructions", FUNDING)
def funding_instructions(ctx: Ctx, p: dict, cus_id: str):
    """"If funding instructions have already been created for a given customer, the same funding instructions
    will be retrieved": the account is derived from the customer, so nothing needs storing."""
    ctx.get("customer", cus_id)
    currency = p["currency"].lower()
    options = bank_transfer_options(p["bank_transfer"], currency, "bank_transfer")
    country = _country(options)
    return shape("funding_instructions", {
        "bank_transfer": shape("funding_instructions:bank_transfer", {
            "country": country, "financial_addresses": _addresses(cus_id, options, country),
            "type": options["type"]}),
        "currency": currency, "funding_type": "bank_transfer", "livemode": ctx.livemode})


# ---- PaymentIntents --------------------------------------------------------------------------------------

def _instructions(ctx: Ctx, pi: dict, remaining: int) -> dict:
    options = pi["payment_method_options"]["customer_balance"]["bank_transfer"]
    country = _country(options)
    return shape("payment_intent:next_action", {
        "display_bank_transfer_instructions": shape(
            "payment_intent:next_action.display_bank_transfer_instructions", {
                "amount_remaining": remaining, "currency": pi["currency"],
                "financial_addresses": _addresses(pi["customer"], options, country),
                "hosted_instructions_url": f"{ctx.sim.public_url}/t/instructions/{pi['id']}",
                "reference": reference_of(pi), "type": options["type"]}),
        "type": "display_bank_transfer_instructions"})


def reference_of(pi: dict) -> str:
    """The code the customer quotes in the transfer so it is matched to this payment."""
    return hashlib.sha256(pi["id"].encode()).hexdigest()[:12].upper()


def remaining(pi: dict) -> int:
    action = (pi.get("next_action") or {}).get("display_bank_transfer_instructions")
    return action["amount_remaining"] if action else pi["amount"]


def waiting(pi: dict) -> bool:
    """A bank-transfer payment waiting for money."""
    return pi["status"] == "requires_action" and (pi.get("next_action") or {}).get("type") == \
        "display_bank_transfer_instructions"


def confirm(ctx: Ctx, pi: dict, pm: dict):
    if not pi["customer"]:
        raise InvalidRequest("A customer is required to use the customer_balance payment method: pass `customer`.",
                             param="customer")
    pi.update(payment_method=pm["id"], last_payment_error=None)
    options = pi["payment_method_options"].get("customer_balance") or {}
    if cash_balance.available(ctx, pi["customer"], pi["currency"]) >= pi["amount"]:
        apply(ctx, pi, pi["amount"])  # "the funding_type will be ignored"
    elif options.get("funding_type") == "bank_transfer":
        pi.update(status="requires_action", next_action=_instructions(ctx, pi, pi["amount"]))
        ctx.emit("payment_intent.requires_action", pi)
    else:
        pi.update(status="requires_payment_method", payment_method=None, next_action=None)


def apply(ctx: Ctx, pi: dict, amount: int, *, automatic: bool = False):
    """Pay `amount` of `pi` from the customer's cash balance (the caller checked the balance holds it)."""
    cus = ctx.get("customer", pi["customer"])
    cash_balance.record(ctx, cus, "applied_to_payment", -amount, pi["currency"],
                        shape("customer_cash_balance_transaction:applied_to_payment", {"payment_intent": pi["id"]}))
    left = remaining(pi) - amount
    if left > 0:
        pi.update(status="requires_action", next_action=_instructions(ctx, pi, left))
        ctx.emit("payment_intent.partially_funded", pi, automatic=automatic)
        return
    now = ctx.now(cus)
    charge = _charge(ctx, pi, now)
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"], next_action=None)
    ctx.emit("charge.succeeded", charge, automatic=automatic)
    ctx.emit("payment_intent.succeeded", pi, automatic=automatic)
    for hook in ON_PAID:
        hook(ctx, pi, automatic)


def _charge(ctx: Ctx, pi: dict, now: int) -> dict:
    charge = shape("charge", {
        "id": ctx.new_id("py"), "amount": pi["amount"], "amount_captured": pi["amount"], "amount_refunded": 0,
        "billing_details": shape("payment_method:billing_details", {"address": BANK_ADDRESS}),
        "calculated_statement_descriptor": "TIERSYNC SIM", "captured": True, "created": now,
        "currency": pi["currency"], "customer": pi["customer"], "description": pi.get("description"),
        "disputed": False, "fraud_details": {}, "livemode": ctx.livemode, "metadata": dict(pi.get("metadata") or {}),
        "outcome": shape("charge:outcome", {
            "network_status": "approved_by_network", "reason": None, "risk_level": "not_assessed",
            "seller_message": "Payment complete.", "type": "authorized"}),
        "paid": True, "payment_intent": pi["id"], "payment_method": pi["payment_method"],
        "payment_method_details": shape("charge:payment_method_details", {
            "customer_balance": {}, "type": "customer_balance"}),
        "receipt_email": pi.get("receipt_email"), "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": "/v1/refunds"},
        "shipping": pi.get("shipping"), "status": "succeeded"})
    return ctx.put("charge", charge)


def reconcile(ctx: Ctx, cus: dict, currency: str, reference: str | None):
    """Apply newly arrived funds to the customer's waiting payments (see the module's docstring)."""
    waiting_pis = [pi for pi in ctx.table("payment_intent").having_newest_first("customer", cus["id"])
                   if pi["currency"] == currency and waiting(pi)][::-1]  # oldest first
    named = [pi for pi in waiting_pis if reference and reference_of(pi) == reference]
    targets = named if cash_balance.reconciliation_mode(ctx, cus["id"]) == "manual" else \
        named + [pi for pi in waiting_pis if pi not in named]
    for pi in targets:
        have = cash_balance.available(ctx, cus["id"], currency)
        if have <= 0:
            break
        ctx.touch("payment_intent", pi)
        apply(ctx, pi, min(have, remaining(pi)), automatic=True)


FUND = {"amount": Int(min=1, max=99999999, required=True), "currency": Str(required=True, max_length=3),
        "reference": Str()}


@route("POST", "/v1/test_helpers/customers/{cus_id}/fund_cash_balance", FUND)
def fund_cash_balance(ctx: Ctx, p: dict, cus_id: str):
    """A bank transfer from the customer arrives (test mode): answers the `funded` transaction."""
    if ctx.livemode:
        raise InvalidRequest("Test helpers are only available in test mode.")
    cus = ctx.get("customer", cus_id)
    currency = p["currency"].lower()
    kind = TYPE_OF_CURRENCY.get(currency)
    if kind is None:
        raise InvalidRequest(f"Cash balances in {currency} are not supported: bank transfers carry "
                             f"{', '.join(sorted(TYPE_OF_CURRENCY))}.", param="currency")
    bank_transfer = {"reference": p.get("reference"), "type": kind}
    if kind != "mx_bank_transfer":  # the type has no sender details for Mexico
        sender = {"us_bank_transfer": {"network": "ach"}}.get(kind, {})
        bank_transfer[kind] = shape(f"customer_cash_balance_transaction:funded.bank_transfer.{kind}", sender)
    txn = cash_balance.record(ctx, cus, "funded", p["amount"], currency, shape(
        "customer_cash_balance_transaction:funded", {"bank_transfer": shape(
            "customer_cash_balance_transaction:funded.bank_transfer", bank_transfer)}))
    reconcile(ctx, cus, currency, p.get("reference"))
    if cash_balance.available(ctx, cus_id, currency) > 0:
        # "whenever there is a positive remaining cash balance after Stripe automatically reconciles new funds"
        ctx.emit("cash_balance.funds_available", cash_balance.view(ctx, cus_id), automatic=True)
    return txn


@route("POST", "/v1/payment_intents/{pi_id}/apply_customer_balance", {"amount": Int(min=1),
                                                                      "currency": Str(max_length=3)})
def apply_customer_balance(ctx: Ctx, p: dict, pi_id: str):
    """Manual reconciliation: pay a waiting bank-transfer PaymentIntent from the cash balance. `amount` defaults
    to "the remaining amount requested on the PaymentIntent"."""
    pi = ctx.get("payment_intent", pi_id)
    if "customer_balance" not in pi["payment_method_types"] or not waiting(pi):
        raise InvalidRequest(f"You cannot apply a customer balance to this PaymentIntent because it has a status "
                             f"of {pi['status']}; only a customer_balance PaymentIntent in requires_action can be "
                             "funded from the cash balance.", code="payment_intent_unexpected_state")
    currency = (p.get("currency") or pi["currency"]).lower()
    if currency != pi["currency"]:
        raise InvalidRequest(f"The currency {currency} does not match the PaymentIntent's currency "
                             f"{pi['currency']}.", param="currency")
    amount = p.get("amount") or remaining(pi)
    if amount > remaining(pi):
        raise InvalidRequest(f"The amount {amount} is more than the amount remaining on this PaymentIntent "
                             f"({remaining(pi)}).", param="amount")
    have = cash_balance.available(ctx, pi["customer"], currency)
    if amount > have:
        raise InvalidRequest(f"The customer's cash balance ({have} {currency}) is less than the amount to apply "
                             f"({amount}).", param="amount")
    apply(ctx, pi, amount)
    return pi


# ---- invoices paid by bank transfer ----------------------------------------------------------------------

# `payment_settings[...]` of invoices and subscriptions (only the simulated payment method types)
PAYMENT_SETTINGS_TYPES = List(Enum("card", "sepa_debit", "customer_balance"))
PAYMENT_SETTINGS_OPTIONS = Obj({"customer_balance": Obj({
    "funding_type": Enum("bank_transfer"),
    "bank_transfer": Obj({"type": Str(), "eu_bank_transfer": Obj({"country": Str(required=True)})})})})
INVOICE_PAYMENT_SETTINGS = Obj({"payment_method_types": PAYMENT_SETTINGS_TYPES,
                                "payment_method_options": PAYMENT_SETTINGS_OPTIONS})


def _settings_options(kind: str, given: dict, currency: str, types: list | None) -> dict | None:
    """`payment_settings[payment_method_options]` of an invoice or subscription (`kind`): the transfer type
    defaults to the one that carries the currency; an EU transfer needs its country (the simulator does not
    guess one)."""
    if "customer_balance" not in (types or ()):
        return None
    param = "payment_settings[payment_method_options][customer_balance][bank_transfer]"
    given_bt = ((given.get("payment_method_options") or {}).get("customer_balance") or {}).get("bank_transfer")
    bt_type = (given_bt or {}).get("type") or TYPE_OF_CURRENCY.get(currency)
    if bt_type is None:
        raise InvalidRequest(f"Bank transfers do not carry {currency}: they carry "
                             f"{', '.join(sorted(TYPE_OF_CURRENCY))}.", param="currency")
    checked = bank_transfer_options({**(given_bt or {}), "type": bt_type}, currency, param)
    checked.pop("requested_address_types")
    path = f"{kind}:payment_settings.payment_method_options"
    return shape(path, {"customer_balance": shape(f"{path}.customer_balance", {
        "bank_transfer": shape(f"{path}.customer_balance.bank_transfer", checked), "funding_type": "bank_transfer"})})


def invoice_payment_settings(given: dict, currency: str) -> dict:
    """An invoice's `payment_settings` from `payment_settings[...]`."""
    types = list(given.get("payment_method_types") or []) or None
    return shape("invoice:payment_settings", {
        "default_mandate": None, "payment_method_options": _settings_options("invoice", given, currency, types),
        "payment_method_types": types})


def subscription_payment_settings(given: dict, currency: str) -> dict:
    """A subscription's `payment_settings`; its invoices take the same types and options."""
    types = list(given.get("payment_method_types") or []) or None
    return shape("subscription:payment_settings", {
        "payment_method_options": _settings_options("subscription", given, currency, types),
        "payment_method_types": types,
        "save_default_payment_method": given.get("save_default_payment_method", "off")})


def options_for_invoice(inv: dict) -> dict:
    """The PaymentIntent's `payment_method_options` for an invoice paid by bank transfer."""
    given = inv["payment_settings"]["payment_method_options"]["customer_balance"]
    return {"customer_balance": shape("payment_intent:payment_method_options.customer_balance", {
        "bank_transfer": shape("payment_intent:payment_method_options.customer_balance.bank_transfer",
                               {**given["bank_transfer"], "requested_address_types": []}),
        "funding_type": "bank_transfer"})}
