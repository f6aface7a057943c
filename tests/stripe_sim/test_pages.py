"""Hosted Checkout and Customer Portal over plain HTTP (the browser journeys drive them in chromium)."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def shop(stripe_server):
    import stripe
    sim, url = stripe_server.app, stripe_server.url
    client = stripe.StripeClient(sim.test_key, base_addresses={"api": url})
    prod = client.v1.products.create(params={"name": "Pro Plan", "metadata": {"plan": "pro"}})
    price = client.v1.prices.create(params={"product": prod.id, "unit_amount": 2900, "currency": "usd",
                                            "recurring": {"interval": "month"}})
    coupon = client.v1.coupons.create(params={"percent_off": 100, "duration": "once"})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "FREE"})
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}], "allow_promotion_codes": True,
        "customer_email": "ada@example.com", "success_url": "http://app.test/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://app.test/cancel"})
    return client, url, session


def test_checkout_page_has_stripes_selectors(shop):
    _, url, session = shop
    page = httpx.get(session.url).text
    for needle in ('id=\'email\'', "id='cardNumber'", "id='cardExpiry'", "id='cardCvc'", "id='billingName'",
                   "id='billingCountry'", "id='promotionCode'", "Add promotion code", "OrderDetails-TotalAmount",
                   'data-testid=\'hosted-payment-submit-button\'', "SubmitButton", "$29.00"):
        assert needle in page


def test_paying_redirects_to_success_url_with_the_session_id(shop):
    client, _, session = shop
    r = httpx.post(session.url, data={"email": "ada@example.com", "cardNumber": "4242 4242 4242 4242",
                                      "cardExpiry": "12 / 34", "cardCvc": "123", "billingName": "Ada"})
    assert r.status_code == 303 and r.headers["location"] == f"http://app.test/ok?session_id={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete" and done.payment_status == "paid"
    assert httpx.get(session.url).text.count("complete") >= 1


def test_declined_card_rerenders_with_stripes_message(shop):
    client, _, session = shop
    r = httpx.post(session.url, data={"email": "ada@example.com", "cardNumber": "4000000000000002",
                                      "cardExpiry": "12/34", "cardCvc": "123"})
    assert r.status_code == 402 and "Your card was declined." in r.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_promotion_code_apply(shop):
    _, _, session = shop
    bad = httpx.post(session.url + "/promotion_code", data={"code": "NOPE"})
    assert bad.status_code == 400 and bad.json()["error"] == "This code is invalid."
    ok = httpx.post(session.url + "/promotion_code", data={"code": "free"})
    assert ok.json() == {"total": "$0.00", "amount_total": 0}


def test_portal_cancel_at_period_end_and_return_link(shop, stripe_server):
    client, url, session = shop
    httpx.post(session.url, data={"email": "ada@example.com", "cardNumber": "4242424242424242",
                                  "cardExpiry": "12/34", "cardCvc": "123"})
    done = client.v1.checkout.sessions.retrieve(session.id)
    httpx.post(f"{url}/_sim/billing_portal/activate", data={"mode": "test"})
    portal = client.v1.billing_portal.sessions.create(params={"customer": done.customer,
                                                              "return_url": "http://app.test/"})
    page = httpx.get(portal.url).text
    assert 'data-test=\'cancel-subscription\'' in page and "return-to-business-link" in page
    link = page.split("data-test='cancel-subscription'")[0].rsplit("href='", 1)[1].split("'")[0]
    confirm = httpx.get(url + link).text
    assert "data-testid='confirm'" in confirm
    r = httpx.post(url + link, data={})
    assert r.status_code == 303
    sub = client.v1.subscriptions.retrieve(done.subscription)
    assert sub.cancel_at_period_end and sub.status == "active"
    assert "cancel-date" in httpx.get(portal.url).text


def test_unknown_links_are_404_pages(stripe_server):
    assert httpx.get(f"{stripe_server.url}/c/pay/cs_test_nope").status_code == 404
    assert httpx.get(f"{stripe_server.url}/p/session/bps_nope").status_code == 404


def test_payment_link_opens_a_checkout_session_each_visit_and_pays(stripe_server):
    """A payment link's URL makes a Checkout Session (with `payment_link`) and goes to its page; paid, the
    customer lands on the link's hosted confirmation; an inactive link is no longer available."""
    import stripe
    sim, url = stripe_server.app, stripe_server.url
    client = stripe.StripeClient(sim.test_key, base_addresses={"api": url})
    prod = client.v1.products.create(params={"name": "Pro Plan"})
    price = client.v1.prices.create(params={"product": prod.id, "unit_amount": 2900, "currency": "usd",
                                            "recurring": {"interval": "month"}})
    link = client.v1.payment_links.create(params={
        "line_items": [{"price": price.id, "quantity": 1}], "subscription_data": {"metadata": {"tier": "pro"}},
        "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Welcome!"}}})
    assert link.url == f"{url}/b/{link.id}" and link.active
    first = httpx.get(link.url)
    assert first.status_code == 303 and "/c/pay/cs_" in first.headers["location"]
    assert httpx.get(link.url).headers["location"] != first.headers["location"]  # a new session each visit
    r = httpx.post(first.headers["location"], data={"email": "ada@example.com", "cardNumber": "4242424242424242",
                                                    "cardExpiry": "12 / 34", "cardCvc": "123", "billingName": "Ada"})
    assert r.status_code == 303 and r.headers["location"] == f"{url}/b/{link.id}/done"
    assert "Welcome!" in httpx.get(r.headers["location"]).text
    session = client.v1.checkout.sessions.list(params={"status": "complete"}).data[0]
    assert session.payment_link == link.id and session.mode == "subscription"
    assert client.v1.subscriptions.retrieve(session.subscription).metadata.to_dict() == {"tier": "pro"}
    client.v1.payment_links.update(link.id, params={"active": False})
    assert httpx.get(link.url).status_code == 410
    assert [li.price.id for li in client.v1.payment_links.line_items.list(link.id).data] == [price.id]


