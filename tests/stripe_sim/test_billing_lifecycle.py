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
