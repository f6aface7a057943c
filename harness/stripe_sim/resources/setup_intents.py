"""SetupIntents: saving a card for later payments (e.g. a subscription's renewals) without charging it.

Confirming with a test card: a card declined when it is added fails the setup (402 `card_error`,
`setup_intent.setup_failed`, kept as at Stripe); a card that needs 3-D Secure stops at `requires_action`;
any other card succeeds and, with a `customer`, is attached to them (a card that attaches and then fails every
charge, `pm_card_chargeCustomerFail`, saves fine, as at Stripe).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Enum, List, Metadata, Obj, Str, merge_metadata
from ..routing import Ctx, paginate, route
from . import payment_methods

CONFIRM = {"payment_method": Str(), "return_url": Str()}
CREATE = {**CONFIRM, "customer": Str(), "description": Str(max_length=1000), "metadata": Metadata(),
          "confirm": Bool(), "usage": Enum("off_session", "on_session"), "payment_method_types": List(Enum("card")),
          # only cards are simulated, so the list may only name card (Stripe takes any type)
          "allowed_payment_method_types": List(Enum("card")),
          "automatic_payment_methods": Obj({"enabled": Bool(required=True),
                                            "allow_redirects": Enum("always", "never")})}
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _confirm(ctx: Ctx, si: dict, p: dict):
    if si["status"] not in CANCELABLE:
        raise InvalidRequest(f"You cannot confirm this SetupIntent because it has a status of {si['status']}.",
                             code="setup_intent_unexpected_state")
    if p.get("payment_method"):
        si["payment_method"] = payment_methods.lookup(ctx, p["payment_method"], "payment_method")["id"]
    if not si["payment_method"]:
        raise InvalidRequest("You cannot confirm this SetupIntent because it's missing a payment method.",
                             code="setup_intent_unexpected_state", param="payment_method")
    pm = ctx.get("payment_method", si["payment_method"])
    behaviour = payment_methods.behaviour(pm)
    if behaviour.startswith("decline_on_attach:"):
        reason = behaviour.split(":", 1)[1]
        code, message = payment_methods.DECLINE_MESSAGES.get(reason, payment_methods.DECLINE_MESSAGES["generic_decline"])
        si.update(status="requires_payment_method", payment_method=None, last_setup_error={
            "code": code, "decline_code": reason, "message": message, "payment_method": pm, "type": "card_error"})
        ctx.emit("setup_intent.setup_failed", si)
        ctx.keep_events_on_error = True
        raise payment_methods.decline_error(reason)
    if behaviour == "requires_action":
        si.update(status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}})
        ctx.emit("setup_intent.requires_action", si)
        return
    if si["customer"]:
        payment_methods.attach(ctx, pm["id"], ctx.get("customer", si["customer"]))
    si.update(status="succeeded", next_action=None, last_setup_error=None)
    ctx.emit("setup_intent.succeeded", si)


@route("POST", "/v1/setup_intents", CREATE)
def create(ctx: Ctx, p: dict):
    customer = ctx.get("customer", p["customer"], "customer") if p.get("customer") else None
    si_id = ctx.new_id("seti")
    si = shape("setup_intent", {
        "id": si_id, "allowed_payment_method_types": p.get("allowed_payment_method_types"),
        "automatic_payment_methods": p.get("automatic_payment_methods"),
        "client_secret": f"{si_id}_secret_{ctx.new_id('s', 24)[2:]}", "created": ctx.now(customer),
        "customer": customer["id"] if customer else None, "description": p.get("description"),
        "livemode": ctx.livemode, "metadata": merge_metadata({}, p.get("metadata") or {}),
        "payment_method_options": shape("setup_intent:payment_method_options", {
            "card": shape("setup_intent:payment_method_options.card", {"request_three_d_secure": "automatic"})}),
        "payment_method_types": p.get("payment_method_types") or ["card"],
        "status": "requires_payment_method", "usage": p.get("usage") or "off_session",
    })
    if p.get("payment_method"):
        si["payment_method"] = payment_methods.lookup(ctx, p["payment_method"], "payment_method")["id"]
        si["status"] = "requires_confirmation"
    ctx.put("setup_intent", si)
    ctx.emit("setup_intent.created", si)
    if p.get("confirm"):
        _confirm(ctx, si, p)
    return si


@route("GET", "/v1/setup_intents/{si_id}")
def retrieve(ctx: Ctx, p: dict, si_id: str):
    return ctx.get("setup_intent", si_id)


UPDATE = {"customer": Str(), "description": Str(max_length=1000), "metadata": Metadata(), "payment_method": Str(),
          "payment_method_types": List(Enum("card"))}


@route("POST", "/v1/setup_intents/{si_id}", UPDATE)
def update(ctx: Ctx, p: dict, si_id: str):
    """https://docs.stripe.com/api/setup_intents/update. A new payment method is confirmed again
    (requires_confirmation); once set up (or canceled) only the description and metadata change. No event."""
    si = ctx.get("setup_intent", si_id)
    for name in ("customer", "payment_method", "payment_method_types"):
        if name in p and si["status"] not in CANCELABLE:
            raise InvalidRequest(f"You cannot update this SetupIntent's {name} because it has a status of "
                                 f"{si['status']}.", code="setup_intent_unexpected_state", param=name)
    customer = ctx.get("customer", p["customer"], "customer")["id"] if p.get("customer") else None
    pm = payment_methods.lookup(ctx, p["payment_method"], "payment_method")["id"] if p.get("payment_method") else None
    if customer:  # both looked up before anything changes
        si["customer"] = customer
    if pm:
        si.update(payment_method=pm, status="requires_confirmation", next_action=None)
    if "metadata" in p:
        si["metadata"] = merge_metadata(si["metadata"], p["metadata"])
    if "description" in p:
        si["description"] = p["description"] or None
    if "payment_method_types" in p:
        si["payment_method_types"] = p["payment_method_types"]
    return si


@route("GET", "/v1/setup_intents", {"customer": Str(), "payment_method": Str()}, listing=True)
def list_(ctx: Ctx, p: dict):
    return paginate(ctx, "setup_intent", p, "/v1/setup_intents", lambda si: (
        (p.get("customer") is None or si["customer"] == p["customer"])
        and (p.get("payment_method") is None or si["payment_method"] == p["payment_method"])))


@route("POST", "/v1/setup_intents/{si_id}/confirm", CONFIRM)
def confirm(ctx: Ctx, p: dict, si_id: str):
    si = ctx.get("setup_intent", si_id)
    _confirm(ctx, si, p)
    return si


@route("POST", "/v1/setup_intents/{si_id}/cancel", {"cancellation_reason": Enum(
    "abandoned", "duplicate", "requested_by_customer")})
def cancel(ctx: Ctx, p: dict, si_id: str):
    si = ctx.get("setup_intent", si_id)
    if si["status"] not in CANCELABLE:
        raise InvalidRequest(f"You cannot cancel this SetupIntent because it has a status of {si['status']}.",
                             code="setup_intent_unexpected_state")
    si.update(status="canceled", cancellation_reason=p.get("cancellation_reason"), next_action=None)
    ctx.emit("setup_intent.canceled", si)
    return si