def test_setup_mode_page_saves_the_card(stripe_server):
    import stripe
    sim, url = stripe_server.app, stripe_server.url
    client = stripe.StripeClient(sim.test_key, base_addresses={"api": url})
    cus = client.v1.customers.create(params={"email": "ada@example.com"})
    session = client.v1.checkout.sessions.create(params={"mode": "setup", "customer": cus.id, "currency": "usd",
                                                         "success_url": "http://app.test/ok"})
    page = httpx.get(session.url).text
    assert "Save card" in page and "id='cardNumber'" in page
    r = httpx.post(session.url, data={"email": "ada@example.com", "cardNumber": "4242424242424242",
                                      "cardExpiry": "12 / 34", "cardCvc": "123", "billingName": "Ada"})
    assert r.status_code == 303 and r.headers["location"] == "http://app.test/ok"
    si = client.v1.setup_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).setup_intent)
    assert (si.status, si.customer) == ("succeeded", cus.id)


def test_a_sepa_session_takes_an_iban_and_completes_unpaid_until_the_debit_settles(stripe_server):
    import stripe
    client = stripe.StripeClient(stripe_server.app.test_key, base_addresses={"api": stripe_server.url})
    price = client.v1.prices.create(params={"currency": "eur", "unit_amount": 1500, "product_data": {"name": "Pro"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "payment_method_types": ["sepa_debit"], "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "http://app.test/ok"})
    page = httpx.get(session.url).text
    assert "id='iban'" in page and "id='cardNumber'" not in page  # a SEPA-only session asks for no card
    bad = httpx.post(session.url, data={"email": "jenny@example.com", "iban": "DE00 1234", "billingName": "Jenny"})
    assert bad.status_code == 400 and "IBAN" in bad.text
    r = httpx.post(session.url, data={"email": "jenny@example.com", "iban": "AT32 1904 3002 3547 3204",
                                      "billingName": "Jenny Rosen"})
    assert r.status_code == 303
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"  # the debit is processing
    stripe_server.app.request("POST", "/_sim/webhooks/advance", {"seconds": 180})
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_bank_transfer_instructions_page_shows_what_to_send_where(stripe_server):
    import stripe
    client = stripe.StripeClient(stripe_server.app.test_key, base_addresses={"api": stripe_server.url})
    cus = client.v1.customers.create()
    pi = client.v1.payment_intents.create(params={
        "amount": 20000, "currency": "jpy", "customer": cus.id, "payment_method_types": ["customer_balance"],
        "payment_method_data": {"type": "customer_balance"}, "confirm": True, "payment_method_options": {
            "customer_balance": {"funding_type": "bank_transfer", "bank_transfer": {"type": "jp_bank_transfer"}}}})
    action = pi.next_action.display_bank_transfer_instructions
    assert action.hosted_instructions_url.startswith(stripe_server.url)
    page = httpx.get(action.hosted_instructions_url).text
    assert "20,000 JPY" in page and action.reference in page
    assert action.financial_addresses[0].zengin.account_number in page
    client.v1.test_helpers.customers.fund_cash_balance(cus.id, params={"amount": 20000, "currency": "jpy"})
    assert "No transfer is due" in httpx.get(action.hosted_instructions_url).text
    assert httpx.get(f"{stripe_server.url}/t/instructions/pi_missing").status_code == 404
