"""Real deliveries broken the ways real deployments see them: duplicates (one after another and at once),
reordering, Dashboard-style zero-id test events, broken signatures in flight."""

from __future__ import annotations

import pytest


def processings(app) -> int:
    """Listings of a customer's subscriptions at the Stripe simulator: the receiver makes one per event it
    actually processes (its re-fetch), none for a duplicate."""
    return sum(1 for r in app.st.stripe_sim.request_log if r.method == "GET" and r.path == "/v1/subscriptions")


@pytest.mark.parametrize("concurrent", [False, True], ids=["sequential", "concurrent"])
def test_duplicates_are_applied_once(app, concurrent):
    faults = app.st.stripe_sim.webhooks.faults
    faults.add(kind="duplicate", copies=3, concurrent=concurrent, event_type="*")
    user = app.user()
    session = app.checkout(user)
    reads = processings(app)
    app.pay(session)
    events = {a["event"] for a in app.deliveries()}
    assert len(events) == 2 and len(app.deliveries(outcome="delivered")) == 6  # every copy answered 2xx
    duplicates = [a for a in app.deliveries() if '"duplicate":true' in a["response_body"]]
    assert len(duplicates) == 4
    assert app.plan(user) == "pro"
    assert processings(app) - reads == 2  # one processing per distinct event
    assert len(app.metadata_patches(user, status=None)) == 1
    assert app.storage.processed_count() == 2


def test_two_event_objects_for_one_change_converge(app):
    """Distinct events describing one change (same object and type): each re-fetches, one write."""
    user = app.user()
    app.upgrade(user, "pro")
    sub = app.subscription(user)
    for i in range(2):
        app.stripe.v1.subscriptions.update(sub.id, params={"metadata": {"note": f"touch {i}"}})
    app.wait()
    assert len(app.deliveries("customer.subscription.updated", outcome="delivered")) == 2
    assert len(app.metadata_patches(user)) == 1


def test_reversed_order_converges_on_the_final_state(app):
    """enterprise, then cancel: delivered reversed, an event-trusting receiver would end on enterprise."""
    user = app.user()
    app.upgrade(user, "pro")
    sub = app.subscription(user)
    app.st.stripe_sim.webhooks.faults.add(kind="reverse", window=2, event_type="customer.subscription.*")
    app.stripe.v1.subscriptions.update(sub.id, params={
        "items": [{"id": sub["items"].data[0].id, "price": app.st.world.prices["enterprise"]}]})
    app.stripe.v1.subscriptions.cancel(sub.id)
    app.wait()
    order = [a["type"] for a in app.deliveries()][-2:]
    assert order == ["customer.subscription.deleted", "customer.subscription.updated"]
    assert app.plan(user) == "free"


def test_shuffled_upgrade_converges(app):
    app.st.stripe_sim.webhooks.faults.add(kind="shuffle", window=3, seed=3, event_type="*")
    user = app.user()
    app.upgrade(user, "enterprise", payment_method="pm_card_visa")
    assert len(app.deliveries()) == 3
    assert app.plan(user) == "enterprise" and app.sync_errors() == []


def test_zero_id_dashboard_test_events_are_200_and_sync_errors(app):
    app.st.stripe_sim.webhooks.faults.add(kind="zero_ids", event_type="*")
    user = app.user()
    app.upgrade(user, "pro")
    attempts = app.deliveries()
    assert len(attempts) == 2 and all(a["status"] == 200 for a in attempts)
    errors = app.sync_errors()
    assert len(errors) == 2, errors  # each test event reported, none swallowed as a "duplicate"
    assert {e["kind"] for e in errors} == {"not_found"}
    assert all(e["event_id"] == "evt_00000000000000" for e in errors)
    assert "plan" not in app.metadata(user)
    assert app.storage.event_state("evt_00000000000000") is None  # a fake id never enters the dedupe table


@pytest.mark.parametrize("fault", [
    {"kind": "sign", "secret": "other_mode"}, {"kind": "sign", "secret": "stale"},
    {"kind": "sign", "secret": "whsec_copied_from_the_wrong_endpoint"},
    {"kind": "timestamp", "offset": -600}, {"kind": "header", "value": "missing"},
    {"kind": "header", "value": "malformed"}, {"kind": "header", "value": "no_v1"},
    {"kind": "body", "value": "reserialized"}, {"kind": "body", "value": "crlf"},
], ids=lambda f: f"{f['kind']}-{f.get('secret') or f.get('value') or f.get('offset')}")
def test_broken_deliveries_are_rejected_and_a_resend_applies(app, fault):
    app.st.stripe_sim.webhooks.faults.add(event_type="*", **fault)
    user = app.user()
    app.upgrade(user, "pro")
    assert [a["status"] for a in app.deliveries()] == [400, 400]
    assert all(a["response_body"].startswith('{"error":"') for a in app.deliveries())
    assert "plan" not in app.metadata(user) and app.storage.processed_count() == 0
    # the operator fixes the secret, then resends (`stripe events resend`): no faults on a resend
    app.st.stripe_sim.webhooks.faults.clear()
    for attempt in app.deliveries():
        app.st.stripe_sim.webhooks.resend("test", attempt["event"], attempt["endpoint"])
    app.wait()
    assert app.plan(user) == "pro"
    assert [a["status"] for a in app.deliveries()] == [400, 400, 200, 200]


def test_dropped_attempts_are_retried_on_the_schedule(app):
    app.st.stripe_sim.webhooks.faults.add(kind="drop", attempts=1, event_type="*")
    user = app.user()
    app.upgrade(user, "pro")
    assert {a["outcome"] for a in app.deliveries()} == {"dropped"}
    assert "plan" not in app.metadata(user)
    app.retry_due(3600)
    assert app.plan(user) == "pro"
    assert [a["attempt"] for a in app.deliveries(outcome="delivered")] == [2, 2]
