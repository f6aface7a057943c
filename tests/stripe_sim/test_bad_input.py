"""Bad input never yields a 5xx or a traceback: every failure is a Stripe-shaped error that the official SDK
maps to the right exception class. Cases run through the SDK in both transports (in-process and server);
what the SDK cannot send (invalid UTF-8, odd methods, no key) goes raw. Property tests fuzz the form parser
and `StripeSim.handle`."""

from __future__ import annotations

import json
import re
import string
from urllib.parse import quote

import httpx
import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.errors import StripeError
from tiersync.stripe_sim.params import List, Metadata, Obj, decode_form
from tiersync.stripe_sim.routing import ROUTES

# ---- helpers ----------------------------------------------------------------------------------------


def error_of(exc: stripe.StripeError) -> dict:
    body = exc.json_body
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), exc.http_body
    return body["error"]


def assert_error(exc: stripe.StripeError, status: int, type_: str, code: str | None, param: str | None,
                 message: str | re.Pattern):
    err = error_of(exc)
    assert exc.http_status == status, err
    assert err["type"] == type_, err
    assert err.get("code") == code, err
    assert err.get("param") == param, err
    if isinstance(message, re.Pattern):
        assert message.search(err["message"]), err["message"]
    else:
        assert err["message"] == message


@pytest.fixture
def raw(sim, stripe_mode, request):
    """raw(method, path, body=b"", headers=None, query="") -> (status, headers, body bytes), bypassing the SDK.
    In-process it calls `sim.handle`; in server mode it goes over HTTP with httpx."""
    if stripe_mode == "inprocess":
        def call(method, path, body=b"", headers=None, query=""):
            hdrs = {"authorization": f"Bearer {sim.test_key}"}
            hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
            hdrs = {k: v for k, v in hdrs.items() if v is not None}
            resp = sim.handle(method, path, query, hdrs, body)
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.body
        yield call
    else:
        url = request.getfixturevalue("stripe_server").url
        with httpx.Client(base_url=url, timeout=10) as http:
            def call(method, path, body=b"", headers=None, query=""):
                hdrs = {"authorization": f"Bearer {sim.test_key}"}
                hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
                hdrs = {k: v for k, v in hdrs.items() if v is not None}
                if body and "content-type" not in hdrs:
                    hdrs["content-type"] = "application/x-www-form-urlencoded"
                target = path + (f"?{query}" if query else "")
                resp = http.request(method, target, content=body, headers=hdrs)
                return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content
            yield call


def raw_error(status_headers_body) -> tuple[int, dict]:
    status, _, body = status_headers_body
    payload = json.loads(body)
    assert isinstance(payload.get("error"), dict), payload
    return status, payload["error"]


def _customer(c):
    return c.v1.customers.create(params={"email": "x@example.com"}).id


# ---- SDK cases: (call(client, make_client, sim), exception, status, type, code, param, message) --------------

