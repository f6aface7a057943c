"""Bank transfers and the customer cash balance, through stripe-python in both modes, as Stripe documents them
(docs.stripe.com/payments/bank-transfers, /payments/customer-balance and its Reconciliation page, and Stripe.js
`confirmCustomerBalancePayment` for what a confirmation answers)."""

from __future__ import annotations

import pytest
import stripe

BANK_TRANSFER_JP = {"customer_balance": {"funding_type": "bank_transfer",
                                         "bank_transfer": {"type": "jp_bank_transfer"}}}


def types(client):
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def bank_transfer_payment(client, customer, amount=20000, currency="jpy", options=None, **extra):
    return client.v1.payment_intents.create(params={
        "amount": amount, "currency": currency, "customer": customer, "payment_method_types": ["customer_balance"],
        "payment_method_data": {"type": "customer_balance"},
        "payment_method_options": options or BANK_TRANSFER_JP, "confirm": True, **extra})


def fund(client, customer, amount, currency="jpy", **extra):
    return client.v1.test_helpers.customers.fund_cash_balance(customer, params={
        "amount": amount, "currency": currency, **extra})


def monthly_price(client, amount=2900, currency="usd"):
    product = client.v1.products.create(params={"name": "Pro"})
    return client.v1.prices.create(params={"product": product.id, "unit_amount": amount, "currency": currency,
                                           "recurring": {"interval": "month"}})


def test_a_bank_transfer_payment_waits_for_money_then_is_paid_in_two_parts(client):
    cus = client.v1.customers.create(params={"email": "a@example.com"})
    pi = bank_transfer_payment(client, cus.id)
    assert pi.status == "requires_action"
    action = pi.next_action.display_bank_transfer_instructions
    assert (pi.next_action.type, action.type, action.amount_remaining, action.currency) == (
        "display_bank_transfer_instructions", "jp_bank_transfer", 20000, "jpy")
    address = action.financial_addresses[0]
    assert address.type == "zengin" and address.supported_networks == ["zengin"]
    assert len(action.reference) == 12
    assert client.v1.payment_methods.retrieve(pi.payment_method).type == "customer_balance"

    funded = fund(client, cus.id, 10000)
    assert (funded.object, funded.type, funded.net_amount, funded.ending_balance) == (
        "customer_cash_balance_transaction", "funded", 10000, 10000)
    assert funded.funded.bank_transfer.type == "jp_bank_transfer"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.next_action.display_bank_transfer_instructions.amount_remaining) == ("requires_action", 10000)
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"jpy": 0}

    fund(client, cus.id, 15000)
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.amount_received, pi.next_action) == ("succeeded", 20000, None)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.id.startswith("py_") and charge.payment_method_details.type == "customer_balance"
    balance = client.v1.customers.cash_balance.retrieve(cus.id)
    assert (balance.available.to_dict(), balance.settings.reconciliation_mode, balance.settings.using_merchant_default) == (
        {"jpy": 5000}, "automatic", True)
    ledger = client.v1.customers.cash_balance_transactions.list(cus.id).data
    assert [(t.type, t.net_amount, t.ending_balance) for t in ledger] == [
        ("applied_to_payment", -10000, 5000), ("funded", 15000, 15000),
        ("applied_to_payment", -10000, 0), ("funded", 10000, 10000)]
    assert ledger[0].applied_to_payment.payment_intent == pi.id
    assert client.v1.customers.cash_balance_transactions.retrieve(cus.id, ledger[1].id).id == ledger[1].id
    seen = types(client)
    assert seen[seen.index("payment_intent.requires_action"):] == [
        "payment_intent.requires_action",
        "customer_cash_balance_transaction.created", "customer_cash_balance_transaction.created",
        "payment_intent.partially_funded",
        "customer_cash_balance_transaction.created", "customer_cash_balance_transaction.created",
        "charge.succeeded", "payment_intent.succeeded", "cash_balance.funds_available"]


