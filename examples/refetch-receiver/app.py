"""A second correct way to keep Stripe subscriptions and Clerk tiers in sync, written apart from tiersync's
reference receiver to prove the catalog judges outcomes, not one implementation. Its own choices:

- tiers `free` 3 / `basic` 20 / `team` unlimited calls a month, kept in Clerk `public_metadata.tier`;
- every subscription event re-fetches *that subscription by id* and writes the tier it implies (no
  listing of the customer's subscriptions, no "already written" memory, no trust window): one checkout
  makes three Clerk writes (completed, created, updated), all saying the same;
- Clerk through its REST API (`PATCH /v1/users/{id}`, a replace of public_metadata), Stripe through the
  official SDK; event ids claimed in memory (released when the work fails, so Stripe's retry runs again);
- its own env names, paths and answer shapes (see tiersync.toml beside this file).

    HTTP_PORT=8000 BILLING_STRIPE_KEY=sk_test_... ... python app.py
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict

import httpx
import jwt
import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger("refetch-receiver")
ENV = os.environ
LIMITS = {"free": 3, "basic": 20, "team": None}  # calls a month; None: unlimited
PRICES = {"basic": ENV["PRICE_BASIC"], "team": ENV["PRICE_TEAM"]}
ENTITLED = ("active", "trialing", "past_due")  # past_due: Stripe is still retrying the payment
LIVE = ENV["BILLING_STRIPE_KEY"].startswith(("sk_live_", "rk_live_"))

stripe_client = stripe.StripeClient(ENV["BILLING_STRIPE_KEY"], max_network_retries=0,
                                    **({"base_addresses": {"api": ENV["BILLING_STRIPE_BASE"]}}
                                       if ENV.get("BILLING_STRIPE_BASE") else {}))
clerk = httpx.Client(base_url=ENV.get("AUTH_CLERK_API", "https://api.clerk.com"), timeout=10,
                     headers={"Authorization": f"Bearer {ENV['AUTH_CLERK_KEY']}"})
clerk_key = ENV["AUTH_CLERK_PEM"]


class Retry(Exception):
    """Stripe or Clerk failed: answer 503 so Stripe delivers the event again later."""


# ---- state kept in memory (a real deployment would use its database) ---------------------------------
claims: dict[str, str] = {}  # event id -> "working" | "done"
usage: dict[tuple[str, str], int] = defaultdict(int)  # (user, yyyy-mm) -> calls
state_lock = threading.Lock()
user_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)


def claim(event_id: str) -> bool:
    with state_lock:
        if event_id in claims:
            return False
        claims[event_id] = "working"
        return True


def settle(event_id: str, ok: bool):
    with state_lock:
        if ok:
            claims[event_id] = "done"
        else:
            claims.pop(event_id, None)


# ---- Clerk --------------------------------------------------------------------------------------------
def clerk_call(method: str, path: str, **kw) -> dict:
    try:
        r = clerk.request(method, path, **kw)
    except httpx.HTTPError as exc:
        raise Retry(f"Clerk unreachable: {exc}") from None
    if r.status_code == 429 or r.status_code >= 500:
        raise Retry(f"Clerk answered {r.status_code}")
    r.raise_for_status()
    return r.json()


def tier_of(user_id: str) -> str:
    tier = (clerk_call("GET", f"/v1/users/{user_id}").get("public_metadata") or {}).get("tier")
    return tier if tier in LIMITS else "free"


def write_tier(user_id: str, tier: str, customer: str | None):
    clerk_call("PATCH", f"/v1/users/{user_id}", json={"public_metadata": {"tier": tier, "customer": customer}})
    log.info("user %s -> %s", user_id, tier)


# ---- Stripe -------------------------------------------------------------------------------------------
def fetch(call, *args, **kw) -> dict | None:
    """A Stripe read; None when the object does not exist (a Dashboard test event), Retry when Stripe fails."""
    try:
        return call(*args, **kw).to_dict()
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
        raise Retry(f"Stripe failed: {exc.user_message or exc}") from None


def tier_for(sub: dict) -> str | None:
    """The tier a subscription gives now; None: leave the user as they are (a product without a known plan,
    or a first payment still pending)."""
    if sub["status"] == "incomplete":
        return None
    if sub["status"] not in ENTITLED:
        return "free"
    product = sub["items"]["data"][0]["price"]["product"]
    if isinstance(product, str):
        product = fetch(stripe_client.v1.products.retrieve, product) or {}
    plan = str((product.get("metadata") or {}).get("plan") or "").strip().lower()
    if plan not in PRICES:
        log.error("product %s has metadata.plan=%r, not one of %s: tier left alone", product.get("id"), plan,
                  list(PRICES))
        return None
    return plan


def subscription(sub_id: str) -> dict | None:
    return fetch(stripe_client.v1.subscriptions.retrieve, sub_id, params={"expand": ["items.data.price.product"]})


def apply_subscription(sub_id: str, user_id: str | None):
    """Write the tier the subscription gives now, read from Stripe (never from the event's copy)."""
    if user_id is None:  # a subscription event: whose is it?
        sub = subscription(sub_id)
        user_id = ((sub or {}).get("metadata") or {}).get("userId")
        if not user_id:
            log.warning("subscription %s does not exist or names no user: ignored", sub_id)
            return
    with user_locks[user_id]:  # two events of one user at once: the later write reads the later state
        sub = subscription(sub_id)
        tier = tier_for(sub) if sub else None
        if tier is not None:
            write_tier(user_id, tier, sub["customer"])


def handle(event: dict):
    obj = event["data"]["object"]
    kind = event["type"]
    if kind == "checkout.session.completed":
        session = fetch(stripe_client.v1.checkout.sessions.retrieve, obj["id"])
        if session and session.get("mode") == "subscription" and session.get("subscription"):
            apply_subscription(session["subscription"], session.get("client_reference_id"))
    elif kind in ("customer.subscription.created", "customer.subscription.updated",
                  "customer.subscription.deleted"):
        apply_subscription(obj["id"], None)


# ---- HTTP -----------------------------------------------------------------------------------------------
HANDLED = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted")


async def hook(request: Request):
    payload = await request.body()
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("stripe-signature", ""),
                                               ENV["BILLING_HOOK_SECRET"]).to_dict()
    except (ValueError, stripe.SignatureVerificationError) as exc:
        return JSONResponse({"error": f"rejected: {exc}"}, status_code=400)
    if bool(event.get("livemode")) != LIVE:
        return JSONResponse({"error": "event from the other mode"}, status_code=400)
    obj = (event.get("data") or {}).get("object") or {}
    if event["type"] in HANDLED and not obj.get("id"):
        return JSONResponse({"error": "event object without id"}, status_code=400)
    if event["type"] not in HANDLED:
        return JSONResponse({"ignored": event["type"]})
    if not claim(event["id"]):
        return JSONResponse({"duplicate": event["id"]})
    try:
        await run_in_threadpool(handle, event)
    except Retry as exc:
        settle(event["id"], ok=False)
        log.warning("%s %s: %s; asking Stripe to retry", event["type"], event["id"], exc)
        return JSONResponse({"error": str(exc)}, status_code=503)
    except Exception:
        settle(event["id"], ok=False)
        log.exception("%s %s failed", event["type"], event["id"])
        return JSONResponse({"error": "failed"}, status_code=500)
    settle(event["id"], ok=True)
    return JSONResponse({"done": event["id"]})


