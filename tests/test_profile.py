"""The app profile: what a valid one says, and a clear error (file, field, what was found) for each kind of
bad input, before anything runs."""

from __future__ import annotations

import tomllib

import pytest

from tiersync.profile import NEEDS, resolve_pointer
from tiersync.profile_init import SEED_PROFILE, write_profile
from tiersync.profile_load import ProfileError, find_profile, load_profile, parse_profile, reference_profile

MINIMAL = """
[[tiers]]
name = "hobby"
limit = 3

[[tiers]]
name = "team"
limit = "unlimited"
price_env = "PRICE_TEAM"
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ProfileError) as info:
        parse_profile(tomllib.loads(text), "tiersync.toml")
    assert str(info.value).startswith("tiersync.toml:")
    return info.value.problems


def test_minimal_profile_takes_the_seed_defaults():
    p = parse_profile(tomllib.loads(MINIMAL))
    assert p.free_tier == "hobby" and [t.name for t in p.paid_tiers] == ["team"]
    assert p.limit_of("hobby") == 3 and p.limit_of("team") is None
    assert p.tier("team").plan_value == "team"
    assert p.tier_source.kind == "clerk_metadata" and p.tier_source.key == "plan"
    assert p.env.stripe_secret_key == "STRIPE_SECRET_KEY" and p.env.clerk_jwt_key == ""
    assert p.webhook.path == "/webhook/stripe"
    assert p.roles() == {"free": "hobby", "paid": "team", "top": "team", "other_paid": None,
                         "limited_paid": None, "unlimited": "team"}


def test_unknown_key_is_named_with_a_suggestion():
    found = problems_of(MINIMAL.replace('price_env = "PRICE_TEAM"', 'price_env = "PRICE_TEAM"\npricee = 1')
                        + "\ncolour = 1\n")
    assert "tiers[1] (team).pricee: unknown key 'pricee', did you mean 'price_env'?" in found
    assert any(p.startswith("tiers[1] (team).colour: unknown key") or p.startswith("colour: unknown key")
               for p in found)


def test_unknown_key_in_a_nested_table():
    found = problems_of(MINIMAL + '\n[api.metered]\npath = "/api/data"\nlimit_status = 403\nmethd = "GET"\n')
    assert found == ["api.metered.methd: unknown key 'methd', did you mean 'method'?"]


def test_paid_tier_without_price_variable():
    found = problems_of(MINIMAL.replace('price_env = "PRICE_TEAM"', ""))
    assert found == ["tiers[1] (team): a paid tier needs price_env, the env variable that carries its price id "
                     "(found none)"]


def test_bad_limit_says_what_was_found():
    found = problems_of(MINIMAL.replace('limit = "unlimited"', 'limit = "lots"'))
    assert found == ['tiers[1] (team).limit: a limit is a number of requests (0 or more) or "unlimited" '
                     "(found 'lots')"]


def test_json_pointer_without_slash():
    found = problems_of(MINIMAL + '\n[api.usage]\npath = "/api/usage"\nused = "usageCount"\nlimit = "/limit"\n')
    assert found == ["api.usage.used: not a JSON pointer (found 'usageCount'); a pointer starts with '/', "
                     "e.g. '/usageCount'"]


def test_several_problems_reported_at_once():
    found = problems_of(MINIMAL.replace('limit = 3', 'limit = -1') + '\n[webhook]\npath = "hooks"\n')
    assert len(found) == 2
    assert any("tiers[0] (hobby).limit" in p and "(found -1)" in p for p in found)
    assert any(p.startswith("webhook.path: the webhook path starts with '/'") for p in found)


def test_free_tier_must_be_a_tier_and_jwt_source_needs_its_template():
    assert problems_of('free_tier = "basic"\n' + MINIMAL) == [
        "free_tier 'basic' is not a tier (tiers: hobby, team)"]
    found = problems_of(MINIMAL + '\n[tier_source]\nkind = "jwt_claim"\ntemplate = "pan-api"\n')
    assert found == ["tier_source.template 'pan-api' is not among auth.jwt_templates: add it with its claims"]


def test_token_template_must_be_declared():
    found = problems_of(MINIMAL + '\n[auth]\ntoken_template = "pan-api"\n')
    assert len(found) == 1 and found[0].startswith("auth: token_template 'pan-api' is not among jwt_templates")


def test_env_names_are_checked():
    assert problems_of(MINIMAL + '\n[env]\nport = "MY PORT"\n') == [
        "env.port: not an environment variable name (found 'MY PORT')"]


def test_not_toml_and_unreadable_file(tmp_path):
    bad = tmp_path / "tiersync.toml"
    bad.write_text("[[tiers]\nname=", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"tiersync.toml: not valid TOML"):
        load_profile(bad)
    with pytest.raises(ProfileError, match=r"missing.toml: cannot read"):
        load_profile(tmp_path / "missing.toml")


def test_init_writes_a_profile_that_loads(tmp_path):
    path = write_profile(tmp_path / "tiersync.toml")
    assert find_profile(tmp_path) == path
    p = load_profile(path)
    assert p.tier_names == ["free", "pro", "developer"]
    assert [p.limit_of(t) for t in p.tier_names] == [6, 10, None]
    assert [t.price_env for t in p.paid_tiers] == ["STRIPE_PRICE_ID_PRO", "STRIPE_PRICE_ID_DEVELOPER"]
    assert (p.api.usage.used, p.api.usage.limit, p.api.usage.tier) == ("/usageCount", "/limit", "/plan")
    assert p.api.metered.path == "/api/data" and p.api.metered.limit_status == 403
    assert p.auth.token_template == "pan-api" and p.env.values == {"CLERK_JWT_TEMPLATE": "pan-api"}
    assert p.env.stripe_api_base == "" and "# " in SEED_PROFILE  # commented for the user
    with pytest.raises(FileExistsError):
        write_profile(path)


def test_reference_profile_describes_the_reference_receiver():
    p = reference_profile()
    assert p.tier_names == ["free", "pro", "enterprise"]
    assert p.tier_source.kind == "http" and p.tier_source.path == "/api/me"
    assert p.api.usage.unlimited_value is None and p.api.metered.limit_status == 429
    assert p.lacks("trials") is None and p.lacks("two_paid_tiers") is None


def test_needs_say_why_an_app_cannot_play_a_scenario():
    p = parse_profile(tomllib.loads(MINIMAL))
    assert p.lacks("trials") == "the app does not offer trials (features.trials in its profile)"
    assert p.lacks("usage") == "the app's profile has no api.usage call"
    assert p.lacks("two_paid_tiers") == "the app has one paid tier"
    assert p.lacks("unlimited_tier") is None
    with pytest.raises(KeyError):
        p.lacks("teleportation")
    assert set(NEEDS) >= {"trials", "portal", "checkout", "usage", "metered"}


def test_resolve_pointer():
    doc = {"usage": {"count": 3, "a/b": [1, 2]}, "plan": "pro"}
    assert resolve_pointer(doc, "/usage/count") == 3
    assert resolve_pointer(doc, "/usage/a~1b/1") == 2
    assert resolve_pointer(doc, "") is doc
    with pytest.raises(KeyError) as info:
        resolve_pointer(doc, "/usage/used")
    assert info.value.args[0] == "used"


def test_init_command_writes_and_refuses_to_overwrite(tmp_path, capsys):
    from tiersync.cli import main
    path = tmp_path / "tiersync.toml"
    assert main(["init", str(path)]) == 0
    assert load_profile(path).name == "plug-saas" and "tiersync run --profile" in capsys.readouterr().out
    path.write_text("# mine\n" + path.read_text())
    assert main(["init", str(path)]) == 2
    assert "exists; use --force" in capsys.readouterr().out and path.read_text().startswith("# mine")
    assert main(["init", str(path), "--force"]) == 0 and path.read_text() == SEED_PROFILE


def test_world_and_env_follow_the_seed_profile():
    from tiersync.stack import Stack
    profile = parse_profile(tomllib.loads(SEED_PROFILE))
    with Stack(receiver_port=None, profile=profile) as stack:
        world = stack.world
        assert sorted(world.prices) == ["developer", "pro"]
        ctx = stack.stripe_sim.context("test")
        assert ctx.find("product", world.products["developer"])["metadata"] == {"plan": "developer"}
        assert ctx.find("price", world.prices["pro"])["unit_amount"] == 2900
        env = stack.app_env("http://127.0.0.1:8799")
        assert env["STRIPE_PRICE_ID_DEVELOPER"] == world.prices["developer"]
        assert env["STRIPE_PRICE_ID_PRO"] == world.prices["pro"] and env["CLERK_JWT_TEMPLATE"] == "pan-api"
        assert env["CLERK_SECRET_KEY"] == stack.clerk_sim.secret_key
        assert not {"STRIPE_API_BASE", "CLERK_API_URL", "PORT", "STRIPE_PRICE_ID_ENTERPRISE"} & set(env)
        templates = {t["name"]: t for t in stack.clerk_sim.backend.list_templates()}
        assert templates["pan-api"]["claims"] == {"plan": "{{user.public_metadata.plan}}"}
        # a scenario changes the template and a product's plan; the world is put back as the profile says
        stack.clerk_sim.backend.update_template(templates["pan-api"]["id"], {"name": "pan-api", "claims": {"plan": "x"}})
        ctx.find("product", world.products["pro"])["metadata"] = {"plan": "Pro"}
        stack.restore_world()
        again = {t["name"]: t for t in stack.clerk_sim.backend.list_templates()}
        assert again["pan-api"]["claims"] == {"plan": "{{user.public_metadata.plan}}"}
        ctx = stack.stripe_sim.context("test")
        assert ctx.find("product", world.products["pro"])["metadata"] == {"plan": "pro"}
        stack.seed_for_app("http://127.0.0.1:8799", "http://127.0.0.1:8799/webhook/stripe")
        assert "pan-api" in {t["name"] for t in stack.clerk_sim.backend.list_templates()}


def test_the_reference_receiver_is_served_only_with_its_own_profile():
    from tiersync.stack import Stack
    with pytest.raises(ValueError, match="serves no receiver"):
        Stack(profile=parse_profile(tomllib.loads(SEED_PROFILE))).start()


def test_env_values_and_price_env_names_are_checked():
    found = problems_of(MINIMAL.replace('"PRICE_TEAM"', '"PRICE-TEAM"') + '\n[env.values]\n"A B" = "x"\n')
    assert "tiers[1] (team).price_env: not an environment variable name (found 'PRICE-TEAM')" in found
    assert "env.values: not an environment variable name (found 'A B')" in found


def test_serve_with_a_profile_seeds_its_world_and_prints_the_apps_env(tmp_path):
    import json
    import subprocess
    import sys
    path = write_profile(tmp_path / "tiersync.toml")
    proc = subprocess.Popen([sys.executable, "-m", "tiersync.cli", "serve", "--profile", str(path), "--json",
                             "--port", "0", "--clerk-port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)
    assert sorted(info["stripe"]["world"]["prices"]) == ["developer", "pro"] and "receiver" not in info
    env = info["app"]["env"]
    assert env["STRIPE_PRICE_ID_DEVELOPER"] == info["stripe"]["world"]["prices"]["developer"]
    assert env["CLERK_JWT_TEMPLATE"] == "pan-api" and not {"STRIPE_WEBHOOK_SECRET", "FRONTEND_URL"} & set(env)
