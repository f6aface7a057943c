"""`tiersync sign` prints a curl command that a correct verifier accepts; `tiersync listen` forwards."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import stripe

from tiersync.cli import main
from tiersync.server import ThreadedServer
from tiersync.stripe_sim import StripeSim


def test_sign_prints_a_curl_command_the_sdk_accepts(tmp_path, capsys, receiver):
    payload = tmp_path / "event.json"
    payload.write_bytes(json.dumps({"id": "evt_1", "object": "event", "type": "customer.created"}, indent=2).encode())
    assert main(["sign", str(payload), "--secret", "whsec_k3y", "--url", receiver.url("signed")]) == 0
    command = capsys.readouterr().out.strip()
    assert "whsec_k3y" not in command and command.startswith("curl ")
    subprocess.run(command, shell=True, check=True, capture_output=True)
    got = receiver.got("signed")[0]
    event = stripe.Webhook.construct_event(got["body"], got["headers"]["stripe-signature"], "whsec_k3y")
    assert event.id == "evt_1"


def test_sign_send_with_a_body_fault(tmp_path, capsys, receiver):
    payload = tmp_path / "event.json"
    payload.write_text('{\n  "id": "evt_2",\n  "object": "event"\n}')
    assert main(["sign", str(payload), "--secret", "whsec_k", "--url", receiver.url("bad"), "--body", "crlf",
                 "--send"]) == 0
    got = receiver.got("bad")[0]
    assert b"\r\n" in got["body"]
    try:
        stripe.Webhook.construct_event(got["body"], got["headers"]["stripe-signature"], "whsec_k")
        raise AssertionError("a tampered body must not verify")
    except stripe.SignatureVerificationError:
        pass


def test_sign_reports_bad_input_without_traceback(tmp_path, capsys):
    assert main(["sign", str(tmp_path / "missing.json"), "--secret", "whsec_x"]) == 2
    assert main(["sign", str(tmp_path / "missing.json"), "--secret", "sk_test_123456789"]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err and "sk_test_123456789" not in err


def test_listen_forwards_events_signed_with_its_printed_secret(receiver):
    sim = StripeSim()
    with ThreadedServer(sim, port=0) as srv:
        proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "listen", "--api", srv.url,
                                 "--forward-to", receiver.url("laptop")], stdout=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()
            assert first.startswith("Ready! Your webhook signing secret is whsec_")
            secret = first.split()[6]
            client = stripe.StripeClient(sim.test_key, base_addresses={"api": srv.url})
            client.v1.customers.create(params={"email": "dev@example.com"})
            for _ in range(300):
                if receiver.got("laptop"):
                    break
                time.sleep(0.02)
            got = receiver.got("laptop")[0]
            assert stripe.Webhook.construct_event(got["body"], got["headers"]["stripe-signature"],
                                                  secret).type == "customer.created"
            assert "customer.created" in proc.stdout.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        assert sim.webhooks.sessions == {}  # the session ends with the command
        sim.webhooks.close()


def test_listen_without_a_simulator_says_how_to_start_one(capsys):
    assert main(["listen", "--api", "http://127.0.0.1:9", "--forward-to", "http://127.0.0.1:9/x"]) == 2
    assert "tiersync serve" in capsys.readouterr().err
