"""Requests Stripe refuses, refused here with the error Stripe gives (HTTP status, type, code, param,
message), through the official SDK in both transports (in-process and server). A simulator that accepts
one of these lets an app pass here and fail in production (#16, #17.9). Each case also checks that the
refusal changed nothing."""

from __future__ import annotations

import re

import pytest
import stripe

from tests.stripe_sim.test_bad_input import assert_error, raw, raw_error  # noqa: F401  (raw: a fixture)
from tiersync.stripe_sim.params import UNPARSEABLE

IRE = stripe.InvalidRequestError


def _product(c):
    return c.v1.products.create(params={"name": "Pro"}).id


def _sub(c):
    price = c.v1.prices.create(params={"currency": "usd", "unit_amount": 1000, "product": _product(c),
                                       "recurring": {"interval": "month"}})
    cus = c.v1.customers.create(params={"payment_method": "pm_card_visa",
                                        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    return c.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})


_URL_REFUSAL = (IRE, 400, "invalid_request_error", "url_invalid")

# (call(client), exception, status, type, code, param, message)
CASES = [
    # expansion: four levels at most, a list's leading `data` counted (CONTRACTS.md section 4)
    pytest.param(lambda c: (_sub(c), c.v1.subscriptions.list(params={"expand": ["data.items.data.price.product"]})),
                 IRE, 400, "invalid_request_error", "property_expansion_max_depth", None,
                 "You cannot expand more than 4 levels of a property. Property: data.items.data.price.product",
                 id="expand-five-levels-on-list"),
    pytest.param(lambda c: c.v1.subscriptions.retrieve(_sub(c).id, params={
        "expand": ["items.data.price.product.default_price"]}),
        IRE, 400, "invalid_request_error", "property_expansion_max_depth", None,
        "You cannot expand more than 4 levels of a property. Property: items.data.price.product.default_price",
        id="expand-five-levels-on-retrieve"),
    pytest.param(lambda c: c.v1.customers.create(params={"expand": ["a.b.c.d.e"]}),
                 IRE, 400, "invalid_request_error", "property_expansion_max_depth", None,
                 "You cannot expand more than 4 levels of a property. Property: a.b.c.d.e",
                 id="expand-five-levels-on-create"),
    pytest.param(lambda c: c.v1.customers.create(params={"email": "a@b.co", "expand": ["email"]}),
                 IRE, 400, "invalid_request_error", None, None, "This property cannot be expanded (email).",
                 id="expand-scalar"),
    pytest.param(lambda c: c.v1.subscriptions.retrieve(_sub(c).id, params={"expand": ["metadata"]}),
                 IRE, 400, "invalid_request_error", None, None, "This property cannot be expanded (metadata).",
                 id="expand-metadata"),
    pytest.param(lambda c: c.v1.subscriptions.retrieve(_sub(c).id, params={"expand": ["id"]}),
                 IRE, 400, "invalid_request_error", None, None, "This property cannot be expanded (id).",
                 id="expand-own-id"),
    pytest.param(lambda c: c.v1.subscriptions.retrieve(_sub(c).id, params={"expand": ["items.data.price.nope"]}),
                 IRE, 400, "invalid_request_error", None, None,
                 "This property cannot be expanded (items.data.price.nope).", id="expand-unknown-nested"),
    pytest.param(lambda c: (_sub(c), c.v1.subscriptions.list(params={"expand": ["customer"]})),
                 IRE, 400, "invalid_request_error", None, None,
                 "This property cannot be expanded (customer). You may want to try expanding 'data.customer' "
                 "instead.", id="expand-list-without-data"),
    pytest.param(
        lambda c: c.v1.subscriptions.retrieve(_sub(c).id, params={"expand": ["latest_invoice.payment_intent"]}),
        IRE, 400, "invalid_request_error", None, None,
        "This property cannot be expanded (latest_invoice.payment_intent).", id="expand-field-removed-in-basil"),
    pytest.param(lambda c: (lambda s: c.v1.subscriptions.create(params={
        "customer": s.customer, "items": [{"price": s["items"].data[0].price.id},
                                          {"price": s["items"].data[0].price.id}]}))(_sub(c)),
        IRE, 400, "invalid_request_error", None, "items[1][price]",
        "Cannot add multiple subscription items with the same price to a subscription.", id="same-price-twice"),
    pytest.param(lambda c: c.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://app.example/ok",
        "line_items": [{"price": c.v1.prices.create(params={"currency": "usd", "unit_amount": 500,
                                                            "product": _product(c)}).id}]}),
        IRE, 400, "invalid_request_error", None, "line_items[0][quantity]",
        "Quantity is required. Add `quantity` to `line_items[0]`", id="checkout-line-without-quantity"),
    # input Stripe does not coerce (#17.9)
    pytest.param(lambda c: c.v1.prices.create(params={"currency": "usd", "unit_amount": " 5", "product": _product(c)}),
                 IRE, 400, "invalid_request_error", "parameter_invalid_integer", "unit_amount",
                 "Invalid integer:  5", id="integer-with-space"),
    pytest.param(lambda c: c.v1.customers.create(params={"email": "not-an-email"}),
                 IRE, 400, "invalid_request_error", "email_invalid", "email",
                 "Invalid email address: not-an-email", id="email-invalid"),
    pytest.param(lambda c: c.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "javascript:alert(document.cookie)",
        "line_items": [{"price": "price_x", "quantity": 1}]}),
        *_URL_REFUSAL, "success_url", "Not a valid URL", id="success-url-javascript"),
    pytest.param(lambda c: c.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://app.example/ok", "cancel_url": "data:text/html,x",
        "line_items": [{"price": "price_x", "quantity": 1}]}),
        *_URL_REFUSAL, "cancel_url", "Not a valid URL", id="cancel-url-data"),
    pytest.param(lambda c: c.v1.billing_portal.sessions.create(params={
        "customer": c.v1.customers.create().id, "return_url": "javascript:alert(1)"}),
        *_URL_REFUSAL, "return_url", "Not a valid URL", id="portal-return-url-javascript"),
    pytest.param(lambda c: c.v1.customers.create(params={"email": "a@b.co"},
                                                 options={"idempotency_key": "k" * 256}),
                 IRE, 400, "invalid_request_error", None, None,
                 re.compile(r"^Idempotent key length is 256, which is outside accepted lengths\. Idempotent Keys "
                            r"must be 1-255 characters long\."), id="idempotency-key-too-long"),
    pytest.param(lambda c: c.v1.test_helpers.test_clocks.create(params={"frozen_time": 99_999_999_999}),
                 IRE, 400, "invalid_request_error", None, "frozen_time",
                 "The frozen_time cannot be more than two years in the future.", id="test-clock-far-future"),
]


