"""The Stripe CLI fixture runner: the five reference trigger files through the simulator (in-process via
`StripeSim.handle`, and over HTTP), reference resolution, bracket encoding and the error messages."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tiersync.server import ThreadedServer
from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.fixtures import (
    _MISSING,
    FixtureError,
    Resolver,
    http_requester,
    load_fixture,
    lookup_path,
    main,
    run_fixture,
    sim_requester,
)
from tiersync.stripe_sim.form_encoding import encode_params

# the Stripe CLI's trigger files, vendored (scripts/vendor_stripe_cli_fixtures.py)
FIXTURES_DIR = Path(__file__).resolve().parent / "data" / "stripe-cli-fixtures"
REFERENCE_FILES = ["checkout.session.completed.json", "customer.subscription.created.json",
                   "customer.subscription.deleted.json", "customer.subscription.updated.json", "invoice.paid.json"]
NO_ENV: dict[str, str] = {}


def ref(name: str) -> Path:
    return FIXTURES_DIR / name


def get(sim: StripeSim, path: str, **query) -> dict:
    status, body = sim_requester(sim)("GET", path, list(query.items()))
    assert status == 200, body
    return body


def events_of(sim: StripeSim, event_type: str) -> list[dict]:
    return get(sim, "/v1/events", type=event_type, limit="100")["data"]


# ---- the reference files, end to end ----------------------------------------------------------------------

def test_reference_directory_has_the_five_files():
    assert set(REFERENCE_FILES) <= {p.name for p in FIXTURES_DIR.glob("*.json")}


def test_subscription_created_fixture():
    sim = StripeSim(seed=1)
    result = run_fixture(ref("customer.subscription.created.json"), sim_requester(sim), env=NO_ENV)
    assert [(s.name, s.method, s.status) for s in result.steps] == [
        ("customer", "POST", 200), ("product", "POST", 200), ("price", "POST", 200), ("subscription", "POST", 200)]
    sub = get(sim, f"/v1/subscriptions/{result['subscription']['id']}")
    assert sub["customer"] == result["customer"]["id"]
    assert sub["items"]["data"][0]["price"]["id"] == result["price"]["id"]
    assert sub["items"]["data"][0]["price"]["unit_amount"] == 1500  # "1500" (a string) in the file
    assert sub["items"]["data"][0]["price"]["recurring"]["interval"] == "month"  # "recurring[interval]" key
    assert sub["status"] == "active"  # pm_card_visa became the default payment method
    cus = get(sim, f"/v1/customers/{result['customer']['id']}")
    assert cus["invoice_settings"]["default_payment_method"].startswith("pm_")
    assert get(sim, f"/v1/products/{result['product']['id']}")["description"] == "(created by Stripe CLI)"
    created = events_of(sim, "customer.subscription.created")
    assert [e["data"]["object"]["id"] for e in created] == [sub["id"]]


def test_subscription_updated_fixture():
    sim = StripeSim(seed=2)
    result = run_fixture(ref("customer.subscription.updated.json"), sim_requester(sim), env=NO_ENV)
    sub = get(sim, f"/v1/subscriptions/{result['subscription']['id']}")
    assert sub["metadata"] == {"foo": "bar"}
    assert result["subscription_updated"]["metadata"] == {"foo": "bar"}
    updates = [e for e in events_of(sim, "customer.subscription.updated")
               if e["data"]["object"]["metadata"] == {"foo": "bar"}]
    assert len(updates) == 1
    assert updates[0]["data"]["object"]["id"] == sub["id"]
    assert updates[0]["data"]["previous_attributes"] == {"metadata": {}}


def test_subscription_deleted_fixture():
    sim = StripeSim(seed=3)
    result = run_fixture(ref("customer.subscription.deleted.json"), sim_requester(sim), env=NO_ENV)
    assert result.steps[-1].name == "subscription_deleted"
    assert result.steps[-1].method == "DELETE"
    assert result.steps[-1].path == f"/v1/subscriptions/{result['subscription']['id']}"
    sub = get(sim, f"/v1/subscriptions/{result['subscription']['id']}")
    assert sub["status"] == "canceled"
    assert sub["ended_at"] is not None and sub["canceled_at"] is not None
    deleted = events_of(sim, "customer.subscription.deleted")
    assert [e["data"]["object"]["id"] for e in deleted] == [sub["id"]]
    assert deleted[0]["data"]["object"]["status"] == "canceled"


def test_subscription_deleted_fixture_over_http():
    sim = StripeSim(seed=4)
    srv = ThreadedServer(sim, port=0).start()
    sim.public_url = srv.url
    try:
        result = run_fixture(ref("customer.subscription.deleted.json"), http_requester(srv.url, sim.test_key),
                             env=NO_ENV)
    finally:
        srv.stop()
    assert [s.status for s in result.steps] == [200] * 5
    assert [(r.method, r.status) for r in sim.request_log][-1] == ("DELETE", 200)  # it went through the server
    sub = get(sim, f"/v1/subscriptions/{result['subscription']['id']}")
    assert sub["status"] == "canceled"
    assert [e["data"]["object"]["id"] for e in events_of(sim, "customer.subscription.deleted")] == [sub["id"]]


def test_checkout_session_completed_fixture():
    sim = StripeSim(seed=5)
    result = run_fixture(ref("checkout.session.completed.json"), sim_requester(sim), env=NO_ENV)
    session = get(sim, f"/v1/checkout/sessions/{result['checkout_session']['id']}")
    assert session["status"] == "complete"
    assert session["payment_status"] == "paid"
    assert session["amount_total"] == 3000
    assert [e["data"]["object"]["id"] for e in events_of(sim, "checkout.session.completed")] == [session["id"]]


def test_checkout_session_completed_fixture_with_the_hosted_page_played_by_the_simulator():
    """The same file with the payment_pages calls skipped: the hosted page's payment is then the simulator's
    `/_sim/.../complete`, with the fixture's payment method."""
    data, _ = load_fixture(ref("checkout.session.completed.json"))
    data = copy.deepcopy(data)
    for step in data["fixtures"]:
        if step["name"] == "checkout_session":
            step["params"]["payment_intent_data"].pop("shipping")
    sim = StripeSim(seed=6)
    result = run_fixture(data, sim_requester(sim), env=NO_ENV, skip=["payment_page", "payment_page_confirm"])
    assert [s.name for s in result.steps if s.skipped] == ["payment_page", "payment_page_confirm"]
    cs_id = result["checkout_session"]["id"]
    assert result["checkout_session"]["amount_total"] == 3000  # quantity 2 x 1500
    pm = result["payment_method"]
    assert pm["billing_details"]["address"]["city"] == "South San Francisco"
    resp = sim.handle("POST", f"/_sim/checkout/sessions/{cs_id}/complete", "",
                      {"content-type": "application/x-www-form-urlencoded"},
                      f"payment_method={pm['id']}&email=stripe%40example.com&name=Jenny+Rosen".encode())
    assert resp.status == 200, resp.json()
    session = get(sim, f"/v1/checkout/sessions/{cs_id}")
    assert session["status"] == "complete"
    assert session["payment_status"] == "paid"
    assert session["payment_intent"].startswith("pi_")
    assert [e["data"]["object"]["id"] for e in events_of(sim, "checkout.session.completed")] == [cs_id]


