"""Signed Stripe events with expectations: ``tiersync_webhooks`` makes ``WebhookSender``s; each
``expect_event`` declares an event, the faults to sign it with and the answer expected."""

from __future__ import annotations

import secrets as _secrets
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest

from ..stripe_sim.routing import API_VERSION

# ---- signed events with expectations ------------------------------------------------------------------------
_ID_PREFIX = {"customer.subscription": ("sub", "subscription"), "checkout.session": ("cs_test", "checkout.session"),
              "customer": ("cus", "customer"), "invoice": ("in", "invoice"), "product": ("prod", "product"),
              "price": ("price", "price"), "payment_intent": ("pi", "payment_intent")}
DEFAULT_TOLERANCE = 300


def _default_object(event_type: str) -> dict:
    for prefix, (id_prefix, kind) in _ID_PREFIX.items():
        if event_type.startswith(prefix + "."):
            return {"id": f"{id_prefix}_{_secrets.token_hex(8)}", "object": kind}
    return {"id": f"obj_{_secrets.token_hex(8)}", "object": event_type.rsplit(".", 1)[0]}


@dataclass
class Sent:
    """One request the sender made and what came back (``status`` None: no answer, see ``error``)."""
    event_id: str
    event_type: str
    copy: int
    status: int | None
    body: str
    ms: float
    faults: list[str] = field(default_factory=list)
    error: str | None = None


class ExpectedEvent:
    """An event to send and the answer expected; every method returns self, to chain."""

    def __init__(self, sender: WebhookSender, index: int, event: dict):
        self.sender = sender
        self.index = index
        self.event = event
        self.faults: dict[str, Any] = {}
        self.copies = 1
        self.concurrent = False
        self.statuses: tuple[int, ...] | None = None
        self.status_class: int | None = None  # 2 for "any 2xx"
        self.body_contains: list[str] = []
        self.max_ms: float | None = None
        self.sent: list[Sent] = []

    # -- what to send --
    def with_fault(self, *, timestamp_offset: int | None = None, header: str | None = None,
                   body: str | None = None, secret: str | None = None) -> ExpectedEvent:
        """Break the request on purpose: ``timestamp_offset`` (seconds, e.g. -600), ``header`` ("missing",
        "malformed", "no_v1"), ``body`` ("reserialized", "crlf": changed after signing), ``secret`` (a
        ``whsec_`` to sign with instead, or "wrong" for a random one)."""
        from tiersync.signer import BODY_FAULTS, HEADER_FAULTS
        if header is not None and header not in HEADER_FAULTS:
            raise ValueError(f"header fault must be one of {', '.join(HEADER_FAULTS)}, not {header!r}")
        if body is not None and body not in BODY_FAULTS:
            raise ValueError(f"body fault must be one of {', '.join(BODY_FAULTS)}, not {body!r}")
        if secret == "wrong":
            secret = "whsec_" + _secrets.token_hex(16)
        for key, value in (("timestamp_offset", timestamp_offset), ("header", header), ("body", body),
                           ("secret", secret)):
            if value is not None:
                self.faults[key] = value
        return self

    def duplicate(self, copies: int = 2, *, concurrent: bool = False) -> ExpectedEvent:
        """Send the same signed request ``copies`` times (at once with ``concurrent``); each answer is checked."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.copies, self.concurrent = copies, concurrent
        return self

    # -- what to expect --
    def respond_with_status(self, status: int) -> ExpectedEvent:
        self.statuses, self.status_class = (int(status),), None
        return self

    def respond_with_status_in(self, *statuses: int) -> ExpectedEvent:
        self.statuses, self.status_class = tuple(int(s) for s in statuses), None
        return self

    def respond_with_2xx(self) -> ExpectedEvent:
        self.statuses, self.status_class = None, 2
        return self

    def respond_with_body_containing(self, text: str) -> ExpectedEvent:
        self.body_contains.append(text)
        return self

    def within_ms(self, ms: float) -> ExpectedEvent:
        self.max_ms = ms
        return self

    # -- checking --
    @property
    def broken(self) -> bool:
        """Faulted so that a correct receiver must refuse it: another secret, a header or body fault, or a
        timestamp older than the SDKs' default tolerance (300 s; newer ones and small skews are accepted)."""
        return any(k in self.faults for k in ("header", "body", "secret")) \
            or self.faults.get("timestamp_offset", 0) < -DEFAULT_TOLERANCE

    def describe(self) -> str:
        faults = ", ".join(f"{k}={v if k != 'secret' else 'other'}" for k, v in self.faults.items())
        dup = f" x{self.copies}{' concurrent' if self.concurrent else ''}" if self.copies > 1 else ""
        return (f"#{self.index} {self.event['type']} ({self.event['id']})" + (f" [fault: {faults}]" if faults else "")
                + dup)

    def expected_status(self) -> str:
        if self.statuses:
            return " or ".join(map(str, self.statuses))
        if self.status_class == 2 or (self.status_class is None and not self.broken):
            return "2xx"
        return "4xx"

    def mismatches(self) -> list[str]:
        out = []
        for s in self.sent:
            where = self.describe() + (f" copy {s.copy}/{self.copies}" if self.copies > 1 else "")
            if s.status is None:
                out.append(f"{where}: no answer ({s.error})")
                continue
            if self.statuses:
                ok = s.status in self.statuses
            elif self.status_class == 2 or (self.status_class is None and not self.broken):
                ok = 200 <= s.status < 300
            else:
                ok = 400 <= s.status < 500
            if not ok:
                out.append(f"{where}: expected status {self.expected_status()}, got {s.status} "
                           f"(body: {s.body[:200]!r})")
            for text in self.body_contains:
                if text not in s.body:
                    out.append(f"{where}: expected the body to contain {text!r}, got {s.body[:200]!r}")
            if self.max_ms is not None and s.ms > self.max_ms:
                out.append(f"{where}: answered in {s.ms:.0f} ms, expected at most {self.max_ms:g} ms")
        return out