def test_a_balance_that_covers_the_amount_pays_at_once_and_without_a_funding_type_nothing_waits(client):
    cus = client.v1.customers.create()
    fund(client, cus.id, 3000, "usd")
    pi = client.v1.payment_intents.create(params={
        "amount": 2000, "currency": "usd", "customer": cus.id, "payment_method_types": ["customer_balance"],
        "payment_method_data": {"type": "customer_balance"}, "confirm": True})
    assert pi.status == "succeeded"  # "The funding_type will be ignored"
    pi = client.v1.payment_intents.create(params={
        "amount": 2000, "currency": "usd", "customer": cus.id, "payment_method_types": ["customer_balance"],
        "payment_method_data": {"type": "customer_balance"}, "confirm": True})
    assert (pi.status, pi.payment_method) == ("requires_payment_method", None)  # 1000 left, no funding type
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"usd": 1000}


def test_manual_reconciliation_waits_for_apply_customer_balance_or_a_matching_reference(client):
    cus = client.v1.customers.create()
    balance = client.v1.customers.cash_balance.update(cus.id, params={"settings": {"reconciliation_mode": "manual"}})
    assert (balance.settings.reconciliation_mode, balance.settings.using_merchant_default) == ("manual", False)
    first = bank_transfer_payment(client, cus.id, 5000)
    second = bank_transfer_payment(client, cus.id, 5000)
    fund(client, cus.id, 4000)
    assert client.v1.payment_intents.retrieve(first.id).status == "requires_action"  # not applied
    assert types(client)[-1] == "cash_balance.funds_available"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.apply_customer_balance(first.id)  # the remaining 5000 is more than 4000
    assert info.value.param == "amount"
    pi = client.v1.payment_intents.apply_customer_balance(first.id, params={"amount": 4000})
    assert (pi.status, pi.next_action.display_bank_transfer_instructions.amount_remaining) == ("requires_action", 1000)
    reference = second.next_action.display_bank_transfer_instructions.reference
    fund(client, cus.id, 5000, reference=reference)  # names the second payment: applied to it only
    assert client.v1.payment_intents.retrieve(second.id).status == "succeeded"
    assert client.v1.payment_intents.retrieve(first.id).status == "requires_action"
    balance = client.v1.customers.cash_balance.update(cus.id, params={
        "settings": {"reconciliation_mode": "merchant_default"}})
    assert (balance.settings.reconciliation_mode, balance.settings.using_merchant_default) == ("automatic", True)


