"""`tiersync smoke` against the reference receiver deployed in live mode, and against receivers broken the
ways the seed guide's "Common Issues" describe: each failure names its cause and fix."""

from __future__ import annotations

import dataclasses
import json
import socket
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tiersync.server import ThreadedServer

from .conftest import run_cli, sdk


def smoke(capsys, live, *extra, target=None, secret=None):
    argv = ["smoke", "--target", target or live.app_url, "--json",
            "--webhook-secret", secret or live.world.webhook_secret, *extra]
    code, out, err = run_cli(capsys, *argv)
    doc = json.loads(out) if out.strip() else None
    return code, doc, out + err


def _checks(doc) -> dict[str, dict]:
    return {c["id"]: c for c in doc["checks"]}


@pytest.fixture
def other_mode_secret(live):
    return sdk(live, "test").webhook_endpoints.create(params={"url": "https://staging.example.com/webhook/stripe",
                                                              "enabled_events": ["*"]}).secret


@pytest.fixture
def serve():
    servers = []

    def start(app):
        server = ThreadedServer(app, port=0).start()
        servers.append(server)
        return server.url
    yield start
    for server in servers:
        server.stop()


def _app(handler) -> Starlette:
    return Starlette(routes=[Route("/webhook/stripe", handler, methods=["POST"])])


def _receiver(live, serve, **env_changes) -> str:
    """The reference receiver deployed again with some settings changed (a wrong secret, the other mode)."""
    from tiersync.receiver import Settings, create_app
    from tiersync.receiver.storage import Storage
    env = {**live.env, "STRIPE_API_BASE": live.stripe_url, "CLERK_API_URL": live.clerk_url, **env_changes}
    settings = dataclasses.replace(Settings.from_env(env), database=":memory:")
    return serve(create_app(settings, storage=Storage(":memory:")))


def test_the_reference_receiver_passes_every_probe(live, capsys, other_mode_secret):
    code, doc, text = smoke(capsys, live, "--other-mode-secret", other_mode_secret)
    assert code == 0, text
    checks = _checks(doc)
    assert set(checks) == {"smoke.unsigned", "smoke.wrong_secret", "smoke.other_mode_secret",
                           "smoke.stale_timestamp", "smoke.tampered_body", "smoke.signed_event",
                           "smoke.unknown_customer"}
    assert {c["status"] for c in checks.values()} == {"pass"}
    assert doc["mode"] == "live" and 0 < doc["latency_ms"] < 1000
    assert live.world.webhook_secret not in text and other_mode_secret not in text


def test_the_table_reports_latency(live, capsys):
    code, out, err = run_cli(capsys, "smoke", "--target", live.app_url, "--webhook-secret", live.world.webhook_secret)
    assert code == 0 and "signed event answered in" in out and "smoke.tampered_body" in out


def test_a_deployment_with_another_endpoints_secret_is_named(live, capsys, serve):
    url = _receiver(live, serve, STRIPE_WEBHOOK_SECRET="whsec_fromTheTestModeEndpoint000")
    code, doc, _ = smoke(capsys, live, target=url)
    check = _checks(doc)["smoke.signed_event"]
    assert code == 1 and check["status"] == "fail"
    assert "400 on a correct signature" in check["summary"]
    assert "the deployed STRIPE_WEBHOOK_SECRET is not this endpoint's" in check["fix"]


def test_a_deployment_in_the_other_mode_is_named(live, capsys, serve):
    url = _receiver(live, serve, STRIPE_SECRET_KEY=live.stripe.test_key, CLERK_SECRET_KEY="sk_test_x1234567",
                    CLERK_PUBLISHABLE_KEY="")
    code, doc, _ = smoke(capsys, live, target=url)
    check = _checks(doc)["smoke.signed_event"]
    assert check["status"] == "fail" and "not a live key" in check["fix"]


