"""SEPA Direct Debit: a delayed-notification payment method (the money arrives days after the customer pays).

A `sepa_debit` payment method holds an IBAN. Confirming a payment with it does not settle at once: the
PaymentIntent answers `processing` (`payment_intent.processing`, the charge `pending`), and the debit settles
later, to `succeeded` or back to `requires_payment_method` (`charge.failed`, `payment_intent.payment_failed`).
A Checkout Session paid this way completes `unpaid` and later sends `checkout.session.async_payment_succeeded`
or `..._failed`; that is when a receiver grants what was bought.

What a debit does is a property of the IBAN, as in Stripe's test mode (`TEST_IBANS`, from Stripe's table). The
plain test IBANs settle right after the request that started the debit has been answered; the "delayed" ones
"after at least three minutes" of the simulator's clock, settled by the first request (or test clock advance)
at or after that instant. Another valid IBAN fails, as Stripe's test mode treats it (*observed*: the Stripe CLI's
`checkout.session.async_payment_failed` fixture pays with a non-test IBAN and gets that event, stripe-cli #1033).
"""

from __future__ import annotations

import hashlib

from ..errors import InvalidRequest
from ..objects import shape
from ..routing import DUE, Ctx, route

# Stripe's test IBANs ("Test your integration", docs.stripe.com/payments/sepa-debit/accept-a-payment, fetched
# 2026-05-03), per country in the table's order: success, success after three minutes, failure, failure after
# three minutes, success then disputed, and three immediate failures with their failure codes.
OUTCOMES = ("succeed", "succeed_delayed", "fail", "fail_delayed", "disputed",
            "fail:charge_exceeds_source_limit", "fail:charge_exceeds_weekly_limit", "fail:insufficient_funds")
TOKEN_NAMES = ("success", "successDelayed", "failed", "failedDelayed", "disputed", "exceedsWeeklyVolumeLimit",
               "exceedsWeeklyTransactionLimit", "insufficientFunds")
_TABLE = {
    "at": "AT611904300234573201 AT321904300235473204 AT861904300235473202 AT051904300235473205 "
          "AT591904300235473203 AT981904300000343434 AT601904300000121212 AT981904300002222227",
    "be": "BE62510007547061 BE78510007547064 BE68539007547034 BE51510007547065 BE08510007547063 "
          "BE90510000343434 BE52510000121212 BE90510002222227",
    "de": "DE89370400440532013000 DE08370400440532013003 DE62370400440532013001 DE78370400440532013004 "
          "DE35370400440532013002 DE65370400440000343434 DE27370400440000121212 DE65370400440002222227",
    "es": "ES0700120345030000067890 ES2300120345030000067893 ES9121000418450200051332 ES9300120345030000067894 "
          "ES5000120345030000067892 ES1700120345000000343434 ES7600120345000000121212 ES1700120345000002222227",
    "fr": "FR1420041010050500013M02606 FR3020041010050500013M02609 FR8420041010050500013M02607 "
          "FR7920041010050500013M02600 FR5720041010050500013M02608 FR9720041010050000000343434 "
          "FR5920041010050000000121212 FR9720041010050000002222227",
    "ie": "IE29AIBK93115212345678 IE24AIBK93115212345671 IE02AIBK93115212345679 IE94AIBK93115212345672 "
          "IE51AIBK93115212345670 IE10AIBK93115200343434 IE69AIBK93115200121212 IE10AIBK93115202222227",
}
TEST_IBANS = {iban: outcome for row in _TABLE.values() for iban, outcome in zip(row.split(), OUTCOMES, strict=True)}
# `pm_success_de`, `pm_failedDelayed_at`, ...: the table's tokens, usable wherever a payment method id is
TOKENS = {f"pm_{name}_{cc}": iban for cc, row in _TABLE.items() for iban, name in zip(row.split(), TOKEN_NAMES, strict=True)}
DELAY = 180  # "after at least three minutes"
FAILURE_MESSAGES = {
    "generic_could_not_process": "The payment could not be processed.",
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "charge_exceeds_source_limit": "This payment would exceed the weekly payment volume limit.",
    "charge_exceeds_weekly_limit": "This payment exceeds the account's weekly transaction limit.",
}
PENDING = "sepa_debit.pending"  # the debits not settled yet (a private table: never served)
# what else a settled debit concludes, by what it paid: "invoice" -> fn(ctx, row, succeeded) (set by invoicing,
# which this module may not import)
ON_SETTLED: dict = {}


def normalize_iban(iban: str, param: str = "sepa_debit[iban]") -> str:
    """The IBAN without spaces, upper case; refused unless its check digits are right (ISO 13616 mod 97)."""
    text = "".join(str(iban).split()).upper()
    ok = 15 <= len(text) <= 34 and text[:2].isalpha() and text[2:4].isdigit() and text.isalnum()
    if ok:
        digits = "".join(str(int(ch, 36)) for ch in text[4:] + text[:4])
        ok = int(digits) % 97 == 1
    if not ok:
        raise InvalidRequest(f"The IBAN you provided ({iban}) is invalid.", param=param)
    return text


