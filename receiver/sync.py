"""Billing state -> Clerk tier. Always from Stripe's current state, re-fetched, never from the event's
copy: events arrive duplicated and out of order, the API does not.

The tier is the product's `metadata.plan`; case and whitespace variants resolve with a warning; a
missing or unknown plan is a sync error and the user's tier stays as it was (never silently `free`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import stripe

from .locks import USERS, CustomerLocks

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
    """`obj["metadata"][key]` or None (Stripe objects are read as the API's JSON; SDK objects are dicts too)."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "metadata", None)
    if not metadata:
        return None
    try:
        return metadata[key]
    except (KeyError, TypeError):
        return None


def resolve_plan(product, tiers: dict) -> tuple[str, str | None]:
    """(tier, warning) from a product's `metadata.plan`, or SyncProblem."""
    if isinstance(product, str):  # not expanded: nothing to read the plan from
        raise SyncProblem("missing_plan", f"product {product} was not expanded", {"product": product})
    raw = metadata_value(product, "plan")
    name = product.get("name", "?")
    product_id = product["id"]
    if raw is None or not str(raw).strip():
        raise SyncProblem("missing_plan", f"product {product_id} ({name}) has no metadata.plan",
                          {"product": product_id})
    tier = str(raw).strip().lower()
    if tier not in tiers:
        raise SyncProblem("unknown_plan", f"product {product_id} ({name}) has metadata.plan={raw!r}, which is not "
                          f"a tier ({', '.join(tiers)})", {"product": product_id, "plan": raw})
    warning = None if raw == tier else f"product {product_id} has metadata.plan={raw!r}; read as {tier!r}"
    return tier, warning


class BillingSync:
    def __init__(self, settings, stripe_client: stripe.StripeClient, clerk, storage):
        self.settings = settings
        self.stripe = stripe_client
        self.clerk = clerk
        self.storage = storage
        self.tier_rank = {t: i for i, t in enumerate(settings.tiers)}  # later in the table = higher
        self.locks = CustomerLocks(getattr(storage, "path", ":memory:"))

    # ---- Stripe reads ----------------------------------------------------------------------------------
    # Through the SDK's raw_request: the same auth, versioning, errors and timeouts as its typed methods,
    # but the answer stays the parsed JSON (a dict) instead of a tree of StripeObjects, which costs more
    # CPU than the HTTP request itself and is only read here.
    def _get(self, path: str, **params) -> dict:
        try:
            return self.stripe.raw_request("get", path, **params).data
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise SyncProblem("not_found", f"Stripe has no such object: {exc.user_message}") from None
            raise TransientError(f"Stripe refused a request: {exc.user_message}") from None
        except stripe.StripeError as exc:  # connection errors, 5xx, 429, auth
            raise TransientError(f"Stripe call failed: {type(exc).__name__}: {exc.user_message or exc}") from None

    def subscription(self, sub_id: str) -> dict:
        return self._get(f"/v1/subscriptions/{sub_id}", expand=["items.data.price.product"])

    def customer_subscriptions(self, customer_id: str) -> list:
        """The customer's subscriptions, each item's price and product expanded. On a list Stripe counts the
        leading `data` as a level and allows four, so `data.items.data.price.product` (five) is refused:
        prices are expanded, products read by id (once each)."""
        subs = self._get("/v1/subscriptions", customer=customer_id, status="all", limit=20,
                         expand=["data.items.data.price"])["data"]
        products: dict[str, dict] = {}
        for sub in subs:
            for item in sub["items"]["data"]:
                price = item["price"]
                if isinstance(price["product"], str):
                    if price["product"] not in products:
                        products[price["product"]] = self.product(price["product"])
                    price["product"] = products[price["product"]]
        return subs

    def product(self, product_id: str) -> dict:
        return self._get(f"/v1/products/{product_id}")

    def checkout_session(self, session_id: str) -> dict:
        return self._get(f"/v1/checkout/sessions/{session_id}")

    def customer_checkout_sessions(self, customer_id: str) -> list:
        return self._get("/v1/checkout/sessions", customer=customer_id, limit=20)["data"]

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
            user = session.get("client_reference_id") or metadata_value(session, "userId")
            if user:
                return user
        return None

    def tier_for(self, subs: list, event_id: str | None) -> tuple[str | None, str | None]:
        """(tier, subscription id) from all of a customer's subscriptions; tier None means "leave as is"."""
        entitled = [s for s in subs if s["status"] in ENTITLED
                    or (s["status"] == "past_due" and self.settings.past_due_keeps_plan)]
        if not entitled:
            if subs and all(s["status"] == "incomplete" for s in subs):
                return None, None  # the first payment is still pending: no change yet
            return "free", None
        best, best_sub = None, None
        for sub in entitled:
            for item in sub["items"]["data"]:
                tier, warning = resolve_plan(item["price"]["product"], self.settings.tiers)
                if warning:
                    log.warning("plan metadata variant: %s", warning)
                if best is None or self.tier_rank[tier] > self.tier_rank[best]:
                    best, best_sub = tier, sub["id"]
        return best, best_sub

    def sync_customer(self, customer_id: str, event_id: str | None, user_hint: str | None = None,
                      must_include: str | None = None) -> Outcome:
        """Re-fetch and write under one lock per customer (across threads and worker processes): two
        deliveries handled at once must not let the one that read the older state write last.
        `must_include`: a subscription id the customer's list has to contain; if it does not, that
        subscription is fetched, and its own customer synced."""
        with self.locks.hold(customer_id):
            subs = self.customer_subscriptions(customer_id)
            if must_include is None or any(s["id"] == must_include for s in subs):
                return self._sync_customer(customer_id, subs, event_id, user_hint)
        owner = self.subscription(must_include)["customer"]  # SyncProblem not_found if there is no such thing
        if owner == customer_id:  # beyond the listed page: sync from what was listed
            with self.locks.hold(customer_id):
                return self._sync_customer(customer_id, self.customer_subscriptions(customer_id), event_id, user_hint)
        return self.sync_customer(owner, event_id, user_hint)

    def _sync_customer(self, customer_id: str, subs: list, event_id: str | None, user_hint: str | None) -> Outcome:
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
        """Make Clerk's metadata say `wanted`, writing only when it does not already.

        The receiver's record of what it last wrote decides which call that takes: a state that differs from
        the record is written directly (one PATCH, no read: this is the common path, every real change).
        A state equal to the record needs no call while the write is recent (`clerk_trust_seconds`): one
        checkout sends several events within seconds, and each Clerk call counts against its rate limit
        (100 per 10 s on a development instance). Once the write is older, an equal state is confirmed with
        a read (someone may have edited the user since) and written only if Clerk disagrees. Clerk ends up
        right either way, and is written at most once per change."""
        # under the user's lock too: with two customers (two customer locks), two syncs of one user could
        # otherwise interleave their writes and records, and leave the record saying what Clerk does not
        with self.locks.hold(user_id, USERS):
            return self._set_tier(user_id, tier, customer_id, sub_id)

    def _set_tier(self, user_id: str, tier: str, customer_id: str, sub_id: str | None) -> Outcome:
        wanted = {"plan": tier, "stripeCustomerId": customer_id, "subscriptionId": sub_id}
        written, confirmed_at = self.storage.written_metadata(user_id) or (None, 0.0)
        if written == wanted:
            if time.time() - confirmed_at < self.settings.clerk_trust_seconds:
                return Outcome(user_id, tier, False, "already in sync (written recently)")
            current = self.clerk.public_metadata(user_id)
            if all(current.get(k) == v for k, v in wanted.items()):
                self.storage.record_written_metadata(user_id, wanted)  # confirmed as of now
                return Outcome(user_id, tier, False, "already in sync")
            before = current.get("plan")
        else:
            before = (written or {}).get("plan", "(not recorded)")
        self.clerk.merge_public_metadata(user_id, wanted)
        self.storage.record_written_metadata(user_id, wanted)
        if before != tier:
            log.info("user %s: plan %s -> %s", user_id, before, tier)
        return Outcome(user_id, tier, True)
