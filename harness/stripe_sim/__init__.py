"""The Stripe simulator: `StripeSim` (the backend) and `mock_stripe` (in-process mode)."""

from .app import DEFAULT_LIVE_KEY, DEFAULT_TEST_KEY, StripeSim

__all__ = ["StripeSim", "mock_stripe", "DEFAULT_TEST_KEY", "DEFAULT_LIVE_KEY"]


def __getattr__(name):
    # imported on first use: `responses` (and `requests` under it) add ~20 MB to a process, and the
    # server (`tiersync serve`) never intercepts anything
    if name == "mock_stripe":
        from .inprocess import mock_stripe
        return mock_stripe
    raise AttributeError(name)
