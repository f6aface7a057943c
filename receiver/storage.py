"""The receiver's own state in SQLite: processed events (the unique constraint that makes dedupe safe under
concurrency), the customer -> user map, monthly usage counters and sync errors.

One connection, used by one thread at a time. Every call may wait for the database (another process
holding the file, a slow disk): the web handlers make these calls in worker threads, never on the event
loop, so a busy database holds up the deliveries that need it and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (customer_id TEXT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (user_id TEXT NOT NULL, period TEXT NOT NULL, count INTEGER NOT NULL,
                                  PRIMARY KEY (user_id, period));
CREATE TABLE IF NOT EXISTS sync_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, event_id TEXT, kind TEXT NOT NULL,
    message TEXT NOT NULL, detail TEXT
);
"""

# A claim still 'processing' after this long was abandoned: its process died mid-delivery (a deploy, the OOM
# killer). Stripe's retry of that event takes it over instead of being answered "duplicate" and lost. A live
# handler is done long before: each of its Stripe and Clerk calls times out after 10 s (request_timeout); and
# should a slow one be taken over, the sync is applied twice, which is harmless: each re-reads the current state.
CLAIM_LEASE_S = 120.0

# How long a call waits for another connection's lock on the file before giving up (sqlite3.OperationalError
# "database is locked"; the webhook then answers 503 and Stripe retries).
BUSY_TIMEOUT_S = 5.0


class Storage:
    def __init__(self, path: str = ":memory:"):
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        self._lock = threading.Lock()
        with self._lock:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            self._db.executescript(SCHEMA)

    def close(self):
        with self._lock:
            self._db.close()

    def _one(self, sql: str, *args):
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _run(self, sql: str, *args) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # ---- events -------------------------------------------------------------------------------------
    def claim_event(self, event_id: str, event_type: str) -> str:
        """'new' if this call claimed the event (or took over a claim abandoned past CLAIM_LEASE_S); else the
        state of the earlier claim ('processing'/'done')."""
        now = time.time()
        with self._lock:
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
        self._run("INSERT INTO customers VALUES (?, ?) ON CONFLICT(customer_id) DO UPDATE SET user_id = ?",
                  customer_id, user_id, user_id)

    def user_for_customer(self, customer_id: str) -> str | None:
        row = self._one("SELECT user_id FROM customers WHERE customer_id = ?", customer_id)
        return row[0] if row else None

    def customer_for_user(self, user_id: str) -> str | None:
        row = self._one("SELECT customer_id FROM customers WHERE user_id = ? ORDER BY rowid DESC", user_id)
        return row[0] if row else None

    # ---- usage --------------------------------------------------------------------------------------
    def usage(self, user_id: str, period: str) -> int:
        row = self._one("SELECT count FROM usage WHERE user_id = ? AND period = ?", user_id, period)
        return row[0] if row else 0

    def take_request(self, user_id: str, period: str, limit: int | None) -> tuple[bool, int]:
        """Count one request if under `limit` (None: unlimited), atomically. Returns (allowed, count)."""
        with self._lock:
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
