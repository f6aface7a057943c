"""Bug: no dedupe. Events are not claimed by id and every delivery is applied again; and a completed
checkout grants the tier that was bought (a completed checkout is a fact), whatever has happened since, as
many apps do. Harmless while each event arrives once, but a re-delivered checkout.session.completed
(Stripe's retry after a lost answer, or `stripe events resend`) upgrades a customer who has cancelled.

Caught by delivery/duplicates-sequential (the checkout's completion is resent after the cancellation)."""

from tiersync.receiver.storage import Storage
from tiersync.receiver.sync import BillingSync, resolve_plan

from ._base import reference_app, with_sync

CAUGHT_BY = "duplicates-sequential"


class NoClaimStorage(Storage):
    def claim_event(self, event_id: str, event_type: str) -> str:
        return "new"  # the bug: every delivery counts as the first


class GrantBoughtTierSync(BillingSync):
    def sync_customer(self, customer_id, event_id, user_hint=None, must_include=None):
        if user_hint is None:  # a subscription event: as the reference does
            return super().sync_customer(customer_id, event_id, user_hint, must_include)
        # checkout.session.completed: the tier of the customer's latest subscription, whatever its status
        sub = self.customer_subscriptions(customer_id)[0]
        product = sub["items"]["data"][0]["price"]["product"]
        tier, _ = resolve_plan(self.product(product) if isinstance(product, str) else product, self.settings.tiers)
        return self.set_tier(user_hint, tier, customer_id, sub["id"])


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=NoClaimStorage(storage.path)), GrantBoughtTierSync)
