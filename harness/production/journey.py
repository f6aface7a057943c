"""`tiersync smoke --journey`: a real purchase on the deployed app, then its cancellation.

tiersync creates a one-time 100%-off coupon and promotion code, a Clerk user and a Stripe customer,
subscribes the customer to a paid tier with the code (amount due 0, no card), waits for the tier to reach
the user's Clerk metadata through the app's webhook, cancels, and waits for the return to free. Every
object created is recorded as it is made and removed in a `finally`, on failure and on Ctrl-C too.
The purchase goes through the API, as the app's checkout would set it up (subscription metadata userId and
tier); the hosted Checkout page itself is not driven."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
import time

import httpx
import stripe

from .expectations import AppExpectations
from .keys import key_mode
from .report import FAIL, PASS, Check, Redactor
from .stripe_audit import STRIPE_API

CLERK_API = "https://api.clerk.com"


def add_journey_arguments(p):
    g = p.add_argument_group("--journey (creates, then removes, real objects)")
    g.add_argument("--journey", action="store_true", help="also buy a tier with a 100%%-off code, then cancel")
    g.add_argument("--live", action="store_true", help="allow the journey in live mode (asks to confirm)")
    g.add_argument("--yes", action="store_true", help="confirm a live journey without the prompt")
    g.add_argument("--tier", help="the paid tier to buy (default: the profile's first paid tier, else the first "
                   "STRIPE_PRICE_ID_* of the settings)")
    g.add_argument("--stripe-key", default=os.environ.get("TIERSYNC_STRIPE_WRITE_KEY"), help="a Stripe key that may write (default: the settings' "
                   "STRIPE_SECRET_KEY; env TIERSYNC_STRIPE_WRITE_KEY)")
    g.add_argument("--clerk-key", default=os.environ.get("TIERSYNC_CLERK_KEY"),
                   help="Clerk secret key (env TIERSYNC_CLERK_KEY; default: the settings' CLERK_SECRET_KEY)")
    g.add_argument("--stripe-api-base", default=STRIPE_API, help=f"default {STRIPE_API}")
    g.add_argument("--clerk-api-url", default=CLERK_API, help=f"default {CLERK_API}")
    g.add_argument("--journey-timeout", type=float, default=60.0, help="seconds to wait for each tier change")


def refuse_unless_confirmed(args, settings, mode: str) -> str | None:
    if mode != "live":
        return None
    if not args.live:
        return ("--journey in live mode makes a real subscription (100% off, removed afterwards): add --live to "
                "allow it")
    if args.yes:
        return None
    if not sys.stdin.isatty():
        return "a live journey needs confirming: run it in a terminal, or add --yes"
    answer = input("A live subscription will be created with a 100%-off code, then cancelled and removed. "
                   "Type 'live' to go on: ")
    return None if answer.strip() == "live" else "not confirmed; nothing was created"


class Ledger:
    """What the journey created, undone newest first; each undo is tried even when another fails."""

    def __init__(self):
        self.items: list[tuple[str, object]] = []
        self.failed: list[str] = []
        self.done: list[str] = []

    def add(self, label: str, undo):
        self.items.append((label, undo))

    def undo_all(self):
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # a 2nd Ctrl-C must not stop it
        try:
            while self.items:
                label, undo = self.items.pop()
                try:
                    undo()
                    self.done.append(label)
                except Exception as exc:  # report what remains, keep removing the rest
                    self.failed.append(f"{label} ({type(exc).__name__})")
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)


class Journey:
    def __init__(self, args, settings, exp: AppExpectations, mode: str, redact: Redactor):
        self.mode, self.exp, self.timeout = mode, exp, args.journey_timeout
        self.stripe_key = args.stripe_key or settings.get(exp.stripe_secret_env)
        self.clerk_key = args.clerk_key or settings.get(exp.clerk_secret_env)
        redact.add(self.stripe_key)
        redact.add(self.clerk_key)
        wanted = args.tier or (exp.paid_tiers[0].name if exp.paid_tiers else "")
        tier = next((t for t in exp.paid_tiers if t.name == wanted), None)
        self.tier, self.price = wanted, settings.get(tier.price_env) if tier else None
        self.sc = stripe.StripeClient(self.stripe_key or "", base_addresses={"api": args.stripe_api_base},
                                      max_network_retries=0).v1
        self.clerk = httpx.Client(base_url=args.clerk_api_url.rstrip("/").removesuffix("/v1") + "/v1", timeout=15,
                                  headers={"Authorization": f"Bearer {self.clerk_key}"})
        self.ledger = Ledger()
        self.checks: list[Check] = []
        self.interrupted = False

    def problems(self) -> str | None:
        if key_mode(self.stripe_key) != self.mode or not (self.stripe_key or "").startswith(("sk_", "rk_")):
            return f"the journey needs a {self.mode}-mode Stripe key that may write (--stripe-key)"
        if key_mode(self.clerk_key) != self.mode:
            return f"the journey needs the {self.mode}-mode Clerk secret key (--clerk-key)"
        if not self.tier or not self.price:
            return (f"no price for tier {self.tier or '?'} ({self.exp.source}): pass --tier and settings holding "
                    "its price variable")
        return None

    # ---- steps ------------------------------------------------------------------------------------------
    def run(self) -> list[Check]:
        try:
            self._purchase_and_cancel()
        except (stripe.StripeError, httpx.HTTPError, RuntimeError) as exc:
            message = getattr(exc, "user_message", None) or str(exc)
            self.checks.append(Check("journey.step", FAIL, f"the journey stopped: {message}",
                                     "see the message; everything created so far was removed"))
        except KeyboardInterrupt:
            self.interrupted = True
            self.checks.append(Check("journey.step", FAIL, "interrupted (Ctrl-C)", "run it again to completion"))
        finally:
            self.ledger.undo_all()
            self.clerk.close()
        self.checks.append(self._cleanup_check())
        return self.checks

    def _purchase_and_cancel(self):
        tag = secrets.token_hex(4)
        coupon = self.sc.coupons.create(params={"percent_off": 100, "duration": "once", "max_redemptions": 1,
                                                "name": f"tiersync smoke {tag}"})
        self.ledger.add(f"coupon {coupon.id}", lambda: self.sc.coupons.delete(coupon.id))
        promo = self.sc.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                       "code": f"TIERSYNC{tag.upper()}", "max_redemptions": 1})
        self.ledger.add(f"promotion code {promo.id}",
                        lambda: self.sc.promotion_codes.update(promo.id, params={"active": False}))
        email = f"tiersync-smoke+{tag}@example.com"
        user = self._clerk("POST", "/users", json={"email_address": [email], "skip_password_requirement": True})
        self.ledger.add(f"Clerk user {user['id']}", lambda: self._clerk("DELETE", f"/users/{user['id']}"))
        customer = self.sc.customers.create(params={"email": email, "metadata": {"userId": user["id"]}})
        self.ledger.add(f"customer {customer.id}", lambda: self.sc.customers.delete(customer.id))
        meta = {"userId": user["id"], "tier": self.tier}
        sub = self.sc.subscriptions.create(params={"customer": customer.id, "items": [{"price": self.price}],
                                                   "discounts": [{"promotion_code": promo.id}], "metadata": meta})
        self.ledger.add(f"subscription {sub.id}", lambda: self._cancel_if_live(sub.id))
        if sub.status != "active":
            raise RuntimeError(f"the 100%-off subscription {sub.id} is {sub.status}, not active")
        plan = self._wait_for_plan(user["id"], lambda p: p == self.tier)
        self._record("journey.upgrade", plan, f"{self.tier} reached Clerk",
                     "Stripe's webhook logs for the endpoint (Dashboard > Webhooks) and the app's logs (wrangler tail)")
        self.sc.subscriptions.cancel(sub.id)
        plan = self._wait_for_plan(user["id"], lambda p: p in (None, "", self.exp.free_tier))
        self._record("journey.cancel", plan, "back on free after cancelling",
                     "the app's customer.subscription.deleted handling (endpoint subscribed? handler sets free?)")

    def _record(self, cid: str, result: tuple[str | None, float, bool], what: str, look_at: str):
        plan, seconds, ok = result
        if ok:
            self.checks.append(Check(cid, PASS, f"{what} in {seconds:.1f} s"))
        else:
            self.checks.append(Check(cid, FAIL, f"after {seconds:.0f} s the user's plan is still {plan!r}",
                                     f"look at {look_at}"))

    def _wait_for_plan(self, user_id: str, ok) -> tuple[str | None, float, bool]:
        started = time.monotonic()
        while True:
            user = self._clerk("GET", f"/users/{user_id}")
            plan = (user.get("public_metadata") or {}).get(self.exp.plan_metadata_key)
            elapsed = time.monotonic() - started
            if ok(plan) or elapsed > self.timeout:
                return plan, elapsed, ok(plan)
            time.sleep(0.25)

    def _cancel_if_live(self, sub_id: str):
        if self.sc.subscriptions.retrieve(sub_id).status != "canceled":
            self.sc.subscriptions.cancel(sub_id)

    def _clerk(self, method: str, path: str, **kwargs) -> dict:
        response = self.clerk.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"Clerk answered {response.status_code} to {method} {path.split('/')[1]}")
        return response.json()

    def _cleanup_check(self) -> Check:
        if self.ledger.failed:
            return Check("journey.cleanup", FAIL, "could not remove: " + ", ".join(self.ledger.failed),
                         "remove them by hand in the Dashboards (ids above)")
        return Check("journey.cleanup", PASS, "removed: " + ", ".join(reversed(self.ledger.done)))


def run_journey(args, settings, exp: AppExpectations, mode: str, redact: Redactor) -> tuple[list[Check], bool]:
    """The journey's checks, and whether Ctrl-C stopped it (after its cleanup ran)."""
    journey = Journey(args, settings, exp, mode, redact)
    problem = journey.problems()
    if problem:
        return [Check("journey", FAIL, problem, "see docs/production.md (smoke --journey)")], False
    checks = journey.run()
    return checks, journey.interrupted