def test_invoice_paid_fixture():
    sim = StripeSim(seed=7)
    result = run_fixture(ref("invoice.paid.json"), sim_requester(sim), env=NO_ENV)
    assert result.aliases == ["invoice.payment_succeeded"]
    inv = get(sim, f"/v1/invoices/{result['invoice']['id']}")
    assert inv["status"] == "paid" and inv["amount_paid"] == 2000
    for event_type in ["invoice.paid", *result.aliases]:
        assert [e["data"]["object"]["id"] for e in events_of(sim, event_type)] == [inv["id"]]


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_every_reference_file_loads(name):
    data, label = load_fixture(ref(name))
    assert label.endswith(name)
    assert data["_meta"]["template_version"] == 0
    assert all({"name", "path", "method"} <= set(step) for step in data["fixtures"])


# ---- encoding -----------------------------------------------------------------------------------------------

def test_bracket_encoding():
    pairs = encode_params({
        "customer": "cus_1", "items": [{"price": "p1", "quantity": 2}, {"price": "p2"}],
        "metadata": {"a": "b"}, "expand": ["latest_invoice", "customer"], "recurring[interval]": "month",
        "payment_intent_data": {"shipping": {"address": {"line1": "x"}}}, "flag": True, "off": False,
        "amount": 2000, "ratio": 2.5, "whole": 3.0, "unset": None,
    })
    assert pairs == [
        ("customer", "cus_1"), ("items[0][price]", "p1"), ("items[0][quantity]", "2"), ("items[1][price]", "p2"),
        ("metadata[a]", "b"), ("expand[]", "latest_invoice"), ("expand[]", "customer"),
        ("recurring[interval]", "month"), ("payment_intent_data[shipping][address][line1]", "x"),
        ("flag", "true"), ("off", "false"), ("amount", "2000"), ("ratio", "2.5"), ("whole", "3"),
    ]


