"""A corpus of bad input for the three servers (Clerk simulator, Stripe simulator, reference receiver).

Each case is one request a careless or hostile client could send. For every case: the answer is a clear
4xx in the service's own error shape (Clerk: ``errors[]`` + ``clerk_trace_id``; Stripe: ``error.type`` +
``error.message``; the receiver: ``{"error": ...}``), no traceback leaks, the process still answers, and the
state a user could see (users and metadata, JWT templates, the simulators' clocks and fault plans, Stripe
objects and events, the receiver's view of the user) is what it was before.

The Clerk simulator is covered fully; Stripe and receiver cases are the classes the probe of #17 tried.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tiersync.clerk_sim.tokens import SigningKey
from tiersync.signer import build_request

MB = 1024 * 1024
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def nested_json(depth: int, leaf: bytes = b"1") -> bytes:
    return b'{"a":' * depth + leaf + b"}" * depth


def nested_form(depth: int) -> bytes:
    return b"metadata" + b"[a]" * depth + b"=1"


@dataclass(frozen=True)
class Case:
    service: str  # "clerk" | "stripe" | "receiver"
    name: str
    method: str
    path: str  # {user} {session} {template} are filled in per test
    body: bytes | Callable[[Context], bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    auth: str | Callable[[Context], str] | None = "default"  # None: no Authorization header
    status: int | None = None  # None: any 4xx

    def __str__(self) -> str:
        return f"{self.service}-{self.name}"


@dataclass
class Context:
    stack: Any
    user_id: str
    session_id: str
    token: str
    template_id: str
    http: httpx.Client  # one client for the module: building one per request costs more than the request

    def base(self, service: str) -> str:
        return {"clerk": self.stack.clerk_server.url, "stripe": self.stack.stripe_server.url,
                "receiver": self.stack.receiver_server.url}[service]

    def default_auth(self, service: str) -> str:
        if service == "clerk":
            return f"Bearer {self.stack.clerk_sim.secret_key}"
        if service == "stripe":
            return f"Bearer {self.stack.stripe_sim.test_key}"
        return f"Bearer {self.token}"


# ---- forged and foreign tokens --------------------------------------------------------------------------

_FOREIGN_KEY = SigningKey()  # another instance's key: a real RS256 signature Clerk's JWKS does not hold


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(ctx: Context, **over) -> dict:
    now = int(ctx.stack.clerk_sim.clock.now())
    return {"sub": ctx.user_id, "sid": ctx.session_id, "iss": ctx.stack.clerk_sim.base_url, "iat": now,
            "nbf": now - 5, "exp": now + 60, **over}


def foreign_jwt(ctx: Context) -> str:
    return _FOREIGN_KEY.sign(_claims(ctx))


def foreign_jwt_same_kid(ctx: Context) -> str:
    """Signed by another key but claiming the instance's key id: only the signature check can catch it."""
    import jwt
    kid = ctx.stack.clerk_sim.backend.signing_key.kid
    return jwt.encode(_claims(ctx), _FOREIGN_KEY._private, algorithm="RS256", headers={"kid": kid})


def alg_none_jwt(ctx: Context) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(ctx))}."


def forged_payload_jwt(ctx: Context) -> str:
    """A genuine token with its payload swapped (another user, a later expiry): the signature no longer fits."""
    header, _, signature = ctx.token.split(".")
    return f"{header}.{_b64(_claims(ctx, sub='user_someone_else', exp=4_000_000_000))}.{signature}"


def expired_jwt(ctx: Context) -> str:
    return ctx.stack.clerk_sim.mint_token(ctx.session_id, issued_ago=3600)


def bearer(make: Callable[[Context], str]) -> Callable[[Context], str]:
    return lambda ctx: f"Bearer {make(ctx)}"


def refresh_body(make: Callable[[Context], str]) -> Callable[[Context], bytes]:
    return lambda ctx: json.dumps({"expired_token": make(ctx), "refresh_token": "rt_forged",
                                   "request_origin": "http://127.0.0.1:3000"}).encode()


EVENT = {"id": "evt_corpus", "object": "event", "type": "ping.corpus", "livemode": False, "created": 1_700_000_000,
         "api_version": "2026-10-28", "data": {"object": {"id": "obj_corpus", "object": "ping"}}}
