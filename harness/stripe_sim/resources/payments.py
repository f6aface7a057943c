"""PaymentIntents and Charges the simulator makes when it collects an invoice (or completes a payment-mode
Checkout Session): retrievable by the ids its events carry (`pi_...`, `ch_...`).

Creating PaymentIntents directly (`POST /v1/payment_intents`) is out of scope: Stripe's own 404 answers it."""

from __future__ import annotations

from ..routing import Ctx, route


@route("GET", "/v1/payment_intents/{pi_id}")
def retrieve_payment_intent(ctx: Ctx, p: dict, pi_id: str):
    return ctx.get("payment_intent", pi_id)


@route("GET", "/v1/charges/{ch_id}")
def retrieve_charge(ctx: Ctx, p: dict, ch_id: str):
    return ctx.get("charge", ch_id)
