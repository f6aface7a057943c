"""SEPA Direct Debit as Stripe test mode runs it, through stripe-python in both modes: the PaymentIntent answers
`processing` and settles later, to `succeeded` or back to `requires_payment_method`, as the test IBAN says
(docs.stripe.com/payments/sepa-debit/accept-a-payment, "Test your integration"); a Checkout Session paid this
way completes `unpaid` and announces the outcome with `checkout.session.async_payment_*`."""

from __future__ import annotations

import pytest
import stripe

JENNY = {"name": "Jenny Rosen", "email": "jenny@example.com"}
OFFLINE = {"customer_acceptance": {"type": "offline", "accepted_at": 1590590577}}


def sepa_pm(client, iban):
    return client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": iban},
                                                    "billing_details": JENNY})


def debit(client, iban, **extra):
    return client.v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "payment_method_types": ["sepa_debit"], "confirm": True,
        "payment_method": sepa_pm(client, iban).id, "mandate_data": OFFLINE, **extra})


def types(client):
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def advance(sim, seconds):
    sim.request("POST", "/_sim/webhooks/advance", {"seconds": seconds})


def test_a_debit_answers_processing_then_succeeds(client):
    pi = debit(client, "DE89 3704 0044 0532 0130 00")  # spaces allowed, as people write IBANs
    assert pi.status == "processing"  # the answer to the confirmation
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.id.startswith("py_") and (charge.status, charge.paid) == ("succeeded", True)
    details = charge.payment_method_details.sepa_debit
    assert (details.country, details.last4, details.bank_code) == ("DE", "3000", "37040")
    mandate = client.v1.mandates.retrieve(details.mandate)
    assert (mandate.status, mandate.type, mandate.payment_method) == ("active", "single_use", pi.payment_method)
    assert (mandate.customer_acceptance.type, mandate.customer_acceptance.accepted_at) == ("offline", 1590590577)
    assert types(client) == ["payment_intent.created", "charge.pending", "payment_intent.processing",
                             "charge.succeeded", "payment_intent.succeeded"]


def test_a_failing_account_returns_the_intent_to_requires_payment_method(client):
    pi = debit(client, "AT861904300235473202")
    assert pi.status == "processing"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.payment_method, pi.last_payment_error.code) == (
        "requires_payment_method", None, "generic_could_not_process")
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "generic_could_not_process")
    assert types(client)[-2:] == ["charge.failed", "payment_intent.payment_failed"]
    assert client.v1.payment_intents.retrieve(debit(client, "DE65370400440002222227").id) \
        .last_payment_error.code == "insufficient_funds"


def test_a_delayed_debit_settles_three_minutes_later_by_the_simulators_clock(client, sim):
    pi = debit(client, "AT321904300235473204")
    # the simulator's clock is real time plus the advances: leave a margin for a slow machine between calls
    advance(sim, 170)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    assert "payment_intent.succeeded" not in types(client)
    advance(sim, 10)  # the advance itself settles it: the events go out without another call
    assert types(client)[-2:] == ["charge.succeeded", "payment_intent.succeeded"]
    failing = debit(client, "AT051904300235473205")
    advance(sim, 180)
    assert client.v1.payment_intents.retrieve(failing.id).status == "requires_payment_method"


def test_a_delayed_debit_of_a_test_clock_customer_follows_the_clock(client):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1767225600})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    pi = debit(client, "DE08370400440532013003", customer=cus.id, setup_future_usage="off_session")
    assert client.v1.payment_methods.retrieve(pi.payment_method).customer == cus.id  # saved for later debits
    assert client.v1.mandates.retrieve(
        client.v1.charges.retrieve(pi.latest_charge).payment_method_details.sepa_debit.mandate).type == "multi_use"
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1767225600 + 120})
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1767225600 + 180})
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_another_valid_iban_fails_in_test_mode(client):
    pi = debit(client, "IT60X0542811101000000123456")  # a well-formed IBAN that is not one of Stripe's test ones
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_the_table_tokens_are_payment_methods(client):
    pi = client.v1.payment_intents.create(params={
        "amount": 500, "currency": "eur", "payment_method_types": ["sepa_debit"], "confirm": True,
        "payment_method": "pm_success_fr", "mandate_data": OFFLINE})
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


@pytest.mark.parametrize("params, param", [
    ({"sepa_debit": {"iban": "DE89370400440532013001"}, "billing_details": JENNY}, "sepa_debit[iban]"),
    ({"sepa_debit": {"iban": "DE89370400440532013000"}, "billing_details": {"name": "Jenny"}},
     "billing_details[email]"),
    ({"billing_details": JENNY}, "sepa_debit"),
])
def test_a_payment_method_needs_a_valid_iban_and_the_holder(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.create(params={"type": "sepa_debit", **params})
    assert (info.value.http_status, info.value.param) == (400, param)


@pytest.mark.parametrize("change, param", [
    ({"mandate_data": None}, "mandate_data"),  # no mandate: nothing to debit on
    ({"currency": "usd"}, "currency"),  # SEPA Direct Debit is euros only
    ({"payment_method_types": ["card"]}, "payment_method"),  # the intent does not allow the type
])
def test_a_debit_is_refused_without_a_mandate_in_euros_of_an_allowed_type(client, change, param):
    params = {"amount": 1000, "currency": "eur", "payment_method_types": ["sepa_debit"], "confirm": True,
              "payment_method": sepa_pm(client, "DE89370400440532013000").id, "mandate_data": OFFLINE, **change}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={k: v for k, v in params.items() if v is not None})
    assert (info.value.http_status, info.value.param) == (400, param)
    assert client.v1.payment_intents.list().data == []  # a refused request creates nothing


