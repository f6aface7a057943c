"""`POST /v1/invoices/create_preview`: the invoice a subscription would get, changed or not, without changing
anything (Stripe's replacement, since 2025-03-31.basil, of `GET /v1/invoices/upcoming`).

The preview runs the real operations (the subscription update with its prorations, or the subscription
create) on the store, copies the invoice they lead to, and then puts the store back as it was: no object, no
event and no redemption survives the request. What is previewed:
- `subscription` (or a `schedule` that has one): its next renewal invoice, with the prorations pending on it;
  with `subscription_details` (items added, changed or `deleted`, `proration_behavior`, `proration_date`,
  `cancel_at_period_end`, `trial_end`, `metadata`) the same after that update; with
  `proration_behavior=always_invoice` the invoice the update would bill at once (the proration alone);
- no subscription but `customer` and `subscription_details.items`: the first invoice of a new subscription.
"""

from __future__ import annotations

from ... import jsonbytes
from ..errors import InvalidRequest
from ..params import Obj, Str
from ..routing import Ctx, route
from . import invoicing
from .billing_math import period_end
from .subscription_state import period_of, take_pending_prorations
from .subscriptions import CREATE as SUB_CREATE
from .subscriptions import UPDATE as SUB_UPDATE
from .subscriptions import create_subscription, update_subscription

DETAILS = Obj({
    "items": SUB_UPDATE["items"], **{k: SUB_UPDATE[k] for k in (
        "proration_behavior", "proration_date", "cancel_at_period_end", "cancel_at", "trial_end", "metadata")},
})
# not simulated, so refused as unknown rather than ignored: invoice_items, schedule_details, preview_mode,
# customer_details, automatic_tax...
PREVIEW = {"customer": Str(), "subscription": Str(), "schedule": Str(), "subscription_details": DETAILS,
           "discounts": SUB_CREATE["discounts"]}
# Stripe's words: stripe/stripe-node#2347 (a create_preview with `customer` alone, API basil and later)
NOTHING_TO_PREVIEW = ("You must provide at least one of: `subscription`, `schedule`, `subscription_details.items`, "
                      "`schedule_details.phases`, `invoice_items`.")


@route("POST", "/v1/invoices/create_preview", PREVIEW)
def create_preview(ctx: Ctx, p: dict):
    details = p.get("subscription_details") or {}
    sub_id = p.get("subscription")
    if p.get("schedule"):
        schedule = ctx.get("subscription_schedule", p["schedule"], "schedule")
        if not schedule.get("subscription"):
            raise InvalidRequest("Previewing a subscription schedule that has not started is not simulated.",
                                 param="schedule")
        sub_id = sub_id or schedule["subscription"]
    if not sub_id and not details.get("items"):
        raise InvalidRequest(NOTHING_TO_PREVIEW)
    if sub_id:
        sub = ctx.get("subscription", sub_id, "subscription")
        if p.get("customer") and p["customer"] != sub["customer"]:
            ctx.get("customer", p["customer"], "customer")
            raise InvalidRequest(f"The subscription {sub_id} does not belong to the customer {p['customer']}.",
                                 param="subscription")
        inv = _preview_existing(ctx, sub, details)
    else:
        if not p.get("customer"):
            raise InvalidRequest("Missing required param: customer.", code="parameter_missing", param="customer")
        inv = _preview_new(ctx, p, details)
    preview = jsonbytes.copy(inv)
    # a preview creates nothing: the store goes back to how the request found it, and no event is sent
    ctx.store.end(rollback=True)
    ctx.store.begin(snapshots=True)
    ctx.events = []
    preview["id"] = "upcoming_in_" + preview["id"].removeprefix("in_")  # Invoice.id: "prefixed with upcoming_in"
    preview["lines"]["url"] = f"/v1/invoices/{preview['id']}/lines"
    if details.get("proration_date") is not None and (preview.get("parent") or {}).get("subscription_details"):
        preview["parent"]["subscription_details"]["subscription_proration_date"] = details["proration_date"]
    return preview


def _preview_existing(ctx: Ctx, sub: dict, details: dict) -> dict:
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise _none(sub["customer"])
    behaviour = details.get("proration_behavior") or "create_prorations"
    changes = {k: v for k, v in details.items() if k != "proration_behavior"}
    if changes:
        # an always_invoice update would charge at once: the pending proration is billed below instead
        update_subscription(ctx, sub, {**changes, "proration_behavior": "create_prorations"
                                       if behaviour == "always_invoice" else behaviour})
    now = ctx.now(sub["customer"])
    if behaviour == "always_invoice" and changes.get("items"):
        inv = invoicing.draft_subscription_invoice(ctx, sub, "subscription_update", period_of(sub), now,
                                                  invoice_period=(now, now))
        invoicing.replace_with_proration(ctx, inv, sub, take_pending_prorations(ctx, sub["id"]))
        return inv
    if sub["cancel_at_period_end"] or sub["status"] == "paused":
        raise _none(sub["customer"])
    start, end = period_of(sub)
    recurring = sub["items"]["data"][0]["price"]["recurring"]
    inv = invoicing.draft_subscription_invoice(ctx, sub, "upcoming", (end, period_end(end, recurring)), end,
                                              invoice_period=(start, end))
    invoicing.add_proration(ctx, inv, sub, take_pending_prorations(ctx, sub["id"]))
    return inv


def _preview_new(ctx: Ctx, p: dict, details: dict) -> dict:
    spec = {"customer": p["customer"], "items": details["items"], "payment_behavior": "default_incomplete",
            **{k: details[k] for k in ("trial_end", "metadata") if k in details}}
    if p.get("discounts"):
        spec["discounts"] = p["discounts"]
    for i, item in enumerate(details["items"]):
        if item.get("id") or item.get("deleted"):
            raise InvalidRequest("You cannot update a subscription item without a subscription.",
                                 param=f"subscription_details[items][{i}][id]")
    sub = create_subscription(ctx, spec)
    inv = ctx.get("invoice", sub["latest_invoice"])
    # the invoice as drafted, before finalization (a preview is never finalized, numbered or paid)
    return {**inv, "status": "draft", "number": None, "amount_paid": 0, "amount_remaining": inv["amount_due"],
            "attempted": False, "attempt_count": 0, "payments": {**inv["payments"], "data": [], "total_count": 0},
            "status_transitions": {k: None for k in inv["status_transitions"]}}


def _none(customer_id: str) -> InvalidRequest:
    # the upcoming-invoice error Stripe gives when there is nothing to bill (code invoice_upcoming_none)
    return InvalidRequest(f"No upcoming invoices for customer: {customer_id}", code="invoice_upcoming_none")