IRE = stripe.InvalidRequestError
CASES = [
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"foo": "1"}),
                 IRE, 400, "invalid_request_error", "parameter_unknown", "foo",
                 "Received unknown parameter: foo", id="unknown-param"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"a": "1", "b": "2"}),
                 IRE, 400, "invalid_request_error", "parameter_unknown", "a",
                 "Received unknown parameters: a, b", id="unknown-params-several"),
    pytest.param(lambda c, mk, sim: c.v1.subscriptions.create(
        params={"customer": _customer(c), "items": [{"price": "price_x", "foo": "bar"}]}),
        IRE, 400, "invalid_request_error", "parameter_unknown", "items[0][foo]",
        "Received unknown parameter: items[0][foo]", id="unknown-nested-list"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"address": {"town": "Paris"}}),
                 IRE, 400, "invalid_request_error", "parameter_unknown", "address[town]",
                 "Received unknown parameter: address[town]", id="unknown-nested-hash"),
    pytest.param(lambda c, mk, sim: c.v1.prices.create(params={"unit_amount": 100, "product": "prod_x"}),
                 IRE, 400, "invalid_request_error", "parameter_missing", "currency",
                 "Missing required param: currency.", id="missing-required"),
    pytest.param(lambda c, mk, sim: c.v1.products.create(params={"metadata": {"plan": "pro"}}),
                 IRE, 400, "invalid_request_error", "parameter_missing", "name",
                 "Missing required param: name.", id="missing-required-name"),
    pytest.param(lambda c, mk, sim: c.v1.prices.create(params={"currency": "usd", "unit_amount": "abc",
                                                          "product": "prod_x"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid_integer", "unit_amount",
                 "Invalid integer: abc", id="invalid-integer"),
    pytest.param(lambda c, mk, sim: c.v1.customers.list(params={"limit": "ten"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid_integer", "limit",
                 "Invalid integer: ten", id="invalid-integer-query"),
    pytest.param(lambda c, mk, sim: c.v1.products.create(params={"name": "x", "active": "maybe"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid_boolean", "active",
                 "Invalid boolean: maybe", id="invalid-boolean"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"tax_exempt": "bogus"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid", "tax_exempt",
                 re.compile(r"^Invalid tax_exempt: must be one of (?=.*exempt)(?=.*none)(?=.*reverse)"),
                 id="invalid-enum"),
    pytest.param(lambda c, mk, sim: c.v1.customers.retrieve("cus_doesnotexist"),
                 IRE, 404, "invalid_request_error", "resource_missing", "id",
                 "No such customer: 'cus_doesnotexist'", id="retrieve-unknown-id"),
    pytest.param(lambda c, mk, sim: c.v1.prices.retrieve("price_nope"),
                 IRE, 404, "invalid_request_error", "resource_missing", "id",
                 "No such price: 'price_nope'", id="retrieve-unknown-price"),
    pytest.param(lambda c, mk, sim: c.v1.subscriptions.create(
        params={"customer": _customer(c), "items": [{"price": "price_nope"}]}),
        IRE, 400, "invalid_request_error", "resource_missing", "items[0][price]",
        "No such price: 'price_nope'", id="create-references-unknown-price"),
    pytest.param(lambda c, mk, sim: c.v1.prices.create(params={"currency": "usd", "unit_amount": 5,
                                                          "product": "prod_nope"}),
                 IRE, 400, "invalid_request_error", "resource_missing", "product",
                 "No such product: 'prod_nope'", id="create-references-unknown-product"),
    pytest.param(lambda c, mk, sim: c.v1.customers.retrieve(mk(sim.live_key)
                                                       .v1.customers.create().id),
                 IRE, 404, "invalid_request_error", "resource_missing", "id",
                 re.compile(r"^No such customer: 'cus_\w+'; a similar object exists in live mode, but a test "
                            r"mode key was used to make this request\.$"), id="live-id-with-test-key"),
    pytest.param(lambda c, mk, sim: mk(sim.live_key).v1.customers.retrieve(
        _customer(c)),
        IRE, 404, "invalid_request_error", "resource_missing", "id",
        re.compile(r"^No such customer: 'cus_\w+'; a similar object exists in test mode, but a live "
                   r"mode key was used to make this request\.$"), id="test-id-with-live-key"),
    pytest.param(lambda c, mk, sim: c.v1.subscriptions.create(
        params={"customer": mk(sim.live_key).v1.customers.create().id,
                "items": [{"price": "price_x"}]}),
        IRE, 400, "invalid_request_error", "resource_missing", "customer",
        re.compile(r"a similar object exists in live mode, but a test mode key was used"),
        id="live-id-referenced-on-create"),
    pytest.param(lambda c, mk, sim: mk("sk_test_notARealKey1234").v1.customers.list(),
                 stripe.AuthenticationError, 401, "invalid_request_error", "api_key_invalid", None,
                 "Invalid API Key provided: sk_test_****1234", id="unknown-api-key"),
    pytest.param(lambda c, mk, sim: mk("pk_test_publishable9876").v1.customers.list(),
                 stripe.AuthenticationError, 401, "invalid_request_error", "secret_key_required", None,
                 re.compile(r"publishable API key"), id="publishable-key"),
    pytest.param(lambda c, mk, sim: c.raw_request("get", "/v1/not_a_resource"),
                 IRE, 404, "invalid_request_error", None, None,
                 re.compile(r"^Unrecognized request URL \(GET: /v1/not_a_resource\)\."), id="unknown-route"),
    pytest.param(lambda c, mk, sim: c.raw_request("delete", "/v1/events"),
                 IRE, 404, "invalid_request_error", None, None,
                 re.compile(r"^Unrecognized request URL \(DELETE: /v1/events\)\."), id="wrong-method"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"a]b[": "1"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid", "a]b[",
                 "Invalid parameter name: a]b[", id="malformed-brackets-reversed"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"a[b": "1"}),
                 IRE, 400, "invalid_request_error", "parameter_invalid", "a[b",
                 "Invalid parameter name: a[b", id="malformed-brackets-unclosed"),
    pytest.param(lambda c, mk, sim: c.v1.customers.create(params={"metadata": {"a": {"b": "c"}}}),
                 IRE, 400, "invalid_request_error", "parameter_invalid_string", "metadata[a]",
                 re.compile(r"^Invalid string"), id="metadata-value-is-hash"),
    pytest.param(lambda c, mk, sim: c.v1.payment_methods.attach("pm_card_chargeDeclined",
                                                            params={"customer": _customer(c)}),
                 stripe.CardError, 402, "card_error", "card_declined", "payment_method",
                 "Your card was declined.", id="card-declined-on-attach"),
]


@pytest.mark.parametrize(("call", "exc_type", "status", "type_", "code", "param", "message"), CASES)
def test_sdk_error_shape(client, make_client, sim, call, exc_type, status, type_, code, param, message):
    with pytest.raises(exc_type) as info:
        call(client, make_client, sim)
    assert type(info.value) is exc_type
    assert_error(info.value, status, type_, code, param, message)
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_oversized_body(client):
    with pytest.raises(stripe.APIError) as info:
        client.v1.customers.create(params={"description": "x" * 1_100_000})
    assert_error(info.value, 413, "invalid_request_error", None, None, "Request body too large.")
    assert client.v1.customers.list().data == []


def test_unknown_key_is_masked_never_echoed(make_client):
    key = "sk_test_SuperSecretValue98761234"
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(key).v1.customers.create(params={"email": "a@b.c"})
    assert key not in info.value.http_body
    assert "SuperSecret" not in info.value.http_body
    assert "sk_test_****1234" in info.value.http_body


def test_card_declined_carries_decline_code(client):
    cus = _customer(client)
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.attach("pm_card_chargeDeclinedInsufficientFunds", params={"customer": cus})
    assert info.value.code == "card_declined"
    assert error_of(info.value)["decline_code"] == "insufficient_funds"
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": cus})
    assert error_of(info.value)["decline_code"] == "generic_decline"
    assert client.v1.customers.payment_methods.list(cus).data == []


def test_metadata_accepts_arbitrary_keys(client):
    cus = client.v1.customers.create(params={"metadata": {"foo": "1", "any key at all": "2"}})
    assert cus.metadata.to_dict() == {"foo": "1", "any key at all": "2"}


def test_errors_do_not_create_objects(client, sim):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"email": "a@b.c", "foo": "x"})
    assert client.v1.customers.list().data == []
    assert client.v1.events.list().data == []


# ---- idempotency ------------------------------------------------------------------------------------

def test_idempotent_replay_returns_same_body(client):
    opts = {"idempotency_key": "idem-replay-1"}
    first = client.v1.customers.create(params={"email": "i@x.io"}, options=opts)
    second = client.v1.customers.create(params={"email": "i@x.io"}, options=opts)
    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert [c.id for c in client.v1.customers.list().data] == [first.id]
    assert len(client.v1.events.list(params={"type": "customer.created"}).data) == 1


def test_idempotency_key_reuse_with_other_params(client):
    opts = {"idempotency_key": "idem-reuse-1"}
    client.v1.customers.create(params={"email": "a@x.io"}, options=opts)
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.customers.create(params={"email": "b@x.io"}, options=opts)
    assert_error(info.value, 400, "idempotency_error", None, None,
                 re.compile(r"^Keys for idempotent requests can only be used with the same parameters they were "
                            r"first used with\. Try using a key other than 'idem-reuse-1'"))
    assert len(client.v1.customers.list().data) == 1


def test_idempotency_keys_are_per_api_key(client, make_client, sim):
    opts = {"idempotency_key": "idem-shared"}
    test_cus = client.v1.customers.create(params={"email": "a@x.io"}, options=opts)
    live_cus = make_client(sim.live_key).v1.customers.create(params={"email": "a@x.io"}, options=opts)
    assert live_cus.id != test_cus.id
    assert live_cus.livemode is True and test_cus.livemode is False


# ---- raw requests (what the SDK cannot send) ----------------------------------------------------------

def test_missing_api_key(raw):
    status, err = raw_error(raw("GET", "/v1/customers", headers={"authorization": None}))
    assert status == 401
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("You did not provide an API key.")


@pytest.mark.parametrize("auth", ["Bearer", "Basic !!!notbase64", "Basic //79", "Token sk_test_x",
                                  "Bearer sk_test_a b", "bearer\tsk_test_x"])
def test_garbled_authorization_is_401(raw, auth):
    status, err = raw_error(raw("GET", "/v1/customers", headers={"authorization": auth}))
    assert status == 401
    assert err["type"] == "invalid_request_error"


def test_scalar_and_hash_for_same_name(raw):
    for body in (b"metadata=x&metadata[a]=b", b"metadata[a]=b&metadata=x"):
        status, err = raw_error(raw("POST", "/v1/customers", body))
        assert status == 400
        assert err["code"] == "parameter_invalid"
        assert err["param"] in ("metadata", "metadata[a]")
        assert "both as a value and as a hash" in err["message"]


def test_invalid_utf8_body(raw):
    status, err = raw_error(raw("POST", "/v1/customers", b"name=\xff\xfe&email=a%40b.c"))
    assert status == 400
    assert err["type"] == "invalid_request_error"


def test_wrong_method_raw(raw):
    status, err = raw_error(raw("PUT", "/v1/customers"))
    assert status == 404  # as Stripe answers an unrecognized URL whatever the method
    assert err["message"].startswith("Unrecognized request URL (PUT: /v1/customers).")


@pytest.mark.parametrize(("body", "name"), [(b"=1", None), (b"0=1", "0"), (b"0=ab", "0"), (b"[]=1", None)])
def test_root_level_index_key_body(raw, body, name):
    """Regression: a root-level index/empty key once made decode_form return a list (ValueError in handle)."""
    status, err = raw_error(raw("POST", "/v1/customers", body))
    assert status == 400
    assert err["type"] == "invalid_request_error"
    if name is not None:
        assert err["code"] == "parameter_unknown"
        assert err["message"] == f"Received unknown parameter: {name}"


def test_root_level_index_key_query(raw):
    status, err = raw_error(raw("GET", "/v1/customers", query="0=foo"))
    assert status == 400
    assert err["message"] == "Received unknown parameter: 0"


@pytest.mark.parametrize("value", ["inf", "1e400", "-Infinity"])
def test_unit_amount_decimal_overflow(client, value):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"currency": "usd", "unit_amount_decimal": value,
                                        "product_data": {"name": "x"}})
    assert error_of(info.value)["param"] == "unit_amount_decimal"


