"""The legacy Charges API through stripe-python in both modes (API reference "Charges": create, update, capture),
and what Stripe refuses for card payments: refund cancel/expire, incremental authorization."""

from __future__ import annotations

import pytest
import stripe


def types(client):
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_a_token_charge_succeeds_and_shows_its_card_as_source(client):
    charge = client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa",
                                              "description": "one-off", "metadata": {"order": "7"}})
    assert (charge.status, charge.paid, charge.captured, charge.amount_captured) == ("succeeded", True, True, 2000)
    assert charge.payment_intent is None and charge.source.object == "card" and charge.source.last4 == "4242"
    assert charge.payment_method == charge.source.id and charge.metadata.to_dict() == {"order": "7"}
    assert client.v1.charges.retrieve(charge.id).id == charge.id
    assert types(client)[-1] == "charge.succeeded"
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 500})
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 500 and refund.status == "succeeded"


def test_a_customer_is_charged_on_their_default_source_or_a_card_of_theirs(client):
    cus = client.v1.customers.create(params={"source": "tok_mastercard"})
    charge = client.v1.charges.create(params={"amount": 1500, "currency": "usd", "customer": cus.id})
    assert (charge.customer, charge.source.id, charge.source.brand) == (cus.id, cus.default_source, "MasterCard")
    other = client.v1.customers.payment_sources.create(cus.id, params={"source": "tok_amex"})
    charge = client.v1.charges.create(params={"amount": 1500, "currency": "usd", "customer": cus.id,
                                              "source": other.id})
    assert charge.source.id == other.id
    with pytest.raises(stripe.InvalidRequestError) as info:  # a token is not a source of this customer
        client.v1.charges.create(params={"amount": 1500, "currency": "usd", "customer": cus.id, "source": "tok_visa"})
    assert info.value.user_message == f"Customer {cus.id} does not have a linked source with ID tok_visa."
    bare = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create(params={"amount": 1500, "currency": "usd", "customer": bare.id})
    assert (info.value.user_message, info.value.param) == ("Cannot charge a customer that has no active card", "card")


def test_a_declined_card_is_a_402_naming_the_recorded_failed_charge(client):
    with pytest.raises(stripe.CardError) as info:
        client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_chargeCustomerFail"})
    err = info.value.error
    assert (err.code, err.decline_code) == ("card_declined", "generic_decline")
    charge = client.v1.charges.retrieve(err.charge)
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "card_declined")
    assert types(client)[-1] == "charge.failed"


def test_capture_later_in_full_or_in_part(client):
    charge = client.v1.charges.create(params={"amount": 3000, "currency": "usd", "source": "tok_visa",
                                              "capture": False})
    assert (charge.status, charge.paid, charge.captured, charge.amount_captured) == ("succeeded", True, False, 0)
    captured = client.v1.charges.capture(charge.id, params={"amount": 2000})
    assert (captured.captured, captured.amount_captured, captured.amount_refunded) == (True, 2000, 1000)
    assert types(client)[-1] == "charge.captured"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.capture(charge.id)
    assert info.value.code == "charge_already_captured"
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True, "capture_method": "manual"})
    with pytest.raises(stripe.InvalidRequestError):  # a PaymentIntent's charge is captured through it
        client.v1.charges.capture(pi.latest_charge)


def test_update_a_charge(client):
    charge = client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    cus = client.v1.customers.create()
    updated = client.v1.charges.update(charge.id, params={"description": "renamed", "metadata": {"a": "1"},
                                                          "customer": cus.id})
    assert (updated.description, updated.metadata.to_dict(), updated.customer) == ("renamed", {"a": "1"}, cus.id)
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert event.type == "charge.updated"
    assert set(event.data.previous_attributes.to_dict()) == {"description", "metadata", "customer"}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.update(charge.id, params={"customer": client.v1.customers.create().id})
    assert info.value.param == "customer"


@pytest.mark.parametrize("params, param", [
    ({"amount": 30, "currency": "usd", "source": "tok_visa"}, "amount"),
    ({"amount": 100, "currency": "usd", "source": "tok_nope"}, "source"),
    ({"amount": 100, "currency": "usd"}, None),
])
def test_charge_refusals(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create(params=params)
    assert info.value.param == param


def test_card_refunds_cannot_be_canceled_or_expired_and_no_card_takes_an_incremental_authorization(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True})
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.cancel(refund.id)
    assert "requires_action" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.test_helpers.refunds.expire(refund.id)
    assert "requires_action" in info.value.user_message
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    held = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa",
                                                    "confirm": True, "capture_method": "manual"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.increment_authorization(held.id, params={"amount": 1500})
    assert info.value.user_message.startswith("This PaymentIntent is not eligible for incremental authorization")
    assert client.v1.payment_intents.retrieve(held.id).amount == 1000
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.increment_authorization(pi.id, params={"amount": 1500})
    assert info.value.code == "payment_intent_unexpected_state"


def test_refunding_an_uncaptured_charge_releases_it_whole(client):
    charge = client.v1.charges.create(params={"amount": 3000, "currency": "usd", "source": "tok_visa",
                                              "capture": False})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 1000})
    assert (info.value.param, info.value.user_message) == ("amount", "You cannot partially refund an uncaptured "
                                                           "charge. Instead, capture the charge for an amount less "
                                                           "than the original amount")
    refund = client.v1.refunds.create(params={"charge": charge.id})
    assert refund.amount == 3000
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.refunded, charge.amount_refunded, charge.captured) == (True, 3000, False)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.capture(charge.id)
    assert info.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"charge": charge.id})
    assert info.value.code == "charge_already_refunded"
