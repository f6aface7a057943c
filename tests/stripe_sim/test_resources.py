"""Contract tests for the simple Stripe resources, through the official SDK in both transports
(in-process and server): customers, products, prices, coupons, promotion codes, payment methods, the
billing portal, webhook endpoints, events, pagination, nested `expand[]`, and test/live separation."""

from __future__ import annotations

import re

import pytest
import stripe

# ---- helpers ----------------------------------------------------------------------------------------


def err(exc: stripe.StripeError) -> dict:
    return exc.json_body["error"]


def make_price(client, *, product=None, amount=1000, lookup_key=None, interval="month", **extra):
    if product is None:
        product = client.v1.products.create(params={"name": "Pro", "metadata": {"plan": "pro"}}).id
    params = {"currency": "usd", "unit_amount": amount, "product": product, "recurring": {"interval": interval},
              **extra}
    if lookup_key:
        params["lookup_key"] = lookup_key
    return client.v1.prices.create(params=params)


# ---- customers --------------------------------------------------------------------------------------

def test_customer_create_with_payment_method_and_default(client):
    cus = client.v1.customers.create(params={
        "email": "ada@example.com", "name": "Ada", "metadata": {"user_id": "u_1"},
        "payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    assert cus.id.startswith("cus_") and cus.object == "customer"
    assert cus.email == "ada@example.com" and cus.metadata.to_dict() == {"user_id": "u_1"}
    assert cus.livemode is False
    default_pm = cus.invoice_settings.default_payment_method
    assert default_pm.startswith("pm_") and default_pm != "pm_card_visa"
    pms = client.v1.customers.payment_methods.list(cus.id).data
    assert [pm.id for pm in pms] == [default_pm]
    assert pms[0].customer == cus.id and pms[0].card.last4 == "4242" and pms[0].card.brand == "visa"
    again = client.v1.customers.retrieve(cus.id)
    assert again.to_dict() == cus.to_dict()
    types = [e.type for e in client.v1.events.list().data]
    assert sorted(types) == ["customer.created", "customer.updated", "payment_method.attached"]


def test_customer_default_pm_must_belong_to_customer(client):
    other = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
    pm = client.v1.customers.payment_methods.list(other.id).data[0].id
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm}})
    assert err(info.value)["param"] == "invoice_settings[default_payment_method]"
    assert err(info.value)["code"] == "resource_missing"


def test_customer_update_merges_and_unsets_metadata(client):
    cus = client.v1.customers.create(params={"metadata": {"a": "1", "b": "2"}})
    cus = client.v1.customers.update(cus.id, params={"metadata": {"b": "", "c": "3"}, "name": "New"})
    assert cus.metadata.to_dict() == {"a": "1", "c": "3"}
    assert cus.name == "New"
    assert client.v1.customers.retrieve(cus.id).metadata.to_dict() == {"a": "1", "c": "3"}
    cus = client.v1.customers.update(cus.id, params={"metadata": ""})
    assert cus.metadata.to_dict() == {}
    updated = client.v1.events.list(params={"type": "customer.updated"}).data
    assert len(updated) == 2
    assert updated[1].data.previous_attributes.to_dict()["metadata"] == {"a": "1", "b": "2"}


def test_customer_update_empty_string_unsets_field(client):
    cus = client.v1.customers.create(params={"email": "a@x.io", "description": "d"})
    cus = client.v1.customers.update(cus.id, params={"email": "", "description": ""})
    assert cus.email is None and cus.description is None


def test_customer_list_email_filter(client):
    a = client.v1.customers.create(params={"email": "a@x.io"})
    client.v1.customers.create(params={"email": "b@x.io"})
    a2 = client.v1.customers.create(params={"email": "a@x.io"})
    found = client.v1.customers.list(params={"email": "a@x.io"}).data
    assert [c.id for c in found] == [a2.id, a.id]
    assert client.v1.customers.list(params={"email": "nobody@x.io"}).data == []


