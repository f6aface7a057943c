"""Endpoints stripe-python's own test suite calls on resources the simulator covers (docs/stripe-sdk-suite.md),
through the official SDK in both modes, as the API reference describes them:
credit note previews (https://docs.stripe.com/api/credit_notes/preview, .../preview_lines), PaymentIntent
updates (https://docs.stripe.com/api/payment_intents/update) and SetupIntent updates
(https://docs.stripe.com/api/setup_intents/update)."""

from __future__ import annotations

import pytest
import stripe


def open_invoice(client):
    cus = client.v1.customers.create(params={"email": "ada@example.com"})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd",
                                           "description": "Setup fee"})
    inv = client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})
    return client.v1.invoices.finalize_invoice(inv.id)


def test_credit_note_preview_is_what_a_create_would_make_and_changes_nothing(client):
    inv = open_invoice(client)
    line = inv.lines.data[0].id
    params = {"invoice": inv.id, "lines": [{"type": "invoice_line_item", "invoice_line_item": line, "quantity": 1,
                                            "amount": 500}]}
    preview = client.v1.credit_notes.preview(params=params)
    assert (preview.object, preview.type, preview.total, preview.invoice) == ("credit_note", "pre_payment", 500, inv.id)
    assert [(ln.invoice_line_item, ln.amount) for ln in preview.lines.data] == [(line, 500)]
    lines = client.v1.credit_notes.preview_lines.list(params={**params, "limit": 10})
    assert [(ln.object, ln.amount) for ln in lines.data] == [("credit_note_line_item", 500)]
    # "without creating it": no credit note, no event, the invoice still asks for everything
    assert client.v1.credit_notes.list(params={"invoice": inv.id}).data == []
    assert client.v1.events.list(params={"type": "credit_note.created"}).data == []
    assert client.v1.invoices.retrieve(inv.id).amount_remaining == 2000
    created = client.v1.credit_notes.create(params=params)
    assert (created.total, created.number) == (preview.total, preview.number)


def test_credit_note_preview_is_refused_as_a_create_would_be(client):
    inv = open_invoice(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.credit_notes.preview(params={"invoice": inv.id, "amount": 2500})
    assert info.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.credit_notes.preview(params={"invoice": "in_missing", "amount": 100})
    assert info.value.code == "resource_missing"


def test_payment_intent_update_before_payment_and_what_a_payment_fixes(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    pi = client.v1.payment_intents.update(pi.id, params={"amount": 1500, "description": "Pro, yearly",
                                                         "metadata": {"order": "42"}})
    assert (pi.amount, pi.description, pi.metadata["order"], pi.status) == (
        1500, "Pro, yearly", "42", "requires_payment_method")
    # a payment method needs a confirmation again
    pi = client.v1.payment_intents.update(pi.id, params={"payment_method": "pm_card_visa"})
    assert (pi.status, pi.payment_method is not None) == ("requires_confirmation", True)
    pi = client.v1.payment_intents.confirm(pi.id)
    assert (pi.status, pi.amount_received) == ("succeeded", 1500)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.update(pi.id, params={"amount": 100})
    assert (info.value.code, info.value.param) == ("payment_intent_unexpected_state", "amount")
    assert "because it has a status of succeeded" in info.value.user_message
    # the description and metadata of a paid PaymentIntent still change
    pi = client.v1.payment_intents.update(pi.id, params={"metadata": {"order": "43"}})
    assert (pi.metadata["order"], pi.amount) == ("43", 1500)


def test_payment_intent_update_with_a_bad_payment_method_changes_nothing(client):
    cus = client.v1.customers.create(params={"email": "bob@example.com"})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.update(pi.id, params={"customer": cus.id, "payment_method": "pm_nope"})
    assert client.v1.payment_intents.retrieve(pi.id).customer is None


def test_setup_intent_update_and_what_a_finished_setup_fixes(client):
    cus = client.v1.customers.create(params={"email": "cy@example.com"})
    si = client.v1.setup_intents.create(params={})
    si = client.v1.setup_intents.update(si.id, params={"customer": cus.id, "payment_method": "pm_card_visa",
                                                       "metadata": {"plan": "pro"}})
    assert (si.customer, si.status, si.metadata["plan"]) == (cus.id, "requires_confirmation", "pro")
    si = client.v1.setup_intents.confirm(si.id)
    assert si.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.setup_intents.update(si.id, params={"payment_method": "pm_card_mastercard"})
    assert (info.value.code, info.value.param) == ("setup_intent_unexpected_state", "payment_method")
    assert client.v1.setup_intents.update(si.id, params={"description": "card for renewals"}).description == \
        "card for renewals"


def draft_invoice(client):
    cus = client.v1.customers.create(params={"email": "dee@example.com"})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd",
                                           "description": "Setup fee"})
    return client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})


