"""Bug: trusts event order. For customer.subscription.* events the tier comes from the event's own
`data.object` (its status and price), not from Stripe's current state, so an older
customer.subscription.updated arriving last wins (and subscription.created's `incomplete` arriving
after the checkout sets the payer back to free).

Caught by delivery/old-update-arrives-last (also delivery/reverse-order-checkout)."""

import copy

from tiersync.receiver.sync import BillingSync
from tiersync.receiver.webhook import stripe_webhook

from ._base import peek_event, reference_app, with_sync, with_webhook

CAUGHT_BY = "old-update-arrives-last"


class EventObjectSync(BillingSync):
    """customer_subscriptions() answers from the event being handled."""

    def __init__(self, *args):
        super().__init__(*args)
        self.event_objects: dict[str, dict] = {}  # customer id -> data.object of the event in hand

    def customer_subscriptions(self, customer_id):
        obj = self.event_objects.pop(customer_id, None)
        if obj is None:
            return super().customer_subscriptions(customer_id)
        sub = copy.deepcopy(obj)
        for item in sub["items"]["data"]:  # the naive handler looks the plan up from the event's price
            if isinstance(item["price"]["product"], str):
                item["price"]["product"] = self.product(item["price"]["product"])
        return [sub]  # the bug: the event's copy, however old


async def webhook(request):
    event = await peek_event(request)
    obj = (event.get("data") or {}).get("object") or {}
    if str(event.get("type", "")).startswith("customer.subscription.") and obj.get("customer"):
        request.app.state.sync.event_objects[obj.get("customer")] = obj
    return await stripe_webhook(request)


def create_app(settings, storage):
    return with_webhook(with_sync(reference_app(settings, storage=storage), EventObjectSync), webhook)
