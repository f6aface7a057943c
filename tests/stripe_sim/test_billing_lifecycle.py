"""Billing behaviours beyond the main flows, through the official SDK in both modes: trial endings
(trial_will_end, pause), invoice send / mark_uncollectible, legacy card sources."""

from __future__ import annotations

import pytest
import stripe

DAY = 86400
START = 1_767_225_600  # 2026-01-01


@pytest.fixture
def price(client):
    product = client.v1.products.create(params={"name": "Pro", "metadata": {"plan": "pro"}})
    return client.v1.prices.create(params={"product": product.id, "unit_amount": 2900, "currency": "usd",
                                           "recurring": {"interval": "month"}})


@pytest.fixture
def clock(client):
    return client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})


def types_of(client, event_type):
    return client.v1.events.list(params={"type": event_type, "limit": 100}).data


def test_trial_will_end_three_days_before_the_end_then_again_when_the_end_moves_near(client, price, clock):
    cus = client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "trial_period_days": 14})
    assert types_of(client, "customer.subscription.trial_will_end") == []
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 11 * DAY + 60})
    warned = types_of(client, "customer.subscription.trial_will_end")
    assert [e.data.object.id for e in warned] == [sub.id]
    # moving the end two days ahead announces it again, at once (fewer than three days remain)
    client.v1.subscriptions.update(sub.id, params={"trial_end": START + 13 * DAY + 60})
    assert len(types_of(client, "customer.subscription.trial_will_end")) == 2


@pytest.mark.parametrize("behaviour, status, invoices", [
    ("pause", "paused", 1), ("cancel", "canceled", 1), ("create_invoice", "past_due", 2)])
def test_trial_ending_without_a_payment_method(client, price, clock, behaviour, status, invoices):
    """trial_settings.end_behavior.missing_payment_method (docs.stripe.com/billing/subscriptions/trials)."""
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    sub = client.v1.subscriptions.create(params={
        "customer": cus.id, "items": [{"price": price.id}], "trial_period_days": 7,
        "trial_settings": {"end_behavior": {"missing_payment_method": behaviour}}})
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 8 * DAY})
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == status
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == invoices
    assert bool(types_of(client, "customer.subscription.paused")) == (behaviour == "pause")
    if behaviour == "pause":  # paused: no renewal, no invoice, however far the clock goes
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 40 * DAY})
        assert client.v1.subscriptions.retrieve(sub.id).status == "paused"
        assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def one_off_invoice(client, **extra):
    cus = client.v1.customers.create(params={"email": "bob@example.com"})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd"})
    return client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include",
                                             **extra})


def test_send_finalizes_a_draft_and_emits_sent(client):
    inv = one_off_invoice(client, collection_method="send_invoice", days_until_due=7)
    sent = client.v1.invoices.send_invoice(inv.id)
    assert sent.status == "open" and sent.number
    assert [e.data.object.id for e in types_of(client, "invoice.sent")] == [inv.id]


def test_mark_uncollectible_only_for_open_invoices(client):
    inv = one_off_invoice(client)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.mark_uncollectible(inv.id)  # a draft
    client.v1.invoices.finalize_invoice(inv.id)
    marked = client.v1.invoices.mark_uncollectible(inv.id)
    assert marked.status == "uncollectible" and marked.status_transitions.marked_uncollectible_at
    assert types_of(client, "invoice.marked_uncollectible")[0].data.previous_attributes.status == "open"


def test_legacy_card_source_is_charged(client, price):
    cus = client.v1.customers.create(params={"source": "tok_visa"})
    assert cus.default_source
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sub.status == "active"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.create(params={"source": "tok_nope"})
    assert info.value.code == "resource_missing" and info.value.param == "source"


# ---- proration credit and the customer balance ------------------------------------------------------------

@pytest.fixture
def prices(client):
    product = client.v1.products.create(params={"name": "Plans"})
    return [client.v1.prices.create(params={"product": product.id, "unit_amount": amount, "currency": "usd",
                                            "recurring": {"interval": "month"}}) for amount in (1000, 3000)]


