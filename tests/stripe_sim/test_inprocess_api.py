"""The simulator's in-process API (moto's style): `request` runs a call as HTTP would (routing, validation,
all or nothing, events), `snapshot`/`restore` put a world back exactly, and `POST /_sim/world/restore` puts
back the world saved by `save_world` (a Stack saves its seeded one), ids and secrets kept, clock included."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.stripe_sim.receivers import Receiver
from tiersync.stripe_sim import StripeSim
from tiersync.stripe_sim.errors import InvalidRequest, StripeError


@pytest.fixture
def sim():
    s = StripeSim()
    yield s
    s.webhooks.close()


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _count(sim, path, mode="test") -> int:
    return len(sim.request("GET", path, {"limit": 100}, mode=mode)["data"])


def test_request_validates_and_creates_like_http(sim):
    prod = sim.request("POST", "/v1/products", {"name": "Pro Plan", "metadata": {"plan": "pro"}})
    price = sim.request("post", "/v1/prices", {"product": prod["id"], "unit_amount": 2900, "currency": "usd",
                                               "recurring": {"interval": "month"}, "lookup_key": "pro_monthly"})
    assert prod["metadata"] == {"plan": "pro"} and price["recurring"]["interval"] == "month"
    got = sim.request("GET", f"/v1/prices/{price['id']}", {"expand": ["product"]})
    assert got["unit_amount"] == 2900 and got["product"]["metadata"] == {"plan": "pro"}
    got["product"]["metadata"]["plan"] = "changed"  # a copy: the stored product is not touched
    assert sim.request("GET", f"/v1/products/{prod['id']}")["metadata"] == {"plan": "pro"}
    assert [e["type"] for e in sim.request("GET", "/v1/events")["data"]] == ["price.created", "product.created"]


def test_a_refused_request_raises_the_simulators_error_and_changes_nothing(sim):
    with pytest.raises(InvalidRequest) as exc:
        sim.request("POST", "/v1/prices", {"unit_amount": 100, "currency": "usd"})
    assert exc.value.status == 400 and exc.value.param == "product"
    with pytest.raises(StripeError) as exc:
        sim.request("POST", "/v1/prices", {"product": "prod_missing", "unit_amount": "ten", "currency": "usd"})
    assert exc.value.param == "unit_amount"
    with pytest.raises(InvalidRequest) as exc:
        sim.request("GET", "/v1/nothing_here")
    assert exc.value.status == 404 and "Unrecognized request URL" in exc.value.message
    # all or nothing: a subscription refused for its second item leaves no customer change, no subscription
    prod = sim.request("POST", "/v1/products", {"name": "P"})
    price = sim.request("POST", "/v1/prices", {"product": prod["id"], "unit_amount": 500, "currency": "usd",
                                               "recurring": {"interval": "month"}})
    cus = sim.request("POST", "/v1/customers", {"payment_method": "pm_card_visa",
                                                "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    events = _count(sim, "/v1/events")
    with pytest.raises(StripeError):
        sim.request("POST", "/v1/subscriptions", {"customer": cus["id"],
                                                  "items": [{"price": price["id"]}, {"price": "price_nope"}]})
    assert _count(sim, "/v1/subscriptions") == 0 and _count(sim, "/v1/invoices") == 0
    assert _count(sim, "/v1/events") == events


def test_request_in_live_mode_keeps_the_modes_apart(sim):
    prod = sim.request("POST", "/v1/products", {"name": "Live"}, mode="live")
    assert prod["livemode"] is True and _count(sim, "/v1/products") == 0
    with pytest.raises(InvalidRequest, match="a similar object exists in live mode"):
        sim.request("GET", f"/v1/products/{prod['id']}")
    with pytest.raises(ValueError, match="mode must be"):
        sim.request("GET", "/v1/products", mode="prod")


def _world(sim, webhook_url):
    prod = sim.request("POST", "/v1/products", {"name": "Pro Plan", "metadata": {"plan": "pro"}})
    price = sim.request("POST", "/v1/prices", {"product": prod["id"], "unit_amount": 2900, "currency": "usd",
                                               "recurring": {"interval": "month"}})
    coupon = sim.request("POST", "/v1/coupons", {"percent_off": 100, "duration": "once"})
    promo = sim.request("POST", "/v1/promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]},
                                                        "code": "LAUNCH100", "max_redemptions": 1})
    we = sim.request("POST", "/v1/webhook_endpoints", {"url": webhook_url, "enabled_events": ["customer.created"]})
    return prod, price, promo, we


def test_restore_puts_the_world_back_exactly_with_its_ids_secrets_and_clock(sim, receiver):
    prod, price, promo, we = _world(sim, receiver.url("ok"))
    saved = sim.snapshot()
    # a scenario changes everything it can
    sim.request("POST", f"/v1/products/{prod['id']}", {"metadata": {"plan": "Pro"}})
    sim.request("POST", f"/v1/promotion_codes/{promo['id']}", {"active": False})
    sim.request("POST", f"/v1/webhook_endpoints/{we['id']}", {"disabled": True})
    sim.request("POST", "/v1/webhook_endpoints", {"url": receiver.url("extra"), "enabled_events": ["*"]})
    sim.request("POST", f"/_sim/webhook_endpoints/{we['id']}/roll_secret", {"expires_in": 0})
    cus = sim.request("POST", "/v1/customers", {"email": "ada@example.com"})
    clock = sim.request("POST", "/v1/test_helpers/test_clocks", {"frozen_time": 1_700_000_000})
    sim.request("POST", "/_sim/test_clocks/default", {"test_clock": clock["id"]})
    sim.clock.advance(5 * 86400)

    sim.restore(saved)
    extra = len(receiver.got("extra"))  # what reached it while it existed
    assert sim.request("GET", f"/v1/products/{prod['id']}")["metadata"] == {"plan": "pro"}
    assert sim.request("GET", f"/v1/prices/{price['id']}")["unit_amount"] == 2900
    assert sim.request("GET", f"/v1/promotion_codes/{promo['id']}")["active"] is True
    endpoints = sim.request("GET", "/v1/webhook_endpoints")["data"]
    assert [(e["id"], e["status"]) for e in endpoints] == [(we["id"], "enabled")]
    with pytest.raises(InvalidRequest, match="No such customer"):
        sim.request("GET", f"/v1/customers/{cus['id']}")
    assert sim.default_test_clock is None and sim.clock.offset == 0 and sim.clock.frozen is None
    # the endpoint signs with the secret it was created with (the receiver knows that one)
    fresh = sim.request("POST", "/v1/customers", {"email": "bob@example.com"})
    assert fresh["id"] != cus["id"]  # ids made after a restore are new ones
    assert sim.webhooks.wait_idle(10)
    [delivery] = receiver.got("ok")
    event = stripe.Webhook.construct_event(delivery["body"], delivery["headers"]["stripe-signature"], we["secret"])
    assert event["data"]["object"]["id"] == fresh["id"] and len(receiver.got("extra")) == extra
    # the snapshot stays usable, and a restored store lists and indexes as before
    sim.restore(saved)
    assert _count(sim, "/v1/customers") == 0 and _count(sim, "/v1/products") == 1


def test_restore_drops_pending_deliveries_and_faults(sim, receiver):
    _world(sim, receiver.script("slow", [500, 500, 500]))
    saved = sim.snapshot()
    sim.request("POST", "/_sim/api_faults", {"path": "/v1/customers", "status": "500"})
    sim.request("POST", "/v1/customers", {"email": "ada@example.com"})  # an API fault stands for the network
    assert sim.webhooks.wait_idle(10) and len(receiver.got("slow")) == 1  # its retry is scheduled
    sim.restore(saved)
    sim.clock.advance(3 * 86400)
    sim.webhooks.advance(0)
    assert len(receiver.got("slow")) == 1  # the retry left behind never reaches the receiver
    assert not sim.api_faults.faults


def test_world_restore_route_needs_a_saved_world_and_puts_it_back(sim):
    status = sim.handle("POST", "/_sim/world/restore", "", {}, b"").status
    assert status == 404
    prod = sim.request("POST", "/v1/products", {"name": "Pro Plan", "metadata": {"plan": "pro"}})
    sim.save_world()
    sim.reset()  # even after a reset: the saved world is kept, like the keys
    sim.clock.advance(86400)
    resp = sim.handle("POST", "/_sim/world/restore", "", {}, b"")
    assert resp.status == 200 and resp.json() == {"object": "sim.world", "restored": True}
    assert sim.request("GET", f"/v1/products/{prod['id']}")["metadata"] == {"plan": "pro"}
    assert sim.clock.offset == 0


def test_stack_world_restore_over_http_puts_back_the_seeded_world():
    from tiersync.stack import PROMO_CODE, Stack
    with Stack(receiver_port=None) as stack:
        stack.seed_for_app("http://127.0.0.1:8799")
        world, url = stack.world, stack.stripe_server.url
        client = stripe.StripeClient(stack.stripe_sim.test_key, base_addresses={"api": url})
        client.v1.products.update(world.products["pro"], params={"metadata": {"plan": "Pro"}})
        client.v1.promotion_codes.update(world.promotion_code_id, params={"active": False})
        client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]})
        client.v1.customers.create(params={"email": "ada@example.com"})
        assert httpx.post(f"{url}/_sim/webhooks/advance", data={"seconds": 86400}).status_code == 200

        resp = httpx.post(f"{url}/_sim/world/restore")
        assert resp.status_code == 200 and resp.json()["restored"] is True
        assert client.v1.products.retrieve(world.products["pro"]).metadata.to_dict() == {"plan": "pro"}
        promo = client.v1.promotion_codes.retrieve(world.promotion_code_id)
        assert promo.active and promo.code == PROMO_CODE and promo.times_redeemed == 0
        assert [e.id for e in client.v1.webhook_endpoints.list().data] == [world.webhook_endpoint]
        assert client.v1.customers.list().data == []
        now = httpx.post(f"{url}/_sim/webhooks/advance", data={"seconds": 0}).json()["now"]
        assert abs(now - stack.stripe_sim.clock.time()) < 5 and stack.stripe_sim.clock.offset == 0


def test_a_remote_targets_reset_puts_back_clerk_as_the_profile_declares():
    """`tiersync run --stack`: the engine restores the Stripe world over HTTP, and Clerk through its API."""
    import tomllib
    from types import SimpleNamespace

    from tiersync.engine.target import restore_clerk
    from tiersync.profile_init import SEED_PROFILE
    from tiersync.profile_load import parse_profile
    from tiersync.stack import Stack
    profile = parse_profile(tomllib.loads(SEED_PROFILE))  # the seed's app: a JWT template `pan-api`
    with Stack(receiver_port=None, profile=profile) as stack:
        clerk = stack.clerk_sim
        declared = {t["name"]: t["claims"] for t in clerk.jwt_templates()}
        assert declared == {"pan-api": {"plan": "{{user.public_metadata.plan}}"}}
        name = next(iter(declared))
        clerk.put_jwt_template(name, {"plan": "changed"})
        clerk.set_fault("GET /v1/users/{user_id}", "error", count=5)
        info = stack.info()["clerk"]
        restore_clerk(SimpleNamespace(clerk_api_url=info["base_url"], clerk_secret_key=info["secret_key"],
                                      profile=profile))
        assert {t["name"]: t["claims"] for t in clerk.jwt_templates()} == declared
        assert clerk.faults.rules() == []