EVENT_BODY = json.dumps(EVENT).encode()


# ---- the corpus -----------------------------------------------------------------------------------------

CLERK = [
    Case("clerk", "malformed-json", "POST", "/v1/users", b'{"email_address": [', JSON, status=400),
    Case("clerk", "json-array-body", "POST", "/v1/users", b"[1, 2]", JSON, status=400),
    Case("clerk", "empty-create", "POST", "/v1/users", b"", JSON, status=400),
    Case("clerk", "json-string-body", "PATCH", "/v1/users/{user}", b'"pro"', JSON, status=400),
    Case("clerk", "invalid-utf8-body", "PATCH", "/v1/users/{user}/metadata", b'{"public_metadata": {"a": "\xff\xfe"}}',
         JSON, status=400),
    Case("clerk", "nul-bytes", "POST", "/v1/users", b"\x00" * 64, JSON, status=400),
    Case("clerk", "deep-body", "POST", "/v1/users", nested_json(100_000), JSON, status=400),
    Case("clerk", "deep-body-900", "POST", "/v1/users", nested_json(900), JSON, status=400),
    Case("clerk", "deep-metadata-merge", "PATCH", "/v1/users/{user}/metadata",
         b'{"public_metadata":' + nested_json(500) + b"}", JSON, status=400),
    Case("clerk", "deep-metadata-replace", "PUT", "/v1/users/{user}/metadata",
         b'{"private_metadata":' + nested_json(500) + b"}", JSON, status=400),
    Case("clerk", "deep-user-update", "PATCH", "/v1/users/{user}", b'{"unsafe_metadata":' + nested_json(70) + b"}",
         JSON, status=400),
    Case("clerk", "deep-template-claims", "POST", "/v1/jwt_templates",
         b'{"name": "deep", "claims":' + nested_json(2000) + b"}", JSON, status=400),
    Case("clerk", "huge-metadata", "PATCH", "/v1/users/{user}/metadata",
         json.dumps({"public_metadata": {"blob": "x" * (64 * 1024)}}).encode(), JSON, status=422),
    # over the 1 MiB body limit: refused by size before anything parses it, valid JSON or not
    Case("clerk", "huge-garbage-body", "POST", "/v1/users", b"x" * (8 * MB), JSON, status=413),
    Case("clerk", "huge-json-body", "POST", "/v1/users",
         json.dumps({"email_address": ["big@example.com"], "public_metadata": {"blob": "x" * (2 * MB)}}).encode(),
         JSON, status=413),
    Case("clerk", "huge-metadata-merge", "PATCH", "/v1/users/{user}/metadata",
         json.dumps({"public_metadata": {"blob": "x" * (2 * MB)}}).encode(), JSON, status=413),
    Case("clerk", "huge-body-without-key", "POST", "/v1/users", b"x" * (2 * MB), JSON, auth=None, status=413),
    Case("clerk", "huge-sign-up-form", "POST", "/sign-up", b"emailAddress=a%40example.com&password=" + b"x" * (2 * MB),
         FORM, auth=None, status=413),
    Case("clerk", "huge-control-body", "POST", "/_sim/faults",
         json.dumps({"endpoint": "/v1/jwks", "padding": "x" * (2 * MB)}).encode(), JSON, auth=None, status=413),
    Case("clerk", "metadata-not-object", "PATCH", "/v1/users/{user}/metadata", b'{"public_metadata": "pro"}', JSON,
         status=422),
    Case("clerk", "form-instead-of-json", "POST", "/v1/users", b"email_address=a%40example.com", FORM, status=400),
    Case("clerk", "text-plain-metadata", "PATCH", "/v1/users/{user}/metadata", b"public_metadata=pro",
         {"content-type": "text/plain"}, status=400),
    Case("clerk", "bad-limit", "GET", "/v1/users?limit=abc", status=422),
    Case("clerk", "huge-limit", "GET", "/v1/users?limit=99999999999999999999999", status=422),
    Case("clerk", "negative-offset", "GET", "/v1/users?offset=-1", status=422),
    Case("clerk", "invalid-utf8-query", "GET", "/v1/users?limit=%ff%fe"),
    Case("clerk", "invalid-utf8-path", "GET", "/v1/users/user_%ff%fe"),
    Case("clerk", "unknown-route", "GET", "/v1/no_such_thing", status=404),
    Case("clerk", "wrong-method", "PUT", "/v1/users", status=405),
    Case("clerk", "unknown-user", "PATCH", "/v1/users/user_missing/metadata", b'{"public_metadata": {}}', JSON,
         status=404),
    Case("clerk", "path-traversal", "GET", "/v1/users/..%2F..%2Fetc%2Fpasswd", status=404),
    Case("clerk", "no-key", "GET", "/v1/users", auth=None, status=401),
    Case("clerk", "forged-key", "GET", "/v1/users", auth="Bearer sk_test_forged", status=401),
    Case("clerk", "live-looking-key", "GET", "/v1/users", auth="Bearer sk_live_forged", status=401),
    Case("clerk", "basic-auth", "GET", "/v1/users", auth="Basic c2tfdGVzdDo=", status=401),
    Case("clerk", "unknown-template-token", "POST", "/v1/sessions/{session}/tokens/no_such_template", status=404),
    Case("clerk", "token-lifetime-absurd", "POST", "/v1/sessions/{session}/tokens",
         b'{"expires_in_seconds": 1e300}', JSON, status=422),
    Case("clerk", "refresh-forged-jwt", "POST", "/v1/sessions/{session}/refresh", refresh_body(forged_payload_jwt),
         JSON, status=401),
    Case("clerk", "refresh-foreign-jwt", "POST", "/v1/sessions/{session}/refresh", refresh_body(foreign_jwt), JSON,
         status=401),
    Case("clerk", "refresh-foreign-jwt-same-kid", "POST", "/v1/sessions/{session}/refresh",
         refresh_body(foreign_jwt_same_kid), JSON, status=401),
    Case("clerk", "refresh-alg-none", "POST", "/v1/sessions/{session}/refresh", refresh_body(alg_none_jwt), JSON,
         status=401),
    Case("clerk", "refresh-not-a-jwt", "POST", "/v1/sessions/{session}/refresh",
         refresh_body(lambda ctx: "not.a.jwt"), JSON, status=401),
    Case("clerk", "client-token-unknown-session", "POST", "/v1/client/sessions/sess_missing/tokens", auth=None),
    Case("clerk", "client-token-forged-refresh", "POST", "/v1/client/sessions/{session}/tokens",
         auth="Bearer rt_forged"),
    Case("clerk", "client-token-foreign-jwt", "POST", "/v1/client/sessions/{session}/tokens", auth=bearer(foreign_jwt)),
    Case("clerk", "client-token-forged-cookie", "POST", "/v1/client/sessions/{session}/tokens",
         headers={"cookie": "__client=forged"}, auth=None),
    Case("clerk", "handoff-forged-code", "POST", "/v1/client/handoff", b'{"code": "forged"}', JSON, auth=None),
    Case("clerk", "handoff-garbage", "POST", "/v1/client/handoff", b"\xff\xfe{", JSON, auth=None),
    Case("clerk", "sign-in-bad-form", "POST", "/sign-in", b"identifier=%zz&password=%", FORM, auth=None),
    Case("clerk", "sign-up-invalid-utf8-form", "POST", "/sign-up", b"email_address=%ff%fe&password=x", FORM,
         auth=None),
    # control routes
    Case("clerk", "clock-infinite", "POST", "/_sim/clock", b'{"advance": 1e309}', JSON, auth=None, status=400),
    Case("clerk", "metadata-infinity", "PATCH", "/v1/users/{user}/metadata", b'{"public_metadata": {"n": Infinity}}',
         JSON, status=400),
    Case("clerk", "clock-absurd", "POST", "/__sim/clock", b'{"advance": -1e18}', JSON, auth=None, status=422),
    Case("clerk", "clock-not-a-number", "POST", "/_sim/clock", b'{"advance": "soon"}', JSON, auth=None, status=422),
    Case("clerk", "clock-text-plain", "POST", "/_sim/clock", b'{"advance": 60}', {"content-type": "text/plain"},
         auth=None, status=415),
    Case("clerk", "reset-foreign-origin", "POST", "/_sim/reset", headers={"origin": "https://evil.example"},
         auth=None, status=403),
    Case("clerk", "claims-foreign-origin", "POST", "/__sim/session_claims", b'{"claims": {"plan": "pro"}}',
         {**JSON, "origin": "http://attacker.example:8080"}, auth=None, status=403),
    Case("clerk", "fault-wrong-types", "POST", "/_sim/faults", b'{"endpoint": 5, "count": "x"}', JSON, auth=None,
         status=422),
    Case("clerk", "fault-unknown-kind", "POST", "/_sim/faults", b'{"endpoint": "/v1/jwks", "kind": "meteor"}', JSON,
         auth=None, status=422),
    Case("clerk", "fault-endless-delay", "POST", "/_sim/faults",
         b'{"endpoint": "/v1/jwks", "kind": "timeout", "delay": 1e12}', JSON, auth=None, status=422),
    Case("clerk", "webhook-url-not-http", "POST", "/_sim/webhook_endpoints", b'{"url": "file:///etc/passwd"}', JSON,
         auth=None, status=422),
    Case("clerk", "webhook-events-not-list", "POST", "/_sim/webhook_endpoints",
         b'{"url": "http://127.0.0.1:9/hook", "events": "user.created"}', JSON, auth=None, status=422),
    Case("clerk", "session-claims-deep", "POST", "/_sim/session_claims", b'{"claims":' + nested_json(3000) + b"}",
         JSON, auth=None, status=400),
    Case("clerk", "session-claims-reserved", "POST", "/_sim/session_claims", b'{"claims": {"sub": "user_x"}}', JSON,
         auth=None),
    Case("clerk", "control-unknown", "GET", "/_sim/no_such_control", auth=None, status=404),
]

