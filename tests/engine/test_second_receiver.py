"""Proof of no false failures: examples/refetch-receiver, a correct receiver written apart from the
reference one (its own tiers free 3 / basic 20 / team unlimited, env names, paths, answer shapes, tier in
Clerk public_metadata.tier; re-fetches each subscription by id, no trust window, three Clerk writes per
checkout, REST calls to Clerk), passes every catalog scenario its profile makes applicable."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tiersync.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "refetch-receiver"
REFERENCE_ONLY = {"live-event-to-test-receiver", "missing-plan-metadata", "unknown-plan-value"}


def test_a_second_correct_receiver_passes_the_catalog(tmp_path):
    report = tmp_path / "report.json"
    code = main(["run", "--profile", str(EXAMPLE / "tiersync.toml"), "--strict", "--json", str(report),
                 "--target-cmd", f"{sys.executable} {EXAMPLE / 'app.py'}"])
    run = json.loads(report.read_text())
    failures = {s["name"]: s["message"] for s in run["scenarios"] if s["status"] in ("failed", "advice")}
    assert code == 0 and not failures, failures
    skipped = {s["name"]: s["message"] for s in run["scenarios"] if s["status"] == "skipped"}
    assert set(skipped) == REFERENCE_ONLY, skipped  # only those that read the reference receiver's records
    assert all(m.startswith("skipped: needs the reference receiver") for m in skipped.values())
    assert run["passed"] == len(run["scenarios"]) - len(REFERENCE_ONLY) >= 51
