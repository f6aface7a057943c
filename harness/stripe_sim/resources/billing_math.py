"""Billing arithmetic the resource modules share: calendar months and billing periods, what a coupon
takes off an amount, and the `created[gte]=...` range filters of list requests.

Pure functions (no store, no events), so every resource module can import them without a circle."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def in_range(value: int, f: dict) -> bool:
    """Whether `value` passes a list filter such as `created[gte]=...&created[lt]=...`."""
    return ((f.get("eq") is None or value == f["eq"]) and (f.get("gt") is None or value > f["gt"])
            and (f.get("gte") is None or value >= f["gte"]) and (f.get("lt") is None or value < f["lt"])
            and (f.get("lte") is None or value <= f["lte"]))


def add_months(ts: int, months: int) -> int:
    """The same day `months` calendar months later (clamped to the month's last day, as Stripe bills)."""
    d = datetime.fromtimestamp(ts, UTC)
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def period_end(start: int, recurring: dict) -> int:
    """The end of a billing period that starts at `start`, for a price's `recurring` settings."""
    n = recurring.get("interval_count") or 1
    interval = recurring["interval"]
    if interval == "month":
        return add_months(start, n)
    if interval == "year":
        return add_months(start, 12 * n)
    return start + n * (7 * 86400 if interval == "week" else 86400)


def discount_amount(coupon: dict, amount: int, currency: str) -> int:
    """What a coupon takes off `amount` (Stripe rounds percentages to the nearest unit)."""
    if coupon.get("percent_off") is not None:
        return min(amount, int(round(amount * float(coupon["percent_off"]) / 100)))
    if coupon.get("amount_off") is not None and coupon.get("currency") == currency:
        return min(amount, coupon["amount_off"])
    return 0
