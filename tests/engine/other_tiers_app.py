"""A small app that is not our reference receiver, for judging through a profile: tiers basic 3 / plus 7 /
max unlimited, its own env names, paths and answer shapes, the tier kept in Clerk public_metadata.level, 402
at the limit. It does the job correctly (verify, dedupe, re-fetch the subscription by id, one merge per event).

    PORT_TO_USE=8000 python tests/engine/other_tiers_app.py
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time

import httpx
import stripe
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LIMITS = {"basic": 3, "plus": 7, "max": None}
PLANS = {"tier-plus": "plus", "tier-max": "max"}  # the products' metadata.plan -> our tier
ENV = os.environ
STRIPE = stripe.StripeClient(ENV["PAY_KEY"], base_addresses={"api": ENV["PAY_BASE"]}, max_network_retries=2)
CLERK = httpx.Client(base_url=ENV["AUTH_URL"], headers={"Authorization": f"Bearer {ENV['AUTH_KEY']}"}, timeout=10)
PUBLIC_KEY = serialization.load_pem_public_key(ENV["AUTH_JWT_KEY"].encode())
seen_events: set[str] = set()
calls: dict[str, int] = {}
lock = threading.Lock()


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def user_of(request: Request) -> str | None:
    """The Clerk user of a valid RS256 session token, verified with the instance's public key."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        head, body, sig = token.split(".")
        PUBLIC_KEY.verify(_b64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(_b64(body))
    except Exception:
        return None
    return claims["sub"] if claims.get("exp", 0) > time.time() - 5 else None


def level_of(user_id: str) -> str:
    r = CLERK.get(f"/v1/users/{user_id}")
    r.raise_for_status()
    level = (r.json().get("public_metadata") or {}).get("level")
    return level if level in LIMITS else "basic"


def set_level(user_id: str, level: str, customer: str | None):
    r = CLERK.patch(f"/v1/users/{user_id}/metadata",
                    json={"public_metadata": {"level": level, "customer": customer}})
    r.raise_for_status()


def sync_subscription(sub_id: str, user_id: str | None):
    sub = STRIPE.v1.subscriptions.retrieve(sub_id, params={"expand": ["items.data.price.product"]}).to_dict()
    user_id = user_id or (sub.get("metadata") or {}).get("userId")
    if not user_id:
        return
    plan = (sub["items"]["data"][0]["price"]["product"].get("metadata") or {}).get("plan", "").strip().lower()
    level = PLANS.get(plan, "basic") if sub["status"] in ("active", "trialing", "past_due") else "basic"
    set_level(user_id, level, sub["customer"])


async def hook(request: Request):
    payload = await request.body()
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("stripe-signature", ""),
                                               ENV["PAY_HOOK_SECRET"])
    except (ValueError, stripe.SignatureVerificationError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    with lock:
        if event.id in seen_events:
            return JSONResponse({"duplicate": True})
    obj = json.loads(payload)["data"]["object"]
    if event.type == "checkout.session.completed" and obj.get("subscription"):
        sync_subscription(obj["subscription"], obj.get("client_reference_id"))
    elif event.type == "customer.subscription.deleted" and ENV.get("BUG_KEEPS_TIER_AFTER_CANCEL"):
        pass  # the bug a test plants: a cancelled customer keeps the paid tier
    elif event.type.startswith("customer.subscription."):
        sync_subscription(obj["id"], None)
    with lock:
        seen_events.add(event.id)
    return JSONResponse({"ok": True})


async def quota(request: Request):
    user = user_of(request)
    if not user:
        return JSONResponse({"error": "sign in"}, status_code=401)
    level = level_of(user)
    limit = LIMITS[level]
    return JSONResponse({"level": level, "quota": {"count": calls.get(user, 0),
                                                   "max": "none" if limit is None else limit}})


async def call(request: Request):
    user = user_of(request)
    if not user:
        return JSONResponse({"error": "sign in"}, status_code=401)
    limit = LIMITS[level_of(user)]
    with lock:
        if limit is not None and calls.get(user, 0) >= limit:
            return JSONResponse({"error": "quota used up"}, status_code=402)
        calls[user] = calls.get(user, 0) + 1
    return JSONResponse({"done": True})


async def start_billing(request: Request):
    user = user_of(request)
    if not user:
        return JSONResponse({"error": "sign in"}, status_code=401)
    plan = (await request.json()).get("plan")
    price = {"plus": ENV["PRICE_PLUS"], "max": ENV["PRICE_MAX"]}.get(plan)
    if not price:
        return JSONResponse({"error": f"no plan {plan!r}"}, status_code=400)
    email = CLERK.get(f"/v1/users/{user}").json()["email_addresses"][0]["email_address"]
    session = STRIPE.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price, "quantity": 1}], "client_reference_id": user,
        "metadata": {"userId": user}, "subscription_data": {"metadata": {"userId": user}},
        "customer_email": email, "success_url": f"{ENV['SITE']}/ok", "cancel_url": f"{ENV['SITE']}/no"})
    return JSONResponse({"checkout": {"redirect": session.url}})


app = Starlette(routes=[Route("/hooks/stripe", hook, methods=["POST"]),
                        Route("/v2/me/quota", quota, methods=["GET"]),
                        Route("/v2/calls", call, methods=["POST"]),
                        Route("/billing/start", start_billing, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(ENV["PORT_TO_USE"]), log_level="warning")
