"""Talking to the app under test the way its profile says: tokens minted with its template, its checkout,
usage and metered calls, and its tier read where it keeps it. Steps and the oracle go through here, so no
scenario depends on an endpoint only our reference receiver has."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import time

from ..profile import UNLIMITED, Call, resolve_pointer
from .context import RunContext, StepFailed

_SESSION_ID = re.compile(r"cs_(?:test|live)_[A-Za-z0-9]+")


def claims_of(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def app_token(ctx: RunContext, user: str) -> str:
    """A fresh token for the app's API, minted as its frontend would (the profile's token template)."""
    return ctx.token_for(user, ctx.target.profile.auth.token_template)


def call_app(ctx: RunContext, call: Call, token: str, body=None, *, record: bool = True):
    """One call of the app's API with the user's token; recorded on the step's timeline."""
    started = time.perf_counter()
    kw = {"json": body} if body is not None else {}
    r = ctx.http.request(call.method, f"{ctx.target.receiver_url}{call.path}",
                         headers={"Authorization": f"Bearer {token}"}, **kw)
    if record:
        ctx.record(call.method, call.path, r.status_code, json.dumps(body) if body is not None else "",
                   r.text[:1000], (time.perf_counter() - started) * 1000)
    return r


def answer_at(r, pointer: str, what: str):
    """The value at `pointer` in the app's JSON answer; StepFailed saying what the answer holds otherwise."""
    try:
        body = r.json()
    except ValueError:
        raise StepFailed(f"{what} answered {r.status_code} with no JSON: {r.text[:200]!r}") from None
    try:
        return resolve_pointer(body, pointer)
    except KeyError as exc:
        raise StepFailed(f"{what}: the answer has nothing at {pointer} (no {exc.args[0]!r}); it was "
                         f"{json.dumps(body)[:300]}") from None


def checkout_via_app(ctx: RunContext, user: str, tier: str) -> str:
    """Ask the app for a Checkout session for `tier`, as its pricing page would; the session id."""
    call = ctx.target.profile.api.checkout
    body = call.body_for(tier)
    r = call_app(ctx, call, app_token(ctx, user), body)
    if r.status_code >= 400:
        raise StepFailed(f"the app refused {call.method} {call.path}: {r.status_code} {r.text[:300]}")
    found = answer_at(r, call.session, f"{call.method} {call.path}")
    match = _SESSION_ID.search(str(found))
    if not match:
        raise StepFailed(f"{call.method} {call.path}: {call.session} is {found!r}, not a Checkout session id "
                         f"or URL")
    return match.group(0)


def metered_calls(ctx: RunContext, token: str, count: int) -> list[dict]:
    call = ctx.target.profile.api.metered
    if call is None:
        raise StepFailed("the app's profile has no api.metered call to make")
    out = []
    for _ in range(count):
        r = call_app(ctx, call, token, record=False)
        out.append({"status": r.status_code, "body": r.text[:300]})
    ctx.record(call.method, f"{call.path} x{count}", out[-1]["status"] if out else None, "",
               out[-1]["body"] if out else "")
    return out


def read_usage(ctx: RunContext, user: str) -> dict:
    """The app's usage answer for the user, through the profile's pointers: {used, limit, tier, answer};
    limit None is unlimited."""
    call = ctx.target.profile.api.usage
    if call is None:
        raise StepFailed("the app's profile has no api.usage call to read usage with")
    r = call_app(ctx, call, app_token(ctx, user))
    what = f"{call.method} {call.path}"
    if r.status_code != 200:
        raise StepFailed(f"{what} answered {r.status_code}: {r.text[:200]}")
    limit = answer_at(r, call.limit, what)
    out = {"used": answer_at(r, call.used, what), "limit": None if limit == call.unlimited_value else limit,
           "answer": r.text[:300]}
    if call.tier:
        out["tier"] = answer_at(r, call.tier, what)
    return out


def expected_limit(value):
    """A scenario's `limit`: a number, or null / "unlimited" for no limit."""
    return None if value == UNLIMITED else value


def observed_tier(ctx: RunContext, name: str) -> str | None:
    """The tier the app gives a user, read where its profile says it keeps it (a --probe-url/--probe-cmd
    given on the command line wins)."""
    user = ctx.user(name)
    t, source = ctx.target, ctx.target.profile.tier_source
    absent = source.absent or t.profile.free_tier
    if t.probe_url:
        r = ctx.http.get(t.probe_url.replace("{user_id}", user["id"]))
        try:
            return r.json().get("tier")
        except ValueError:
            return r.text.strip()
    if t.probe_cmd:
        out = subprocess.run(t.probe_cmd.replace("{user_id}", shlex.quote(user["id"])), shell=True,
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    if source.kind == "clerk_metadata":
        value = clerk_metadata(ctx, name).get(source.key)
    elif source.kind == "jwt_claim":
        value = claims_of(ctx.token_for(name, source.template)).get(source.claim)
    elif source.url:
        r = ctx.http.get(source.url.replace("{user_id}", user["id"]))
        if r.status_code != 200:
            return f"({source.url} answered {r.status_code})"
        value = answer_at(r, source.pointer, source.url)
    else:
        r = ctx.http.get(f"{t.receiver_url}{source.path}", headers={"Authorization": f"Bearer {app_token(ctx, name)}"})
        if r.status_code != 200:
            return f"({source.path} answered {r.status_code})"
        value = answer_at(r, source.pointer, f"GET {source.path}")
    return absent if value in (None, "") else value


def clerk_metadata(ctx: RunContext, name: str) -> dict:
    r = ctx.clerk("GET", f"/v1/users/{ctx.user(name)['id']}")
    if r.status_code != 200:
        raise StepFailed(f"Clerk: GET user failed {r.status_code}")
    return r.json().get("public_metadata") or {}
