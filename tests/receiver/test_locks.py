"""receiver/locks.py: one customer's deliveries are handled one at a time across threads and processes."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading

import pytest

from receiver.locks import CustomerLocks

HOLDER = r"""
import sys
from receiver.locks import CustomerLocks
locks = CustomerLocks(sys.argv[1])
with locks.hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()  # hold until the test says so
"""


def test_every_process_maps_a_customer_to_the_same_slot():
    locks = CustomerLocks(":memory:")
    out = subprocess.run([sys.executable, "-c", "from receiver.locks import CustomerLocks; "
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