STRIPE = [
    Case("stripe", "no-key", "GET", "/v1/customers", auth=None, status=401),
    Case("stripe", "forged-key", "GET", "/v1/customers", auth="Bearer sk_test_forged", status=401),
    Case("stripe", "publishable-key", "GET", "/v1/customers", auth="Bearer pk_test_forged"),
    Case("stripe", "unknown-route", "GET", "/v1/no_such_thing", status=404),
    Case("stripe", "unknown-customer", "GET", "/v1/customers/cus_missing", status=404),
    Case("stripe", "unknown-param", "POST", "/v1/customers", b"no_such_param=1", FORM, status=400),
    Case("stripe", "malformed-brackets", "POST", "/v1/customers", b"metadata[a=1", FORM, status=400),
    Case("stripe", "deep-form-nesting", "POST", "/v1/customers", nested_form(5000), FORM, status=400),
    Case("stripe", "metadata-value-nested", "POST", "/v1/customers", b"metadata[a][b]=1", FORM, status=400),
    Case("stripe", "bad-integer", "POST", "/v1/prices", b"currency=usd&unit_amount=abc&product_data[name]=x", FORM,
         status=400),
    Case("stripe", "bad-enum", "POST", "/v1/checkout/sessions", b"mode=sometimes", FORM, status=400),
    Case("stripe", "invalid-utf8-body", "POST", "/v1/customers", b"name=\xff\xfe", FORM, status=400),
    Case("stripe", "json-instead-of-form", "POST", "/v1/customers", b'{"email": "a@example.com"}', JSON, status=400),
    Case("stripe", "percent-encoded-invalid-utf8", "POST", "/v1/customers", b"name=%ff%fe", FORM, status=400),
    Case("stripe", "malformed-percent-escape", "POST", "/v1/customers", b"name=%zz", FORM, status=400),
    Case("stripe", "malformed-percent-escape-query", "GET", "/v1/customers?limit=%zz", status=400),
    Case("stripe", "integer-with-space", "POST", "/v1/prices",
         b"currency=usd&unit_amount=%205&product_data[name]=x", FORM, status=400),
    Case("stripe", "javascript-success-url", "POST", "/v1/checkout/sessions",
         lambda ctx: (f"mode=subscription&success_url=javascript:alert(1)&line_items[0][price]="
                      f"{ctx.stack.world.prices['pro']}&line_items[0][quantity]=1").encode(), FORM, status=400),
    Case("stripe", "huge-idempotency-key", "POST", "/v1/customers", b"email=a%40example.com",
         {**FORM, "Idempotency-Key": "k" * 100_000}, status=400),
    Case("stripe", "test-clock-far-future", "POST", "/v1/test_helpers/test_clocks", b"frozen_time=99999999999", FORM,
         status=400),
    Case("stripe", "sim-advance-absurd", "POST", "/_sim/webhooks/advance", b"seconds=1e300", FORM, auth=None,
         status=400),
    Case("stripe", "sim-reset-foreign-origin", "POST", "/_sim/reset", headers={"origin": "https://evil.example"},
         auth=None, status=403),
    Case("stripe", "sim-requests-foreign-origin", "GET", "/_sim/requests", headers={"origin": "http://attacker.test"},
         auth=None, status=403),
    Case("stripe", "huge-body", "POST", "/v1/customers", b"description=" + b"x" * (8 * MB), FORM, status=413),
]