def test_bracket_encoding_round_trips_through_the_simulators_decoder():
    from urllib.parse import urlencode

    from tiersync.stripe_sim.params import decode_form
    params = {"line_items": [{"price": "p", "quantity": "1", "adjustable_quantity": {"enabled": "true"}}],
              "discounts": [{"coupon": "c"}], "expand": ["a", "b"], "metadata": {"k": "v"}}
    assert decode_form(urlencode(encode_params(params))) == params


# ---- references ----------------------------------------------------------------------------------------------

RESPONSES = {"sub": {"id": "sub_1", "items": {"data": [{"id": "si_1", "price": {"id": "price_1"}}]},
                     "metadata": {"a.b": "dotted"}, "cancel_at": None, "quantity": 3, "paused": False},
             "customer": {"id": "cus_1"}}


@pytest.mark.parametrize("text, expected", [
    ("${customer:id}", "cus_1"),
    ("${sub:items.data.0.id}", "si_1"),
    ("${sub:items.data.0.price.id}", "price_1"),
    ("${sub:items.data.#}", "1"),
    ("${sub:quantity}", "3"),
    ("${sub:paused}", "false"),
    (r"${sub:metadata.a\.b}", "dotted"),
    ("/v1/subscriptions/${sub:id}/items/${sub:items.data.0.id}", "/v1/subscriptions/sub_1/items/si_1"),
    ("${sub:cancel_at|never}", "never"),
    ("${sub:nope|fallback}", "fallback"),
    ("${.env:FX_PRICE}", "price_env"),
    ("${.env:FX_UNSET|price_default}", "price_default"),
    ("${.env:FX_EMPTY|d}", "d"),
    ("https://x/${.env:FX_PRICE}/y", "https://x/price_env/y"),
    ("no reference here: $ {x}", "no reference here: $ {x}"),
])
def test_reference_resolution(text, expected):
    resolver = Resolver(RESPONSES, {"FX_PRICE": "price_env", "FX_EMPTY": ""})
    assert resolver.resolve(text) == expected


def test_lookup_path_misses():
    assert lookup_path(RESPONSES["sub"], "items.data.5.id") is _MISSING
    assert lookup_path(RESPONSES["sub"], "id.deeper") is _MISSING
    assert lookup_path(RESPONSES["sub"], "cancel_at") is None
    assert lookup_path(RESPONSES["sub"], "items.data.0.id") == "si_1"
    assert lookup_path(RESPONSES["sub"], "") is RESPONSES["sub"]


def step(name, path="/v1/customers", method="post", params=None, **extra):
    out = {"name": name, "path": path, "method": method}
    if params is not None:
        out["params"] = params
    out.update(extra)
    return out


def doc(*steps, **top):
    return {"_meta": {"template_version": 0}, "fixtures": list(steps), **top}


def test_references_resolve_against_earlier_steps_and_env():
    sim = StripeSim(seed=8)
    result = run_fixture(doc(
        step("product", "/v1/products", params={"name": "${.env:FX_NAME|Default name}"}),
        step("price", "/v1/prices", params={"product": "${product:id}", "unit_amount": 700, "currency": "usd",
                                             "recurring": {"interval": "${.env:FX_INTERVAL}"}}),
        step("again", "/v1/prices/${price:id}", "get"),
        env={"PRICE_ID": "${price:id}", "LIVE": "${price:livemode}"},
    ), sim_requester(sim), env={"FX_INTERVAL": "year"})
    assert result["product"]["name"] == "Default name"
    assert result["price"]["recurring"]["interval"] == "year"
    assert result["again"]["id"] == result["price"]["id"]
    assert result.env == {"PRICE_ID": result["price"]["id"], "LIVE": "false"}
    assert result.steps[1].params[0] == ("product", result["product"]["id"])


def test_idempotency_key_and_expected_error_type():
    sim = StripeSim(seed=9)
    result = run_fixture(doc(
        step("a", params={"email": "a@example.com"}, idempotency_key="fixture-${.env:FX_RUN}"),
        step("b", params={"email": "a@example.com"}, idempotency_key="fixture-${.env:FX_RUN}"),
        step("declined", "/v1/payment_methods/pm_card_chargeDeclined/attach", params={"customer": "${a:id}"},
             expected_error_type="card_error"),
    ), sim_requester(sim), env={"FX_RUN": "1"})
    assert result["a"]["id"] == result["b"]["id"]  # the second request was an idempotent replay
    assert len(get(sim, "/v1/customers")["data"]) == 1
    assert result.steps[2].expected_error and result.steps[2].status == 402


