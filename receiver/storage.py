"""The receiver's own state in SQLite (WAL): processed events (the unique constraint that makes dedupe
safe under concurrency), the customer -> user map, what was last written to each user's Clerk metadata,
monthly usage counters and sync errors."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import weakref

try:
    import fcntl
except ImportError:  # not POSIX: one process only (RECEIVER_WORKERS needs POSIX), nothing to queue with
    fcntl = None

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (customer_id TEXT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS written_metadata (user_id TEXT PRIMARY KEY, metadata TEXT NOT NULL,
                                             confirmed_at REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS usage (user_id TEXT NOT NULL, period TEXT NOT NULL, count INTEGER NOT NULL,
                                  PRIMARY KEY (user_id, period));
CREATE TABLE IF NOT EXISTS sync_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, event_id TEXT, kind TEXT NOT NULL,
    message TEXT NOT NULL, detail TEXT
);
"""


CHECKPOINT_EVERY_S = 1.0
# A claim still 'processing' after this long was abandoned: its process died mid-delivery (a deploy, the OOM
# killer). Stripe's retry of that event takes it over instead of being answered "duplicate" and lost. A live
# handler is done long before: each of its Stripe and Clerk calls times out after 10 s (request_timeout); and
# should a slow one be taken over, the sync is applied twice, which is harmless: each re-reads the current state.
CLAIM_LEASE_S = 120.0


