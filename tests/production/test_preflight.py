"""`tiersync preflight` against a live-mode set-up on the simulators: clean when correct, and each of
the seed guide's misconfigurations flagged with its fix, one at a time."""

from __future__ import annotations

import json

import pytest

from .conftest import READ_ONLY_TEST, preflight, sdk

TEST_KEY = ("--stripe-test-key", READ_ONLY_TEST)


def _run(capsys, live, *extra, env=None):
    code, out, err = preflight(capsys, live, "--json", *TEST_KEY, *extra, env=env)
    assert err == "", err
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    return code, checks, out


def _failed(checks) -> dict[str, dict]:
    return {k: c for k, c in checks.items() if c["status"] == "fail"}


def _one_failure(capsys, live, check_id, *extra, env=None, status="fail"):
    """Exactly the expected check fails (or warns) and carries a fix; nothing else fails."""
    code, checks, _ = _run(capsys, live, *extra, env=env)
    flagged = {k: c for k, c in checks.items() if c["status"] == status}
    assert check_id in flagged, f"{check_id} not flagged {status}: {json.dumps(checks, indent=1)}"
    others = set(_failed(checks)) - {check_id}
    assert not others, f"unexpected failures: {others}"
    assert flagged[check_id]["fix"], "a flagged check must say how to fix it"
    assert code == (1 if status == "fail" else 0)
    return flagged[check_id]


def test_a_correct_setup_passes_clean(live, capsys):
    code, checks, _ = _run(capsys, live)
    assert code == 0
    assert {c["status"] for c in checks.values()} == {"pass"}, checks
    for expected in ("price.pro", "product.pro.metadata", "price.enterprise", "webhook.endpoint",
                     "webhook.test_to_production", "portal.config_id", "clerk.instance", "clerk.jwt_template",
                     "app.reachable", "keys.STRIPE_SECRET_KEY", "keys.CLERK_PUBLISHABLE_KEY"):
        assert expected in checks


def test_the_table_form_lists_every_check_and_exits_0(live, capsys):
    code, out, err = preflight(capsys, live, *TEST_KEY)
    assert code == 0 and err == ""
    assert "price.pro" in out and "clerk.jwt_template" in out and "0 failed" in out


# ---- metadata.plan (guide: "Stripe Product Metadata is Case-Sensitive") --------------------------------
@pytest.mark.parametrize("metadata, said", [
    ({"plan": "Pro"}, "'Pro'"),
    ({"plan": " pro "}, "' pro '"),
    ({"plan": "", "tier": "pro"}, "a key named 'tier'"),
    ({"plan": ""}, "metadata.plan is missing"),
])
def test_product_metadata_that_is_not_exactly_the_tier_fails(live, capsys, metadata, said):
    sdk(live).products.update(live.world.products["pro"], params={"metadata": metadata})
    check = _one_failure(capsys, live, "product.pro.metadata")
    assert said in check["summary"]
    assert "plan=pro" in check["fix"]


# ---- prices (guide: "No such price", test price with live key) -------------------------------------------
def test_a_test_mode_price_id_with_a_live_key_fails(live, capsys):
    test = sdk(live, "test")
    product = test.products.create(params={"name": "Pro", "metadata": {"plan": "pro"}})
    price = test.prices.create(params={"product": product.id, "unit_amount": 2900, "currency": "usd",
                                       "recurring": {"interval": "month"}})
    check = _one_failure(capsys, live, "price.pro", env={**live.env, "STRIPE_PRICE_ID_PRO": price.id})
    assert "test-mode price" in check["summary"] and "live" in check["fix"]


def test_a_price_id_from_nowhere_fails(live, capsys):
    check = _one_failure(capsys, live, "price.pro", env={**live.env, "STRIPE_PRICE_ID_PRO": "price_1NoSuchThing"})
    assert "no such price" in check["summary"]


def test_an_archived_or_one_time_price_fails(live, capsys):
    s = sdk(live)
    one_time = s.prices.create(params={"product": live.world.products["pro"], "unit_amount": 2900,
                                       "currency": "usd"})
    check = _one_failure(capsys, live, "price.pro", env={**live.env, "STRIPE_PRICE_ID_PRO": one_time.id})
    assert "not recurring" in check["summary"]
    s.prices.update(live.world.prices["enterprise"], params={"active": False})
    code, checks, _ = _run(capsys, live)
    assert checks["price.enterprise"]["status"] == "fail" and "archived" in checks["price.enterprise"]["summary"]


def test_an_archived_product_fails(live, capsys):
    sdk(live).products.update(live.world.products["pro"], params={"active": False})
    check = _one_failure(capsys, live, "product.pro.active")
    assert "archived" in check["summary"]


