"""The simulator's control routes: state, faults, clock and webhooks for tests, not part of Clerk's API.

They live under ``/_sim`` (the convention of both simulators); ``/__sim`` is the old spelling, kept as
an alias. They skip the request log, the fault plan and the secret-key check, so anything that can reach
them can drive the simulator: they answer only requests without a foreign ``Origin`` (loopback pages and
the simulator's own pages are fine) and take JSON bodies only as ``application/json`` (a web page can send
``text/plain`` cross-origin without asking first). Every input is validated; a refusal changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..server import loopback_origin
from . import errors
from .interface import SimInterface
from .routes import clerk_endpoint, json_body

CONTROL_PREFIX = "/_sim"
CONTROL_PREFIXES = (CONTROL_PREFIX, "/__sim")  # the second: the old spelling, still answered


def is_control_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in CONTROL_PREFIXES)


def refusal(sim: SimInterface, method: str, headers: dict[str, str]) -> errors.ClerkAPIError | None:
    """Why a control request must be refused before its route runs (None: let it through)."""
    origin = headers.get("origin")
    if origin is not None and not (loopback_origin(origin) or origin.rstrip("/") == _origin_of(sim.base_url)):
        return errors.foreign_origin(origin)
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
        if media_type != "application/json" and (media_type or has_body):
            return errors.unsupported_media_type(media_type)
    return None


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise errors.param_format_invalid(name, f"{name} must be a non-empty string.")
    return value


def control_routes(sim: SimInterface) -> list[Route]:
    def ok(data: Any) -> JSONResponse:
        return JSONResponse(data)

    @clerk_endpoint
    async def info(request: Request) -> Response:
        return ok(sim.info())

    @clerk_endpoint
    async def reset(request: Request) -> Response:
        sim.reset()
        return ok({"reset": True})

    @clerk_endpoint
    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            sim.request_log.clear()
            return ok({"cleared": True})
        return ok([r.to_json() for r in sim.request_log.entries])

    @clerk_endpoint
    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            sim.clear_faults()
            return ok({"cleared": True})
        if request.method == "GET":
            return ok([r.describe() for r in sim.faults.rules()])
        body = await json_body(request, required=True)
        try:
            rule = sim.set_fault(**body)
        except (TypeError, ValueError) as exc:
            raise errors.param_value_invalid("fault", str(exc)) from exc
        return ok(rule.describe())

    @clerk_endpoint
    async def webhook_endpoints(request: Request) -> Response:
        if request.method == "GET":
            return ok([e.describe() for e in sim.webhooks.endpoints.values()])
        body = await json_body(request, required=True)
        url = _text(body, "url", required=True)
        events = body.get("events")
        if events is not None and not (isinstance(events, list) and all(isinstance(e, str) and e for e in events)):
            raise errors.param_format_invalid("events", "events must be an array of event type names.")
        try:
            endpoint = sim.add_webhook_endpoint(url, events=events, secret=_text(body, "secret"))
        except ValueError as exc:
            raise errors.param_value_invalid("url", str(exc)) from exc
        return ok(endpoint.describe())

    @clerk_endpoint
    async def deliveries(request: Request) -> Response:
        return ok([{**d.__dict__, "ok": d.ok} for d in sim.webhooks.deliveries])

    @clerk_endpoint
    async def outbox(request: Request) -> Response:
        return ok([m.__dict__ for m in sim.outbox])

    @clerk_endpoint
    async def session_claims(request: Request) -> Response:
        body = await json_body(request, required=True)
        sim.set_session_claims(body.get("claims"))
        return ok({"claims": sim.backend.session_claims_template})

    @clerk_endpoint
    async def clock(request: Request) -> Response:
        body = await json_body(request)
        advance = body.get("advance", 0)
        if not isinstance(advance, int | float) or isinstance(advance, bool):
            raise errors.param_format_invalid("advance", "advance must be a number of seconds.")
        try:
            sim.clock.advance(advance)
        except ValueError as exc:
            raise errors.param_value_invalid("advance", str(exc)) from exc
        return ok({"offset": sim.clock.offset, "now": sim.clock.now()})

    table = [
        ("/info", info, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/requests", requests, ["GET", "DELETE"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/webhook_endpoints", webhook_endpoints, ["GET", "POST"]),
        ("/webhook_deliveries", deliveries, ["GET"]),
        ("/outbox", outbox, ["GET"]),
        ("/session_claims", session_claims, ["POST"]),
        ("/clock", clock, ["POST"]),
    ]
    return [Route(f"{prefix}{path}", fn, methods=methods) for prefix in CONTROL_PREFIXES for path, fn, methods in table]
