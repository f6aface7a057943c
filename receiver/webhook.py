"""POST /webhook/stripe, one delivery: raw body (size-limited) -> verify the signature -> livemode guard ->
claim the event id (a unique constraint: duplicates are answered at once) -> the handler for its type,
which re-fetches from Stripe and writes to Clerk -> 200. A problem with the event's data is a recorded
sync error and a 200 (a retry would fail the same way); a Stripe or Clerk failure worth retrying is a
5xx and the claim is released, so Stripe's retry is processed afresh. Nothing is lost, nothing is
applied twice."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable

import stripe
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from .bodies import MAX_WEBHOOK_BYTES, BodyTooLarge, NotJSON, parse_json, read_body
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


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _id_of(value) -> str | None:
    """An object reference as Stripe sends it: an id, or the expanded object carrying one."""
    return value.get("id") if isinstance(value, dict) else value


def _is_id(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


async def stripe_webhook(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        payload = await read_body(request, MAX_WEBHOOK_BYTES)  # the raw bytes: re-serialised JSON would not verify
    except BodyTooLarge as exc:
        return _error(413, f"{exc}: not a Stripe event")
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
        data = parse_json(payload)
    except NotJSON as exc:
        return _error(400, f"invalid payload: {exc}")
    # signed does not mean well-formed: a shape the handlers can't read is a 400, never a 500 retried for days
    if not isinstance(data, dict) or not _is_id(data.get("id")) or not _is_id(data.get("type")) \
            or not isinstance(data.get("data"), dict) or not isinstance(data["data"].get("object"), dict):
        return _error(400, "invalid payload: not a Stripe event")
    try:  # the database and the APIs are waited for in a worker thread, never on the event loop
        status, body = await run_in_threadpool(handle_event, state, data)
    except sqlite3.Error as exc:  # e.g. another process holding the database file past the busy timeout
        log.error("database unavailable for %s %s: %s; answering 503 so Stripe retries", data["type"], data["id"], exc)
        return _error(503, "database unavailable, retry")
    return JSONResponse(body, status_code=status)


def handle_event(state, data: dict) -> tuple[int, dict]:
    """(status, body) for a verified, well-formed event."""
    event_id, event_type = data["id"], data["type"]
    if bool(data.get("livemode")) != state.settings.livemode:
        mode = "live" if data.get("livemode") else "test"
        state.storage.record_sync_error("livemode_mismatch", f"{mode}-mode event {event_id} sent to a "
                                        f"{state.settings.stripe_mode}-mode receiver", event_id)
        return 400, {"error": f"livemode mismatch: a {mode}-mode event was sent to a "
                     f"{state.settings.stripe_mode}-mode receiver (check the endpoint and STRIPE_WEBHOOK_SECRET)"}
    handler = HANDLERS.get(event_type)
    if handler is None:
        # once per type at INFO (the endpoint subscribes to more than it handles); the rest at DEBUG
        level = logging.DEBUG if event_type in _UNHANDLED_SEEN else logging.INFO
        _UNHANDLED_SEEN.add(event_type)
        log.log(level, "ignored unhandled event type %s (%s)", event_type, event_id)
        return 200, {"received": True, "handled": False}
    if not _is_id(data["data"]["object"].get("id")):
        return 400, {"error": f"invalid payload: {event_type} event without data.object.id"}
    # the Dashboard's test events all share a fake id (evt_00000000000000): deduping it would swallow
    # every test after the first, so they are processed (and reported) each time
    claim = "new" if _ZERO_ID.fullmatch(event_id) else state.storage.claim_event(event_id, event_type)
    if claim != "new":
        return 200, {"received": True, "duplicate": True, "state": claim}
    try:
        outcome = handler(state.sync, data)
    except SyncProblem as problem:
        state.storage.record_sync_error(problem.kind, problem.message, event_id, problem.detail)
        log.error("sync error on %s %s: %s", event_type, event_id, problem.message)
        state.storage.finish_event(event_id)
        return 200, {"received": True, "sync_error": problem.kind}
    except TransientError as exc:
        state.storage.release_event(event_id)
        log.error("transient failure on %s %s: %s; answering 500 so Stripe retries", event_type, event_id, exc)
        return 500, {"error": f"temporary failure, retry: {exc}"}
    except Exception:
        state.storage.release_event(event_id)
        log.exception("handler crashed on %s %s", event_type, event_id)
        return 500, {"error": "internal error, retry"}
    state.storage.finish_event(event_id)
    return 200, {"received": True, **({"tier": outcome.tier} if outcome and outcome.tier else {})}


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
