"""Clerk-shaped API errors.

Clerk answers every failed Backend API call with
``{"errors": [{"message", "long_message", "code", "meta"?}], "clerk_trace_id": "..."}``.
Both official SDKs parse that shape: the Python SDK raises ``models.ClerkErrors`` for the
status codes each operation declares (400/401/404/422...), the Node SDK throws
``ClerkAPIResponseError`` with ``errors[i].code``. Codes and messages follow Clerk's public
error index where it lists them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


def new_trace_id() -> str:
    return secrets.token_hex(16)


@dataclass
class ClerkError:
    message: str
    long_message: str
    code: str
    meta: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "long_message": self.long_message, "code": self.code}
        if self.meta:
            body["meta"] = self.meta
        return body


@dataclass
class ClerkAPIError(Exception):
    """Raised by the simulator's operations; the HTTP layer turns it into a response."""

    status: int
    errors: list[ClerkError]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # readable in pytest output
        return f"{self.status} {self.errors[0].code}: {self.errors[0].long_message}"

    @property
    def code(self) -> str:
        return self.errors[0].code

    def body(self, trace_id: str | None = None) -> dict[str, Any]:
        return {"errors": [e.to_json() for e in self.errors], "clerk_trace_id": trace_id or new_trace_id()}


def _one(status: int, message: str, long_message: str, code: str, **meta: Any) -> ClerkAPIError:
    return ClerkAPIError(status, [ClerkError(message, long_message, code, meta or None)])


# -- authentication --------------------------------------------------------------------------


def missing_authentication() -> ClerkAPIError:
    return _one(
        401,
        "Invalid authentication",
        "Unable to authenticate the request, you need to supply an active API key",
        "authentication_invalid",
    )


def invalid_secret_key() -> ClerkAPIError:
    message = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."
    return _one(401, message, message, "clerk_key_invalid")


def invalid_session_credentials(reason: str) -> ClerkAPIError:
    return _one(401, "Invalid authentication", f"Unable to authenticate the session: {reason}", "authentication_invalid")


# -- lookups ---------------------------------------------------------------------------------


def resource_not_found(what: str = "Resource", ident: str | None = None) -> ClerkAPIError:
    long_message = f"No {what.lower()} was found with id {ident}" if ident else "Resource not found"
    return _one(404, "not found", long_message, "resource_not_found")


def route_not_found(path: str) -> ClerkAPIError:
    return _one(404, "not found", f"The requested resource {path} was not found", "resource_not_found")


def method_not_allowed(method: str, path: str) -> ClerkAPIError:
    return _one(405, "method not allowed", f"{method} is not allowed on {path}", "method_not_allowed")


# -- request bodies and parameters -----------------------------------------------------------


def malformed_request_body(detail: str) -> ClerkAPIError:
    return _one(400, "malformed request", f"The request body could not be parsed as JSON: {detail}", "malformed_request")


def body_too_deep(limit: int) -> ClerkAPIError:
    return _one(400, "malformed request", f"The request body nests deeper than {limit} levels.", "malformed_request")


def body_too_large(limit: int) -> ClerkAPIError:
    # Clerk's error index lists no code for an oversized body: a plain 413 in Clerk's shape.
    return _one(
        413, "request body too large", f"The request body is larger than {limit} bytes.", "request_body_too_large"
    )


def body_not_an_object() -> ClerkAPIError:
    return _one(400, "malformed request", "The request body must be a JSON object.", "malformed_request")


def param_missing(param: str) -> ClerkAPIError:
    return _one(422, "missing data", f"{param} must be included.", "form_param_missing", param_name=param)


def param_format_invalid(param: str, long_message: str | None = None) -> ClerkAPIError:
    return _one(
        422,
        "is invalid",
        long_message or f"{param} is invalid.",
        "form_param_format_invalid",
        param_name=param,
    )


def param_value_invalid(param: str, long_message: str) -> ClerkAPIError:
    return _one(422, "is invalid", long_message, "form_param_value_invalid", param_name=param)


def metadata_too_large(param: str, size: int, limit: int) -> ClerkAPIError:
    return _one(
        422,
        "metadata is too large",
        f"{param} exceeds the maximum allowed size of {limit // 1024}KB ({size} bytes given).",
        "form_param_exceeds_allowed_size",
        param_name=param,
    )


def identifier_exists(param: str, what: str = "email address") -> ClerkAPIError:
    return _one(
        422,
        f"That {what} is taken. Please try another.",
        f"That {what} is taken. Please try another.",
        "form_identifier_exists",
        param_name=param,
    )


def password_too_short(minimum: int) -> ClerkAPIError:
    message = f"Passwords must be {minimum} characters or more."
    return _one(422, message, message, "form_password_length_too_short", param_name="password")


def duplicate_record(what: str, value: str) -> ClerkAPIError:
    return _one(422, f"duplicate {what}", f"A {what} named {value!r} already exists.", "duplicate_record")


# -- sessions and sign-in --------------------------------------------------------------------


def session_not_active(session_id: str, status: str) -> ClerkAPIError:
    return _one(
        404,
        "not found",
        f"No active session was found with id {session_id} (status: {status})",
        "resource_not_found",
    )


def code_incorrect() -> ClerkAPIError:
    return _one(422, "Incorrect code", "Incorrect code", "form_code_incorrect", param_name="code")


def identifier_not_found() -> ClerkAPIError:
    return _one(422, "Couldn't find your account.", "Couldn't find your account.", "form_identifier_not_found")


def password_incorrect() -> ClerkAPIError:
    message = "Password is incorrect. Try again, or use another method."
    return _one(422, message, message, "form_password_incorrect", param_name="password")


# -- control routes (/_sim) ------------------------------------------------------------------


def foreign_origin(origin: str) -> ClerkAPIError:
    return _one(
        403,
        "forbidden origin",
        f"Control routes answer only the simulator's own pages and loopback origins, not {origin}.",
        "origin_invalid",
    )


def unsupported_media_type(content_type: str) -> ClerkAPIError:
    return _one(
        415,
        "unsupported media type",
        f"Control routes take JSON bodies sent as application/json, not {content_type or 'no content type'}.",
        "unsupported_media_type",
    )


# -- simulator failures ----------------------------------------------------------------------


def simulator_failure(what: str) -> ClerkAPIError:
    """An unexpected error inside the simulator (a bug of ours, not an injected fault)."""
    return _one(500, "internal error", f"The simulator failed on this request ({what}).", "internal_clerk_error")


# -- faults ----------------------------------------------------------------------------------


def injected_server_error(status: int) -> ClerkAPIError:
    return _one(status, "internal error", "Injected by the simulator's fault plan.", "internal_clerk_error")


def injected_rate_limit(retry_after: int) -> ClerkAPIError:
    err = _one(429, "Too Many Requests", "Too many requests, retry later", "too_many_requests")
    err.headers["Retry-After"] = str(retry_after)
    return err
