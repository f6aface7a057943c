"""Bank transfers into a customer's cash balance (`customer_balance` PaymentIntents), through stripe-python in both
modes: the intent waits in `requires_action` with the transfer instructions, each transfer (the test helper
`fund_cash_balance`) is applied to it automatically, `payment_intent.partially_funded` while money is missing,
`succeeded` when none is; what is left over stays in the balance and pays the next intent."""

from __future__ import annotations

import pytest
import stripe

BANK_TRANSFER = {"funding_type": "bank_transfer", "bank_transfer": {"type": "jp_bank_transfer"}}


def bank_transfer_intent(client, customer, amount=20000, **extra):
    return client.v1.payment_intents.create(params={
        "amount": amount, "currency": "jpy", "customer": customer, "confirm": True,
        "payment_method_types": ["customer_balance"], "payment_method_data": {"type": "customer_balance"},
        "payment_method_options": {"customer_balance": BANK_TRANSFER}, **extra})


def fund(client, customer, amount):
    return client.v1.test_helpers.customers.fund_cash_balance(customer, params={"amount": amount,
                                                                                 "currency": "jpy"})


def of_type(client, event_type):
    return [e.data.object for e in client.v1.events.list(params={"type": event_type, "limit": 100}).data]


def test_transfers_fund_the_intent_until_it_succeeds(client):
    cus = client.v1.customers.create()
    pi = bank_transfer_intent(client, cus.id)
    assert pi.status == "requires_action"
    instructions = pi.next_action.display_bank_transfer_instructions
    assert (pi.next_action.type, instructions.amount_remaining, instructions.type) == (
        "display_bank_transfer_instructions", 20000, "jp_bank_transfer")
    assert instructions.financial_addresses[0].type == "zengin"

    funded = fund(client, cus.id, 10000)
    assert (funded.type, funded.net_amount, funded.ending_balance) == ("funded", 10000, 10000)
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.next_action.display_bank_transfer_instructions.amount_remaining) == ("requires_action", 10000)
    [partial] = of_type(client, "payment_intent.partially_funded")
    assert partial.next_action.display_bank_transfer_instructions.amount_remaining == 10000

    fund(client, cus.id, 15000)  # more than is missing: the rest stays in the balance
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.amount_received, pi.next_action) == ("succeeded", 20000, None)
    assert client.v1.charges.retrieve(pi.latest_charge).payment_method_details.type == "customer_balance"
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"jpy": 5000}
    assert len(of_type(client, "cash_balance.funds_available")) == 1
    kinds = [(t.type, t.net_amount) for t in client.v1.customers.cash_balance_transactions.list(cus.id).data]
    assert kinds == [("applied_to_payment", -10000), ("funded", 15000), ("applied_to_payment", -10000),
                     ("funded", 10000)]

    later = bank_transfer_intent(client, cus.id, amount=3000)  # paid at once from the balance
    assert later.status == "succeeded"
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"jpy": 2000}


@pytest.mark.parametrize("change, param", [
    ({"customer": None}, "customer"),
    ({"currency": "usd"}, "currency"),  # a Japanese bank transfer is in yen
    ({"payment_method_options": {"customer_balance": {"funding_type": "bank_transfer",
                                                      "bank_transfer": {"type": "jp_bank_account"}}}},
     "payment_method_options[customer_balance][bank_transfer][type]"),
    ({"payment_method_options": {"customer_balance": {"funding_type": "bank_transfer", "bank_transfer": {
        "type": "eu_bank_transfer"}}}, "currency": "eur"},
     "payment_method_options[customer_balance][bank_transfer][eu_bank_transfer][country]"),
])
def test_a_bank_transfer_intent_is_refused_as_stripe_refuses_it(client, change, param):
    cus = client.v1.customers.create()
    params = {"amount": 1000, "currency": "jpy", "customer": cus.id, "confirm": True,
              "payment_method_types": ["customer_balance"], "payment_method_data": {"type": "customer_balance"},
              "payment_method_options": {"customer_balance": BANK_TRANSFER}, **change}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={k: v for k, v in params.items() if v is not None})
    assert (info.value.http_status, info.value.param) == (400, param)
    assert client.v1.payment_intents.list().data == []


def test_funding_is_a_test_mode_helper_for_an_existing_customer(client, make_client, sim):
    with pytest.raises(stripe.InvalidRequestError) as info:
        fund(client, "cus_missing", 100)
    assert info.value.http_status == 404
    live = make_client(sim.live_key)
    cus = live.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError):
        fund(live, cus.id, 100)