# ---- errors -------------------------------------------------------------------------------------------------

def run_doc(data, env=NO_ENV, sim=None):
    return run_fixture(data, sim_requester(sim or StripeSim(seed=10)), env=env)


def test_unknown_reference_names_file_fixture_and_field():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("customer"), step("sub", "/v1/subscriptions",
                                           params={"customer": "${customr:id}", "items": [{"price": "p"}]})))
    err = info.value
    assert (err.file, err.fixture, err.field) == ("<fixture>", "sub", "params.customer")
    assert "undeclared fixture name 'customr'" in str(err)
    assert "perhaps you meant: customer" in str(err)
    assert str(err).startswith("<fixture>: fixture 'sub': field 'params.customer': ${customr:id}")


def test_unknown_path_in_a_known_fixture():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("customer"), step("sub", "/v1/subscriptions",
                                           params={"customer": "${customer:id}", "items": [{"price": "${customer:items.data.0.id}"}]})))
    assert info.value.field == "params.items[0][price]"
    assert "'items.data.0.id' was not found in the response of fixture 'customer'" in str(info.value)


def test_reference_to_a_later_fixture_fails():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("first", "/v1/customers/${second:id}", "get"), step("second")))
    assert info.value.fixture == "first" and info.value.field == "path"
    assert "fixtures run so far: none yet" in str(info.value)


def test_missing_env_var():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("customer", params={"email": "${.env:FX_MISSING_EMAIL}"})))
    assert info.value.field == "params.email"
    assert "environment variable FX_MISSING_EMAIL is not set" in str(info.value)
    assert "${.env:FX_MISSING_EMAIL|value}" in str(info.value)


def test_non_2xx_response_names_the_param():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("price", "/v1/prices", params={"unit_amount": 5, "currency": "usd", "product": "prod_nope"})))
    err = info.value
    assert err.status in (400, 404) and err.fixture == "price" and err.field == "params.product"
    assert "POST /v1/prices returned" in str(err)
    assert "No such product: 'prod_nope'" in str(err)
    assert err.response["error"]["param"] == "product"


def test_unknown_endpoint():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("x", "/v1/nothing_here")))
    assert "returned 404" in str(info.value) and "Unrecognized request URL" in str(info.value)


def test_expected_error_that_does_not_happen_is_no_failure():
    """The CLI forgives an error of the expected type and never demands one (fixtures.go errWasExpected)."""
    result = run_doc(doc(step("customer", expected_error_type="card_error")))
    assert result.steps[0].status == 200 and not result.steps[0].expected_error
    assert result["customer"]["id"].startswith("cus_")


def test_an_error_of_another_type_than_expected_stops_the_run():
    with pytest.raises(FixtureError) as info:
        run_doc(doc(step("c", "/v1/customers/cus_nope", "get", expected_error_type="card_error")))
    assert info.value.status == 404 and "No such customer" in str(info.value)


def test_repeated_names_read_the_latest_response():
    """`fxt.Responses[data.Name] = ...` in the CLI: a repeated name replaces the earlier response."""
    result = run_doc(doc(step("c", params={"email": "first@example.com"}),
                         step("c", params={"email": "second@example.com"}),
                         step("again", "/v1/customers/${c:id}", "get")))
    assert [s.name for s in result.steps] == ["c", "c", "again"]
    assert result["again"]["email"] == "second@example.com"


def test_unresolved_reference_in_a_step_that_may_fail_is_sent_as_written():
    """As the CLI sends it; the API's error (of the expected type) then lets the run go on."""
    result = run_doc(doc(step("bad", "/v1/customers/cus_nope", "get", expected_error_type="invalid_request_error"),
                         step("use", "/v1/customers/${bad:id}", "get", expected_error_type="invalid_request_error"),
                         step("after")))
    assert result.steps[1].path == "/v1/customers/${bad:id}" and result.steps[1].status == 404
    assert result["after"]["object"] == "customer"


def test_v2_paths_are_sent_as_json():
    seen = []

    def record(method, path, params, headers=None, json_body=None):
        seen.append((method, path, params, json_body))
        return 200, {"id": "x"}

    run_fixture(doc(step("v2", "/v2/billing/meter_event_session", params={"a": {"b": 1}})), record, env=NO_ENV)
    assert seen == [("POST", "/v2/billing/meter_event_session", [], '{"a": {"b": 1}}')]


