"""examples/node-server: a plain Node server whose official SDKs are pointed at the simulators by their
documented options (stripe-node `host`/`port`/`protocol`, @clerk/backend `apiUrl`), started by the engine
with the env its profile names, and judged by catalog scenarios that cover checkout, the portal-side plan
change, cancellation, usage limits, duplicates, reordering, a Clerk outage and signatures."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from tiersync.catalog import catalog_dir
from tiersync.engine.loader import load_paths
from tiersync.engine.runner import run_scenarios
from tiersync.engine.target import command_target
from tiersync.profile_load import load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-server"
SCENARIOS = ["happy/upgrade-pro-card", "happy/upgrade-pro-to-enterprise", "happy/downgrade-enterprise-to-pro",
             "happy/cancel-now", "happy/usage-free-limit", "happy/usage-enterprise-unlimited",
             "delivery/duplicates-sequential", "delivery/old-update-arrives-last",
             "delivery/clerk-down-then-recovers", "delivery/unlinked-subscription-acknowledged",
             "signature/wrong-secret", "signature/timestamp-within-tolerance",
             "config/missing-plan-keeps-paid-tier"]  # it maps prices to tiers: a product without a plan is no matter

pytestmark = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                                reason="the Node example needs node and npm")


def test_node_server_passes_against_the_simulators():
    from tiersync.worker.toolchain import app_node_modules
    modules = app_node_modules(EXAMPLE)  # npm ci from the example's lock, into the cache (never into examples/)
    cmd = f"NODE_PATH={shlex.quote(str(modules))} node {shlex.quote(str(EXAMPLE / 'server.js'))}"
    target = command_target(cmd, profile=load_profile(EXAMPLE / "tiersync.toml"), timeout=30)
    try:
        scenarios = load_paths([catalog_dir() / f"{name}.yaml" for name in SCENARIOS])
        result = run_scenarios(scenarios, target)
    finally:
        target.close()
    assert {r.name: r.message for r in result.results if r.status != "passed"} == {}
    assert len(result.results) == len(SCENARIOS)
