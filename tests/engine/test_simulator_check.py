"""tiersync run never calls the real Stripe or Clerk: a stack file naming them, an address that is not a
simulator, or a live key as the test key is refused before any call that carries a key."""

import json

import httpx
import pytest

from tiersync.cli import main
from tiersync.engine.simulator_check import NotASimulator, check_simulators


def _stack_file(tmp_path, stripe_url, clerk_url, test_key="sk_test_tiersync_sim_key"):
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({
        "stripe": {"url": stripe_url, "test_key": test_key, "live_key": "sk_live_" + "x" * 24,
                   "world": {"prices": {"pro": "price_1", "enterprise": "price_2"}, "webhook_secret": "whsec_x"}},
        "clerk": {"base_url": clerk_url, "secret_key": "sk_test_clerk"}}))
    return path


@pytest.fixture
def no_network(monkeypatch):
    """Any HTTP call from here on fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"an HTTP call was made: {args[:2]}")
    monkeypatch.setattr(httpx, "get", refuse)
    monkeypatch.setattr(httpx, "post", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)


@pytest.mark.parametrize("stripe_url, clerk_url, which", [
    ("https://api.stripe.com", "http://127.0.0.1:9", "Stripe"),
    ("http://127.0.0.1:9", "https://api.clerk.com", "Clerk"),
    ("http://127.0.0.1:9", "https://clean-owl-12.clerk.accounts.dev", "Clerk"),
])
def test_the_real_services_are_refused_before_any_call(tmp_path, capsys, no_network, stripe_url, clerk_url, which):
    stack = _stack_file(tmp_path, stripe_url, clerk_url)
    assert main(["run", "-k", "upgrade-pro-with-card", "--stack", str(stack), "--target", "http://127.0.0.1:9"]) == 2
    out = capsys.readouterr().out
    assert f"the real {which}" in out and "tiersync preflight" in out


def test_a_live_key_as_the_test_key_is_refused(tmp_path, capsys, no_network):
    stack = _stack_file(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9", test_key="sk_live_" + "y" * 24)
    assert main(["run", "-k", "upgrade-pro-with-card", "--stack", str(stack), "--target", "http://127.0.0.1:9"]) == 2
    out = capsys.readouterr().out
    assert "not a test-mode key" in out and "y" * 24 not in out


def test_an_address_that_is_not_a_simulator_is_refused(httpserver):
    httpserver.expect_request("/_sim/health").respond_with_json({"status": "ok"}, status=404)
    with pytest.raises(NotASimulator, match="is not a tiersync Stripe simulator .GET /_sim/health answered 404"):
        check_simulators(httpserver.url_for(""), httpserver.url_for(""), "sk_test_x", "stack.json")
    assert all("Authorization" not in req.headers for req, _ in httpserver.log)  # no key was sent


def test_a_running_stack_passes():
    from tiersync.stack import Stack
    with Stack(receiver_port=None) as stack:
        info = stack.info()
        check_simulators(info["stripe"]["url"], info["clerk"]["base_url"], info["stripe"]["test_key"], "stack")
