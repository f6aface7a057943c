"""Bank transfers into a customer's cash balance (the `customer_balance` payment method).

A PaymentIntent paid with `customer_balance` and `payment_method_options[customer_balance][funding_type]=
bank_transfer` waits in `requires_action`, its `next_action.display_bank_transfer_instructions` telling the
customer where to send the money and how much is still missing (`amount_remaining`). Money the customer sends
lands in their cash balance (`customer_cash_balance_transaction` `funded`); with the default automatic
reconciliation it is applied at once to their waiting PaymentIntents in that currency, oldest first
(`applied_to_payment`): `payment_intent.partially_funded` while some is missing, `payment_intent.succeeded` when
none is. What is left over stays in the balance (`cash_balance.funds_available`) and pays the next such
PaymentIntent when it is confirmed. In test mode `POST /v1/test_helpers/customers/{id}/fund_cash_balance`
stands for the customer's transfer.

Not simulated: manual reconciliation, `POST /v1/payment_intents/{id}/apply_customer_balance`, funding
instructions (`POST /v1/customers/{id}/funding_instructions`), refunds to the balance, and the cash balance
settings.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Enum, Int, List, Obj, Str
from ..routing import Ctx, paginate, route

# bank transfer type -> its currency and the test account details shown to the customer
BANK_TRANSFERS = {
    "eu_bank_transfer": ("eur", {"type": "iban", "supported_networks": ["sepa"], "iban": {
        "account_holder_name": "Stripe Technology Europe Limited", "bic": "SXPYDEHH", "country": "DE",
        "iban": "DE00000000000000000001"}}),
    "gb_bank_transfer": ("gbp", {"type": "sort_code", "supported_networks": ["bacs", "fps"], "sort_code": {
        "account_holder_name": "Stripe Payments UK Limited", "account_number": "00000001", "sort_code": "000000"}}),
    "jp_bank_transfer": ("jpy", {"type": "zengin", "supported_networks": ["zengin"], "zengin": {
        "account_holder_name": "ストライプジャパン（カ", "account_number": "0000001", "account_type": "futsu",
        "bank_code": "0000", "bank_name": "テスト銀行", "branch_code": "000", "branch_name": "テスト支店"}}),
    "mx_bank_transfer": ("mxn", {"type": "spei", "supported_networks": ["spei"], "spei": {
        "bank_code": "000", "bank_name": "STP", "clabe": "000000000000000001"}}),
    "us_bank_transfer": ("usd", {"type": "aba", "supported_networks": ["ach", "domestic_wire_us"], "aba": {
        "account_holder_name": "Stripe Payments Company", "account_number": "0000000001", "account_type":
        "checking", "bank_name": "Test Bank", "routing_number": "000000001"}}),
}
# `payment_method_options[customer_balance]` (payments.py takes it)
OPTIONS = Obj({"funding_type": Enum("bank_transfer"), "bank_transfer": Obj({
    "type": Enum(*BANK_TRANSFERS, required=True), "eu_bank_transfer": Obj({"country": Str(required=True)}),
    "requested_address_types": List(Str())})})
TXN = "customer_cash_balance_transaction"


def bank_transfer_options(options: dict | None, currency: str) -> dict:
    """`payment_method_options[customer_balance]`, checked as Stripe checks it."""
    prefix = "payment_method_options[customer_balance]"
    options = options or {}
    if options.get("funding_type") != "bank_transfer":
        raise InvalidRequest(f"Missing required param: {prefix}[funding_type].", code="parameter_missing",
                             param=f"{prefix}[funding_type]")
    transfer = options.get("bank_transfer") or {}
    kind = transfer.get("type")
    if kind is None:
        param = f"{prefix}[bank_transfer][type]"
        raise InvalidRequest(f"Missing required param: {param}.", code="parameter_missing", param=param)
    if kind == "eu_bank_transfer" and not (transfer.get("eu_bank_transfer") or {}).get("country"):
        param = f"{prefix}[bank_transfer][eu_bank_transfer][country]"
        raise InvalidRequest(f"Missing required param: {param}.", code="parameter_missing", param=param)
    if BANK_TRANSFERS[kind][0] != currency:
        raise InvalidRequest(f"The currency provided ({currency}) is invalid for {kind}, which takes "
                             f"{BANK_TRANSFERS[kind][0]}.", param="currency")
    return {"bank_transfer": dict(transfer), "funding_type": "bank_transfer"}


def new_payment_method(ctx: Ctx, customer: str | None) -> dict:
    return ctx.put("payment_method", shape("payment_method", {
        "id": ctx.new_id("pm"), "allow_redisplay": "unspecified",
        "billing_details": {"address": {k: None for k in ("city", "country", "line1", "line2", "postal_code",
                                                           "state")}, "email": None, "name": None, "phone": None,
                            "tax_id": None},
        "created": ctx.now(), "customer": customer, "customer_balance": {}, "livemode": ctx.livemode,
        "metadata": {}, "type": "customer_balance"}))


def available(ctx: Ctx, customer_id: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for txn in ctx.table(TXN).rows.values():
        if txn["customer"] != customer_id:
            continue
        totals[txn["currency"]] = totals.get(txn["currency"], 0) + txn["net_amount"]
    return totals


def _transaction(ctx: Ctx, customer_id: str, currency: str, amount: int, kind: str, detail: dict, now: int) -> dict:
    txn = shape(TXN, {"id": ctx.new_id("ccsbtxn"), "created": now, "currency": currency, "customer": customer_id,
                      "ending_balance": available(ctx, customer_id).get(currency, 0) + amount,
                      "livemode": ctx.livemode, "net_amount": amount, "type": kind, **detail})
    ctx.put(TXN, txn)
    ctx.emit(f"{TXN}.created", txn, automatic=True)
    return txn


def confirm(ctx: Ctx, pi: dict, now: int):
    """Confirm a bank-transfer PaymentIntent: waiting for the money, or paid from the balance already there."""
    if not pi["customer"]:
        raise InvalidRequest("A customer is required to use the customer_balance payment method: pass "
                             "`customer`.", param="customer")
    options = bank_transfer_options((pi["payment_method_options"] or {}).get("customer_balance"), pi["currency"])
    kind = options["bank_transfer"]["type"]
    pi["payment_method_options"] = {**(pi["payment_method_options"] or {}), "customer_balance": options}
    pi.update(status="requires_action", next_action={"type": "display_bank_transfer_instructions",
                                                     "display_bank_transfer_instructions": {
        "amount_remaining": pi["amount"], "currency": pi["currency"],
        "financial_addresses": [BANK_TRANSFERS[kind][1]],
        "hosted_instructions_url": f"{ctx.sim.public_url}/bank_transfer/{pi['id']}",
        "reference": pi["id"][3:13].upper(), "type": kind}})
    if not _apply(ctx, pi, now):
        ctx.emit("payment_intent.requires_action", pi)


def _apply(ctx: Ctx, pi: dict, now: int) -> bool:
    """Apply the customer's balance to a waiting PaymentIntent; True when anything was applied."""
    balance = available(ctx, pi["customer"]).get(pi["currency"], 0)
    instructions = pi["next_action"]["display_bank_transfer_instructions"]
    amount = min(balance, instructions["amount_remaining"])
    if amount <= 0:
        return False
    _transaction(ctx, pi["customer"], pi["currency"], -amount, "applied_to_payment",
                 {"applied_to_payment": {"payment_intent": pi["id"]}}, now)
    instructions["amount_remaining"] -= amount
    if instructions["amount_remaining"]:
        ctx.emit("payment_intent.partially_funded", pi, automatic=True)
        return True
    charge = ctx.put("charge", shape("charge", {
        "id": ctx.new_id("py"), "amount": pi["amount"], "amount_captured": pi["amount"], "amount_refunded": 0,
        "billing_details": ctx.get("payment_method", pi["payment_method"])["billing_details"],
        "calculated_statement_descriptor": "TIERSYNC SIM", "captured": True, "created": now,
        "currency": pi["currency"], "customer": pi["customer"], "description": pi["description"],
        "disputed": False, "fraud_details": {}, "livemode": ctx.livemode, "metadata": dict(pi["metadata"]),
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": "approved_by_network", "reason": None, "risk_level": "not_assessed",
                    "seller_message": "Payment complete.", "type": "authorized"},
        "paid": True, "payment_intent": pi["id"], "payment_method": pi["payment_method"],
        "payment_method_details": {"customer_balance": {}, "type": "customer_balance"},
        "receipt_email": pi["receipt_email"], "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": "/v1/refunds"},
        "shipping": pi["shipping"], "status": "succeeded"}))
    pi.update(status="succeeded", next_action=None, amount_received=pi["amount"], latest_charge=charge["id"])
    ctx.emit("charge.succeeded", charge, automatic=True)
    ctx.emit("payment_intent.succeeded", pi, automatic=True)
    return True


