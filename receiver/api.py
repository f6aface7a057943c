"""The app's JSON API, protected by Clerk session tokens (Authorization: Bearer, or the __session cookie);
/health; /admin/sync-errors (ADMIN_TOKEN). Database and API calls run in worker threads, never on the
event loop: one waiting call holds up its own request only."""

from __future__ import annotations

import hmac
import logging
import sqlite3
import time

import anyio
import stripe
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from .bodies import MAX_API_BYTES, BodyTooLarge, NotJSON, parse_json, read_body
from .clerk import TokenVerificationError
from .sync import SyncProblem, TransientError

# /health waits this long for the database before saying it is unavailable
HEALTH_DATABASE_WAIT_S = 1.0

log = logging.getLogger("tiersync.receiver")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get("__session")


async def authenticate(request: Request) -> dict | JSONResponse:
    token = _token(request)
    if not token:
        return _error(401, "sign in first: no session token")
    try:
        return await run_in_threadpool(request.app.state.clerk.verify, token)
    except TokenVerificationError as exc:
        return _error(401, f"invalid session token: {exc}")
    except Exception as exc:  # JWKS unreachable and the like
        log.error("token verification failed: %r", exc)
        return _error(503, "cannot verify the session token right now")


def period(now: float | None = None) -> str:
    return time.strftime("%Y-%m", time.gmtime(now or time.time()))


class _Refused(Exception):
    """A handler's early answer (Clerk missing the user or unreachable), sent by `protected`."""

    def __init__(self, response: JSONResponse):
        self.response = response


async def _fresh_tier(request: Request, user_id: str) -> tuple[str, dict]:
    """The tier from Clerk (not from the possibly stale token); `_Refused` with a 404 or 503 otherwise."""
    try:
        user = await run_in_threadpool(request.app.state.clerk.user, user_id)
    except SyncProblem as exc:
        raise _Refused(_error(404, exc.message)) from None
    except TransientError as exc:
        raise _Refused(_error(503, str(exc))) from None
    meta = dict(user.public_metadata or {})
    tier = meta.get("plan") if meta.get("plan") in request.app.state.settings.tiers else "free"
    return tier, {"user": user, "metadata": meta}


def protected(handler):
    async def endpoint(request: Request):
        claims = await authenticate(request)
        if isinstance(claims, JSONResponse):
            return claims
        try:
            return await handler(request, claims)
        except _Refused as refused:
            return refused.response
        except sqlite3.Error as exc:  # e.g. the database file held by another process past the busy timeout
            log.error("database unavailable on %s: %s", request.url.path, exc)
            return _error(503, "database unavailable, try again")
    endpoint.__name__ = handler.__name__
    return endpoint


@protected
async def me(request: Request, claims: dict):
    tier, info = await _fresh_tier(request, claims["sub"])
    user = info["user"]
    email = user.email_addresses[0].email_address if user.email_addresses else None
    return JSONResponse({"userId": claims["sub"], "email": email, "tier": tier,
                         "tokenPlan": claims.get("plan"), "limit": request.app.state.settings.tiers[tier]})


@protected
async def usage(request: Request, claims: dict):
    tier, _ = await _fresh_tier(request, claims["sub"])
    limit = request.app.state.settings.tiers[tier]
    used = await run_in_threadpool(request.app.state.storage.usage, claims["sub"], period())
    return JSONResponse({"tier": tier, "used": used, "limit": limit, "period": period(),
                         "remaining": None if limit is None else max(0, limit - used)})


@protected
async def data(request: Request, claims: dict):
    tier, _ = await _fresh_tier(request, claims["sub"])
    limit = request.app.state.settings.tiers[tier]
    allowed, used = await run_in_threadpool(request.app.state.storage.take_request, claims["sub"], period(), limit)
    if not allowed:
        return JSONResponse({"error": f"monthly limit reached for the {tier} tier ({limit} requests)",
                             "tier": tier, "used": used, "limit": limit}, status_code=429)
    return JSONResponse({"ok": True, "tier": tier, "used": used, "limit": limit,
                         "remaining": None if limit is None else limit - used})


async def _json_object(request: Request) -> dict:
    """The body as a JSON object ({} when empty), or `_Refused` with a 413 or 400."""
    try:
        body = await read_body(request, MAX_API_BYTES)
        value = parse_json(body) if body.strip() else {}
    except BodyTooLarge as exc:
        raise _Refused(_error(413, str(exc))) from None
    except NotJSON as exc:
        raise _Refused(_error(400, f"the request body is {exc}")) from None
    if not isinstance(value, dict):
        raise _Refused(_error(400, "the request body must be a JSON object"))
    return value


