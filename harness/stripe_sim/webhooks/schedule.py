"""Retry schedules: delays (seconds) before each retry after a failed attempt.

Stripe publishes no exact intervals: live mode retries with exponential back-off for up to three days,
test mode three times over a few hours. These tables are the defaults; pass your own to the deliverer.
"""

from __future__ import annotations


def _live() -> list[int]:
    delays, total, d = [], 0, 300
    while total + d <= 3 * 86400:
        delays.append(d)
        total += d
        d = min(d * 2, 12 * 3600)
    return delays


RETRY_SCHEDULES: dict[str, list[int]] = {
    "test": [3600, 2 * 3600, 4 * 3600],  # 3 retries over 7 hours
    "live": _live(),  # 5 min doubling to 12 h, 3 days in all
}
# an endpoint whose deliveries have only failed for this long is disabled (Stripe: "after some days")
DISABLE_AFTER: dict[str, int] = {"test": 3 * 86400, "live": 3 * 86400}
