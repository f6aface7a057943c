"""Signed webhook delivery: verified by the official SDK, retried on Stripe's schedule on a virtual
clock, logged, and broken on request in every way the faults module offers."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe

from tiersync.server import ThreadedServer
from tiersync.signer import build_request, render_event, signature_header
from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.webhooks.faults import Fault


@pytest.fixture
def hub(receiver):
    """A Stripe simulator over HTTP with a fast delivery timeout, and a client for it."""
    sim = StripeSim()
    sim.webhooks.timeout = 1.0
    with ThreadedServer(sim, port=0) as srv:
        sim.public_url = srv.url
        client = stripe.StripeClient(sim.test_key, base_addresses={"api": srv.url}, max_network_retries=0)
        yield sim, client, srv.url
        sim.webhooks.close()


def endpoint(client, url, events=("*",), key=None):
    return client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": list(events)})


def verify(request, secret, tolerance=300):
    return stripe.Webhook.construct_event(request["body"], request["headers"].get("stripe-signature"), secret,
                                          tolerance=tolerance)


def test_every_normal_delivery_verifies_with_the_sdk(hub, receiver):
    sim, client, _ = hub
    we = endpoint(client, receiver.url())
    assert we.secret.startswith("whsec_") and "secret" not in client.v1.webhook_endpoints.retrieve(we.id)
    for i in range(3):
        client.v1.customers.create(params={"email": f"u{i}@example.com"})
    assert sim.webhooks.wait_idle(5)
    got = receiver.got("ok")
    assert len(got) == 3
    for req in got:
        event = verify(req, we.secret)
        assert event.type == "customer.created" and event.livemode is False
        assert req["headers"]["content-type"] == "application/json; charset=utf-8"
        assert req["headers"]["user-agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        assert req["body"].startswith(b'{\n  "id": "evt_') and b"\r\n" not in req["body"]
        assert ",v0=" in req["headers"]["stripe-signature"]  # test mode carries a fake v0 too
    assert all(a["outcome"] == "delivered" and a["status"] == 200 for a in sim.webhooks.log)


def test_the_deliverer_runs_on_uvloop_when_installed(hub, receiver):
    uvloop = pytest.importorskip("uvloop")
    sim, client, _ = hub
    endpoint(client, receiver.url())
    client.v1.customers.create(params={"email": "loop@example.com"})
    assert sim.webhooks.wait_idle(5) and len(receiver.got("ok")) == 1
    assert isinstance(sim.webhooks._loop, uvloop.Loop)  # measured: ~1.4x the deliveries per second


def test_signer_agrees_with_the_sdk_byte_for_byte():
    body = render_event({"id": "evt_1", "object": "event", "data": {"object": {"id": "cus_1", "name": "Zoë"}}})
    for t in (1, 1_700_000_000, 2_000_000_000):
        assert signature_header(body, "whsec_abc", t) == \
            stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_abc", t)


def test_each_enabled_matching_endpoint_of_the_mode_gets_its_own_delivery(hub, receiver):
    sim, client, url = hub
    a = endpoint(client, receiver.url("a"), ["customer.created"])
    b = endpoint(client, receiver.url("b"), ["*"])
    endpoint(client, receiver.url("c"), ["invoice.paid"])
    off = endpoint(client, receiver.url("off"))
    client.v1.webhook_endpoints.update(off.id, params={"disabled": True})
    live = stripe.StripeClient(sim.live_key, base_addresses={"api": url})
    endpoint(live, receiver.url("live"))
    client.v1.customers.create(params={"email": "x@example.com"})
    assert sim.webhooks.wait_idle(5)
    assert len(receiver.got("a")) == 1 and len(receiver.got("b")) == 1
    assert receiver.got("c") == [] and receiver.got("off") == [] and receiver.got("live") == []
    # two endpoints for one app: the same event id arrives twice (the seed's "multiple webhooks firing")
    assert verify(receiver.got("a")[0], a.secret).id == verify(receiver.got("b")[0], b.secret).id


def test_failures_are_retried_on_the_test_schedule_then_given_up(hub, receiver):
    sim, client, _ = hub
    we = endpoint(client, receiver.script("down", [500, 503, 500, 404]), ["customer.created"])
    cus = client.v1.customers.create(params={"email": "x@example.com"})
    assert sim.webhooks.wait_idle(5)
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert event.pending_webhooks == 1
    assert [e.id for e in client.v1.events.list(params={"delivery_success": False}).data] == [event.id]
    sim.webhooks.advance(3599)
    assert len(receiver.got("down")) == 1  # the first retry comes after an hour
    sim.webhooks.advance(2 * 86400)
    attempts = sim.webhooks.attempts(event=event.id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert [a["status"] for a in attempts] == [500, 503, 500, 404]
    # signed afresh at each attempt, with the real clock (the receiver checks t against its own clock)
    stamps = [int(a["signature"].split(",")[0][2:]) for a in attempts]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time()) < 60
    assert len(receiver.got("down")) == 4
    assert client.v1.events.retrieve(event.id).pending_webhooks == 0
    assert [e.id for e in client.v1.events.list(params={"delivery_success": False}).data] == [event.id]
    assert cus.id in receiver.got("down")[0]["body"].decode()
    assert we.id == attempts[0]["endpoint"]


def test_a_retry_succeeds_after_the_receiver_recovers(hub, receiver):
    sim, client, _ = hub
    we = endpoint(client, receiver.script("flaky", [500]), ["customer.created"])
    client.v1.customers.create(params={"email": "x@example.com"})
    sim.webhooks.wait_idle(5)
    sim.webhooks.advance(3600)
    got = receiver.got("flaky")
    assert [r["answer"] for r in got] == [500, 200]
    assert verify(got[1], we.secret).type == "customer.created"
    assert client.v1.events.list(params={"delivery_success": True}).data[0].type == "customer.created"


def test_live_mode_retries_with_back_off_for_three_days(hub, receiver):
    sim, _, url = hub
    live = stripe.StripeClient(sim.live_key, base_addresses={"api": url})
    endpoint(live, receiver.script("live", [500] * 100), ["customer.created"])
    sim.webhooks.disable_after["live"] = None
    live.v1.customers.create(params={"email": "x@example.com"})
    sim.webhooks.wait_idle(5)
    sim.webhooks.advance(4 * 86400)
    attempts = sim.webhooks.log
    gaps = [round(b["at"] - a["at"]) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] == 300
    assert 2.5 * 86400 < attempts[-1]["at"] - attempts[0]["at"] <= 3 * 86400 + 1


def test_disabling_an_endpoint_stops_its_pending_retries(hub, receiver):
    sim, client, _ = hub
    we = endpoint(client, receiver.script("d", [500] * 10), ["customer.created"])
    client.v1.customers.create(params={"email": "x@example.com"})
    sim.webhooks.wait_idle(5)
    client.v1.webhook_endpoints.update(we.id, params={"disabled": True})
    sim.webhooks.wait_idle(5)
    sim.webhooks.advance(86400)
    assert len(receiver.got("d")) == 1
    assert sim.webhooks.log[-1]["outcome"] == "canceled"


def test_an_endpoint_that_keeps_failing_is_disabled(hub, receiver):
    sim, client, _ = hub
    sim.webhooks.disable_after["test"] = 6 * 3600
    we = endpoint(client, receiver.script("dead", [500] * 100), ["customer.created"])
    for i in range(2):
        client.v1.customers.create(params={"email": f"{i}@example.com"})
    sim.webhooks.wait_idle(5)
    sim.webhooks.advance(86400)
    assert client.v1.webhook_endpoints.retrieve(we.id).status == "disabled"
    client.v1.customers.create(params={"email": "late@example.com"})
    sim.webhooks.wait_idle(5)
    assert len([r for r in receiver.got("dead") if b"late@example.com" in r["body"]]) == 0


def test_rolled_secret_signs_with_both_until_the_old_one_expires(hub, receiver):
    sim, client, url = hub
    we = endpoint(client, receiver.url("roll"), ["customer.created"])
    new = httpx.post(f"{url}/_sim/webhook_endpoints/{we.id}/roll_secret", data={"expires_in": 3600}).json()["secret"]
    client.v1.customers.create(params={"email": "a@example.com"})
    sim.webhooks.wait_idle(5)
    first = receiver.got("roll")[-1]
    assert first["headers"]["stripe-signature"].count("v1=") == 2
    verify(first, we.secret)
    verify(first, new)
    sim.webhooks.advance(3601)
    client.v1.customers.create(params={"email": "b@example.com"})
    sim.webhooks.wait_idle(5)
    second = receiver.got("roll")[-1]
    assert second["headers"]["stripe-signature"].count("v1=") == 1
    verify(second, new)
    with pytest.raises(stripe.SignatureVerificationError):
        verify(second, we.secret)


def test_a_hanging_receiver_does_not_stall_other_endpoints(hub, receiver):
    sim, client, _ = hub
    endpoint(client, receiver.script("hang", ["hang"]), ["customer.created"])
    endpoint(client, receiver.url("fast"), ["customer.created"])
    started = time.monotonic()
    client.v1.customers.create(params={"email": "a@example.com"})
    for _ in range(200):
        if receiver.got("fast"):
            break
        time.sleep(0.01)
    assert receiver.got("fast") and time.monotonic() - started < 0.9  # before the hang's 1 s timeout
    assert sim.webhooks.wait_idle(5)
    hang = [a for a in sim.webhooks.log if a["url"].endswith("/hang")]
    assert hang[0]["outcome"] == "timeout"


@pytest.mark.parametrize("answer, outcome", [("redirect", "failed"), ("reset", "failed"), ("huge", "delivered")])
def test_odd_receivers_are_logged_not_fatal(hub, receiver, answer, outcome):
    sim, client, _ = hub
    endpoint(client, receiver.script("odd", [answer]), ["customer.created"])
    client.v1.customers.create(params={"email": "a@example.com"})
    assert sim.webhooks.wait_idle(5)
    entry = sim.webhooks.log[0]
    assert entry["outcome"] in (outcome, "error")
    if answer == "redirect":
        assert entry["status"] == 302
    if answer == "huge":
        assert len(entry["response_body"]) <= 1000
    # the simulator still serves the API and still delivers
    client.v1.customers.create(params={"email": "b@example.com"})
    assert sim.webhooks.wait_idle(5)


def test_events_are_not_lost_while_the_receiver_is_down(hub):
    sim, client, _ = hub
    from tests.stripe_sim.receivers import Receiver
    down = Receiver().start()
    url = down.url("back")
    port = down.server.port
    down.stop()  # nothing listens there now
    endpoint(client, url, ["customer.created"])
    ids = [client.v1.customers.create(params={"email": f"{i}@example.com"}).id for i in range(5)]
    assert sim.webhooks.wait_idle(5)
    assert all(a["outcome"] == "error" for a in sim.webhooks.log)
    back = Receiver()
    back.server = ThreadedServer(back.app, port=port).start()
    try:
        sim.webhooks.advance(3600)
        bodies = b"".join(r["body"] for r in back.got("back"))
        assert all(cus_id.encode() in bodies for cus_id in ids)
    finally:
        back.stop()


def test_resend_like_stripe_events_resend(hub, receiver):
    sim, client, url = hub
    we = endpoint(client, receiver.url("again"), ["customer.created"])
    client.v1.customers.create(params={"email": "a@example.com"})
    sim.webhooks.wait_idle(5)
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]
    r = httpx.post(f"{url}/v1/events/{event.id}/retry", data={"webhook_endpoint": we.id},
                   headers={"Authorization": f"Bearer {sim.test_key}"})
    assert r.status_code == 200 and r.json()["id"] == event.id
    sim.webhooks.wait_idle(5)
    got = receiver.got("again")
    assert len(got) == 2 and verify(got[1], we.secret).id == event.id
    assert sim.webhooks.log[-1]["faults"] == ["resend"]


# ---- faults -------------------------------------------------------------------------------------------

def deliver_with(hub, receiver, n=1, events=("customer.created",), **fault):
    sim, client, _ = hub
    we = endpoint(client, receiver.url("f"), events)
    sim.webhooks.faults.add(Fault(**fault))
    for i in range(n):
        client.v1.customers.create(params={"email": f"{i}@example.com"})
    assert sim.webhooks.wait_idle(5)
    return we, receiver.got("f")


@pytest.mark.parametrize("concurrent", [False, True])
def test_duplicate_delivery(hub, receiver, concurrent):
    we, got = deliver_with(hub, receiver, kind="duplicate", copies=3, concurrent=concurrent)
    ids = {verify(r, we.secret).id for r in got}
    assert len(got) == 3 and len(ids) == 1
    assert all("duplicate:x3" in a["faults"][0] for a in hub[0].webhooks.log)


def test_reverse_order(hub, receiver):
    we, got = deliver_with(hub, receiver, n=3, kind="reverse", window=3)
    emails = [verify(r, we.secret).data.object.email for r in got]
    assert emails == ["2@example.com", "1@example.com", "0@example.com"]


def test_hold_one_event_until_after_another(hub, receiver):
    sim, client, _ = hub
    we = endpoint(client, receiver.url("f"), ["customer.subscription.created", "customer.subscription.updated",
                                              "customer.subscription.deleted"])
    prod = client.v1.products.create(params={"name": "P", "metadata": {"plan": "pro"}})
    price = client.v1.prices.create(params={"product": prod.id, "unit_amount": 100, "currency": "usd",
                                            "recurring": {"interval": "month"}})
    cus = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                             "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sim.webhooks.faults.add(kind="hold", event_type="customer.subscription.created",
                            until="customer.subscription.updated")
    client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sim.webhooks.wait_idle(5)
    types = [verify(r, we.secret).type for r in receiver.got("f")]
    assert types == ["customer.subscription.updated", "customer.subscription.created"]


def test_delay(hub, receiver):
    sim, client, _ = hub
    endpoint(client, receiver.url("f"), ["customer.created"])
    sim.webhooks.faults.add(kind="delay", seconds=600)
    client.v1.customers.create(params={"email": "a@example.com"})
    sim.webhooks.wait_idle(5)
    assert receiver.got("f") == []
    sim.webhooks.advance(601)
    assert len(receiver.got("f")) == 1


def test_dropped_attempts_force_retries(hub, receiver):
    sim, client, _ = hub
    endpoint(client, receiver.url("f"), ["customer.created"])
    sim.webhooks.faults.add(kind="drop", attempts=2)
    client.v1.customers.create(params={"email": "a@example.com"})
    sim.webhooks.wait_idle(5)
    sim.webhooks.advance(4 * 3600)
    assert [a["outcome"] for a in sim.webhooks.log] == ["dropped", "dropped", "delivered"]
    assert len(receiver.got("f")) == 1


@pytest.mark.parametrize("fault, message", [
    ({"kind": "sign", "secret": "other_mode"}, "No signatures found matching the expected signature"),
    ({"kind": "sign", "secret": "stale"}, "No signatures found matching the expected signature"),
    ({"kind": "timestamp", "offset": -600}, "Timestamp outside the tolerance zone"),
    ({"kind": "header", "value": "missing"}, "No Stripe-Signature header"),
    ({"kind": "header", "value": "malformed"}, "Unable to extract timestamp and signatures from header"),
    ({"kind": "header", "value": "no_v1"}, "No signatures found with expected scheme"),
    ({"kind": "body", "value": "reserialized"}, "No signatures found matching the expected signature"),
    ({"kind": "body", "value": "crlf"}, "No signatures found matching the expected signature"),
])
def test_signature_faults_are_rejected_by_a_correct_verifier(hub, receiver, fault, message):
    we, got = deliver_with(hub, receiver, **fault)
    assert len(got) == 1
    with pytest.raises(stripe.SignatureVerificationError, match=message):
        verify(got[0], we.secret)
    assert hub[0].webhooks.log[0]["faults"]


def test_other_mode_secret_is_the_live_endpoints_secret_when_there_is_one(hub, receiver):
    sim, client, url = hub
    live = stripe.StripeClient(sim.live_key, base_addresses={"api": url})
    live_we = endpoint(live, receiver.url("f"), ["account.updated"])
    we, got = deliver_with(hub, receiver, kind="sign", secret="other_mode")
    event = verify(got[0], live_we.secret)  # a receiver configured with the live secret accepts it
    assert event.livemode is False  # ... and must refuse it on livemode


def test_zero_ids_like_the_dashboard_test_button(hub, receiver):
    we, got = deliver_with(hub, receiver, kind="zero_ids")
    event = verify(got[0], we.secret)
    assert event.id == "evt_00000000000000" and event.data.object.id == "cus_00000000000000"


def test_faults_over_the_admin_api(hub, receiver):
    sim, client, url = hub
    r = httpx.post(f"{url}/_sim/webhooks/faults", data={"kind": "duplicate", "copies": 2, "count": 1})
    assert r.status_code == 200 and r.json()["description"] == "duplicate:x2"
    bad = httpx.post(f"{url}/_sim/webhooks/faults", data={"kind": "dupliate"})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["message"]
    endpoint(client, receiver.url("f"), ["customer.created"])
    client.v1.customers.create(params={"email": "a@example.com"})
    client.v1.customers.create(params={"email": "b@example.com"})
    httpx.post(f"{url}/_sim/webhooks/wait_idle")
    assert len(receiver.got("f")) == 3  # count=1: only the first event was duplicated
    log = httpx.get(f"{url}/_sim/webhooks/log").json()["data"]
    assert len(log) == 3 and {a["copy"] for a in log} == {1, 2}
    assert httpx.delete(f"{url}/_sim/webhooks/faults").status_code == 200


def test_listen_session_forwards_with_its_own_secret(hub, receiver):
    sim, client, url = hub
    session = httpx.post(f"{url}/_sim/listen", data={"url": receiver.url("cli")}).json()
    client.v1.customers.create(params={"email": "a@example.com"})
    sim.webhooks.wait_idle(5)
    assert verify(receiver.got("cli")[0], session["secret"]).type == "customer.created"
    assert client.v1.webhook_endpoints.list().data == []  # not an endpoint
    httpx.delete(f"{url}/_sim/listen/{session['id']}")
    client.v1.customers.create(params={"email": "b@example.com"})
    sim.webhooks.wait_idle(5)
    assert len(receiver.got("cli")) == 1


# ---- API faults (the receiver's re-fetch path) ------------------------------------------------------

def test_api_faults_500_then_recover(hub):
    sim, client, url = hub
    cus = client.v1.customers.create(params={"email": "a@example.com"})
    httpx.post(f"{url}/_sim/api_faults", data={"path": "/v1/customers/*", "status": "500", "count": 2})
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.customers.retrieve(cus.id)
    assert client.v1.customers.retrieve(cus.id).id == cus.id
    faults = [r for r in httpx.get(f"{url}/_sim/requests").json()["data"] if r["fault"]]
    assert len(faults) == 2 and all(r["status"] == 500 for r in faults)


def test_api_fault_429_has_retry_after(hub):
    sim, client, url = hub
    httpx.post(f"{url}/_sim/api_faults", data={"path": "/v1/customers", "status": "429", "count": 1,
                                                 "retry_after": 7})
    r = httpx.get(f"{url}/v1/customers", headers={"Authorization": f"Bearer {sim.test_key}"})
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["error"]["code"] == "rate_limit"
    with pytest.raises(stripe.RateLimitError):
        sim.api_faults.add(path="/v1/customers", status="429", count=1)
        client.v1.customers.list()


def test_api_fault_timeout(hub):
    sim, _, url = hub
    sim.api_faults.add(path="/v1/customers", status="timeout", count=1, seconds=2)
    slow = stripe.StripeClient(sim.test_key, base_addresses={"api": url}, max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=0.3))
    with pytest.raises(stripe.APIConnectionError):
        slow.v1.customers.list()
    assert slow.v1.customers.list().data == []


def test_build_request_faults_directly():
    body = render_event({"id": "evt_1", "object": "event", "type": "x"})
    ok = build_request(body, "whsec_k", timestamp=int(time.time()))
    assert stripe.Webhook.construct_event(ok.body, ok.signature_header, "whsec_k").id == "evt_1"
    tampered = build_request(body, "whsec_k", body="reserialized")
    assert json.loads(tampered.body) == json.loads(body) and tampered.body != body
    with pytest.raises(ValueError):
        build_request(body, "whsec_k", header="nope")
