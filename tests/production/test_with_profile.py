"""preflight and smoke read what the app expects from its profile (tiersync.toml) when there is one."""

from __future__ import annotations

import json

from .conftest import READ_ONLY_TEST, preflight, run_cli

PROFILE = '''
name = "live app"
[[tiers]]
name = "free"
limit = 5
[[tiers]]
name = "pro"
limit = 50
price_env = "STRIPE_PRICE_ID_PRO"
[[tiers]]
name = "enterprise"
limit = "unlimited"
price_env = "STRIPE_PRICE_ID_ENTERPRISE"
[auth]
token_template = "pan-api"
[[auth.jwt_templates]]
name = "pan-api"
claims = { plan = "{{user.public_metadata.plan}}" }
[env.values]
CLERK_JWT_TEMPLATE = "pan-api"
'''


def _checks(out):
    return {c["id"]: c for c in json.loads(out)["checks"]}


def test_a_profile_matching_the_setup_passes_clean(live, capsys, tmp_path):
    path = tmp_path / "tiersync.toml"
    path.write_text(PROFILE)
    code, out, err = preflight(capsys, live, "--json", "--profile", str(path), "--stripe-test-key", READ_ONLY_TEST)
    assert code == 0, out + err
    assert json.loads(out)["expectations"] == f"the app profile {path}"


def test_the_seed_profile_catches_the_seed_example_files_enterprise_variable(live, capsys, tmp_path):
    path = tmp_path / "tiersync.toml"
    assert run_cli(capsys, "init", str(path))[0] == 0
    code, out, err = preflight(capsys, live, "--json", "--profile", str(path))
    checks = _checks(out)
    assert code == 1
    developer = checks["settings.STRIPE_PRICE_ID_DEVELOPER"]
    assert developer["status"] == "fail"
    assert "STRIPE_PRICE_ID_ENTERPRISE, which the app does not read" in developer["summary"]


def test_the_profiles_tier_names_and_plan_values_are_checked(live, capsys, tmp_path):
    path = tmp_path / "tiersync.toml"
    path.write_text(PROFILE.replace('name = "pro"\nlimit = 50\n', 'name = "pro"\nlimit = 50\nplan = "pro_monthly"\n'))
    code, out, _ = preflight(capsys, live, "--json", "--profile", str(path))
    check = _checks(out)["product.pro.metadata"]
    assert check["status"] == "fail" and "'pro_monthly'" in check["summary"]


def test_a_broken_profile_stops_before_anything_is_read(live, capsys, tmp_path):
    path = tmp_path / "tiersync.toml"
    path.write_text(PROFILE.replace("price_env = \"STRIPE_PRICE_ID_PRO\"", "pricee_env = \"X\""))
    live.stripe.request_log.clear()
    code, out, err = preflight(capsys, live, "--profile", str(path))
    assert code == 2 and out == "" and "pricee_env" in err and "Traceback" not in err
    assert len(live.stripe.request_log) == 0


def test_smoke_takes_the_webhook_path_from_the_profile(live, capsys, tmp_path):
    path = tmp_path / "tiersync.toml"
    path.write_text(PROFILE + '[webhook]\npath = "/hooks/billing"\n')
    code, out, err = run_cli(capsys, "smoke", "--target", live.app_url, "--json", "--profile", str(path),
                             "--webhook-secret", live.world.webhook_secret)
    assert json.loads(out)["target"].endswith("/hooks/billing")
    assert _checks(out)["smoke.signed_event"]["status"] == "fail"  # nothing there: the reference app is elsewhere
