"""POST /webhook/stripe: raw body -> verify -> livemode guard -> dedupe (unique constraint) -> dispatch
through the handler registry -> 2xx; a Stripe or Clerk failure -> 5xx and the claim is released, so
Stripe's retry is processed afresh. Nothing is lost, nothing is applied twice."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import anyio.to_thread
import orjson
import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse

from .sync import BillingSync, Outcome, SyncProblem, TransientError, metadata_value

log = logging.getLogger("tiersync.receiver")

_ZERO_ID = re.compile(r"evt_0+")
HANDLERS: dict[str, Callable[[BillingSync, dict], Outcome]] = {}
_UNHANDLED_SEEN: set[str] = set()


def handles(*event_types: str):
    def register(fn):
        for t in event_types:
            HANDLERS[t] = fn
        return fn
    return register


def _sync_limiter(state) -> anyio.CapacityLimiter:
    """Handlers run in at most `settings.sync_threads` threads (RECEIVER_SYNC_THREADS, default 4). Each spends
    most of its time computing (the SDKs' work) and a little waiting on Stripe and Clerk: a few threads keep
    both busy, while dozens mostly pass the GIL around (16 in flight: p99 ~270 ms with 40 threads, ~120 ms
    with 4; bench/receiver.py). Deliveries beyond them wait in line, which costs nothing."""
    limiter = getattr(state, "sync_limiter", None)
    if limiter is None:  # made on first use: a CapacityLimiter belongs to the running event loop
        limiter = state.sync_limiter = anyio.CapacityLimiter(state.settings.sync_threads)
    return limiter


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _id_of(value) -> str | None:
    """An object reference as Stripe sends it: an id, or the expanded object carrying one."""
    return value.get("id") if isinstance(value, dict) else value


def _is_id(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


async def stripe_webhook(request: Request) -> JSONResponse:
    state = request.app.state
    payload = await request.body()  # the raw bytes: re-serialised JSON would not verify
    header = request.headers.get("stripe-signature")
    if not header:
        return _error(400, "missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(payload, header, state.settings.stripe_webhook_secret,
                                              tolerance=state.settings.webhook_tolerance)
    except stripe.SignatureVerificationError as exc:
        log.warning("webhook signature rejected: %s", exc.user_message or exc)
        return _error(400, f"invalid signature: {exc.user_message or exc}")
    except UnicodeDecodeError:
        return _error(400, "invalid payload: not UTF-8")
    try:
        data = orjson.loads(payload)  # several times faster than json.loads on a 5-10 KB event
    except ValueError:
        return _error(400, "invalid payload: not JSON")
    # signed does not mean well-formed: a shape the handlers can't read is a 400, never a 500 retried for days
    if not isinstance(data, dict) or not _is_id(data.get("id")) or not _is_id(data.get("type")) \
            or not isinstance(data.get("data"), dict) or not isinstance(data["data"].get("object"), dict):
        return _error(400, "invalid payload: not a Stripe event")
    event_id, event_type = data["id"], data["type"]
    if bool(data.get("livemode")) != state.settings.livemode:
        mode = "live" if data.get("livemode") else "test"
        state.storage.record_sync_error("livemode_mismatch", f"{mode}-mode event {event_id} sent to a "
                                        f"{state.settings.stripe_mode}-mode receiver", event_id)
        return _error(400, f"livemode mismatch: a {mode}-mode event was sent to a "
                      f"{state.settings.stripe_mode}-mode receiver (check the endpoint and STRIPE_WEBHOOK_SECRET)")
    handler = HANDLERS.get(event_type)
    if handler is None:
        # once per type at INFO (the endpoint subscribes to more than it handles); the rest at DEBUG,
        # so a busy endpoint does not spend its time writing the same line
        level = logging.DEBUG if event_type in _UNHANDLED_SEEN else logging.INFO
        _UNHANDLED_SEEN.add(event_type)
        log.log(level, "ignored unhandled event type %s (%s)", event_type, event_id)
        return JSONResponse({"received": True, "handled": False})
    if not _is_id(data["data"]["object"].get("id")):
        return _error(400, f"invalid payload: {event_type} event without data.object.id")
    # the Dashboard's test events all share a fake id (evt_00000000000000): deduping it would swallow
    # every test after the first, so they are processed (and reported) each time
    claim = "new" if _ZERO_ID.fullmatch(event_id) else state.storage.claim_event(event_id, event_type)
    if claim != "new":
        return JSONResponse({"received": True, "duplicate": True, "state": claim})
    try:
        outcome = await anyio.to_thread.run_sync(handler, state.sync, data, limiter=_sync_limiter(state))
    except SyncProblem as problem:
        state.storage.record_sync_error(problem.kind, problem.message, event_id, problem.detail)
        log.error("sync error on %s %s: %s", event_type, event_id, problem.message)
        state.storage.finish_event(event_id)
        return JSONResponse({"received": True, "sync_error": problem.kind})
    except TransientError as exc:
        state.storage.release_event(event_id)
        log.error("transient failure on %s %s: %s; answering 500 so Stripe retries", event_type, event_id, exc)
        return _error(500, f"temporary failure, retry: {exc}")
    except Exception:
        state.storage.release_event(event_id)
        log.exception("handler crashed on %s %s", event_type, event_id)
        return _error(500, "internal error, retry")
    state.storage.finish_event(event_id)
    return JSONResponse({"received": True, **({"tier": outcome.tier} if outcome and outcome.tier else {})})


@handles("checkout.session.completed")
def on_checkout_completed(sync: BillingSync, event: dict) -> Outcome:
    obj = event["data"]["object"]
    if obj.get("mode") != "subscription":
        return Outcome(note="not a subscription checkout")
    session = sync.checkout_session(obj["id"])  # re-fetch: proves it is real and current
    user = session.get("client_reference_id") or metadata_value(session, "userId")
    if not user:
        raise SyncProblem("unknown_user", f"checkout session {session['id']} has no client_reference_id and no "
                          "metadata.userId", {"session": session["id"]})
    customer = _id_of(session.get("customer"))
    if not customer:
        raise SyncProblem("no_customer", f"checkout session {session['id']} has no customer")
    sync.storage.link_customer(customer, user)
    return sync.sync_customer(customer, event["id"], user_hint=user)


@handles("customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted")
def on_subscription_change(sync: BillingSync, event: dict) -> Outcome:
    """Nothing of the event's copy is trusted but the two ids: the sync re-reads all of the customer's
    subscriptions (a subscription never changes customer), and if the event's subscription is not among
    them it is fetched by id (unknown, or the list was cut), which also names its real customer."""
    obj = event["data"]["object"]
    customer = _id_of(obj.get("customer"))
    if not isinstance(customer, str) or not customer.strip():
        customer = sync.subscription(obj["id"])["customer"]
    return sync.sync_customer(customer, event["id"], must_include=obj["id"])