def test_the_clis_builtin_values_time_now_and_uuid():
    """`${time-now-RFC3339}` and `${generate-uuid}` (the meter event fixtures use them) are filled in as the CLI
    fills them in, a fresh UUID for each occurrence."""
    seen = []

    def record(method, path, params, headers=None, json_body=None, api_base=None):
        seen.append((json.loads(json_body), api_base))
        return 200, {"id": "x"}

    before = datetime.now(UTC).replace(microsecond=0)
    run_fixture(doc(step("v2", "/v2/billing/meter_event_stream", api_base="https://meter-events.stripe.com",
                         params={"events": [{"timestamp": "${time-now-RFC3339}", "identifier": "${generate-uuid}"},
                                            {"identifier": "${generate-uuid}"}]})), record, env=NO_ENV)
    [(body, api_base)] = seen
    first, second = body["events"]
    assert before <= datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")) <= datetime.now(UTC)
    assert uuid.UUID(first["identifier"]) != uuid.UUID(second["identifier"])
    assert api_base == "https://meter-events.stripe.com"  # passed on; http_requester follows it only to Stripe


def test_api_base_is_followed_only_when_the_run_targets_stripe():
    class Client:
        def __init__(self):
            self.urls = []

        def request(self, method, url, **kw):
            self.urls.append(url)
            return type("R", (), {"status_code": 200, "content": b"{}"})()

    for base, expected in (("https://api.stripe.com", "https://meter-events.stripe.com/v2/x"),
                           ("http://127.0.0.1:12111", "/v2/x")):
        client = Client()
        http_requester(base, "sk_test_x", client=client)("POST", "/v2/x", [], json_body="{}",
                                                       api_base="https://meter-events.stripe.com")
        assert client.urls == [expected]


def test_transport_failure_is_reported_not_raised():
    def broken(method, path, params):
        raise ConnectionError("connection refused")

    with pytest.raises(FixtureError) as info:
        run_fixture(doc(step("customer")), broken, env=NO_ENV)
    assert "POST /v1/customers failed: ConnectionError: connection refused" in str(info.value)


@pytest.mark.parametrize("data, field, message", [
    ({"fixtures": "nope"}, "fixtures", "missing the \"fixtures\" list"),
    ({"_meta": {"template_version": 1}, "fixtures": []}, "_meta.template_version", "is not supported"),
    (doc({"name": "a", "method": "post"}), "path", "missing required key 'path'"),
    (doc(step("a", method="put")), "method", "unsupported method 'put'"),
    (doc(step("a", params=["x"])), "params", "\"params\" must be an object"),
    (doc(step("a", "customers")), "path", "is not a Stripe API path"),
])
def test_malformed_files(data, field, message):
    with pytest.raises(FixtureError) as info:
        run_doc(data)
    assert info.value.field == field
    assert message in str(info.value)


def test_bad_json_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"fixtures": [}')
    with pytest.raises(FixtureError) as info:
        load_fixture(bad)
    assert str(info.value).startswith(f"{bad}: not valid JSON")
    with pytest.raises(FixtureError) as info:
        load_fixture(tmp_path / "absent.json")
    assert "cannot read the fixture file" in str(info.value)


def test_add_fixture_metadata_honours_exclude_metadata():
    sim = StripeSim(seed=12)
    tagged = run_fixture(doc(step("c")), sim_requester(sim), env=NO_ENV, add_fixture_metadata=True)
    assert "_created_by_fixture" in tagged["c"]["metadata"]
    plain = run_fixture({**doc(step("c")), "_meta": {"template_version": 0, "exclude_metadata": True}},
                        sim_requester(sim), env=NO_ENV, add_fixture_metadata=True)
    assert plain["c"]["metadata"] == {}


def test_command_line_prints_steps_and_errors(tmp_path, capsys):
    sim = StripeSim(seed=13)
    srv = ThreadedServer(sim, port=0).start()
    try:
        good = tmp_path / "good.json"
        good.write_text(json.dumps(doc(step("customer", params={"email": "cli@example.com"}))))
        assert main([str(good), "--base-url", srv.url, "--api-key", sim.test_key]) == 0
        assert capsys.readouterr().out.startswith("customer: POST /v1/customers -> 200 cus_")
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc(step("customer", params={"email": "${nobody:id}"}))))
        assert main([str(bad), "--base-url", srv.url, "--api-key", sim.test_key]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}: fixture 'customer': field 'params.email'")
        assert "Traceback" not in err
    finally:
        srv.stop()
