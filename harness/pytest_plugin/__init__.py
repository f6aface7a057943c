"""tiersync's pytest plugin: the simulators as fixtures, a signed-webhook sender with expectations, and the
scenario catalog as parametrized tests against *your* receiver. The user's guide is docs/pytest-plugin.md.

Installed with tiersync (a ``pytest11`` entry point named ``tiersync``, this module; ``-p no:tiersync``
turns it off). Every server listens on 127.0.0.1 on an OS-picked port, one per session, so one per
pytest-xdist worker.

The parts, one module each:

- ``options``: ``--tiersync-*`` options and their ini twins;
- ``targets``: ``tiersync_target``, the receiver under test (reference, command, Worker or remote);
- ``scenarios``: ``tiersync_scenario``, the catalog (or your scenario files) as parametrized tests;
- ``simulators``: ``tiersync_stripe``, ``tiersync_clerk``, ``tiersync_stack``, ``tiersync_stripe_mock``;
- ``webhooks``: ``tiersync_webhooks``, signed events with the answers expected.

pytest registers this module as the plugin, so every hook and fixture is imported here.
"""

from __future__ import annotations

from ..catalog import catalog_dir
from .options import pytest_addoption, pytest_configure
from .scenarios import (
    ScenarioCase,
    format_failure,
    pytest_generate_tests,
    pytest_runtest_protocol,
    tiersync_scenario,
)
from .simulators import (
    StripeServer,
    _tiersync_clerk_session,
    _tiersync_stack_session,
    _tiersync_stripe_session,
    tiersync_clerk,
    tiersync_stack,
    tiersync_stripe,
    tiersync_stripe_mock,
)
from .targets import FreshTargets, TiersyncTarget, _tiersync_fresh_targets, tiersync_target
from .webhooks import ExpectedEvent, Sent, WebhookSender, tiersync_webhooks

__all__ = [
    # hooks and fixtures (pytest finds them here)
    "pytest_addoption", "pytest_configure", "pytest_generate_tests", "pytest_runtest_protocol",
    "tiersync_target", "_tiersync_fresh_targets", "tiersync_scenario", "tiersync_stripe", "tiersync_clerk",
    "tiersync_stack", "tiersync_stripe_mock", "_tiersync_stripe_session", "_tiersync_clerk_session",
    "_tiersync_stack_session", "tiersync_webhooks",
    # the objects the fixtures hand out
    "ExpectedEvent", "FreshTargets", "ScenarioCase", "Sent", "StripeServer", "TiersyncTarget", "WebhookSender",
    "catalog_dir", "format_failure",
]