def test_customer_delete(client):
    keep = client.v1.customers.create(params={"email": "keep@x.io"})
    cus = client.v1.customers.create(params={"email": "gone@x.io"})
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.to_dict() == {"id": cus.id, "object": "customer", "deleted": True}
    stub = client.v1.customers.retrieve(cus.id)
    assert stub.to_dict()["deleted"] is True and stub.id == cus.id
    assert "email" not in stub
    assert [c.id for c in client.v1.customers.list().data] == [keep.id]
    assert client.v1.customers.list(params={"email": "gone@x.io"}).data == []
    assert [e.type for e in client.v1.events.list(params={"type": "customer.deleted"}).data] == ["customer.deleted"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(cus.id, params={"name": "zombie"})


# ---- products ---------------------------------------------------------------------------------------

def test_product_create_update_list(client):
    pro = client.v1.products.create(params={"name": "Pro", "metadata": {"plan": "pro"}})
    team = client.v1.products.create(params={"name": "Team", "metadata": {"plan": "team"}, "active": False})
    assert pro.id.startswith("prod_") and pro.active is True and pro.metadata.plan == "pro"
    updated = client.v1.products.update(pro.id, params={"name": "Pro+", "metadata": {"tier": "2"}})
    assert updated.name == "Pro+" and updated.metadata.to_dict() == {"plan": "pro", "tier": "2"}
    assert [p.id for p in client.v1.products.list(params={"active": True}).data] == [pro.id]
    assert [p.id for p in client.v1.products.list(params={"active": False}).data] == [team.id]
    assert [p.id for p in client.v1.products.list().data] == [team.id, pro.id]
    evt = client.v1.events.list(params={"type": "product.updated"}).data[0]
    assert evt.data.previous_attributes.name == "Pro"


def test_product_custom_id_and_duplicate(client):
    prod = client.v1.products.create(params={"name": "Pro", "id": "prod_pro"})
    assert prod.id == "prod_pro"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.create(params={"name": "Pro", "id": "prod_pro"})
    assert err(info.value)["code"] == "resource_already_exists" and err(info.value)["param"] == "id"


def test_product_delete_blocked_by_prices(client):
    price = make_price(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.delete(price.product)
    assert err(info.value)["message"] == ("This product cannot be deleted because it has one or more "
                                          "user-created prices.")
    assert client.v1.products.retrieve(price.product).id == price.product
    bare = client.v1.products.create(params={"name": "Bare"})
    assert client.v1.products.delete(bare.id).to_dict() == {"id": bare.id, "object": "product", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.retrieve(bare.id)
    assert info.value.http_status == 404


# ---- prices -----------------------------------------------------------------------------------------

def test_price_recurring(client):
    price = make_price(client, amount=1500, interval="year", nickname="Yearly")
    assert price.id.startswith("price_") and price.type == "recurring"
    assert price.unit_amount == 1500 and price.currency == "usd" and price.nickname == "Yearly"
    assert price.recurring.interval == "year" and price.recurring.interval_count == 1
    assert price.recurring.usage_type == "licensed"
    one_time = client.v1.prices.create(params={"currency": "EUR", "unit_amount": 300, "product": price.product})
    assert one_time.type == "one_time" and one_time.recurring is None and one_time.currency == "eur"
    listed = client.v1.prices.list(params={"type": "recurring"}).data
    assert [p.id for p in listed] == [price.id]


def test_price_lookup_key_unique_and_transfer(client):
    first = make_price(client, lookup_key="pro_monthly")
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_price(client, product=first.product, lookup_key="pro_monthly")
    assert err(info.value)["param"] == "lookup_key"
    assert err(info.value)["message"] == f"A price (`{first.id}`) already uses that lookup key."
    second = make_price(client, product=first.product, amount=2000, lookup_key="pro_monthly",
                        transfer_lookup_key=True)
    assert second.lookup_key == "pro_monthly"
    assert client.v1.prices.retrieve(first.id).lookup_key is None
    found = client.v1.prices.list(params={"lookup_keys": ["pro_monthly"]}).data
    assert [p.id for p in found] == [second.id]


def test_price_list_lookup_keys_and_expand_product(client):
    a = make_price(client, lookup_key="a")
    b = make_price(client, lookup_key="b")
    make_price(client, lookup_key="c")
    page = client.v1.prices.list(params={"lookup_keys": ["a", "b"], "expand": ["data.product"]})
    assert [p.id for p in page.data] == [b.id, a.id]
    for p in page.data:
        assert isinstance(p.product, stripe.Product)
        assert p.product.metadata.plan == "pro"
    plain = client.v1.prices.list(params={"lookup_keys": ["a"]}).data[0]
    assert isinstance(plain.product, str)


def test_price_update_lookup_key_taken(client):
    a = make_price(client, lookup_key="a")
    b = make_price(client, product=a.product)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.update(b.id, params={"lookup_key": "a"})
    moved = client.v1.prices.update(b.id, params={"lookup_key": "a", "transfer_lookup_key": True, "active": False})
    assert moved.lookup_key == "a" and moved.active is False
    assert client.v1.prices.retrieve(a.id).lookup_key is None


# ---- coupons & promotion codes -----------------------------------------------------------------------

def test_coupons(client):
    pct = client.v1.coupons.create(params={"percent_off": 25, "duration": "repeating", "duration_in_months": 3})
    assert pct.percent_off == 25 and pct.duration_in_months == 3 and pct.valid is True and pct.amount_off is None
    amt = client.v1.coupons.create(params={"amount_off": 500, "currency": "USD", "duration": "once", "id": "FIVE"})
    assert amt.id == "FIVE" and amt.amount_off == 500 and amt.currency == "usd"
    assert client.v1.coupons.retrieve("FIVE").amount_off == 500
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.coupons.create(params={"percent_off": 10, "duration": "repeating"})
    assert err(info.value)["param"] == "duration_in_months" and err(info.value)["code"] == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.coupons.create(params={"amount_off": 100})
    assert err(info.value)["param"] == "currency"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.coupons.create(params={"amount_off": 100, "percent_off": 5, "currency": "usd"})
    assert "only specify one of" in err(info.value)["message"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.coupons.create(params={"amount_off": 100, "currency": "usd", "id": "FIVE"})
    assert err(info.value)["code"] == "resource_already_exists"
    assert {c.id for c in client.v1.coupons.list().data} == {pct.id, "FIVE"}


def test_promotion_codes(client):
    coupon = client.v1.coupons.create(params={"percent_off": 20})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "SAVE20", "metadata": {"k": "v"}})
    assert promo.id.startswith("promo_") and promo.code == "SAVE20" and promo.active is True
    assert promo.promotion.coupon == coupon.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                 "code": "save20"})
    assert err(info.value)["param"] == "code" and err(info.value)["code"] == "resource_already_exists"
    other = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}})
    assert re.fullmatch(r"[A-Za-z0-9_-]+", other.code)
    assert [p.id for p in client.v1.promotion_codes.list(params={"code": "SAVE20"}).data] == [promo.id]
    assert len(client.v1.promotion_codes.list(params={"coupon": coupon.id}).data) == 2
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": "nope"}})
    assert err(info.value)["param"] == "promotion[coupon]" and err(info.value)["code"] == "resource_missing"
    client.v1.promotion_codes.update(promo.id, params={"active": False})
    reused = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                      "code": "SAVE20"})
    assert reused.id != promo.id


