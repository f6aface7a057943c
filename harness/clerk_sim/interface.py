"""What the HTTP layer uses of a ``ClerkSim``: the type that routes, pages, control routes, the
middleware and the server are written against.

They take the simulator as an argument; naming ``sim.ClerkSim`` for its type would tie them back to
the module that builds them (``sim`` imports ``asgi``, which imports the routes), an import circle
even when only type checkers follow it. ``ClerkSim`` matches this protocol by its shape.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.types import ASGIApp

from .clock import Clock
from .faults import FaultPlan, FaultRule, RequestLog
from .models import ClerkBackend
from .webhooks import WebhookDispatcher, WebhookEndpoint


class SimInterface(Protocol):
    backend: ClerkBackend
    base_url: str
    secret_key: str
    secret_keys: frozenset[str]
    clock: Clock
    request_log: RequestLog
    faults: FaultPlan
    webhooks: WebhookDispatcher
    app: ASGIApp

    @property
    def outbox(self) -> list[Any]: ...

    def info(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def allow_origin(self, origin: str) -> None: ...

    def origin_allowed(self, origin: str) -> bool: ...

    def set_fault(
        self,
        endpoint: str,
        kind: str = "error",
        *,
        count: int | None = 1,
        rate: float | None = None,
        status: int = 500,
        retry_after: int = 1,
        delay: float = 30.0,
        seed: int | None = None,
    ) -> FaultRule: ...

    def clear_faults(self) -> None: ...

    def add_webhook_endpoint(
        self, url: str, *, events: list[str] | None = None, secret: str | None = None
    ) -> WebhookEndpoint: ...

    def set_session_claims(self, claims: dict[str, Any]) -> None: ...
