"""Disputes as Stripe test mode makes them (docs.stripe.com/testing#disputes), through the official SDK in both
modes: the dispute test cards, the dispute object, its events, answering with evidence, closing."""

from __future__ import annotations

import pytest
import stripe


def types_of(client, event_type):
    return client.v1.events.list(params={"type": event_type, "limit": 100}).data


def pay(client, payment_method, **extra):
    return client.v1.payment_intents.create(params={"amount": 4200, "currency": "usd", "confirm": True,
                                                    "payment_method": payment_method, **extra})


def the_dispute(client, pi):
    disputes = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert len(disputes) == 1
    return disputes[0]


def test_a_chargeback_takes_the_amount_and_the_fee(client):
    pi = pay(client, "pm_card_createDispute")
    assert pi.status == "succeeded"  # the payment itself succeeds; the dispute follows
    dispute = the_dispute(client, pi)
    assert (dispute.status, dispute.reason, dispute.amount) == ("needs_response", "fraudulent", 4200)
    assert dispute.charge == pi.latest_charge and dispute.is_charge_refundable is False
    assert dispute.payment_method_details.card.case_type == "chargeback"
    [txn] = dispute.balance_transactions
    assert (txn.amount, txn.fee, txn.net) == (-4200, 1500, -5700)
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
    assert [e.data.object.id for e in types_of(client, "charge.dispute.created")] == [dispute.id]
    assert [e.data.object.id for e in types_of(client, "charge.dispute.funds_withdrawn")] == [dispute.id]
    assert client.v1.disputes.retrieve(dispute.id).id == dispute.id


def test_an_inquiry_moves_no_money_and_closes_as_a_warning(client):
    pi = pay(client, "pm_card_createDisputeInquiry")
    dispute = the_dispute(client, pi)
    assert (dispute.status, dispute.balance_transactions, dispute.is_charge_refundable) == (
        "warning_needs_response", [], True)
    assert dispute.payment_method_details.card.case_type == "inquiry"
    assert types_of(client, "charge.dispute.funds_withdrawn") == []
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "warning_closed"
    event = types_of(client, "charge.dispute.closed")[0]
    assert event.data.previous_attributes.status == "warning_needs_response"


def test_product_not_received_card_and_closing_accepts_the_loss(client):
    dispute = the_dispute(client, pay(client, "pm_card_createDisputeProductNotReceived"))
    assert dispute.reason == "product_not_received"
    assert client.v1.disputes.close(dispute.id).status == "lost"
    with pytest.raises(stripe.InvalidRequestError) as info:  # closing is irreversible
        client.v1.disputes.update(dispute.id, params={"metadata": {"case": "1"}})
    assert info.value.http_status == 400


def test_evidence_is_stored_then_submitted_and_winning_evidence_wins(client):
    dispute = the_dispute(client, pay(client, "pm_card_createDispute"))
    draft = client.v1.disputes.update(dispute.id, params={"evidence": {"product_description": "A box"},
                                                          "submit": False, "metadata": {"case": "7"}})
    assert (draft.status, draft.evidence.product_description, draft.evidence_details.has_evidence) == (
        "needs_response", "A box", True)
    assert draft.evidence_details.submission_count == 0 and draft.metadata["case"] == "7"
    won = client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    assert (won.status, won.evidence_details.submission_count) == ("won", 1)
    assert [t.amount for t in won.balance_transactions] == [-4200, 4200]
    assert len(types_of(client, "charge.dispute.updated")) == 2
    assert [e.data.object.status for e in types_of(client, "charge.dispute.closed")] == ["won"]
    assert len(types_of(client, "charge.dispute.funds_reinstated")) == 1


def test_losing_evidence_loses(client):
    dispute = the_dispute(client, pay(client, "pm_card_createDispute"))
    lost = client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "losing_evidence"}})
    assert lost.status == "lost"
    assert types_of(client, "charge.dispute.funds_reinstated") == []


def test_a_subscription_paid_with_a_dispute_card_is_disputed(client):
    customer = client.v1.customers.create(params={"payment_method": "pm_card_createDispute",
                                                  "invoice_settings": {"default_payment_method":
                                                                       "pm_card_createDispute"}})
    product = client.v1.products.create(params={"name": "Pro"})
    price = client.v1.prices.create(params={"product": product.id, "unit_amount": 2900, "currency": "usd",
                                            "recurring": {"interval": "month"}})
    sub = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    assert sub.status == "active"
    [dispute] = client.v1.disputes.list().data
    assert dispute.amount == 2900


def test_unknown_dispute_and_bad_evidence_are_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.disputes.retrieve("du_missing")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    dispute = the_dispute(client, pay(client, "pm_card_createDispute"))
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.disputes.update(dispute.id, params={"evidence": {"favourite_colour": "blue"}})
    assert info.value.code == "parameter_unknown"
    assert client.v1.disputes.retrieve(dispute.id).evidence_details.has_evidence is False  # nothing changed
