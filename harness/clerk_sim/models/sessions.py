"""Sessions and their tokens: ``/v1/sessions``, minting session and template JWTs, verifying and refreshing them.

JWT claims are seconds; API objects are milliseconds.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from .. import errors, tokens
from ..ids import new_id
from .entities import Session
from .params import MAX_LIST_LIMIT, int_param, origin_of
from .templates import TemplatesBackend, reject_reserved
from .users import UsersBackend

SESSION_LIFETIME_MS = 7 * 24 * 3600 * 1000  # Clerk's default maximum session lifetime
SESSION_INACTIVITY_MS = 30 * 24 * 3600 * 1000


class SessionsBackend(UsersBackend, TemplatesBackend):
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
            limit = int_param(query, "limit", 10, 1, MAX_LIST_LIMIT)
            offset = int_param(query, "offset", 0, 0, None)
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
        reject_reserved(claims)
        with self.lock:
            self.session_claims_template = dict(claims)
