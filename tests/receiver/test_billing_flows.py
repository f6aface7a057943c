"""The receiver against both simulators, with real signed deliveries from the Stripe simulator: upgrade,
plan change, cancellation now and at period end, past_due, plan metadata variants, user lookup."""

from __future__ import annotations

import logging
import time

import pytest

MONTH = 31 * 86400


def delivered_ok(app, event_type: str) -> list[dict]:
    got = app.deliveries(event_type, outcome="delivered")
    assert got, f"no successful delivery of {event_type}: {app.deliveries()}"
    return got


def clock_customer(app, user):
    """A test clock and a Stripe customer on it, linked to the user so the receiver's checkout uses it."""
    clock = app.stripe.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time())})
    customer = app.stripe.v1.customers.create(params={"email": user.email, "test_clock": clock.id})
    app.storage.link_customer(customer.id, user.id)
    return clock, customer


def advance_clock(app, clock, seconds: int):
    clock = app.stripe.v1.test_helpers.test_clocks.retrieve(clock.id)
    app.stripe.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": clock.frozen_time + seconds})
    app.wait()


@pytest.mark.parametrize("form", [{"payment_method": "pm_card_visa"}, {"promotion_code": "LAUNCH100"}],
                         ids=["card", "launch100"])
def test_upgrade_via_checkout(app, form):
    user = app.user()
    session = app.pay(app.checkout(user, "pro"), **form)
    meta = app.metadata(user)
    assert meta["plan"] == "pro" and meta["stripeCustomerId"] == session["customer"]
    assert meta["subscriptionId"] == session["subscription"]
    assert delivered_ok(app, "checkout.session.completed")[0]["response_body"] == '{"received":true,"tier":"pro"}'
    assert all(a["status"] == 200 for a in app.deliveries())
    assert app.sync_errors() == []
    assert app.storage.user_for_customer(session["customer"]) == user.id


def test_upgrade_straight_to_enterprise(app):
    user = app.user()
    app.upgrade(user, "enterprise", payment_method="pm_card_visa")
    assert app.plan(user) == "enterprise"


def test_plan_change_pro_to_enterprise(app):
    user = app.user()
    app.upgrade(user, "pro")
    sub = app.subscription(user)
    app.stripe.v1.subscriptions.update(sub.id, params={
        "items": [{"id": sub["items"].data[0].id, "price": app.st.world.prices["enterprise"]}]})
    app.wait()
    assert app.plan(user) == "enterprise"
    updated = delivered_ok(app, "customer.subscription.updated")
    assert '"tier":"enterprise"' in updated[-1]["response_body"]
    assert len(app.metadata_patches(user)) == 2  # the upgrade, then the plan change


def test_cancel_now_drops_to_free(app):
    user = app.user()
    app.upgrade(user, "pro")
    app.stripe.v1.subscriptions.cancel(app.subscription(user).id)
    app.wait()
    delivered_ok(app, "customer.subscription.deleted")
    meta = app.metadata(user)
    assert meta["plan"] == "free" and "subscriptionId" not in meta
    assert meta["stripeCustomerId"]  # kept: the portal and a later checkout still find the customer


def test_cancel_at_period_end_keeps_the_plan_until_the_test_clock_passes_it(app):
    user = app.user()
    clock, customer = clock_customer(app, user)
    session = app.upgrade(user, "pro", payment_method="pm_card_visa")
    assert session["customer"] == customer.id  # the receiver used the linked customer
    assert app.plan(user) == "pro"
    sub = app.subscription(user)
    assert sub.test_clock == clock.id
    app.stripe.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    app.wait()
    assert app.deliveries("customer.subscription.updated")[-1]["status"] == 200
    assert app.plan(user) == "pro"
    advance_clock(app, clock, 7 * 86400)  # a week later: still paid for
    assert app.plan(user) == "pro" and not app.deliveries("customer.subscription.deleted")
    advance_clock(app, clock, MONTH)  # past the period end
    delivered_ok(app, "customer.subscription.deleted")
    assert app.stripe.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert app.plan(user) == "free"


def past_due_user(app):
    user = app.user()
    clock, _ = clock_customer(app, user)
    app.upgrade(user, "pro", payment_method="pm_card_chargeCustomerFail", promotion_code="LAUNCH100")
    assert app.plan(user) == "pro"
    advance_clock(app, clock, MONTH + 2 * 3600)  # renewal, then the finalized invoice's charge fails
    assert app.subscription(user).status == "past_due"
    assert all(a["status"] == 200 for a in app.deliveries("customer.subscription.updated"))
    return user


