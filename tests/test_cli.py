"""The `tiersync` command: `serve --json` prints one line others can drive the stack with; `demo` passes."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
import stripe

from tiersync.cli import main


def test_serve_json_prints_one_line_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "serve", "--port", "0", "--clerk-port", "0",
                             "--receiver-port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        stripe_info = info["stripe"]
        assert stripe_info["url"].startswith("http://127.0.0.1:")
        client = stripe.StripeClient(stripe_info["test_key"], base_addresses={"api": stripe_info["url"]},
                                     max_network_retries=0)
        cus = client.v1.customers.create(params={"email": "a@example.com"})
        assert cus.livemode is False
        live = stripe.StripeClient(stripe_info["live_key"], base_addresses={"api": stripe_info["url"]})
        assert live.v1.customers.list().data == []
        # the seeded world and the receiver are described too
        world = stripe_info["world"]
        price = client.v1.prices.retrieve(world["prices"]["pro"], params={"expand": ["product"]})
        assert price.product.metadata["plan"] == "pro"
        receiver = info["receiver"]
        assert receiver["env"]["STRIPE_WEBHOOK_SECRET"] == world["webhook_secret"]
        assert httpx.get(receiver["url"] + "/health").json()["status"] == "ok"
        assert httpx.get(info["clerk"]["api_url"] + "/jwks").status_code in (200, 401)
        assert stripe_info["webhook_concurrency"] == 1  # in order per endpoint unless asked otherwise
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_serve_reports_a_busy_port_without_traceback(capsys):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "cannot listen" in err and "Traceback" not in err


def test_demo_story_passes(capsys):
    assert main(["demo", "--story"]) == 0
    out = capsys.readouterr().out
    assert "All checks passed." in out and "customer.subscription.deleted" in out


def test_serve_stripe_only():
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "serve", "--stripe-only", "--port", "0", "--json",
                             "--webhook-concurrency", "8"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"stripe"}
        assert info["stripe"]["webhook_concurrency"] == 8
        client = stripe.StripeClient(info["stripe"]["test_key"], base_addresses={"api": info["stripe"]["url"]})
        assert client.v1.products.list().data == []  # empty: no seeded world
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_serve_refuses_an_unusable_webhook_concurrency(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--webhook-concurrency", value])
    assert info.value.code == 2
    assert "not a number of deliveries in flight (1-64)" in capsys.readouterr().err


def test_serve_failed_payments_setting():
    """`--failed-payments cancel`: the account's choice for subscriptions whose retries all failed, readable
    (and changeable) over HTTP."""
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "serve", "--stripe-only", "--port", "0", "--json",
                             "--failed-payments", "cancel"], stdout=subprocess.PIPE, text=True)
    try:
        url = json.loads(proc.stdout.readline())["stripe"]["url"]
        got = httpx.get(f"{url}/_sim/settings/failed_payments").json()
        assert got["after_all_retries"] == {"test": "cancel", "live": "cancel"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_runs_the_catalog_and_writes_its_report(tmp_path, capsys):
    """`make demo`'s command, on one scenario and without the browser: what it runs is `tiersync run`."""
    report = tmp_path / "demo.html"
    assert main(["demo", "--no-browser", "-k", "upgrade-pro-with-card", "--html", str(report)]) == 0
    assert "1 passed" in capsys.readouterr().out
    assert "upgrade-pro-with-card" in report.read_text()
