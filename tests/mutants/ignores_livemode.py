"""Bug: no livemode guard. An event whose `livemode` differs from the receiver's mode (a live endpoint
sharing the secret with a test deployment, or the reverse) is verified and applied like any other.

Caught by security/livemode-mismatch (also config/live-event-to-test-receiver)."""

import stripe
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from tiersync.receiver.webhook import HANDLERS, stripe_webhook

from ._base import peek_event, reference_app, with_webhook

CAUGHT_BY = "livemode-mismatch"


async def webhook(request):
    state = request.app.state
    event = await peek_event(request)
    handler = HANDLERS.get(event.get("type"))
    if handler is None or bool(event.get("livemode")) == state.settings.livemode:
        return await stripe_webhook(request)
    try:  # the bug: a mismatched event skips the guard and is handled after the signature check
        stripe.WebhookSignature.verify_header(await request.body(), request.headers.get("stripe-signature", ""),
                                              state.settings.stripe_webhook_secret,
                                              tolerance=state.settings.webhook_tolerance)
    except stripe.SignatureVerificationError:
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    await run_in_threadpool(handler, state.sync, event)
    return JSONResponse({"received": True})


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
