"""A customer's invoice credit balance and its ledger (`/v1/customers/{id}/balance_transactions`).

`balance` is negative when the business owes the customer (a credit) and positive when the customer owes
(a debit); "the invoice balance automatically applies toward the next invoice finalized to a customer"
(docs.stripe.com/billing/customer/balance). Every change is a customer balance transaction whose `amount` is
the change (negative: a credit) and `ending_balance` the balance after it.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import EMPTY_METADATA, Int, Metadata, Str, merge_metadata
from ..routing import Ctx, paginate, route

CREATE = {"amount": Int(required=True), "currency": Str(required=True, max_length=3),
          "description": Str(max_length=350), "metadata": Metadata()}
UPDATE = {"description": Str(max_length=350), "metadata": Metadata()}


def record(ctx: Ctx, cus: dict, amount: int, kind: str, *, currency: str, invoice: str | None = None,
           description: str | None = None, metadata: dict | None = None, at: int | None = None,
           emit: bool = True) -> dict:
    """Change the customer's balance by `amount`, keep the transaction, and announce the customer's new balance
    (`customer.updated`: "occurs whenever any property of a customer changes")."""
    before = {"balance": cus.get("balance") or 0}
    cus["balance"] = (cus.get("balance") or 0) + amount
    if cus.get("currency") is None:
        cus["currency"] = currency
    txn = shape("customer_balance_transaction", {
        "id": ctx.new_id("cbtxn"), "amount": amount, "created": ctx.now(cus) if at is None else at,
        "currency": currency, "customer": cus["id"], "description": description, "ending_balance": cus["balance"],
        "invoice": invoice, "livemode": ctx.livemode,
        "metadata": merge_metadata({}, metadata or {}) or EMPTY_METADATA, "type": kind})
    if amount and emit:
        ctx.emit("customer.updated", cus, before)
    return ctx.put("customer_balance_transaction", txn)


def apply_to_invoice(ctx: Ctx, inv: dict, at: int) -> int:
    """At finalization: a negative total becomes a credit on the balance; otherwise the balance (a credit up to
    the total, or a whole debit) is applied to the invoice. Returns what is left to pay (`amount_due`)."""
    cus = ctx.get("customer", inv["customer"])
    start = cus.get("balance") or 0
    total = inv["total"]
    change = total if total < 0 else (-start if start > 0 else -max(start, -total))
    inv["starting_balance"] = start
    if change:
        record(ctx, cus, change, "applied_to_invoice", currency=inv["currency"], invoice=inv["id"], at=at)
    inv["ending_balance"] = cus["balance"]
    return max(total + start - cus["balance"], 0)


def _of(ctx: Ctx, cus_id: str, txn_id: str) -> dict:
    txn = ctx.get("customer_balance_transaction", txn_id)
    if txn["customer"] != cus_id:
        raise InvalidRequest(f"No such customer balance transaction: '{txn_id}'", code="resource_missing",
                             status=404)
    return txn


@route("POST", "/v1/customers/{cus_id}/balance_transactions", CREATE)
def create(ctx: Ctx, p: dict, cus_id: str):
    """An adjustment: negative credits the customer, positive debits them."""
    cus = ctx.get("customer", cus_id)
    currency = p["currency"].lower()
    if cus.get("currency") and cus["currency"] != currency:
        raise InvalidRequest(f"The currency {currency} does not match the customer's currency {cus['currency']}.",
                             param="currency")
    return record(ctx, cus, p["amount"], "adjustment", currency=currency, description=p.get("description"),
                  metadata=p.get("metadata"))


@route("GET", "/v1/customers/{cus_id}/balance_transactions", {"invoice": Str()}, listing=True)
def list_(ctx: Ctx, p: dict, cus_id: str):
    ctx.get("customer", cus_id)
    invoice = p.get("invoice")
    return paginate(ctx, "customer_balance_transaction", p, f"/v1/customers/{cus_id}/balance_transactions",
                    lambda t: t["customer"] == cus_id and (invoice is None or t["invoice"] == invoice))


@route("GET", "/v1/customers/{cus_id}/balance_transactions/{txn_id}")
def retrieve(ctx: Ctx, p: dict, cus_id: str, txn_id: str):
    ctx.get("customer", cus_id)
    return _of(ctx, cus_id, txn_id)


@route("POST", "/v1/customers/{cus_id}/balance_transactions/{txn_id}", UPDATE)
def update(ctx: Ctx, p: dict, cus_id: str, txn_id: str):
    ctx.get("customer", cus_id)
    txn = _of(ctx, cus_id, txn_id)
    if "description" in p:
        txn["description"] = p["description"]
    if "metadata" in p:
        txn["metadata"] = merge_metadata(txn["metadata"], p["metadata"])
    return txn
