"""Billing state -> Clerk tier. Always from Stripe's current state, re-fetched, never from the event's
copy: events arrive duplicated and out of order, the API does not.

The tier is the product's `metadata.plan`; case and whitespace variants resolve with a warning; a
missing or unknown plan is a sync error and the user's tier stays as it was (never silently `free`).
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import stripe

log = logging.getLogger("tiersync.receiver")

ENTITLED = ("active", "trialing")
ENDED = ("canceled", "unpaid", "incomplete_expired")


class TransientError(Exception):
    """Stripe or Clerk failed in a way a later try may not (5xx, 429, a timeout, no connection, a key it
    refuses): answer 5xx so Stripe retries the delivery."""


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


class CustomerLocks:
    """One lock per customer (hashed onto a fixed number of slots, so memory stays bounded; two customers
    sharing a slot only wait for each other). Two deliveries for one customer handled at once in two threads
    must not let the one that read the older Stripe state write to Clerk last."""

    def __init__(self, slots: int = 1024):
        self._locks = [threading.Lock() for _ in range(slots)]

    @contextmanager
    def hold(self, customer_id: str):
        with self._locks[hash(customer_id) % len(self._locks)]:
            yield


def stripe_call(call, *args, **params) -> dict:
    """One Stripe read through the SDK, as a plain dict; its failures sorted into permanent (SyncProblem:
    retrying the delivery would get the same answer) and transient (TransientError: worth a retry)."""
    try:
        return call(*args, params=params).to_dict()
    except stripe.RateLimitError as exc:
        raise TransientError(f"Stripe call failed: rate limited (429): {exc.user_message}") from None
    except stripe.InvalidRequestError as exc:  # 400/404: the request names something Stripe will not serve
        kind = "not_found" if exc.code == "resource_missing" else "stripe_refused"
        what = "Stripe has no such object" if kind == "not_found" else f"Stripe refused the request ({exc.http_status})"
        raise SyncProblem(kind, f"{what}: {exc.user_message}", {"code": exc.code, "param": exc.param}) from None
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # the receiver's key, not the event: retried, so that the deliveries succeed once the key is fixed
        raise TransientError(f"Stripe refused the API key ({exc.http_status}): {exc.user_message}") from None
    except stripe.StripeError as exc:  # 5xx, no connection, a timeout
        raise TransientError(f"Stripe call failed: {type(exc).__name__}: {exc.user_message or exc}") from None


class BillingSync:
    def __init__(self, settings, stripe_client: stripe.StripeClient, clerk, storage):
        self.settings = settings
        self.stripe = stripe_client
        self.clerk = clerk
        self.storage = storage
        self.tier_rank = {t: i for i, t in enumerate(settings.tiers)}  # later in the table = higher
        self.locks = CustomerLocks()

    # ---- Stripe reads ----------------------------------------------------------------------------------
    def subscription(self, sub_id: str) -> dict:
        return stripe_call(self.stripe.v1.subscriptions.retrieve, sub_id)

    def customer_subscriptions(self, customer_id: str) -> list:
        """The customer's subscriptions, each item's price and product expanded. On a list Stripe counts the
        leading `data` as a level and allows four, so `data.items.data.price.product` (five) is refused:
        prices are expanded, products read by id (once each)."""
        subs = stripe_call(self.stripe.v1.subscriptions.list, customer=customer_id, status="all", limit=20,
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
        return stripe_call(self.stripe.v1.products.retrieve, product_id)

    def checkout_session(self, session_id: str) -> dict:
        return stripe_call(self.stripe.v1.checkout.sessions.retrieve, session_id)

    def customer_checkout_sessions(self, customer_id: str) -> list:
        return stripe_call(self.stripe.v1.checkout.sessions.list, customer=customer_id, limit=20)["data"]

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
        """Re-fetch and write under the customer's lock: two deliveries handled at once must not let the one
        that read the older state write last.
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
        """Make the user's Clerk metadata say this, writing only when it does not already: Stripe sends one
        checkout as several events, and each retry of an event comes here again. Read, compare, then
        write (Clerk deep-merges public_metadata, so the app's other keys stay)."""
        wanted = {"plan": tier, "stripeCustomerId": customer_id, "subscriptionId": sub_id}
        current = self.clerk.public_metadata(user_id)
        if all(current.get(k) == v for k, v in wanted.items()):
            return Outcome(user_id, tier, False, "already in sync")
        self.clerk.merge_public_metadata(user_id, wanted)
        if current.get("plan") != tier:
            log.info("user %s: plan %s -> %s", user_id, current.get("plan"), tier)
        return Outcome(user_id, tier, True)
