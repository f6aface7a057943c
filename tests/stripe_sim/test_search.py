"""The search endpoints through the official SDK's own `search` methods, in both transports: Stripe's query
language subset, `search_result` pages with `next_page`, and Stripe's refusals. Also: paths the simulator does
not serve answer Stripe's 404 "Unrecognized request URL", never a retrieve of an object called "search"."""

from __future__ import annotations

import re

import pytest
import stripe

from tests.stripe_sim.test_bad_input import assert_error
from tiersync.stripe_sim.search import UNPARSEABLE_QUERY

IRE = stripe.InvalidRequestError


@pytest.fixture
def people(client):
    made = [client.v1.customers.create(params={"email": e, "name": n, "metadata": {"userId": u, "tier": t}})
            for e, n, u, t in (("ada@x.io", "Ada Lovelace", "user_1", "pro"), ("bob@y.io", "Bob", "user_2", "free"),
                               ("cy@x.io", "Cy Adams", "user_3", "pro"))]
    client.v1.customers.delete(client.v1.customers.create(params={"email": "gone@x.io",
                                                                    "metadata": {"tier": "pro"}}).id)
    return {c.email: c.id for c in made}


def _emails(result) -> list[str]:
    return sorted(c.email for c in result.data)


@pytest.mark.parametrize(("query", "expected"), [
    ("email:'ada@x.io'", ["ada@x.io"]),
    ('email:"ADA@x.io"', ["ada@x.io"]),
    ("metadata['userId']:'user_2'", ["bob@y.io"]),
    ('metadata["tier"]:"pro"', ["ada@x.io", "cy@x.io"]),
    ("metadata['tier']:'pro' AND name~'ada'", ["ada@x.io", "cy@x.io"]),
    ("metadata['tier']:'pro' AND -email:'cy@x.io'", ["ada@x.io"]),
    ("email:'ada@x.io' OR email:'bob@y.io'", ["ada@x.io", "bob@y.io"]),
    ("name~'love'", ["ada@x.io"]),
    ("created>0 AND phone:null", ["ada@x.io", "bob@y.io", "cy@x.io"]),
    ("email:'nobody@x.io'", []),
])
def test_customer_search(client, people, query, expected):
    result = client.v1.customers.search(params={"query": query})
    assert result.object == "search_result" and result.url == "/v1/customers/search"
    assert _emails(result) == expected
    assert result.has_more is False and result.next_page is None


def test_search_pages_with_next_page(client, people):
    first = client.v1.customers.search(params={"query": "created>0", "limit": 2})
    assert len(first.data) == 2 and first.has_more is True and first.next_page
    second = client.v1.customers.search(params={"query": "created>0", "limit": 2, "page": first.next_page})
    assert len(second.data) == 1 and second.has_more is False and second.next_page is None
    every = [c.id for c in client.v1.customers.search(params={"query": "created>0", "limit": 1}).auto_paging_iter()]
    assert sorted(every) == sorted(people.values())


def test_search_other_resources(client):
    prod = client.v1.products.create(params={"name": "Pro plan", "metadata": {"tier": "pro"}})
    client.v1.products.create(params={"name": "Free plan", "active": False})
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 900, "product": prod.id,
                                            "lookup_key": "pro_monthly", "recurring": {"interval": "month"}})
    assert [p.id for p in client.v1.products.search(params={"query": "active:'true' AND name~'plan'"}).data] \
        == [prod.id]
    assert [p.id for p in client.v1.products.search(params={"query": "metadata['tier']:'pro'"}).data] == [prod.id]
    assert [p.id for p in client.v1.prices.search(params={"query": "lookup_key:'pro_monthly'"}).data] == [price.id]
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "metadata": {"userId": "user_9"}})
    found = client.v1.subscriptions.search(params={"query": "status:'active' AND metadata['userId']:'user_9'",
                                                   "expand": ["data.customer"]})
    assert [s.id for s in found.data] == [sub.id] and found.data[0].customer.id == cus.id
    invoices = client.v1.invoices.search(params={"query": f"customer:'{cus.id}' AND status:'paid'"}).data
    assert [i.id for i in invoices] == [sub.latest_invoice]
    assert client.v1.invoices.search(params={"query": f"subscription:'{sub.id}'"}).data[0].id == sub.latest_invoice