def test_downgrade_credit_goes_to_the_balance_and_pays_the_next_invoice(client, prices, clock):
    """A negative invoice total is credited to the customer's balance, which "automatically applies toward the
    next invoice finalized to a customer" (docs.stripe.com/billing/customer/balance)."""
    cheap, dear = prices
    cus = client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": dear.id}]})
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 15 * DAY})
    item = sub["items"].data[0].id
    sub = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item, "price": cheap.id}],
                                                         "proration_behavior": "always_invoice"})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.billing_reason == "subscription_update" and inv.total < 0
    assert (inv.status, inv.amount_due, inv.starting_balance, inv.ending_balance) == ("paid", 0, 0, inv.total)
    credit = inv.total
    cus = client.v1.customers.retrieve(cus.id)
    assert cus.balance == credit
    txns = client.v1.customers.balance_transactions.list(cus.id).data
    assert [(t.type, t.amount, t.invoice, t.ending_balance) for t in txns] == [
        ("applied_to_invoice", credit, inv.id, credit)]
    assert client.v1.customers.balance_transactions.retrieve(cus.id, txns[0].id).id == txns[0].id
    # the renewal uses the credit first
    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + 2 * 3600})
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    assert renewal.starting_balance == credit
    assert renewal.amount_paid == renewal.total + max(credit, -renewal.total)
    assert client.v1.customers.retrieve(cus.id).balance == min(0, credit + renewal.total)


def test_balance_adjustments_and_their_errors(client):
    cus = client.v1.customers.create(params={"balance": 500})
    txn = client.v1.customers.balance_transactions.create(cus.id, params={"amount": -800, "currency": "usd",
                                                                          "description": "goodwill"})
    assert (txn.type, txn.amount, txn.ending_balance, txn.description) == ("adjustment", -800, -300, "goodwill")
    assert client.v1.customers.retrieve(cus.id).balance == -300
    types = [t.type for t in client.v1.customers.balance_transactions.list(cus.id).data]
    assert types == ["adjustment", "initial"]
    updated = client.v1.customers.balance_transactions.update(cus.id, txn.id, params={"metadata": {"k": "v"}})
    assert updated.metadata.to_dict() == {"k": "v"}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.balance_transactions.create(cus.id, params={"amount": 1, "currency": "eur"})
    assert info.value.param == "currency"
    other = client.v1.customers.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.balance_transactions.retrieve(other.id, txn.id)
    assert info.value.http_status == 404


# ---- what happens after the last payment retry -------------------------------------------------------------

def set_after_retries(sim, value):
    resp = sim.handle("POST", "/_sim/settings/failed_payments", "",
                      {"content-type": "application/x-www-form-urlencoded"}, f"after_all_retries={value}".encode())
    assert resp.status == 200, resp.json()


@pytest.mark.parametrize("setting, status", [
    ("cancel", "canceled"), ("mark_unpaid", "unpaid"), ("leave_past_due", "past_due")])
def test_the_account_setting_decides_after_the_last_retry(client, sim, price, clock, setting, status):
    set_after_retries(sim, setting)
    cus = client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": failing.id}})
    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + 20 * DAY})
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == status
    assert sub.latest_invoice.attempt_count == 4 and sub.latest_invoice.next_payment_attempt is None
    if setting == "cancel":
        assert sub.cancellation_details.reason == "payment_failed"