def test_funding_instructions_are_the_customers_own_account_every_time(client):
    cus = client.v1.customers.create()
    params = {"currency": "eur", "funding_type": "bank_transfer",
              "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "DE"}}}
    one = client.v1.customers.funding_instructions.create(cus.id, params=params)
    assert (one.object, one.funding_type, one.currency, one.bank_transfer.country) == (
        "funding_instructions", "bank_transfer", "eur", "DE")
    iban = one.bank_transfer.financial_addresses[0].iban.iban
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    assert iban.startswith("DE") and len(iban) == 22 and int(digits) % 97 == 1  # a well-formed IBAN
    again = client.v1.customers.funding_instructions.create(cus.id, params=params)
    assert again.bank_transfer.financial_addresses[0].iban.iban == iban
    other = client.v1.customers.funding_instructions.create(client.v1.customers.create().id, params=params)
    assert other.bank_transfer.financial_addresses[0].iban.iban != iban
    us = client.v1.customers.funding_instructions.create(cus.id, params={
        "currency": "usd", "funding_type": "bank_transfer", "bank_transfer": {"type": "us_bank_transfer"}})
    assert us.bank_transfer.financial_addresses[0].type == "aba"


@pytest.mark.parametrize("params, param", [
    ({"currency": "usd", "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "DE"}}},
     "currency"),
    ({"currency": "eur", "bank_transfer": {"type": "eu_bank_transfer"}}, "bank_transfer[eu_bank_transfer][country]"),
    ({"currency": "eur", "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "US"}}},
     "bank_transfer[eu_bank_transfer][country]"),
    ({"currency": "usd", "bank_transfer": {"type": "ach"}}, "bank_transfer[type]"),
])
def test_funding_instructions_refuse_what_does_not_fit(client, params, param):
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.funding_instructions.create(cus.id, params={"funding_type": "bank_transfer", **params})
    assert (info.value.http_status, info.value.param) == (400, param)


def test_refusals_of_bank_transfer_payments(client):
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:  # a type that does not carry the currency
        bank_transfer_payment(client, cus.id, currency="usd")
    assert info.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as info:  # a bank transfer goes into a customer's balance
        client.v1.payment_intents.create(params={
            "amount": 100, "currency": "jpy", "payment_method_types": ["customer_balance"],
            "payment_method_data": {"type": "customer_balance"}, "payment_method_options": BANK_TRANSFER_JP,
            "confirm": True})
    assert info.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as info:  # other payment method types are not simulated
        client.v1.payment_intents.create(params={"amount": 100, "currency": "pln", "payment_method_data": {
            "type": "p24"}})
    assert info.value.param == "payment_method_data[type]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        fund(client, cus.id, 100, "chf")
    assert info.value.param == "currency"
    card = client.v1.payment_intents.create(params={"amount": 100, "currency": "usd", "payment_method": "pm_card_visa",
                                                    "confirm": True})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.apply_customer_balance(card.id)
    assert info.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.cash_balance.retrieve("cus_missing")
    assert info.value.http_status == 404


def test_a_failed_funding_request_changes_nothing(client):
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError):
        fund(client, cus.id, 0)
    balance = client.v1.customers.cash_balance.retrieve(cus.id)
    assert balance.available is None
    assert client.v1.customers.cash_balance_transactions.list(cus.id).data == []


def test_an_invoice_paid_by_bank_transfer_is_paid_when_the_money_arrives(client):
    cus = client.v1.customers.create()
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 5000, "currency": "usd"})
    inv = client.v1.invoices.create(params={
        "customer": cus.id, "collection_method": "send_invoice", "days_until_due": 30,
        "pending_invoice_items_behavior": "include", "payment_settings": {"payment_method_types": ["customer_balance"]}})
    assert inv.payment_settings.payment_method_types == ["customer_balance"]
    assert inv.payment_settings.payment_method_options.customer_balance.bank_transfer.type == "us_bank_transfer"
    inv = client.v1.invoices.finalize_invoice(inv.id)
    assert inv.status == "open"
    pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    assert (pi.status, pi.next_action.display_bank_transfer_instructions.amount_remaining) == ("requires_action", 5000)
    with pytest.raises(stripe.InvalidRequestError) as info:  # nothing to pay it with yet
        client.v1.invoices.pay(inv.id)
    assert info.value.code == "invoice_payment_intent_requires_action"
    fund(client, cus.id, 2000, "usd")
    assert client.v1.invoices.retrieve(inv.id).status == "open"
    fund(client, cus.id, 3000, "usd")
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.status, inv.amount_paid) == ("paid", 5000)
    assert types(client)[-5:] == ["charge.succeeded", "payment_intent.succeeded", "invoice.updated",
                                  "invoice.paid", "invoice.payment_succeeded"]


def test_an_invoice_is_paid_from_the_cash_balance_at_finalization(client):
    cus = client.v1.customers.create()
    fund(client, cus.id, 9000, "usd")
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 5000, "currency": "usd"})
    inv = client.v1.invoices.create(params={
        "customer": cus.id, "pending_invoice_items_behavior": "include",
        "payment_settings": {"payment_method_types": ["customer_balance"]}})
    inv = client.v1.invoices.pay(inv.id)  # a draft: finalized, then paid by the balance
    assert (inv.status, inv.amount_paid) == ("paid", 5000)
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"usd": 4000}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.invoices.create(params={"customer": cus.id, "currency": "eur", "payment_settings": {
            "payment_method_types": ["customer_balance"]}})
    assert info.value.param.endswith("[eu_bank_transfer][country]")


def test_a_subscription_paid_by_bank_transfer_starts_incomplete_and_activates_when_the_money_arrives(client):
    cus = client.v1.customers.create()
    price = monthly_price(client)
    sub = client.v1.subscriptions.create(params={  # no card: bank transfers need none
        "customer": cus.id, "items": [{"price": price.id}],
        "payment_settings": {"payment_method_types": ["customer_balance"]}})
    assert sub.status == "incomplete"
    assert (sub.payment_settings.payment_method_types,
            sub.payment_settings.payment_method_options.customer_balance.bank_transfer.type) == (
        ["customer_balance"], "us_bank_transfer")
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.status == "open" and inv.payment_settings.payment_method_types == ["customer_balance"]
    pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    assert pi.next_action.display_bank_transfer_instructions.amount_remaining == 2900
    fund(client, cus.id, 2900, "usd")
    assert client.v1.invoices.retrieve(inv.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert types(client)[-2:] == ["invoice.payment_succeeded", "customer.subscription.updated"]
    with pytest.raises(stripe.InvalidRequestError) as info:  # only the simulated types
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                               "payment_settings": {"payment_method_types": ["ach_credit_transfer"]}})
    assert info.value.param == "payment_settings[payment_method_types][0]"