@route("POST", "/v1/test_helpers/customers/{cus_id}/fund_cash_balance",
       {"amount": Int(min=1, max=99999999, required=True), "currency": Str(required=True, max_length=3),
        "reference": Str(max_length=140)})
def fund(ctx: Ctx, p: dict, cus_id: str):
    """The customer's bank transfer arrives (test mode): funded, then applied to their waiting PaymentIntents."""
    if ctx.livemode:
        raise InvalidRequest("Test helpers are only available in test mode.")
    customer = ctx.get("customer", cus_id)
    currency = p["currency"].lower()
    now = ctx.now(customer)
    funded = _transaction(ctx, cus_id, currency, p["amount"], "funded", {"funded": {"bank_transfer": {
        "eu_bank_transfer": None, "gb_bank_transfer": None, "jp_bank_transfer": None,
        "reference": p.get("reference"), "type": _transfer_type(currency), "us_bank_transfer": None}}}, now)
    waiting = sorted((pi for pi in ctx.table("payment_intent").rows.values()
                      if pi["customer"] == cus_id and pi["currency"] == currency and pi["status"] == "requires_action"
                      and (pi["next_action"] or {}).get("type") == "display_bank_transfer_instructions"),
                     key=lambda pi: (pi["next_action"]["display_bank_transfer_instructions"]["reference"]
                                     != p.get("reference"), pi["created"]))
    for pi in waiting:  # a transfer naming a PaymentIntent's reference pays that one first
        ctx.touch("payment_intent", pi)
        _apply(ctx, pi, now)
    left = available(ctx, cus_id).get(currency, 0)
    if left:
        ctx.emit("cash_balance.funds_available", _cash_balance(ctx, cus_id), automatic=True)
    return funded


