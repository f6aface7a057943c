"""`tiersync serve --worker`: the Worker served beside the simulators, its console printed per request."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from .test_runtime import WORKERS, needs_node


@needs_node
def test_serve_runs_the_worker_with_the_worlds_keys_and_prints_its_console():
    cmd = [sys.executable, "-m", "tiersync.cli", "serve", "--worker", str(WORKERS / "hello"), "--port", "0",
           "--clerk-port", "0", "--receiver-port", "0", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        worker = info["worker"]
        assert worker["entry"] == str((WORKERS / "hello" / "src" / "index.ts").resolve())
        r = httpx.get(worker["url"] + "/check", timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["stripe"] == {"status": 200, "object": "list"}  # the world's key, the simulator
        assert proc.stdout.readline().strip() == "[worker] GET /check -> 200"
        assert proc.stdout.readline().strip() == '[worker]   log: checking {"path":"/check"}'
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "GET https://example.com/track (1x)" in err  # the blocked host, named when it stops


def test_serve_names_a_worker_that_cannot_start(tmp_path: Path):
    cmd = [sys.executable, "-m", "tiersync.cli", "serve", "--worker", str(tmp_path / "nowhere"), "--port", "0",
           "--clerk-port", "0", "--receiver-port", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cannot start the Worker" in done.stderr and "no such file or folder" in done.stderr
