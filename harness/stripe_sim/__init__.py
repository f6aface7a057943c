"""The Stripe simulator: `StripeSim` (the backend) and `mock_stripe` (in-process mode)."""

from .app import DEFAULT_LIVE_KEY, DEFAULT_TEST_KEY, StripeSim
from .inprocess import mock_stripe

__all__ = ["StripeSim", "mock_stripe", "DEFAULT_TEST_KEY", "DEFAULT_LIVE_KEY"]
