"""receiver/locks.py: one customer's deliveries are handled one at a time across threads and processes."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time

import pytest

from tiersync.receiver.locks import CustomerLocks

HOLDER = r"""
import sys
from tiersync.receiver.locks import CustomerLocks
locks = CustomerLocks(sys.argv[1])
with locks.hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()  # hold until the test says so
"""


def test_every_process_maps_a_customer_to_the_same_slot():
    locks = CustomerLocks(":memory:")
    out = subprocess.run([sys.executable, "-c", "from tiersync.receiver.locks import CustomerLocks; "
                          "print(CustomerLocks(':memory:').slot('cus_abc'))"], capture_output=True, text=True,
                         check=True)
    assert int(out.stdout) == locks.slot("cus_abc")
    assert len({locks.slot(f"cus_{i}") for i in range(200)}) > 150  # spread over the slots


def test_a_customer_held_by_another_process_is_held_for_this_one_too(tmp_path):
    db = str(tmp_path / "receiver.sqlite")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db, "cus_held"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        locks = CustomerLocks(db)
        other = next(f"cus_other{i}" for i in range(100) if locks.slot(f"cus_other{i}") != locks.slot("cus_held"))
        with pytest.raises(OSError):  # the held customer's byte is locked by the other process
            fcntl.lockf(locks._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, locks.slot("cus_held"))
        with locks.hold(other):  # another customer is not
            pass
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        with locks.hold("cus_held"):  # released when the holder let go
            pass
        locks.close()
    finally:
        holder.kill()


def test_threads_of_one_process_take_turns_per_customer(tmp_path):
    locks = CustomerLocks(str(tmp_path / "receiver.sqlite"))
    inside, overlaps = [], []

    def work():
        for _ in range(200):
            with locks.hold("cus_1"):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                inside.pop()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    locks.close()


def test_an_in_memory_database_needs_no_lock_file(tmp_path):
    locks = CustomerLocks(":memory:")
    assert locks._fd is None
    with locks.hold("cus_1"):
        pass


CROSSED = r"""
import sys, threading
from tiersync.receiver.locks import CustomerLocks
locks = CustomerLocks(sys.argv[1])
a, b = sys.argv[2], sys.argv[3]
held_b = threading.Event()
release_b = threading.Event()

def hold_b():
    with locks.hold(b):
        held_b.set()
        release_b.wait()

t = threading.Thread(target=hold_b)
t.start()
held_b.wait()
print("holding b", flush=True)
sys.stdin.readline()  # the test holds a and waits for b in its own process
try:
    with locks.hold(a):  # the kernel sees a cycle between the two processes
        print("got a", flush=True)
except OSError as exc:
    print(f"failed {exc}", flush=True)
release_b.set()
t.join()
"""


def test_two_workers_each_holding_one_customer_and_wanting_the_others_do_not_fail(tmp_path):
    """Record locks belong to processes: A holds x and waits for y, B holds y and asks for x. The kernel calls
    that a deadlock (EDEADLK), though each thread holds one slot and lets go; the lock waits instead."""
    db = str(tmp_path / "receiver.sqlite")
    locks = CustomerLocks(db)
    x, y = "cus_x", next(f"cus_y{i}" for i in range(100) if locks.slot(f"cus_y{i}") != locks.slot("cus_x"))
    child = subprocess.Popen([sys.executable, "-c", CROSSED, db, x, y], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "holding b"
        got_y = threading.Event()

        def wait_for_y():
            with locks.hold(y):
                got_y.set()
        with locks.hold(x):
            waiter = threading.Thread(target=wait_for_y)
            waiter.start()
            time.sleep(0.3)  # the waiter is blocked on y, held by the child
            child.stdin.write("\n")
            child.stdin.flush()
            time.sleep(0.3)  # the child now asks for x: a "deadlock" to the kernel
        assert child.stdout.readline().strip() == "got a"  # once x was let go
        assert child.wait(10) == 0
        waiter.join(10)
        assert got_y.is_set()
    finally:
        child.kill()


def test_the_lock_file_is_closed_with_its_locks(tmp_path):
    import gc
    import os
    locks = CustomerLocks(str(tmp_path / "receiver.sqlite"))
    fd = locks._fd
    os.fstat(fd)  # open
    del locks
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)  # a replaced sync (the stack's reset) does not leak a descriptor
    closed = CustomerLocks(str(tmp_path / "receiver.sqlite"))
    closed.close()
    closed.close()  # twice is fine
