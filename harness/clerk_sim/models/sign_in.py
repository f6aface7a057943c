"""The hosted pages' side of the backend: sign-up with an e-mail code, sign-in with a password, the
one-time handoff code that carries a session to the app, and the browser's ``__client`` cookie."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from .. import errors, tokens
from ..ids import new_id
from .entities import SIGN_UP_TTL_S, HandoffCode, PendingSignUp, SentEmail, Session
from .passwords import check_password, hash_password
from .sessions import SessionsBackend
from .users import EMAIL_RE, MIN_PASSWORD_LENGTH

TEST_EMAIL_MARKER = "+clerk_test"
TEST_VERIFICATION_CODE = "424242"
HANDOFF_CODE_TTL_S = 60


class SignInBackend(SessionsBackend):
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
