"""A customer's cash balance: money the customer sent by bank transfer that Stripe holds for them
(docs.stripe.com/payments/customer-balance), not to be confused with the invoice credit `balance`
(customer_balance.py).

The balance is kept per currency (`available`), with a ledger of customer cash balance transactions
(`funded` when a transfer arrives, `applied_to_payment` when it pays a PaymentIntent) and a reconciliation
setting: `automatic` (the simulated account's default, as Stripe's) applies arriving funds to the customer's
open bank-transfer payments; `manual` applies only a transfer whose reference names a payment.
Routes: `GET/POST /v1/customers/{id}/cash_balance`, `GET /v1/customers/{id}/cash_balance_transactions[/{id}]`.
The payments side (funding instructions, PaymentIntents, `fund_cash_balance`) is in bank_transfers.py.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Enum, Obj
from ..routing import Ctx, paginate, route

STATE = "cash_balance.state"  # one private row per customer that has one: {id, customer, available, mode}
DEFAULT_MODE = "automatic"  # "By default, Stripe applies the automatic reconciliation mode" (Reconciliation)
TXN = "customer_cash_balance_transaction"


def state(ctx: Ctx, cus_id: str) -> dict:
    """The customer's balance row (made on first use; nothing is stored for a customer who never had one)."""
    row = ctx.find(STATE, cus_id)
    if row is None:
        row = ctx.put(STATE, {"id": cus_id, "customer": cus_id, "available": {}, "mode": None})
    return row


def available(ctx: Ctx, cus_id: str, currency: str) -> int:
    row = ctx.find(STATE, cus_id)
    return (row or {}).get("available", {}).get(currency, 0)


def reconciliation_mode(ctx: Ctx, cus_id: str) -> str:
    row = ctx.find(STATE, cus_id)
    return (row or {}).get("mode") or DEFAULT_MODE


def view(ctx: Ctx, cus_id: str) -> dict:
    """The `cash_balance` object: `available` is null until the customer has had a balance in any currency."""
    row = ctx.find(STATE, cus_id) or {"available": {}, "mode": None}
    return shape("cash_balance", {
        "available": dict(row["available"]) if row["available"] else None, "customer": cus_id,
        "customer_account": None, "livemode": ctx.livemode,
        "settings": shape("cash_balance:settings", {"reconciliation_mode": row["mode"] or DEFAULT_MODE,
                                                    "using_merchant_default": row["mode"] is None})})


def record(ctx: Ctx, cus: dict, kind: str, net_amount: int, currency: str, details: dict) -> dict:
    """Change the balance by `net_amount` and keep the transaction (`customer_cash_balance_transaction.created`);
    `details` is the type's own sub-object (`funded`, `applied_to_payment`)."""
    row = state(ctx, cus["id"])
    ending = row["available"].get(currency, 0) + net_amount
    if ending < 0:  # callers check first; a negative cash balance would be money Stripe does not hold
        raise InvalidRequest("The customer's cash balance is insufficient for this operation.")
    row["available"] = {**row["available"], currency: ending}  # a new dict: stored sub-objects may be shared
    txn = shape(TXN, {
        "id": ctx.new_id("ccsbtxn"), "created": ctx.now(cus), "currency": currency, "customer": cus["id"],
        "customer_account": None, "ending_balance": ending, "livemode": ctx.livemode, "net_amount": net_amount,
        "type": kind, kind: details})
    ctx.put(TXN, txn)
    ctx.emit("customer_cash_balance_transaction.created", txn)
    return txn


@route("GET", "/v1/customers/{cus_id}/cash_balance")
def retrieve(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return view(ctx, cus_id)


SETTINGS = Obj({"reconciliation_mode": Enum("automatic", "manual", "merchant_default")})


@route("POST", "/v1/customers/{cus_id}/cash_balance", {"settings": SETTINGS})
def update(ctx: Ctx, p: dict, cus_id: str):
    """`merchant_default` goes back to the account's setting (automatic here); no event (Stripe lists none)."""
    ctx.get("customer", cus_id)
    set_mode(ctx, cus_id, p.get("settings"))
    return view(ctx, cus_id)


def set_mode(ctx: Ctx, cus_id: str, settings: dict | None):
    """`settings[reconciliation_mode]` (here, or `cash_balance[settings]` on a customer create or update)."""
    mode = (settings or {}).get("reconciliation_mode")
    if mode:
        state(ctx, cus_id)["mode"] = None if mode == "merchant_default" else mode


def _of(ctx: Ctx, cus_id: str, txn_id: str) -> dict:
    txn = ctx.find(TXN, txn_id)
    if txn is None or txn["customer"] != cus_id:
        raise InvalidRequest(f"No such customer cash balance transaction: '{txn_id}'", code="resource_missing",
                             status=404)
    return txn


@route("GET", "/v1/customers/{cus_id}/cash_balance_transactions", listing=True)
def list_transactions(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    return paginate(ctx, TXN, p, f"/v1/customers/{cus_id}/cash_balance_transactions",
                    lambda t: t["customer"] == cus_id)


@route("GET", "/v1/customers/{cus_id}/cash_balance_transactions/{txn_id}")
def retrieve_transaction(ctx: Ctx, p: dict, cus_id: str, txn_id: str):
    ctx.get("customer", cus_id)
    return _of(ctx, cus_id, txn_id)