def _transfer_type(currency: str) -> str:
    return next((k for k, (cur, _) in BANK_TRANSFERS.items() if cur == currency), "us_bank_transfer")


def _cash_balance(ctx: Ctx, cus_id: str) -> dict:
    return shape("cash_balance", {"available": available(ctx, cus_id) or None, "customer": cus_id,
                                  "livemode": ctx.livemode, "settings": {"reconciliation_mode": "automatic",
                                                                         "using_merchant_default": True}})


@route("GET", "/v1/customers/{cus_id}/cash_balance")
def retrieve(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return _cash_balance(ctx, cus_id)


@route("GET", "/v1/customers/{cus_id}/cash_balance_transactions", listing=True)
def list_transactions(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return paginate(ctx, TXN, p, f"/v1/customers/{cus_id}/cash_balance_transactions",
                    lambda t: t["customer"] == cus_id)


@route("GET", "/v1/customers/{cus_id}/cash_balance_transactions/{txn_id}")
def retrieve_transaction(ctx: Ctx, p: dict, cus_id: str, txn_id: str):
    txn = ctx.get(TXN, txn_id)
    if txn["customer"] != cus_id:
        raise InvalidRequest(f"No such customer_cash_balance_transaction: '{txn_id}'", code="resource_missing",
                             status=404)
    return txn
