"""Bad input, faults and safety (issue 17): every bad input is a clear 4xx in the receiver's JSON error shape,
the process keeps answering and its state is unchanged; a locked database holds up only the deliveries that
need it; a Stripe refusal is permanent, not a retry for three days; /admin/sync-errors is closed by default."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest

from tiersync.receiver import api
from tiersync.receiver.bodies import MAX_API_BYTES, MAX_WEBHOOK_BYTES
from tiersync.signer import build_request
from tiersync.stack import Stack

from .conftest import App, event

DEEP = 20_000  # far past the JSON parser's recursion limit, and within the API's body limit


def deep_json(depth: int = DEEP, inside: bytes = b"1") -> bytes:
    return b"[" * depth + inside + b"]" * depth


def assert_clear_4xx(r: httpx.Response, status: int | None = None) -> str:
    assert 400 <= r.status_code < 500 and (status is None or r.status_code == status), (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json"), r.text[:300]
    error = r.json()["error"]
    assert "Traceback" not in error
    return error


def assert_unchanged_and_answering(app: App):
    assert app.http.get("/health").json()["status"] == "ok"
    assert app.storage.processed_count() == 0 and app.sync_errors() == []


# ---- the bad-input corpus ---------------------------------------------------------------------------------

def _webhook_corpus(app: App) -> dict:
    secret = app.st.world.webhook_secret

    def signed(body: bytes, **headers) -> dict:
        req = build_request(body, secret, test_mode=True)
        return {"content": req.body, "headers": {**req.headers, **headers}}
    return {
        "huge unsigned body": {"content": b"x" * (10 * 1024 * 1024)},
        "huge body, no length given": {"content": iter([b"x" * 65536] * (MAX_WEBHOOK_BYTES // 65536 + 2))},
        "deeply nested signed JSON": signed(deep_json(200_000)),
        "deeply nested signed event": signed(b'{"id": "evt_deep", "type": "customer.subscription.updated", "data": '
                                             + deep_json(100_000, b"{}") + b"}"),
        "invalid UTF-8, signed": signed(b'{"id": "evt_\xff\xfe"}'),
        "form body, signed": signed(b"id=evt_1&type=customer.subscription.updated",
                                    **{"content-type": "application/x-www-form-urlencoded"}),
        "forged signature": {"content": b'{"id": "evt_1"}', "headers": {"stripe-signature": "t=1,v1=" + "0" * 64}},
    }


@pytest.mark.parametrize("case", ["huge unsigned body", "huge body, no length given", "deeply nested signed JSON",
                                  "deeply nested signed event", "invalid UTF-8, signed", "form body, signed",
                                  "forged signature"])
def test_webhook_bad_input_is_a_clear_4xx(app, case):
    r = app.http.post("/webhook/stripe", **_webhook_corpus(app)[case])
    assert_clear_4xx(r, 413 if case.startswith("huge") else 400)
    assert_unchanged_and_answering(app)


def _api_corpus() -> dict:
    return {
        "deeply nested JSON": ({"content": deep_json()}, 400),
        "deeply nested inside an object": ({"content": b'{"tier": ' + deep_json() + b"}"}, 400),
        "body over the limit": ({"content": b'{"tier": "' + b"p" * MAX_API_BYTES + b'"}'}, 413),
        "invalid UTF-8": ({"content": b'{"tier": "\xff"}'}, 400),
        "form-encoded": ({"content": b"tier=pro", "headers": {"content-type": "application/x-www-form-urlencoded"}},
                         400),
        "a JSON array": ({"content": b'["pro"]'}, 400),
        "truncated JSON": ({"content": b'{"tier": '}, 400),
    }


@pytest.mark.parametrize("case", list(_api_corpus()))
def test_create_checkout_bad_input_is_a_clear_4xx(app, case):
    """Deep nesting used to be a RecursionError and a 500 with a traceback."""
    user = app.user()
    kw, status = _api_corpus()[case]
    headers = {**user.auth, "content-type": "application/json", **kw.get("headers", {})}
    r = app.http.post("/api/create-checkout", content=kw["content"], headers=headers)
    error = assert_clear_4xx(r, status)
    if case.startswith("deeply"):
        assert "nested too deeply" in error
    assert_unchanged_and_answering(app)
    assert app.stripe.v1.checkout.sessions.list().data == []  # nothing was created


@pytest.mark.parametrize("token", ["forged", "foreign", "alg-none"])
def test_forged_and_foreign_tokens_are_401(app, token):
    import base64

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    user = app.user()
    header, payload, _ = user.token.split(".")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    value = {"forged": jwt.encode({"sub": user.id, "exp": int(time.time()) + 60}, other_key, algorithm="RS256",
                                  headers={"kid": jwt.get_unverified_header(user.token).get("kid")}),
             "foreign": jwt.encode({"sub": user.id, "iss": "https://clerk.elsewhere.example",
                                    "exp": int(time.time()) + 60}, other_key, algorithm="RS256"),
             "alg-none": base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + f".{payload}."}[token]
    r = app.http.post("/api/create-checkout", json={"tier": "pro"}, headers={"Authorization": f"Bearer {value}"})
    assert_clear_4xx(r, 401)
    assert_unchanged_and_answering(app)


def test_a_large_event_within_the_limit_is_accepted(app):
    """The limit is far above Stripe's events: a 600 KB one (an object with long metadata) still goes through."""
    big = event("invoice.paid", {"id": "in_big", "object": "invoice",
                                 "metadata": {f"k{i}": "v" * 480 for i in range(1200)}}, event_id="evt_test_big")
    r = app.post_event(big)
    assert r.status_code == 200 and r.json() == {"received": True, "handled": False}
    assert len(r.request.content) > 500_000


