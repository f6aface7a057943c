"""`tiersync run --worker`: a Worker that cannot run exits 2 with the bundler's or workerd's words; a
scenario runs against a Worker and the report carries its console beside the deliveries."""

from __future__ import annotations

import json

import pytest

from tiersync.cli import main

from .test_plug_saas import WORKER
from .test_runtime import WORKERS, needs_node

PAID = """
name: paid-checkout-upgrades
catches: a checkout that does not reach the app
steps:
  - user: ada
  - checkout: {user: ada, tier: "${profile.tiers.paid}"}
  - expect: {tier: {user: ada, is: "${profile.tiers.paid}"}}
"""


@needs_node
def test_a_worker_that_does_not_bundle_exits_2_with_esbuilds_message(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(PAID)
    assert main(["run", str(tmp_path / "s.yaml"), "--worker", str(WORKERS / "syntax" / "index.js")]) == 2
    out = capsys.readouterr().out
    assert "cannot start the target" in out and "esbuild could not bundle" in out


def test_worker_goes_alone(tmp_path):
    (tmp_path / "s.yaml").write_text(PAID)
    with pytest.raises(SystemExit, match="give one of --target-cmd, --worker or --stack/--target"):
        main(["run", str(tmp_path / "s.yaml"), "--worker", str(WORKERS / "hello"), "--target-cmd", "true"])


@needs_node
@pytest.mark.skipif(not WORKER.is_dir(), reason=f"the seed app's Worker is not here ({WORKER})")
def test_a_scenario_against_the_seed_worker_with_its_console_in_the_json_report(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(PAID)
    report = tmp_path / "r.json"
    assert main(["run", str(tmp_path / "s.yaml"), "--worker", str(WORKER), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "the seed guide's conventions" in out  # no tiersync.toml here or beside the Worker
    deliveries = [d for s in json.loads(report.read_text())["scenarios"] for step in s["steps"]
                  for d in step["deliveries"]]
    completed = next(d for d in deliveries if d["type"] == "checkout.session.completed")
    assert any("to pro plan after checkout" in line for line in completed["console"])
