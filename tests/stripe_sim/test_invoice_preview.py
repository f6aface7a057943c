"""`POST /v1/invoices/create_preview` through stripe-python's `invoices.create_preview`, both modes: the invoice a
subscription would get (renewal, plan change with prorations, a new subscription), and a store left exactly
as it was (no invoice, no event, no redemption)."""

from __future__ import annotations

import pytest
import stripe

from tests.stripe_sim.test_bad_input import _store_state, assert_error

IRE = stripe.InvalidRequestError
DAY = 86400


def _prices(client):
    prod = client.v1.products.create(params={"name": "Plans"})
    basic, pro = (client.v1.prices.create(params={"product": prod.id, "unit_amount": amount, "currency": "usd",
                                                  "recurring": {"interval": "month"}}).id for amount in (1000, 3000))
    return basic, pro


def _subscribed(client, price):
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    return client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price}]})


def test_renewal_preview_is_the_next_invoice_and_changes_nothing(client, sim):
    basic, _ = _prices(client)
    sub = _subscribed(client, basic)
    before = _store_state(sim)
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert _store_state(sim) == before  # no invoice, no event, nothing touched
    item = sub["items"].data[0]
    assert preview.id.startswith("upcoming_in_") and preview.object == "invoice"
    assert (preview.status, preview.billing_reason, preview.number) == ("draft", "upcoming", None)
    assert (preview.subtotal, preview.total, preview.amount_due) == (1000, 1000, 1000)
    assert preview.parent.subscription_details.subscription == sub.id
    line = preview.lines.data[0]
    assert (line.period.start, line.amount) == (item.current_period_end, 1000)
    assert (preview.period_start, preview.period_end) == (item.current_period_start, item.current_period_end)
    with pytest.raises(IRE):  # a preview is no invoice one can fetch
        client.v1.invoices.retrieve(preview.id)


def test_upgrade_preview_shows_the_prorations_the_update_would_make(client, sim):
    basic, pro = _prices(client)
    sub = _subscribed(client, basic)
    item = sub["items"].data[0]
    half = item.current_period_start + (item.current_period_end - item.current_period_start) // 2
    before = _store_state(sim)
    details = {"items": [{"id": item.id, "price": pro}], "proration_date": half}
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": details})
    assert _store_state(sim) == before
    prorations = [ln for ln in preview.lines.data if ln.parent.subscription_item_details.proration]
    # half a period: -500 for the basic plan's unused time, +1500 for pro's: +1000 on top of pro's 3000 renewal
    assert sum(ln.amount for ln in prorations) == 1000
    assert preview.total == 3000 + 1000
    assert preview.parent.subscription_details.subscription_proration_date == half
    now = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {
        **details, "proration_behavior": "always_invoice"}})
    assert (now.billing_reason, now.total) == ("subscription_update", 1000)  # billed at once: the proration only
    assert _store_state(sim) == before
    # and the real update bills exactly what was previewed
    client.v1.subscriptions.update(sub.id, params={**details, "proration_behavior": "always_invoice"})
    assert client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice).total == 1000


def test_removing_an_item_and_cancelling_at_period_end(client):
    basic, pro = _prices(client)
    sub = _subscribed(client, basic)
    item = sub["items"].data[0]
    swapped = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {
        "items": [{"id": item.id, "deleted": True}, {"price": pro, "quantity": 2}],
        "proration_behavior": "none"}})
    assert (swapped.total, swapped.lines.data[0].quantity) == (6000, 2)
    with pytest.raises(IRE) as info:
        client.v1.invoices.create_preview(params={"subscription": sub.id,
                                                  "subscription_details": {"cancel_at_period_end": True}})
    assert_error(info.value, 400, "invalid_request_error", "invoice_upcoming_none", None,
                 f"No upcoming invoices for customer: {sub.customer}")
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False


def test_preview_of_a_new_subscription(client, sim):
    basic, _ = _prices(client)
    cus = client.v1.customers.create()
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "once"})
    before = _store_state(sim)
    preview = client.v1.invoices.create_preview(params={
        "customer": cus.id, "subscription_details": {"items": [{"price": basic, "quantity": 3}]},
        "discounts": [{"coupon": coupon.id}]})
    assert _store_state(sim) == before  # no subscription, no discount, coupon not redeemed
    assert (preview.billing_reason, preview.subtotal, preview.total) == ("subscription_create", 3000, 2250)
    assert (preview.status, preview.amount_paid) == ("draft", 0)
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 0


def test_what_create_preview_refuses(client):
    cus = client.v1.customers.create()
    with pytest.raises(IRE) as info:  # basil: no preview for a customer as a whole (stripe/stripe-node#2347)
        client.v1.invoices.create_preview(params={"customer": cus.id})
    assert_error(info.value, 400, "invalid_request_error", None, None,
                 "You must provide at least one of: `subscription`, `schedule`, `subscription_details.items`, "
                 "`schedule_details.phases`, `invoice_items`.")
    with pytest.raises(IRE) as info:
        client.v1.invoices.create_preview(params={"subscription": "sub_nope"})
    assert_error(info.value, 400, "invalid_request_error", "resource_missing", "subscription",
                 "No such subscription: 'sub_nope'")
    with pytest.raises(IRE) as info:  # not simulated: refused, never ignored
        client.v1.invoices.create_preview(params={"customer": cus.id, "invoice_items": [{"amount": 100}]})
    assert info.value.code == "parameter_unknown"
    with pytest.raises(IRE) as info:  # the endpoint it replaced is gone since basil
        client.raw_request("get", "/v1/invoices/upcoming", customer=cus.id)
    assert info.value.http_status == 404