def test_invoice_line_update_on_a_draft_reaches_the_invoice_item_and_the_totals(client):
    inv = draft_invoice(client)
    line = inv.lines.data[0]
    updated = client.v1.invoices.line_items.update(inv.id, line.id, params={
        "amount": 1500, "description": "Setup fee (discounted)", "metadata": {"ticket": "7"}})
    assert (updated.id, updated.amount, updated.description, updated.metadata["ticket"]) == (
        line.id, 1500, "Setup fee (discounted)", "7")
    item = client.v1.invoice_items.retrieve(line.parent.invoice_item_details.invoice_item)
    assert (item.amount, item.description) == (1500, "Setup fee (discounted)")
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.total, inv.amount_due, [ln.id for ln in inv.lines.data]) == (1500, 1500, [line.id])


def test_invoice_line_update_is_refused_once_the_invoice_is_finalized_or_for_an_unknown_line(client):
    inv = draft_invoice(client)
    line = inv.lines.data[0]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.invoices.line_items.update(inv.id, "il_missing", params={"amount": 1})
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.line_items.update(inv.id, line.id, params={"amount": 1})
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.total, inv.lines.data[0].amount) == (2000, 2000)


def test_payment_intents_and_charges_search(client):
    """https://docs.stripe.com/search#query-fields-for-payment-intents and ...-for-charges."""
    cus = client.v1.customers.create(params={"email": "eve@example.com"})
    paid = client.v1.payment_intents.create(params={
        "amount": 4900, "currency": "usd", "customer": cus.id, "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"order": "o_1"}})
    client.v1.payment_intents.create(params={"amount": 900, "currency": "usd", "metadata": {"order": "o_2"}})
    found = client.v1.payment_intents.search(params={"query": "metadata['order']:'o_1'"})
    assert (found.object, [pi.id for pi in found.data]) == ("search_result", [paid.id])
    assert [pi.id for pi in client.v1.payment_intents.search(params={
        "query": f"status:'succeeded' AND customer:'{cus.id}' AND amount>=4900"}).data] == [paid.id]
    charges = client.v1.charges.search(params={"query": f"customer:'{cus.id}' AND refunded:'false'"})
    assert [ch.payment_intent for ch in charges.data] == [paid.id]
    with pytest.raises(stripe.InvalidRequestError) as info:  # not one of Stripe's payment intent query fields
        client.v1.payment_intents.search(params={"query": "description:'x'"})
    assert info.value.param == "query"


def test_allowed_payment_method_types_is_kept_and_only_cards_are_simulated(client):
    si = client.v1.setup_intents.create(params={"allowed_payment_method_types": ["card"]})
    assert si.allowed_payment_method_types == ["card"]
    pi = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd",
                                                  "allowed_payment_method_types": ["card"]})
    assert pi.allowed_payment_method_types == ["card"]
    with pytest.raises(stripe.InvalidRequestError) as info:  # SEPA Debit is not simulated: refused, not ignored
        client.v1.setup_intents.create(params={"allowed_payment_method_types": ["sepa_debit"]})
    assert info.value.param == "allowed_payment_method_types[0]"


