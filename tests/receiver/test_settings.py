"""Settings: every missing or unusable variable reported by name, all in one ConfigError; the CLI exits 2
with that message and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiersync.receiver.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "STRIPE_SECRET_KEY": "sk_test_51AbCdEfGhIjKlMnOp", "STRIPE_WEBHOOK_SECRET": "whsec_abcdefghijklmnop",
    "CLERK_SECRET_KEY": "sk_test_clerkabcdefghij", "STRIPE_PRICE_ID_PRO": "price_pro123",
    "STRIPE_PRICE_ID_ENTERPRISE": "price_ent456", "STRIPE_PORTAL_CONFIG_ID": "bpc_123",
    "CLERK_PUBLISHABLE_KEY": "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", "FRONTEND_URL": "https://app.example.com/",
}


def problems(env: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith("receiver configuration is not usable:")
    for p in info.value.problems:
        assert p in str(info.value)
    return info.value.problems


def test_good_env_reads_every_variable():
    s = Settings.from_env(GOOD)
    assert s.price_ids == {"pro": "price_pro123", "enterprise": "price_ent456"}
    assert s.stripe_mode == "test" and s.livemode is False
    assert s.frontend_url == "https://app.example.com"
    assert s.portal_config_id == "bpc_123" and s.past_due_keeps_plan is True
    assert Settings.from_env(s.env()).price_ids == s.price_ids  # env() round-trips


def test_empty_env_names_every_missing_variable_at_once():
    found = problems({})
    text = "\n".join(found)
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CLERK_SECRET_KEY", "STRIPE_PRICE_ID_PRO"):
        assert name in text
    assert len(found) == 4


def test_blank_values_count_as_missing():
    found = problems({**GOOD, "STRIPE_WEBHOOK_SECRET": "   ", "CLERK_SECRET_KEY": ""})
    assert found == ["STRIPE_WEBHOOK_SECRET is not set", "CLERK_SECRET_KEY is not set"]


def test_invalid_values_are_each_named_and_masked():
    env = {**GOOD, "STRIPE_SECRET_KEY": "pk_test_51AbCdEfGhIjKlMnOpQrSt", "STRIPE_WEBHOOK_SECRET": "we_123456789abcdef",
           "CLERK_SECRET_KEY": "clerk_secret_0123456789", "STRIPE_PRICE_ID_PRO": "prod_abc",
           "STRIPE_PORTAL_CONFIG_ID": "portal_1"}
    found = problems(env)
    joined = "\n".join(found)
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CLERK_SECRET_KEY", "STRIPE_PRICE_ID_PRO",
                 "STRIPE_PORTAL_CONFIG_ID"):
        assert sum(p.startswith(name) for p in found) == 1, (name, found)
    assert "pk_test_51AbCdEfGhIjKlMnOpQrSt" not in joined and "QrSt" in joined  # secrets only masked


def test_stripe_test_key_with_clerk_live_key_is_a_mode_mismatch():
    found = problems({**GOOD, "CLERK_SECRET_KEY": "sk_live_clerkabcdefghij"})
    assert any("STRIPE_SECRET_KEY is a test key but CLERK_SECRET_KEY is a live key" in p for p in found)
    assert any("CLERK_PUBLISHABLE_KEY" in p for p in found)  # pk_test_ with sk_live_ too


def test_live_keys_together_are_fine():
    s = Settings.from_env({**GOOD, "STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "CLERK_SECRET_KEY": "sk_live_clerkab",
                           "CLERK_PUBLISHABLE_KEY": "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"})
    assert s.livemode is True


def test_one_paid_tier_is_enough_but_none_is_not():
    env = {k: v for k, v in GOOD.items() if k != "STRIPE_PRICE_ID_ENTERPRISE"}
    assert Settings.from_env(env).price_ids == {"pro": "price_pro123"}
    del env["STRIPE_PRICE_ID_PRO"]
    assert any("STRIPE_PRICE_ID_PRO" in p for p in problems(env))


@pytest.mark.parametrize("value, expected", [("false", False), ("False", False), ("0", False), ("no", False),
                                             ("true", True), ("1", True), ("", True)])
def test_past_due_keeps_plan_flag(value, expected):
    assert Settings.from_env({**GOOD, "PAST_DUE_KEEPS_PLAN": value}).past_due_keeps_plan is expected


def test_authorized_parties_are_origins():
    assert Settings.from_env(GOOD).authorized_parties == ()
    got = Settings.from_env({**GOOD, "CLERK_AUTHORIZED_PARTIES": "https://app.example.com/, http://127.0.0.1:8787"})
    assert got.authorized_parties == ("https://app.example.com", "http://127.0.0.1:8787")
    assert got.env()["CLERK_AUTHORIZED_PARTIES"] == "https://app.example.com,http://127.0.0.1:8787"
    found = problems({**GOOD, "CLERK_AUTHORIZED_PARTIES": "app.example.com,https://x.io/path"})
    assert any(p.startswith("CLERK_AUTHORIZED_PARTIES (app.example.com)") for p in found)
    assert any(p.startswith("CLERK_AUTHORIZED_PARTIES (https://x.io/path)") for p in found)


def test_an_unreadable_flag_or_port_is_a_problem_not_a_silent_default():
    found = problems({**GOOD, "PAST_DUE_KEEPS_PLAN": "nope", "PORT": "eighty"})
    assert any(p.startswith("PAST_DUE_KEEPS_PLAN") for p in found)
    assert any(p.startswith("PORT") for p in found)


def run_cli(env: dict, timeout: float = 20) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "CLERK_"))}
    clean.update(env)
    return subprocess.run([sys.executable, "-m", "tiersync.receiver"], cwd=ROOT, env=clean, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_with_a_bad_env_exits_2_with_the_message_and_no_traceback():
    proc = run_cli({**GOOD, "STRIPE_SECRET_KEY": "", "CLERK_SECRET_KEY": "sk_live_clerkabcdefghij",
                    "PORT": "not-a-port", "RECEIVER_SKIP_REMOTE_CHECK": "1"})
    assert proc.returncode == 2, proc.stderr
    assert "receiver configuration is not usable" in proc.stderr
    assert "STRIPE_SECRET_KEY is not set" in proc.stderr and "PORT" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_admin_token_is_unset_by_default():
    assert Settings.from_env(GOOD).admin_token is None  # /admin/sync-errors is then closed
    assert Settings.from_env({**GOOD, "ADMIN_TOKEN": "adm_0123456789abcdef"}).admin_token == "adm_0123456789abcdef"