# ---- a Stripe refusal is permanent ------------------------------------------------------------------------

@pytest.mark.parametrize("obj, says", [
    ({"id": "sub_hand_built", "object": "subscription", "customer": "cus_" + "x" * 6000}, "at most 5000 characters"),
    ({"id": "sub_a/b", "object": "subscription"}, "Unrecognized request URL"),
])
def test_an_object_stripe_refuses_is_a_recorded_sync_error_and_a_200(app, obj, says):
    """Stripe answers 400 (or a 404 that is not a missing object): retrying gets the same answer for three days.
    Recorded for a human, answered 200, and the event is done."""
    r = app.post_event(event(obj=obj, event_id="evt_test_refused"))
    assert r.status_code == 200 and r.json()["sync_error"] == "stripe_refused", r.text
    (recorded,) = app.sync_errors()
    assert recorded["kind"] == "stripe_refused" and says in recorded["message"]
    assert app.storage.event_state("evt_test_refused") == "done"


# ---- a locked database --------------------------------------------------------------------------------------

HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, as another process's long transaction holds it
print("held", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


def test_a_database_held_by_another_process_stalls_only_the_deliveries_that_need_it(tmp_path):
    """Before: the delivery's claim waited for the lock on the event loop, and GET / and /health waited with it."""
    path = str(tmp_path / "receiver.sqlite")
    with Stack(database=path) as st:
        app = App(st)
        assert app.http.get("/health").status_code == 200
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            ghost = event(obj={"id": "sub_ghost", "object": "subscription"}, event_id="evt_test_locked")
            answers = []
            delivery = threading.Thread(target=lambda: answers.append(app.post_event(ghost)))
            delivery.start()
            time.sleep(0.5)  # the delivery is now waiting for the database
            for path_, ok in (("/", {200}), ("/health", {200, 503})):
                t0 = time.monotonic()
                r = app.http.get(path_)
                assert r.status_code in ok and time.monotonic() - t0 < 2.5, (path_, r.status_code)
            assert delivery.is_alive()
            delivery.join(15)
            (answer,) = answers
            assert answer.status_code == 503 and "retry" in answer.json()["error"]  # Stripe retries it
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(10)
        retried = app.post_event(ghost)  # the retry, once the lock is gone
        assert retried.status_code == 200 and retried.json()["sync_error"] == "not_found"
        assert app.http.get("/health").json()["status"] == "ok"
        app.http.close()


# ---- /admin/sync-errors ---------------------------------------------------------------------------------------

def test_sync_errors_are_closed_when_no_admin_token_is_set(app):
    app.set_settings(admin_token=None)
    app.post_event(event(obj={"id": "sub_nope", "object": "subscription"}, event_id="evt_test_nope"))
    for headers in ({}, {"X-Admin-Token": ""}, {"X-Admin-Token": "None"}):
        r = app.http.get("/admin/sync-errors", headers=headers)
        assert r.status_code == 404 and "ADMIN_TOKEN" in r.json()["error"] and "sync_errors" not in r.json()


def test_the_admin_token_is_compared_in_constant_time(app, monkeypatch):
    import hmac
    original, compared = hmac.compare_digest, []

    def compare_digest(a, b):
        compared.append(b)
        return original(a, b)
    monkeypatch.setattr(api.hmac, "compare_digest", compare_digest)
    app.set_settings(admin_token="adm_secret_token_123")
    assert app.http.get("/admin/sync-errors", headers={"X-Admin-Token": "adm_secret_token_124"}).status_code == 401
    assert app.http.get("/admin/sync-errors", headers={"X-Admin-Token": "é".encode()}).status_code == 401  # not a 500
    assert app.http.get("/admin/sync-errors", headers={"X-Admin-Token": "adm_secret_token_123"}).status_code == 200
    assert compared == [b"adm_secret_token_123"] * 3