RECEIVER = [
    Case("receiver", "webhook-unsigned", "POST", "/webhook/stripe", EVENT_BODY, JSON, auth=None, status=400),
    Case("receiver", "webhook-bad-signature", "POST", "/webhook/stripe", EVENT_BODY,
         {**JSON, "stripe-signature": "t=1700000000,v1=" + "0" * 64}, auth=None, status=400),
    Case("receiver", "webhook-malformed-signature", "POST", "/webhook/stripe", EVENT_BODY,
         {**JSON, "stripe-signature": "garbage"}, auth=None, status=400),
    Case("receiver", "webhook-garbage-body", "POST", "/webhook/stripe", b"\xff\xfe not json", JSON, auth=None,
         status=400),
    Case("receiver", "webhook-deep-unsigned", "POST", "/webhook/stripe", nested_json(100_000), JSON, auth=None,
         status=400),
    Case("receiver", "webhook-huge-unsigned", "POST", "/webhook/stripe", b"x" * (10 * MB), JSON, auth=None,
         status=413),
    Case("receiver", "api-no-token", "POST", "/api/create-checkout", b'{"tier": "pro"}', JSON, auth=None, status=401),
    Case("receiver", "api-not-a-jwt", "POST", "/api/create-checkout", b'{"tier": "pro"}', JSON, auth="Bearer x.y.z",
         status=401),
    Case("receiver", "api-forged-payload", "POST", "/api/create-checkout", b'{"tier": "pro"}', JSON,
         auth=bearer(forged_payload_jwt), status=401),
    Case("receiver", "api-foreign-jwt", "POST", "/api/create-checkout", b'{"tier": "pro"}', JSON,
         auth=bearer(foreign_jwt), status=401),
    Case("receiver", "api-foreign-jwt-same-kid", "POST", "/api/create-checkout", b'{"tier": "pro"}', JSON,
         auth=bearer(foreign_jwt_same_kid), status=401),
    Case("receiver", "api-alg-none", "POST", "/api/data", b"{}", JSON, auth=bearer(alg_none_jwt), status=401),
    Case("receiver", "api-expired", "POST", "/api/data", b"{}", JSON, auth=bearer(expired_jwt), status=401),
    Case("receiver", "checkout-unknown-tier", "POST", "/api/create-checkout", b'{"tier": "platinum"}', JSON,
         status=400),
    Case("receiver", "checkout-malformed-json", "POST", "/api/create-checkout", b'{"tier": ', JSON, status=400),
    Case("receiver", "checkout-form-no-token", "POST", "/api/create-checkout", b"tier=pro", FORM, auth=None,
         status=401),
    Case("receiver", "checkout-deep-json", "POST", "/api/create-checkout", nested_json(10_000), JSON, status=400),
    Case("receiver", "checkout-deep-json-huge", "POST", "/api/create-checkout", nested_json(100_000), JSON,
         status=413),
    Case("receiver", "admin-without-token", "GET", "/admin/sync-errors", auth=None, status=401),
    Case("receiver", "checkout-invalid-utf8", "POST", "/api/create-checkout", b'{"tier": "\xff"}', JSON, status=400),
]