def test_an_unpaid_subscriptions_renewals_are_invoiced_not_charged(client, sim, price, clock):
    set_after_retries(sim, "mark_unpaid")
    cus = client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": failing.id}})
    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + 20 * DAY})
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    charges_before = len(types_of(client, "payment_intent.created"))
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": end + 70 * DAY})  # two renewals
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "unpaid"
    assert len(types_of(client, "payment_intent.created")) == charges_before  # no payment attempted
    renewal = sub.latest_invoice
    assert (renewal.status, renewal.attempt_count, renewal.next_payment_attempt) == ("open", 0, None)
    # paying the latest invoice brings it back
    client.v1.invoices.pay(renewal.id, params={"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_failed_payments_setting_is_per_mode_and_refuses_unknown_values(sim):
    resp = sim.handle("POST", "/_sim/settings/failed_payments", "",
                      {"content-type": "application/x-www-form-urlencoded"},
                      b"after_all_retries=cancel&mode=live")
    assert resp.json()["after_all_retries"] == {"test": "mark_unpaid", "live": "cancel"}
    bad = sim.handle("POST", "/_sim/settings/failed_payments", "",
                     {"content-type": "application/x-www-form-urlencoded"}, b"after_all_retries=delete")
    assert bad.status == 400 and bad.json()["error"]["param"] == "after_all_retries"


# ---- resume, invoice items, discounts, payments --------------------------------------------------------------

def paused_subscription(client, price, clock):
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    sub = client.v1.subscriptions.create(params={
        "customer": cus.id, "items": [{"price": price.id}], "trial_period_days": 7,
        "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}}})
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 8 * DAY})
    return cus, client.v1.subscriptions.retrieve(sub.id)


def test_resume_a_paused_subscription_after_adding_a_card(client, price, clock):
    cus, sub = paused_subscription(client, price, clock)
    assert sub.status == "paused"
    with pytest.raises(stripe.InvalidRequestError):  # only paused subscriptions resume
        client.v1.subscriptions.resume(
            client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                   "trial_period_days": 3}).id)
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    pm = client.v1.payment_methods.list(params={"customer": cus.id}).data[0]
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    resumed = client.v1.subscriptions.resume(sub.id)
    assert resumed.status == "active"
    assert resumed["items"].data[0].current_period_start == START + 8 * DAY
    inv = client.v1.invoices.retrieve(resumed.latest_invoice)
    assert (inv.status, inv.amount_paid) == ("paid", 2900)
    assert [e.data.object.id for e in types_of(client, "customer.subscription.resumed")] == [sub.id]


def test_resume_without_a_working_card_is_past_due(client, price, clock):
    _, sub = paused_subscription(client, price, clock)
    assert client.v1.subscriptions.resume(sub.id).status == "past_due"


def test_update_a_pending_invoice_item_and_one_on_a_draft(client):
    cus = client.v1.customers.create(params={})
    item = client.v1.invoice_items.create(params={"customer": cus.id, "amount": 1000, "currency": "usd"})
    item = client.v1.invoice_items.update(item.id, params={"amount": 1500, "description": "setup fee"})
    assert (item.amount, item.description) == (1500, "setup fee")
    inv = client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})
    assert inv.total == 1500
    client.v1.invoice_items.update(item.id, params={"amount": 2500})
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.total, inv.lines.data[0].amount) == (2500, 2500)
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError):  # not once its invoice is finalized
        client.v1.invoice_items.update(item.id, params={"amount": 1})


def test_delete_a_subscriptions_discount(client, price):
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "discounts": [{"coupon": coupon.id}]})
    deleted = client.v1.subscriptions.delete_discount(sub.id)
    assert deleted.deleted is True and deleted.object == "discount" and deleted.subscription == sub.id
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    assert types_of(client, "customer.discount.deleted")[0].data.object.id == deleted.id
    with pytest.raises(stripe.InvalidRequestError):  # "an error ... if no discount exists on this subscription"
        client.v1.subscriptions.delete_discount(sub.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.delete_discount(cus.id)


def test_the_payment_intent_and_charge_of_an_invoice_can_be_retrieved(client, price):
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    charge_event = types_of(client, "charge.succeeded")[0]
    charge = client.v1.charges.retrieve(charge_event.data.object.id)
    pi = client.v1.payment_intents.retrieve(charge.payment_intent)
    assert (pi.status, pi.latest_charge, pi.amount_received) == ("succeeded", charge.id, 2900)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.retrieve("ch_nope")
    assert info.value.http_status == 404


def test_plans_are_recurring_prices_seen_the_older_way(client, price):
    plan = client.v1.plans.create(params={"currency": "usd", "interval": "month", "amount": 2000,
                                          "product": {"name": "Legacy"}})
    assert plan.id.startswith("plan_") and (plan.object, plan.amount, plan.interval) == ("plan", 2000, "month")
    assert client.v1.prices.retrieve(plan.id).unit_amount == 2000  # one object, two views
    assert client.v1.plans.retrieve(price.id).amount == 2900  # and a price made as a price reads as a plan
    updated = client.v1.plans.update(plan.id, params={"metadata": {"foo": "bar"}})
    assert updated.metadata.to_dict() == {"foo": "bar"}
    assert types_of(client, "plan.updated")[0].data.previous_attributes.metadata.to_dict() == {}
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": plan.id}]})
    assert sub["items"].data[0].plan.id == plan.id
    assert client.v1.plans.delete(plan.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.plans.retrieve(plan.id)
    assert info.value.http_status == 404 and f"No such plan: '{plan.id}'" in str(info.value)
    with pytest.raises(stripe.InvalidRequestError):  # no new subscribers
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": plan.id}]})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"  # existing ones are not affected
    assert plan.id not in [pl.id for pl in client.v1.plans.list().data]
    assert [e.type for e in types_of(client, "plan.created")] == ["plan.created"]


# ---- credit notes ------------------------------------------------------------------------------------------

def test_credit_note_on_an_open_invoice_lowers_what_is_due_and_in_full_pays_it(client):
    inv = one_off_invoice(client)  # 2000
    client.v1.invoices.finalize_invoice(inv.id)
    cn = client.v1.credit_notes.create(params={"invoice": inv.id, "lines": [
        {"type": "custom_line_item", "unit_amount": 500, "quantity": 1, "description": "goodwill"}]})
    assert (cn.type, cn.total, cn.status, cn.pre_payment_amount) == ("pre_payment", 500, "issued", 500)
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.amount_due, inv.amount_remaining, inv.pre_payment_credit_notes_amount) == (1500, 1500, 500)
    with pytest.raises(stripe.InvalidRequestError):  # more than is left
        client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 1600})
    line = inv.lines.data[0].id
    client.v1.credit_notes.create(params={"invoice": inv.id, "lines": [
        {"type": "invoice_line_item", "invoice_line_item": line, "amount": 1500}]})
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.status, inv.amount_remaining) == ("paid", 0)
    assert len(client.v1.credit_notes.list(params={"invoice": inv.id}).data) == 2


