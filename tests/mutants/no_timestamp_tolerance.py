"""Bug: no timestamp tolerance (`construct_event(..., tolerance=None)`): a correctly signed event is
accepted however old, so a captured delivery can be replayed forever.

Caught by signature/stale-timestamp (also security/replayed-old-event)."""

import dataclasses

from ._base import reference_app

CAUGHT_BY = "stale-timestamp"


def create_app(settings, storage):
    return reference_app(dataclasses.replace(settings, webhook_tolerance=None), storage=storage)  # the bug