@protected
async def create_checkout(request: Request, claims: dict):
    settings = request.app.state.settings
    body = await _json_object(request)
    tier = str(body.get("tier", "")).strip().lower()
    if tier not in settings.price_ids:
        return _error(400, f"unknown tier {body.get('tier')!r}; one of: {', '.join(settings.price_ids)}")
    user_id = claims["sub"]
    _, info = await _fresh_tier(request, user_id)
    user = info["user"]
    customer = info["metadata"].get("stripeCustomerId") or \
        await run_in_threadpool(request.app.state.storage.customer_for_user, user_id)
    params = {
        "mode": "subscription", "line_items": [{"price": settings.price_ids[tier], "quantity": 1}],
        "client_reference_id": user_id, "metadata": {"userId": user_id},
        "subscription_data": {"metadata": {"userId": user_id}}, "allow_promotion_codes": True,
        "success_url": f"{settings.frontend_url}/?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{settings.frontend_url}/?checkout=canceled",
    }
    if customer:
        params["customer"] = customer
    elif user.email_addresses:
        params["customer_email"] = user.email_addresses[0].email_address
    create = request.app.state.stripe.v1.checkout.sessions.create
    try:
        try:
            session = await run_in_threadpool(create, params=params)
        except stripe.InvalidRequestError as exc:
            if "customer" not in params or exc.code != "resource_missing" or exc.param != "customer":
                raise
            # the stored customer was deleted in Stripe: check out as a new one (the webhook links it)
            log.warning("customer %s of user %s is gone from Stripe; checking out without it", customer, user_id)
            del params["customer"]
            if user.email_addresses:
                params["customer_email"] = user.email_addresses[0].email_address
            session = await run_in_threadpool(create, params=params)
    except stripe.StripeError as exc:
        log.error("checkout session failed: %s", exc.user_message or exc)
        return _error(502, f"Stripe refused the checkout: {exc.user_message or type(exc).__name__}")
    return JSONResponse({"url": session.url, "id": session.id})


@protected
async def customer_portal(request: Request, claims: dict):
    settings = request.app.state.settings
    _, info = await _fresh_tier(request, claims["sub"])
    customer = info["metadata"].get("stripeCustomerId") or \
        await run_in_threadpool(request.app.state.storage.customer_for_user, claims["sub"])
    if not customer:
        return _error(400, "no billing account yet: upgrade first")
    params = {"customer": customer, "return_url": f"{settings.frontend_url}/"}
    if settings.portal_config_id:
        params["configuration"] = settings.portal_config_id
    try:
        session = await run_in_threadpool(request.app.state.stripe.v1.billing_portal.sessions.create, params=params)
    except stripe.StripeError as exc:
        log.error("portal session failed: %s", exc.user_message or exc)
        return _error(502, f"Stripe refused the portal session: {exc.user_message or type(exc).__name__}")
    return JSONResponse({"url": session.url})


async def health(request: Request):
    """Answers within HEALTH_DATABASE_WAIT_S: 200 with the count of processed events, or 503 when the
    database cannot be read (busy, locked by another process, gone)."""
    state = request.app.state
    problem = f"busy (no answer within {HEALTH_DATABASE_WAIT_S:g}s)"
    with anyio.move_on_after(HEALTH_DATABASE_WAIT_S):
        try:
            count = await anyio.to_thread.run_sync(state.storage.processed_count, abandon_on_cancel=True)
        except sqlite3.Error as exc:
            problem = str(exc)
        else:
            return JSONResponse({"status": "ok", "mode": state.settings.stripe_mode, "processed_events": count})
    return JSONResponse({"status": "unavailable", "mode": state.settings.stripe_mode,
                         "database": problem}, status_code=503)


async def sync_errors(request: Request):
    """Closed unless ADMIN_TOKEN is set, and then only for a request that sends it (X-Admin-Token)."""
    token = request.app.state.settings.admin_token
    if not token:
        return _error(404, "not enabled: set ADMIN_TOKEN to read sync errors here")
    sent = request.headers.get("x-admin-token", "")
    if not hmac.compare_digest(sent.encode(), token.encode()):  # the time taken says nothing about the token
        return _error(401, "admin token required (X-Admin-Token)")
    try:
        errors = await run_in_threadpool(request.app.state.storage.sync_errors)
    except sqlite3.Error as exc:
        log.error("database unavailable on /admin/sync-errors: %s", exc)
        return _error(503, "database unavailable, try again")
    return JSONResponse({"sync_errors": errors})
