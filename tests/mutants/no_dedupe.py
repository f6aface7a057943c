"""Bug: no dedupe. Events are not claimed by id and every delivery is applied again, writing the user's
Clerk metadata once per copy (the seed's handler: verify, then `updateUserMetadata`, every time).

Caught by delivery/duplicates-sequential (`clerk_writes: {max: 1}` after three copies of each event)."""

from tiersync.receiver.storage import Storage
from tiersync.receiver.sync import BillingSync, Outcome

from ._base import reference_app, with_sync

CAUGHT_BY = "duplicates-sequential"


class NoClaimStorage(Storage):
    def claim_event(self, event_id: str, event_type: str) -> str:
        return "new"  # the bug: every delivery counts as the first


class ApplyEverySync(BillingSync):
    def set_tier(self, user_id, tier, customer_id, sub_id):
        self.clerk.merge_public_metadata(user_id, {"plan": tier, "stripeCustomerId": customer_id,
                                                   "subscriptionId": sub_id})
        return Outcome(user_id, tier, True)


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=NoClaimStorage(storage.path)), ApplyEverySync)