def test_customer_tax_ids(client):
    """https://docs.stripe.com/api/tax_ids: create (value checked against its type), retrieve, list, delete."""
    cus = client.v1.customers.create(params={"email": "fay@example.com"})
    txi = client.v1.customers.tax_ids.create(cus.id, params={"type": "eu_vat", "value": "DE123456789"})
    assert (txi.object, txi.country, txi.customer, txi.owner.type, txi.verification.status) == (
        "tax_id", "DE", cus.id, "customer", "pending")
    assert client.v1.customers.tax_ids.retrieve(cus.id, txi.id).value == "DE123456789"
    assert [t.id for t in client.v1.customers.tax_ids.list(cus.id).data] == [txi.id]
    assert [t.id for t in client.v1.tax_ids.list(params={"owner": {"type": "customer", "customer": cus.id}}).data] \
        == [txi.id]
    with pytest.raises(stripe.InvalidRequestError) as info:  # "123" is no EU VAT number
        client.v1.customers.tax_ids.create(cus.id, params={"type": "eu_vat", "value": "123"})
    assert (info.value.code, info.value.param) == ("tax_id_invalid", "value")
    other = client.v1.customers.create(params={"email": "gus@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as info:  # another customer's tax ID is not theirs
        client.v1.customers.tax_ids.retrieve(other.id, txi.id)
    assert info.value.http_status == 404
    assert client.v1.customers.tax_ids.delete(cus.id, txi.id).deleted is True
    assert client.v1.customers.tax_ids.list(cus.id).data == []
    kinds = [e.type for e in client.v1.events.list(params={"limit": 100}).data if "tax_id" in e.type]
    assert kinds == ["customer.tax_id.deleted", "customer.tax_id.created"]


def test_account_tax_ids(client):
    txi = client.v1.tax_ids.create(params={"type": "us_ein", "value": "12-3456789"})
    assert (txi.owner.type, txi.customer, txi.country, txi.verification.status) == ("self", None, "US", "unavailable")
    assert [t.id for t in client.v1.tax_ids.list(params={"limit": 3}).data] == [txi.id]
    assert client.v1.tax_ids.retrieve(txi.id).value == "12-3456789"
    with pytest.raises(stripe.InvalidRequestError):  # Connect owners are not simulated
        client.v1.tax_ids.create(params={"type": "us_ein", "value": "12-3456789", "owner": {"type": "account",
                                                                                              "account": "acct_1"}})
    assert client.v1.tax_ids.delete(txi.id).deleted is True


def test_quote_upfront_line_items_are_what_the_first_invoice_charges(client):
    """`computed.upfront`: "the line items that will appear on the next invoice after this quote is accepted"
    (the one-time items and the first period of the recurring ones)."""
    cus = client.v1.customers.create()
    product = client.v1.products.create(params={"name": "Pro"})
    monthly = client.v1.prices.create(params={"product": product.id, "unit_amount": 2900, "currency": "usd",
                                              "recurring": {"interval": "month"}})
    setup = client.v1.prices.create(params={"product": product.id, "unit_amount": 5000, "currency": "usd"})
    quote = client.v1.quotes.create(params={"customer": cus.id, "line_items": [
        {"price": monthly.id, "quantity": 2}, {"price": setup.id}]})
    assert (quote.computed.upfront.amount_total, quote.computed.recurring.amount_total) == (10800, 5800)
    items = client.v1.quotes.computed_upfront_line_items.list(quote.id)
    assert sorted((li.object, li.price.id, li.amount_total) for li in items.data) == sorted([
        ("item", monthly.id, 5800), ("item", setup.id, 5000)])
    # in the order of the quote's own line items list
    assert [li.id for li in items.data] == [li.id for li in client.v1.quotes.line_items.list(quote.id).data]
    assert items.url == f"/v1/quotes/{quote.id}/computed_upfront_line_items"
    assert len(client.v1.quotes.computed_upfront_line_items.list(quote.id, params={"limit": 1}).data) == 1
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.quotes.computed_upfront_line_items.list("qt_missing")
    assert info.value.http_status == 404
