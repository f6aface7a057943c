"""A small Stripe -> Clerk billing receiver, as a tiersync user would have one: Stripe Checkout for the paid
tiers, signed webhooks that set Clerk `public_metadata.plan`, and an API limited per tier.

Settings come from the environment (the names tiersync's seed uses): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET,
STRIPE_PRICE_ID_PRO, STRIPE_PRICE_ID_ENTERPRISE, CLERK_SECRET_KEY, and STRIPE_API_BASE / CLERK_API_URL to
point the SDKs somewhere else than Stripe and Clerk (tiersync's simulators in tests).

    uvicorn app:app --port 8000
"""

from __future__ import annotations

import json
import os
import threading

import stripe
from clerk_backend_api import Clerk
from clerk_backend_api.security.types import VerifyTokenOptions
from clerk_backend_api.security.verifytoken import verify_token
from clerk_backend_api.utils import RetryConfig
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ENV = os.environ
STRIPE = stripe.StripeClient(ENV["STRIPE_SECRET_KEY"], max_network_retries=0,
                             base_addresses={"api": ENV.get("STRIPE_API_BASE", "https://api.stripe.com")})
CLERK_API_URL = ENV.get("CLERK_API_URL", "https://api.clerk.com").rstrip("/")
CLERK = Clerk(bearer_auth=ENV["CLERK_SECRET_KEY"], server_url=f"{CLERK_API_URL}/v1",
              retry_config=RetryConfig("none", None, False))  # fail fast: Stripe's retries do the retrying
WEBHOOK_SECRET = ENV["STRIPE_WEBHOOK_SECRET"]
LIVEMODE = ENV["STRIPE_SECRET_KEY"].startswith("sk_live_")
PRICES = {"pro": ENV["STRIPE_PRICE_ID_PRO"], "enterprise": ENV["STRIPE_PRICE_ID_ENTERPRISE"]}
LIMITS = {"free": 5, "pro": 50, "enterprise": None}  # requests per month; None: unlimited
ENTITLED = {"active", "trialing", "past_due"}

_lock = threading.Lock()
_claimed: set[str] = set()  # event ids being or done processing (a real app: a unique DB column)
_customers: dict[str, str] = {}  # Stripe customer -> Clerk user
_used: dict[str, int] = {}


# ---- webhooks ---------------------------------------------------------------------------------------------
async def stripe_webhook(request: Request) -> JSONResponse:
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), request.headers.get("stripe-signature", ""),
                                              WEBHOOK_SECRET, tolerance=300)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        return JSONResponse({"error": f"invalid signature or payload: {exc}"}, status_code=400)
    if bool(event.get("livemode")) != LIVEMODE:
        return JSONResponse({"error": "livemode mismatch"}, status_code=400)
    with _lock:
        if event["id"] in _claimed:
            return JSONResponse({"received": True, "duplicate": True})
        _claimed.add(event["id"])
    try:
        tier = await run_in_threadpool(handle, event)
    except Exception as exc:  # Stripe or Clerk failed: let Stripe retry, and process the retry afresh
        with _lock:
            _claimed.discard(event["id"])
        return JSONResponse({"error": f"temporary failure: {type(exc).__name__}"}, status_code=500)
    return JSONResponse({"received": True, "tier": tier})


def handle(event: dict) -> str | None:
    obj = event["data"]["object"]
    if event["type"] == "checkout.session.completed" and obj.get("mode") == "subscription":
        session = STRIPE.v1.checkout.sessions.retrieve(obj["id"]).to_dict()  # re-fetch: real and current
        user = session.get("client_reference_id") or (session.get("metadata") or {}).get("userId")
        return sync_customer(session["customer"], user)
    if event["type"] in ("customer.subscription.created", "customer.subscription.updated",
                         "customer.subscription.deleted"):
        sub = STRIPE.v1.subscriptions.retrieve(obj["id"])  # events come out of order: read the present
        return sync_customer(sub["customer"], None)
    return None