def checkout(client, iban, sim):
    price = client.v1.prices.create(params={"currency": "eur", "unit_amount": 1500,
                                            "product_data": {"name": "Pro"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "payment_method_types": ["sepa_debit"], "success_url": "https://example.com/ok",
        "line_items": [{"price": price.id, "quantity": 2}], "customer_email": "jenny@example.com"})
    pm = sepa_pm(client, iban)
    sim.request("POST", f"/_sim/checkout/sessions/{session.id}/complete", {"payment_method": pm.id})
    return session


def test_checkout_completes_unpaid_and_the_debit_decides(client, sim):
    session = checkout(client, "DE89370400440532013000", sim)
    [completed] = client.v1.events.list(params={"type": "checkout.session.completed"}).data
    assert completed.data.object.payment_status == "unpaid"  # do not grant yet
    [paid] = client.v1.events.list(params={"type": "checkout.session.async_payment_succeeded"}).data
    assert (paid.data.object.id, paid.data.object.payment_status) == (session.id, "paid")  # grant now
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert client.v1.payment_intents.retrieve(paid.data.object.payment_intent).amount_received == 3000


def test_checkout_paid_from_a_failing_account_announces_the_failure(client, sim):
    session = checkout(client, "DE62370400440532013001", sim)
    [failed] = client.v1.events.list(params={"type": "checkout.session.async_payment_failed"}).data
    assert (failed.data.object.id, failed.data.object.payment_status) == (session.id, "unpaid")
    assert client.v1.events.list(params={"type": "checkout.session.async_payment_succeeded"}).data == []


def test_checkout_refuses_sepa_for_prices_not_in_euros(client):
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 1500, "product_data": {"name": "P"}})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(params={
            "mode": "payment", "payment_method_types": ["sepa_debit"], "success_url": "https://example.com/ok",
            "line_items": [{"price": price.id, "quantity": 1}]})
    assert info.value.param == "payment_method_types"


def subscribe(client, sim, iban):
    price = client.v1.prices.create(params={"currency": "eur", "unit_amount": 900, "recurring": {"interval": "month"},
                                            "product_data": {"name": "Pro"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "payment_method_types": ["sepa_debit"], "success_url": "https://example.com/ok",
        "line_items": [{"price": price.id, "quantity": 1}], "customer_email": "jenny@example.com"})
    sim.request("POST", f"/_sim/checkout/sessions/{session.id}/complete",
                {"payment_method": sepa_pm(client, iban).id})
    return client.v1.checkout.sessions.retrieve(session.id)


def test_a_subscription_paid_by_debit_is_active_only_once_the_debit_succeeds(client, sim):
    session = subscribe(client, sim, "AT321904300235473204")
    assert (session.status, session.payment_status) == ("complete", "unpaid")
    sub = client.v1.subscriptions.retrieve(session.subscription)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, invoice.status) == ("incomplete", "open")  # the tier is not paid for yet
    assert client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent).status == "processing"
    advance(sim, 180)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert (sub.status, client.v1.invoices.retrieve(invoice.id).status) == ("active", "paid")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    settled = types(client)
    settled = settled[settled.index("charge.succeeded"):]
    assert settled == ["charge.succeeded", "payment_intent.succeeded", "invoice.updated", "invoice.paid",
                       "invoice.payment_succeeded", "customer.subscription.updated",
                       "checkout.session.async_payment_succeeded"]


def test_a_subscription_whose_first_debit_fails_stays_incomplete(client, sim):
    session = subscribe(client, sim, "DE62370400440532013001")
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert (sub.status, client.v1.invoices.retrieve(sub.latest_invoice).status) == ("incomplete", "open")
    event_types = types(client)
    assert "invoice.payment_failed" in event_types and "checkout.session.async_payment_failed" in event_types
    assert "invoice.paid" not in event_types


def test_a_debit_canceled_while_processing_does_not_settle_later(client, sim):
    pi = debit(client, "AT321904300235473204")
    assert client.v1.payment_intents.cancel(pi.id).status == "canceled"
    advance(sim, 180)
    assert client.v1.payment_intents.retrieve(pi.id).status == "canceled"
    assert "payment_intent.succeeded" not in types(client)


def test_paying_an_invoice_by_debit_leaves_it_open_until_the_debit_settles(client, sim):
    cus = client.v1.customers.create(params={"email": "jenny@example.com"})
    pm = sepa_pm(client, "AT321904300235473204")
    client.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2500, "currency": "eur"})
    invoice = client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})
    paying = client.v1.invoices.pay(invoice.id, params={"payment_method": pm.id})
    assert (paying.status, paying.amount_paid) == ("open", 0)  # no 402: the debit is processing
    with pytest.raises(stripe.InvalidRequestError):  # not a second debit while the first is processing
        client.v1.invoices.pay(invoice.id, params={"payment_method": pm.id})
    advance(sim, 180)
    paid = client.v1.invoices.retrieve(invoice.id)
    assert (paid.status, paid.amount_paid) == ("paid", 2500)
    assert [e.data.object.id for e in client.v1.events.list(params={"type": "invoice.paid"}).data] == [invoice.id]
