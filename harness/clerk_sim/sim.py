"""``ClerkSim``: one simulated Clerk instance, in-process or served over HTTP.

In-process (no sockets)::

    sim = ClerkSim()
    clerk = sim.sdk_client()                      # clerk_backend_api.Clerk bound to sim.app
    user = clerk.users.create(email_address=["a+clerk_test@example.com"], password="...")

Server mode (a uvicorn thread on 127.0.0.1, OS-picked port by default)::

    with ClerkSim().serve(port=0) as server:
        clerk = Clerk(bearer_auth=server.sim.secret_key, server_url=server.api_url)

Python helpers mirror the HTTP surface for test setup: ``create_user``, ``update_metadata``,
``create_session``, ``mint_token``, ``create_jwt_template``, ``set_session_claims``,
``set_fault``, ``add_webhook_endpoint``; ``request_log``, ``outbox``, ``webhooks`` and
``clock`` are there to assert on and to steer time.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import httpx

from . import tokens
from .asgi import build_app
from .clock import Clock
from .faults import FaultPlan, FaultRule, RequestLog
from .ids import new_id
from .inprocess import InProcessTransport
from .models import ClerkBackend
from .models.params import origin_of
from .server import DEFAULT_HOST, DEFAULT_PORT, ClerkSimServer
from .webhooks import SVIX_RETRY_SCHEDULE, WebhookDispatcher, WebhookEndpoint

if TYPE_CHECKING:
    from clerk_backend_api import Clerk


DEFAULT_SECRET_KEY = "sk_test_tiersync_clerk_sim"
IN_PROCESS_BASE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"

_shared_signing_key: tokens.SigningKey | None = None


def _default_signing_key() -> tokens.SigningKey:
    # RSA key generation costs ~50-100 ms; one key per process keeps test suites fast.
    # Pass signing_key=tokens.SigningKey() for an instance with its own key.
    global _shared_signing_key
    if _shared_signing_key is None:
        _shared_signing_key = tokens.SigningKey()
    return _shared_signing_key


class ClerkSim:
    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        extra_secret_keys: tuple[str, ...] = (),
        base_url: str = IN_PROCESS_BASE_URL,
        signing_key: tokens.SigningKey | None = None,
        session_token_lifetime: int = tokens.DEFAULT_LIFETIME_S,
        allowed_origins: tuple[str, ...] = (),
        webhook_retry_schedule: tuple[float, ...] = SVIX_RETRY_SCHEDULE,
        webhook_timeout: float = 15.0,
    ) -> None:
        if not secret_key.startswith("sk_"):
            raise ValueError("Clerk secret keys start with sk_test_ or sk_live_")
        self.secret_key = secret_key
        self.secret_keys = frozenset((secret_key, *extra_secret_keys))
        self.base_url = base_url.rstrip("/")
        self.instance_id = new_id("ins")
        self.clock = Clock()
        self.request_log = RequestLog()
        self.faults = FaultPlan()
        self._configured_origins = frozenset(o.rstrip("/") for o in allowed_origins)
        self._allowed_origins: set[str] = set(self._configured_origins)
        self.webhooks = WebhookDispatcher(
            instance_id=self.instance_id, retry_schedule=webhook_retry_schedule, timeout=webhook_timeout
        )
        self.backend = ClerkBackend(
            clock=self.clock,
            signing_key=signing_key or _default_signing_key(),
            issuer=lambda: self.base_url,
            on_event=lambda event_type, data: self.webhooks.emit(event_type, data, now_ms=self.clock.now_ms()),
            session_token_lifetime=session_token_lifetime,
        )
        self.app = build_app(self)
        self._transport = InProcessTransport(self.app)

    # -- identity and keys --------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Backend API base, as the Python SDK's ``server_url`` wants it (``.../v1``)."""
        return f"{self.base_url}/v1"

    @property
    def publishable_key(self) -> str:
        # Clerk: pk_test_ + base64(frontend API host + "$").
        host = self.base_url.split("://", 1)[-1]
        prefix = "pk_live_" if self.secret_key.startswith("sk_live_") else "pk_test_"
        return prefix + base64.b64encode(f"{host}$".encode()).decode()

    @property
    def jwt_public_key_pem(self) -> str:
        """The "JWKS Public Key" for networkless verification (``jwt_key`` / ``jwtKey``)."""
        return self.backend.signing_key.public_pem

    def jwks(self) -> dict[str, Any]:
        return self.backend.signing_key.jwks()

    def info(self) -> dict[str, Any]:
        """What a harness prints for apps under test (``tiersync serve --json``)."""
        return {
            "base_url": self.base_url,
            "api_url": self.api_url,
            "frontend_api_url": self.base_url,
            "secret_key": self.secret_key,
            "publishable_key": self.publishable_key,
            "jwks_url": f"{self.api_url}/jwks",
            "frontend_jwks_url": f"{self.base_url}/.well-known/jwks.json",
            "issuer": self.base_url,
            "sign_in_url": f"{self.base_url}/sign-in",
            "sign_up_url": f"{self.base_url}/sign-up",
            "clerk_js_url": f"{self.base_url}/clerk.js",
            "admin_url": f"{self.base_url}/_sim",
            "instance_id": self.instance_id,
            "session_token_lifetime": self.backend.session_token_lifetime,
        }

    # -- lifecycle ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget users, sessions, templates, faults, logs, webhooks; keep keys and config."""
        self.backend.reset()
        self.webhooks.reset()
        self.faults.clear()
        self.request_log.clear()
        self.clock.reset()
        self._allowed_origins = set(self._configured_origins)

    def close(self) -> None:
        self.webhooks.close()
        self._transport.shutdown()

    def serve(self, host: str = DEFAULT_HOST, port: int = 0) -> ClerkSimServer:
        return ClerkSimServer(self, host=host, port=port)

    # -- clients ------------------------------------------------------------------------------

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client wired to the app in-process (base URL = the simulator's)."""
        return httpx.Client(transport=self._transport, base_url=self.base_url, **kwargs)

    def sdk_client(self, *, secret_key: str | None = None, retry_config: Any = None) -> Clerk:
        """A ``clerk_backend_api.Clerk`` that talks to this simulator in-process."""
        from clerk_backend_api import Clerk

        kwargs: dict[str, Any] = {}
        if retry_config is not None:
            kwargs["retry_config"] = retry_config
        return Clerk(
            bearer_auth=secret_key or self.secret_key,
            server_url=self.api_url,
            client=httpx.Client(transport=self._transport, follow_redirects=True),
            **kwargs,
        )

    # -- CORS origins for the Frontend-API routes ----------------------------------------------

    def allow_origin(self, origin: str) -> None:
        self._allowed_origins.add(origin.rstrip("/"))

    def origin_allowed(self, origin: str) -> bool:
        return origin.rstrip("/") in self._allowed_origins

    # -- test helpers -------------------------------------------------------------------------

    def create_user(
        self,
        email: str | None = None,
        *,
        password: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        public_metadata: dict[str, Any] | None = None,
        private_metadata: dict[str, Any] | None = None,
        unsafe_metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "email_address": [email] if email else [],
            "password": password,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
        }
        for name, value in (
            ("public_metadata", public_metadata),
            ("private_metadata", private_metadata),
            ("unsafe_metadata", unsafe_metadata),
        ):
            if value is not None:
                body[name] = value
        return self.backend.create_user(body)

    def get_user(self, user_id: str) -> dict[str, Any]:
        return self.backend.get_user(user_id)

    def update_metadata(self, user_id: str, **fields: dict[str, Any] | None) -> dict[str, Any]:
        """Deep-merge like ``PATCH /v1/users/{id}/metadata`` (``public_metadata=...`` etc.)."""
        return self.backend.merge_metadata(user_id, fields)

    def delete_user(self, user_id: str) -> dict[str, Any]:
        return self.backend.delete_user(user_id)

    def create_session(self, user_id: str, *, origin: str | None = None) -> dict[str, Any]:
        return self.backend.create_session(user_id, origin=origin_of(origin) or origin)

    def session_refresh_token(self, session_id: str) -> str:
        return self.backend.session_refresh_token(session_id)

    def mint_token(
        self,
        session_id: str | None = None,
        *,
        user_id: str | None = None,
        template: str | None = None,
        expires_in: int | None = None,
        issued_ago: int = 0,
        origin: str | None = None,
    ) -> str:
        """A session (or template) token. ``user_id`` alone opens a new session first.

        ``issued_ago`` back-dates the token (``issued_ago=120`` gives a token that expired a
        minute ago for any verifier on the real clock).
        """
        if session_id is None:
            if user_id is None:
                raise ValueError("give session_id or user_id")
            session_id = self.create_session(user_id, origin=origin)["id"]
        return self.backend.mint_session_token(
            session_id,
            expires_in=expires_in,
            template_name=template,
            origin=origin_of(origin),
            backdate=int(issued_ago),
        )

    def verify_token(self, token: str) -> dict[str, Any]:
        """Verify like the SDKs do (raises ``tokens.TokenRejected`` with ``.reason``)."""
        return self.backend.verify_token(token)

    def create_jwt_template(
        self, name: str, claims: dict[str, Any], *, lifetime: int = tokens.DEFAULT_LIFETIME_S, **extra: Any
    ) -> dict[str, Any]:
        return self.backend.create_template({"name": name, "claims": claims, "lifetime": lifetime, **extra})

    def jwt_templates(self) -> list[dict[str, Any]]:
        return self.backend.list_templates()

    def put_jwt_template(self, name: str, claims: dict[str, Any], *, lifetime: int | None = None) -> dict[str, Any]:
        """The template `name` with these claims (and lifetime, else Clerk's default): made, or an existing
        one of that name put back to them (what seeding an app's templates needs, again after a scenario)."""
        body = {"name": name, "claims": claims, **({"lifetime": lifetime} if lifetime else {})}
        existing = next((t for t in self.backend.list_templates() if t["name"] == name), None)
        if existing is not None:
            return self.backend.update_template(existing["id"], body)
        return self.backend.create_template(body)

    def set_session_claims(self, claims: dict[str, Any]) -> None:
        """Customize the default session token, like Clerk's Dashboard > Sessions setting."""
        self.backend.set_session_claims(claims)

    @property
    def outbox(self) -> list[Any]:
        return list(self.backend.outbox)

    # -- faults and webhooks ------------------------------------------------------------------

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
    ) -> FaultRule:
        rule = FaultRule(
            endpoint=endpoint,
            kind=kind,
            count=count,
            rate=rate,
            status=status,
            retry_after=retry_after,
            delay=delay,
            seed=seed,
        )
        return self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    def add_webhook_endpoint(
        self, url: str, *, events: list[str] | None = None, secret: str | None = None
    ) -> WebhookEndpoint:
        return self.webhooks.add_endpoint(url, events=events, secret=secret)

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        return self.webhooks.wait_idle(timeout)
