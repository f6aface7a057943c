"""Checks of an `expect` step. Each returns None when it holds, else what was seen; `within: N` retries
the whole step until it holds or N seconds pass (eventual consistency)."""

from __future__ import annotations

import json
import time

from .app import claims_of, clerk_metadata, expected_limit, observed_tier, read_usage
from .context import RunContext, StepFailed

__all__ = ["CHECKS", "clerk_metadata", "observed_tier", "run_expect"]


def check_tier(ctx, spec):
    seen = observed_tier(ctx, spec["user"])
    if "is_not" in spec:
        return None if seen != spec["is_not"] else f"tier of {spec['user']} is {seen!r}, expected anything else"
    return None if seen == spec["is"] else f"tier of {spec['user']} is {seen!r}, expected {spec['is']!r}"


def check_clerk_metadata(ctx, spec):
    meta = clerk_metadata(ctx, spec["user"])
    for k, v in (ctx.resolve(spec.get("includes")) or {}).items():
        if meta.get(k) != v:
            return f"Clerk public_metadata of {spec['user']} is {meta}, expected {k}={v!r}"
    for k in spec.get("lacks") or []:
        if k in meta:
            return f"Clerk public_metadata of {spec['user']} has {k}={meta[k]!r}, expected no {k!r}"
    return None


def check_usage(ctx, spec):
    """What the app's usage answer says, read through the profile's pointers."""
    seen = read_usage(ctx, spec["user"])
    wanted = {k: expected_limit(spec[k]) if k == "limit" else spec[k] for k in ("limit", "used", "tier") if k in spec}
    for key, value in wanted.items():
        if seen.get(key) != value:
            shown = "unlimited" if key == "limit" and seen.get(key) is None else repr(seen.get(key))
            want = "unlimited" if key == "limit" and value is None else repr(value)
            return f"the app's usage answer says {key} {shown}, expected {want} ({seen['answer']})"
    return None


def check_response(ctx, spec):
    ex = ctx.last_response
    if ex is None:
        return "no send_event response to check"
    if "status" in spec and ex.status != spec["status"]:
        return f"the receiver answered {ex.status}, expected {spec['status']}: {ex.response_body[:200]}"
    if "status_in" in spec and ex.status not in spec["status_in"]:
        return f"the receiver answered {ex.status}, expected one of {spec['status_in']}"
    if "body_contains" in spec and spec["body_contains"] not in ex.response_body:
        return f"the answer {ex.response_body[:200]!r} lacks {spec['body_contains']!r}"
    if "max_ms" in spec and ex.ms > spec["max_ms"]:
        return f"the answer took {ex.ms:.0f} ms, budget {spec['max_ms']} ms"
    return None


def check_responses(ctx, spec):
    """The last `requests` step: how many metered calls succeeded, how many were refused at the limit (with
    the profile's limit status)."""
    metered = ctx.target.profile.api.metered
    limit_status = metered.limit_status if metered else 429
    ok = sum(1 for x in ctx.last_requests if x["status"] < 300)
    limited = sum(1 for x in ctx.last_requests if x["status"] == limit_status)
    if "ok" in spec and ok != spec["ok"]:
        return f"{ok} requests succeeded, expected {spec['ok']}"
    if "limited" in spec and limited != spec["limited"]:
        others = sorted({x["status"] for x in ctx.last_requests if x["status"] >= 300 and x["status"] != limit_status})
        return (f"{limited} requests were refused with {limit_status} (limit reached), expected {spec['limited']}"
                + (f"; other answers: {others}" if others else ""))
    return None


def _attempts(ctx, event_type: str | None) -> list[dict]:
    log = ctx.deliveries(getattr(ctx, "scenario_mark", 0))
    return [a for a in log if event_type is None or a["type"] == event_type]


def check_delivery(ctx, spec):
    attempts = _attempts(ctx, spec.get("event_type"))
    if not attempts:
        return f"no delivery of {spec.get('event_type') or 'any event'} yet"
    last = attempts[-1]
    if "status" in spec and last["status"] != spec["status"]:
        return (f"the last delivery of {last['type']} got {last['status']} ({last['outcome']}: "
                f"{(last['response_body'] or last['error'] or '')[:200]}), expected {spec['status']}")
    if "status_in" in spec and last["status"] not in spec["status_in"]:
        return f"the last delivery of {last['type']} got {last['status']}, expected one of {spec['status_in']}"
    if "max_ms" in spec and (last["latency_ms"] or 0) > spec["max_ms"]:
        return f"the receiver took {last['latency_ms']:.0f} ms to answer {last['type']}, budget {spec['max_ms']} ms"
    if "outcome" in spec and last["outcome"] != spec["outcome"]:
        return f"the last delivery's outcome is {last['outcome']}, expected {spec['outcome']}"
    return None


