"""`python -m tiersync.receiver` with RECEIVER_WORKERS=2: every worker takes connections on the one port, SIGTERM stops
them all, and a worker that dies takes the service down (for its supervisor to restart) instead of leaving
it half alive."""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        out += [int(c) for c in path.read_text().split()]
    return out


def workers_of(pid: int) -> list[int]:
    return [c for c in children(pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def two_workers_env(tmp_path, port: int) -> dict:
    return {**os.environ, "STRIPE_SECRET_KEY": "sk_test_w", "STRIPE_WEBHOOK_SECRET": "whsec_w",
            "CLERK_SECRET_KEY": "sk_test_c", "STRIPE_PRICE_ID_PRO": "price_w", "RECEIVER_SKIP_REMOTE_CHECK": "1",
            "RECEIVER_WORKERS": "2", "RECEIVER_DATABASE": str(tmp_path / "receiver.sqlite"), "PORT": str(port)}


def start_receiver(env: dict, ready) -> subprocess.Popen:
    """`python -m tiersync.receiver` with `env`, once `ready(process)` says so (within a minute)."""
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.receiver"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready(proc):
        assert proc.poll() is None and time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.2)
    return proc


@pytest.fixture
def service(tmp_path):
    port = free_port()
    proc = start_receiver(two_workers_env(tmp_path, port), lambda p: len(workers_of(p.pid)) == 2 and _answers(port))
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_every_worker_takes_connections(service):
    proc, port = service
    workers = workers_of(proc.pid)
    connections = []  # 20 connections, each answered and kept open: the kernel picks a worker's socket for each
    try:
        for _ in range(20):
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            connections.append(conn)
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        owners = collections.Counter(_owner(conn.getsockname()[1], port, workers) for conn in connections)
    finally:
        for conn in connections:
            conn.close()
    assert set(owners) == set(workers), owners  # all 20 on one worker: 1 chance in ~500,000


def _owner(client_port: int, server_port: int, workers: list[int]) -> int | None:
    """The worker holding the server end of the connection from `client_port`: the kernel's table gives that
    socket's inode, and the worker with a descriptor of that inode holds it. (Counting each worker's sockets
    instead miscounts while a worker starts: spawn hands it the listening socket over a socket of its own.)"""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
        if local == server_port and remote == client_port:
            inode = fields[9]
    for worker in workers:
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return worker
            except FileNotFoundError:  # a descriptor closed meanwhile
                continue
    return None


def test_sigterm_stops_every_worker(service):
    proc, _ = service
    workers = workers_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert not [w for w in workers if Path(f"/proc/{w}").exists()]


def test_a_worker_that_dies_stops_the_service(service):
    proc, port = service
    first, second = workers_of(proc.pid)
    os.kill(first, signal.SIGKILL)
    assert proc.wait(20) == 1
    assert not Path(f"/proc/{second}").exists()
    assert "a worker process ended" in proc.stderr.read()
    assert not _answers(port)


def test_workers_end_when_their_parent_is_killed(service):
    proc, port = service
    workers = workers_of(proc.pid)
    proc.kill()  # no chance to stop them
    proc.wait(10)
    deadline = time.monotonic() + 20
    while [w for w in workers if _running(w)]:
        assert time.monotonic() < deadline, "orphaned workers kept running"
        time.sleep(0.2)
    assert not _answers(port)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_busy_port_is_reported_without_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = subprocess.run([sys.executable, "-m", "tiersync.receiver"], cwd=ROOT, capture_output=True, text=True,
                              env=two_workers_env(tmp_path, taken.getsockname()[1]), timeout=60)
    assert proc.returncode == 1
    assert "cannot listen on 127.0.0.1" in proc.stderr and "Traceback" not in proc.stderr
