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
    # A long-running store holds millions of acyclic objects: full collections would scan them all, often,
    # making each call cost more as the store grows. So the older generations are collected rarely: a young
    # collection every 5,000 allocations, the middle one every 500 of those (2.5M), a full one almost never.
    # Young collections stay small because each one stops every thread: at 50,000 they took 40-55 ms here and
    # made the p99 of webhook lag at 1,000 events/s (65-116 ms); at 5,000 they take ~5 ms (p99 15-48 ms),
    # for the same total (bench/webhook_delivery.py; API CPU per call unchanged, bench/stripe_api.py).
    gc.set_threshold(5_000, 500, 1000)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
