"""Backend API routes (``/v1/...``): a thin HTTP layer over ``models.ClerkBackend``.

Authentication (``Authorization: Bearer sk_...``), fault injection and the request log are
applied around these routes by ``asgi.SimMiddleware``; handlers only parse input, call the
backend and serialise. Errors raised as ``ClerkAPIError`` become Clerk-shaped responses.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors
from .interface import SimInterface

log = logging.getLogger("tiersync.clerk_sim")
Handler = Callable[[Request], Awaitable[Response]]


def error_response(exc: errors.ClerkAPIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def clerk_endpoint(fn: Handler) -> Handler:
    """Turn ClerkAPIError into Clerk's error shape, and anything unexpected into a Clerk 500."""

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except errors.ClerkAPIError as exc:
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - a simulator bug must not become a traceback page
            log.exception("clerk simulator: unexpected error in %s %s", request.method, request.url.path)
            return error_response(errors.simulator_failure(type(exc).__name__))

    return wrapper


# Deeper bodies are refused before anything walks them (deep merge, redaction, size checks recurse).
MAX_JSON_DEPTH = 64


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (a scalar is 0, ``{}`` is 1)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e309: out of a double's range, as Clerk's parser says too
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """Parsed JSON, or a Clerk-shaped 400 (malformed, invalid UTF-8, NaN, Infinity, a number out of a double's
    range, or nested deeper than MAX_JSON_DEPTH)."""
    try:
        value = json.loads(raw, parse_constant=_not_json, parse_float=_finite_float)
    except RecursionError as exc:
        raise errors.body_too_deep(MAX_JSON_DEPTH) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.malformed_request_body(str(exc)) from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise errors.body_too_deep(MAX_JSON_DEPTH)
    return value


async def json_body(request: Request, *, required: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise errors.body_not_an_object()
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise errors.body_not_an_object()
    return body


def query_lists(request: Request) -> dict[str, list[str]]:
    """Query params as lists; accepts both ``a=1&a=2`` and ``a[]=1`` spellings."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.removesuffix("[]"), []).append(value)
    return params


def _expires_in(body: dict[str, Any]) -> int | None:
    value = body.get("expires_in_seconds")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 30 <= value <= 315_360_000:
        raise errors.param_value_invalid("expires_in_seconds", "expires_in_seconds must be an integer >= 30.")
    return value


def backend_routes(sim: SimInterface) -> list[Route]:
    backend = sim.backend

    def ok(data: Any) -> JSONResponse:
        return JSONResponse(data)

    @clerk_endpoint
    async def list_users(request: Request) -> Response:
        return ok(backend.list_users(query_lists(request)))

    @clerk_endpoint
    async def count_users(request: Request) -> Response:
        return ok(backend.count_users(query_lists(request)))

    @clerk_endpoint
    async def create_user(request: Request) -> Response:
        return ok(backend.create_user(await json_body(request, required=True)))

    @clerk_endpoint
    async def get_user(request: Request) -> Response:
        return ok(backend.get_user(request.path_params["user_id"]))

    @clerk_endpoint
    async def update_user(request: Request) -> Response:
        return ok(backend.update_user(request.path_params["user_id"], await json_body(request)))

    @clerk_endpoint
    async def delete_user(request: Request) -> Response:
        return ok(backend.delete_user(request.path_params["user_id"]))

    @clerk_endpoint
    async def merge_metadata(request: Request) -> Response:
        return ok(backend.merge_metadata(request.path_params["user_id"], await json_body(request)))

    @clerk_endpoint
    async def replace_metadata(request: Request) -> Response:
        return ok(backend.replace_metadata(request.path_params["user_id"], await json_body(request)))

    @clerk_endpoint
    async def list_sessions(request: Request) -> Response:
        return ok(backend.list_sessions(query_lists(request)))

    @clerk_endpoint
    async def create_session(request: Request) -> Response:
        body = await json_body(request, required=True)
        user_id = body.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise errors.param_missing("user_id")
        return ok(backend.create_session(user_id))

    @clerk_endpoint
    async def get_session(request: Request) -> Response:
        return ok(backend.get_session(request.path_params["session_id"]))

    @clerk_endpoint
    async def revoke_session(request: Request) -> Response:
        return ok(backend.revoke_session(request.path_params["session_id"]))

    @clerk_endpoint
    async def refresh_session(request: Request) -> Response:
        return ok(backend.refresh_session(request.path_params["session_id"], await json_body(request)))

    @clerk_endpoint
    async def create_session_token(request: Request) -> Response:
        body = await json_body(request)
        jwt = backend.mint_session_token(
            request.path_params["session_id"],
            expires_in=_expires_in(body),
            template_name=request.path_params.get("template_name"),
        )
        return ok({"object": "token", "jwt": jwt})

    @clerk_endpoint
    async def list_templates(request: Request) -> Response:
        return ok(backend.list_templates())

    @clerk_endpoint
    async def create_template(request: Request) -> Response:
        return ok(backend.create_template(await json_body(request, required=True)))

    @clerk_endpoint
    async def get_template(request: Request) -> Response:
        return ok(backend.get_template(request.path_params["template_id"]))

    @clerk_endpoint
    async def update_template(request: Request) -> Response:
        return ok(backend.update_template(request.path_params["template_id"], await json_body(request, required=True)))

    @clerk_endpoint
    async def delete_template(request: Request) -> Response:
        return ok(backend.delete_template(request.path_params["template_id"]))

    @clerk_endpoint
    async def jwks(request: Request) -> Response:
        return ok(backend.signing_key.jwks())

    return [
        Route("/v1/users", list_users, methods=["GET"]),
        Route("/v1/users", create_user, methods=["POST"]),
        Route("/v1/users/count", count_users, methods=["GET"]),
        Route("/v1/users/{user_id}", get_user, methods=["GET"]),
        Route("/v1/users/{user_id}", update_user, methods=["PATCH"]),
        Route("/v1/users/{user_id}", delete_user, methods=["DELETE"]),
        Route("/v1/users/{user_id}/metadata", merge_metadata, methods=["PATCH"]),
        Route("/v1/users/{user_id}/metadata", replace_metadata, methods=["PUT"]),
        Route("/v1/sessions", list_sessions, methods=["GET"]),
        Route("/v1/sessions", create_session, methods=["POST"]),
        Route("/v1/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/v1/sessions/{session_id}/revoke", revoke_session, methods=["POST"]),
        Route("/v1/sessions/{session_id}/refresh", refresh_session, methods=["POST"]),
        Route("/v1/sessions/{session_id}/tokens", create_session_token, methods=["POST"]),
        Route("/v1/sessions/{session_id}/tokens/{template_name}", create_session_token, methods=["POST"]),
        Route("/v1/jwt_templates", list_templates, methods=["GET"]),
        Route("/v1/jwt_templates", create_template, methods=["POST"]),
        Route("/v1/jwt_templates/{template_id}", get_template, methods=["GET"]),
        Route("/v1/jwt_templates/{template_id}", update_template, methods=["PATCH"]),
        Route("/v1/jwt_templates/{template_id}", delete_template, methods=["DELETE"]),
        Route("/v1/jwks", jwks, methods=["GET"]),
    ]
