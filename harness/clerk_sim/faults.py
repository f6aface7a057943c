"""Fault injection and the request log.

A fault rule targets an endpoint and fails either the next ``count`` matching calls or a
``rate`` share of them (seeded, so runs repeat). Kinds:

- ``"error"``: a Clerk-shaped 5xx (``status``, default 500);
- ``"rate_limit"``: 429 with ``Retry-After: <retry_after>``;
- ``"timeout"``: the response is held for ``delay`` seconds (server mode), so the client's
  own timeout fires; in-process the transport raises ``httpx.ReadTimeout`` at once;
- ``"drop"``: the connection closes mid-response (server mode: the client sees
  ``httpx.RemoteProtocolError``; in-process the transport raises it).

Endpoint patterns: ``"[METHOD ]PATH"``; ``{name}`` matches one path segment, ``*`` anything.
E.g. ``"PATCH /v1/users/{user_id}/metadata"``, ``"/v1/jwks"``, ``"GET /v1/users*"``.

Every call to the simulator (except its ``/_sim`` control routes) lands in the request log
with the fault it got, if any. Secrets are redacted before they are stored.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("error", "rate_limit", "timeout", "drop")
REDACTED = "[redacted]"
# Body and query keys whose values are secrets or bearer credentials.
SECRET_KEYS = frozenset(
    {"password", "signing_key", "refresh_token", "expired_token", "code", "jwt", "token", "secret", "__clerk_code"}
)


def compile_endpoint(pattern: str) -> tuple[str | None, re.Pattern[str]]:
    method, _, path = pattern.strip().rpartition(" ")
    regex = ""
    for piece in re.split(r"(\{[^/{}]+\}|\*)", path):
        if piece == "*":
            regex += ".*"
        elif piece.startswith("{") and piece.endswith("}"):
            regex += "[^/]+"
        else:
            regex += re.escape(piece)
    return (method.upper() or None), re.compile(f"^{regex}$")


@dataclass
class FaultRule:
    endpoint: str
    kind: str = "error"
    count: int | None = 1
    rate: float | None = None
    status: int = 500
    retry_after: int = 1
    delay: float = 30.0
    seed: int | None = None
    id: int = 0
    injected: int = 0

    def __post_init__(self) -> None:
        self._check_types()
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.rate is not None:
            if not 0.0 <= self.rate <= 1.0:
                raise ValueError("rate must be between 0 and 1")
            self.count = None
        elif self.count is None or self.count < 1:
            raise ValueError("give count >= 1 or a rate")
        if self.kind == "error" and not 500 <= self.status <= 599:
            raise ValueError("error faults use a 5xx status")
        if not 0 <= self.retry_after <= 86400:
            raise ValueError("retry_after must be between 0 and 86400 seconds")
        if not (math.isfinite(self.delay) and 0 <= self.delay <= 3600):
            raise ValueError("delay must be between 0 and 3600 seconds")
        self._method, self._path = compile_endpoint(self.endpoint)
        self._random = random.Random(self.seed)

    def _check_types(self) -> None:
        """Rules also arrive as JSON over ``/_sim/faults``: a wrong type is a ValueError naming the field."""
        def number(value: Any, *, whole: bool) -> bool:
            kinds = int if whole else int | float
            return isinstance(value, kinds) and not isinstance(value, bool)

        for name, ok in (("endpoint", isinstance(self.endpoint, str) and self.endpoint.strip()),
                         ("kind", isinstance(self.kind, str)),
                         ("count", self.count is None or number(self.count, whole=True)),
                         ("rate", self.rate is None or number(self.rate, whole=False)),
                         ("status", number(self.status, whole=True)),
                         ("retry_after", number(self.retry_after, whole=True)),
                         ("delay", number(self.delay, whole=False)),
                         ("seed", self.seed is None or number(self.seed, whole=True))):
            if not ok:
                raise ValueError(f"fault {name} has the wrong type or is empty: {getattr(self, name)!r}")

    def matches(self, method: str, path: str) -> bool:
        return (self._method is None or self._method == method.upper()) and bool(self._path.match(path))

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count

    def fire(self) -> bool:
        """Decide for one matching call; counts the injection."""
        if self.exhausted:
            return False
        if self.rate is not None and self._random.random() >= self.rate:
            return False
        self.injected += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "kind": self.kind,
            "count": self.count,
            "rate": self.rate,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "injected": self.injected,
        }


class FaultPlan:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule that fires for this call, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and rule.fire():
                    return rule
        return None


# -- request log -----------------------------------------------------------------------------


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    clean = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            scheme, _, credential = value.partition(" ")
            # Keep the key's type prefix (sk_test_) so tests can tell keys apart, never the key.
            prefix = credential[:8] if credential.startswith(("sk_", "pk_")) else ""
            clean[lowered] = f"{scheme} {prefix}{REDACTED}".strip()
        elif lowered in ("cookie", "set-cookie"):
            clean[lowered] = REDACTED
        else:
            clean[lowered] = value
    return clean


def redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_KEYS else redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


@dataclass
class RequestRecord:
    seq: int
    time: float
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None
    fault: str | None = None
    error_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Thread-safe, append-only list of calls; tests filter it with ``find``."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, **fields: Any) -> RequestRecord:
        with self._lock:
            self._seq += 1
            record = RequestRecord(seq=self._seq, **fields)
            self._records.append(record)
            return record

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def entries(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def find(
        self,
        endpoint: str | None = None,
        *,
        status: int | None = None,
        fault: str | None = None,
    ) -> list[RequestRecord]:
        """Records matching an endpoint pattern (same syntax as fault rules) and filters."""
        method, path = compile_endpoint(endpoint) if endpoint else (None, None)
        return [
            r
            for r in self.entries
            if (method is None or r.method == method)
            and (path is None or path.match(r.path))
            and (status is None or r.status == status)
            and (fault is None or r.fault == fault)
        ]
