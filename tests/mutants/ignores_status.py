"""Bug: the subscription's status is ignored: any subscription that is not canceled counts as paid, so a
subscription whose first payment failed (`incomplete`) or that went `unpaid` after the trial keeps the
tier of its price.

Caught by happy/first-payment-fails-stays-free (also happy/trial-card-fails-then-unpaid)."""

from tiersync.receiver.sync import BillingSync

from ._base import reference_app, with_sync

CAUGHT_BY = "first-payment-fails-stays-free"


class AnyStatusSync(BillingSync):
    def tier_for(self, subs, event_id):
        for sub in subs:
            if sub["status"] != "canceled":
                sub["status"] = "active"  # the bug: a subscription means a paid plan, whatever its payments
        return super().tier_for(subs, event_id)


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=storage), AnyStatusSync)
