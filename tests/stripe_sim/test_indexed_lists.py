"""Lists filtered by an indexed field (customers by e-mail, a customer's payment methods, payment intents and
charges, events of a type) walk an index: they must still return exactly what a scan of the table would,
as the field changes, a request fails, cursors move and the world is restored."""

from __future__ import annotations

import pytest

from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.errors import StripeError


def ids(page: dict) -> list[str]:
    return [o["id"] for o in page["data"]]


@pytest.fixture
def sim():
    s = StripeSim(seed=11)
    yield s
    s.close()


def test_customers_by_email_follow_updates_failures_and_restores(sim):
    a = sim.request("POST", "/v1/customers", {"email": "a@example.com"})
    b = sim.request("POST", "/v1/customers", {"email": "b@example.com"})
    sim.request("POST", f"/v1/customers/{a['id']}", {"email": "z@example.com"})
    assert ids(sim.request("GET", "/v1/customers", {"email": "z@example.com"})) == [a["id"]]
    assert ids(sim.request("GET", "/v1/customers", {"email": "a@example.com"})) == []
    saved = sim.snapshot()
    with pytest.raises(StripeError):  # the e-mail changes, then the unknown payment method refuses the request
        sim.request("POST", f"/v1/customers/{b['id']}", {
            "email": "z@example.com", "invoice_settings": {"default_payment_method": "pm_missing"}})
    assert ids(sim.request("GET", "/v1/customers", {"email": "z@example.com"})) == [a["id"]]
    assert ids(sim.request("GET", "/v1/customers", {"email": "b@example.com"})) == [b["id"]]
    sim.request("POST", f"/v1/customers/{b['id']}", {"email": "z@example.com"})
    assert ids(sim.request("GET", "/v1/customers", {"email": "z@example.com"})) == [b["id"], a["id"]]
    sim.restore(saved)
    assert ids(sim.request("GET", "/v1/customers", {"email": "z@example.com"})) == [a["id"]]
    assert ids(sim.request("GET", "/v1/customers", {"email": "b@example.com"})) == [b["id"]]


def test_cursors_through_an_index_page_as_a_scan_does(sim):
    made = [sim.request("POST", "/v1/customers", {"email": "same@example.com"})["id"] for _ in range(5)]
    sim.request("POST", "/v1/customers", {"email": "other@example.com"})
    newest_first = list(reversed(made))
    page = sim.request("GET", "/v1/customers", {"email": "same@example.com", "limit": 2})
    assert ids(page) == newest_first[:2] and page["has_more"] is True
    page = sim.request("GET", "/v1/customers", {"email": "same@example.com", "limit": 2,
                                                "starting_after": newest_first[1]})
    assert ids(page) == newest_first[2:4] and page["has_more"] is True
    page = sim.request("GET", "/v1/customers", {"email": "same@example.com", "limit": 10,
                                                "starting_after": newest_first[3]})
    assert ids(page) == newest_first[4:] and page["has_more"] is False
    page = sim.request("GET", "/v1/customers", {"email": "same@example.com", "limit": 2,
                                                "ending_before": newest_first[4]})
    assert ids(page) == newest_first[2:4] and page["has_more"] is True


def test_a_customers_payment_methods_follow_attach_and_detach(sim):
    cus = sim.request("POST", "/v1/customers", {"payment_method": "pm_card_visa"})
    other = sim.request("POST", "/v1/customers", {})
    pm = sim.request("POST", "/v1/payment_methods", {"type": "card", "card": {"token": "tok_mastercard"}})
    assert ids(sim.request("GET", f"/v1/customers/{other['id']}/payment_methods")) == []
    sim.request("POST", f"/v1/payment_methods/{pm['id']}/attach", {"customer": other["id"]})
    assert ids(sim.request("GET", f"/v1/customers/{other['id']}/payment_methods")) == [pm["id"]]
    assert ids(sim.request("GET", "/v1/payment_methods", {"customer": other["id"]})) == [pm["id"]]
    first = ids(sim.request("GET", f"/v1/customers/{cus['id']}/payment_methods"))
    assert len(first) == 1 and first != [pm["id"]]
    sim.request("POST", f"/v1/payment_methods/{pm['id']}/detach")
    assert ids(sim.request("GET", f"/v1/customers/{other['id']}/payment_methods")) == []
    assert ids(sim.request("GET", "/v1/payment_methods", {"customer": other["id"]})) == []


def test_events_of_a_type_exact_or_by_pattern(sim):
    cus = sim.request("POST", "/v1/customers", {"email": "e@example.com"})
    sim.request("POST", f"/v1/customers/{cus['id']}", {"name": "E"})
    created = sim.request("GET", "/v1/events", {"type": "customer.created"})["data"]
    assert [e["data"]["object"]["id"] for e in created] == [cus["id"]]
    assert [e["type"] for e in sim.request("GET", "/v1/events", {"type": "customer.*"})["data"]] == [
        "customer.updated", "customer.created"]
    assert sim.request("GET", "/v1/events", {"type": "customer.deleted"})["data"] == []
