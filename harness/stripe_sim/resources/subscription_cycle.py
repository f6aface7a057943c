"""A subscription's life in time, run by test clocks (`advance_to`, `next_due` / `run_transition`): incomplete
expiry, trial warnings and trial ends (including pausing when no payment method is there), renewals, invoice
finalization an hour after a renewal, payment retries and what happens after the last one; and resuming a
paused subscription."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..params import Enum, Int, Obj
from ..routing import Ctx, route, snapshot
from . import invoicing
from .billing_math import period_end
from .invoicing import after_invoice_paid
from .subscription_state import (
    cancel_subscription,
    drop_used_once_discounts,
    emit_updated,
    period_of,
    save_items,
    set_period,
    take_pending_prorations,
)

INCOMPLETE_EXPIRES_AFTER = 23 * 3600
TRIAL_WILL_END_BEFORE = 3 * 86400
RENEWAL_FINALIZE_DELAY = 3600
# dunning: after a failed renewal, retry after these delays; when all fail, the subscription is canceled,
# marked `unpaid` or left `past_due`, per the account's setting (`POST /_sim/settings/failed_payments`)
PAYMENT_RETRY_DELAYS = (3 * 86400, 5 * 86400, 7 * 86400)


def next_due(ctx: Ctx, sub: dict) -> tuple[int, str] | None:
    """The next scheduled transition of a subscription: (time, what)."""
    if sub["status"] in ("canceled", "incomplete_expired", "paused"):
        return None  # a paused subscription waits for `resume`: no renewals, no invoices
    if sub["status"] == "incomplete":
        return sub["created"] + INCOMPLETE_EXPIRES_AFTER, "expire_incomplete"
    candidates = []
    start, end = period_of(sub)
    draft = _pending_draft(ctx, sub)
    if draft:
        candidates.append((draft["automatically_finalizes_at"], "finalize"))
    if sub["status"] == "past_due":
        open_inv = ctx.find("invoice", sub["latest_invoice"]) if sub.get("latest_invoice") else None
        if open_inv and open_inv["status"] == "open" and open_inv.get("next_payment_attempt"):
            candidates.append((open_inv["next_payment_attempt"], "retry_payment"))
    if sub["status"] == "trialing" and sub["trial_end"]:
        warn_at = sub["trial_end"] - TRIAL_WILL_END_BEFORE
        if not _warned(ctx, sub):
            candidates.append((warn_at, "trial_will_end"))
        candidates.append((sub["trial_end"], "trial_end"))
    elif sub["cancel_at"] and sub["cancel_at"] <= end:
        candidates.append((sub["cancel_at"], "cancel"))
    else:
        candidates.append((end, "renew"))
    return min(candidates) if candidates else None


def _pending_draft(ctx: Ctx, sub: dict) -> dict | None:
    inv_id = sub.get("latest_invoice")
    inv = ctx.find("invoice", inv_id) if inv_id else None
    return inv if inv and inv["status"] == "draft" and inv.get("automatically_finalizes_at") else None


def _warned(ctx: Ctx, sub: dict) -> bool:
    return ctx.table("trial_warning").get(sub["id"]) is not None


def warn_trial_end(ctx: Ctx, sub: dict, automatic: bool = False):
    """`customer.subscription.trial_will_end`, once per trial end: "three days before a subscription's trial
    period is scheduled to end, or immediately when a trial is ended early (for example, with trial_end=now)
    ... If a trial is shortened so that fewer than three days remain, this event can fire immediately"
    (the event's description in Stripe's SDKs, e.g. stripe-ruby V1CustomerSubscriptionTrialWillEndEvent)."""
    if _warned(ctx, sub):
        return
    ctx.table("trial_warning").put({"id": sub["id"]})
    ctx.emit("customer.subscription.trial_will_end", sub, automatic=automatic)


def run_transition(ctx: Ctx, sub: dict, at: int, what: str):
    before = snapshot(sub)
    if what == "expire_incomplete":
        sub["status"] = "incomplete_expired"
        sub["ended_at"] = at
        inv = ctx.find("invoice", sub["latest_invoice"])
        if inv and inv["status"] == "open":
            inv["status"] = "void"
            inv["status_transitions"] = {**inv["status_transitions"], "voided_at": at}
            ctx.emit("invoice.voided", inv, {"status": "open"}, automatic=True)
        emit_updated(ctx, sub, before, automatic=True)
    elif what == "trial_will_end":
        warn_trial_end(ctx, sub, automatic=True)
    elif what == "trial_end":
        end_trial(ctx, sub, at, emit_previous=before)
    elif what == "cancel":
        cancel_subscription(ctx, sub, reason="cancellation_requested", at=at, automatic=True)
    elif what == "renew":
        _renew(ctx, sub, at, before)
    elif what == "finalize":
        inv = _pending_draft(ctx, sub)
        inv["automatically_finalizes_at"] = None
        invoicing.finalize(ctx, inv, at)
        if sub["status"] == "unpaid" and inv["amount_due"] > 0:
            # "The latest invoice remains open and invoices continue to generate, but payments aren't
            # attempted" (docs.stripe.com/billing/subscriptions/overview, subscription statuses: unpaid)
            return
        outcome = invoicing.collect(ctx, inv, sub, at)
        if outcome == "paid":
            after_invoice_paid(ctx, sub, inv, at, automatic=True)
        else:
            inv["next_payment_attempt"] = at + PAYMENT_RETRY_DELAYS[0]
            if sub["status"] == "active":
                sub["status"] = "past_due"
                emit_updated(ctx, sub, {"status": "active"}, automatic=True)
    elif what == "retry_payment":
        _retry_payment(ctx, sub, at)


def _retry_payment(ctx: Ctx, sub: dict, at: int):
    inv = ctx.get("invoice", sub["latest_invoice"])
    if invoicing.collect(ctx, inv, sub, at) == "paid":
        after_invoice_paid(ctx, sub, inv, at, automatic=True)
        return
    retries_done = inv["attempt_count"] - 1
    if retries_done < len(PAYMENT_RETRY_DELAYS):
        inv["next_payment_attempt"] = at + PAYMENT_RETRY_DELAYS[retries_done]
        return
    inv["next_payment_attempt"] = None  # the last retry failed
    # the account's choice (Dashboard: Billing > Revenue recovery > "if all retries for a payment fail")
    outcome = ctx.sim.failed_payment_settings[ctx.mode]
    if outcome == "cancel":
        cancel_subscription(ctx, sub, reason="payment_failed", at=at, automatic=True)
    elif outcome == "mark_unpaid":
        before = {"status": sub["status"]}
        sub["status"] = "unpaid"
        emit_updated(ctx, sub, before, automatic=True)
    # leave_past_due: the subscription stays past_due; its next renewals are still attempted


def _renew(ctx: Ctx, sub: dict, at: int, before: dict):
    old_start, _ = period_of(sub)
    new_period = (at, period_end(at, sub["items"]["data"][0]["price"]["recurring"]))
    set_period(sub, new_period)
    save_items(ctx, sub)
    inv = invoicing.draft_subscription_invoice(ctx, sub, "subscription_cycle", new_period, at,
                                              invoice_period=(old_start, at))
    invoicing.add_proration(ctx, inv, sub, take_pending_prorations(ctx, sub["id"]))
    inv["automatically_finalizes_at"] = at + RENEWAL_FINALIZE_DELAY
    sub["latest_invoice"] = inv["id"]
    drop_used_once_discounts(ctx, sub)
    changed = {k: v for k, v in before.items() if sub.get(k) != v}
    ctx.emit("customer.subscription.updated", sub, changed, automatic=True)
    ctx.events.insert(len(ctx.events) - 2, ctx.events.pop())  # the period roll is announced before invoice.created


def end_trial(ctx: Ctx, sub: dict, at: int, emit_previous: dict | None):
    before = emit_previous or snapshot(sub)
    missing_pm = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if missing_pm == "pause" and invoicing.payment_method_for(ctx, sub) is None:
        # "the subscription pauses (status paused) and no invoice is created" until it is resumed
        # (docs.stripe.com/billing/subscriptions/trials, "create free trials without payment")
        sub["trial_end"] = at
        sub["status"] = "paused"
        if emit_previous is not None:
            emit_updated(ctx, sub, before, automatic=True)
        ctx.emit("customer.subscription.paused", sub, automatic=emit_previous is not None)
        return
    new_period = (at, period_end(at, sub["items"]["data"][0]["price"]["recurring"]))
    set_period(sub, new_period)
    save_items(ctx, sub)
    sub["trial_end"] = at
    sub["billing_cycle_anchor"] = at
    pm = invoicing.payment_method_for(ctx, sub)
    if pm is None and missing_pm == "cancel":
        cancel_subscription(ctx, sub, reason="payment_failed", at=at, automatic=True)
        return
    inv = invoicing.draft_subscription_invoice(ctx, sub, "subscription_cycle", new_period, at,
                                              invoice_period=(at, at))
    sub["latest_invoice"] = inv["id"]
    invoicing.finalize(ctx, inv, at)
    outcome = invoicing.collect(ctx, inv, sub, at)
    sub["status"] = "active" if outcome == "paid" else "past_due"
    if emit_previous is not None:
        emit_updated(ctx, sub, before, automatic=True)


def advance_to(ctx: Ctx, sub: dict, target: int):
    """Run every transition due up to `target`, in time order."""
    for _ in range(10_000):  # bounded: a daily price over 27 years
        due = next_due(ctx, sub)
        if due is None or due[0] > target:
            return
        run_transition(ctx, sub, *due)


# ---- resume ---------------------------------------------------------------------------------------------

RESUME = {"billing_cycle_anchor": Obj({"type": Enum("now", "unchanged", required=True)}),  # object since endive
          "proration_behavior": Enum("always_invoice", "create_prorations", "none"), "proration_date": Int(min=0)}


@route("POST", "/v1/subscriptions/{sub_id}/resume", RESUME)
def resume(ctx: Ctx, p: dict, sub_id: str):
    """"Initiates resumption of a paused subscription ... If payment succeeds the subscription will become
    active, and if payment fails the subscription will be past_due" (API reference, "Resume a subscription").
    With the default `billing_cycle_anchor=now` a new period starts and is invoiced at once."""
    sub = ctx.get("subscription", sub_id)
    if sub["status"] != "paused":
        raise InvalidRequest(f"Only paused subscriptions can be resumed; this one is {sub['status']}.")
    now = ctx.now(sub["customer"])
    before = snapshot(sub)
    if ((p.get("billing_cycle_anchor") or {}).get("type") or "now") == "now":
        period = (now, period_end(now, sub["items"]["data"][0]["price"]["recurring"]))
        set_period(sub, period)
        save_items(ctx, sub)
        sub["billing_cycle_anchor"] = now
        inv = invoicing.draft_subscription_invoice(ctx, sub, "subscription_update", period, now,
                                                   invoice_period=(now, now))
        sub["latest_invoice"] = inv["id"]
        drop_used_once_discounts(ctx, sub)
        invoicing.finalize(ctx, inv, now)
        paid = invoicing.collect(ctx, inv, sub, now) == "paid"
        if not paid:
            inv["next_payment_attempt"] = now + PAYMENT_RETRY_DELAYS[0]
        sub["status"] = "active" if paid else "past_due"
    else:
        sub["status"] = "active"
    emit_updated(ctx, sub, before)
    ctx.emit("customer.subscription.resumed", sub)
    return sub