def test_past_due_keeps_the_plan_by_default(app):
    user = past_due_user(app)
    assert app.plan(user) == "pro"
    assert app.sync_errors() == []


def test_past_due_drops_the_plan_when_configured(app):
    app.set_settings(past_due_keeps_plan=False)
    user = past_due_user(app)
    assert app.plan(user) == "free"


@pytest.mark.parametrize("variant", ["Pro", " pro ", "PRO"])
def test_miscased_plan_metadata_resolves_with_a_warning(app, caplog, variant):
    caplog.set_level(logging.WARNING, logger="tiersync.receiver")
    app.stripe.v1.products.update(app.st.world.products["pro"], params={"metadata": {"plan": variant}})
    user = app.user()
    app.upgrade(user, "pro")
    assert app.plan(user) == "pro"
    assert any(f"metadata.plan={variant!r}; read as 'pro'" in m for m in caplog.messages)
    assert app.sync_errors() == []


def test_missing_plan_metadata_is_a_sync_error_not_silently_free(app):
    app.stripe.v1.products.update(app.st.world.products["pro"], params={"metadata": {"plan": ""}})
    user = app.user()
    app.upgrade(user, "pro")
    assert "plan" not in app.metadata(user)
    errors = app.sync_errors("missing_plan")
    assert errors and app.st.world.products["pro"] in errors[0]["message"]
    assert all(a["status"] == 200 for a in app.deliveries())  # a data problem: not retried forever


def test_unknown_plan_leaves_the_tier_as_it_was(app):
    user = app.user()
    app.upgrade(user, "pro")
    gold = app.stripe.v1.products.create(params={"name": "Gold", "metadata": {"plan": "gold"}})
    price = app.stripe.v1.prices.create(params={"product": gold.id, "unit_amount": 4900, "currency": "usd",
                                                "recurring": {"interval": "month"}})
    sub = app.subscription(user)
    app.stripe.v1.subscriptions.update(sub.id, params={"items": [{"id": sub["items"].data[0].id, "price": price.id}]})
    app.wait()
    assert app.plan(user) == "pro"
    (error,) = app.sync_errors("unknown_plan")
    assert "'gold'" in error["message"] and gold.id in error["message"]


def direct_session(app, user, **extra):
    """A checkout session made without the receiver: client_reference_id only, no userId metadata."""
    return app.stripe.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": app.st.world.prices["pro"], "quantity": 1}],
        "client_reference_id": user.id, "customer_email": user.email, "allow_promotion_codes": True,
        "success_url": "http://127.0.0.1/ok", **extra})


def test_client_reference_id_alone_is_enough(app):
    user = app.user()
    session = direct_session(app, user)
    app.pay(session.id, payment_method="pm_card_visa")
    order = [a["type"] for a in app.deliveries()]
    assert order.index("customer.subscription.created") < order.index("checkout.session.completed")
    assert app.plan(user) == "pro"
    assert app.stripe.v1.subscriptions.retrieve(app.metadata(user)["subscriptionId"]).metadata.to_dict() == {}
    assert app.sync_errors() == []  # the subscription events came first and still found the user


@pytest.mark.parametrize("fault", [
    {"kind": "hold", "event_type": "customer.subscription.*", "until": "checkout.session.completed"},
    {"kind": "reverse", "window": 2, "event_type": "*"},
], ids=["hold-subscription-events", "reverse"])
def test_client_reference_id_alone_converges_in_any_order(app, fault):
    app.st.stripe_sim.webhooks.faults.add(**fault)
    user = app.user()
    app.pay(direct_session(app, user).id)
    app.wait()
    order = [a["type"] for a in app.deliveries()]
    assert order.index("checkout.session.completed") < order.index("customer.subscription.created")
    assert app.plan(user) == "pro"
    assert all(a["status"] == 200 for a in app.deliveries())


def test_subscription_created_via_the_api_with_metadata_user_id(app):
    user = app.user()
    customer = app.stripe.v1.customers.create(params={"email": user.email, "payment_method": "pm_card_visa",
                                                      "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    app.stripe.v1.subscriptions.create(params={"customer": customer.id, "metadata": {"userId": user.id},
                                               "items": [{"price": app.st.world.prices["enterprise"]}]})
    app.wait()
    assert app.plan(user) == "enterprise"
    assert app.storage.user_for_customer(customer.id) == user.id


def test_a_user_deleted_in_clerk_is_a_sync_error_not_a_retry_loop(app):
    user = app.user()
    session = app.checkout(user)
    app.st.clerk_sim.delete_user(user.id)
    app.pay(session)
    assert all(a["status"] == 200 for a in app.deliveries())
    assert app.sync_errors("clerk_user_missing")