def test_promotion_code_list_code_is_case_insensitive(client):
    coupon = client.v1.coupons.create(params={"percent_off": 20})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "SAVE20"})
    assert [p.id for p in client.v1.promotion_codes.list(params={"code": "save20"}).data] == [promo.id]


# ---- payment methods --------------------------------------------------------------------------------

def test_payment_methods_attach_detach_list(client):
    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_mastercard"}})
    assert pm.customer is None and pm.card.brand == "mastercard" and pm.card.last4 == "4444"
    attached = client.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
    assert attached.customer == cus.id
    amex = client.v1.payment_methods.attach("pm_card_amex", params={"customer": cus.id})
    assert amex.id.startswith("pm_") and amex.card.brand == "amex"
    listed = client.v1.payment_methods.list(params={"customer": cus.id, "type": "card"}).data
    assert [p.id for p in listed] == [amex.id, pm.id]
    assert [p.id for p in client.v1.customers.payment_methods.list(cus.id).data] == [amex.id, pm.id]
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method is None
    assert [p.id for p in client.v1.customers.payment_methods.list(cus.id).data] == [amex.id]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.detach(pm.id)
    assert err(info.value)["code"] == "payment_method_unexpected_state"
    other = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.attach(amex.id, params={"customer": other.id})
    assert err(info.value)["code"] == "payment_method_unexpected_state"


