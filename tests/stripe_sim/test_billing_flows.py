"""Subscriptions, invoices, Checkout completion and test clocks through the official SDK, in both modes:
the event sequences of CONTRACTS §3 and the status machine."""

from __future__ import annotations

import httpx
import pytest
import stripe

DAY = 86400


@pytest.fixture
def world(client):
    """A product with `metadata.plan`, monthly Pro and Enterprise prices, and a test clock."""
    pro = client.v1.products.create(params={"name": "Pro", "metadata": {"plan": "pro"}})
    ent = client.v1.products.create(params={"name": "Enterprise", "metadata": {"plan": "enterprise"}})
    w = {
        "pro": client.v1.prices.create(params={"product": pro.id, "unit_amount": 2900, "currency": "usd",
                                               "recurring": {"interval": "month"}}),
        "ent": client.v1.prices.create(params={"product": ent.id, "unit_amount": 9900, "currency": "usd",
                                               "recurring": {"interval": "month"}}),
        "clock": client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600}),  # 2026-01-01
    }
    return w


def card_customer(client, world, token="pm_card_visa", clock=True):
    params = {"email": "ada@example.com", "payment_method": token,
              "invoice_settings": {"default_payment_method": token}}
    if clock:
        params["test_clock"] = world["clock"].id
    return client.v1.customers.create(params=params)


def event_types(client, since_id=None):
    events = list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())
    events.reverse()
    if since_id:
        ids = [e.id for e in events]
        events = events[ids.index(since_id) + 1:]
    return events


def last_event_id(client):
    return client.v1.events.list(params={"limit": 1}).data[0].id


def test_paid_subscription_goes_incomplete_then_active_with_stripe_event_order(client, world):
    cus = card_customer(client, world)
    mark = last_event_id(client)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}],
                                                 "metadata": {"userId": "user_1"}})
    assert sub.status == "active"
    events = event_types(client, mark)
    assert [e.type for e in events] == [
        "customer.subscription.created", "invoice.created", "invoice.finalized", "payment_intent.created",
        "charge.succeeded", "payment_intent.succeeded", "invoice.updated", "invoice.paid",
        "invoice.payment_succeeded", "customer.subscription.updated"]
    assert events[0].data.object.status == "incomplete"
    assert events[-1].data.previous_attributes.status == "incomplete"
    assert events[-1].data.object.status == "active"
    paid = events[7].data.object
    assert paid.parent.subscription_details.subscription == sub.id
    assert paid.amount_paid == 2900 and paid.status == "paid"
    item = sub["items"].data[0]
    assert item.current_period_end - item.current_period_start == 31 * DAY  # January
    assert all(e.livemode is False and e.api_version == "2026-10-28.endive" for e in events)


def test_trial_subscription_is_created_trialing_with_a_paid_zero_invoice(client, world):
    cus = card_customer(client, world)
    mark = last_event_id(client)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}],
                                                 "trial_period_days": 14, "expand": ["latest_invoice"]})
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 14 * DAY
    assert sub.latest_invoice.amount_paid == 0 and sub.latest_invoice.status == "paid"
    types = [e.type for e in event_types(client, mark)]
    assert types.count("customer.subscription.created") == 1 and "payment_intent.created" not in types
    # the trial ends: a warning 3 days before, then the first real charge
    client.v1.test_helpers.test_clocks.advance(world["clock"].id,
                                               params={"frozen_time": sub.trial_end + 3600})
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active" and sub.latest_invoice.amount_paid == 2900
    types = [e.type for e in event_types(client, mark)]
    warned = types.index("customer.subscription.trial_will_end")
    assert "invoice.payment_succeeded" in types[warned:]


def test_declining_card_allow_incomplete_leaves_an_incomplete_subscription(client, world):
    cus = card_customer(client, world, "pm_card_chargeCustomerFail")
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}],
                                                 "expand": ["latest_invoice"]})
    assert sub.status == "incomplete"
    assert sub.latest_invoice.status == "open"
    failed = client.v1.events.list(params={"type": "invoice.payment_failed"})
    assert len(failed.data) == 1
    # 23 hours later an unpaid first invoice expires the subscription
    client.v1.test_helpers.test_clocks.advance(world["clock"].id,
                                               params={"frozen_time": sub.created + 24 * 3600})
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete_expired"


def test_error_if_incomplete_gives_402_and_creates_nothing(client, world):
    cus = card_customer(client, world, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as err:
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}],
                                               "payment_behavior": "error_if_incomplete"})
    assert err.value.http_status == 402 and err.value.code == "card_declined"
    assert client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"}).data == []


