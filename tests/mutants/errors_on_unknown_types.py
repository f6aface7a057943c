"""Bug: an event type without a handler falls into `default: throw` and is answered 500, so Stripe
retries every invoice.* / customer.* event for days and eventually disables the endpoint.

Caught by security/unhandled-event-types."""

import json

from starlette.responses import JSONResponse

from tiersync.receiver.webhook import stripe_webhook

from ._base import reference_app, with_webhook

CAUGHT_BY = "unhandled-event-types"


async def webhook(request):
    response = await stripe_webhook(request)
    if response.status_code == 200 and json.loads(response.body).get("handled") is False:
        return JSONResponse({"error": "Unhandled event type"}, status_code=500)  # the bug
    return response


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
