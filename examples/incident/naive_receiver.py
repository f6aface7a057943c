"""A webhook receiver written the way many are, to show `tiersync repro` at work: it verifies the signature
and dedupes event ids, but takes the tier from the event's own copy of the subscription. Events arrive out of
order, so an old `customer.subscription.updated` delivered late puts the user back on the tier they left.
(The fix: re-fetch the subscription from Stripe, as the reference receiver does.)

    python naive_receiver.py   # reads STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE,
                               # CLERK_SECRET_KEY, CLERK_API_URL, PORT (tiersync sets them all)
"""

import os

import stripe
import uvicorn
from clerk_backend_api import Clerk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STRIPE = stripe.StripeClient(os.environ["STRIPE_SECRET_KEY"],
                             base_addresses={"api": os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")})
CLERK = Clerk(bearer_auth=os.environ["CLERK_SECRET_KEY"],
              server_url=os.environ.get("CLERK_API_URL", "https://api.clerk.com") + "/v1")
SEEN: set[str] = set()


def plan_of(subscription: dict) -> str:
    if subscription["status"] not in ("active", "trialing"):
        return "free"
    product = subscription["items"]["data"][0]["price"]["product"]
    return STRIPE.v1.products.retrieve(product).metadata["plan"]


async def webhook(request: Request):
    try:
        event = stripe.Webhook.construct_event(await request.body(), request.headers.get("stripe-signature", ""),
                                               os.environ["STRIPE_WEBHOOK_SECRET"])
    except (ValueError, stripe.SignatureVerificationError):
        return JSONResponse({"error": "bad signature"}, status_code=400)
    if event.id in SEEN:
        return JSONResponse({"received": True, "duplicate": True})
    if event.type.startswith("customer.subscription."):
        subscription = event.data.object.to_dict()  # the bug: this copy may be older than Stripe's state
        user_id = subscription["metadata"].get("userId")
        if user_id:
            tier = "free" if event.type.endswith(".deleted") else plan_of(subscription)
            CLERK.users.update_metadata(user_id=user_id, public_metadata={"plan": tier})
    SEEN.add(event.id)
    return JSONResponse({"received": True})


app = Starlette(routes=[Route("/webhook/stripe", webhook, methods=["POST"]),
                        Route("/health", lambda r: JSONResponse({"status": "ok"}))])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), log_level="warning")