def test_payment_method_declined_attach(client):
    cus = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": cus.id})
    assert info.value.http_status == 402 and info.value.code == "card_declined"
    assert err(info.value)["decline_code"] == "generic_decline"
    assert client.v1.customers.payment_methods.list(cus.id).data == []
    assert client.v1.events.list(params={"type": "payment_method.attached"}).data == []
    ok = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    assert ok.customer == cus.id and ok.card.last4 == "0341"


def test_customer_create_with_declined_pm_creates_nothing(client):
    with pytest.raises(stripe.CardError) as info:
        client.v1.customers.create(params={"email": "d@x.io", "payment_method": "pm_card_chargeDeclined"})
    assert err(info.value)["decline_code"] == "generic_decline"
    assert client.v1.events.list().data == []
    assert client.v1.customers.list(params={"email": "d@x.io"}).data == []


# ---- billing portal ---------------------------------------------------------------------------------

PORTAL_NOT_SET_UP = ("You can’t create a portal session in test mode until you save your customer portal "
                     "settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.")


def test_billing_portal_requires_activation(client, make_client, sim):
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.billing_portal.sessions.create(params={"customer": cus.id, "return_url": "https://app/x"})
    assert err(info.value)["message"] == PORTAL_NOT_SET_UP
    assert client.v1.billing_portal.configurations.list().data == []
    resp = client.raw_request("post", "/_sim/billing_portal/activate", default_return_url="https://app/account")
    default_id = client.deserialize(resp, api_mode="V1").id
    session = client.v1.billing_portal.sessions.create(params={"customer": cus.id})
    assert session.id.startswith("bps_") and session.configuration == default_id
    assert session.return_url == "https://app/account" and session.customer == cus.id
    assert session.url.startswith(sim.public_url) and session.id in session.url
    explicit = client.v1.billing_portal.sessions.create(params={"customer": cus.id, "return_url": "https://app/y"})
    assert explicit.return_url == "https://app/y"
    # activation is per mode: live still fails
    live = make_client(sim.live_key)
    live_cus = live.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        live.v1.billing_portal.sessions.create(params={"customer": live_cus.id, "return_url": "https://app/x"})
    assert "in live mode" in err(info.value)["message"]


