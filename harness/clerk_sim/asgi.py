"""The simulator's ASGI app: request log, faults and Backend API auth around the routes.

Order per call: read the body (at most MAX_BODY_BYTES: a larger one is a 413 before any of it is parsed)
-> log it -> fault plan -> secret-key check (``/v1`` Backend API routes only; ``/v1/client/...`` is
Frontend API) -> route. ``/_sim/...`` control routes (control.py) skip logging, faults and auth, and
refuse foreign origins and non-JSON bodies instead (then oversized ones, like every route).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..server import replaying_receive
from . import errors
from .control import control_routes, is_control_path, refusal
from .faults import FaultRule, redact_headers, redact_value
from .interface import SimInterface
from .pages import page_routes
from .routes import backend_routes, parse_json

IN_PROCESS_SCOPE_KEY = "tiersync.in_process"
# Clerk documents no request size limit. Its largest legitimate bodies (a user with three metadata fields of
# at most 8 KB each, a JWT template) are tens of KB; 1 MiB is far above them and bounds what a client can
# make the simulator hold in memory (the Stripe simulator's limit is of the same size).
MAX_BODY_BYTES = 1024 * 1024


class SimulatedTimeout(Exception):
    """In-process only: the transport turns it into ``httpx.ReadTimeout``."""


class SimulatedDrop(Exception):
    """Closes the connection mid-response (server) / ``httpx.RemoteProtocolError`` (in-process)."""


class _DropFilter(logging.Filter):
    """Keep uvicorn from printing a traceback for a connection we drop on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


def _is_backend_api(path: str) -> bool:
    return path.startswith("/v1/") and not path.startswith("/v1/client/")


def _parse_logged_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return redact_value(parse_json(text.encode()))
    except errors.ClerkAPIError:  # not JSON, or too deep to walk: the route refuses it, the log keeps text
        from urllib.parse import parse_qs

        form = parse_qs(text, keep_blank_values=True)
        if form and "=" in text:
            return redact_value({k: v[0] for k, v in form.items()})
        return text[:2000]


class SimMiddleware:
    def __init__(self, app: ASGIApp, sim: SimInterface) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if is_control_path(scope["path"]):
            failure = refusal(self.sim, scope["method"], headers)
            raw = await _read_body(receive, headers) if failure is None else b""
            if raw is None:
                failure = errors.body_too_large(MAX_BODY_BYTES)
            if failure is None:
                await self.app(scope, replaying_receive(raw or b"", receive), send)
            else:
                await JSONResponse(failure.body(), status_code=failure.status)(scope, receive, send)
            return
        raw = await _read_body(receive, headers)
        request = Request(scope)
        record = self.sim.request_log.record(
            time=self.sim.clock.now(),
            method=scope["method"],
            path=scope["path"],
            query={k: request.query_params.getlist(k) for k in request.query_params.keys()},
            headers=redact_headers(headers),
            body=_parse_logged_body(raw) if raw is not None else f"(more than {MAX_BODY_BYTES} bytes, not read)",
        )

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body" and (record.status or 0) >= 400 and not record.error_code:
                record.error_code = _error_code(message.get("body", b""))
            await send(message)

        if raw is None:  # refused before faults and auth, as a front server refuses it before the API
            failure = errors.body_too_large(MAX_BODY_BYTES)
            await JSONResponse(failure.body(), status_code=failure.status)(scope, receive, logging_send)
            return
        replay = replaying_receive(raw, receive)
        rule = self.sim.faults.pick(scope["method"], scope["path"])
        if rule is not None:
            record.fault = rule.kind
            # A dropped connection has no status; don't let its half-sent headers say 200.
            await self._inject(rule, scope, receive, send if rule.kind == "drop" else logging_send)
            return
        if _is_backend_api(scope["path"]):
            failure = self._authenticate(headers.get("authorization"))
            if failure is not None:
                await JSONResponse(failure.body(), status_code=failure.status)(scope, replay, logging_send)
                return
        await self.app(scope, replay, logging_send)

    def _authenticate(self, authorization: str | None) -> errors.ClerkAPIError | None:
        if not authorization or not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
            return errors.missing_authentication()
        if authorization[7:].strip() not in self.sim.secret_keys:
            return errors.invalid_secret_key()
        return None

    async def _inject(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        in_process = scope.get(IN_PROCESS_SCOPE_KEY, False)
        if rule.kind == "error":
            failure = errors.injected_server_error(rule.status)
        elif rule.kind == "rate_limit":
            failure = errors.injected_rate_limit(rule.retry_after)
        elif rule.kind == "timeout":
            if in_process:
                raise SimulatedTimeout(f"injected timeout on {scope['method']} {scope['path']}")
            # Hold the response (the call is NOT applied); stop early if the client gives up.
            if await _sleep_unless_disconnected(rule.delay, receive):
                return  # the client gave up; there is nobody left to answer
            failure = errors.injected_server_error(504)
        else:  # drop
            if in_process:
                raise SimulatedDrop(f"injected dropped connection on {scope['method']} {scope['path']}")
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
            raise SimulatedDrop("injected dropped connection")
        await JSONResponse(failure.body(), status_code=failure.status, headers=failure.headers)(scope, receive, send)


def _error_code(body: bytes) -> str | None:
    try:
        return json.loads(body)["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


async def _read_body(receive: Receive, headers: dict[str, str]) -> bytes | None:
    """The whole body, or None when it is larger than MAX_BODY_BYTES: by its Content-Length (then none of it
    is read) or by the bytes that came (then reading stops there)."""
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _sleep_unless_disconnected(delay: float, receive: Receive) -> bool:
    async def wait_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(wait_disconnect())
    try:
        done, _ = await asyncio.wait({watcher}, timeout=delay)
    finally:
        watcher.cancel()
    return bool(done)


def build_app(sim: SimInterface) -> ASGIApp:
    async def not_found(request: Request, exc: Exception) -> Response:
        failure = errors.route_not_found(request.url.path)
        return JSONResponse(failure.body(), status_code=failure.status)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        failure = errors.method_not_allowed(request.method, request.url.path)
        return JSONResponse(failure.body(), status_code=failure.status)

    async def jwks(request: Request) -> Response:
        return JSONResponse(sim.backend.signing_key.jwks())

    routes = [
        *backend_routes(sim),
        *page_routes(sim),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        *control_routes(sim),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return SimMiddleware(app, sim)
