"""Stripe-Version: a client pinned to an older version gets that version's parameters and shapes, where
versions.py's table names the difference (each row cites Stripe's changelog); the pinned version never takes a
legacy parameter. stripe-python pinned with its documented `StripeClient(..., stripe_version=...)`, both modes."""

from __future__ import annotations

import json

import pytest
import stripe

from tiersync.stripe_sim.versions import API_VERSION, CHANGES, SERVED, served_version

IRE = stripe.InvalidRequestError
ACACIA = "2025-02-24.acacia"  # the last version before 2025-03-31.basil
BASIL = "2025-08-27.basil"  # the last before 2025-09-30.clover
CLOVER = "2025-09-30.clover"


def _price(client) -> str:
    prod = client.v1.products.create(params={"name": "Pro"})
    return client.v1.prices.create(params={"product": prod.id, "unit_amount": 2900, "currency": "usd",
                                           "recurring": {"interval": "month"}}).id


def _paying_customer(client, **params):
    return client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                              "invoice_settings": {"default_payment_method": "pm_card_visa"},
                                              **params})


def test_every_row_names_its_source_and_the_versions_are_stripes():
    assert API_VERSION in SERVED and served_version(None) is API_VERSION
    for change in CHANGES:
        assert change.source.startswith("https://docs.stripe.com/changelog/"), change
        assert change.since in SERVED and change.since.split(".")[1] in change.source
        assert (change.routes and (change.fields or change.upgrade)) or (change.objects and change.downgrade)


# ---- before 2025-03-31.basil ------------------------------------------------------------------------------

def test_acacia_customer_takes_a_coupon_and_shows_the_discount_with_its_coupon(make_client):
    old = make_client(stripe_version=ACACIA)
    coupon = old.v1.coupons.create(params={"percent_off": 20, "duration": "forever"})
    cus = old.v1.customers.create(params={"coupon": coupon.id})
    assert cus.last_response.headers["Stripe-Version"] == ACACIA
    assert cus.discount.coupon.id == coupon.id and cus.discount.coupon.percent_off == 20  # expanded then
    assert "source" not in cus.discount
    # today's client reads the same discount in today's shape
    now = make_client().v1.customers.retrieve(cus.id)
    assert now.discount.source.to_dict() == {"coupon": coupon.id, "type": "coupon"} and "coupon" not in now.discount
    removed = old.v1.customers.update(cus.id, params={"coupon": ""})
    assert removed.discount is None
    types = [e.type for e in make_client().v1.events.list().data]
    assert types[:2] == ["customer.discount.deleted", "customer.updated"]
    assert "customer.discount.created" in types


def test_acacia_customer_coupon_discounts_its_subscription_invoices(make_client):
    old = make_client(stripe_version=ACACIA)
    coupon = old.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    cus = _paying_customer(old, coupon=coupon.id)
    sub = old.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": _price(old)}]})
    inv = old.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.subtotal, inv.total, inv.amount_paid) == (2900, 1450, 1450)


def test_acacia_subscription_has_its_period_and_discount_on_top(make_client):
    old = make_client(stripe_version=ACACIA)
    coupon = old.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    cus = _paying_customer(old)
    sub = old.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": _price(old)}],
                                              "coupon": coupon.id})
    assert sub.current_period_start == sub.start_date and sub.current_period_end > sub.current_period_start
    assert "current_period_start" not in sub["items"].data[0]
    assert sub.discount.coupon.id == coupon.id and len(sub.discounts) == 1
    now = make_client().v1.subscriptions.retrieve(sub.id)  # the same subscription, today's shape
    assert "current_period_start" not in now and "discount" not in now
    assert now["items"].data[0].current_period_start == sub.current_period_start


def test_acacia_invoice_names_its_subscription_and_payment_at_the_top(make_client):
    old = make_client(stripe_version=ACACIA)
    cus = _paying_customer(old)
    sub = old.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": _price(old)}]})
    inv = old.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.subscription == sub.id and "parent" not in inv
    assert inv.paid is True and inv.payment_intent.startswith("pi_") and inv.charge.startswith("ch_")
    assert inv.discount is None
    line = inv.lines.data[0]
    assert (line.type, line.subscription, line.proration) == ("subscription", sub.id, False)
    assert line.subscription_item == sub["items"].data[0].id and "parent" not in line
    listed = old.v1.invoices.list(params={"customer": cus.id}).data  # lists are translated too
    assert listed[0].subscription == sub.id
    now = make_client().v1.invoices.retrieve(inv.id)
    assert now.parent.subscription_details.subscription == sub.id and "subscription" not in now


def test_acacia_subscription_coupon_and_discounts_together_are_refused(make_client):
    old = make_client(stripe_version=ACACIA)
    coupon = old.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    cus = _paying_customer(old)
    with pytest.raises(IRE) as info:
        old.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": _price(old)}],
                                            "coupon": coupon.id, "discounts": [{"coupon": coupon.id}]})
    assert info.value.http_status == 400 and info.value.param == "coupon"
    assert old.v1.subscriptions.list(params={"customer": cus.id}).data == []


