"""When Clerk or Stripe fail, the receiver answers 5xx and forgets its claim, so the Stripe simulator's
retry (on its virtual clock) is processed afresh: nothing lost, nothing applied twice."""

from __future__ import annotations

import dataclasses

import pytest

from tiersync.receiver.app import stripe_client
from tiersync.receiver.clerk import ClerkGateway

PATCH = "PATCH /v1/users/{user_id}/metadata"


def assert_failed_then_unprocessed(app, user):
    attempts = app.deliveries()
    assert attempts and all(a["status"] is not None and a["status"] >= 500 for a in attempts), attempts
    assert all("temporary failure, retry" in a["response_body"] for a in attempts)
    assert all(app.storage.event_state(a["event"]) is None for a in attempts)  # claim released
    assert app.storage.processed_count() == 0
    assert "plan" not in app.metadata(user)
    return {a["event"] for a in attempts}


def assert_recovered(app, user, events):
    assert app.plan(user) == "pro"
    retried = app.deliveries(outcome="delivered")
    assert {a["event"] for a in retried} == events and all(a["attempt"] == 2 for a in retried)
    assert all(app.storage.event_state(e) == "done" for e in events)
    assert len(app.metadata_patches(user, status=200)) == 1  # applied once


@pytest.mark.parametrize("status", [500, 503])
def test_clerk_5xx_then_recovery_through_stripes_retry(app, status):
    user = app.user()
    app.st.clerk_sim.set_fault(PATCH, "error", count=2, status=status)
    app.upgrade(user, "pro")
    events = assert_failed_then_unprocessed(app, user)
    assert len(app.metadata_patches(user, status=status)) == 2
    app.retry_due(3600)
    assert_recovered(app, user, events)


def test_clerk_rate_limited_is_retried_too(app):
    user = app.user()
    app.st.clerk_sim.set_fault(PATCH, "rate_limit", count=2)
    app.upgrade(user, "pro")
    events = assert_failed_then_unprocessed(app, user)
    app.retry_due(3600)
    assert_recovered(app, user, events)


@pytest.fixture
def impatient_clerk(app):
    """The receiver's Clerk gateway with a 0.5 s timeout (the conftest restores the stack's after the test)."""
    state = app.st.receiver_app.state
    gateway = ClerkGateway(state.settings.clerk_secret_key, state.settings.clerk_api_url, timeout=0.5)
    state.clerk = state.sync.clerk = gateway
    return gateway


def test_clerk_timeout_then_recovery(app, impatient_clerk):
    user = app.user()
    app.st.clerk_sim.set_fault(PATCH, "timeout", count=2, delay=5)
    app.upgrade(user, "pro")
    events = assert_failed_then_unprocessed(app, user)
    assert all("Clerk unreachable" in a["response_body"] for a in app.deliveries())
    app.retry_due(3600)
    assert_recovered(app, user, events)


def test_clerk_down_for_every_retry_stays_unapplied_and_unclaimed(app):
    user = app.user()
    app.st.clerk_sim.set_fault(PATCH, "error", count=100)
    app.upgrade(user, "pro")
    app.retry_due(8 * 3600)  # the whole test-mode schedule: 1 + 3 attempts per event
    assert len(app.deliveries()) == 8 and {a["status"] for a in app.deliveries()} == {500}
    assert app.storage.processed_count() == 0 and "plan" not in app.metadata(user)
    app.st.clerk_sim.clear_faults()
    for event in {a["event"] for a in app.deliveries()}:  # what `stripe events resend` would do
        app.st.stripe_sim.webhooks.resend("test", event, app.st.world.webhook_endpoint)
    app.wait()
    assert app.plan(user) == "pro" and len(app.metadata_patches(user)) == 1


@pytest.mark.parametrize("status", ["500", "429"])
def test_stripe_refetch_failing_then_recovery(app, status):
    user = app.user()
    session = app.checkout(user)
    app.st.stripe_sim.api_faults.add(path="/v1/subscriptions*", status=status, count=2)
    app.pay(session)
    events = assert_failed_then_unprocessed(app, user)
    assert all("Stripe call failed" in a["response_body"] for a in app.deliveries())
    assert len(app.clerk_calls(f"PATCH /v1/users/{user.id}/metadata")) == 0  # never half-applied
    app.retry_due(3600)
    assert_recovered(app, user, events)


def test_stripe_refetch_timing_out(app):
    state = app.st.receiver_app.state
    # this test's BillingSync only gets an impatient Stripe client; the next reset builds a new one
    state.sync.stripe = stripe_client(dataclasses.replace(state.settings, request_timeout=0.5))
    user = app.user()
    session = app.checkout(user)
    app.st.stripe_sim.api_faults.add(path="/v1/subscriptions*", status="timeout", count=2, seconds=3)
    app.pay(session)
    events = assert_failed_then_unprocessed(app, user)
    assert all("APIConnectionError" in a["response_body"] for a in app.deliveries())
    app.retry_due(3600)
    assert_recovered(app, user, events)


def test_plan_change_with_clerk_failing_lands_after_retry(app):
    user = app.user()
    app.upgrade(user, "pro")
    sub = app.subscription(user)
    app.st.clerk_sim.set_fault(PATCH, "error", count=1)
    app.stripe.v1.subscriptions.update(sub.id, params={
        "items": [{"id": sub["items"].data[0].id, "price": app.st.world.prices["enterprise"]}]})
    app.wait()
    assert app.deliveries()[-1]["status"] == 500 and app.plan(user) == "pro"
    app.retry_due(3600)
    assert app.deliveries()[-1]["status"] == 200 and app.plan(user) == "enterprise"


def test_a_failing_clerk_is_answered_promptly_not_retried_inside_the_request(app):
    """Retrying inside the request holds the delivery past Stripe's timeout; the retry that follows is then
    answered "duplicate" while the first is still processing, and the update is lost if that one fails."""
    user = app.user()
    app.st.clerk_sim.set_fault(PATCH, "error", count=100)
    app.upgrade(user, "pro")
    assert all(a["latency_ms"] < 2000 for a in app.deliveries())
    assert len(app.metadata_patches(user, status=500)) == 2  # one Clerk call per delivery, no hidden retries
