"""Billing state -> Clerk tier. Always from Stripe's current state, re-fetched, never from the event's
copy: events arrive duplicated and out of order, the API does not.

The tier is the product's `metadata.plan`; case and whitespace variants resolve with a warning; a
missing or unknown plan is a sync error and the user's tier stays as it was (never silently `free`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import stripe

log = logging.getLogger("tiersync.receiver")

ENTITLED = ("active", "trialing")
ENDED = ("canceled", "unpaid", "incomplete_expired")


class TransientError(Exception):
    """Stripe or Clerk failed or timed out: answer 5xx so Stripe retries the delivery."""


class SyncProblem(Exception):
    """A permanent problem with this event's data: recorded as a sync error, answered 200."""

    def __init__(self, kind: str, message: str, detail: dict | None = None):
        super().__init__(message)
        self.kind, self.message, self.detail = kind, message, detail or {}


@dataclass
class Outcome:
    user_id: str | None = None
    tier: str | None = None
    changed: bool = False
    note: str = ""


def metadata_value(obj, key: str):
    """`obj.metadata[key]` or None, for SDK objects (which are not dicts) and dicts alike."""
    metadata = getattr(obj, "metadata", None) if not isinstance(obj, dict) else obj.get("metadata")
    if not metadata:
        return None
    try:
        return metadata[key]
    except (KeyError, TypeError):
        return None


def resolve_plan(product, tiers: dict) -> tuple[str, str | None]:
    """(tier, warning) from a product's `metadata.plan`, or SyncProblem."""
    raw = metadata_value(product, "plan")
    name = getattr(product, "name", "?")
    if raw is None or not str(raw).strip():
        raise SyncProblem("missing_plan", f"product {product.id} ({name}) has no metadata.plan",
                          {"product": product.id})
    tier = str(raw).strip().lower()
    if tier not in tiers:
        raise SyncProblem("unknown_plan", f"product {product.id} ({name}) has metadata.plan={raw!r}, which is not "
                          f"a tier ({', '.join(tiers)})", {"product": product.id, "plan": raw})
    warning = None if raw == tier else f"product {product.id} has metadata.plan={raw!r}; read as {tier!r}"
    return tier, warning


class BillingSync:
    def __init__(self, settings, stripe_client: stripe.StripeClient, clerk, storage):
        self.settings = settings
        self.stripe = stripe_client
        self.clerk = clerk
        self.storage = storage
        self.tier_rank = {t: i for i, t in enumerate(settings.tiers)}  # later in the table = higher
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- Stripe reads ----------------------------------------------------------------------------------
    def _stripe(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise SyncProblem("not_found", f"Stripe has no such object: {exc.user_message}") from None
            raise TransientError(f"Stripe refused a request: {exc.user_message}") from None
        except stripe.StripeError as exc:  # connection errors, 5xx, 429, auth
            raise TransientError(f"Stripe call failed: {type(exc).__name__}: {exc.user_message or exc}") from None

    def subscription(self, sub_id: str):
        return self._stripe(self.stripe.v1.subscriptions.retrieve, sub_id,
                            params={"expand": ["items.data.price.product"]})

    def customer_subscriptions(self, customer_id: str) -> list:
        page = self._stripe(self.stripe.v1.subscriptions.list, params={
            "customer": customer_id, "status": "all", "limit": 20, "expand": ["data.items.data.price.product"]})
        return list(page.data)

    def checkout_session(self, session_id: str):
        return self._stripe(self.stripe.v1.checkout.sessions.retrieve, session_id)

    def customer_checkout_sessions(self, customer_id: str) -> list:
        return list(self._stripe(self.stripe.v1.checkout.sessions.list,
                                 params={"customer": customer_id, "limit": 20}).data)

    # ---- the sync ----------------------------------------------------------------------------------------
    def user_for(self, customer_id: str, subs: list, hint: str | None = None) -> str | None:
        """client_reference_id (hint), then subscription metadata.userId, then the stored map, then the
        customer's checkout sessions (a subscription event may arrive before checkout.session.completed)."""
        if hint:
            return hint
        for sub in subs:
            user = metadata_value(sub, "userId")
            if user:
                return user
        user = self.storage.user_for_customer(customer_id)
        if user:
            return user
        for session in self.customer_checkout_sessions(customer_id):
            user = session.client_reference_id or metadata_value(session, "userId")
            if user:
                return user
        return None

    def tier_for(self, subs: list, event_id: str | None) -> tuple[str | None, str | None]:
        """(tier, subscription id) from all of a customer's subscriptions; tier None means "leave as is"."""
        entitled = [s for s in subs if s.status in ENTITLED
                    or (s.status == "past_due" and self.settings.past_due_keeps_plan)]
        if not entitled:
            if subs and all(s.status == "incomplete" for s in subs):
                return None, None  # the first payment is still pending: no change yet
            return "free", None
        best, best_sub = None, None
        for sub in entitled:
            for item in sub["items"].data:
                tier, warning = resolve_plan(item.price.product, self.settings.tiers)
                if warning:
                    log.warning("plan metadata variant: %s", warning)
                if best is None or self.tier_rank[tier] > self.tier_rank[best]:
                    best, best_sub = tier, sub.id
        return best, best_sub

    def _customer_lock(self, customer_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(customer_id, threading.Lock())

    def sync_customer(self, customer_id: str, event_id: str | None, user_hint: str | None = None) -> Outcome:
        """Re-fetch and write under one lock per customer: two deliveries handled at once must not let the
        one that read the older state write last."""
        with self._customer_lock(customer_id):
            return self._sync_customer(customer_id, event_id, user_hint)

    def _sync_customer(self, customer_id: str, event_id: str | None, user_hint: str | None) -> Outcome:
        subs = self.customer_subscriptions(customer_id)
        user_id = self.user_for(customer_id, subs, user_hint)
        if not user_id:
            raise SyncProblem("unknown_user", f"no user for customer {customer_id}: no client_reference_id, no "
                              "subscription metadata.userId, no stored link, no checkout session naming one",
                              {"customer": customer_id})
        self.storage.link_customer(customer_id, user_id)
        tier, sub_id = self.tier_for(subs, event_id)
        if tier is None:
            return Outcome(user_id, None, False, "first payment pending")
        return self.set_tier(user_id, tier, customer_id, sub_id)

    def set_tier(self, user_id: str, tier: str, customer_id: str, sub_id: str | None) -> Outcome:
        wanted = {"plan": tier, "stripeCustomerId": customer_id, "subscriptionId": sub_id}
        current = self.clerk.public_metadata(user_id)
        if all(current.get(k) == v for k, v in wanted.items()):
            return Outcome(user_id, tier, False, "already in sync")
        self.clerk.merge_public_metadata(user_id, wanted)
        log.info("user %s: plan %s -> %s", user_id, current.get("plan"), tier)
        return Outcome(user_id, tier, True)
