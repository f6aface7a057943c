"""RECEIVER_CPU_AFFINITY: each receiver process, and every one of its threads (those started before the
setting is applied and those started after), runs on its one CPU; off by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.receiver.test_workers import _answers, free_port, start_receiver, two_workers_env, workers_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or not Path("/proc/self/task").is_dir(),
                                reason="CPU affinity is Linux only")
ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

PIN = r"""
import json, os, sys, threading
from tiersync.receiver.serving import pin_to_cpu
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()  # a thread from before
cpu = pin_to_cpu(tuple(json.loads(sys.argv[1])), int(sys.argv[2]))
threading.Thread(target=stop.wait, daemon=True).start()  # and one from after
tids = [int(t) for t in os.listdir("/proc/self/task")]
print(json.dumps({"cpu": cpu, "threads": {t: sorted(os.sched_getaffinity(t)) for t in tids}}))
"""


def pinned_in_a_process(cpus: list[int], index: int) -> dict:
    out = subprocess.run([sys.executable, "-c", PIN, json.dumps(cpus), str(index)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def cpus_of_every_thread(pid: int) -> set[str]:
    return {line.split(":", 1)[1].strip() for status in Path(f"/proc/{pid}/task").glob("*/status")
            for line in status.read_text().splitlines() if line.startswith("Cpus_allowed_list:")}


def test_every_thread_of_the_process_is_kept_on_the_one_cpu():
    last = ALLOWED[-1]
    got = pinned_in_a_process([last], 0)
    assert got["cpu"] == last
    assert len(got["threads"]) >= 3
    assert all(cpus == [last] for cpus in got["threads"].values()), got


def test_process_i_takes_the_ith_cpu_round_robin():
    got = pinned_in_a_process(ALLOWED, len(ALLOWED) + 1)
    assert got["cpu"] == ALLOWED[1 % len(ALLOWED)]


def test_no_cpus_leaves_the_process_to_the_os():
    got = pinned_in_a_process([], 0)
    assert got["cpu"] is None
    assert all(cpus == ALLOWED for cpus in got["threads"].values())


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_the_receiver_runs_on_the_cpu_it_is_given(tmp_path):
    port, last = free_port(), ALLOWED[-1]
    env = {**two_workers_env(tmp_path, port), "RECEIVER_WORKERS": "1", "RECEIVER_CPU_AFFINITY": str(last)}
    proc = start_receiver(env, lambda p: _answers(port))
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        assert cpus_of_every_thread(proc.pid) == {str(last)}
    finally:
        err = _stop(proc)
    assert f"the receiver runs on CPU {last} (RECEIVER_CPU_AFFINITY)" in err


def test_auto_gives_each_worker_a_cpu_of_its_own(tmp_path):
    port = free_port()
    env = {**two_workers_env(tmp_path, port), "RECEIVER_CPU_AFFINITY": "auto"}
    proc = start_receiver(env, lambda p: len(workers_of(p.pid)) == 2 and _answers(port))
    try:
        # a spawned worker starts Python (and answers nothing) before it pins itself: give it the time
        deadline = time.monotonic() + 30
        while True:
            per_worker = [cpus_of_every_thread(w) for w in workers_of(proc.pid)]
            if all(len(cpus) == 1 and next(iter(cpus)).isdigit() for cpus in per_worker) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert all(len(cpus) == 1 and next(iter(cpus)).isdigit() for cpus in per_worker), per_worker
        assert sorted(int(next(iter(c))) for c in per_worker) == sorted(ALLOWED[i % len(ALLOWED)] for i in (0, 1))
        assert cpus_of_every_thread(proc.pid) == cpus_of_every_thread(os.getpid())  # the parent is left as it was
    finally:
        err = _stop(proc)
    assert "worker 0 runs on CPU" in err and "worker 1 runs on CPU" in err


def test_a_cpu_the_system_refuses_is_a_config_error_not_a_traceback(monkeypatch):
    from tiersync.receiver.serving import pin_to_cpu
    from tiersync.receiver.settings import ConfigError

    def refuse(pid, cpus):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    with pytest.raises(ConfigError) as info:
        pin_to_cpu((ALLOWED[0],), 0)
    assert info.value.problems == [f"RECEIVER_CPU_AFFINITY: cannot keep the receiver on CPU {ALLOWED[0]}: "
                                   "Operation not permitted"]
