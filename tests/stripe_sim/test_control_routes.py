"""The simulator's control routes (`/_sim/...`) refuse what would break it or let a web page drive it
(#17.2, #17.8): every input is bounded, a refusal is a clear 400 (403 for a foreign origin) that changes
nothing, and afterwards the API still answers. Run in both transports."""

from __future__ import annotations

import json

import pytest

from tests.stripe_sim.test_bad_input import raw  # noqa: F401  (a fixture)


def _post(raw, path, body=b"", **headers):  # noqa: F811
    status, hdrs, payload = raw("POST", path, body, headers)
    return status, hdrs, json.loads(payload)


def _subscription_works(raw):  # noqa: F811
    status, _, prod = _post(raw, "/v1/products", b"name=P")
    assert status == 200
    status, _, price = _post(raw, "/v1/prices", f"currency=usd&unit_amount=500&product={prod['id']}"
                                                 "&recurring[interval]=month".encode())
    status, _, cus = _post(raw, "/v1/customers", b"payment_method=pm_card_visa"
                                                  b"&invoice_settings[default_payment_method]=pm_card_visa")
    status, _, sub = _post(raw, "/v1/subscriptions", f"customer={cus['id']}&items[0][price]={price['id']}".encode())
    assert status == 200 and sub["status"] == "active", sub
    return sub


@pytest.mark.parametrize(("body", "message"), [
    (b"seconds=1e300", "Invalid seconds: must be between 0 and 316224000"),
    (b"seconds=-5", "Invalid seconds: must be between 0 and 316224000"),
    (b"seconds=inf", "Invalid decimal: inf"),
    (b"seconds=nan", "Invalid decimal: nan"),
    (b"", "Missing required param: seconds."),
])
def test_advance_refuses_absurd_seconds_and_changes_nothing(raw, sim, body, message):  # noqa: F811
    before = sim.clock.time()
    status, _, payload = _post(raw, "/_sim/webhooks/advance", body)
    assert status == 400 and payload["error"]["param"] == "seconds"
    assert payload["error"]["message"] == message
    assert abs(sim.clock.time() - before) < 5 and sim.clock.offset == 0
    _subscription_works(raw)  # was a 500 (OverflowError) after an absurd advance


def test_advance_cannot_leave_the_century(raw, sim):  # noqa: F811
    for _ in range(10):
        assert _post(raw, "/_sim/webhooks/advance", b"seconds=316224000")[0] == 200
    offset = sim.clock.offset
    status, _, payload = _post(raw, "/_sim/webhooks/advance", b"seconds=316224000")
    assert status == 400 and "100 years" in payload["error"]["message"]
    assert sim.clock.offset == offset
    _subscription_works(raw)


def test_world_restore_resets_the_clock(raw, sim):  # noqa: F811
    sim.save_world()  # at real time, as `tiersync serve` saves its seeded world
    try:
        assert _post(raw, "/_sim/webhooks/advance", b"seconds=86400")[0] == 200
        assert sim.clock.offset > 86000
        status, _, payload = _post(raw, "/_sim/world/restore")
        assert status == 200 and payload["restored"] is True
        assert sim.clock.offset == 0 and sim.clock.frozen is None
    finally:
        sim.world_snapshot = None


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/_sim/webhooks/wait_idle", b"timeout=1e9", "timeout"),
    ("/_sim/webhooks/wait_idle", b"timeout=-1", "timeout"),
    ("/_sim/api_faults", b"path=/v1/customers&status=timeout&seconds=1e9", "seconds"),
    ("/_sim/api_faults", b"path=/v1/customers&status=429&retry_after=99999999", "retry_after"),
    ("/_sim/webhooks/faults", b"kind=delay&seconds=1e300", "seconds"),
    ("/_sim/webhooks/faults", b"kind=timestamp&offset=999999999999", "offset"),
    ("/_sim/listen", b"url=javascript:alert(1)", "url"),
    ("/_sim/billing_portal/activate", b"default_return_url=javascript:alert(1)", "default_return_url"),
])
def test_control_inputs_are_bounded(raw, sim, path, body, param):  # noqa: F811
    status, _, payload = _post(raw, path, body)
    assert status == 400 and payload["error"]["param"] == param, payload
    assert sim.api_faults.faults == [] and sim.webhooks.faults.faults == []


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null",
                                    "file://", "http://192.168.1.5:3000"])
def test_control_routes_refuse_a_foreign_origin(raw, sim, origin):  # noqa: F811
    _post(raw, "/v1/customers", b"email=a%40b.co")
    status, hdrs, payload = _post(raw, "/_sim/reset", origin=origin)
    assert status == 403 and payload["error"]["type"] == "invalid_request_error"
    assert "loopback" in payload["error"]["message"]
    assert "access-control-allow-origin" not in hdrs
    assert len(sim.store.ns("test").table("customer")) == 1  # not reset


@pytest.mark.parametrize("origin", ["http://127.0.0.1:5173", "http://localhost:3000", "http://[::1]:8080", None])
def test_control_routes_answer_loopback_pages(raw, sim, origin):  # noqa: F811
    headers = {"origin": origin} if origin else {}
    status, hdrs, _ = _post(raw, "/_sim/webhooks/advance", b"seconds=1", **headers)
    assert status == 200
    assert "access-control-allow-origin" not in hdrs


def test_the_simulators_own_origin_is_allowed(raw, sim):  # noqa: F811
    previous = sim.public_url
    sim.public_url = "https://stripe-sim.internal.example:8443"
    try:
        assert _post(raw, "/_sim/webhooks/advance", b"seconds=1", origin="https://stripe-sim.internal.example:8443")[0] == 200
        assert _post(raw, "/_sim/webhooks/advance", b"seconds=1", origin="https://other.internal.example")[0] == 403
    finally:
        sim.public_url = previous


def test_api_answers_carry_no_cors_header(client):
    cus = client.v1.customers.create()
    assert "Access-Control-Allow-Origin" not in cus.last_response.headers
