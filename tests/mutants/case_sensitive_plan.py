"""Bug: metadata.plan is matched case-sensitively (and untrimmed): a product saved with plan=Pro is "not a
tier", so paying users stay on free while the webhook answers 200 (the seed's Gotcha).

Caught by config/plan-metadata-miscased."""

from tiersync.receiver.sync import ENTITLED, BillingSync, SyncProblem, metadata_value

from ._base import reference_app, with_sync

CAUGHT_BY = "plan-metadata-miscased"


class ExactPlanSync(BillingSync):
    def tier_for(self, subs, event_id):
        for sub in subs:
            if sub["status"] not in ENTITLED:
                continue
            for item in sub["items"]["data"]:
                product = item["price"]["product"]
                plan = metadata_value(self.product(product) if isinstance(product, str) else product, "plan")
                if plan is not None and plan not in self.settings.tiers:  # the bug: no .strip().lower()
                    raise SyncProblem("unknown_plan", f"metadata.plan={plan!r} is not a tier")
        return super().tier_for(subs, event_id)


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=storage), ExactPlanSync)