def test_a_subscription_is_paid_from_a_cash_balance_that_holds_enough(client):
    cus = client.v1.customers.create()
    fund(client, cus.id, 5000, "usd")
    price = monthly_price(client)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "payment_settings": {"payment_method_types": ["customer_balance"]}})
    assert sub.status == "active"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    assert client.v1.customers.cash_balance.retrieve(cus.id).available.to_dict() == {"usd": 2100}


def test_a_renewal_waiting_for_its_transfer_leaves_the_subscription_past_due_until_the_money_arrives(client):
    start, day = 1_800_000_000, 86400
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": start})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    fund(client, cus.id, 2900, "usd")
    price = monthly_price(client)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "payment_settings": {"payment_method_types": ["customer_balance"]}})
    assert sub.status == "active"
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": start + 40 * day})
    sub = client.v1.subscriptions.retrieve(sub.id)
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, renewal.status, renewal.billing_reason) == ("past_due", "open", "subscription_cycle")
    fund(client, cus.id, 2900, "usd")
    assert client.v1.invoices.retrieve(renewal.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_customer_is_created_or_updated_with_its_reconciliation_mode(client):
    cus = client.v1.customers.create(params={"cash_balance": {"settings": {"reconciliation_mode": "manual"}}})
    assert client.v1.customers.cash_balance.retrieve(cus.id).settings.reconciliation_mode == "manual"
    client.v1.customers.update(cus.id, params={"cash_balance": {"settings": {"reconciliation_mode": "merchant_default"}}})
    settings = client.v1.customers.cash_balance.retrieve(cus.id).settings
    assert (settings.reconciliation_mode, settings.using_merchant_default) == ("automatic", True)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.create(params={"cash_balance": {"settings": {"reconciliation_mode": "sometimes"}}})
    assert info.value.param == "cash_balance[settings][reconciliation_mode]"


def test_a_subscription_switched_to_bank_transfers_pays_its_next_invoices_that_way(client):
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    price = monthly_price(client, currency="eur")
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert (sub.status, sub.payment_settings.payment_method_types) == ("active", None)
    with pytest.raises(stripe.InvalidRequestError) as info:  # euros: the account's country must be named
        client.v1.subscriptions.update(sub.id, params={"payment_settings": {
            "payment_method_types": ["customer_balance"]}})
    assert info.value.param.endswith("[eu_bank_transfer][country]")
    sub = client.v1.subscriptions.update(sub.id, params={"payment_settings": {
        "payment_method_types": ["customer_balance"], "payment_method_options": {"customer_balance": {
            "funding_type": "bank_transfer", "bank_transfer": {"type": "eu_bank_transfer",
                                                               "eu_bank_transfer": {"country": "FR"}}}}}})
    options = sub.payment_settings.payment_method_options.customer_balance.bank_transfer
    assert (sub.payment_settings.payment_method_types, options.type, options.eu_bank_transfer.country) == (
        ["customer_balance"], "eu_bank_transfer", "FR")
    assert sub.payment_settings.save_default_payment_method == "off"


def test_a_customer_includes_its_cash_balance_only_when_asked(client):
    cus = client.v1.customers.create()
    assert "cash_balance" not in client.v1.customers.retrieve(cus.id)
    fund(client, cus.id, 700, "usd")
    included = client.v1.customers.retrieve(cus.id, params={"expand": ["cash_balance"]})
    assert (included.cash_balance.object, included.cash_balance.available.to_dict()) == ("cash_balance", {"usd": 700})
    updated = client.v1.customers.update(cus.id, params={"name": "Ada", "expand": ["cash_balance"]})
    assert updated.cash_balance.settings.reconciliation_mode == "automatic"
