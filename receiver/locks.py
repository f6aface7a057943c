"""One lock per customer across every thread and every worker process of the receiver.

Two deliveries for the same customer handled at once must not let the one that read the older Stripe state
write to Clerk last. Threads of one process take a `threading.Lock`; worker processes sharing the SQLite
file (`RECEIVER_WORKERS` > 1) also take a POSIX record lock on one byte of a lock file beside the database,
which the kernel releases if a worker dies. Customers map onto a fixed number of slots (a hash), so memory
stays bounded and two customers rarely share a slot, which costs a short wait, never a wrong answer.

A second table of slots, `USERS`, serialises what is kept per user (the record of what was last written to
a user's Clerk metadata, and that write) when one user has several customers. It is always taken inside a
customer's lock, never the other way round, and its slots are apart from the customers': no cycle, so no
deadlock.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
import weakref

try:
    import fcntl
except ImportError:  # not POSIX: one process only (the settings refuse RECEIVER_WORKERS > 1 there)
    fcntl = None

SLOTS = 4096
CUSTOMERS, USERS = 0, 1  # the tables: file byte `table * slots + slot`


class CustomerLocks:
    def __init__(self, database: str, slots: int = SLOTS):
        self.slots = slots
        self._threads = [threading.Lock() for _ in range(2 * slots)]
        self._fd = None
        if database != ":memory:" and fcntl is not None:
            # a file of its own: SQLite takes POSIX locks on the database file, and closing any descriptor of
            # a file drops all of a process's record locks on it
            self._fd = os.open(f"{database}.locks", os.O_RDWR | os.O_CREAT, 0o600)
            self._closer = weakref.finalize(self, os.close, self._fd)  # a sync that is replaced lets it go

    def slot(self, key: str) -> int:
        # not hash(): it differs between processes (PYTHONHASHSEED), and every worker must pick the same slot
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % self.slots

    @contextlib.contextmanager
    def hold(self, key: str, table: int = CUSTOMERS):
        """The lock of `key` (a customer id, or a user id with table=USERS)."""
        slot = table * self.slots + self.slot(key)
        with self._threads[slot]:
            if self._fd is None:
                yield
                return
            self._lock_file_slot(slot)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)

    def _lock_file_slot(self, slot: int):
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, slot)  # waits without the GIL
                return
            except OSError as exc:
                # record locks belong to processes, so the kernel's deadlock check sees "worker A waits for B
                # while B waits for A" when two threads of each hold and want different slots: no thread is
                # stuck (a thread holds at most a customer's slot and then a user's, always in that order, and
                # will let go), so wait a moment and ask again
                if exc.errno != errno.EDEADLK:
                    raise
                time.sleep(0.002)

    def close(self):
        if self._fd is not None:
            self._closer()
            self._fd = None
