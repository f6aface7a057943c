"""Serving the receiver as a process (`python -m tiersync.receiver`): interpreter settings, and RECEIVER_WORKERS
worker processes. Here, not in __main__, so that worker processes (spawned) can import what they run."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn

from .app import create_app
from .settings import ConfigError, Settings


def configure_process():
    # handlers run in threads that each make two HTTP calls: CPython passes the GIL to a thread whose answer
    # has arrived only every switch interval (5 ms by default), which at 16 deliveries in flight adds tens of
    # milliseconds per delivery; 1 ms cuts that wait (measured in bench/receiver.py)
    sys.setswitchinterval(0.001)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s")
    for noisy in ("stripe", "httpx", "httpcore"):  # one line per API call would cost more than the call
        logging.getLogger(noisy).setLevel(logging.WARNING)


def pin_to_cpu(cpus: tuple[int, ...], index: int, who: str = "the receiver") -> int | None:
    """RECEIVER_CPU_AFFINITY: run receiver process `index` (0, or a worker's number) and all its threads on
    one CPU of `cpus`, the index-th (round robin), and log it as `who`'s; with no CPUs, leave it to the OS
    and return None. ConfigError if the system refuses.

    Why: a process runs Python on one core at a time (the GIL), but its threads (the event loop, the handler
    threads) hand the GIL to each other several times per delivery. Spread over cores by the scheduler, each
    hand-off wakes a thread on another core; kept on one core, the same work cost ~15% less CPU and p99 was
    66-93 ms against 85-118 ms at 16 deliveries in flight (bench/receiver.py (b)). Not the default: a pinned
    process cannot move away from a core that something else keeps busy, and two receivers on one machine
    must be given different CPUs."""
    if not cpus:
        return None
    cpu = cpus[index % len(cpus)]
    tasks = Path("/proc/self/task")
    # a thread's affinity is its own (new threads inherit their creator's): set it on every thread there is
    for tid in sorted(int(t.name) for t in tasks.iterdir()) if tasks.is_dir() else [0]:
        try:
            os.sched_setaffinity(tid, {cpu})
        except ProcessLookupError:  # a thread that ended meanwhile
            pass
        except OSError as exc:  # the CPU went offline, or a container's seccomp policy forbids the call
            raise ConfigError([f"RECEIVER_CPU_AFFINITY: cannot keep the receiver on CPU {cpu}: "
                               f"{exc.strerror or exc}"]) from None
    logging.getLogger("tiersync.receiver").info("%s runs on CPU %d (RECEIVER_CPU_AFFINITY)", who, cpu)
    return cpu


def settle():
    """Everything built so far (the SDKs' modules and models: ~75,000 objects) lives as long as the process:
    set it aside from the garbage collector, whose full collections then take ~0 ms instead of ~55 ms
    (each one pauses every delivery in flight)."""
    gc.collect()
    gc.freeze()


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket of its own on the shared port (SO_REUSEPORT): the kernel spreads new connections over the
    workers' sockets. With one shared socket, whichever worker woke first accepted a whole burst of
    connections, and with keep-alive it kept them: one worker busy, the other idle."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections wait here while the worker starts
    return sock


def _exit_with_parent(parent: int):
    """A worker whose parent is gone (killed with no chance to stop it) ends too, instead of serving on."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful stop
    threading.Thread(target=watch, name="receiver-parent-watch", daemon=True).start()


def _worker(sock: socket.socket, parent: int, index: int):
    configure_process()
    settings = Settings.from_env()  # checked once, in the parent
    try:
        pin_to_cpu(settings.cpu_affinity, index, f"worker {index}")  # before any thread: they inherit it
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)  # the parent sees a worker end, and stops the service
    _exit_with_parent(parent)
    app = create_app(settings, verify_remote=False)
    settle()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def serve_workers(count: int, host: str, port: int) -> int:
    """Start `count` workers, each with its socket bound here first (so that the port takes connections for all
    of them from the start); stop them all on SIGTERM/SIGINT, or when one of them ends (a supervisor such as
    systemd then restarts the service as a whole)."""
    spawn = multiprocessing.get_context("spawn")
    try:
        sockets = [listening_socket(host, port) for _ in range(count)]
    except OSError as exc:
        print(f"receiver: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    workers = [spawn.Process(target=_worker, args=(sock, os.getpid(), i), name=f"receiver-worker-{i}")
               for i, sock in enumerate(sockets)]
    asked_to_stop = []

    def stop():
        for w in workers:
            if w.is_alive():
                w.terminate()  # uvicorn finishes the requests in flight, then exits

    def on_signal(*_):
        asked_to_stop.append(True)
        stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for w in workers:
        w.start()
    for sock in sockets:
        sock.close()  # the workers have their own copies
    by_sentinel = {w.sentinel: w for w in workers}
    ended = multiprocessing.connection.wait(list(by_sentinel))  # until one ends (or all were stopped)
    if not asked_to_stop:
        first = by_sentinel[ended[0]]
        first.join(5)  # its sentinel closes a moment before its exit code can be read
        logging.getLogger("tiersync.receiver").error("a worker process ended (exit code %s): stopping the others",
                                                     first.exitcode)
        stop()
    for w in workers:
        w.join(15)
        if w.is_alive():
            w.kill()
    return 0 if asked_to_stop else 1