# ---- settings against the code (the seed's ENTERPRISE/DEVELOPER mismatch) ---------------------------------
def test_a_price_variable_the_code_reads_but_the_settings_lack_fails(live, capsys):
    code, checks, _ = _run(capsys, live, "--tiers", "pro,developer")
    check = checks["settings.STRIPE_PRICE_ID_DEVELOPER"]
    assert check["status"] == "fail" and code == 1
    assert "STRIPE_PRICE_ID_ENTERPRISE, which the app does not read" in check["summary"]
    assert "wrangler secret put STRIPE_PRICE_ID_DEVELOPER" in check["fix"]
    assert checks["settings.STRIPE_PRICE_ID_ENTERPRISE"]["status"] == "warn"


@pytest.mark.parametrize("name", ["STRIPE_WEBHOOK_SECRET", "STRIPE_PORTAL_CONFIG_ID", "CLERK_SECRET_KEY"])
def test_a_missing_variable_fails(live, capsys, name):
    env = {k: v for k, v in live.env.items() if k != name}
    code, checks, _ = _run(capsys, live, "--clerk-key", live.env["CLERK_SECRET_KEY"], env=env)
    assert checks[f"settings.{name}"]["status"] == "fail" and code == 1


# ---- keys (guide: "Test vs Live Mode Keys") ----------------------------------------------------------------
def test_a_test_secret_key_in_a_live_deployment_fails(live, capsys):
    check = _one_failure(capsys, live, "keys.STRIPE_SECRET_KEY", env={**live.env,
                                                                      "STRIPE_SECRET_KEY": live.stripe.test_key})
    assert "test-mode key" in check["summary"] and "wrangler secret put STRIPE_SECRET_KEY" in check["fix"]


def test_a_test_clerk_publishable_key_fails(live, capsys):
    pk = live.env["CLERK_PUBLISHABLE_KEY"].replace("pk_live_", "pk_test_")
    code, checks, _ = _run(capsys, live, env={**live.env, "CLERK_PUBLISHABLE_KEY": pk})
    assert checks["keys.CLERK_PUBLISHABLE_KEY"]["status"] == "fail" and code == 1


def test_a_publishable_key_of_another_clerk_instance_fails(live, capsys):
    from tiersync.clerk_sim import ClerkSim
    from tiersync.clerk_sim.tokens import SigningKey
    other = ClerkSim(secret_key="sk_live_otherInstance0001", signing_key=SigningKey())
    server = other.serve(port=0).start()
    try:
        check = _one_failure(capsys, live, "clerk.instance", env={**live.env,
                                                                  "CLERK_PUBLISHABLE_KEY": other.publishable_key})
    finally:
        server.stop()
        other.close()
    assert "another Clerk instance" in check["summary"]


def test_a_webhook_secret_that_is_not_one_fails(live, capsys):
    check = _one_failure(capsys, live, "keys.STRIPE_WEBHOOK_SECRET",
                         env={**live.env, "STRIPE_WEBHOOK_SECRET": "sk_live_pastedTheWrongThing1"})
    assert "not a signing secret" in check["summary"]


# ---- webhook endpoints (guide Step 5, "Multiple webhooks firing") -----------------------------------------
def test_no_endpoint_for_the_app_fails(live, capsys):
    sdk(live).webhook_endpoints.delete(live.world.webhook_endpoint)
    check = _one_failure(capsys, live, "webhook.endpoint")
    assert "no enabled live-mode endpoint" in check["summary"] and "Step 5" in check["fix"]


def test_a_disabled_endpoint_fails_and_is_listed(live, capsys):
    sdk(live).webhook_endpoints.update(live.world.webhook_endpoint, params={"disabled": True})
    code, checks, _ = _run(capsys, live)
    assert checks["webhook.endpoint"]["status"] == "fail" and "disabled" in checks["webhook.endpoint"]["summary"]
    assert checks[f"webhook.disabled.{live.world.webhook_endpoint}"]["status"] == "warn"


def test_two_enabled_endpoints_for_the_app_fail(live, capsys):
    sdk(live).webhook_endpoints.create(params={"url": live.app_url + "/webhook/stripe/",
                                               "enabled_events": ["*"]})
    check = _one_failure(capsys, live, "webhook.endpoint")
    assert "2 enabled endpoints" in check["summary"] and "Multiple webhooks firing" in check["fix"]


def test_an_endpoint_missing_a_handled_event_fails(live, capsys):
    sdk(live).webhook_endpoints.update(live.world.webhook_endpoint, params={"enabled_events": [
        "checkout.session.completed", "customer.subscription.created", "customer.subscription.updated"]})
    check = _one_failure(capsys, live, f"webhook.events.{live.world.webhook_endpoint}")
    assert "customer.subscription.deleted" in check["summary"]


