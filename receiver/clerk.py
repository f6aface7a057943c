"""Clerk through the official `clerk-backend-api` SDK: read and merge a user's public metadata, and
verify session tokens against the instance's JWKS."""

from __future__ import annotations

import httpx
from clerk_backend_api import Clerk, models
from clerk_backend_api import utils as _sdk_utils
from clerk_backend_api.security.types import TokenVerificationError, VerifyTokenOptions
from clerk_backend_api.security.verifytoken import verify_token
from clerk_backend_api.utils import RetryConfig
from clerk_backend_api.utils import queryparams as _sdk_queryparams
from clerk_backend_api.utils import serializers as _sdk_serializers
from clerk_backend_api.utils import url as _sdk_url

from .http import ClerkHTTPClient, CurlTransport
from .sync import SyncProblem, TransientError


def _build_sdk_reflection_once():
    """clerk-backend-api 7 (Speakeasy-generated) redoes its reflection on every call: a fresh pydantic model
    class (`create_model`) for every request body it sends and every response it reads (~2 ms of CPU each),
    and `typing.get_type_hints` of the request's parameter class (evaluating its annotations from source,
    twice per call). Both are pure functions of their arguments, so each result is built once and reused:
    the same SDK, the same requests and answers, about a third of the CPU. Anything unhashable is built
    as before. (Our receiver only reads the cached type hints; so does the SDK.)"""
    build = _sdk_serializers.create_model
    if getattr(build, "tiersync_memoized", False):
        return
    built: dict = {}

    def create_model_once(name, /, __config__=None, **fields):
        try:
            key = (name, tuple(fields.items()), tuple(sorted((__config__ or {}).items())))
            hash(key)
        except TypeError:
            return build(name, __config__=__config__, **fields)
        model = built.get(key)
        if model is None:
            model = built[key] = build(name, __config__=__config__, **fields)
        return model

    hints_of = _sdk_url.get_type_hints
    hints: dict = {}

    def type_hints_once(obj, *args, **kwargs):
        if args or kwargs or not isinstance(obj, type):
            return hints_of(obj, *args, **kwargs)
        found = hints.get(obj)
        if found is None:
            found = hints[obj] = hints_of(obj)
        return found

    create_model_once.tiersync_memoized = True
    _sdk_serializers.create_model = create_model_once
    _sdk_url.get_type_hints = _sdk_queryparams.get_type_hints = type_hints_once

    # `utils.X` and `models.X` are lazy module attributes: every access goes through the module's __getattr__
    # and importlib (about 20 per call). Keeping what was found as a plain attribute makes the next access a
    # dict lookup; a module's __getattr__ is only asked for names the module does not have.
    for module in (_sdk_utils, models):
        module.__getattr__ = _keep_found(module, module.__getattr__)


def _keep_found(module, find):
    def find_and_keep(name: str):
        value = find(name)
        setattr(module, name, value)
        return value
    return find_and_keep


_build_sdk_reflection_once()


class ClerkGateway:
    def __init__(self, secret_key: str, api_url: str, timeout: float = 10.0, authorized_parties=None,
                 connections: int = 8):
        self.secret_key = secret_key
        self.api_url = api_url.rstrip("/")
        # no SDK retries: its default backs off for up to an hour on 5xx, holding the webhook open past
        # Stripe's timeout; a prompt 5xx lets Stripe's own retry schedule do the retrying
        self.sdk = Clerk(bearer_auth=secret_key, server_url=f"{self.api_url}/v1", timeout_ms=int(timeout * 1000),
                         retry_config=RetryConfig("none", None, False),
                         client=ClerkHTTPClient(CurlTransport(timeout, maxsize=connections)))
        self.verify_options = VerifyTokenOptions(secret_key=secret_key, api_url=self.api_url,
                                                 authorized_parties=authorized_parties)
        self._load_sdk_parts()

    def _load_sdk_parts(self):
        """The SDK imports its `users` part and the models it reads and writes on first use: ~270 ms here,
        which the first webhook a worker handles would otherwise wait for (and with several workers, a
        delivery now and then). Loaded up front instead, without a request."""
        _ = self.sdk.users
        for name in ("User", "GetUserRequest", "UpdateUserMetadataRequest", "UpdateUserMetadataRequestBody",
                     "ClerkErrors"):
            getattr(models, name)

    def _call(self, fn, **kw):
        try:
            return fn(**kw)
        except models.ClerkBaseError as exc:
            status = exc.status_code
            if status == 404:
                raise SyncProblem("clerk_user_missing", f"Clerk has no user {kw.get('user_id')}",
                                  {"user": kw.get("user_id")}) from None
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