@pytest.mark.parametrize(("query", "message"), [
    # Stripe's texts (stripe-ruby-mock's live specs match their first sentences against Stripe)
    ("foo:'x'", "Field `foo` is an unsupported search field for resource `customers`. See "
                "http://stripe.com/docs/search#query-fields-for-customers for a list of supported fields."),
    ("email:'a@b.co' junk", UNPARSEABLE_QUERY),
    ("'dangling", re.compile(r"^We were unable to parse your search query\. ")),
    # the simulator's own wording (no public source)
    ("email:'a@b.co' AND name:'x' OR name:'y'", "Invalid query: a query may use AND or OR, but not both."),
    ("name~'ad'", "Invalid query: substring matching ('~') needs at least 3 characters."),
    ("email:ada", re.compile(r"must be quoted")),
    ("created>'soon'", re.compile(r"is not a number")),
    ("email>'a'", re.compile(r"does not support numeric comparison")),
    (" OR ".join(f"email:'{i}@x.io'" for i in range(11)), "Invalid query: at most 10 clauses are allowed."),
])
def test_search_query_refused(client, query, message):
    with pytest.raises(IRE) as info:
        client.v1.customers.search(params={"query": query})
    assert_error(info.value, 400, "invalid_request_error", "parameter_invalid", "query", message)


def test_search_needs_a_query(client):
    with pytest.raises(IRE) as info:
        client.v1.customers.search(params={})
    assert_error(info.value, 400, "invalid_request_error", "parameter_missing", "query",
                 "Missing required param: query.")


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/v1/invoices/create_preview"), ("get", "/v1/invoices/upcoming"), ("get", "/v1/invoices/upcoming/lines"),
    ("get", "/v1/billing/meters"), ("get", "/v1/issuing/cards"), ("get", "/v1/customers/cus_x/sources/ba_x/verify"),
    ("get", "/v1/nope"), ("delete", "/v1/prices/price_x"), ("post", "/v1/events"), ("post", "/v1/customers/search"),
])
def test_unserved_paths_are_stripes_404(client, method, path):
    with pytest.raises(IRE) as info:
        client.raw_request(method, path)
    assert_error(info.value, 404, "invalid_request_error", None, None,
                 f"Unrecognized request URL ({method.upper()}: {path}). Please see https://stripe.com/docs or we "
                 "can help at https://support.stripe.com/.")


def test_search_is_not_a_retrieve_and_ids_still_are(client, people):
    with pytest.raises(IRE) as info:
        client.v1.customers.retrieve("cus_search")
    assert_error(info.value, 404, "invalid_request_error", "resource_missing", "id", "No such customer: 'cus_search'")
    assert client.v1.customers.retrieve(people["ada@x.io"]).email == "ada@x.io"


def test_a_trailing_slash_gets_stripes_hint(client):
    with pytest.raises(IRE) as info:
        client.raw_request("get", "/v1/checkout/sessions/")
    assert_error(info.value, 404, "invalid_request_error", None, None,
                 "Unrecognized request URL (GET: /v1/checkout/sessions/). If you are trying to list objects, remove "
                 "the trailing slash. If you are trying to retrieve an object, make sure you passed a valid "
                 "(non-empty) identifier in your code. Please see https://stripe.com/docs or we can help at "
                 "https://support.stripe.com/.")


def test_search_total_count_when_expanded(client, people):
    plain = client.v1.customers.search(params={"query": "metadata['tier']:'pro'", "limit": 1})
    assert "total_count" not in plain
    counted = client.v1.customers.search(params={"query": "metadata['tier']:'pro'", "limit": 1,
                                                 "expand": ["total_count"]})
    assert counted.total_count == 2 and len(counted.data) == 1 and counted.has_more is True
