"""The start-up check against Stripe (`check_remote`, `create_app(..., verify_remote=True)`): every
configured price exists in the key's mode, is recurring, and its product's metadata.plan names its tier."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys

import pytest
import stripe

from tiersync.receiver.app import check_remote, create_app, stripe_client
from tiersync.receiver.settings import ConfigError
from tiersync.receiver.storage import Storage

from .test_settings import ROOT


def settings(app, **changes):
    return dataclasses.replace(app.st.receiver_app.state.settings, **changes)


def problems(app, **changes) -> list[str]:
    s = settings(app, **changes)
    with pytest.raises(ConfigError) as info:
        check_remote(s, stripe_client(s))
    return info.value.problems


def price_for(app, plan, *, key=None, recurring=True):
    client = app.stripe if key is None else stripe.StripeClient(
        key, base_addresses={"api": app.st.stripe_server.url}, max_network_retries=0)
    product = client.v1.products.create(params={"name": f"Plan {plan}",
                                                "metadata": {} if plan is None else {"plan": plan}})
    params = {"product": product.id, "unit_amount": 1000, "currency": "usd"}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return client.v1.prices.create(params=params)


def test_the_seeded_world_passes(app):
    s = settings(app)
    check_remote(s, stripe_client(s))
    create_app(s, storage=Storage(), verify_remote=True)


def test_a_live_mode_price_with_the_test_key_is_reported_by_name(app):
    live = price_for(app, "pro", key=app.st.stripe_sim.live_key)
    (problem,) = problems(app, price_ids={"pro": live.id, "enterprise": app.st.world.prices["enterprise"]})
    assert problem.startswith("STRIPE_PRICE_ID_PRO:")
    assert live.id in problem and "live mode" in problem and "test mode key" in problem


def test_every_problem_is_reported_at_once(app):
    found = problems(app, price_ids={"pro": price_for(app, "gold").id,
                                     "enterprise": price_for(app, "enterprise", recurring=False).id},
                     portal_config_id="bpc_doesnotexist")
    assert len(found) == 3, found
    assert found[0].startswith("STRIPE_PRICE_ID_PRO:") and "metadata.plan='gold', expected 'pro'" in found[0]
    assert found[1].startswith("STRIPE_PRICE_ID_ENTERPRISE") and "one-time price" in found[1]
    assert found[2].startswith("STRIPE_PORTAL_CONFIG_ID:") and "bpc_doesnotexist" in found[2]


def test_missing_plan_metadata_and_a_swapped_tier(app):
    found = problems(app, price_ids={"pro": price_for(app, None).id, "enterprise": app.st.world.prices["pro"]})
    assert found[0].startswith("STRIPE_PRICE_ID_PRO:") and "has no metadata.plan" in found[0]
    assert found[1].startswith("STRIPE_PRICE_ID_ENTERPRISE:") and "expected 'enterprise'" in found[1]


def test_a_miscased_plan_passes_with_a_warning_naming_the_variable(app, caplog):
    caplog.set_level(logging.WARNING, logger="tiersync.receiver")
    price = price_for(app, "Pro")
    s = settings(app, price_ids={"pro": price.id})
    check_remote(s, stripe_client(s))
    warnings = [m for m in caplog.messages if "STRIPE_PRICE_ID_PRO" in m]
    assert warnings and "'Pro'" in warnings[0] and price.product in warnings[0]


def test_create_app_with_verify_remote_refuses_a_bad_world(app):
    live = price_for(app, "pro", key=app.st.stripe_sim.live_key)
    with pytest.raises(ConfigError, match="STRIPE_PRICE_ID_PRO"):
        create_app(settings(app, price_ids={"pro": live.id}), storage=Storage(), verify_remote=True)


def test_stripe_unreachable_is_a_warning_not_a_refusal(app, caplog):
    caplog.set_level(logging.WARNING, logger="tiersync.receiver")
    s = settings(app, stripe_api_base="http://127.0.0.1:9", request_timeout=1)
    check_remote(s, stripe_client(s))
    assert any("could not check STRIPE_PRICE_ID_PRO" in m for m in caplog.messages)


def test_cli_refuses_a_live_price_with_exit_2(app):
    live = price_for(app, "pro", key=app.st.stripe_sim.live_key)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CLERK_"))}
    env.update(app.st.receiver_env(port=0) | {"STRIPE_PRICE_ID_PRO": live.id, "PORT": "1"})
    env.pop("RECEIVER_SKIP_REMOTE_CHECK", None)
    proc = subprocess.run([sys.executable, "-m", "tiersync.receiver"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "STRIPE_PRICE_ID_PRO" in proc.stderr and live.id in proc.stderr and "Traceback" not in proc.stderr