def test_credit_note_on_a_paid_invoice_credits_the_balance_and_void_takes_it_back(client):
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd"})
    inv = client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})
    inv = client.v1.invoices.pay(inv.id)
    assert inv.status == "paid"
    with pytest.raises(stripe.InvalidRequestError) as info:  # the split must add up
        client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 800})
    assert info.value.param == "credit_amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 800, "refund_amount": 800})
    assert info.value.param == "refund_amount"
    cn = client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 800, "credit_amount": 800,
                                              "memo": "late delivery"})
    assert (cn.type, cn.post_payment_amount) == ("post_payment", 800)
    assert client.v1.customers.retrieve(cus.id).balance == -800
    txn = client.v1.customers.balance_transactions.retrieve(cus.id, cn.customer_balance_transaction)
    assert (txn.type, txn.amount) == ("credit_note", -800)
    client.v1.credit_notes.update(cn.id, params={"metadata": {"ticket": "42"}})
    voided = client.v1.credit_notes.void_credit_note(cn.id)
    assert voided.status == "void" and voided.voided_at
    assert client.v1.customers.retrieve(cus.id).balance == 0
    assert [t for t in ("credit_note.created", "credit_note.updated", "credit_note.voided")
            if not types_of(client, t)] == []


# ---- subscription schedules ----------------------------------------------------------------------------------

def card_customer_on(client, clock):
    return client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                              "invoice_settings": {"default_payment_method": "pm_card_visa"}})


def two_phases(price):
    return [{"items": [{"price": price.id, "quantity": 1}], "iterations": 1},
            {"items": [{"price": price.id, "quantity": 2}], "iterations": 1}]


@pytest.mark.parametrize("end_behavior, sub_status", [("release", "active"), ("cancel", "canceled")])
def test_schedule_moves_through_its_phases_then_ends(client, price, clock, end_behavior, sub_status):
    cus = card_customer_on(client, clock)
    sched = client.v1.subscription_schedules.create(params={
        "customer": cus.id, "start_date": "now", "end_behavior": end_behavior, "phases": two_phases(price)})
    assert sched.status == "active" and sched.current_phase.start_date == START
    sub = client.v1.subscriptions.retrieve(sched.subscription)
    assert (sub.status, sub.schedule, sub["items"].data[0].quantity) == ("active", sched.id, 1)
    # one month on: phase 2's items, and the renewal bills them
    phase_end = sched.phases[0].end_date
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": phase_end + 2 * 3600})
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub["items"].data[0].quantity == 2
    assert (sub.latest_invoice.billing_reason, sub.latest_invoice.amount_paid) == ("subscription_cycle", 5800)
    assert client.v1.subscription_schedules.retrieve(sched.id).current_phase.start_date == phase_end
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": sched.phases[1].end_date + 60})
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert (sched.status, sched.completed_at) == ("completed", sched.phases[1].end_date)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert (sub.status, sub.schedule) == (sub_status, None if end_behavior == "release" else sched.id)
    kinds = [e.type for e in client.v1.events.list(params={"limit": 100}).data if e.type.startswith("subscription_s")]
    assert {"subscription_schedule.created", "subscription_schedule.updated", "subscription_schedule.expiring",
            "subscription_schedule.completed"} <= set(kinds)


