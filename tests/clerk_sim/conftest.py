"""Fixtures for the Clerk simulator suite.

- ``clerk_sim``: a fresh in-process ``ClerkSim``.
- ``clerk_server``: the pytest plugin's ``tiersync_clerk``, one ``ClerkSimServer`` per xdist worker
  (127.0.0.1, OS-picked port), reset before each test.
- ``clerk_mode`` / ``csim`` / ``clerk``: parametrized over ``inprocess`` and ``server``;
  ``clerk`` is the official ``clerk_backend_api.Clerk`` bound to ``csim`` with fast retries.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from clerk_backend_api import Clerk
from clerk_backend_api.utils import BackoffStrategy, RetryConfig

from tiersync.clerk_sim import ClerkSim, ClerkSimServer

CLERK_MODES = ["inprocess", "server"]
# The SDK's default retry backs off from 500 ms for up to an hour; tests want milliseconds.
FAST_RETRIES = RetryConfig("backoff", BackoffStrategy(5, 20, 1.5, 2000), True)
NO_RETRIES = RetryConfig("none", None, False)


@pytest.fixture
def clerk_sim() -> Iterator[ClerkSim]:
    sim = ClerkSim()
    yield sim
    sim.close()


@pytest.fixture
def clerk_server(tiersync_clerk: ClerkSimServer) -> ClerkSimServer:
    """The pytest plugin's served Clerk simulator (one per session, reset before each test)."""
    return tiersync_clerk


@pytest.fixture(params=CLERK_MODES)
def clerk_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def csim(clerk_mode: str, request: pytest.FixtureRequest) -> ClerkSim:
    if clerk_mode == "inprocess":
        return request.getfixturevalue("clerk_sim")
    return request.getfixturevalue("clerk_server").sim


def make_sdk(sim: ClerkSim, mode: str, *, secret_key: str | None = None, retries: RetryConfig = FAST_RETRIES) -> Clerk:
    if mode == "inprocess":
        return sim.sdk_client(secret_key=secret_key, retry_config=retries)
    return Clerk(bearer_auth=secret_key or sim.secret_key, server_url=sim.api_url, retry_config=retries)


@pytest.fixture
def clerk(csim: ClerkSim, clerk_mode: str) -> Iterator[Clerk]:
    sdk = make_sdk(csim, clerk_mode)
    with sdk:
        yield sdk


@pytest.fixture
def raw_http(csim: ClerkSim, clerk_mode: str) -> Iterator[httpx.Client]:
    """Plain HTTP to ``csim`` (same mode as ``clerk``), authenticated with the secret key."""
    headers = {"Authorization": f"Bearer {csim.secret_key}"}
    if clerk_mode == "inprocess":
        client = csim.http_client(headers=headers)
    else:
        client = httpx.Client(base_url=csim.base_url, headers=headers)
    with client:
        yield client