@pytest.mark.parametrize(("call", "exc_type", "status", "type_", "code", "param", "message"), CASES)
def test_refused_like_stripe(client, call, exc_type, status, type_, code, param, message):
    with pytest.raises(exc_type) as info:
        call(client)
    assert_error(info.value, status, type_, code, param, message)


def test_advancing_a_clock_more_than_two_years_is_refused(client):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_800_000_000})
    with pytest.raises(IRE) as info:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1_800_000_000 + 3 * 366 * 86400})
    assert_error(info.value, 400, "invalid_request_error", None, "frozen_time",
                 "The frozen_time cannot be more than two years in the future.")
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == 1_800_000_000


def test_advancing_more_than_two_intervals_of_the_clocks_shortest_subscription_is_refused(client):
    """API reference (advance `frozen_time`): "Cannot be more than two intervals in the future from the shortest
    subscription in this test clock"; with no subscription the two-year limit applies."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_800_000_000})
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1_800_000_000 + 400 * 86400})
    cus = client.v1.customers.create(params={"test_clock": clock.id, "payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    prod = _product(client)
    for interval in ("month", "week"):
        price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500, "product": prod,
                                                "recurring": {"interval": interval}})
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    now = client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time
    with pytest.raises(IRE) as info:  # the weekly one is the shortest: two weeks at most
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": now + 15 * 86400})
    assert_error(info.value, 400, "invalid_request_error", None, "frozen_time",
                 "The frozen_time cannot be more than two intervals of the shortest subscription on this test clock "
                 "in the future.")
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == now
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": now + 14 * 86400})


def test_refused_create_makes_nothing(client):
    with pytest.raises(IRE):
        client.v1.customers.create(params={"email": "bad", "metadata": {"k": "v"}})
    with pytest.raises(IRE):
        client.v1.customers.create(params={"email": "a@b.co", "expand": ["data.a.b.c.d"]})
    with pytest.raises(IRE):
        client.v1.customers.create(params={"email": "a@b.co"}, options={"idempotency_key": "k" * 256})
    with pytest.raises(IRE):
        client.v1.test_helpers.test_clocks.create(params={"frozen_time": 99_999_999_999})
    assert client.v1.customers.list().data == []
    assert client.v1.test_helpers.test_clocks.list().data == []
    assert client.v1.events.list().data == []


@pytest.mark.parametrize("body", [b"email=a%40b.co&metadata[plan]=%ff%fe", b"email=a%40b.co&name=%c3%28",
                                  b"metadata[%ff]=x"])
def test_percent_encoded_invalid_utf8_is_refused_not_stored(raw, body):  # noqa: F811  (the fixture)
    status, err = raw_error(raw("POST", "/v1/customers", body))
    assert status == 400 and err["type"] == "invalid_request_error"
    assert err["message"] == UNPARSEABLE and "code" not in err and "param" not in err
    status, _, listed = raw("GET", "/v1/customers")
    assert status == 200 and b"\\ufffd" not in listed and b'"data":[]' in listed


# a malformed percent escape (Rack cannot decode it): Stripe's generic "check your POST parameters" answer,
# quoted in arlyon/async-stripe#922; never read as the literal text `%zz`
@pytest.mark.parametrize(("method", "body", "query"), [
    ("POST", b"name=%zz", ""), ("POST", b"email=a%40b.co&name=abc%", ""), ("POST", b"metadata[%zz]=x", ""),
    ("POST", b"name=%4", ""), ("GET", b"", "limit=%zz"), ("GET", b"", "email=%g1")])
def test_malformed_percent_escape_is_refused(raw, method, body, query):  # noqa: F811  (the fixture)
    status, err = raw_error(raw(method, "/v1/customers", body, query=query))
    assert status == 400 and err["type"] == "invalid_request_error"
    assert err["message"] == UNPARSEABLE and "code" not in err and "param" not in err
    status, _, listed = raw("GET", "/v1/customers")
    assert status == 200 and b'"data":[]' in listed
    assert raw("POST", "/v1/customers", b"name=100%25")[0] == 200  # an escaped percent sign is fine


# ---- all or nothing (#16): a refused request leaves every object as it was ------------------------------

def test_refused_update_keeps_metadata_and_description(client):
    sub = _sub(client)
    client.v1.subscriptions.update(sub.id, params={"metadata": {"plan": "pro"}, "description": "before"})
    events = len(client.v1.events.list(params={"limit": 100}).data)
    with pytest.raises(IRE) as info:
        client.v1.subscriptions.update(sub.id, params={
            "metadata": {"plan": "changed"}, "description": "after",
            "items": [{"id": sub["items"].data[0].id, "price": "price_nope"}]})
    assert_error(info.value, 400, "invalid_request_error", "resource_missing", "items[0][price]",
                 "No such price: 'price_nope'")
    again = client.v1.subscriptions.retrieve(sub.id)
    assert again.metadata.to_dict() == {"plan": "pro"} and again.description == "before"
    assert again.to_dict() == client.v1.subscriptions.retrieve(sub.id).to_dict()
    assert len(client.v1.events.list(params={"limit": 100}).data) == events


def test_declined_subscription_create_redeems_no_promotion_code(client):
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 1000, "product": _product(client),
                                            "recurring": {"interval": "month"}})
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "SAVE10", "max_redemptions": 1})
    cus = client.v1.customers.create(params={
        "payment_method": "pm_card_chargeCustomerFail",
        "invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}})
    with pytest.raises(stripe.CardError):
        client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                               "discounts": [{"promotion_code": promo.id}],
                                               "payment_behavior": "error_if_incomplete"})
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 0
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 0
    assert client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"}).data == []
    good = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                              "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    client.v1.subscriptions.create(params={"customer": good.id, "items": [{"price": price.id}],
                                           "discounts": [{"promotion_code": promo.id}]})
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1  # its one redemption still left


# ---- Stripe-Version (#16) ------------------------------------------------------------------------------

def test_no_version_is_served_the_pinned_one(client):
    from tiersync.stripe_sim.routing import API_VERSION
    cus = client.v1.customers.create()
    assert cus.last_response.headers["Stripe-Version"] == API_VERSION == stripe.api_version


@pytest.mark.parametrize("version", ["2025-02-24.acacia", "2025-03-31.basil", "2025-09-30.clover", "2026-08-26.dahlia"])
def test_a_version_the_table_reaches_is_served_and_echoed(make_client, version):
    client = make_client(stripe_version=version)
    cus = client.v1.customers.create()
    assert cus.last_response.headers["Stripe-Version"] == version


# before the oldest version versions.py translates to; later than the pinned one; a date with another
# release's name (Stripe refused "2025-09-30.acacia": IgorGanapolsky/ThumbGate#2053); a date Stripe released
# nothing on; no release name; malformed (stripe/stripe-java#682 "2019-2-19")
@pytest.mark.parametrize("version", ["2020-08-27", "2024-06-20", "2099-01-01.zebra", "2026-11-25.endive",
                                     "2025-09-30.acacia", "2025-04-01.basil", "2025-03-31", "2019-2-19",
                                     "2026-13-45", "latest", "2025-09-30.nope"])
def test_a_version_not_served_is_refused_with_stripes_own_message(make_client, version):
    client = make_client(stripe_version=version)
    with pytest.raises(IRE) as info:
        client.v1.customers.create(params={"email": "a@b.co"})
    # Stripe's whole message, nothing added (stripe/stripe-java#682, beam-community/stripity-stripe#613)
    assert_error(info.value, 400, "invalid_request_error", None, None, f"Invalid Stripe API version: {version}")
    assert make_client().v1.customers.list().data == []


def test_webhook_endpoint_api_version_not_served_is_refused(client):
    with pytest.raises(IRE) as info:
        client.v1.webhook_endpoints.create(params={"url": "https://app.example/wh", "enabled_events": ["*"],
                                                   "api_version": "2023-10-16"})
    # Stripe's generic answer, no param (observed for 2024-06-20 on a dahlia account: Lauiskk/ticket-to-ride)
    assert_error(info.value, 400, "invalid_request_error", None, None, UNPARSEABLE)
    assert client.v1.webhook_endpoints.list().data == []


def test_allowed_expansions_stay_allowed(client):
    """The limits above refuse nothing Stripe serves: four levels, includable lists, inline objects."""
    sub = _sub(client)
    price = sub["items"].data[0].price
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://app.example/ok?s={CHECKOUT_SESSION_ID}",
        "line_items": [{"price": price.id, "quantity": 1}]})
    got = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items.data.price.product"]})
    assert got.line_items.data[0].price.product.name == "Pro"
    got = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert got.line_items.data[0].price.product == price.product
    listed = client.v1.subscriptions.list(params={"expand": ["data.items", "data.latest_invoice.customer",
                                                             "data.customer.invoice_settings.default_payment_method"]})
    assert listed.data[0].latest_invoice.customer.id == sub.customer
    assert client.v1.prices.list(params={"expand": ["data.product"]}).data[0].product.name == "Pro"


def test_a_connected_account_is_refused_not_ignored(make_client, sim):
    """Connect is not simulated: a `Stripe-Account` request must not act on the platform's own objects."""
    client = make_client(stripe_account="acct_1ConnectedXyz")
    with pytest.raises(stripe.PermissionError) as info:
        client.v1.customers.create(params={"email": "a@b.co"})
    assert_error(info.value, 403, "invalid_request_error", "account_invalid", None,
                 f"The provided key 'sk_test_****{sim.test_key[-4:]}' does not have access to account "
                 "'acct_1ConnectedXyz' (or that account does not exist). Application access may have been revoked.")
    assert make_client().v1.customers.list().data == []
