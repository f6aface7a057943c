"""preflight never writes, never prints a secret, and answers bad input with one line."""

from __future__ import annotations

import json

import pytest

from .conftest import READ_ONLY_LIVE, READ_ONLY_TEST, preflight, run_cli, sdk


def _leaks(live, text: str) -> list[str]:
    """Secrets (or all but their last four characters) found in a text."""
    return [s[:10] for s in live.secrets() if s in text or s[:-4] in text]


def _break_everything(live):
    s = sdk(live)
    s.products.update(live.world.products["pro"], params={"metadata": {"plan": "Pro"}})
    s.webhook_endpoints.create(params={"url": live.app_url + "/webhook/stripe", "enabled_events": ["*"]})
    env = {**live.env, "STRIPE_SECRET_KEY": live.stripe.test_key,
           "STRIPE_WEBHOOK_SECRET": live.stripe.live_key, "CLERK_PUBLISHABLE_KEY": "pk_test_bm9wZSQ",
           "STRIPE_PRICE_ID_DEVELOPER": READ_ONLY_TEST}
    return env


@pytest.mark.parametrize("form", [(), ("--json",)])
def test_no_secret_appears_in_any_output(live, capsys, form):
    env = _break_everything(live)
    code, out, err = preflight(capsys, live, *form, "--stripe-test-key", READ_ONLY_TEST, env=env)
    assert code == 1
    assert "fail" in out
    assert _leaks(live, out + err) == [], "a secret reached the output"
    assert "sk_live_****" in out  # keys are named by mode and last four characters only


def test_it_only_reads(live, capsys):
    live.stripe.request_log.clear()
    live.clerk.request_log.clear()
    preflight(capsys, live, "--stripe-test-key", READ_ONLY_TEST)
    stripe_methods = {r.method for r in live.stripe.request_log}
    clerk_methods = {r.method for r in live.clerk.request_log.entries}
    assert stripe_methods == {"GET"} and clerk_methods == {"GET"}
    assert len(live.stripe.request_log) >= 5


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_revoked_stripe_key_is_one_line(live, capsys):
    code, out, err = preflight(capsys, live, key="rk_live_revokedYesterday99")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "Stripe refused the key" in line and "revoked" in line and "rk_live_****ay99" in line


def test_a_revoked_clerk_key_is_one_line(live, capsys):
    code, out, err = preflight(capsys, live, "--clerk-key", "sk_live_revokedClerk0042")
    assert code == 2
    assert "Clerk refused the secret key" in _one_line(err)
    assert "revokedClerk" not in err


def test_an_unreachable_stripe_api_is_one_line(live, capsys):
    code, out, err = preflight(capsys, live, "--stripe-api-base", "http://127.0.0.1:9")
    assert code == 2
    assert "cannot reach the Stripe API" in _one_line(err)


@pytest.mark.parametrize("text, said", [
    ("STRIPE_SECRET_KEY=sk_live_abcdefgh1234\nthis is not a setting\n", ":2: expected NAME=value"),
    ('CLERK_JWT_TEMPLATE="pan-api\n', ":1: the value opens a \" quote it never closes"),
])
def test_a_malformed_settings_file_is_one_line_naming_file_and_line(live, capsys, tmp_path, text, said):
    path = tmp_path / ".dev.vars"
    path.write_text(text)
    code, out, err = run_cli(capsys, "preflight", "--env-file", str(path), "--stripe-key", READ_ONLY_LIVE)
    assert code == 2
    line = _one_line(err)
    assert str(path) + said in line
    assert "abcdefgh" not in err


def test_a_malformed_wrangler_toml_and_a_missing_file_are_one_line(live, capsys, tmp_path):
    bad = tmp_path / "wrangler.toml"
    bad.write_text("[vars\nX = 1\n")
    code, _, err = run_cli(capsys, "preflight", "--wrangler", str(bad))
    assert code == 2 and "not valid TOML" in _one_line(err)
    code, _, err = run_cli(capsys, "preflight", "--env-file", str(tmp_path / "absent.env"))
    assert code == 2 and "no such file" in _one_line(err)
    code, _, err = run_cli(capsys, "preflight")
    assert code == 2 and "no settings given" in _one_line(err)


def test_json_is_one_document_with_counts(live, capsys):
    code, out, _ = preflight(capsys, live, "--json")
    doc = json.loads(out)
    assert doc["ok"] is True and doc["mode"] == "live" and doc["counts"]["fail"] == 0


def test_a_restricted_key_without_a_permission_is_one_line_naming_it(live, capsys, httpserver):
    """Stripe's answer to a restricted key lacking a permission (403, as users report it verbatim)."""
    message = ("The provided key 'rk_live_*****************************************Hq7c' does not have the required "
               "permissions for this endpoint on account 'acct_1Tiersync'. Having the 'rak_product_read' "
               "permission would allow this request to continue.")
    httpserver.expect_request("/v1/prices/" + live.world.prices["pro"]).respond_with_json(
        {"error": {"type": "invalid_request_error", "message": message}}, status=403)
    code, out, err = preflight(capsys, live, "--stripe-api-base", httpserver.url_for("").rstrip("/"))
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "'Products: Read' (rak_product_read)" in line


def test_an_unreachable_clerk_api_is_one_line(live, capsys):
    code, out, err = preflight(capsys, live, "--clerk-api-url", "http://127.0.0.1:9")
    assert code == 2 and "cannot reach the Clerk Backend API" in _one_line(err)
