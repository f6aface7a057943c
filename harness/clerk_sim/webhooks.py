"""Clerk's own webhooks (``user.created``, ``user.updated``, ``user.deleted``), Svix style.

Clerk delivers through Svix, which follows the Standard Webhooks spec:

- headers ``svix-id`` (message id, stable across retries), ``svix-timestamp`` (Unix seconds
  of the attempt) and ``svix-signature: v1,<base64 HMAC-SHA256>``;
- signed content ``f"{svix_id}.{svix_timestamp}.{raw_body}"``, keyed with the base64-decoded
  part of the endpoint secret after ``whsec_``;
- body ``{"data": <object>, "object": "event", "type": ..., "timestamp": <ms>,
  "instance_id": ..., "event_attributes": {"http_request": {...}}}``.

Delivery runs on one background thread per simulator with ``httpx``; any non-2xx, timeout
or connection error is a failure, retried on ``retry_schedule`` (Svix's published schedule by
default; tests pass a short one). Each attempt is recorded in ``deliveries``.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .ids import new_id

# Svix: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SVIX_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
USER_AGENT = "Svix-Webhooks/1.0 (tiersync clerk simulator)"


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass
class WebhookEndpoint:
    id: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...] | None = None  # None: every event type
    disabled: bool = False

    def wants(self, event_type: str) -> bool:
        return not self.disabled and (self.events is None or event_type in self.events)

    def describe(self) -> dict[str, Any]:
        # The secret goes back to whoever registered the endpoint; logs never carry it.
        return {"id": self.id, "url": self.url, "events": list(self.events) if self.events else None,
                "disabled": self.disabled, "secret": self.secret}


@dataclass
class Delivery:
    endpoint_id: str
    msg_id: str
    event_type: str
    attempt: int
    time: float
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    endpoint: WebhookEndpoint = field(compare=False)
    msg_id: str = field(compare=False)
    event_type: str = field(compare=False)
    body: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookDispatcher:
    def __init__(
        self,
        *,
        instance_id: str,
        retry_schedule: tuple[float, ...] = SVIX_RETRY_SCHEDULE,
        timeout: float = 15.0,
    ) -> None:
        self.instance_id = instance_id
        self.retry_schedule = tuple(retry_schedule)
        self.timeout = timeout
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._in_flight = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.reset()

    def reset(self) -> None:
        with self._cond:
            self.endpoints: dict[str, WebhookEndpoint] = {}
            self.events: list[dict[str, Any]] = []
            self.deliveries: list[Delivery] = []
            self._queue.clear()

    # -- endpoints ----------------------------------------------------------------------------

    def add_endpoint(self, url: str, *, events: list[str] | None = None, secret: str | None = None) -> WebhookEndpoint:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook endpoint url must be http(s)")
        if secret is not None and not secret.startswith("whsec_"):
            raise ValueError("webhook secrets start with whsec_")
        endpoint = WebhookEndpoint(new_id("ep"), url, secret or new_webhook_secret(), tuple(events) if events else None)
        with self._cond:
            self.endpoints[endpoint.id] = endpoint
        return endpoint

    def remove_endpoint(self, endpoint_id: str) -> None:
        with self._cond:
            self.endpoints.pop(endpoint_id, None)
            # A deleted endpoint stops its pending retries.
            self._queue = [p for p in self._queue if p.endpoint.id != endpoint_id]
            heapq.heapify(self._queue)

    # -- emitting -----------------------------------------------------------------------------

    def emit(self, event_type: str, data: dict[str, Any], *, now_ms: int) -> dict[str, Any]:
        event = {
            "data": data,
            "event_attributes": {"http_request": {"client_ip": "127.0.0.1", "user_agent": "tiersync-clerk-sim"}},
            "instance_id": self.instance_id,
            "object": "event",
            "timestamp": now_ms,
            "type": event_type,
        }
        body = json.dumps(event, separators=(",", ":"))
        with self._cond:
            self.events.append(event)
            targets = [e for e in self.endpoints.values() if e.wants(event_type)]
            for endpoint in targets:
                heapq.heappush(
                    self._queue,
                    _Pending(time.monotonic(), next(self._seq), endpoint, new_id("msg"), event_type, body),
                )
            if targets:
                self._ensure_worker()
                self._cond.notify_all()
        return event

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued or in flight (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- worker -------------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="clerk-sim-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                with self._cond:
                    while not self._stopping and (not self._queue or self._queue[0].due > time.monotonic()):
                        wait = self._queue[0].due - time.monotonic() if self._queue else None
                        self._cond.wait(wait)
                    if self._stopping:
                        return
                    pending = heapq.heappop(self._queue)
                    self._in_flight += 1
                try:
                    self._attempt(client, pending)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _attempt(self, client: httpx.Client, pending: _Pending) -> None:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "svix-id": pending.msg_id,
            "svix-timestamp": str(timestamp),
            "svix-signature": sign(pending.endpoint.secret, pending.msg_id, timestamp, pending.body),
        }
        status, error = None, None
        try:
            response = client.post(pending.endpoint.url, content=pending.body.encode(), headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = Delivery(
            pending.endpoint.id, pending.msg_id, pending.event_type, pending.attempt, time.time(), status, error
        )
        with self._cond:
            self.deliveries.append(delivery)
            still_registered = pending.endpoint.id in self.endpoints
            if not delivery.ok and still_registered and pending.attempt <= len(self.retry_schedule):
                pending.due = time.monotonic() + self.retry_schedule[pending.attempt - 1]
                pending.attempt += 1
                pending.seq = next(self._seq)
                heapq.heappush(self._queue, pending)