def _plain(value):
    """JSON-ready: SDK objects (``StripeObject``) to dicts, ``Decimal`` to the strings Stripe sends."""
    from decimal import Decimal
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class WebhookSender:
    """Signed Stripe events to one webhook URL, with the answers expected (see the module doc)."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, test_mode: bool = True):
        if not url:
            raise ValueError("the sender needs the receiver's webhook url")
        if not secret:
            raise ValueError("the sender needs the webhook signing secret (whsec_...)")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.test_mode = test_mode
        self.expectations: list[ExpectedEvent] = []
        self._lock = threading.Lock()

    def expect_event(self, event_type: str, object: dict | None = None, *, id: str | None = None,  # noqa: A002
                     livemode: bool = False, previous_attributes: dict | None = None,
                     event: dict | None = None) -> ExpectedEvent:
        """Declare an event to send; returns its expectation (by default: a 2xx, or a 4xx when faulted)."""
        if event is None:
            event = {"id": id or f"evt_{_secrets.token_hex(12)}", "object": "event",
                     "api_version": API_VERSION, "created": int(time.time()),
                     "data": {"object": object if object is not None else _default_object(event_type)},
                     "livemode": livemode, "pending_webhooks": 1,
                     "request": {"id": None, "idempotency_key": None}, "type": event_type}
            if previous_attributes is not None:
                event["data"]["previous_attributes"] = previous_attributes
        else:
            event = {**event, "type": event.get("type", event_type)}
            event.setdefault("id", id or f"evt_{_secrets.token_hex(12)}")
        exp = ExpectedEvent(self, len(self.expectations) + 1, _plain(event))
        self.expectations.append(exp)
        return exp

    @property
    def results(self) -> list[Sent]:
        return [s for e in self.expectations for s in e.sent]

    @property
    def pending(self) -> list[ExpectedEvent]:
        return [e for e in self.expectations if not e.sent]

    def _post(self, client, exp: ExpectedEvent, copy: int, request) -> Sent:
        started = time.perf_counter()
        try:
            r = client.post(self.url, content=request.body, headers=request.headers)
            status, body, error = r.status_code, r.text, None
        except Exception as exc:  # the receiver is down or hung: an answer of its own kind
            status, body, error = None, "", f"{type(exc).__name__}: {exc}"
        return Sent(exp.event["id"], exp.event["type"], copy, status, body,
                    (time.perf_counter() - started) * 1000, list(request.faults), error)

    def send_all(self) -> list[Sent]:
        """Send every declared event not sent yet, in order; returns what was sent now."""
        import httpx

        from tiersync.signer import build_request
        sent_now: list[Sent] = []
        with self._lock, httpx.Client(timeout=self.timeout) as client:
            for exp in self.pending:
                f = exp.faults
                request = build_request(exp.event, self.secret, test_mode=self.test_mode and not
                                        exp.event.get("livemode"), secret_override=f.get("secret"),
                                        timestamp_offset=f.get("timestamp_offset", 0), header=f.get("header"),
                                        body=f.get("body"))
                if exp.concurrent and exp.copies > 1:
                    from concurrent.futures import ThreadPoolExecutor
                    with ThreadPoolExecutor(max_workers=exp.copies) as pool:
                        results = list(pool.map(lambda i, e=exp, r=request: self._post(client, e, i + 1, r),
                                                range(exp.copies)))
                else:
                    results = [self._post(client, exp, i + 1, request) for i in range(exp.copies)]
                exp.sent = results
                sent_now += results
        return sent_now

    def mismatches(self) -> list[str]:
        return [m for e in self.expectations for m in e.mismatches()]

    def check_assertions(self) -> None:
        """Send what is pending, then raise one AssertionError listing every mismatch."""
        self.send_all()
        problems = self.mismatches()
        if problems:
            raise AssertionError(f"{len(problems)} webhook expectation(s) not met (to {self.url}):\n"
                                 + "\n".join(f"  - {p}" for p in problems))

    def clear(self) -> None:
        """Forget every declared event and answer."""
        self.expectations.clear()

    def __repr__(self) -> str:
        return f"<tiersync webhook sender to {self.url}: {len(self.expectations)} events>"


@pytest.fixture
def tiersync_webhooks(request: pytest.FixtureRequest):
    """``tiersync_webhooks(url=None, secret=None, *, target=None, timeout=10)`` -> a ``WebhookSender``.
    Without url/secret it aims at ``target`` (anything with ``webhook_url`` and ``webhook_secret``, e.g. a
    ``Stack`` or the ``tiersync_target``), by default the ``tiersync_target`` fixture."""
    senders: list[WebhookSender] = []

    def make(url: str | None = None, secret: str | None = None, *, target=None, timeout: float = 10.0,
             test_mode: bool = True) -> WebhookSender:
        if url is None or secret is None:
            if target is None:
                target = request.getfixturevalue("tiersync_target")
            url = url or _webhook_url(target)
            secret = secret or _webhook_secret(target)
        sender = WebhookSender(url, secret, timeout=timeout, test_mode=test_mode)
        senders.append(sender)
        return sender

    yield make
    unsent = [e.describe() for s in senders for e in s.pending]
    if unsent:
        warnings.warn(pytest.PytestWarning(
            f"tiersync_webhooks: {len(unsent)} declared event(s) never sent (call send_all() or "
            f"check_assertions()): {', '.join(unsent[:5])}"), stacklevel=1)


def _webhook_url(target) -> str:
    url = getattr(target, "webhook_url", None)
    if url:
        return url
    server = getattr(target, "receiver_server", None)  # a tiersync.stack.Stack
    if server is not None:
        return f"{server.url}/webhook/stripe"
    raise ValueError(f"{target!r} has no webhook url; pass url=")


def _webhook_secret(target) -> str:
    secret = getattr(target, "webhook_secret", None)
    if secret:
        return secret
    world = getattr(target, "world", None)
    secret = getattr(world, "webhook_secret", None)
    if secret:
        return secret
    raise ValueError(f"{target!r} has no webhook secret; pass secret=")