def test_no_payment_method_is_refused(client, world):
    cus = client.v1.customers.create(params={"email": "x@example.com"})
    with pytest.raises(stripe.InvalidRequestError, match="no attached payment source or default payment method"):
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})


def test_plan_change_is_one_updated_event_with_the_old_items(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    mark = last_event_id(client)
    item = sub["items"].data[0]
    sub = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": world["ent"].id}]})
    events = event_types(client, mark)
    assert [e.type for e in events] == ["customer.subscription.updated"]
    prev = events[0].data.previous_attributes
    assert prev["items"].data[0].price.id == world["pro"].id
    assert events[0].data.object["items"].data[0].price.id == world["ent"].id
    assert sub["items"].data[0].id == item.id


def test_plan_change_prorations_land_on_the_renewal_invoice(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": start + (end - start) // 2})
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": world["ent"].id}]})
    client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": end + 2 * 3600})
    renewal = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    # half a month of (99 - 29) on top of the 99 renewal
    assert renewal.amount_paid == 9900 + round((9900 - 2900) / 2)


def test_always_invoice_bills_the_proration_now(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    item = sub["items"].data[0]
    sub = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "price": world["ent"].id}], "proration_behavior": "always_invoice",
        "expand": ["latest_invoice"]})
    inv = sub.latest_invoice
    assert inv.billing_reason == "subscription_update" and inv.status == "paid"
    assert inv.amount_paid == 9900 - 2900


def test_cancel_now_emits_deleted(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    mark = last_event_id(client)
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    events = event_types(client, mark)
    assert [e.type for e in events] == ["customer.subscription.deleted"]
    assert events[0].data.object.status == "canceled"
    # canceled subscriptions leave the default list but stay retrievable
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)


def test_cancel_at_period_end_then_deleted_at_period_end(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    mark = last_event_id(client)
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    end = sub["items"].data[0].current_period_end
    assert sub.status == "active" and sub.cancel_at_period_end and sub.cancel_at == end
    events = event_types(client, mark)
    assert [e.type for e in events] == ["customer.subscription.updated"]
    assert events[0].data.previous_attributes.cancel_at_period_end is False
    client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": end - 60})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    clock = client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": end + 60})
    assert clock.status == "ready" and clock.frozen_time == end + 60
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == end
    deleted = [e for e in event_types(client, mark) if e.type == "customer.subscription.deleted"]
    assert len(deleted) == 1 and deleted[0].created == end
    assert not [e for e in event_types(client, mark) if e.type == "invoice.created"]


def test_renewals_follow_the_clock_month_by_month(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    for day in (50, 95):  # a clock moves at most two intervals of its shortest subscription at a time
        client.v1.test_helpers.test_clocks.advance(world["clock"].id,
                                                   params={"frozen_time": sub.created + day * DAY})
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle"] * 3 + ["subscription_create"]
    assert all(i.status == "paid" and i.amount_paid == 2900 for i in invoices)
    starts = sorted(i.lines.data[0].period.start for i in invoices)
    assert [s - starts[0] for s in starts] == [0, 31 * DAY, 59 * DAY, 90 * DAY]  # Jan, Feb, Mar


def test_test_clock_is_refused_in_live_mode(make_client, sim):
    live = make_client(sim.live_key)
    with pytest.raises(stripe.InvalidRequestError, match="only available in test mode"):
        live.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600})


# ---- Checkout -------------------------------------------------------------------------------------------

def complete(sim, client, session_id, **form):
    """Pay a session the way the hosted page does (the simulator's control route)."""
    from tiersync.stripe_sim.resources.checkout import complete_session
    ctx = sim.context("test")
    complete_session(ctx, ctx.get("checkout.session", session_id), **form)
    sim.commit(ctx)
    return client.v1.checkout.sessions.retrieve(session_id)


def new_session(client, world, **extra):
    params = {"mode": "subscription", "line_items": [{"price": world["pro"].id, "quantity": 1}],
              "success_url": "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
              "cancel_url": "https://app.example/cancel", "client_reference_id": "user_42",
              "subscription_data": {"metadata": {"userId": "user_42"}}}
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


