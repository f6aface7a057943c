"""Bug: no handler for customer.subscription.deleted (only created/updated are registered), so a user
who cancels keeps the paid tier forever.

Caught by happy/cancel-now."""

from starlette.responses import JSONResponse

from tiersync.receiver.webhook import stripe_webhook

from ._base import peek_event, reference_app, with_webhook

CAUGHT_BY = "cancel-now"


async def webhook(request):
    if (await peek_event(request)).get("type") == "customer.subscription.deleted":
        return JSONResponse({"received": True})  # the bug: acknowledged, never applied
    return await stripe_webhook(request)


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
