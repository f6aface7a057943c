"""POST /webhook/stripe with hand-signed requests: every bad input is a 4xx with a JSON reason, never a 500;
unhandled types are acknowledged; a mode mismatch is recorded as a sync error."""

from __future__ import annotations

import json
import logging

import pytest

from tiersync.signer import build_request, render_event

from .conftest import event

UNHANDLED = event("invoice.paid", {"id": "in_hand_built", "object": "invoice"}, event_id="evt_test_unhandled")


def assert_rejected(r, *fragments: str):
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    for fragment in fragments:
        assert fragment in error, error
    return error


def test_a_correctly_signed_unhandled_event_is_acknowledged_and_logged(app, caplog):
    caplog.set_level(logging.DEBUG, logger="tiersync.receiver")  # INFO the first time a type is seen, then DEBUG
    r = app.post_event(UNHANDLED)
    assert r.status_code == 200 and r.json() == {"received": True, "handled": False}
    assert any("ignored unhandled event type invoice.paid" in m for m in caplog.messages)
    assert app.storage.event_state("evt_test_unhandled") is None and app.sync_errors() == []


def test_unsigned_request_is_400_saying_the_header_is_missing(app):
    assert_rejected(app.post_event(UNHANDLED, header="missing"), "missing Stripe-Signature")


@pytest.mark.parametrize("fault, reason", [
    ({"header": "malformed"}, "Unable to extract timestamp and signatures"),
    ({"header": "no_v1"}, "No signatures found with expected scheme v1"),
    ({"secret_override": "whsec_someone_elses_secret"}, "No signatures found matching the expected signature"),
    ({"timestamp_offset": -600}, "Timestamp outside the tolerance zone"),
    ({"body": "reserialized"}, "No signatures found matching the expected signature"),
    ({"body": "crlf"}, "No signatures found matching the expected signature"),
])
def test_bad_signatures_are_400_with_the_reason(app, fault, reason):
    assert_rejected(app.post_event(UNHANDLED, **fault), "invalid signature", reason)
    assert app.storage.processed_count() == 0


def test_future_timestamp_rolled_secrets_and_v0_are_accepted(app):
    assert app.post_event(UNHANDLED, timestamp_offset=600).status_code == 200
    req = build_request(UNHANDLED, ["whsec_rolled_away_old_secret", app.st.world.webhook_secret], test_mode=True)
    assert app.http.post("/webhook/stripe", content=req.body, headers=req.headers).status_code == 200


def test_invalid_json_with_a_valid_signature_is_400(app):
    assert_rejected(app.post_event(b'{"id": "evt_1", "type": '), "not JSON")
    assert_rejected(app.post_event(b"\xff\xfe not utf-8"), "invalid payload")


@pytest.mark.parametrize("payload", [
    b"[]", b"42", b'"evt_1"', b"null", b"{}",
    render_event({"id": "evt_1", "type": "customer.subscription.updated"}),
    render_event({"id": "evt_1", "type": "customer.subscription.updated", "data": []}),
    render_event(event(obj={"object": "subscription"})),  # no id
    render_event(event(obj={"id": 12345})),
    render_event({**event(), "data": {"object": "sub_123"}}),
    render_event(event("checkout.session.completed", {"object": "checkout.session", "mode": "subscription"})),
    render_event({**event(), "id": 7}),
])
def test_signed_json_that_is_not_a_stripe_event_is_400_never_500(app, payload):
    r = app.post_event(payload)
    assert_rejected(r, "invalid payload")
    assert app.storage.processed_count() == 0


def test_livemode_mismatch_is_400_and_a_sync_error(app):
    live = event(event_id="evt_live_1", livemode=True)
    error = assert_rejected(app.post_event(live), "livemode mismatch", "live-mode event", "test-mode receiver")
    assert "STRIPE_WEBHOOK_SECRET" in error
    (recorded,) = app.sync_errors()
    assert recorded["kind"] == "livemode_mismatch" and recorded["event_id"] == "evt_live_1"
    assert app.storage.event_state("evt_live_1") is None  # not swallowed as processed


def test_a_handled_event_for_an_object_stripe_does_not_know_is_200_and_a_sync_error(app):
    r = app.post_event(event(obj={"id": "sub_does_not_exist", "object": "subscription"}, event_id="evt_test_ghost"))
    assert r.status_code == 200 and r.json()["sync_error"] == "not_found"
    (recorded,) = app.sync_errors()
    assert recorded["event_id"] == "evt_test_ghost" and "sub_does_not_exist" in recorded["message"]
    assert app.storage.event_state("evt_test_ghost") == "done"


def test_only_post_is_routed(app):
    assert app.http.get("/webhook/stripe").status_code == 405


def test_admin_token_guards_sync_errors(app):
    app.set_settings(admin_token="s3cret")
    assert app.http.get("/admin/sync-errors").status_code == 401
    r = app.http.get("/admin/sync-errors", headers={"X-Admin-Token": "s3cret"})
    assert r.status_code == 200 and r.json() == {"sync_errors": []}


def test_the_body_really_is_the_raw_bytes(app):
    """A pretty-printed body whose compact re-serialisation differs still verifies (raw bytes are used)."""
    body = render_event(UNHANDLED).replace(b'"type": "invoice.paid"', b'"type":    "invoice.paid"')
    assert json.loads(body)["type"] == "invoice.paid"
    assert app.post_event(body).status_code == 200
