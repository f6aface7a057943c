"""Interpreter settings for a process whose job is serving the simulators (`tiersync serve`, benchmarks).

Not applied when the simulators run inside someone else's process (pytest): these are process-wide.
"""

from __future__ import annotations

import gc
import sys

# The HTTP servers, the webhook deliverer and the API handlers are threads of one process. CPython hands
# the GIL to a waiting thread only every `switchinterval` (5 ms by default), so a delivery due while an API
# call computes waited up to 5 ms per hand-over, several times per delivery; 1 ms keeps webhook lag in
# single milliseconds at 1,000 events/s (shorter intervals cost more in switching than they save).
SWITCH_INTERVAL_S = 0.001


def for_serving():
    # a long-running store holds millions of acyclic objects: full collections would scan them all, often,
    # making each call cost more as the store grows (and stalling deliveries for tens of milliseconds)
    gc.set_threshold(50_000, 50, 1000)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