def _checkpoints(path: str, stop: threading.Event):
    """Copy the WAL into the database file now and then, on a connection of its own. SQLite would otherwise
    do it inside whichever commit crosses 1,000 pages, with two fsyncs (~10 ms each on this machine's disk,
    more on a busy one) under the locks that every delivery of the process waits for. PASSIVE: never waits
    for, nor holds up, readers and writers; what it cannot copy yet is copied next time."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        while not stop.wait(CHECKPOINT_EVERY_S):
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # e.g. the file was removed and remade: the next round uses what is there
                continue
    finally:
        db.close()


class Storage:
    def __init__(self, path: str = ":memory:"):
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._writers = None
        if path != ":memory:" and fcntl is not None:
            # Worker processes sharing the file queue for SQLite's write lock here. SQLite's own wait for a busy
            # file polls, sleeping 1, 2, 5, 10, 25... ms between tries: with 2 workers and 16 deliveries in flight
            # (bench/receiver.py (b)) writes waited 2-18 ms that way, where a queue waits about as long as the
            # write ahead takes. flock: a lock of this open file, which the kernel hands to the next waiter as
            # soon as it is let go (and with no POSIX lock deadlock check).
            self._writers = os.open(f"{path}.writer", os.O_RDWR | os.O_CREAT, 0o600)
            self._closer = weakref.finalize(self, os.close, self._writers)
        with self._writing():
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit, only per checkpoint
                self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints: _checkpoints, off the request path
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(written_metadata)")}
            if "confirmed_at" not in columns:  # a file from before the column: its records count as old ones
                self._db.execute("ALTER TABLE written_metadata ADD COLUMN confirmed_at REAL NOT NULL DEFAULT 0")
        self._stop_checkpoints = None
        if path != ":memory:":
            stop = self._stop_checkpoints = threading.Event()
            threading.Thread(target=_checkpoints, args=(path, stop), name="sqlite-checkpoints", daemon=True).start()
            weakref.finalize(self, stop.set)  # a Storage dropped without close() ends its thread too

    @contextlib.contextmanager
    def _writing(self):
        """This process's one connection (a thread at a time), and the file's write lock among processes."""
        with self._lock:
            if self._writers is None:
                yield
                return
            fcntl.flock(self._writers, fcntl.LOCK_EX)  # waits without the GIL
            try:
                yield
            finally:
                fcntl.flock(self._writers, fcntl.LOCK_UN)

    def close(self):
        if self._stop_checkpoints is not None:
            self._stop_checkpoints.set()
        self._db.close()
        if self._writers is not None:
            self._closer()
            self._writers = None

    def _one(self, sql: str, *args):
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _run(self, sql: str, *args) -> int:
        with self._writing():
            return self._db.execute(sql, args).rowcount

    # ---- events -------------------------------------------------------------------------------------
    def claim_event(self, event_id: str, event_type: str) -> str:
        """'new' if this call claimed the event (or took over a claim abandoned past CLAIM_LEASE_S); else the
        state of the earlier claim ('processing'/'done')."""
        now = time.time()
        with self._writing():
            try:
                self._db.execute("INSERT INTO processed_events VALUES (?, ?, 'processing', ?)",
                                 (event_id, event_type, now))
                return "new"
            except sqlite3.IntegrityError:
                taken = self._db.execute("UPDATE processed_events SET received_at = ? WHERE event_id = ? AND "
                                         "state = 'processing' AND received_at < ?",
                                         (now, event_id, now - CLAIM_LEASE_S)).rowcount
                if taken:
                    return "new"
                row = self._db.execute("SELECT state FROM processed_events WHERE event_id = ?",
                                       (event_id,)).fetchone()
                return row[0] if row else "new"

    def finish_event(self, event_id: str):
        self._run("UPDATE processed_events SET state = 'done' WHERE event_id = ?", event_id)

    def release_event(self, event_id: str):
        """Processing failed: forget the claim so Stripe's retry is processed afresh."""
        self._run("DELETE FROM processed_events WHERE event_id = ? AND state = 'processing'", event_id)

    def event_state(self, event_id: str) -> str | None:
        row = self._one("SELECT state FROM processed_events WHERE event_id = ?", event_id)
        return row[0] if row else None

    def processed_count(self) -> int:
        return self._one("SELECT COUNT(*) FROM processed_events WHERE state = 'done'")[0]

    # ---- customers ----------------------------------------------------------------------------------
    def link_customer(self, customer_id: str, user_id: str):
        # read first: almost every event finds the link it would write, and a read takes no write lock (which
        # worker processes sharing the file would otherwise queue for)
        if self.user_for_customer(customer_id) == user_id:
            return
        self._run("INSERT INTO customers VALUES (?, ?) ON CONFLICT(customer_id) DO UPDATE SET user_id = ?",
                  customer_id, user_id, user_id)

    def user_for_customer(self, customer_id: str) -> str | None:
        row = self._one("SELECT user_id FROM customers WHERE customer_id = ?", customer_id)
        return row[0] if row else None

    def customer_for_user(self, user_id: str) -> str | None:
        row = self._one("SELECT customer_id FROM customers WHERE user_id = ? ORDER BY rowid DESC", user_id)
        return row[0] if row else None

    # ---- what the receiver last wrote to Clerk ---------------------------------------------------------
    def written_metadata(self, user_id: str) -> tuple[dict, float] | None:
        """(the metadata last written to this user, when Clerk was last known to say so: written then, or read
        and found so; a Unix time), or None."""
        row = self._one("SELECT metadata, confirmed_at FROM written_metadata WHERE user_id = ?", user_id)
        return (json.loads(row[0]), row[1]) if row else None

    def record_written_metadata(self, user_id: str, values: dict, at: float | None = None):
        self._run("INSERT INTO written_metadata VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
                  "metadata = excluded.metadata, confirmed_at = excluded.confirmed_at",
                  user_id, json.dumps(values, sort_keys=True), time.time() if at is None else at)

    # ---- usage --------------------------------------------------------------------------------------
    def usage(self, user_id: str, period: str) -> int:
        row = self._one("SELECT count FROM usage WHERE user_id = ? AND period = ?", user_id, period)
        return row[0] if row else 0

    def take_request(self, user_id: str, period: str, limit: int | None) -> tuple[bool, int]:
        """Count one request if under `limit` (None: unlimited), atomically. Returns (allowed, count)."""
        with self._writing():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT count FROM usage WHERE user_id = ? AND period = ?",
                                       (user_id, period)).fetchone()
                count = row[0] if row else 0
                if limit is not None and count >= limit:
                    self._db.execute("COMMIT")
                    return False, count
                self._db.execute("INSERT INTO usage VALUES (?, ?, 1) ON CONFLICT(user_id, period) "
                                 "DO UPDATE SET count = count + 1", (user_id, period))
                self._db.execute("COMMIT")
                return True, count + 1
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ---- sync errors --------------------------------------------------------------------------------
    def record_sync_error(self, kind: str, message: str, event_id: str | None = None, detail: dict | None = None):
        self._run("INSERT INTO sync_errors (at, event_id, kind, message, detail) VALUES (?, ?, ?, ?, ?)",
                  time.time(), event_id, kind, message, json.dumps(detail or {}))

    def sync_errors(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT id, at, event_id, kind, message, detail FROM sync_errors "
                                    "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "at": r[1], "event_id": r[2], "kind": r[3], "message": r[4],
                 "detail": json.loads(r[5])} for r in rows]
