"""An app that is not our reference receiver (other tier names, limits, env names, paths, usage answer and
limit status: tests/engine/other_tiers_app.py) judged through its profile, by command and on a running stack;
a pointer that matches nothing in its real answers stops the run before any scenario; a planted bug is
still caught, stated through the profile's tier names."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from tiersync.cli import main
from tiersync.profile_load import load_profile
from tiersync.stack import Stack

APP = Path(__file__).with_name("other_tiers_app.py")
PROFILE = """
name = "other-tiers"

[[tiers]]
name = "basic"
limit = 3

[[tiers]]
name = "plus"
limit = 7
price_env = "PRICE_PLUS"
plan = "tier-plus"

[[tiers]]
name = "max"
limit = "unlimited"
price_env = "PRICE_MAX"
plan = "tier-max"

[tier_source]
kind = "clerk_metadata"
key = "level"

[api.checkout]
path = "/billing/start"
body = { plan = "{tier}" }
session = "/checkout/redirect"

[api.usage]
path = "/v2/me/quota"
used = "/quota/count"
limit = "/quota/max"
tier = "/level"
unlimited = "none"

[api.metered]
path = "/v2/calls"
limit_status = 402

[webhook]
path = "/hooks/stripe"

[env]
stripe_secret_key = "PAY_KEY"
stripe_webhook_secret = "PAY_HOOK_SECRET"
stripe_api_base = "PAY_BASE"
stripe_portal_config = ""
clerk_secret_key = "AUTH_KEY"
clerk_publishable_key = ""
clerk_api_url = "AUTH_URL"
clerk_frontend_url = ""
clerk_jwt_key = "AUTH_JWT_KEY"
frontend_url = "SITE"
port = "PORT_TO_USE"
"""
SCENARIOS = {
    "upgrade.yaml": """
        name: other-upgrade-and-limit
        catches: paying for plus leaves the user on basic, or plus is not capped at its own limit
        steps:
          - user: ada
          - checkout: {user: ada, tier: plus}
          - expect: {tier: {user: ada, is: plus}, within: 5}
          - requests: {user: ada, count: 8}
          - expect: {responses: {ok: 7, limited: 1}, usage: {user: ada, used: 7, limit: 7, tier: plus}}
        """,
    "free.yaml": """
        name: other-free-limit
        catches: the free tier's limit not enforced
        steps:
          - user: bob
          - requests: {user: bob, count: 4}
          - expect:
              responses: {ok: 3, limited: 1}
              usage: {user: bob, used: 3, limit: "${profile.limits.basic}", tier: "${profile.tiers.free}"}
        """,
    "cancel.yaml": """
        name: other-unlimited-then-cancel
        catches: the unlimited tier refused, or a cancelled customer keeps it
        steps:
          - user: cy
          - checkout: {user: cy, tier: max}
          - requests: {user: cy, count: 9}
          - expect: {responses: {ok: 9, limited: 0}, usage: {user: cy, used: 9, limit: null}}
          - cancel: cy
          - expect: {tier: {user: cy, is: basic}, within: 5}
        """,
}


def _setup(tmp_path, profile_text=PROFILE):
    (tmp_path / "tiersync.toml").write_text(profile_text)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name, text in SCENARIOS.items():
        (folder / name).write_text(textwrap.dedent(text))
    return str(tmp_path / "tiersync.toml"), str(folder)


def _command(env: str = "") -> str:
    return f"{env} {sys.executable} {APP}".strip()


def test_other_app_passes_through_its_profile(tmp_path, capsys):
    profile, folder = _setup(tmp_path)
    code = main(["run", folder, "--profile", profile, "--target-cmd", _command(), "--json", str(tmp_path / "r.json")])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert code == 0, out
    assert "3 passed, 0 failed" in out
    steps = [s for sc in json.loads((tmp_path / "r.json").read_text())["scenarios"] for s in sc["steps"]]
    urls = {x["url"] for s in steps for x in s.get("exchanges", [])}
    assert "/billing/start" in urls and any(u.startswith("/v2/calls x") for u in urls)
    assert not any("/api/" in u for u in urls)  # nothing of the reference receiver's API was called


def test_a_real_bug_is_reported_in_the_apps_terms(tmp_path, capsys):
    profile, folder = _setup(tmp_path)
    code = main(["run", folder, "--profile", profile, "-k", "cancel",
                 "--target-cmd", _command("BUG_KEEPS_TIER_AFTER_CANCEL=1")])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert code == 1
    assert "tier of cy is 'max', expected 'basic'" in out


def test_pointer_matching_nothing_stops_the_run_first(tmp_path, capsys):
    profile, folder = _setup(tmp_path, PROFILE.replace('used = "/quota/count"', 'used = "/quota/used"'))
    code = main(["run", folder, "--profile", profile, "--target-cmd", _command()])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert code == 2
    assert "api.usage.used: '/quota/used' matches nothing in the app's answer to GET /v2/me/quota" in out
    assert "passed" not in out  # no scenario ran


def test_profile_without_a_target_is_refused(tmp_path):
    profile, folder = _setup(tmp_path)
    try:
        main(["run", folder, "--profile", profile])
    except SystemExit as exc:
        assert "--profile describes your app" in str(exc)
    else:
        raise AssertionError("a profile without a target ran the reference receiver")


def test_bad_profile_exits_2_naming_the_field(tmp_path, capsys):
    profile, folder = _setup(tmp_path, PROFILE.replace('price_env = "PRICE_MAX"\n', ""))
    assert main(["run", folder, "--profile", profile, "--target-cmd", _command()]) == 2
    assert "tiers[2] (max): a paid tier needs price_env" in " ".join(capsys.readouterr().out.split())


def test_on_a_running_stack_seeded_for_the_profile(tmp_path, capsys):
    profile_path, folder = _setup(tmp_path)
    profile = load_profile(profile_path)
    with Stack(receiver_port=None, profile=profile) as stack:
        info = stack.info()
        assert sorted(info["stripe"]["world"]["prices"]) == ["max", "plus"]
        assert info["stripe"]["world"]["plans"] == {"plus": "tier-plus", "max": "tier-max"}
        (tmp_path / "stack.json").write_text(json.dumps(info))
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = stack.app_env(f"http://127.0.0.1:{port}", port=port)
        assert {"PAY_KEY", "PAY_BASE", "AUTH_KEY", "AUTH_URL", "AUTH_JWT_KEY", "PRICE_PLUS", "PRICE_MAX",
                "SITE", "PORT_TO_USE"} <= set(env) and "STRIPE_SECRET_KEY" not in env
        env["PAY_HOOK_SECRET"] = "whsec_" + "othertiersappsecret" * 2
        proc = subprocess.Popen([sys.executable, str(APP)], env={**env, "PATH": "/usr/bin:/bin"})
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/v2/me/quota", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            code = main(["run", folder, "--profile", profile_path, "--stack", str(tmp_path / "stack.json"),
                         "--target", f"http://127.0.0.1:{port}", "--webhook-secret", env["PAY_HOOK_SECRET"]])
        finally:
            proc.terminate()
            proc.wait(10)
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert code == 0, out
    assert "3 passed, 0 failed" in out


def test_stack_for_the_reference_profile_refuses_another(tmp_path, capsys):
    profile_path, _ = _setup(tmp_path)
    with Stack(receiver_port=None) as stack:
        (tmp_path / "stack.json").write_text(json.dumps(stack.info()))
        code = main(["run", "--profile", profile_path, "--stack", str(tmp_path / "stack.json"),
                     "--target", "http://127.0.0.1:9", "--webhook-secret", "whsec_" + "x" * 32])
    assert code == 2
    assert "no price for tier plus, max" in " ".join(capsys.readouterr().out.split())


def test_tier_read_from_a_jwt_claim(tmp_path, capsys):
    jwt_source = PROFILE.replace('[tier_source]\nkind = "clerk_metadata"\nkey = "level"\n', textwrap.dedent("""
        [tier_source]
        kind = "jwt_claim"
        template = "app-token"
        claim = "level"

        [auth]
        token_template = "app-token"

        [[auth.jwt_templates]]
        name = "app-token"
        claims = { level = "{{user.public_metadata.level}}" }
        """))
    assert "jwt_claim" in jwt_source
    profile, folder = _setup(tmp_path, jwt_source)
    ok = main(["run", folder, "--profile", profile, "--target-cmd", _command()])
    buggy = main(["run", folder, "--profile", profile, "-k", "cancel",
                  "--target-cmd", _command("BUG_KEEPS_TIER_AFTER_CANCEL=1")])
    out = " ".join(capsys.readouterr().out.split())
    assert ok == 0 and "3 passed, 0 failed" in out
    assert buggy == 1 and "tier of cy is 'max', expected 'basic'" in out