def test_list_ending_before_with_filter_after_delete(client):
    ids = [_customer(client) for _ in range(3)]
    client.v1.customers.delete(ids[2])
    page = client.v1.customers.list(params={"ending_before": ids[0], "created": {"gte": 0}})
    assert [c.id for c in page.data] == [ids[1]]


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/prices", "/v1/events"])
def test_empty_starting_after(raw, path):
    raw("POST", "/v1/customers", b"email=a%40b.c")
    status, headers, body = raw("GET", path, query="starting_after=")
    assert status in (200, 400), body
    payload = json.loads(body)
    assert payload.get("object") == "list" or payload["error"]["param"] == "starting_after"


def test_incorrect_card_number_is_card_error(client):
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.create(params={"type": "card", "card": {"number": "1234", "exp_month": 1,
                                                                           "exp_year": 2030}})
    assert_error(info.value, 402, "card_error", "incorrect_number", "card[number]", "Your card number is incorrect.")


def test_live_error_log_url_is_not_test(make_client, sim):
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_client(sim.live_key).v1.customers.retrieve("cus_nope")
    assert "/test/" not in error_of(info.value)["request_log_url"]


# ---- raw HTTP against the server: no body, odd content types, odd methods -----------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH"])
@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain; charset=latin-1",
                                          "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                                          "application/octet-stream", ""])
