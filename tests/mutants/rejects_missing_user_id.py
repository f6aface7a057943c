"""Bug: a subscription event whose `metadata.userId` is missing (a subscription made in the Dashboard or
through the API, not Checkout) is answered 400, so Stripe retries it for days and the endpoint is
eventually disabled, instead of 200 and a recorded sync error.

Caught by delivery/unlinked-subscription-acknowledged."""

from starlette.responses import JSONResponse

from tiersync.receiver.webhook import stripe_webhook

from ._base import peek_event, reference_app, with_webhook

CAUGHT_BY = "unlinked-subscription-acknowledged"


async def webhook(request):
    event = await peek_event(request)
    obj = (event.get("data") or {}).get("object") or {}
    if str(event.get("type", "")).startswith("customer.subscription.") \
            and not (obj.get("metadata") or {}).get("userId"):
        return JSONResponse({"error": "missing metadata.userId"}, status_code=400)  # the bug
    return await stripe_webhook(request)


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