def sync_customer(customer: str, user: str | None) -> str | None:
    """The tier from *all* the customer's subscriptions (highest entitled one), written to Clerk."""
    # prices expanded, not products: on a list the leading `data` counts, and Stripe allows four levels
    subs = [s.to_dict() for s in STRIPE.v1.subscriptions.list(params={
        "customer": customer, "status": "all", "expand": ["data.items.data.price"]}).data]
    user = user or next((s["metadata"]["userId"] for s in subs if (s.get("metadata") or {}).get("userId")),
                        None) or _customers.get(customer)
    if not user:
        return None  # nobody to update (a real app would record this for a human)
    _customers[customer] = user
    if subs and all(s["status"] == "incomplete" for s in subs):
        return None  # the first payment is still pending
    products = {item["price"]["product"] for s in subs if s["status"] in ENTITLED for item in s["items"]["data"]}
    plans = [str((STRIPE.v1.products.retrieve(p).to_dict().get("metadata") or {}).get("plan", "")).strip().lower()
             for p in products]
    tier = max((p for p in plans if p in LIMITS), key=list(LIMITS).index, default="free")
    wanted = {"plan": tier, "stripeCustomerId": customer}
    current = CLERK.users.get(user_id=user).public_metadata or {}
    if any(current.get(k) != v for k, v in wanted.items()):  # write only changes: retries stay cheap
        CLERK.users.update_metadata(user_id=user, public_metadata=wanted)  # merges with other keys
    return tier


# ---- the app's API (Clerk session tokens) -------------------------------------------------------------------
def _user_id(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get("__session")
    if not token:
        return None
    try:
        return verify_token(token, VerifyTokenOptions(secret_key=ENV["CLERK_SECRET_KEY"], api_url=CLERK_API_URL))["sub"]
    except Exception:
        return None


def _tier(user_id: str) -> str:
    plan = (CLERK.users.get(user_id=user_id).public_metadata or {}).get("plan")  # fresh, not the token's
    return plan if plan in LIMITS else "free"


def api(handler):
    async def endpoint(request: Request) -> JSONResponse:
        user_id = await run_in_threadpool(_user_id, request)
        if not user_id:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        body = await request.json() if request.method == "POST" and await request.body() else {}
        status, data = await run_in_threadpool(handler, user_id, body)
        return JSONResponse(data, status_code=status)
    return endpoint


@api
def me(user_id: str, body: dict):
    tier = _tier(user_id)
    return 200, {"userId": user_id, "tier": tier, "limit": LIMITS[tier]}


@api
def usage(user_id: str, body: dict):
    tier = _tier(user_id)
    return 200, {"tier": tier, "used": _used.get(user_id, 0), "limit": LIMITS[tier]}


@api
def data(user_id: str, body: dict):
    tier = _tier(user_id)
    with _lock:
        if LIMITS[tier] is not None and _used.get(user_id, 0) >= LIMITS[tier]:
            return 429, {"error": f"monthly limit of the {tier} tier reached", "tier": tier}
        _used[user_id] = _used.get(user_id, 0) + 1
    return 200, {"ok": True, "tier": tier, "used": _used[user_id]}


@api
def create_checkout(user_id: str, body: dict):
    if body.get("tier") not in PRICES:
        return 400, {"error": f"tier must be one of {', '.join(PRICES)}"}
    customer = next((c for c, u in _customers.items() if u == user_id), None)
    params = {"mode": "subscription", "line_items": [{"price": PRICES[body["tier"]], "quantity": 1}],
              "client_reference_id": user_id, "subscription_data": {"metadata": {"userId": user_id}},
              "allow_promotion_codes": True, "success_url": "http://localhost/?ok", "cancel_url": "http://localhost/"}
    if customer:
        params["customer"] = customer
    session = STRIPE.v1.checkout.sessions.create(params=params)
    return 200, {"id": session.id, "url": session.url}


app = Starlette(routes=[
    Route("/webhook/stripe", stripe_webhook, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/usage", usage, methods=["GET"]),
    Route("/api/data", data, methods=["POST"]),
    Route("/api/create-checkout", create_checkout, methods=["POST"]),
])