def test_schedule_starting_later_makes_its_subscription_then(client, price, clock):
    cus = card_customer_on(client, clock)
    sched = client.v1.subscription_schedules.create(params={
        "customer": cus.id, "start_date": START + 10 * DAY, "phases": two_phases(price)[:1]})
    assert (sched.status, sched.subscription, sched.current_phase) == ("not_started", None, None)
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 10 * DAY + 60})
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert sched.status == "active"
    sub = client.v1.subscriptions.retrieve(sched.subscription)
    assert (sub.status, sub.start_date) == ("active", START + 10 * DAY)


def test_release_and_cancel(client, price, clock):
    cus = card_customer_on(client, clock)
    kept = client.v1.subscription_schedules.create(params={"customer": cus.id, "phases": two_phases(price)})
    released = client.v1.subscription_schedules.release(kept.id)
    assert (released.status, released.subscription, released.released_subscription) == (
        "released", None, kept.subscription)
    assert client.v1.subscriptions.retrieve(kept.subscription).schedule is None
    with pytest.raises(stripe.InvalidRequestError):  # only not_started or active schedules
        client.v1.subscription_schedules.cancel(kept.id)
    gone = client.v1.subscription_schedules.create(params={"customer": cus.id, "phases": two_phases(price)})
    canceled = client.v1.subscription_schedules.cancel(gone.id)
    assert canceled.status == "canceled" and canceled.canceled_at
    assert client.v1.subscriptions.retrieve(gone.subscription).status == "canceled"
    assert len(types_of(client, "subscription_schedule.canceled")) == 1  # one event, not one per side
    with pytest.raises(stripe.InvalidRequestError):  # a released schedule no longer changes
        client.v1.subscription_schedules.update(kept.id, params={"metadata": {"a": "b"}})
    live = client.v1.subscription_schedules.create(params={"customer": cus.id, "phases": two_phases(price)})
    assert client.v1.subscription_schedules.update(live.id, params={"metadata": {"a": "b"}}).metadata.to_dict() == {
        "a": "b"}
    assert len(client.v1.subscription_schedules.list(params={"customer": cus.id}).data) == 3


def test_delinquency_aborts_the_schedule(client, sim, price, clock):
    set_after_retries(sim, "cancel")
    cus = card_customer_on(client, clock)
    sched = client.v1.subscription_schedules.create(params={
        "customer": cus.id, "phases": [{"items": [{"price": price.id}], "iterations": 6}]})
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": failing.id}})
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START + 55 * DAY})
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert sched.status == "canceled"
    assert [e.data.object.id for e in types_of(client, "subscription_schedule.aborted")] == [sched.id]
    assert types_of(client, "subscription_schedule.canceled") == []


# ---- PaymentIntents, charges and refunds ---------------------------------------------------------------------

def test_payment_intent_confirmed_with_a_card_succeeds_and_can_be_refunded(client):
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True})
    assert (pi.status, pi.amount_received) == ("succeeded", 2000)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.paid, charge.captured, charge.amount_captured) == (True, True, 2000)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})
    assert (refund.status, refund.amount, refund.charge) == ("succeeded", 500, charge.id)
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    client.v1.refunds.create(params={"charge": charge.id})  # the rest
    assert client.v1.charges.retrieve(charge.id).refunded is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"charge": charge.id})
    assert info.value.code == "charge_already_refunded"
    client.v1.refunds.update(refund.id, params={"metadata": {"order_id": "6735"}})
    assert types_of(client, "charge.refund.updated")[0].data.object.id == refund.id