# ---- the pinned version never takes a legacy parameter --------------------------------------------------------

@pytest.mark.parametrize("version", [None, "2025-03-31.basil", CLOVER])
def test_coupon_on_a_customer_is_unknown_since_basil(make_client, version):
    client = make_client(**({"stripe_version": version} if version else {}))
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    with pytest.raises(IRE) as info:
        client.v1.customers.create(params={"coupon": coupon.id})
    assert (info.value.code, info.value.param) == ("parameter_unknown", "coupon")
    assert str(info.value.user_message) == "Received unknown parameter: coupon"
    assert make_client().v1.customers.list().data == []


# ---- before 2025-09-30.clover ---------------------------------------------------------------------------------

def test_basil_promotion_code_names_its_coupon_at_the_top(make_client):
    old = make_client(stripe_version=BASIL)
    coupon = old.v1.coupons.create(params={"percent_off": 15, "duration": "once"})
    promo = old.v1.promotion_codes.create(params={"coupon": coupon.id, "code": "OLDSTYLE"})
    assert promo.coupon.id == coupon.id and promo.coupon.percent_off == 15 and "promotion" not in promo
    sub = old.v1.subscriptions.create(params={"customer": _paying_customer(old).id,
                                              "items": [{"price": _price(old)}],
                                              "discounts": [{"promotion_code": promo.id}]})
    assert "current_period_start" not in sub  # basil already moved periods to the items
    assert sub["items"].data[0].current_period_end > sub["items"].data[0].current_period_start
    with pytest.raises(IRE) as info:  # `promotion` does not exist before clover
        old.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}})
    assert (info.value.code, info.value.param) == ("parameter_unknown", "promotion")


@pytest.mark.parametrize("version", [None, CLOVER])
def test_coupon_on_a_promotion_code_is_unknown_since_clover(make_client, version):
    client = make_client(**({"stripe_version": version} if version else {}))
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    with pytest.raises(IRE) as info:
        client.v1.promotion_codes.create(params={"coupon": coupon.id})
    assert (info.value.code, info.value.param) == ("parameter_unknown", "coupon")
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}})
    assert promo.promotion.coupon == coupon.id


# ---- before 2026-09-30.endive ---------------------------------------------------------------------------------

def test_billing_cycle_anchor_is_a_string_before_endive_and_an_object_since(make_client):
    client = make_client()
    sub = client.v1.subscriptions.create(params={"customer": _paying_customer(client).id,
                                                 "items": [{"price": _price(client)}]})
    with pytest.raises(IRE) as info:
        client.raw_request("post", f"/v1/subscriptions/{sub.id}", billing_cycle_anchor="unchanged")
    assert info.value.param == "billing_cycle_anchor"
    client.v1.subscriptions.update(sub.id, params={"billing_cycle_anchor": {"type": "unchanged"}})
    with pytest.raises(IRE) as info:  # a reset is not simulated: refused, never ignored
        client.v1.subscriptions.update(sub.id, params={"billing_cycle_anchor": {"type": "now"}})
    assert info.value.param == "billing_cycle_anchor"
    old = make_client(stripe_version=CLOVER)
    old.raw_request("post", f"/v1/subscriptions/{sub.id}", billing_cycle_anchor="unchanged")
    with pytest.raises(IRE):
        old.raw_request("post", f"/v1/subscriptions/{sub.id}", **{"billing_cycle_anchor[type]": "unchanged"})


# ---- events: an endpoint's api_version decides the payload it receives --------------------------------------

def test_an_endpoint_pinned_to_acacia_receives_acacia_payloads(sim, make_client, receiver):
    client = make_client()
    old_url, new_url = receiver.url("old"), receiver.url("new")
    client.v1.webhook_endpoints.create(params={"url": old_url, "enabled_events": ["customer.subscription.created",
                                                                                  "customer.discount.created"],
                                               "api_version": ACACIA})
    client.v1.webhook_endpoints.create(params={"url": new_url, "enabled_events": ["customer.subscription.created"]})
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    sub = client.v1.subscriptions.create(params={"customer": _paying_customer(client).id,
                                                 "items": [{"price": _price(client)}],
                                                 "discounts": [{"coupon": coupon.id}]})
    assert sim.webhooks.wait_idle(5)
    old = [json.loads(r["body"]) for r in receiver.got("old")]
    new = [json.loads(r["body"]) for r in receiver.got("new")]
    assert [e["type"] for e in old] == [e["type"] for e in new] == ["customer.subscription.created"]
    assert old[0]["api_version"] == ACACIA and new[0]["api_version"] == API_VERSION
    assert old[0]["data"]["object"]["current_period_end"] == sub["items"].data[0].current_period_end
    assert old[0]["data"]["object"]["discount"]["coupon"]["id"] == coupon.id
    assert "current_period_end" not in new[0]["data"]["object"]
    # the event itself, read through the API, keeps the version it was created at, whatever the client pins
    listed = make_client(stripe_version=ACACIA).v1.events.retrieve(old[0]["id"])
    assert listed.api_version == API_VERSION and "current_period_end" not in listed.data.object
