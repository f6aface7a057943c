"""Checks that need no network: each key's mode, the keys agreeing with each other, and the settings
holding every variable the app's code reads."""

from __future__ import annotations

import re

from .expectations import PRICE_PREFIX, AppExpectations
from .report import FAIL, PASS, WARN, Check, masked_key
from .settings import AppSettings

_KEY = re.compile(r"^(sk|rk|pk)_(test|live)_\S+$")


def key_mode(value: str | None) -> str | None:
    m = _KEY.match(value or "")
    return m.group(2) if m else None


def settings_checks(settings: AppSettings, exp: AppExpectations) -> list[Check]:
    checks = []
    if not exp.paid_tiers:
        checks.append(Check("settings.tiers", FAIL, f"no paid tier known ({exp.source}): no {PRICE_PREFIX}* "
                            "variable in the settings", "give the app profile (--profile) or --tiers pro,..."))
    read_by_app = set(exp.all_env())
    unread = [n for n in settings.values if n.startswith(PRICE_PREFIX) and n not in read_by_app]
    for name in exp.required_env():
        if settings.get(name):
            continue
        hint = f"; the settings have {', '.join(unread)}, which the app does not read" \
            if name.startswith(PRICE_PREFIX) and unread else ""
        checks.append(Check(f"settings.{name}", FAIL, f"the app reads {name} but the settings lack it{hint}",
                            f"wrangler secret put {name} (or add it to the deployed environment)"))
    for name in unread:
        checks.append(Check(f"settings.{name}", WARN, f"{name} is set ({masked_key(settings.get(name))} in "
                            f"{settings.where(name)}) but no tier of the app reads it",
                            "rename it to the variable the code reads, or remove it"))
    if not any(c.id.startswith("settings.") and c.status == FAIL for c in checks):
        checks.append(Check("settings.present", PASS, f"all {len(exp.required_env())} variables the app reads "
                            f"are set ({', '.join(settings.sources()) or 'no source'})"))
    return checks


def key_checks(settings: AppSettings, exp: AppExpectations, mode: str, stripe_key: str | None,
               clerk_key: str | None) -> list[Check]:
    """Every key in `mode`; publishable keys of the same mode as their secret keys."""
    checks = []
    named = [(exp.stripe_secret_env, settings.get(exp.stripe_secret_env), ("sk", "rk")),
             (exp.stripe_publishable_env, settings.get(exp.stripe_publishable_env), ("pk",)),
             (exp.clerk_secret_env, settings.get(exp.clerk_secret_env), ("sk",)),
             (exp.clerk_publishable_env, settings.get(exp.clerk_publishable_env), ("pk",))]
    for name, value, kinds in named:
        if value is None:
            continue  # required ones are reported missing by settings_checks
        found = key_mode(value)
        if found is None or value.split("_", 1)[0] not in kinds:
            want = " or ".join(f"{k}_{mode}_" for k in kinds)
            checks.append(Check(f"keys.{name}", FAIL, f"{name} ({masked_key(value)}) is not a {want}... key",
                                f"set {name} to the {mode} key from the Dashboard's API keys page"))
        elif found != mode:
            checks.append(Check(f"keys.{name}", FAIL, f"{name} is a {found}-mode key ({masked_key(value)}); "
                                f"this is a {mode}-mode check", f"wrangler secret put {name} with the {mode} key "
                                "(guide Step 3)"))
        else:
            checks.append(Check(f"keys.{name}", PASS, f"{name}: {mode} mode ({masked_key(value)})"))
    for label, value in (("the Stripe key used for this audit", stripe_key),
                         ("the Clerk key used for this audit", clerk_key)):
        if value is not None and key_mode(value) != mode:
            checks.append(Check("keys.audit", FAIL, f"{label} ({masked_key(value)}) is not a {mode}-mode key: "
                                f"the {mode}-mode account cannot be read with it",
                                f"pass a {mode}-mode key (--stripe-key / --clerk-key)"))
    secret = settings.get(exp.webhook_secret_env)
    if secret is not None and not secret.startswith("whsec_"):
        checks.append(Check(f"keys.{exp.webhook_secret_env}", FAIL, f"{exp.webhook_secret_env} "
                            f"({masked_key(secret)}) is not a signing secret", "copy the endpoint's whsec_... secret "
                            "(Webhooks > your endpoint > Signing secret; guide Step 6)"))
    return checks