def test_payment_intent_manual_capture_and_cancel(client):
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "capture_method": "manual",
                                                  "payment_method": "pm_card_visa", "confirm": True})
    assert (pi.status, pi.amount_capturable) == ("requires_capture", 2000)
    assert client.v1.charges.retrieve(pi.latest_charge).captured is False
    pi = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1500})
    assert (pi.status, pi.amount_received) == ("succeeded", 1500)
    assert client.v1.charges.retrieve(pi.latest_charge).amount_captured == 1500
    with pytest.raises(stripe.InvalidRequestError) as info:  # a succeeded intent cannot be canceled
        client.v1.payment_intents.cancel(pi.id)
    assert info.value.code == "payment_intent_unexpected_state"
    open_pi = client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    assert open_pi.status == "requires_payment_method"
    canceled = client.v1.payment_intents.cancel(open_pi.id, params={"cancellation_reason": "requested_by_customer"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")


def test_declined_confirmation_is_a_402_yet_recorded(client):
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "confirm": True,
                                                 "payment_method": "pm_card_chargeDeclined"})
    assert info.value.http_status == 402 and info.value.code == "card_declined"
    failed = types_of(client, "payment_intent.payment_failed")[0].data.object
    pi = client.v1.payment_intents.retrieve(failed.id)  # the intent exists, waiting for another card
    assert (pi.status, pi.last_payment_error.decline_code) == ("requires_payment_method", "generic_decline")
    assert client.v1.charges.retrieve(pi.latest_charge).status == "failed"
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert pi.status == "succeeded"


def test_authentication_required_waits_for_action(client):
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "confirm": True,
                                                  "payment_method": "pm_card_authenticationRequired"})
    assert (pi.status, pi.next_action.type) == ("requires_action", "use_stripe_sdk")


# ---- SetupIntents -------------------------------------------------------------------------------------------

def test_setup_intent_saves_a_card_for_the_customers_renewals(client, price):
    cus = client.v1.customers.create(params={})
    si = client.v1.setup_intents.create(params={"customer": cus.id, "payment_method": "pm_card_visa",
                                                "confirm": True, "usage": "off_session"})
    assert si.status == "succeeded"
    pm = client.v1.payment_methods.retrieve(si.payment_method)
    assert pm.customer == cus.id  # attached
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    assert client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]}).status == "active"


def test_setup_intent_failures_and_cancel(client):
    with pytest.raises(stripe.CardError):
        client.v1.setup_intents.create(params={"payment_method": "pm_card_chargeDeclined", "confirm": True})
    failed = types_of(client, "setup_intent.setup_failed")[0].data.object
    assert client.v1.setup_intents.retrieve(failed.id).status == "requires_payment_method"
    si = client.v1.setup_intents.create(params={"payment_method": "pm_card_authenticationRequired", "confirm": True})
    assert si.status == "requires_action"
    assert client.v1.setup_intents.cancel(si.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.setup_intents.cancel(si.id)
    assert info.value.code == "setup_intent_unexpected_state"


def test_card_sources_of_a_customer(client, price):
    cus = client.v1.customers.create(params={})
    card = client.v1.customers.payment_sources.create(cus.id, params={"source": "tok_visa"})
    assert (card.object, card.brand, card.last4, card.customer) == ("card", "Visa", "4242", cus.id)
    assert card.id.startswith("card_") and client.v1.customers.retrieve(cus.id).default_source == card.id
    client.v1.customers.payment_sources.update(cus.id, card.id, params={"metadata": {"foo": "bar"}})
    assert types_of(client, "customer.source.updated")[0].data.previous_attributes.metadata.to_dict() == {}
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sub.status == "active"  # invoices charge the default source
    with pytest.raises(stripe.CardError):  # a card declined when added is refused
        client.v1.customers.payment_sources.create(cus.id, params={"source": "tok_chargeDeclined"})
    client.v1.customers.payment_sources.delete(cus.id, card.id)
    assert client.v1.customers.retrieve(cus.id).default_source is None
    assert client.v1.customers.payment_sources.list(cus.id).data == []


def test_tax_rates_are_objects_not_yet_applied(client, price):
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "inclusive": False, "percentage": 20.5,
                                              "country": "FR", "tax_type": "vat"})
    assert (rate.object, rate.percentage, rate.active, rate.rate_type) == ("tax_rate", 20.5, True, "percentage")
    archived = client.v1.tax_rates.update(rate.id, params={"active": False})
    assert archived.active is False
    assert [r.id for r in client.v1.tax_rates.list(params={"active": False}).data] == [rate.id]
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as info:  # applying them is not simulated: refused, never ignored
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                               "default_tax_rates": [rate.id]})
    assert info.value.code == "parameter_unknown"