def check_deliveries(ctx, spec):
    attempts = _attempts(ctx, spec.get("event_type"))
    by_event: dict[str, list] = {}
    for a in attempts:
        by_event.setdefault(a["event"], []).append(a)
    what = spec.get("event_type") or "events"
    if not by_event:
        return f"no deliveries of {what}"
    counts = [len(v) for v in by_event.values()]
    if "min_attempts" in spec and max(counts) < spec["min_attempts"]:
        return f"at most {max(counts)} attempts per {what}, expected at least {spec['min_attempts']}"
    if "max_attempts" in spec and max(counts) > spec["max_attempts"]:
        return f"up to {max(counts)} attempts per {what}, expected at most {spec['max_attempts']}"
    if spec.get("all_ok") and not all(v[-1]["outcome"] == "delivered" for v in by_event.values()):
        bad = [v[-1] for v in by_event.values() if v[-1]["outcome"] != "delivered"]
        return f"{len(bad)} {what} not delivered in the end (last: {bad[0]['status']} {bad[0]['outcome']})"
    return None


def check_jwt_claim(ctx, spec):
    if "token" in spec:
        token = ctx.tokens.get(spec["token"])
        if token is None:
            raise StepFailed(f"no saved token {spec['token']!r}")
    else:
        token = ctx.token_for(spec["user"], spec.get("template"))
    seen = claims_of(token).get(spec["claim"])
    return None if seen == spec.get("is") else f"claim {spec['claim']} is {seen!r}, expected {spec.get('is')!r}"


def check_subscription(ctx, spec):
    user = ctx.user(spec["user"])
    sub = ctx.stripe.v1.subscriptions.retrieve(user["subscription"])
    for key in ("status", "cancel_at_period_end"):
        if key in spec and getattr(sub, key) != spec[key]:
            return f"subscription {key} is {getattr(sub, key)!r}, expected {spec[key]!r}"
    return None


def check_sync_error(ctx, spec):
    if not ctx.target.receiver_url:
        return "no receiver URL to ask for sync errors"
    token = getattr(ctx.target, "admin_token", None)
    r = ctx.http.get(f"{ctx.target.receiver_url}/admin/sync-errors",
                     headers={"X-Admin-Token": token} if token else {})
    if r.status_code != 200:
        return f"/admin/sync-errors answered {r.status_code} (only receivers that expose it can be checked)"
    kinds = [e["kind"] for e in r.json().get("sync_errors", []) if e["at"] >= ctx.started_at - 1]
    if spec.get("kind") and spec["kind"] not in kinds:
        return f"no {spec['kind']!r} sync error recorded (seen: {kinds or 'none'})"
    if spec.get("none") and kinds:
        return f"sync errors recorded: {kinds}"
    return None


def check_clerk_writes(ctx, spec):
    user_id = ctx.user(spec["user"])["id"]
    r = ctx.http.get(f"{ctx.target.clerk_api_url}/_sim/requests")
    writes = [e for e in r.json() if e.get("method") in ("PATCH", "PUT") and f"/v1/users/{user_id}" in e.get("path", "")
              and 200 <= (e.get("status") or 0) < 300]
    n = len(writes)
    if "max" in spec and n > spec["max"]:
        return f"Clerk saw {n} successful writes to {spec['user']}, expected at most {spec['max']}"
    if "min" in spec and n < spec["min"]:
        return f"Clerk saw {n} successful writes to {spec['user']}, expected at least {spec['min']}"
    return None


def check_invoices(ctx, spec):
    user = ctx.user(spec["user"])
    if not user.get("customer"):
        return f"{spec['user']} has no Stripe customer yet"
    invoices = ctx.stripe.v1.invoices.list(params={"customer": user["customer"], "limit": 100}).data
    paid = sorted((i for i in invoices if i.status == "paid"), key=lambda i: i.created)
    if "paid" in spec and len(paid) < spec["paid"]:
        return f"{len(paid)} paid invoices for {spec['user']} ({[i.status for i in invoices]}), expected {spec['paid']}"
    if "amount_paid" in spec and (not paid or paid[-1].amount_paid != spec["amount_paid"]):
        return (f"the latest paid invoice of {spec['user']} paid {paid[-1].amount_paid if paid else None!r}, "
                f"expected {spec['amount_paid']!r}")
    return None


CHECKS = {name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_")}


def run_expect(ctx: RunContext, args) -> str:
    specs = {k: ctx.resolve(spec) for k, spec in args.checks().items()}
    deadline = time.monotonic() + args.within
    while True:
        problems = [f"{k}: {msg}" for k, spec in specs.items() if (msg := CHECKS[k](ctx, spec))]
        if not problems:
            return "expected " + ", ".join(f"{k} {_short(v)}" for k, v in specs.items())
        if time.monotonic() >= deadline:
            suffix = f" (within {args.within:g}s)" if args.within else ""
            raise StepFailed("; ".join(problems) + suffix)
        time.sleep(0.1)


def _short(spec) -> str:
    text = json.dumps(spec, default=str)
    return text if len(text) < 80 else text[:77] + "..."