def test_billing_portal_configurations(client):
    conf = client.v1.billing_portal.configurations.create(params={
        "business_profile": {"headline": "Acme"}, "default_return_url": "https://app/r",
        "features": {"invoice_history": {"enabled": True},
                     "subscription_cancel": {"enabled": True, "mode": "immediately"}}})
    assert conf.id.startswith("bpc_") and conf.is_default is False and conf.active is True
    assert conf.business_profile.headline == "Acme"
    assert conf.features.subscription_cancel.mode == "immediately"
    updated = client.v1.billing_portal.configurations.update(conf.id, params={"active": False,
                                                                              "metadata": {"k": "v"}})
    assert updated.active is False and updated.metadata.to_dict() == {"k": "v"}
    assert [c.id for c in client.v1.billing_portal.configurations.list(params={"active": False}).data] == [conf.id]
    assert client.v1.billing_portal.configurations.list(params={"active": True}).data == []
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.billing_portal.sessions.create(params={"customer": cus.id, "configuration": conf.id})
    assert err(info.value)["param"] == "configuration"
    client.v1.billing_portal.configurations.update(conf.id, params={"active": True})
    session = client.v1.billing_portal.sessions.create(params={"customer": cus.id, "configuration": conf.id})
    assert session.configuration == conf.id and session.return_url == "https://app/r"


# ---- webhook endpoints ------------------------------------------------------------------------------

def test_webhook_endpoint_lifecycle(client):
    we = client.v1.webhook_endpoints.create(params={
        "url": "https://app.example/webhooks", "enabled_events": ["checkout.session.completed",
                                                                  "customer.subscription.updated"]})
    assert we.id.startswith("we_") and we.status == "enabled" and we.livemode is False
    assert we.secret.startswith("whsec_")
    assert "secret" not in client.v1.webhook_endpoints.retrieve(we.id)
    assert all("secret" not in e for e in client.v1.webhook_endpoints.list().data)
    disabled = client.v1.webhook_endpoints.update(we.id, params={"disabled": True})
    assert disabled.status == "disabled" and "secret" not in disabled
    assert client.v1.webhook_endpoints.update(we.id, params={"disabled": False}).status == "enabled"
    star = client.v1.webhook_endpoints.create(params={"url": "https://app.example/all", "enabled_events": ["*"]})
    assert star.enabled_events == ["*"] and star.secret != we.secret
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [star.id, we.id]
    assert client.v1.webhook_endpoints.delete(we.id).to_dict()["deleted"] is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.retrieve(we.id)
    assert info.value.http_status == 404
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [star.id]