# ---- quotes ------------------------------------------------------------------------------------------------

def test_quote_finalized_then_accepted_starts_a_subscription(client, price):
    cus = client.v1.customers.create(params={"source": "tok_visa"})
    quote = client.v1.quotes.create(params={"customer": cus.id, "line_items": [{"price": price.id, "quantity": 10}]})
    assert (quote.status, quote.amount_total, quote.number) == ("draft", 29000, None)
    assert quote.computed.recurring.amount_total == 29000 and quote.computed.recurring.interval == "month"
    assert [li.quantity for li in client.v1.quotes.line_items.list(quote.id).data] == [10]
    with pytest.raises(stripe.InvalidRequestError):  # a draft cannot be accepted
        client.v1.quotes.accept(quote.id)
    quote = client.v1.quotes.finalize_quote(quote.id)
    assert quote.status == "open" and quote.number.startswith("QT-")
    quote = client.v1.quotes.accept(quote.id)
    assert quote.status == "accepted" and quote.status_transitions.accepted_at
    sub = client.v1.subscriptions.retrieve(quote.subscription)
    assert (sub.status, sub["items"].data[0].quantity) == ("active", 10)
    assert client.v1.invoices.retrieve(quote.invoice).amount_paid == 29000


def test_quote_of_one_time_items_makes_a_draft_invoice_and_quotes_cancel(client):
    product = client.v1.products.create(params={"name": "Setup"})
    once = client.v1.prices.create(params={"product": product.id, "unit_amount": 5000, "currency": "usd"})
    cus = client.v1.customers.create(params={})
    quote = client.v1.quotes.create(params={"customer": cus.id, "line_items": [{"price": once.id}]})
    client.v1.quotes.finalize_quote(quote.id)
    inv = client.v1.invoices.retrieve(client.v1.quotes.accept(quote.id).invoice)
    assert (inv.status, inv.total) == ("draft", 5000)
    other = client.v1.quotes.create(params={"customer": cus.id, "line_items": [{"price": once.id}]})
    assert client.v1.quotes.cancel(other.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.quotes.finalize_quote(other.id)
    kinds = {e.type for e in client.v1.events.list(params={"limit": 100}).data}
    assert {"quote.created", "quote.finalized", "quote.accepted", "quote.canceled"} <= kinds


# ---- Checkout in setup mode ----------------------------------------------------------------------------------

def test_checkout_setup_mode_saves_a_card_for_the_customer(client, sim):
    """Setup mode sells nothing: no amounts, no line items; completing it saves the card through a SetupIntent
    (attached to the session's customer) and the session completes with `no_payment_required`."""
    cus = client.v1.customers.create(params={"email": "ada@example.com"})
    session = client.v1.checkout.sessions.create(params={
        "mode": "setup", "customer": cus.id, "currency": "usd", "success_url": "https://app.test/ok",
        "setup_intent_data": {"metadata": {"reason": "card update"}}})
    assert (session.amount_total, session.setup_intent, session.status) == (None, None, "open")
    resp = sim.handle("POST", f"/_sim/checkout/sessions/{session.id}/complete", "",
                      {"content-type": "application/x-www-form-urlencoded"}, b"payment_method=pm_card_visa")
    assert resp.status == 200, resp.json()
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    si = client.v1.setup_intents.retrieve(done.setup_intent)
    assert (si.status, si.customer, si.metadata.to_dict()) == ("succeeded", cus.id, {"reason": "card update"})
    assert client.v1.payment_methods.retrieve(si.payment_method).customer == cus.id
    price_product = client.v1.products.create(params={"name": "x"})
    price = client.v1.prices.create(params={"product": price_product.id, "unit_amount": 100, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as info:  # setup mode sells nothing
        client.v1.checkout.sessions.create(params={"mode": "setup", "success_url": "https://app.test/ok",
                                                   "line_items": [{"price": price.id, "quantity": 1}]})
    assert info.value.param == "line_items"