def fingerprint(iban: str) -> str:
    return hashlib.sha256(iban.encode()).hexdigest()[:16]


# what a debit from an account does, by the account's fingerprint (a payment method keeps no IBAN)
OUTCOME_BY_FINGERPRINT = {fingerprint(iban): outcome for iban, outcome in TEST_IBANS.items()}


def outcome_of(pm: dict) -> str:
    return OUTCOME_BY_FINGERPRINT.get((pm.get("sepa_debit") or {}).get("fingerprint"), "fail")


def new_payment_method(ctx: Ctx, iban: str, billing_details: dict | None, metadata: dict, *,
                       param: str = "sepa_debit[iban]") -> dict:
    iban = normalize_iban(iban, param)
    bd = billing_details or {}
    for name in ("name", "email"):  # a mandate names the account holder and is sent to them
        if not bd.get(name):
            raise InvalidRequest(f"Missing required param: billing_details[{name}].", code="parameter_missing",
                                 param=f"billing_details[{name}]")
    addr = bd.get("address") or {}
    pm = shape("payment_method", {
        "id": ctx.new_id("pm"), "allow_redisplay": "unspecified",
        "billing_details": shape("payment_method:billing_details", {
            "address": {k: addr.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")},
            "email": bd.get("email"), "name": bd.get("name"), "phone": bd.get("phone")}),
        "created": ctx.now(), "livemode": ctx.livemode, "metadata": metadata, "type": "sepa_debit",
        "sepa_debit": shape("payment_method:sepa_debit", {
            "bank_code": iban[4:9], "branch_code": "", "country": iban[:2], "fingerprint": fingerprint(iban),
            "generated_from": {"charge": None, "setup_attempt": None}, "last4": iban[-4:]}),
    })
    return ctx.put("payment_method", pm)


def check_currency(currency: str, param: str = "currency"):
    if currency != "eur":
        raise InvalidRequest(f"The currency provided ({currency}) is invalid. Payments with sepa_debit support "
                             "the following currencies: eur.", param=param)


# ---- mandates ------------------------------------------------------------------------------------------

def new_mandate(ctx: Ctx, pm: dict, acceptance: dict | None, now: int, multi_use: bool,
                payment: dict | None = None) -> dict:
    """The customer's authorisation to debit the account; `acceptance` is `mandate_data[customer_acceptance]`
    (Checkout collects it online). A single-use mandate is for one `payment` (a PaymentIntent): its amount."""
    acceptance = acceptance or {"type": "online", "online": {}}
    kind = acceptance.get("type") or "online"
    mandate_id = ctx.new_id("mandate")
    values = {
        "id": mandate_id,
        "customer_acceptance": shape("mandate:customer_acceptance", {
            "accepted_at": int(acceptance.get("accepted_at") or now), "type": kind,
            kind: {} if kind == "offline" else shape("mandate:customer_acceptance.online",
                                                     acceptance.get("online") or {})}),
        "livemode": ctx.livemode, "payment_method": pm["id"],
        "payment_method_details": shape("mandate:payment_method_details", {
            "sepa_debit": shape("mandate:payment_method_details.sepa_debit", {
                "reference": mandate_id[8:24].upper(), "url": f"{ctx.sim.public_url}/mandates/{mandate_id}"}),
            "type": "sepa_debit"}),
        "status": "active", "type": "multi_use" if multi_use else "single_use",
    }
    if multi_use:
        values["multi_use"] = {}
    elif payment is not None:
        values["single_use"] = {"amount": payment["amount"], "currency": payment["currency"]}
    mandate = shape("mandate", values)
    return ctx.put("mandate", mandate)


@route("GET", "/v1/mandates/{mandate_id}")
def retrieve_mandate(ctx: Ctx, p: dict, mandate_id: str):
    return ctx.get("mandate", mandate_id)


# ---- debits ----------------------------------------------------------------------------------------------

def start(ctx: Ctx, pi: dict, pm: dict, now: int, *, mandate: dict, checkout_session: str | None = None,
          invoice: str | None = None) -> dict:
    """Submit the debit: the PaymentIntent is `processing` and its charge `pending` until the debit settles."""
    check_currency(pi["currency"])
    charge = _charge(ctx, pi, pm, now, mandate)
    pi.update(status="processing", payment_method=pm["id"], latest_charge=charge["id"], next_action=None,
              last_payment_error=None)
    pi["payment_method_types"] = pi.get("payment_method_types") or ["sepa_debit"]
    ctx.emit("charge.pending", charge)
    ctx.emit("payment_intent.processing", pi)
    outcome = outcome_of(pm)
    delayed = outcome.endswith("_delayed")
    row = {"id": pi["id"], "charge": charge["id"], "outcome": outcome.removesuffix("_delayed"),
           "settles_at": now + (DELAY if delayed else 0), "customer": pi.get("customer"),
           "checkout_session": checkout_session, "invoice": invoice}
    ctx.put(PENDING, row)
    if not delayed:  # settled once the request that started it has been answered
        ctx.after_response.append(lambda: settle(ctx, row))
    return charge


def pending_for(ctx: Ctx, pi_id: str) -> dict | None:
    """The unsettled debit of a PaymentIntent, if any."""
    return ctx.table(PENDING).get(pi_id)


def settle_due(ctx: Ctx):
    """Settle every debit whose time has come (by its customer's clock)."""
    table = ctx.table(PENDING)
    if not len(table):
        return
    for row in sorted(table.rows.values(), key=lambda r: r["settles_at"]):
        if row["settles_at"] <= ctx.now(row["customer"]):
            settle(ctx, row)


def any_due(ctx: Ctx) -> bool:
    table = ctx.table(PENDING)
    return bool(len(table)) and any(r["settles_at"] <= ctx.now(r["customer"]) for r in table.rows.values())


DUE.append((any_due, settle_due))


def settle(ctx: Ctx, row: dict):
    if ctx.table(PENDING).get(row["id"]) is None:
        return  # settled already
    ctx.touch(PENDING, row)
    ctx.table(PENDING).remove(row["id"])
    pi = ctx.get("payment_intent", row["id"])
    charge = ctx.get("charge", row["charge"])
    if pi["status"] != "processing":  # canceled meanwhile ("in rare cases, processing" may be canceled)
        return
    if row["outcome"].startswith("fail"):
        code = row["outcome"].split(":", 1)[1] if ":" in row["outcome"] else "generic_could_not_process"
        message = FAILURE_MESSAGES[code]
        charge.update(status="failed", failure_code=code, failure_message=message, captured=False,
                      amount_captured=0, outcome={**charge["outcome"], "network_status": "declined_by_network",
                                                  "type": "issuer_declined", "reason": code,
                                                  "seller_message": message})
        pm = ctx.find("payment_method", pi["payment_method"])
        pi.update(status="requires_payment_method", payment_method=None, last_payment_error={
            "charge": charge["id"], "code": code, "message": message,
            "payment_method": pm, "type": "invalid_request_error"})
        ctx.emit("charge.failed", charge, automatic=True)
        ctx.emit("payment_intent.payment_failed", pi, automatic=True)
    else:
        charge.update(status="succeeded", paid=True, outcome={**charge["outcome"], "seller_message":
                                                              "Payment complete."})
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.emit("charge.succeeded", charge, automatic=True)
        ctx.emit("payment_intent.succeeded", pi, automatic=True)
    succeeded = not row["outcome"].startswith("fail")
    if row["invoice"]:
        ON_SETTLED["invoice"](ctx, row, succeeded)
    if row["checkout_session"]:
        _settle_session(ctx, row, succeeded)


def _settle_session(ctx: Ctx, row: dict, succeeded: bool):
    session = ctx.find("checkout.session", row["checkout_session"])
    if session is None:
        return
    if succeeded:
        session["payment_status"] = "paid"
    view = {k: v for k, v in session.items() if k != "line_items" and not k.startswith("_")}
    ctx.emit(f"checkout.session.async_payment_{'succeeded' if succeeded else 'failed'}", view, automatic=True)


def _charge(ctx: Ctx, pi: dict, pm: dict, now: int, mandate: dict) -> dict:
    sepa = pm["sepa_debit"]
    charge = shape("charge", {
        "id": ctx.new_id("py"), "amount": pi["amount"], "amount_captured": pi["amount"], "amount_refunded": 0,
        "billing_details": pm["billing_details"], "calculated_statement_descriptor": "TIERSYNC SIM",
        "captured": True, "created": now, "currency": pi["currency"], "customer": pi.get("customer"),
        "description": pi.get("description"), "disputed": False, "fraud_details": {}, "livemode": ctx.livemode,
        "metadata": dict(pi.get("metadata") or {}),
        "outcome": shape("charge:outcome", {
            "network_status": "approved_by_network", "reason": None, "risk_level": "not_assessed",
            "seller_message": "Payment pending.", "type": "authorized"}),
        "paid": False, "payment_intent": pi["id"], "payment_method": pm["id"],
        "payment_method_details": shape("charge:payment_method_details", {
            "sepa_debit": shape("charge:payment_method_details.sepa_debit", {
                "bank_code": sepa["bank_code"], "branch_code": sepa["branch_code"], "country": sepa["country"],
                "fingerprint": sepa["fingerprint"], "last4": sepa["last4"], "mandate": mandate["id"]}),
            "type": "sepa_debit"}),
        "receipt_email": pi.get("receipt_email"), "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                    "url": "/v1/refunds"},
        "shipping": pi.get("shipping"), "status": "pending",
    })
    return ctx.put("charge", charge)