CORPUS = CLERK + STRIPE + RECEIVER


# ---- the checks -----------------------------------------------------------------------------------------

def _get(ctx: Context, service: str, path: str, **kw) -> Any:
    r = ctx.http.get(ctx.base(service) + path, headers={"Authorization": ctx.default_auth(service)}, **kw)
    assert r.status_code == 200, (service, path, r.status_code, r.text[:300])
    return r.json()


STRIPE_LISTS = ["/v1/customers", "/v1/products", "/v1/prices", "/v1/coupons", "/v1/promotion_codes",
                "/v1/subscriptions", "/v1/checkout/sessions", "/v1/invoices", "/v1/webhook_endpoints", "/v1/events",
                "/v1/test_helpers/test_clocks"]


def snapshot(ctx: Context) -> dict:
    """What a user could see of the three services' state."""
    clerk = ctx.stack.clerk_sim
    return {
        "clerk_users": _get(ctx, "clerk", "/v1/users", params={"limit": 500}),
        "clerk_templates": _get(ctx, "clerk", "/v1/jwt_templates"),
        "clerk_clock": clerk.clock.offset,
        "clerk_faults": [r.describe() for r in clerk.faults.rules()],
        "clerk_webhooks": sorted(clerk.webhooks.endpoints),
        "clerk_session_claims": dict(clerk.backend.session_claims_template),
        "stripe": {path: _get(ctx, "stripe", path, params={"limit": 100})["data"] for path in STRIPE_LISTS},
        "receiver_me": _get(ctx, "receiver", "/api/me"),
    }


