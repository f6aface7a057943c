"""The simulators as fixtures: ``tiersync_stripe``, ``tiersync_clerk``, ``tiersync_stack`` (served,
session-wide, reset before each test) and ``tiersync_stripe_mock`` (in-process, fresh per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


# ---- simulators -------------------------------------------------------------------------------------------
class StripeServer:
    """A ``StripeSim`` served over HTTP: ``.url``, ``.sim``, ``.client()``, ``.live_client()``."""

    def __init__(self):
        from tiersync.server import ThreadedServer
        from tiersync.stripe_sim import StripeSim
        self.sim = StripeSim()
        self.server = ThreadedServer(self.sim, port=0).start()
        self.sim.public_url = self.server.url

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None = None, **kw):
        """A ``stripe.StripeClient`` on this server, for the test key (or ``key``), without retries."""
        import stripe
        kw.setdefault("max_network_retries", 0)
        kw.setdefault("base_addresses", {"api": self.url})
        return stripe.StripeClient(key or self.sim.test_key, **kw)

    def live_client(self, **kw):
        return self.client(self.sim.live_key, **kw)

    def reset(self):
        self.sim.reset()

    def stop(self):
        self.server.stop()
        self.sim.webhooks.close()


@pytest.fixture(scope="session")
def _tiersync_stripe_session() -> Iterator[StripeServer]:
    server = StripeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tiersync_stripe(_tiersync_stripe_session: StripeServer) -> StripeServer:
    """The session's served Stripe simulator, emptied for this test."""
    _tiersync_stripe_session.reset()
    return _tiersync_stripe_session


@pytest.fixture(scope="session")
def _tiersync_clerk_session():
    from tiersync.clerk_sim import ClerkSim
    sim = ClerkSim()
    server = sim.serve(port=0).start()
    try:
        yield server
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def tiersync_clerk(_tiersync_clerk_session):
    """The session's served Clerk simulator (a ``ClerkSimServer``), emptied for this test."""
    _tiersync_clerk_session.sim.reset()
    return _tiersync_clerk_session


@pytest.fixture(scope="session")
def _tiersync_stack_session():
    from tiersync.stack import Stack
    stack = Stack().start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def tiersync_stack(_tiersync_stack_session):
    """The session's stack (simulators + seeded world + reference receiver), re-seeded for this test once the
    previous test's webhook deliveries have settled (none of them lands in this test's world)."""
    _tiersync_stack_session.stripe_sim.webhooks.wait_idle(5)
    _tiersync_stack_session.reset()
    return _tiersync_stack_session


@pytest.fixture
def tiersync_stripe_mock():
    """In-process Stripe for this test: the SDK's default client reaches a fresh ``StripeSim``."""
    from tiersync.stripe_sim import mock_stripe
    with mock_stripe() as sim:
        yield sim
