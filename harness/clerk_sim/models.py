"""The simulator's state and operations: users, sessions, JWT templates, sign-up/sign-in.

Plain Python, no HTTP: the routes in ``routes.py`` and ``pages.py`` and the ``ClerkSim``
helpers all call these methods. Every method returns Clerk's API JSON shapes (dicts) or
raises ``errors.ClerkAPIError``. One re-entrant lock guards the state because the server
thread and the test thread both call in.

Timestamps in API objects are Unix milliseconds, as Clerk sends them; JWT claims are seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from . import errors, metadata, tokens
from .clock import Clock
from .ids import new_id

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
TEST_EMAIL_MARKER = "+clerk_test"
TEST_VERIFICATION_CODE = "424242"
SESSION_LIFETIME_MS = 7 * 24 * 3600 * 1000  # Clerk's default maximum session lifetime
SESSION_INACTIVITY_MS = 30 * 24 * 3600 * 1000
HANDOFF_CODE_TTL_S = 60
SIGN_UP_TTL_S = 600
MAX_LIST_LIMIT = 500
USER_ORDER_FIELDS = (
    "created_at",
    "updated_at",
    "email_address",
    "first_name",
    "last_name",
    "username",
    "last_sign_in_at",
    "last_active_at",
)

EventSink = Callable[[str, dict[str, Any]], None]


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10_000)
    return salt.hex() + ":" + digest.hex()


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    salt_hex, digest_hex = stored.split(":")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt_hex), 10_000)
    return hmac.compare_digest(digest.hex(), digest_hex)


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


# -- entities --------------------------------------------------------------------------------


@dataclass
class EmailAddress:
    id: str
    email_address: str
    strategy: str  # "admin" (Backend API) or "email_code" (hosted sign-up)
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        if self.strategy == "admin":
            verification = {
                "object": "verification_admin",
                "status": "verified",
                "strategy": "admin",
                "attempts": None,
                "expire_at": None,
            }
        else:
            verification = {
                "object": "verification_otp",
                "status": "verified",
                "strategy": "email_code",
                "attempts": 1,
                "expire_at": self.created_at + SIGN_UP_TTL_S * 1000,
            }
        return {
            "id": self.id,
            "object": "email_address",
            "email_address": self.email_address,
            "reserved": False,
            "verification": verification,
            "linked_to": [],
            "matches_sso_connection": False,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class User:
    id: str
    seq: int
    created_at: int
    updated_at: int
    email_addresses: list[EmailAddress] = field(default_factory=list)
    primary_email_address_id: str | None = None
    password_hash: str | None = None
    password_last_updated_at: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    external_id: str | None = None
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)
    unsafe_metadata: dict[str, Any] = field(default_factory=dict)
    last_sign_in_at: int | None = None
    last_active_at: int | None = None
    banned: bool = False
    locked: bool = False

    @property
    def primary_email(self) -> str | None:
        for email in self.email_addresses:
            if email.id == self.primary_email_address_id:
                return email.email_address
        return None

    def to_api(self) -> dict[str, Any]:
        image_url = "https://img.clerk.com/tiersync-sim-default-avatar"
        return {
            "id": self.id,
            "object": "user",
            "external_id": self.external_id,
            "primary_email_address_id": self.primary_email_address_id,
            "primary_phone_number_id": None,
            "primary_web3_wallet_id": None,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "locale": None,
            "profile_image_url": image_url,
            "image_url": image_url,
            "has_image": False,
            "public_metadata": dict(self.public_metadata),
            "private_metadata": dict(self.private_metadata),
            "unsafe_metadata": dict(self.unsafe_metadata),
            "email_addresses": [e.to_api() for e in self.email_addresses],
            "phone_numbers": [],
            "web3_wallets": [],
            "passkeys": [],
            "password_enabled": self.password_hash is not None,
            "password_last_updated_at": self.password_last_updated_at,
            "two_factor_enabled": False,
            "totp_enabled": False,
            "backup_code_enabled": False,
            "mfa_enabled_at": None,
            "mfa_disabled_at": None,
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [],
            "organization_memberships": [],
            "last_sign_in_at": self.last_sign_in_at,
            "banned": self.banned,
            "locked": self.locked,
            "lockout_expires_in_seconds": None,
            "verification_attempts_remaining": 100,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "delete_self_enabled": True,
            "create_organization_enabled": True,
            "create_organizations_limit": None,
            "last_active_at": self.last_active_at,
            "legal_accepted_at": None,
            "bypass_client_trust": False,
        }


@dataclass
class Session:
    id: str
    seq: int
    user_id: str
    client_id: str
    status: str
    created_at: int
    updated_at: int
    last_active_at: int
    expire_at: int
    abandon_at: int
    refresh_token: str
    origin: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "object": "session",
            "id": self.id,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "actor": None,
            "status": self.status,
            "last_active_organization_id": None,
            "last_active_at": self.last_active_at,
            "latest_activity": None,
            "expire_at": self.expire_at,
            "abandon_at": self.abandon_at,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "tasks": None,
        }


@dataclass
class JwtTemplate:
    id: str
    seq: int
    name: str
    claims: dict[str, Any]
    lifetime: int
    allowed_clock_skew: int
    custom_signing_key: bool
    signing_algorithm: str
    signing_key: str | None
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        # The signing key is a secret: Clerk never returns it, neither do we.
        return {
            "object": "jwt_template",
            "id": self.id,
            "name": self.name,
            "claims": self.claims,
            "lifetime": self.lifetime,
            "allowed_clock_skew": self.allowed_clock_skew,
            "custom_signing_key": self.custom_signing_key,
            "signing_algorithm": self.signing_algorithm,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class PendingSignUp:
    id: str
    email: str
    password_hash: str
    redirect_url: str | None
    code: str
    expires_at: float
    attempts: int = 0


@dataclass
class HandoffCode:
    """One-time code that carries a fresh sign-in from the hosted page to the app."""

    code: str
    session_id: str
    expires_at: float
    used: bool = False


@dataclass
class SentEmail:
    to: str
    subject: str
    code: str


# -- the backend -----------------------------------------------------------------------------


class ClerkBackend:
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

    # -- users --------------------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise errors.resource_not_found("user", user_id)
        return user

    def _email_taken(self, email: str, except_user: str | None = None) -> bool:
        wanted = email.lower()
        return any(
            e.email_address.lower() == wanted
            for u in self.users.values()
            if u.id != except_user
            for e in u.email_addresses
        )

    def get_user(self, user_id: str) -> dict[str, Any]:
        with self.lock:
            return self._user(user_id).to_api()

    def create_user(
        self, body: dict[str, Any], *, strategy: str = "admin", password_hash: str | None = None
    ) -> dict[str, Any]:
        """POST /v1/users. ``password_hash`` is for the hosted sign-up, never read from a body."""
        with self.lock:
            emails = _string_list(body, "email_address")
            for email in emails:
                if not EMAIL_RE.match(email):
                    raise errors.param_format_invalid("email_address", "email_address must be a valid email address.")
                if self._email_taken(email) or emails.count(email) > 1:
                    raise errors.identifier_exists("email_address")
            username = _optional_str(body, "username")
            if username and any(u.username == username for u in self.users.values()):
                raise errors.identifier_exists("username", "username")
            if not emails and not username:
                raise errors.param_missing("email_address")
            password = _optional_str(body, "password")
            if password is not None:
                if len(password) < MIN_PASSWORD_LENGTH and not body.get("skip_password_checks"):
                    raise errors.password_too_short(MIN_PASSWORD_LENGTH)
                password_hash = hash_password(password)
            now = self.clock.now_ms()
            user = User(
                id=new_id("user"),
                seq=next(self._seq),
                created_at=now,
                updated_at=now,
                password_hash=password_hash,
                password_last_updated_at=now if password_hash else None,
                first_name=_optional_str(body, "first_name"),
                last_name=_optional_str(body, "last_name"),
                username=username,
                external_id=_optional_str(body, "external_id"),
            )
            for name in metadata.METADATA_FIELDS:
                if name in body:
                    setattr(user, name, metadata.validate(name, body[name]))
            user.email_addresses = [EmailAddress(new_id("idn"), e, strategy, now, now) for e in emails]
            user.primary_email_address_id = user.email_addresses[0].id if emails else None
            self.users[user.id] = user
            data = user.to_api()
        self.on_event("user.created", data)
        return data

    def update_user(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self._user(user_id)
            changes: dict[str, Any] = {}
            for name in ("first_name", "last_name", "external_id", "username"):
                if name in body:
                    changes[name] = _optional_str(body, name)
            if changes.get("username") and any(
                u.username == changes["username"] for u in self.users.values() if u.id != user_id
            ):
                raise errors.identifier_exists("username", "username")
            if "primary_email_address_id" in body:
                wanted = body["primary_email_address_id"]
                if wanted not in {e.id for e in user.email_addresses}:
                    raise errors.param_value_invalid(
                        "primary_email_address_id", "primary_email_address_id must belong to the user."
                    )
                changes["primary_email_address_id"] = wanted
            password = _optional_str(body, "password")
            if password is not None:
                if len(password) < MIN_PASSWORD_LENGTH and not body.get("skip_password_checks"):
                    raise errors.password_too_short(MIN_PASSWORD_LENGTH)
            # PATCH /users/{id} replaces metadata fields wholesale (only the metadata route merges).
            for name in metadata.METADATA_FIELDS:
                if name in body:
                    changes[name] = metadata.validate(name, body[name])
            for name, value in changes.items():
                setattr(user, name, value)
            now = self.clock.now_ms()
            if password is not None:
                user.password_hash = hash_password(password)
                user.password_last_updated_at = now
            user.updated_at = now
            data = user.to_api()
        self.on_event("user.updated", data)
        return data

    def merge_metadata(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v1/users/{id}/metadata: deep merge, null deletes."""
        with self.lock:
            user = self._user(user_id)
            merged = {}
            for name in metadata.METADATA_FIELDS:
                if name not in body:
                    continue
                patch = body[name]
                if patch is None:
                    merged[name] = {}
                    continue
                if not isinstance(patch, dict):
                    raise errors.param_format_invalid(name, f"{name} must be a JSON object.")
                merged[name] = metadata.deep_merge(getattr(user, name), patch)
                metadata.check_size(name, merged[name])
            return self._store_metadata(user, merged)

    def replace_metadata(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT /v1/users/{id}/metadata: each given field is replaced in full, others kept."""
        with self.lock:
            user = self._user(user_id)
            replaced = {name: metadata.validate(name, body[name]) for name in metadata.METADATA_FIELDS if name in body}
            return self._store_metadata(user, replaced)

    def _store_metadata(self, user: User, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        for name, value in values.items():
            setattr(user, name, value)
        user.updated_at = self.clock.now_ms()
        data = user.to_api()
        self.on_event("user.updated", data)
        return data

    def delete_user(self, user_id: str) -> dict[str, Any]:
        with self.lock:
            self._user(user_id)
            del self.users[user_id]
            now = self.clock.now_ms()
            for session in self.sessions.values():
                if session.user_id == user_id and session.status == "active":
                    session.status, session.updated_at = "removed", now
        deleted = {"object": "user", "id": user_id, "deleted": True}
        self.on_event("user.deleted", dict(deleted))
        return deleted

    def list_users(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        with self.lock:
            users = [u for u in self.users.values() if _user_matches(u, query)]
            order = (query.get("order_by") or ["-created_at"])[0]
            users = _order_users(users, order)
            limit = _int_param(query, "limit", 10, 1, MAX_LIST_LIMIT)
            offset = _int_param(query, "offset", 0, 0, None)
            return [u.to_api() for u in users[offset : offset + limit]]

    def count_users(self, query: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            total = sum(1 for u in self.users.values() if _user_matches(u, query))
            return {"object": "total_count", "total_count": total}

    # -- sessions -----------------------------------------------------------------------------

    def _session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise errors.resource_not_found("session", session_id)
        now = self.clock.now_ms()
        if session.status == "active" and now >= session.expire_at:
            session.status, session.updated_at = "expired", now
        return session

    def _active_session(self, session_id: str) -> Session:
        session = self._session(session_id)
        if session.status != "active":
            raise errors.session_not_active(session_id, session.status)
        return session

    def create_session(
        self, user_id: str, *, origin: str | None = None, client_id: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            user = self._user(user_id)
            now = self.clock.now_ms()
            session = Session(
                id=new_id("sess"),
                seq=next(self._seq),
                user_id=user_id,
                client_id=client_id or new_id("client"),
                status="active",
                created_at=now,
                updated_at=now,
                last_active_at=now,
                expire_at=now + SESSION_LIFETIME_MS,
                abandon_at=now + SESSION_INACTIVITY_MS,
                refresh_token=secrets.token_urlsafe(24),
                origin=origin,
            )
            self.sessions[session.id] = session
            user.last_sign_in_at = user.last_active_at = now
            return session.to_api()

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return self._session(session_id).to_api()

    def list_sessions(self, query: dict[str, list[str]]) -> list[dict[str, Any]] | dict[str, Any]:
        with self.lock:
            user_id = (query.get("user_id") or [None])[0]
            client_id = (query.get("client_id") or [None])[0]
            status = (query.get("status") or [None])[0]
            for session_id in list(self.sessions):
                self._session(session_id)  # refresh lazily expired statuses
            found = [
                s
                for s in self.sessions.values()
                if (user_id is None or s.user_id == user_id)
                and (client_id is None or s.client_id == client_id)
                and (status is None or s.status == status)
            ]
            found.sort(key=lambda s: -s.seq)
            limit = _int_param(query, "limit", 10, 1, MAX_LIST_LIMIT)
            offset = _int_param(query, "offset", 0, 0, None)
            page = [s.to_api() for s in found[offset : offset + limit]]
            if (query.get("paginated") or ["false"])[0] == "true":
                return {"data": page, "total_count": len(found)}
            return page

    def revoke_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self._session(session_id)
            if session.status == "active":
                session.status, session.updated_at = "revoked", self.clock.now_ms()
            return session.to_api()

    def session_refresh_token(self, session_id: str) -> str:
        with self.lock:
            return self._session(session_id).refresh_token

    # -- tokens -------------------------------------------------------------------------------

    def mint_session_token(
        self,
        session_id: str,
        *,
        expires_in: int | None = None,
        template_name: str | None = None,
        origin: str | None = None,
        backdate: int = 0,
    ) -> str:
        """Sign a session token (or a template's token) with claims rendered now.

        ``backdate`` moves iat/nbf/exp into the past (tests: tokens already expired).
        """
        with self.lock:
            session = self._active_session(session_id)
            template = self._template_by_name(template_name) if template_name else None
            user = self._user(session.user_id)
            now = self.clock.now_s() - backdate
            session.last_active_at = user.last_active_at = self.clock.now_ms()
            context = tokens.shortcode_context(user.to_api(), session.to_api())
            custom_template = template.claims if template else self.session_claims_template
            custom = tokens.render_claims(custom_template, context) if custom_template else {}
            default_lifetime = template.lifetime if template else self.session_token_lifetime
            request = tokens.MintRequest(
                user_id=user.id,
                session_id=session.id,
                issuer=self._issuer(),
                issued_at=now,
                lifetime=int(expires_in) if expires_in else default_lifetime,
                azp=origin or session.origin,
                extra_claims=custom,
            )
            if template is None:
                return self.signing_key.sign(tokens.session_claims(request))
            claims = tokens.template_claims(request)
            if template.custom_signing_key and template.signing_key:
                return tokens.sign_with_template_key(claims, template.signing_algorithm, template.signing_key)
            return self.signing_key.sign(claims)

    def verify_token(self, token: str, *, verify_exp: bool = True) -> dict[str, Any]:
        return tokens.verify(token, self.signing_key, now=self.clock.now(), verify_exp=verify_exp)

    def refresh_session(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/sessions/{id}/refresh: a signed (possibly expired) token + refresh token."""
        for name in ("expired_token", "refresh_token", "request_origin"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise errors.param_missing(name)
        with self.lock:
            session = self._session(session_id)
            try:
                claims = self.verify_token(body["expired_token"], verify_exp=False)
            except tokens.TokenRejected as exc:
                raise errors.invalid_session_credentials(exc.message) from exc
            if claims.get("sid") != session_id:
                raise errors.invalid_session_credentials("expired_token belongs to another session")
            if not hmac.compare_digest(body["refresh_token"], session.refresh_token):
                raise errors.invalid_session_credentials("refresh_token does not match the session")
            if session.status != "active":
                raise errors.invalid_session_credentials(f"session is {session.status}")
            jwt = self.mint_session_token(session_id, origin=origin_of(body["request_origin"]))
        if body.get("format") == "cookie":
            return {"object": "cookies", "cookies": [f"__session={jwt}; Path=/; SameSite=Lax"]}
        return {"object": "token", "jwt": jwt}

    def set_session_claims(self, claims: dict[str, Any]) -> None:
        if not isinstance(claims, dict):
            raise errors.param_format_invalid("claims", "claims must be a JSON object.")
        _reject_reserved(claims)
        with self.lock:
            self.session_claims_template = dict(claims)

    # -- JWT templates ------------------------------------------------------------------------

    def _template(self, template_id: str) -> JwtTemplate:
        template = self.templates.get(template_id)
        if template is None:
            raise errors.resource_not_found("JWT template", template_id)
        return template

    def _template_by_name(self, name: str) -> JwtTemplate:
        for template in self.templates.values():
            if template.name == name:
                return template
        raise errors.resource_not_found("JWT template", name)

    def list_templates(self) -> list[dict[str, Any]]:
        with self.lock:
            return [t.to_api() for t in sorted(self.templates.values(), key=lambda t: t.seq)]

    def get_template(self, template_id: str) -> dict[str, Any]:
        with self.lock:
            return self._template(template_id).to_api()

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            fields = _template_fields(body)
            if any(t.name == fields["name"] for t in self.templates.values()):
                raise errors.duplicate_record("JWT template", fields["name"])
            now = self.clock.now_ms()
            template = JwtTemplate(
                id=new_id("jtmp"), seq=next(self._seq), created_at=now, updated_at=now, **fields
            )
            self.templates[template.id] = template
            return template.to_api()

    def update_template(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            template = self._template(template_id)
            fields = _template_fields(body)
            if any(t.name == fields["name"] and t.id != template_id for t in self.templates.values()):
                raise errors.duplicate_record("JWT template", fields["name"])
            for name, value in fields.items():
                setattr(template, name, value)
            template.updated_at = self.clock.now_ms()
            return template.to_api()

    def delete_template(self, template_id: str) -> dict[str, Any]:
        with self.lock:
            self._template(template_id)
            del self.templates[template_id]
            return {"object": "jwt_template", "id": template_id, "deleted": True}

    # -- hosted sign-up / sign-in -------------------------------------------------------------

    def start_sign_up(self, email: str, password: str, redirect_url: str | None) -> PendingSignUp:
        email = (email or "").strip()
        if not email:
            raise errors.param_missing("email_address")
        if not EMAIL_RE.match(email):
            raise errors.param_format_invalid("email_address", "Email address must be a valid email address.")
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise errors.password_too_short(MIN_PASSWORD_LENGTH)
        with self.lock:
            if self._email_taken(email):
                raise errors.identifier_exists("email_address")
            is_test_address = TEST_EMAIL_MARKER in email.split("@")[0]
            code = TEST_VERIFICATION_CODE if is_test_address else f"{secrets.randbelow(10**6):06d}"
            sign_up = PendingSignUp(
                id=new_id("sua"),
                email=email,
                password_hash=hash_password(password),
                redirect_url=redirect_url,
                code=code,
                expires_at=self.clock.now() + SIGN_UP_TTL_S,
            )
            self.sign_ups[sign_up.id] = sign_up
            if not is_test_address:  # Clerk sends no e-mail to +clerk_test addresses
                self.outbox.append(SentEmail(email, f"{code} is your verification code", code))
            return sign_up

    def pending_sign_up(self, sign_up_id: str) -> PendingSignUp:
        with self.lock:
            sign_up = self.sign_ups.get(sign_up_id)
            if sign_up is None or sign_up.expires_at < self.clock.now():
                raise errors.resource_not_found("sign up", sign_up_id)
            return sign_up

    def verify_sign_up(self, sign_up_id: str, code: str) -> dict[str, Any]:
        """Check the e-mail code; on success create the user (fires ``user.created``)."""
        with self.lock:
            sign_up = self.pending_sign_up(sign_up_id)
            sign_up.attempts += 1
            if not hmac.compare_digest((code or "").strip(), sign_up.code):
                raise errors.code_incorrect()
            del self.sign_ups[sign_up_id]
            email, password_hash = sign_up.email, sign_up.password_hash
        return self.create_user({"email_address": [email]}, strategy="email_code", password_hash=password_hash)

    def sign_in_with_password(self, identifier: str, password: str) -> dict[str, Any]:
        with self.lock:
            wanted = (identifier or "").strip().lower()
            user = next(
                (
                    u
                    for u in self.users.values()
                    if (u.username or "").lower() == wanted
                    or any(e.email_address.lower() == wanted for e in u.email_addresses)
                ),
                None,
            )
            if user is None or not wanted:
                raise errors.identifier_not_found()
            if not check_password(password or "", user.password_hash):
                raise errors.password_incorrect()
            return user.to_api()

    def create_handoff(self, session_id: str) -> str:
        with self.lock:
            self._active_session(session_id)
            code = secrets.token_urlsafe(24)
            self.handoffs[code] = HandoffCode(code, session_id, self.clock.now() + HANDOFF_CODE_TTL_S)
            return code

    def new_client_cookie(self, client_id: str) -> str:
        with self.lock:
            value = secrets.token_urlsafe(24)
            self.client_cookies[value] = client_id
            return value

    def client_for_cookie(self, value: str | None) -> str | None:
        with self.lock:
            return self.client_cookies.get(value or "")

    def authorize_client_session(
        self, session_id: str, *, bearer_token: str | None, client_cookie: str | None
    ) -> Session:
        """Frontend-API style access to a session: its (maybe expired) token or its __client cookie."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise errors.invalid_session_credentials(f"no session {session_id}")
            if bearer_token:
                try:
                    claims = self.verify_token(bearer_token, verify_exp=False)
                except tokens.TokenRejected as exc:
                    raise errors.invalid_session_credentials(exc.message) from exc
                if claims.get("sid") != session_id:
                    raise errors.invalid_session_credentials("the token belongs to another session")
            elif self.client_for_cookie(client_cookie) != session.client_id:
                raise errors.invalid_session_credentials("no session token and no __client cookie for this session")
            session = self._session(session_id)
            if session.status != "active":
                raise errors.invalid_session_credentials(f"session is {session.status}")
            return session

    def redeem_handoff(self, code: str) -> Session:
        with self.lock:
            handoff = self.handoffs.get(code or "")
            if handoff is None or handoff.used or handoff.expires_at < self.clock.now():
                raise errors.invalid_session_credentials("the sign-in code is unknown, expired or already used")
            handoff.used = True
            return self._active_session(handoff.session_id)


# -- helpers ---------------------------------------------------------------------------------


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.param_format_invalid(name, f"{name} must be a string.")
    return value


def _string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.param_format_invalid(name, f"{name} must be an array of strings.")
    return value


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    raw = (query.get(name) or [None])[0]
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise errors.param_format_invalid(name, f"{name} must be an integer.") from exc
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.param_value_invalid(name, f"{name} must be {bound}.")
    return value


def _lower_set(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def _user_matches(user: User, query: dict[str, list[str]]) -> bool:
    emails = _lower_set(e.email_address for e in user.email_addresses)
    if "email_address" in query and not emails & _lower_set(query["email_address"]):
        return False
    if "user_id" in query and user.id not in query["user_id"]:
        return False
    if "external_id" in query and user.external_id not in query["external_id"]:
        return False
    if "username" in query and user.username not in query["username"]:
        return False
    if "phone_number" in query:
        return False  # the simulator's users have no phone numbers
    texts = {
        "email_address_query": list(emails),
        "username_query": [user.username or ""],
        "name_query": [f"{user.first_name or ''} {user.last_name or ''}"],
        "query": [*emails, user.username or "", user.id, user.first_name or "", user.last_name or ""],
    }
    for param, haystacks in texts.items():
        needle = (query.get(param) or [None])[0]
        if needle and not any(needle.lower() in h.lower() for h in haystacks):
            return False
    if "banned" in query and str(user.banned).lower() != query["banned"][0].lower():
        return False
    for param, attr, before in (
        ("created_at_before", "created_at", True),
        ("created_at_after", "created_at", False),
        ("last_active_at_before", "last_active_at", True),
        ("last_active_at_after", "last_active_at", False),
        ("last_sign_in_at_before", "last_sign_in_at", True),
        ("last_sign_in_at_after", "last_sign_in_at", False),
    ):
        if param in query:
            bound = _int_param(query, param, 0, 0, None)
            value = getattr(user, attr)
            if value is None or (value >= bound if before else value <= bound):
                return False
    return True


def _order_users(users: list[User], order: str) -> list[User]:
    descending = order.startswith("-")
    name = order.lstrip("+-")
    if name not in USER_ORDER_FIELDS:
        raise errors.param_value_invalid("order_by", f"order_by must be one of {', '.join(USER_ORDER_FIELDS)}.")

    def key(user: User) -> tuple[Any, ...]:
        value = user.primary_email if name == "email_address" else getattr(user, name)
        # None sorts last ascending; seq keeps users created in the same millisecond stable.
        return (value is None, value if value is not None else 0, user.seq)

    ordered = sorted(users, key=key)
    return list(reversed(ordered)) if descending else ordered


def _reject_reserved(claims: dict[str, Any]) -> None:
    reserved = sorted(tokens.RESERVED_CLAIMS & set(claims))
    if reserved:
        raise errors.param_value_invalid(
            "claims", f"The following claims are reserved and cannot be set: {', '.join(reserved)}."
        )


def _template_fields(body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.param_missing("name")
    claims = body.get("claims")
    if claims is None:
        raise errors.param_missing("claims")
    if not isinstance(claims, dict):
        raise errors.param_format_invalid("claims", "claims must be a JSON object.")
    _reject_reserved(claims)
    lifetime = body.get("lifetime") if body.get("lifetime") is not None else tokens.DEFAULT_LIFETIME_S
    skew = body.get("allowed_clock_skew")
    skew = tokens.DEFAULT_CLOCK_SKEW_S if skew is None else skew
    for param, value, low, high in (("lifetime", lifetime, 30, 315_360_000), ("allowed_clock_skew", skew, 0, 300)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise errors.param_value_invalid(param, f"{param} must be an integer between {low} and {high}.")
    custom = bool(body.get("custom_signing_key"))
    algorithm = body.get("signing_algorithm") or ("HS256" if custom else "RS256")
    signing_key = body.get("signing_key")
    if custom:
        if algorithm not in tokens.HMAC_ALGORITHMS:
            raise errors.param_value_invalid(
                "signing_algorithm", f"The simulator signs custom-key templates with {', '.join(tokens.HMAC_ALGORITHMS)}."
            )
        if not isinstance(signing_key, str) or not signing_key:
            raise errors.param_missing("signing_key")
    elif algorithm != "RS256":
        raise errors.param_value_invalid("signing_algorithm", "Without a custom signing key, templates use RS256.")
    return {
        "name": name.strip(),
        "claims": claims,
        "lifetime": lifetime,
        "allowed_clock_skew": skew,
        "custom_signing_key": custom,
        "signing_algorithm": algorithm,
        "signing_key": signing_key if custom else None,
    }