def assert_error_shape(service: str, response: httpx.Response) -> None:
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    if service == "clerk":
        assert set(body) == {"errors", "clerk_trace_id"}, body
        assert body["errors"] and {"message", "long_message", "code"} <= set(body["errors"][0]), body
    elif service == "stripe":
        assert isinstance(body.get("error"), dict), body
        assert body["error"].get("type") and body["error"].get("message"), body
    else:
        assert isinstance(body.get("error"), str) and body["error"], body


def assert_still_answering(ctx: Context) -> None:
    assert _get(ctx, "clerk", "/v1/jwks")["keys"]
    assert _get(ctx, "stripe", "/v1/customers", params={"limit": 1})["object"] == "list"
    assert ctx.http.get(ctx.base("receiver") + "/health").status_code == 200


@pytest.fixture
def ctx(tiersync_stack) -> Iterator[Context]:
    """The plugin's stack (re-seeded for each case), a user with a session and a JWT template."""
    clerk = tiersync_stack.clerk_sim
    user = clerk.create_user("corpus+clerk_test@example.com", password="pw-corpus-123",
                             public_metadata={"plan": "free"})
    session = clerk.create_session(user["id"])
    template = clerk.create_jwt_template("corpus", {"plan": "{{user.public_metadata.plan}}"})
    with httpx.Client(timeout=30) as http:
        yield Context(tiersync_stack, user["id"], session["id"], clerk.mint_token(session["id"]), template["id"], http)


def build(ctx: Context, case: Case) -> httpx.Request:
    """The case's request (tokens are minted here, before the state is taken)."""
    path = case.path.format(user=ctx.user_id, session=ctx.session_id, template=ctx.template_id)
    body = case.body(ctx) if callable(case.body) else case.body
    headers = dict(case.headers)
    auth = case.auth(ctx) if callable(case.auth) else case.auth
    if auth == "default":
        auth = ctx.default_auth(case.service)
    if auth is not None:
        headers["Authorization"] = auth
    return ctx.http.build_request(case.method, ctx.base(case.service) + path, content=body, headers=headers)


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(ctx: Context, case: Case) -> None:
    request = build(ctx, case)
    before = snapshot(ctx)
    response = ctx.http.send(request)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if case.status is not None:
        assert response.status_code == case.status, response.text[:500]
    assert "Traceback" not in response.text and 'File "' not in response.text
    if case.service != "clerk" or case.path.startswith(("/v1/", "/_sim", "/__sim")):
        assert_error_shape(case.service, response)
    assert_still_answering(ctx)
    assert snapshot(ctx) == before


def test_the_corpus_names_are_unique() -> None:
    names = [str(c) for c in CORPUS]
    assert len(names) == len(set(names))


def test_the_same_event_correctly_signed_is_accepted(ctx: Context) -> None:
    """The receiver's webhook cases fail on their signature, not on their body."""
    req = build_request(EVENT_BODY, ctx.stack.world.webhook_secret, test_mode=True)
    response = ctx.http.post(ctx.base("receiver") + "/webhook/stripe", content=req.body, headers=req.headers)
    assert response.status_code == 200, response.text
