"""The sample incident of examples/incident (recorded by tiersync from a run of its story against the naive
receiver there) reproduces the bug against that receiver and finds nothing against the reference one."""

import json
import sys
from pathlib import Path

from tiersync.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "incident"
EVENTS, DELIVERIES = EXAMPLE / "stale-update.events.json", EXAMPLE / "stale-update.deliveries.json"


def test_the_sample_points_at_the_stale_update(tmp_path):
    out = tmp_path / "naive.json"
    code = main(["repro", str(EVENTS), "--deliveries", str(DELIVERIES), "--profile", str(EXAMPLE / "tiersync.toml"),
                 "--target-cmd", f"{sys.executable} {EXAMPLE / 'naive_receiver.py'}", "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 1 and not report["ok"]
    user = report["users"][0]
    bad = user["first_bad"]
    assert bad["index"] == report["deliveries"] == 5  # the held-back update, delivered last
    assert bad["event"].endswith("(customer.subscription.updated)")
    assert (bad["app"], bad["expected"]) == ("enterprise", "pro")


def test_the_reference_receiver_is_in_sync_on_the_sample(tmp_path):
    out = tmp_path / "reference.json"
    assert main(["repro", str(EVENTS), "--deliveries", str(DELIVERIES), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["users"][0]["expected_final"] == "pro"