def test_another_enabled_endpoint_on_the_app_host_warns(live, capsys):
    sdk(live).webhook_endpoints.create(params={"url": live.app_url + "/api/stripe-hook",
                                               "enabled_events": ["customer.subscription.updated"]})
    code, checks, _ = _run(capsys, live)
    assert code == 0
    assert [c for k, c in checks.items() if k.startswith("webhook.extra.") and c["status"] == "warn"]


def test_a_test_endpoint_pointing_at_production_fails(live, capsys):
    sdk(live, "test").webhook_endpoints.create(params={"url": live.app_url + "/webhook/stripe",
                                                       "enabled_events": ["*"]})
    check = _one_failure(capsys, live, "webhook.test_to_production")
    assert "test events reach the live app" in check["summary"]


def test_without_a_test_key_the_test_endpoints_are_skipped_with_how(live, capsys):
    code, out, _ = preflight(capsys, live, "--json")
    check = {c["id"]: c for c in json.loads(out)["checks"]}["webhook.test_to_production"]
    assert check["status"] == "skip" and "--stripe-test-key" in check["fix"]


# ---- Customer Portal (guide Step 4) ---------------------------------------------------------------------
def test_a_test_mode_portal_configuration_id_fails(live, capsys):
    from tiersync.stripe_sim.resources import billing_portal
    test_conf = live.change(lambda ctx: billing_portal.activate_default_portal(
        ctx, default_return_url=live.app_url + "/"), mode="test")
    check = _one_failure(capsys, live, "portal.config_id",
                         env={**live.env, "STRIPE_PORTAL_CONFIG_ID": test_conf["id"]})
    assert "test-mode configuration" in check["summary"]


def test_a_deactivated_portal_configuration_fails(live, capsys):
    s = sdk(live)
    second = s.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}}, "default_return_url": live.app_url + "/"})
    s.billing_portal.configurations.update(second.id, params={"active": False})
    check = _one_failure(capsys, live, "portal.config_id", env={**live.env, "STRIPE_PORTAL_CONFIG_ID": second.id})
    assert "deactivated" in check["summary"]


# ---- Clerk JWT template (guide: "Check JWT template includes plan claim") ---------------------------------
def test_a_missing_jwt_template_fails(live, capsys):
    check = _one_failure(capsys, live, "clerk.jwt_template", env={**live.env, "CLERK_JWT_TEMPLATE": "api-v2"})
    assert "no JWT template 'api-v2'" in check["summary"] and "pan-api" in check["summary"]


def test_a_template_without_the_plan_claim_fails(live, capsys):
    live.clerk.create_jwt_template("bare", {"email": "{{user.primary_email_address}}"})
    check = _one_failure(capsys, live, "clerk.jwt_template", env={**live.env, "CLERK_JWT_TEMPLATE": "bare"})
    assert "no 'plan' claim" in check["summary"]


def test_the_template_name_is_read_from_wrangler_vars(live, capsys, tmp_path):
    env = {k: v for k, v in live.env.items() if k != "CLERK_JWT_TEMPLATE"}
    wrangler = tmp_path / "wrangler.toml"
    wrangler.write_text('name = "pan-api"\n[vars]\nCLERK_JWT_TEMPLATE = "nope"\n')
    code, checks, _ = _run(capsys, live, "--wrangler", str(wrangler), env=env)
    assert "'nope'" in checks["clerk.jwt_template"]["summary"] and code == 1


# ---- the deployed URL ---------------------------------------------------------------------------------
def test_an_app_url_where_nothing_answers_fails(live, capsys):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, out, err = preflight(capsys, live, "--json", "--url", dead)
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["app.reachable"]["status"] == "fail" and "did not answer" in checks["app.reachable"]["summary"]
    assert checks["webhook.endpoint"]["status"] == "fail"  # the endpoint posts elsewhere


# ---- delivery history (Verification Checklist: "Webhook logs show successful deliveries") -----------------
def test_events_the_app_never_received_fail(live, capsys):
    import time
    s = sdk(live)
    # the deployed secret is no longer the endpoint's (rolled), and the event is 15 minutes old
    live.stripe.webhook_secrets[live.world.webhook_endpoint] = [{"secret": "whsec_rolled0000", "expires_at": None}]
    live.stripe.clock.freeze(int(time.time()) - 900)
    try:
        customer = s.customers.create(params={"email": "late@example.com"})
        s.subscriptions.create(params={"customer": customer.id, "items": [{"price": live.world.prices["pro"]}],
                                       "payment_behavior": "default_incomplete"})
    finally:
        live.stripe.clock.reset()
    check = _one_failure(capsys, live, "webhook.deliveries")
    assert "customer.subscription.created" in check["summary"] and "resend" in check["fix"]
