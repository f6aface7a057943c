"""Clerk through the official `clerk-backend-api` SDK, configured as its documentation shows: read and merge
a user's public metadata, and verify session tokens against the instance's JWKS."""

from __future__ import annotations

import httpx
from clerk_backend_api import Clerk, models
from clerk_backend_api.security.types import TokenVerificationError, VerifyTokenOptions
from clerk_backend_api.security.verifytoken import verify_token
from clerk_backend_api.utils import RetryConfig

from .sync import SyncProblem, TransientError


class ClerkGateway:
    def __init__(self, secret_key: str, api_url: str, timeout: float = 10.0, authorized_parties=None):
        self.api_url = api_url.rstrip("/")
        # no SDK retries: its default backs off for up to an hour on 5xx, holding the webhook open past
        # Stripe's timeout; a prompt 5xx lets Stripe's own retry schedule do the retrying
        self.sdk = Clerk(bearer_auth=secret_key, server_url=f"{self.api_url}/v1", timeout_ms=int(timeout * 1000),
                         retry_config=RetryConfig("none", None, False))
        self.verify_options = VerifyTokenOptions(secret_key=secret_key, api_url=self.api_url,
                                                 authorized_parties=authorized_parties)

    def _call(self, fn, **kw):
        try:
            return fn(**kw)
        except models.ClerkBaseError as exc:
            status = exc.status_code
            if status == 404:
                raise SyncProblem("clerk_user_missing", f"Clerk has no user {kw.get('user_id')}",
                                  {"user": kw.get("user_id")}) from None
            if status in (401, 403):  # the receiver's key, not the event: retried until the key is fixed
                raise TransientError(f"Clerk refused the secret key ({status})") from None
            if 400 <= status < 500 and status not in (408, 429):
                raise SyncProblem("clerk_refused", f"Clerk refused the call ({status}): {exc.message[:200]}") from None
            raise TransientError(f"Clerk failed ({status})") from None
        except (models.NoResponseError, httpx.HTTPError) as exc:
            raise TransientError(f"Clerk unreachable: {type(exc).__name__}") from None

    def user(self, user_id: str):
        return self._call(self.sdk.users.get, user_id=user_id)

    def public_metadata(self, user_id: str) -> dict:
        return dict(self.user(user_id).public_metadata or {})

    def merge_public_metadata(self, user_id: str, values: dict):
        """PATCH .../metadata: Clerk deep-merges, so other keys of public_metadata survive."""
        return self._call(self.sdk.users.update_metadata, user_id=user_id, public_metadata=values)

    def verify(self, token: str) -> dict:
        """The token's claims, or TokenVerificationError with Clerk's reason."""
        return verify_token(token, self.verify_options)


__all__ = ["ClerkGateway", "TokenVerificationError"]
