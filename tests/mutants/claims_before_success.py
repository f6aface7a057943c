"""Bug: the event is marked processed before the Clerk update succeeds (the dedupe row is written first
and never rolled back), so when Clerk fails the 500 makes Stripe retry, the retry is taken for a
duplicate, and the update is lost.

Caught by delivery/clerk-down-then-recovers."""

from tiersync.receiver.storage import Storage

from ._base import reference_app

CAUGHT_BY = "clerk-down-then-recovers"


class NoReleaseStorage(Storage):
    def release_event(self, event_id: str):
        pass  # the bug: a failed event stays claimed


def create_app(settings, storage):
    return reference_app(settings, storage=NoReleaseStorage(storage.path))