@pytest.mark.parametrize(("events", "param"), [
    (["checkout.session.complete"], "enabled_events[0]"),
    (["customer.created", "customer.subscription.update"], "enabled_events[1]"),
    (["invoice.payment_succeded"], "enabled_events[0]"),
])
def test_webhook_endpoint_rejects_unknown_event_types(client, events, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.create(params={"url": "https://app.example/wh", "enabled_events": events})
    assert err(info.value)["param"] == param
    assert client.v1.webhook_endpoints.list().data == []


def test_webhook_endpoint_validation(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.create(params={"url": "ftp://app.example/wh", "enabled_events": ["*"]})
    assert err(info.value)["param"] == "url"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.create(params={"url": "https://app.example/wh"})
    assert err(info.value)["code"] == "parameter_missing" and err(info.value)["param"] == "enabled_events"
    we = client.v1.webhook_endpoints.create(params={"url": "https://app.example/wh", "enabled_events": ["*"]})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.update(we.id, params={"enabled_events": ["checkout.session.complete"]})
    assert client.v1.webhook_endpoints.retrieve(we.id).enabled_events == ["*"]


# ---- events -----------------------------------------------------------------------------------------

def test_events_list_filters_and_retrieve(client):
    cus = client.v1.customers.create(params={"email": "e@x.io"})
    client.v1.customers.update(cus.id, params={"name": "E"})
    make_price(client)
    all_events = client.v1.events.list(params={"limit": 100}).data
    assert [e.type for e in all_events] == ["price.created", "product.created", "customer.updated",
                                            "customer.created"]
    assert all(e.livemode is False and e.id.startswith("evt_") for e in all_events)
    wild = client.v1.events.list(params={"type": "customer.*"}).data
    assert [e.type for e in wild] == ["customer.updated", "customer.created"]
    assert [e.type for e in client.v1.events.list(params={"type": "customer.created"}).data] == ["customer.created"]
    several = client.v1.events.list(params={"types": ["product.created", "customer.created"]}).data
    assert [e.type for e in several] == ["product.created", "customer.created"]
    assert len(client.v1.events.list(params={"created": {"gte": all_events[-1].created}}).data) == 4
    assert client.v1.events.list(params={"created": {"gt": all_events[0].created + 10}}).data == []
    evt = client.v1.events.retrieve(all_events[-1].id)
    assert evt.to_dict() == all_events[-1].to_dict()
    assert evt.data.object.id == cus.id and evt.data.object.email == "e@x.io"
    assert evt.data.object.name is None  # a snapshot from creation time, not the current object
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.retrieve("evt_00000000000000")
    assert info.value.http_status == 404


# ---- pagination -------------------------------------------------------------------------------------

def test_pagination(client):
    ids = [client.v1.customers.create(params={"email": f"{i}@x.io"}).id for i in range(25)]
    newest_first = list(reversed(ids))
    page1 = client.v1.customers.list(params={"limit": 10})
    assert [c.id for c in page1.data] == newest_first[:10] and page1.has_more is True
    assert page1.url == "/v1/customers"
    page2 = client.v1.customers.list(params={"limit": 10, "starting_after": page1.data[-1].id})
    assert [c.id for c in page2.data] == newest_first[10:20] and page2.has_more is True
    page3 = client.v1.customers.list(params={"limit": 10, "starting_after": page2.data[-1].id})
    assert [c.id for c in page3.data] == newest_first[20:] and page3.has_more is False
    back = client.v1.customers.list(params={"limit": 3, "ending_before": ids[10]})
    assert [c.id for c in back.data] == [ids[13], ids[12], ids[11]] and back.has_more is True
    top = client.v1.customers.list(params={"limit": 3, "ending_before": ids[22]})
    assert [c.id for c in top.data] == [ids[24], ids[23]] and top.has_more is False
    assert len(client.v1.customers.list().data) == 10  # default limit
    everything = [c.id for c in client.v1.customers.list(params={"limit": 7}).auto_paging_iter()]
    assert everything == newest_first
    backwards = [c.id for c in client.v1.customers.list(params={"limit": 4, "ending_before": ids[0]})
                 .auto_paging_iter()]
    assert backwards == ids[1:]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.list(params={"limit": 101})
    assert err(info.value)["param"] == "limit"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.list(params={"starting_after": "cus_unknown"})
    assert err(info.value)["param"] == "starting_after" and err(info.value)["code"] == "resource_missing"


def test_listing_one_customers_subscriptions_pages_both_ways(client):
    """A list filtered by customer (served from the customer index) pages like any other list, and the
    cursor may be any subscription, even another customer's."""
    price = make_price(client)
    ours, theirs = (client.v1.customers.create(params={"payment_method": "pm_card_visa", "invoice_settings": {
        "default_payment_method": "pm_card_visa"}}) for _ in range(2))
    mine, others = [], []
    for _ in range(5):
        mine.append(client.v1.subscriptions.create(params={"customer": ours.id, "items": [{"price": price.id}]}).id)
        others.append(client.v1.subscriptions.create(params={"customer": theirs.id, "items": [{"price": price.id}]}).id)
    newest_first = list(reversed(mine))
    listed = [s.id for s in client.v1.subscriptions.list(params={"customer": ours.id, "limit": 2}).auto_paging_iter()]
    assert listed == newest_first
    page = client.v1.subscriptions.list(params={"customer": ours.id, "limit": 2, "starting_after": others[3]})
    assert [s.id for s in page.data] == newest_first[1:3] and page.has_more is True
    back = client.v1.subscriptions.list(params={"customer": ours.id, "limit": 2, "ending_before": mine[1]})
    assert [s.id for s in back.data] == [mine[3], mine[2]] and back.has_more is True
    client.v1.subscriptions.cancel(mine[0])
    assert mine[0] not in [s.id for s in client.v1.subscriptions.list(params={"customer": ours.id}).data]
    assert mine[0] in [s.id for s in client.v1.subscriptions.list(params={"customer": ours.id, "status": "all"}).data]
    assert client.v1.subscriptions.list(params={"customer": "cus_nobody"}).data == []


def test_pagination_skips_deleted(client):
    ids = [client.v1.customers.create().id for _ in range(5)]
    client.v1.customers.delete(ids[2])
    forward = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert forward == [ids[4], ids[3], ids[1], ids[0]]


def test_pagination_ending_before_skips_deleted(client):
    ids = [client.v1.customers.create().id for _ in range(5)]
    client.v1.customers.delete(ids[3])
    page = client.v1.customers.list(params={"ending_before": ids[1]})
    assert [c.id for c in page.data] == [ids[4], ids[2]]


# ---- expand -----------------------------------------------------------------------------------------

def test_expand_nested_on_subscription(client):
    price = make_price(client)
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "expand": ["items.data.price.product"]})
    product = sub["items"].data[0].price.product
    assert isinstance(product, stripe.Product) and product.id == price.product and product.metadata.plan == "pro"
    plain = client.v1.subscriptions.retrieve(sub.id)
    assert plain["items"].data[0].price.product == price.product
    assert isinstance(plain.customer, str)
    both = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["customer", "items.data.price.product"]})
    assert both.customer.id == cus.id and both.customer.email is None
    assert both["items"].data[0].price.product.name == "Pro"
    # four levels on a list, the leading `data` counted (Stripe's deepest allowed)
    path = "data.customer.invoice_settings.default_payment_method"
    listed = client.v1.subscriptions.list(params={"expand": [path]}).data
    assert listed[0].customer.invoice_settings.default_payment_method.card.last4 == "4242"
    # naming an inline object (a subscription item's price) is accepted and changes nothing
    listed = client.v1.subscriptions.list(params={"expand": ["data.items.data.price"]}).data
    assert listed[0]["items"].data[0].price.product == price.product
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.subscriptions.retrieve(sub.id, params={"expand": ["items.data.price.nope"]})
    assert err(info.value)["message"] == "This property cannot be expanded (items.data.price.nope)."
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.subscriptions.retrieve(sub.id, params={"expand": ["items.data.price.product.default_price.product"]})
    assert err(info.value)["code"] == "property_expansion_max_depth"


