"""repro against the seed guide's own Worker (../shared/third_party/plug-saas, unmodified, in Miniflare): an
incident recorded from a simulator run against it must point at the first event the Worker got wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tiersync.engine.loader import parse_scenario
from tiersync.engine.runner import run_scenarios
from tiersync.repro.incident import load_incident
from tiersync.repro.record import recorder
from tiersync.repro.run import run_repro

PLUG_SAAS = Path(__file__).resolve().parents[3] / "shared" / "third_party" / "plug-saas" / "api"
pytestmark = [
    pytest.mark.skipif(not PLUG_SAAS.is_dir(), reason="the seed's Worker lives in ../shared, absent beside this clone"),
    pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="running a Worker needs node and npm"),
]


def _worker():
    from tiersync.worker.target import worker_target
    return worker_target(str(PLUG_SAAS), timeout=30)


def test_a_plan_changed_outside_the_app_is_traced_to_the_grant_before_payment(tmp_path):
    story, problems = parse_scenario({"name": "plan-changed-outside", "catches": "a test story", "steps": [
        {"user": "ada"}, {"checkout": {"user": "ada", "tier": "pro"}},
        {"change_plan": {"user": "ada", "to": "developer"}}]}, "test")
    assert not problems, problems
    target = _worker()
    try:
        run_scenarios([story], target, on_result=recorder(target, tmp_path))
    finally:
        target.close()
    incident = load_incident(tmp_path / "plan-changed-outside.events.json",
                             deliveries=tmp_path / "plan-changed-outside.deliveries.json")

    target = _worker()
    try:
        report = run_repro(incident, target, order="delivered")
    finally:
        target.close()
    user = report.users[0]
    assert not report.ok
    # the Worker writes the checkout's tier on customer.subscription.created, while the first payment is
    # still pending (status incomplete): the first divergence
    assert user.first_bad.index == 1 and user.first_bad.event.endswith("(customer.subscription.created)")
    assert (user.first_bad.app, user.first_bad.expected) == ("pro", "free")
    # and it never follows the plan change made outside the app (subscription metadata.tier still says pro)
    assert (user.app_final, user.expected_final) == ("pro", "developer")
