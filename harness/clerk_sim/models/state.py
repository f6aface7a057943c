"""The backend's state: every store, the one lock that guards them, and ``reset``.

The areas (users.py, templates.py, sessions.py, sign_in.py) add operations on this state; none
keeps state of its own, so ``reset`` here forgets everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import count
from typing import Any

from .. import tokens
from ..clock import Clock
from .entities import HandoffCode, JwtTemplate, PendingSignUp, SentEmail, Session, User

EventSink = Callable[[str, dict[str, Any]], None]


class BackendState:
    def __init__(
        self,
        *,
        clock: Clock,
        signing_key: tokens.SigningKey,
        issuer: Callable[[], str],
        on_event: EventSink | None = None,
        session_token_lifetime: int = tokens.DEFAULT_LIFETIME_S,
    ) -> None:
        self.clock = clock
        self.signing_key = signing_key
        self._issuer = issuer
        self.on_event: EventSink = on_event or (lambda _type, _data: None)
        self.session_token_lifetime = session_token_lifetime
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, User] = {}
            self.sessions: dict[str, Session] = {}
            self.templates: dict[str, JwtTemplate] = {}
            self.sign_ups: dict[str, PendingSignUp] = {}
            self.handoffs: dict[str, HandoffCode] = {}
            self.outbox: list[SentEmail] = []
            # __client cookie value -> client id, for the hosted pages' browser "client".
            self.client_cookies: dict[str, str] = {}
            # Instance-level "customize session token" claims (Dashboard > Sessions in Clerk).
            self.session_claims_template: dict[str, Any] = {}
            self._seq = count(1)