def test_http_odd_requests_never_5xx(stripe_server, method, content_type):
    sim = stripe_server.app
    headers = {"authorization": f"Bearer {sim.test_key}"}
    if content_type is not None:
        headers["content-type"] = content_type
    with httpx.Client(base_url=stripe_server.url, timeout=10) as http:
        for path in ("/v1/customers", "/v1/customers/cus_x", "/v1/", "/", "/v1/customers/cus_x/payment_methods"):
            body = b'{"email": "a@b.c"}' if content_type == "application/json" and method == "POST" else b""
            resp = http.request(method, path, content=body, headers=headers)
            assert resp.status_code < 500, (method, path, resp.text)
            if method != "HEAD" and resp.status_code >= 400:
                assert isinstance(resp.json()["error"]["message"], str)
            assert resp.headers["request-id"].startswith("req_")


def test_http_json_body_is_not_silently_accepted(stripe_server):
    """A JSON body is not form-encoded: its text is one odd parameter name, never a 5xx."""
    sim = stripe_server.app
    with httpx.Client(base_url=stripe_server.url, timeout=10) as http:
        resp = http.post("/v1/customers", content=b'{"email":"a@b.c"}',
                         headers={"authorization": f"Bearer {sim.test_key}", "content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_http_chunked_oversized_body(stripe_server):
    sim = stripe_server.app

    def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    with httpx.Client(base_url=stripe_server.url, timeout=10) as http:
        resp = http.post("/v1/customers", content=chunks(),
                         headers={"authorization": f"Bearer {sim.test_key}",
                                  "content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413
    assert resp.json()["error"]["message"] == "Request body too large."


# ---- property: the form parser ------------------------------------------------------------------------

_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_FUZZ_SETTINGS = settings(_SETTINGS, max_examples=200)

_NAME = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=6)
_SEGMENT = st.one_of(st.just(""), st.sampled_from("0123"), _NAME, st.text(alphabet="[]ab0 %&=", max_size=3))
_KEY = st.builds(lambda head, segs: head + "".join(f"[{s}]" for s in segs),
                 st.one_of(_NAME, st.text(max_size=4)), st.lists(_SEGMENT, max_size=9))
_VALUE = st.one_of(st.text(max_size=8), st.sampled_from(["", "0", "true", "-1", "inf", "nan", "1e400", "%ff"]))


def _encode(pairs) -> str:
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)


def _check_decoded(out):
    assert isinstance(out, dict), out

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                assert isinstance(k, str)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        else:
            assert isinstance(node, str)

    walk(out)


@_SETTINGS
@given(st.text(max_size=40))
def test_decode_form_arbitrary_strings(body):
    try:
        out = decode_form(body)
    except StripeError:
        return
    _check_decoded(out)


@_SETTINGS
@given(st.text(alphabet=string.ascii_letters + string.digits + "[]=&%+;._- \x00é", max_size=40)
       .filter(lambda s: not re.search(r"(^|[&;])(\d|\[|=|&|;|$)", s)))
def test_decode_form_strings_with_named_roots(body):
    """Every pair's name starts with a letter, so the root is a hash: dict out, or a StripeError."""
    try:
        out = decode_form(body)
    except StripeError:
        return
    _check_decoded(out)


@_FUZZ_SETTINGS
@given(st.lists(st.tuples(_KEY.filter(lambda k: k[:1].isalpha()), _VALUE), max_size=6))
def test_decode_form_key_value_lists(pairs):
    try:
        out = decode_form(_encode(pairs))
    except StripeError as exc:
        assert exc.status == 400
        assert exc.body()["error"]["type"] == "invalid_request_error"
        return
    _check_decoded(out)
    for k, _ in pairs:  # a plain name (no brackets) keeps the last value given for it
        if "[" not in k:
            assert out[k] == [v2 for k2, v2 in pairs if k2 == k][-1]


# ---- property: the whole request path ------------------------------------------------------------------

_TEMPLATES = ["/v1/customers", "/v1/customers/{id}", "/v1/customers/{id}/payment_methods", "/v1/products",
              "/v1/products/{id}", "/v1/prices", "/v1/prices/{id}", "/v1/coupons", "/v1/coupons/{id}",
              "/v1/promotion_codes", "/v1/payment_methods", "/v1/payment_methods/{id}/attach",
              "/v1/payment_methods/{id}/detach", "/v1/subscriptions", "/v1/subscriptions/{id}",
              "/v1/subscription_items", "/v1/invoices", "/v1/invoices/{id}", "/v1/events", "/v1/events/{id}",
              "/v1/webhook_endpoints", "/v1/webhook_endpoints/{id}", "/v1/billing_portal/sessions",
              "/v1/billing_portal/configurations", "/v1/checkout/sessions", "/v1/checkout/sessions/{id}",
              "/v1/test_helpers/test_clocks", "/v1/{id}", "/v1/{id}/{id}"]
_PARAM_NAMES = ["email", "name", "metadata", "customer", "items", "price", "product", "currency", "unit_amount",
                "unit_amount_decimal", "recurring", "interval", "expand", "limit", "starting_after",
                "ending_before", "created", "gte", "lookup_key", "lookup_keys", "active", "type", "types",
                "percent_off", "amount_off", "duration", "duration_in_months", "promotion", "coupon", "code",
                "url", "enabled_events", "payment_method", "invoice_settings", "default_payment_method",
                "quantity", "trial_period_days", "discounts", "line_items", "mode", "success_url", "id",
                "cancel_at_period_end", "proration_behavior", "return_url", "features", "product_data"]
_STATIC_VALUES = ["", "0", "1", "-1", "abc", "true", "false", "usd", "month", "*", "data.product",
                  "items.data.price.product", "customer.*", "pm_card_visa", "pm_card_chargeDeclined",
                  "https://example.com/x", "inf", "nan", "9" * 25, "repeating", "subscription", "\x00", "é"]


def _seed(sim: StripeSim) -> list[str]:
    """A few related objects whose ids the fuzzer may use."""
    auth = {"authorization": f"Bearer {sim.test_key}"}

    def post(path, body):
        resp = sim.handle("POST", path, "", auth, body.encode())
        assert resp.status == 200, resp.body
        return resp.json()["id"]

    cus = post("/v1/customers", "email=a%40b.c&payment_method=pm_card_visa"
                                "&invoice_settings[default_payment_method]=pm_card_visa")
    gone = post("/v1/customers", "email=gone%40b.c")
    sim.handle("DELETE", f"/v1/customers/{gone}", "", auth, b"")
    prod = post("/v1/products", "name=Pro&metadata[plan]=pro")
    price = post("/v1/prices", f"currency=usd&unit_amount=1000&product={prod}&recurring[interval]=month"
                              "&lookup_key=pro")
    coupon = post("/v1/coupons", "percent_off=10&duration=once")
    sub = post("/v1/subscriptions", f"customer={cus}&items[0][price]={price}")
    promo = post("/v1/promotion_codes", f"promotion[type]=coupon&promotion[coupon]={coupon}&code=FUZZ10")
    failing = post("/v1/customers", "payment_method=pm_card_chargeCustomerFail"
                                    "&invoice_settings[default_payment_method]=pm_card_chargeCustomerFail")
    return [cus, gone, prod, price, coupon, sub, "cus_nope", "price_nope", "evt_00000000000000", promo, failing]


_HEADERS = st.fixed_dictionaries({}, optional={
    "stripe-version": st.sampled_from(["2026-10-28.endive", "2020-08-27", "bogus", ""]),
    "idempotency-key": st.sampled_from(["k1", "k2", "", "x" * 300]),
    "content-type": st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"]),
    "x-random": st.text(max_size=5),
})
_AUTH = st.sampled_from(["test"] * 6 + ["live", "none", "garbage", "basic", "pk"])


def _auth_header(sim, which):
    return {"test": f"Bearer {sim.test_key}", "live": f"Bearer {sim.live_key}", "none": "",
            "garbage": "Bearer sk_test_garbage0000", "pk": "Bearer pk_test_abc",
            "basic": "Basic c2tfdGVzdF90aWVyc3luY19zaW1fa2V5Og=="}[which]


class _Id(int):
    """A drawn index into the ids known so far (seeded, or returned by earlier fuzzed requests)."""


_ID = st.integers(0, 40).map(_Id)
_PATH_PART = st.one_of(_ID, _ID, st.text(alphabet=string.ascii_letters + "_%/.", max_size=8))
_FUZZ_KEY = st.builds(lambda head, rest: head + "".join(f"[{s}]" for s in rest), st.sampled_from(_PARAM_NAMES),
                      st.lists(st.one_of(st.sampled_from(_PARAM_NAMES), st.just(""), st.integers(0, 2).map(str)),
                               max_size=3))
_FUZZ_VALUE = st.one_of(st.sampled_from(_STATIC_VALUES), _ID, st.text(max_size=6))


def _key_paths(fields: dict, prefix: str = "", depth: int = 0):
    """Every bracketed name a route's spec knows (`items[0][price]`, `metadata[plan]`, `expand[]`...)."""
    for name, field in fields.items():
        full = f"{prefix}[{name}]" if prefix else name
        yield full
        if isinstance(field, Metadata):
            yield f"{full}[plan]"
        elif depth < 3 and isinstance(field, Obj):
            yield from _key_paths(field.fields, full, depth + 1)
        elif depth < 3 and isinstance(field, List):
            yield f"{full}[]"
            if isinstance(field.item, Obj):
                yield from _key_paths(field.item.fields, f"{full}[0]", depth + 1)
                yield from _key_paths(field.item.fields, f"{full}[1]", depth + 1)


def _route_request(route):
    keys = sorted(set(_key_paths(route.params)))
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys), _FUZZ_KEY)
    return st.tuples(
        st.one_of(st.just(route.method), st.just(route.method), st.just(route.method),
                  st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS"])),
        st.just(route.template),
        st.lists(_PATH_PART, min_size=2, max_size=2),
        st.lists(st.tuples(key, _FUZZ_VALUE), max_size=5),
        st.booleans(),
        _HEADERS,
        _AUTH,
    )


_ROUTE_REQUESTS = [_route_request(r) for r in ROUTES]
# Valid changes mixed with one bad part, on the seeded objects (ids: 0 customer, 3 price, 5 subscription,
# 9 promotion code, 10 a customer whose card fails): a refusal must undo the valid part too (#16).
_GOOD_PART = st.sampled_from([("metadata[plan]", "changed"), ("description", "changed"), ("metadata[new]", "x"),
                              ("cancel_at_period_end", "true"), ("name", "changed"), ("email", "changed@x.io")])
_BAD_PART = st.sampled_from([("items[0][price]", "price_nope"), ("default_payment_method", "pm_nope"),
                             ("discounts[0][coupon]", "nope"), ("items[0][id]", "si_nope"),
                             ("invoice_settings[default_payment_method]", "pm_nope"), ("coupon", "nope"),
                             ("items[0][quantity]", "-1"), ("expand[]", "a.b.c.d.e"), ("expand[]", "metadata")])
_MIXED = st.one_of(
    st.tuples(st.just("POST"), st.sampled_from(["/v1/subscriptions/{id}", "/v1/customers/{id}"]),
              st.sampled_from([[_Id(5), _Id(5)], [_Id(0), _Id(0)]]),
              st.builds(lambda good, bad, order: (good + [bad]) if order else ([bad] + good),
                        st.lists(_GOOD_PART, min_size=1, max_size=3), _BAD_PART, st.booleans()),
              st.just(False), st.just({}), st.just("test")),
    st.tuples(st.just("POST"), st.just("/v1/subscriptions"), st.just([_Id(0), _Id(0)]),
              st.builds(lambda cus, extra: [("customer", cus), ("items[0][price]", _Id(3)),
                                            ("discounts[0][promotion_code]", _Id(9)), *extra],
                        st.sampled_from([_Id(10), _Id(0)]),
                        st.lists(st.one_of(_BAD_PART, st.just(("payment_behavior", "error_if_incomplete"))),
                                 max_size=2)),
              st.just(False), st.just({}), st.just("test")),
)
_REQUEST = st.one_of(
    _MIXED,
    st.integers(0, len(_ROUTE_REQUESTS) - 1).flatmap(lambda i: _ROUTE_REQUESTS[i]),
    st.tuples(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]), st.sampled_from(_TEMPLATES),
              st.lists(_PATH_PART, min_size=2, max_size=2), st.lists(st.tuples(_FUZZ_KEY, _FUZZ_VALUE), max_size=5),
              st.booleans(), _HEADERS, _AUTH),
)