def test_a_receiver_that_accepts_anything_fails_every_rejection_probe(live, capsys, serve, other_mode_secret):
    async def accept(request):
        return JSONResponse({"received": True})
    code, doc, _ = smoke(capsys, live, "--other-mode-secret", other_mode_secret, target=serve(_app(accept)))
    checks = _checks(doc)
    for probe in ("smoke.unsigned", "smoke.wrong_secret", "smoke.other_mode_secret", "smoke.stale_timestamp",
                  "smoke.tampered_body"):
        assert checks[probe]["status"] == "fail", probe
    assert "grant themselves a paid tier" in checks["smoke.unsigned"]["fix"]
    assert "other mode's secret" in checks["smoke.other_mode_secret"]["fix"]
    assert "300 s tolerance" in checks["smoke.stale_timestamp"]["fix"]
    assert "raw body" in checks["smoke.tampered_body"]["fix"]
    assert checks["smoke.signed_event"]["status"] == "pass" and code == 1


def test_a_receiver_without_its_secret_answering_500_is_named(live, capsys, serve):
    async def no_secret(request):  # the seed Worker when STRIPE_WEBHOOK_SECRET is missing
        if "stripe-signature" not in request.headers:
            return JSONResponse({"error": "No signature"}, status_code=400)
        return JSONResponse({"error": "Webhook secret not configured"}, status_code=500)
    code, doc, _ = smoke(capsys, live, target=serve(_app(no_secret)))
    checks = _checks(doc)
    assert checks["smoke.wrong_secret"]["status"] == "fail"
    assert "STRIPE_WEBHOOK_SECRET is not set in the deployment" in checks["smoke.wrong_secret"]["fix"]
    assert checks["smoke.unknown_customer"]["status"] == "fail"


def test_a_5xx_for_an_unknown_customer_and_a_slow_answer_are_flagged(live, capsys, serve):
    import stripe as stripe_sdk

    async def fragile(request):
        body = await request.body()
        try:
            event = stripe_sdk.Webhook.construct_event(body, request.headers.get("stripe-signature", ""),
                                                       live.world.webhook_secret)
        except (stripe_sdk.SignatureVerificationError, ValueError):
            return JSONResponse({"error": "bad signature"}, status_code=400)
        if event["type"].startswith("customer.subscription."):
            return JSONResponse({"error": "No such customer"}, status_code=500)
        time.sleep(1.2)
        return JSONResponse({"received": True})
    code, doc, _ = smoke(capsys, live, target=serve(_app(fragile)))
    checks = _checks(doc)
    assert checks["smoke.unknown_customer"]["status"] == "fail"
    assert "never a 5xx" in checks["smoke.unknown_customer"]["fix"]
    assert checks["smoke.signed_event"]["status"] == "warn" and "answer 2xx first" in checks["smoke.signed_event"]["fix"]
    assert doc["latency_ms"] >= 1200


def test_an_auth_guard_on_the_webhook_path_is_named(live, capsys, serve):
    async def guarded(request):
        return JSONResponse({"error": "Unauthorized"}, status_code=401)
    code, doc, _ = smoke(capsys, live, target=serve(_app(guarded)))
    assert "exempt it" in _checks(doc)["smoke.signed_event"]["fix"]


# ---- bad input: one line, exit 2 -------------------------------------------------------------------
def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def test_an_unreachable_target_is_one_line(live, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, doc, text = smoke(capsys, live, target=dead)
    assert code == 2 and doc is None
    assert "does not answer" in _one_line(text)


def test_no_secret_a_bad_target_and_a_malformed_settings_file_are_one_line(live, capsys, tmp_path):
    code, _, err = run_cli(capsys, "smoke", "--target", live.app_url)
    assert code == 2 and "no webhook signing secret" in _one_line(err)
    code, _, err = run_cli(capsys, "smoke", "--target", "ftp://x", "--webhook-secret", "whsec_abcdefgh12345")
    assert code == 2 and "not an http(s) URL" in _one_line(err)
    bad = tmp_path / ".dev.vars"
    bad.write_text("STRIPE_WEBHOOK_SECRET whsec_abcdefgh12345\n")
    code, _, err = run_cli(capsys, "smoke", "--target", live.app_url, "--env-file", str(bad))
    assert code == 2 and f"{bad}:1" in _one_line(err) and "abcdefgh" not in err


def test_the_secret_is_read_from_the_settings(live, capsys):
    code, out, err = run_cli(capsys, "smoke", "--target", live.app_url, "--json", "--env-file", live.write_env())
    assert code == 0, err
    for secret in live.secrets():
        assert secret not in out + err
