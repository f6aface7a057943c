"""Disputes, as Stripe test mode makes them: a charge paid with a dispute test card is disputed at once.

Test cards (https://docs.stripe.com/testing#disputes): 4000 0000 0000 0259 (`pm_card_createDispute`,
a fraudulent chargeback), 4000 0000 0000 2685 (`pm_card_createDisputeProductNotReceived`) and
4000 0000 0000 1976 (`pm_card_createDisputeInquiry`, an inquiry). A chargeback takes the amount and the
dispute fee at once (`charge.dispute.funds_withdrawn`, one balance transaction); an inquiry moves no money
(`warning_needs_response`, no balance transaction, the charge still refundable).

Answering: `POST /v1/disputes/{id}` stores evidence and metadata (`charge.dispute.updated`); evidence is
submitted unless `submit=false`. In test mode `uncategorized_text=winning_evidence` wins the dispute (the funds
come back: `charge.dispute.funds_reinstated`) and `losing_evidence` loses it, both closing it
(`charge.dispute.closed`); an inquiry closes as `warning_closed`. `POST /v1/disputes/{id}/close` accepts the
loss (`lost`, or `warning_closed` for an inquiry).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import CREATED_FILTER, Bool, Enum, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from .billing_math import in_range

# card number -> (reason, inquiry?)
DISPUTE_CARDS = {
    "4000000000000259": ("fraudulent", False),
    "4000000000002685": ("product_not_received", False),
    "4000000000001976": ("fraudulent", True),
}
DISPUTE_FEE = 1500  # Stripe's dispute fee in the US (15.00 USD), withdrawn with the amount
RESPONSE_WINDOW = 7 * 86400  # evidence_details.due_by: the issuer's deadline (it varies by network)
VISA_REASON_CODES = {"fraudulent": "10.4", "product_not_received": "13.1"}
EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
    "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
    "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation", "duplicate_charge_explanation",
    "duplicate_charge_id", "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address", "shipping_carrier",
    "shipping_date", "shipping_documentation", "shipping_tracking_number", "uncategorized_file",
    "uncategorized_text")
CLOSED = ("won", "lost", "warning_closed", "prevented")


def kind_of_card(last4: str) -> tuple[str, bool] | None:
    """(reason, inquiry?) for a dispute test card, by the last four digits that identify it here."""
    for number, kind in DISPUTE_CARDS.items():
        if number[-4:] == last4:
            return kind
    return None


def _balance_transaction(ctx: Ctx, dispute: dict, amount: int, fee: int, now: int, what: str) -> dict:
    currency = dispute["currency"]
    fees = [shape("balance_transaction:fee_details[]", {"amount": fee, "application": None, "currency": currency,
                                                        "description": "Dispute fee", "type": "stripe_fee"})]
    return shape("balance_transaction", {
        "id": ctx.new_id("txn"), "amount": amount, "available_on": now, "balance_type": "payments", "created": now,
        "currency": currency, "description": f"Chargeback {what} for {dispute['charge']}", "fee": fee,
        "fee_details": fees if fee else [], "net": amount - fee,
        "reporting_category": "dispute" if amount < 0 else "dispute_reversal", "source": dispute["id"],
        "status": "available", "type": "adjustment"})


def open_dispute(ctx: Ctx, charge: dict, pm: dict, now: int) -> dict | None:
    """After a successful charge: the dispute its test card makes, announced as Stripe does; else None."""
    card = pm.get("card") or {}
    kind = kind_of_card(card.get("last4", "")) if pm.get("type") == "card" else None
    if kind is None:
        return None
    reason, inquiry = kind
    du_id = ctx.new_id("du")
    network_reason = "10" if inquiry else VISA_REASON_CODES.get(reason)
    dispute = shape("dispute", {
        "id": du_id, "amount": charge["amount"], "charge": charge["id"], "created": now,
        "currency": charge["currency"],
        "evidence": shape("dispute:evidence", {"enhanced_evidence": {}}),
        "evidence_details": shape("dispute:evidence_details", {
            "due_by": now + RESPONSE_WINDOW, "enhanced_eligibility": {}, "has_evidence": False, "past_due": False,
            "submission_count": 0, "submission_method": "not_submitted"}),
        "is_charge_refundable": inquiry, "livemode": ctx.livemode, "network_reason_code": network_reason,
        "payment_intent": charge.get("payment_intent"),
        "payment_method_details": shape("dispute:payment_method_details", {
            "card": shape("dispute:payment_method_details.card", {
                "brand": card.get("brand"), "case_type": "inquiry" if inquiry else "chargeback",
                "network": card.get("brand"), "network_reason_code": network_reason}),
            "type": "card"}),
        "reason": reason, "status": "warning_needs_response" if inquiry else "needs_response",
    })
    ctx.put("dispute", dispute)
    charge["disputed"] = True
    ctx.emit("charge.dispute.created", dispute, automatic=True)
    if not inquiry:
        dispute["balance_transactions"] = [_balance_transaction(ctx, dispute, -dispute["amount"], DISPUTE_FEE, now,
                                                                "withdrawal")]
        ctx.emit("charge.dispute.funds_withdrawn", dispute, automatic=True)
    return dispute


def _close(ctx: Ctx, dispute: dict, status: str, previous: dict):
    dispute["status"] = status
    ctx.emit("charge.dispute.closed", dispute, previous)
    if status == "won" and dispute["balance_transactions"]:
        now = ctx.now()
        dispute["balance_transactions"] = [*dispute["balance_transactions"], _balance_transaction(
            ctx, dispute, dispute["amount"], -DISPUTE_FEE if dispute["currency"] == "usd" else 0, now, "reversal")]
        ctx.emit("charge.dispute.funds_reinstated", dispute)


def _check_open(dispute: dict):
    if dispute["status"] in CLOSED:
        raise InvalidRequest(f"This dispute is already closed (status: {dispute['status']}).")


@route("GET", "/v1/disputes/{du_id}")
def retrieve(ctx: Ctx, p: dict, du_id: str):
    return ctx.get("dispute", du_id)


@route("GET", "/v1/disputes", {"charge": Str(), "payment_intent": Str(), "created": CREATED_FILTER}, listing=True)
def list_(ctx: Ctx, p: dict):
    created = p.get("created")

    def keep(d):
        return ((p.get("charge") is None or d["charge"] == p["charge"])
                and (p.get("payment_intent") is None or d["payment_intent"] == p["payment_intent"])
                and (created is None or in_range(d["created"], created)))

    return paginate(ctx, "dispute", p, "/v1/disputes", keep)


UPDATE = {"evidence": Obj({**{k: Str(max_length=150_000) for k in EVIDENCE_FIELDS}}), "metadata": Metadata(),
          "submit": Bool(), "intended_submission_method": Enum("manual", "prefer_manual", "prefer_smart_disputes",
                                                               "smart_disputes")}


@route("POST", "/v1/disputes/{du_id}", UPDATE)
def update(ctx: Ctx, p: dict, du_id: str):
    dispute = ctx.get("dispute", du_id)
    _check_open(dispute)
    previous: dict = {}
    if "metadata" in p:
        previous["metadata"] = dispute["metadata"]
        dispute["metadata"] = merge_metadata(dispute["metadata"], p["metadata"])
    if "intended_submission_method" in p:
        previous["intended_submission_method"] = dispute["intended_submission_method"]
        dispute["intended_submission_method"] = p["intended_submission_method"]
    evidence = p.get("evidence") or {}
    if evidence:
        previous["evidence"] = dispute["evidence"]
        dispute["evidence"] = {**dispute["evidence"], **{k: (v or None) for k, v in evidence.items()}}
        dispute["evidence_details"] = {**dispute["evidence_details"], "has_evidence": True}
    inquiry = dispute["status"].startswith("warning_")
    if evidence and p.get("submit", True):
        previous["status"] = dispute["status"]
        details = dispute["evidence_details"]
        dispute["evidence_details"] = {**details, "submission_count": details["submission_count"] + 1,
                                       "submission_method": "manual"}
        dispute["status"] = "warning_under_review" if inquiry else "under_review"
    ctx.emit("charge.dispute.updated", dispute, previous or None)
    text = dispute["evidence"].get("uncategorized_text") if evidence and p.get("submit", True) else None
    if text in ("winning_evidence", "losing_evidence"):  # test mode's outcomes (docs.stripe.com/testing#disputes)
        before = {"status": dispute["status"]}
        _close(ctx, dispute, "warning_closed" if inquiry else ("won" if text == "winning_evidence" else "lost"),
               before)
    return dispute


@route("POST", "/v1/disputes/{du_id}/close")
def close(ctx: Ctx, p: dict, du_id: str):
    """"Closing the dispute for a charge indicates that you do not have any evidence to submit and are
    essentially dismissing the dispute, acknowledging it as lost." (API reference)"""
    dispute = ctx.get("dispute", du_id)
    _check_open(dispute)
    before = {"status": dispute["status"]}
    _close(ctx, dispute, "warning_closed" if dispute["status"].startswith("warning_") else "lost", before)
    return dispute
