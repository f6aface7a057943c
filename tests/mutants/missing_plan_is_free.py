"""Bug: a product without metadata.plan is read as "free" (no error anywhere), so a paying Pro user who
moves to such a product is silently downgraded, and a new buyer stays free with nothing recorded.

Caught by config/missing-plan-keeps-paid-tier (also config/missing-plan-metadata)."""

from tiersync.receiver.sync import BillingSync, SyncProblem

from ._base import reference_app, with_sync

CAUGHT_BY = "missing-plan-keeps-paid-tier"


class MissingIsFreeSync(BillingSync):
    def tier_for(self, subs, event_id):
        try:
            return super().tier_for(subs, event_id)
        except SyncProblem as problem:
            if problem.kind == "missing_plan":
                return "free", None  # the bug
            raise


def create_app(settings, storage):
    return with_sync(reference_app(settings, storage=storage), MissingIsFreeSync)