def _fuzz_one(sim, ids, request):
    method, template, path_parts, pairs, in_query, headers, auth = request

    def resolve(v):
        return ids[v % len(ids)] if isinstance(v, _Id) else v

    parts = iter(path_parts)
    path = re.sub(r"\{\w+\}", lambda _: resolve(next(parts)), template)
    encoded = _encode([(k, resolve(v)) for k, v in pairs])
    in_query = in_query and method in ("GET", "DELETE")
    headers = {**headers, "authorization": _auth_header(sim, auth)}
    before = _store_state(sim)
    resp = sim.handle(method, path, encoded if in_query else "", headers, b"" if in_query else encoded.encode())
    assert resp.status < 500, (method, path, encoded, resp.body)
    payload = json.loads(resp.body)
    if resp.status >= 400:
        assert isinstance(payload.get("error"), dict), payload
        assert isinstance(payload["error"].get("type"), str) and isinstance(payload["error"].get("message"), str)
        if payload["error"]["type"] != "card_error":
            # all or nothing: a refused request changed no object, created none, removed none (#16)
            assert _store_state(sim) == before, (method, path, encoded, resp.body)
        else:  # a declined payment is recorded, as by Stripe, but redeems no promotion code or coupon
            assert _store_state(sim, ("promotion_code", "coupon")) == _state_before_of(before, sim), (
                method, path, encoded, resp.body)
        return
    assert isinstance(payload, dict) and "error" not in payload
    found = payload.get("data") if isinstance(payload.get("data"), list) else [payload]
    ids.extend(o["id"] for o in found if isinstance(o, dict) and isinstance(o.get("id"), str))


