"""Bug: the signature is checked against a re-serialised body (`json.dumps(json.loads(raw), indent=2)`,
what a JSON body parser hands on), not the raw bytes. Genuine deliveries still pass (Stripe's pretty
printing round-trips), but so does a body changed after signing: compacted, or with CRLF line endings.

Caught by signature/reserialized-body (also signature/crlf-body)."""

import json

from tiersync.receiver.webhook import stripe_webhook

from ._base import reference_app, with_webhook

CAUGHT_BY = "reserialized-body"


async def webhook(request):
    raw = await request.body()
    try:
        request._body = json.dumps(json.loads(raw), indent=2).encode()  # the bug: verify what the parser saw
    except ValueError:
        pass
    return await stripe_webhook(request)


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
