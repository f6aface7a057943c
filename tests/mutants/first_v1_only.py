"""Bug: only the first `v1` of the Stripe-Signature header is checked (a hand-rolled verifier doing
`header.split(",")[1]`). Fine until the secret is rolled: then Stripe signs with the new secret first and
the old one (the receiver's) second, and every delivery fails for up to 24 h.

Caught by signature/rolled-secret-two-v1."""

import hashlib
import hmac

from starlette.responses import JSONResponse

from tiersync.receiver.webhook import stripe_webhook

from ._base import reference_app, with_webhook

CAUGHT_BY = "rolled-secret-two-v1"


async def webhook(request):
    header = request.headers.get("stripe-signature", "")
    fields = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in fields if k == "t"), "")
    first_v1 = next((v for k, v in fields if k == "v1"), "")  # the bug: the other v1s are never tried
    secret = request.app.state.settings.stripe_webhook_secret.encode()
    expected = hmac.new(secret, f"{t}.".encode() + await request.body(), hashlib.sha256).hexdigest()
    if header and not hmac.compare_digest(expected, first_v1):
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    return await stripe_webhook(request)


def create_app(settings, storage):
    return with_webhook(reference_app(settings, storage=storage), webhook)
