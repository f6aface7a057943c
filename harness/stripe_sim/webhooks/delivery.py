"""Signed webhook delivery, the way Stripe does it, with faults on request.

`WebhookDeliverer(sim)` listens to the simulator's committed events. Each enabled endpoint of the event's
mode whose `enabled_events` match gets its own delivery, in an ordered queue per endpoint (with a
configurable number of attempts in flight), run by an asyncio loop in a background thread so the API
never waits for a receiver. Each attempt is signed afresh; 2xx is success, anything else (3xx, 4xx, 5xx,
timeouts, resets) is a failure retried on the mode's schedule, measured on the simulator's clock, so
`advance(3 * 86400)` runs three days of retries in milliseconds. Every attempt is in `log`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import threading
import time
from dataclasses import dataclass, field

import aiohttp

from ...signer import build_request, render_event
from ..resources.events import endpoint_matches, render
from ..versions import event_at
from .faults import Fault, FaultSet, zero_ids
from .schedule import DISABLE_AFTER, RETRY_SCHEDULES

RESPONSE_KEEP = 1000  # characters of a response body kept in the log
RESPONSE_READ_LIMIT = 64 * 1024  # bytes read from a response at most (a huge body must not stall us)
LOG_LIMIT = 200_000
KEEPALIVE_S = 4.0  # idle connections are dropped before a receiver's own keep-alive timeout (uvicorn: 5 s)
CLIENT_NAME = f"aiohttp {aiohttp.__version__}"
_seq = itertools.count()


@dataclass
class Job:
    event_id: str
    endpoint_id: str
    mode: str
    attempt: int = 1
    copy: int = 1
    faults: list[Fault] = field(default_factory=list)
    drop_left: int = 0
    created: float = field(default_factory=time.perf_counter)  # when the state change was committed
    body: bytes | None = None
    resend: bool = False


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it comes with uvicorn[standard]): the deliverer is mostly event-loop work
    (socket reads and writes, timers, task switches), which uvloop does in C."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class WebhookDeliverer:
    def __init__(self, sim, *, concurrency: int = 1, timeout: float = 10.0,
                 schedules: dict[str, list[int]] | None = None, disable_after: dict[str, int] | None = None,
                 window_timeout: float = 1.0):
        self.sim = sim
        self.concurrency = concurrency
        self.timeout = timeout
        self.schedules = dict(RETRY_SCHEDULES if schedules is None else schedules)
        self.disable_after = dict(DISABLE_AFTER if disable_after is None else disable_after)
        self.window_timeout = window_timeout
        self.faults = FaultSet()
        self.log: list[dict] = []
        self.sessions: dict[str, dict] = {}  # `tiersync listen` forwarding targets, by id
        self._cond = threading.Condition()
        self._busy = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._queues: dict[str, asyncio.Queue] = {}
        self._timers: list[tuple[float, int, Job]] = []
        self._held: list[tuple[Fault, Job]] = []
        self._windows: dict[str, list[Job]] = {}
        self._failing_since: dict[str, float] = {}
        self._client: aiohttp.ClientSession | None = None
        self._wake: asyncio.Event | None = None
        sim.listeners.append(self._on_event)
        sim.endpoint_listeners.append(self._on_endpoint_change)
        sim.deliverer = self

    # ---- thread and loop -----------------------------------------------------------------------------
    def _ensure_started(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tiersync-webhooks", daemon=True)
            self._thread.start()
            self._started.wait(10)

    def _run(self):
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._wake = asyncio.Event()
        # aiohttp, not httpx: per request it costs ~0.3 ms of CPU here against httpx's 1.7-5 ms (anyio + h11
        # layers, and httpcore retrying a failed `import sniffio` on every request), which capped delivery
        # near 150/s. Timeouts as httpx's were: connect and each read, not the whole exchange.
        self._client = loop.run_until_complete(self._new_client())
        loop.create_task(self._timer_task())
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _new_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=200, limit_per_host=0, keepalive_timeout=KEEPALIVE_S)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_connect=self.timeout,
                                        sock_read=self.timeout)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("Accept-Encoding",))

    def close(self):
        """Stop the delivery thread (pending deliveries are dropped); it restarts on the next event."""
        if self._loop is None:
            return

        async def shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._client.close()
            asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(timeout=5)
        self._loop = self._thread = None
        self._started.clear()
        self._queues.clear()
        self._timers.clear()
        with self._cond:
            self._busy = 0
            self._cond.notify_all()

    def _call(self, fn, *args):
        self._ensure_started()
        self._loop.call_soon_threadsafe(fn, *args)

    def _run_sync(self, coro, timeout: float = 30):
        self._ensure_started()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _add_busy(self, n: int):
        with self._cond:
            self._busy += n
            if self._busy <= 0:
                self._busy = 0
                self._cond.notify_all()

    # ---- public API -----------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or in flight (scheduled retries in the future don't count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def advance(self, seconds: float, idle_timeout: float = 30.0):
        """Move the simulator's clock forward, running every retry due on the way, in order."""
        target = self.sim.clock.time() + seconds
        self.wait_idle(idle_timeout)
        for _ in range(100_000):
            due = self._timers[0][0] if self._timers else None
            if due is None or due > target:
                break
            self.sim.clock.advance(max(0.0, due - self.sim.clock.time()))
            self._run_sync(self._admit_due())
            self.wait_idle(idle_timeout)
        self.sim.clock.advance(max(0.0, target - self.sim.clock.time()))

    def reset(self):
        with self._cond:
            self.log.clear()
            self.faults.clear()
            self.sessions.clear()
            self._failing_since.clear()
        if self._loop is not None:
            self._run_sync(self._clear_pending())

    def drop_pending(self):
        """Forget faults and every delivery not yet made (scheduled retries, held or delayed events), keep
        the log: what one scenario left behind must not reach the next one's receiver."""
        self.wait_idle(10)
        with self._cond:
            self.faults.clear()
            self._failing_since.clear()
        if self._loop is not None:
            self._run_sync(self._clear_pending())

    def resend(self, mode: str, event_id: str, endpoint_id: str) -> Job:
        """`stripe events resend evt --webhook-endpoint=we`: one more delivery, without faults."""
        job = Job(event_id, endpoint_id, mode, resend=True)
        with self.sim._lock:
            state = self.sim.deliveries.setdefault(event_id, {"pending": set(), "failed": set()})
            state["pending"].add(endpoint_id)
        self._add_busy(1)
        self._call(self._enqueue, job)
        return job

    def add_session(self, mode: str, url: str, events: list[str] | None = None) -> dict:
        """A `stripe listen --forward-to URL` style target: not an endpoint, its own `whsec_` secret."""
        session_id = self.sim.store.ids.new("cli_session", 12)
        secret = self.sim.store.ids.secret("whsec", 32)
        session = {"id": session_id, "mode": mode, "url": url, "enabled_events": events or ["*"],
                   "status": "enabled", "secret": secret}
        self.sessions[session_id] = session
        self.sim.webhook_secrets[session_id] = [{"secret": secret, "expires_at": None}]
        return session

    def remove_session(self, session_id: str):
        self.sessions.pop(session_id, None)
        self.sim.webhook_secrets.pop(session_id, None)

    def attempts(self, *, event: str | None = None, endpoint: str | None = None) -> list[dict]:
        return [a for a in list(self.log) if (event is None or a["event"] == event)
                and (endpoint is None or a["endpoint"] == endpoint)]

    # ---- admission ----------------------------------------------------------------------------------------
    def _targets(self, mode: str, event_type: str) -> list[dict]:
        ns = self.sim.store.ns(mode)
        found = [e for e in ns.table("webhook_endpoint").rows.values() if endpoint_matches(e, event_type)]
        found += [s for s in self.sessions.values() if s["mode"] == mode and endpoint_matches(s, event_type)]
        return found

    def _on_event(self, mode: str, event: dict):
        """Called by the simulator (its lock held) for every committed event."""
        targets = self._targets(mode, event["type"])
        if not targets:
            return
        state = self.sim.deliveries.setdefault(event["id"], {"pending": set(), "failed": set()})
        jobs = []
        for endpoint in targets:
            state["pending"].add(endpoint["id"])
            faults = self.faults.for_delivery(endpoint["id"], event)
            dup = next((f for f in faults if f.kind == "duplicate"), None)
            drop = next((f for f in faults if f.kind == "drop"), None)
            for copy in range(1, (dup.copies if dup else 1) + 1):
                jobs.append(Job(event["id"], endpoint["id"], mode, copy=copy, faults=faults,
                                drop_left=drop.attempts if drop else 0))
        self._add_busy(len(jobs))
        self._call(self._admit_many, jobs)

    def _admit_many(self, jobs: list[Job]):
        for job in jobs:
            self._admit(job)

    def _admit(self, job: Job):
        kinds = {f.kind: f for f in job.faults}
        if job.attempt == 1 and not job.resend:
            if "delay" in kinds and kinds["delay"].seconds > 0:
                self._schedule(job, self.sim.clock.time() + kinds["delay"].seconds)
                return
            if "hold" in kinds and job.copy == 1:
                self._held.append((kinds["hold"], job))
                self._add_busy(-1)
                return
            for kind in ("reverse", "shuffle"):
                if kind in kinds:
                    self._collect(kinds[kind], job)
                    return
            if "duplicate" in kinds and kinds["duplicate"].concurrent:
                self._loop.create_task(self._attempt(job))
                return
        self._enqueue(job)

    def _enqueue(self, job: Job):
        queue = self._queues.get(job.endpoint_id)
        if queue is None:
            queue = self._queues[job.endpoint_id] = asyncio.Queue()
            for _ in range(self.concurrency):
                self._loop.create_task(self._worker(queue))
        queue.put_nowait(job)

    def _collect(self, fault: Fault, job: Job):
        window = self._windows.setdefault(fault.id, [])
        window.append(job)
        if len(window) == 1:
            self._loop.call_later(self.window_timeout, self._release_window, fault)
        if len(window) >= fault.window:
            self._release_window(fault)

    def _release_window(self, fault: Fault):
        jobs = self._windows.pop(fault.id, [])
        if fault.kind == "reverse":
            jobs.reverse()
        else:
            random.Random(fault.seed).shuffle(jobs)
        for job in jobs:
            self._enqueue(job)

    def _release_held(self, endpoint_id: str, event_type: str):
        import fnmatch
        keep = []
        for fault, job in self._held:
            if job.endpoint_id == endpoint_id and fnmatch.fnmatchcase(event_type, fault.until):
                self._add_busy(1)
                self._enqueue(job)
            else:
                keep.append((fault, job))
        self._held = keep

    # ---- timers (retries and delays) ------------------------------------------------------------------------
    def _schedule(self, job: Job, due: float):
        heapq.heappush(self._timers, (due, next(_seq), job))
        self._add_busy(-1)
        self._wake.set()

    async def _admit_due(self):
        now = self.sim.clock.time()
        while self._timers and self._timers[0][0] <= now:
            _, _, job = heapq.heappop(self._timers)
            self._add_busy(1)
            self._enqueue(job)

    async def _timer_task(self):
        while True:
            await self._admit_due()
            self._wake.clear()
            wait = min(1.0, self._timers[0][0] - self.sim.clock.time()) if self._timers else 1.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.001))
            except TimeoutError:
                pass

    async def _clear_pending(self):
        self._timers.clear()
        self._held.clear()
        self._windows.clear()
        drained = 0
        for queue in self._queues.values():
            while not queue.empty():
                queue.get_nowait()
                drained += 1
        self._add_busy(-drained)

    # ---- attempts ----------------------------------------------------------------------------------------------
    async def _worker(self, queue: asyncio.Queue):
        while True:
            job = await queue.get()
            try:
                await self._attempt(job)
            except Exception as exc:  # a bug must never stop the worker: log it as a failed attempt
                self._record(job, None, {}, outcome="error", error=f"internal: {exc!r}")
                self._add_busy(-1)

    def _endpoint(self, job: Job) -> dict | None:
        if job.endpoint_id in self.sessions:
            return self.sessions[job.endpoint_id]
        return self.sim.store.find(job.mode, "webhook_endpoint", job.endpoint_id)

    def _secrets(self, endpoint_id: str) -> list[str]:
        now = self.sim.clock.time()
        return [s["secret"] for s in self.sim.webhook_secrets.get(endpoint_id, [])
                if s["expires_at"] is None or s["expires_at"] > now]

    def _wrong_secret(self, job: Job, endpoint: dict, which: str) -> str:
        if which == "other_mode":
            other = "live" if job.mode == "test" else "test"
            for e in self.sim.store.ns(other).table("webhook_endpoint").rows.values():
                if e["url"] == endpoint["url"] and self._secrets(e["id"]):
                    return self._secrets(e["id"])[0]
            return "whsec_" + f"{other}mode{endpoint['id']}"[-32:]
        if which == "stale":
            expired = [s["secret"] for s in self.sim.webhook_secrets.get(job.endpoint_id, [])
                       if s["expires_at"] is not None and s["expires_at"] <= self.sim.clock.time()]
            return expired[0] if expired else "whsec_" + f"rolledaway{endpoint['id']}"[-32:]
        return which

    async def _attempt(self, job: Job):
        endpoint = self._endpoint(job)
        if endpoint is None or endpoint.get("status") != "enabled":
            self._finish(job, delivered=False, final=True)
            self._record(job, endpoint, {}, outcome="canceled",
                         error="endpoint deleted" if endpoint is None else "endpoint disabled")
            return
        kinds = {f.kind: f for f in job.faults} if not job.resend else {}
        if job.body is None:
            event = render(self.sim.store.find(job.mode, "event", job.event_id))
            # the payload in the shapes of the endpoint's pinned version (CONTRACTS section 2)
            event = event_at(event, endpoint.get("api_version"),
                             lambda kind, obj_id: self.sim.store.find(job.mode, kind, obj_id))
            if "zero_ids" in kinds:
                event = zero_ids(event)
            job.body = render_event(event)
        sign_kw = {}
        if "sign" in kinds:
            sign_kw["secret_override"] = self._wrong_secret(job, endpoint, kinds["sign"].secret)
        if "timestamp" in kinds:
            sign_kw["timestamp_offset"] = kinds["timestamp"].offset
        if "header" in kinds:
            sign_kw["header"] = kinds["header"].value
        if "body" in kinds:
            sign_kw["body"] = kinds["body"].value
        request = build_request(job.body, self._secrets(job.endpoint_id), timestamp=int(time.time()),
                                test_mode=job.mode == "test", **sign_kw)
        applied = [f.describe() for f in job.faults if f.kind not in ("drop",)] if not job.resend else ["resend"]
        if job.drop_left > 0:
            job.drop_left -= 1
            self._record(job, endpoint, request.headers, outcome="dropped", faults=applied + ["drop"],
                         error="attempt dropped before reaching the receiver")
            self._after_failure(job)
            return
        started = time.perf_counter()
        status, text, error = None, "", None
        try:
            async with self._client.post(endpoint["url"], data=request.body, headers=request.headers,
                                         allow_redirects=False) as resp:
                status = resp.status
                chunks, size = [], 0
                while size < RESPONSE_READ_LIMIT:  # leaving with a body unread closes the connection
                    chunk = await resp.content.readany()
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                text = b"".join(chunks)[:RESPONSE_KEEP * 4].decode("utf-8", "replace")[:RESPONSE_KEEP]
        except TimeoutError:  # aiohttp.ServerTimeoutError and ConnectionTimeoutError are ones
            error = f"timed out after {self.timeout:g}s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = (time.perf_counter() - started) * 1000
        ok = status is not None and 200 <= status < 300
        outcome = "delivered" if ok else ("timeout" if error and "timed out" in error else
                                           "error" if error else "failed")
        self._record(job, endpoint, request.headers, outcome=outcome, status=status, body=text, error=error,
                     latency_ms=latency, faults=applied)
        if ok:
            self._failing_since.pop(job.endpoint_id, None)
            event = self.sim.store.find(job.mode, "event", job.event_id)
            if event is not None:  # before finishing, so the deliverer never looks idle in between
                self._release_held(job.endpoint_id, event["type"])
            self._finish(job, delivered=True, final=True)
        else:
            self._after_failure(job)

    def _after_failure(self, job: Job):
        now = self.sim.clock.time()
        since = self._failing_since.setdefault(job.endpoint_id, now)
        limit = self.disable_after.get(job.mode)
        if limit is not None and now - since >= limit and job.endpoint_id not in self.sessions:
            self._disable(job)
            self._finish(job, delivered=False, final=True)
            return
        schedule = self.schedules.get(job.mode, [])
        if job.resend or job.attempt > len(schedule):
            self._finish(job, delivered=False, final=True)
            return
        delay = schedule[job.attempt - 1]
        job.attempt += 1
        self._schedule(job, now + delay)

    def _disable(self, job: Job):
        with self.sim._lock:
            endpoint = self.sim.store.find(job.mode, "webhook_endpoint", job.endpoint_id)
            if endpoint is not None:
                endpoint["status"] = "disabled"

    def _finish(self, job: Job, delivered: bool, final: bool):
        with self.sim._lock:
            state = self.sim.deliveries.get(job.event_id)
            if state is not None and job.copy == 1 and job.endpoint_id in state["pending"]:
                state["pending"].discard(job.endpoint_id)
                if delivered:
                    state["failed"].discard(job.endpoint_id)
                else:
                    state["failed"].add(job.endpoint_id)
                event = self.sim.store.find(job.mode, "event", job.event_id)
                if event is not None and event["pending_webhooks"] > 0 and job.endpoint_id not in self.sessions:
                    event["pending_webhooks"] -= 1
        self._add_busy(-1)

    def _record(self, job: Job, endpoint, headers: dict, *, outcome: str, status: int | None = None,
                body: str = "", error: str | None = None, latency_ms: float | None = None,
                faults: list[str] | None = None):
        event = self.sim.store.find(job.mode, "event", job.event_id) or {}
        entry = {
            "id": f"att_{next(_seq)}", "at": self.sim.clock.time(), "mode": job.mode, "endpoint": job.endpoint_id,
            "url": (endpoint or {}).get("url"), "event": job.event_id, "type": event.get("type"),
            "attempt": job.attempt, "copy": job.copy, "outcome": outcome, "status": status,
            "latency_ms": round(latency_ms, 3) if latency_ms is not None else None,
            "lag_ms": round((time.perf_counter() - job.created) * 1000, 3),
            "response_body": body, "error": error, "signature": headers.get("Stripe-Signature"),
            "faults": faults or [],
        }
        self.log.append(entry)
        if len(self.log) > LOG_LIMIT:
            del self.log[: LOG_LIMIT // 10]

    def _on_endpoint_change(self, mode: str, endpoint: dict):
        """A disabled or deleted endpoint stops its pending retries."""
        if endpoint.get("deleted") or endpoint.get("status") != "enabled":
            if self._loop is not None:
                self._call(self._drop_timers_for, endpoint["id"])

    def _drop_timers_for(self, endpoint_id: str):
        keep = [t for t in self._timers if t[2].endpoint_id != endpoint_id]
        dropped = [t[2] for t in self._timers if t[2].endpoint_id == endpoint_id]
        self._timers = keep
        heapq.heapify(self._timers)
        for job in dropped:
            self._add_busy(1)
            self._finish(job, delivered=False, final=True)
            self._record(job, None, {}, outcome="canceled", error="endpoint disabled or deleted")
