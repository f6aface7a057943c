"""Shared fixtures for the simulator test suites.

- `stripe_sim`: a fresh `StripeSim` (no transport).
- `stripe_server`: the pytest plugin's `tiersync_stripe` (one `StripeSim` served per session, so per xdist
  worker, reset before each test) as its `ThreadedServer`: `stripe_server.app` is the sim, `.url` its base URL.
- `stripe_mode` / `sim` / `client`: parametrized over "inprocess" (responses intercepts api.stripe.com)
  and "server" (real HTTP to the threaded server). `client` is a `stripe.StripeClient` for the test key;
  `make_client(key)` builds one for any key in the same mode (live key, bad keys...).
- `quiet_receiver_log`: the reference receiver's error log silenced (tests that make it fail on purpose).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import stripe

from tiersync.server import ThreadedServer
from tiersync.stripe_sim import StripeSim, mock_stripe

STRIPE_MODES = ["inprocess", "server"]


@pytest.fixture
def stripe_sim() -> StripeSim:
    return StripeSim()


@pytest.fixture
def stripe_server(tiersync_stripe) -> ThreadedServer:
    """The pytest plugin's served Stripe simulator (one per session, reset before each test), as its server:
    `.app` is the sim, `.url` its base URL."""
    return tiersync_stripe.server


@pytest.fixture(params=STRIPE_MODES)
def stripe_mode(request) -> str:
    return request.param


@pytest.fixture
def sim(stripe_mode: str, request) -> Iterator[StripeSim]:
    """The `StripeSim` behind `client`, fresh (in-process) or reset (server)."""
    if stripe_mode == "inprocess":
        with mock_stripe() as s:
            yield s
    else:
        yield request.getfixturevalue("stripe_server").app


@pytest.fixture
def make_client(sim: StripeSim, stripe_mode: str, request) -> Callable[..., stripe.StripeClient]:
    def make(key: str | None = None, **kw) -> stripe.StripeClient:
        kw.setdefault("max_network_retries", 0)
        if stripe_mode == "server":
            kw.setdefault("base_addresses", {"api": request.getfixturevalue("stripe_server").url})
        return stripe.StripeClient(sim.test_key if key is None else key, **kw)

    return make


@pytest.fixture
def client(make_client) -> stripe.StripeClient:
    return make_client()


@pytest.fixture(scope="session")
def _receiver_session():
    from tests.stripe_sim.receivers import Receiver
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def receiver(_receiver_session):
    """A scriptable webhook receiver (tests/stripe_sim/receivers.py), cleared for each test."""
    _receiver_session.reset()
    return _receiver_session


@pytest.fixture
def quiet_receiver_log() -> Iterator[None]:
    """The reference receiver's errors silenced for a test that makes it fail on purpose (mutants, faults)."""
    logger = logging.getLogger("tiersync.receiver")
    level, logger.level = logger.level, logging.CRITICAL
    yield
    logger.setLevel(level)