def test_checkout_with_a_card_follows_stripe_event_order(client, sim, world):
    session = new_session(client, world, customer_email="ada@example.com")
    assert session.status == "open" and session.url.endswith(f"/c/pay/{session.id}")
    assert session.amount_total == 2900 and session.id.startswith("cs_test_")
    mark = last_event_id(client)
    done = complete(sim, client, session.id)
    assert done.status == "complete" and done.payment_status == "paid"
    events = event_types(client, mark)
    assert [e.type for e in events] == [
        "customer.created", "payment_method.attached", "customer.updated", "customer.subscription.created",
        "invoice.created", "invoice.finalized", "payment_intent.created", "charge.succeeded",
        "payment_intent.succeeded", "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
        "customer.subscription.updated", "checkout.session.completed"]
    completed = events[-1].data.object
    assert completed.subscription == done.subscription and completed.client_reference_id == "user_42"
    assert completed.mode == "subscription" and completed.customer_details.email == "ada@example.com"
    sub = client.v1.subscriptions.retrieve(done.subscription, params={"expand": ["items.data.price.product"]})
    assert sub.metadata["userId"] == "user_42"
    assert sub["items"].data[0].price.product.metadata["plan"] == "pro"


def test_checkout_with_a_100_percent_code_needs_no_payment(client, sim, world):
    coupon = client.v1.coupons.create(params={"percent_off": 100, "duration": "once"})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "FREE", "max_redemptions": 1})
    session = new_session(client, world, customer_email="b@example.com", allow_promotion_codes=True)
    mark = last_event_id(client)
    done = complete(sim, client, session.id, promotion_code="free")  # codes are case-insensitive
    assert (done.amount_total, done.payment_intent, done.payment_status) == (0, None, "no_payment_required")
    types = [e.type for e in event_types(client, mark)]
    assert "payment_intent.created" not in types and "charge.succeeded" not in types
    assert types.count("customer.subscription.created") == 1 and "invoice.paid" in types
    created = client.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    assert created.data.object.status == "active"
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    # one redemption only: a second session cannot use it
    second = new_session(client, world, customer_email="c@example.com", allow_promotion_codes=True)
    with pytest.raises(Exception, match="maximum number of redemptions"):
        complete(sim, client, second.id, promotion_code="FREE")


@pytest.mark.parametrize("stripe_mode", ["server"])  # the control route is an HTTP endpoint of the server
def test_checkout_complete_over_http_control_route(client, sim, world, stripe_mode, request):
    url = request.getfixturevalue("stripe_server").url
    session = new_session(client, world, customer_email="d@example.com")
    r = httpx.post(f"{url}/_sim/checkout/sessions/{session.id}/complete", data={"payment_method": "pm_card_visa"})
    assert r.status_code == 200 and r.json()["status"] == "complete"
    r = httpx.post(f"{url}/_sim/checkout/sessions/{session.id}/complete", data={})
    assert r.status_code == 400 and "no longer open" in r.json()["error"]["message"]
    r = httpx.post(f"{url}/_sim/checkout/sessions/cs_test_nope/complete", data={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "resource_missing"


def test_declined_card_keeps_the_session_open(client, sim, world):
    session = new_session(client, world, customer_email="e@example.com")
    from tiersync.stripe_sim.errors import CardError
    with pytest.raises(CardError):
        complete(sim, client, session.id, payment_method="pm_card_chargeDeclined")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.customers.list(params={"email": "e@example.com"}).data == []


@pytest.mark.parametrize("extra, message", [
    ({"allow_promotion_codes": True, "discounts": [{"coupon": "X"}]}, "allow_promotion_codes, discounts"),
    ({"customer": "cus_x", "customer_email": "a@b.c"}, "customer, customer_email"),
    ({"mode": "payment"}, "recurring price"),
])
def test_checkout_parameter_conflicts(client, world, extra, message):
    with pytest.raises(stripe.InvalidRequestError, match=message):
        new_session(client, world, **extra)


def test_checkout_with_a_price_of_the_other_mode(make_client, sim, world):
    live = make_client(sim.live_key)
    with pytest.raises(stripe.InvalidRequestError) as err:
        live.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": world["pro"].id, "quantity": 1}],
            "success_url": "https://app.example/s"})
    assert err.value.param == "line_items[0][price]"
    assert "a similar object exists in test mode, but a live mode key was used" in str(err.value)


def test_expire_session(client, world):
    session = new_session(client, world)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert client.v1.events.list(params={"type": "checkout.session.expired"}).data[0].data.object.id == session.id


def test_failed_renewal_is_retried_then_the_subscription_goes_unpaid(client, world):
    cus = card_customer(client, world)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": world["pro"].id}]})
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": failing.id}})
    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": end + 2 * 3600})
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "past_due" and sub.latest_invoice.attempt_count == 1
    client.v1.test_helpers.test_clocks.advance(world["clock"].id, params={"frozen_time": end + 20 * DAY})
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "unpaid"
    assert sub.latest_invoice.attempt_count == 4 and sub.latest_invoice.next_payment_attempt is None
    failed = client.v1.events.list(params={"type": "invoice.payment_failed", "limit": 10}).data
    assert len(failed) == 4