def _store_state(sim: StripeSim, kinds: tuple[str, ...] | None = None) -> bytes:
    """Every object of both modes (or of `kinds`), by table and id, and each table's order."""
    from tiersync import jsonbytes
    state = {}
    for mode, ns in sim.store.modes.items():
        for kind, table in ns.tables.items():
            if kinds is not None and kind not in kinds:
                continue
            if not table.rows and not any(table._order):
                continue  # a lookup makes an empty table: no state
            rows = {k: v if isinstance(v, dict) else f"<{type(v).__name__}>" for k, v in table.rows.items()}
            state[f"{mode}/{kind}"] = {"rows": dict(sorted(rows.items())),
                                       "order": [i for i in table._order if i is not None]}
    return jsonbytes.compact(dict(sorted(state.items())))


def _state_before_of(before: bytes, sim: StripeSim) -> bytes:
    """The promotion code and coupon part of a `_store_state` snapshot."""
    from tiersync import jsonbytes
    state = jsonbytes.loads(before)
    return jsonbytes.compact({k: v for k, v in state.items() if k.split("/", 1)[1] in ("promotion_code", "coupon")})


@_FUZZ_SETTINGS
@given(st.data())
def test_fuzz_handle_never_5xx(data):
    """Random requests (1-4 per example, on a freshly seeded sim): never a 5xx or an exception; every
    error is `{"error": {"type", "message", ...}}`, and leaves the store exactly as it was."""
    sim = StripeSim(seed=1)
    ids = _seed(sim)
    for request in data.draw(st.lists(_REQUEST, min_size=1, max_size=4), label="requests"):
        _fuzz_one(sim, ids, request)
