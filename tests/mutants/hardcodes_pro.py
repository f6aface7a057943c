"""Bug: any paid subscription means "pro" (the tier is hard-coded instead of read from the product's
metadata.plan), so Enterprise buyers get Pro's limits.

Caught by happy/upgrade-enterprise-card."""

from tiersync.receiver.sync import BillingSync

from ._base import reference_app, with_sync

CAUGHT_BY = "upgrade-enterprise-card"


class ProOnlySync(BillingSync):
    def tier_for(self, subs, event_id):
        tier, sub_id = super().tier_for(subs, event_id)
        return ("pro" if tier not in (None, "free") else tier), sub_id  # the bug


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=storage), ProOnlySync)
