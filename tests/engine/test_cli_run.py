"""`tiersync run`: exit codes 0 / 1 / 2, the three report formats, and the three kinds of target."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from tiersync.cli import main

PASSING = """
name: passes
catches: nothing; a smoke test
steps:
  - user: ada
  - expect: {tier: {user: ada, is: free}}
"""
FAILING = """
name: fails-on-purpose
catches: an expectation that cannot hold
steps:
  - user: bob
  - expect: {tier: {user: bob, is: enterprise}}
"""


def scenarios(tmp_path, *texts):
    for i, text in enumerate(texts):
        (tmp_path / f"s{i}.yaml").write_text(textwrap.dedent(text))
    return str(tmp_path)


def test_exit_codes_and_reports(tmp_path, capsys):
    (tmp_path / "ok").mkdir()
    assert main(["run", scenarios(tmp_path / "ok", PASSING)]) == 0
    both = tmp_path / "both"
    both.mkdir()
    scenarios(both, PASSING, FAILING)
    junit, js, page = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "r.html"
    assert main(["run", str(both), "--junit", str(junit), "--json", str(js), "--html", str(page)]) == 1
    out = capsys.readouterr().out
    assert "1 passed, 1 failed" in out and "tier of bob is 'free', expected 'enterprise'" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    report = json.loads(js.read_text())
    failed = [s for s in report["scenarios"] if s["status"] == "failed"]
    assert failed[0]["name"] == "fails-on-purpose" and failed[0]["failed_step"] == 2
    assert failed[0]["steps"][0]["state"]["bob"]["public_metadata"] == {}
    text = page.read_text()
    assert "fails-on-purpose" in text and "<script" not in text
    for doc in (text, js.read_text(), junit.read_text()):
        assert "whsec_" not in doc.replace("whsec_****", "") and "sk_test_tiersync" not in doc


def test_bad_scenarios_exit_2_without_running(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("name: x\ncatches: y\nsteps:\n  - chekout: {}\n")
    assert main(["run", str(tmp_path)]) == 2
    assert "did you mean 'checkout'" in capsys.readouterr().out


def test_a_target_command_that_dies_exits_2(tmp_path, capsys):
    folder = tmp_path / "ok"
    folder.mkdir()
    scenarios(folder, PASSING)
    assert main(["run", str(folder), "--target-cmd", "sh -c 'echo boom; exit 3'", "--start-timeout", "10"]) == 2
    out = capsys.readouterr().out
    assert "exited with code 3" in out and "boom" in out


def test_a_target_command_that_never_listens_is_reported_with_its_output(tmp_path, capsys):
    folder = tmp_path / "ok"
    folder.mkdir()
    scenarios(folder, PASSING)
    assert main(["run", str(folder), "--target-cmd", "sh -c 'echo still starting; sleep 30'",
                 "--start-timeout", "1"]) == 2
    out = capsys.readouterr().out
    assert "did not listen" in out and "still starting" in out
    port = re.search(r"did not listen on\s+127\.0\.0\.1:(\d+)", out).group(1)
    assert not list(Path("/tmp").glob(f"tiersync-target-{port}.*"))  # this target left nothing behind


def test_target_cmd_runs_a_receiver_in_its_own_process(tmp_path, capsys):
    from tiersync.catalog import catalog_dir
    cmd = f"{sys.executable} -m tiersync.receiver"
    assert main(["run", str(catalog_dir() / "happy" / "upgrade-pro-card.yaml"), "--target-cmd", cmd]) == 0
    assert "against the command target" in capsys.readouterr().out


def test_against_a_running_stack(tmp_path, capsys):
    from tiersync.catalog import catalog_dir
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "serve", "--port", "0", "--clerk-port", "0",
                             "--receiver-port", "0", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        stack_file = tmp_path / "stack.json"
        stack_file.write_text(line)
        receiver = info["receiver"]
        code = main(["run", str(catalog_dir() / "happy" / "upgrade-pro-card.yaml"), "--stack", str(stack_file),
                     "--target", receiver["url"], "--webhook-secret", receiver["env"]["STRIPE_WEBHOOK_SECRET"]])
        assert code == 0, capsys.readouterr().out
    finally:
        proc.terminate()
        proc.wait(timeout=10)