# ---- test / live separation ---------------------------------------------------------------------------

def test_test_and_live_are_separate(client, make_client, sim):
    live = make_client(sim.live_key)
    cus = client.v1.customers.create(params={"email": "t@x.io"})
    price = make_price(client, lookup_key="pro")
    client.v1.webhook_endpoints.create(params={"url": "https://app/wh", "enabled_events": ["*"]})
    assert live.v1.customers.list().data == []
    assert live.v1.products.list().data == []
    assert live.v1.prices.list(params={"lookup_keys": ["pro"]}).data == []
    assert live.v1.events.list().data == []
    assert live.v1.webhook_endpoints.list().data == []
    live_price = make_price(live, lookup_key="pro")  # lookup keys are unique per mode
    assert live_price.livemode is True and live_price.id != price.id
    live_cus = live.v1.customers.create(params={"email": "t@x.io"})
    assert live_cus.livemode is True and cus.livemode is False
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]
    assert [c.id for c in live.v1.customers.list(params={"email": "t@x.io"}).data] == [live_cus.id]
    live_events = live.v1.events.list().data
    assert live_events and all(e.livemode is True for e in live_events)
    assert all(e.livemode is False for e in client.v1.events.list(params={"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as info:
        live.v1.subscriptions.create(params={"customer": live_cus.id, "items": [{"price": price.id}]})
    assert err(info.value)["param"] == "items[0][price]"
    assert "a similar object exists in test mode, but a live mode key was used" in err(info.value)["message"]