def signed_in(request: Request) -> str | None:
    """The Clerk user of a valid session token (RS256, checked with the instance's PEM key, no network)."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        return jwt.decode(token, clerk_key, algorithms=["RS256"], leeway=5, options={"verify_aud": False})["sub"]
    except jwt.PyJWTError:
        return None


def month() -> str:
    return time.strftime("%Y-%m", time.gmtime())


def needs_user(endpoint):
    def wrapped(request: Request, *args):
        user = signed_in(request)
        if not user:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        try:
            return endpoint(request, user, *args)
        except Retry as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
    return wrapped


@needs_user
def quota(request: Request, user: str):
    tier = tier_of(user)
    limit = LIMITS[tier]
    return JSONResponse({"account": {"tier": tier},
                         "quota": {"used": usage[(user, month())], "max": -1 if limit is None else limit}})


@needs_user
def work(request: Request, user: str):
    limit = LIMITS[tier_of(user)]
    with state_lock:
        key = (user, month())
        if limit is not None and usage[key] >= limit:
            return JSONResponse({"error": "monthly quota reached", "upgrade": "/pricing"}, status_code=402)
        usage[key] += 1
    return JSONResponse({"result": "done"})


async def start_checkout(request: Request):
    try:
        body = await request.json()
    except ValueError:
        body = None
    wanted = body.get("plan") if isinstance(body, dict) else None
    return await run_in_threadpool(_start_checkout, request, wanted)


@needs_user
def _start_checkout(request: Request, user: str, wanted):
    price = PRICES.get(wanted)
    if not price:
        return JSONResponse({"error": f"no such plan {wanted!r}", "plans": list(PRICES)}, status_code=400)
    email = clerk_call("GET", f"/v1/users/{user}")["email_addresses"][0]["email_address"]
    site = ENV.get("SITE_URL", "http://127.0.0.1")
    session = stripe_client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price, "quantity": 1}], "client_reference_id": user,
        "subscription_data": {"metadata": {"userId": user}}, "customer_email": email,
        "allow_promotion_codes": True, "success_url": f"{site}/thanks", "cancel_url": f"{site}/pricing"})
    return JSONResponse({"checkout": {"url": session.url}})


@needs_user
def portal(request: Request, user: str):
    customer = (clerk_call("GET", f"/v1/users/{user}").get("public_metadata") or {}).get("customer")
    if not customer:
        return JSONResponse({"error": "no subscription yet"}, status_code=404)
    site = ENV.get("SITE_URL", "http://127.0.0.1")
    session = stripe_client.v1.billing_portal.sessions.create(params={"customer": customer, "return_url": site})
    return JSONResponse({"portal": session.url})


app = Starlette(routes=[
    Route("/hooks/stripe", hook, methods=["POST"]),
    Route("/account/quota", quota, methods=["GET"]),
    Route("/work", work, methods=["POST"]),
    Route("/billing/checkout", start_checkout, methods=["POST"]),
    Route("/billing/portal", portal, methods=["POST"]),
])

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host="127.0.0.1", port=int(ENV["HTTP_PORT"]), log_level="warning")
