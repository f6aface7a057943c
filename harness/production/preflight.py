"""`tiersync preflight`: the seed guide's go-live checklist (Steps 1-8, "Common Issues", "Verification
Checklist") as one read-only audit of the real Stripe account, the Clerk instance, the app's settings and
the deployed URL. Exit 0: nothing failed; 1: something failed; 2: the audit could not run (one line)."""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from urllib.parse import urlsplit

import httpx

from ..profile_load import ProfileError
from .clerk_audit import CLERK_API, ClerkReader, instance_check, template_check
from .expectations import AppExpectations, load_expectations
from .keys import key_checks, key_mode, settings_checks
from .report import FAIL, PASS, SKIP, WARN, Check, Redactor, exit_code, render_json, render_table
from .settings import SettingsError, add_settings_arguments, settings_from
from .stripe_audit import (
    STRIPE_API,
    AuditAborted,
    client,
    delivery_checks,
    list_all,
    portal_checks,
    test_endpoints_check,
    tier_checks,
    webhook_checks,
)


def add_commands(sub):
    p = sub.add_parser("preflight", help="audit the live Stripe account, Clerk instance, app settings and URL "
                       "(read-only)", description=__doc__)
    p.add_argument("--url", help="the deployed app's base URL (https://your-worker.workers.dev)")
    add_settings_arguments(p)
    p.add_argument("--profile", help="the app profile (default: ./tiersync.toml if any, else the seed's conventions)")
    p.add_argument("--tiers", help="the app's paid tiers, comma-separated (without a profile)")
    p.add_argument("--mode", choices=("live", "test"), default="live", help="the mode going live (default live)")
    p.add_argument("--stripe-key", default=os.environ.get("TIERSYNC_STRIPE_KEY"),
                   help="key to read Stripe with (env TIERSYNC_STRIPE_KEY; default: the app's STRIPE_SECRET_KEY); "
                   "a restricted read-only key is enough")
    p.add_argument("--stripe-test-key", default=os.environ.get("TIERSYNC_STRIPE_TEST_KEY"),
                   help="a test-mode key to find test endpoints aimed at production (env TIERSYNC_STRIPE_TEST_KEY)")
    p.add_argument("--clerk-key", default=os.environ.get("TIERSYNC_CLERK_KEY"),
                   help="Clerk secret key (env TIERSYNC_CLERK_KEY; default: the app's CLERK_SECRET_KEY)")
    p.add_argument("--stripe-api-base", default=STRIPE_API, help=f"default {STRIPE_API}")
    p.add_argument("--clerk-api-url", default=CLERK_API, help=f"default {CLERK_API}")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=cmd_preflight)


def _expectations(args, settings) -> AppExpectations:
    tiers = [t.strip().lower() for t in args.tiers.split(",") if t.strip()] if args.tiers else None
    return load_expectations(args.profile, settings, tiers)


def cmd_preflight(args) -> int:
    redact = Redactor([args.stripe_key, args.stripe_test_key, args.clerk_key])
    try:
        settings = settings_from(args, AppExpectations().all_env())
        redact.add_settings(settings.values)
        exp = _expectations(args, settings)
        checks = run_checks(args, settings, exp)
    except (SettingsError, AuditAborted, ProfileError) as exc:
        print(f"tiersync preflight: {redact(str(exc))}", file=sys.stderr)
        return 2
    notes = [f"expectations: {exp.source}; mode: {args.mode}; settings: {', '.join(settings.sources())}"]
    if args.json:
        print(render_json(checks, redact, command="preflight", mode=args.mode, expectations=exp.source))
    else:
        print(render_table(checks, redact, f"tiersync preflight ({args.mode} mode)", notes), end="")
    return exit_code(checks)


def run_checks(args, settings, exp: AppExpectations) -> list[Check]:
    mode = args.mode
    stripe_key = args.stripe_key or settings.get(exp.stripe_secret_env)
    clerk_key = args.clerk_key or settings.get(exp.clerk_secret_env)
    checks = settings_checks(settings, exp) + key_checks(settings, exp, mode, stripe_key, clerk_key)
    checks += stripe_checks(args, settings, exp, stripe_key)
    checks += clerk_checks(args, settings, exp, clerk_key)
    checks += app_checks(args.url, exp, mode)
    return checks


def stripe_checks(args, settings, exp, key) -> list[Check]:
    mode = args.mode
    if not key:
        return [Check("stripe.account", SKIP, "no Stripe key to read the account with",
                      "pass --stripe-key (a restricted read-only key) or set STRIPE_SECRET_KEY in the settings")]
    if key_mode(key) != mode:
        return [Check("stripe.account", SKIP, f"the Stripe key is not a {mode}-mode key: account not read")]
    sc = client(key, args.stripe_api_base)
    checks = tier_checks(sc, exp, settings, mode)
    if args.url:
        endpoints = list_all(lambda p: sc.v1.webhook_endpoints.list(params=p), "the webhook endpoints", "Webhook Endpoints")
        checks += webhook_checks(endpoints, args.url, exp, mode)
        if mode == "live" and args.stripe_test_key and key_mode(args.stripe_test_key) == "test":
            tc = client(args.stripe_test_key, args.stripe_api_base)
            test_eps = list_all(lambda p: tc.v1.webhook_endpoints.list(params=p), "the test-mode webhook endpoints",
                            "Webhook Endpoints")
            checks += test_endpoints_check(test_eps, args.url)
        elif mode == "live":
            checks.append(Check("webhook.test_to_production", SKIP, "test-mode endpoints not read",
                                "pass --stripe-test-key (restricted, read-only) to find test endpoints aimed "
                                "at production"))
    else:
        checks.append(Check("webhook.endpoint", SKIP, "no --url: the webhook endpoints cannot be matched to the app",
                            "pass --url https://your-app"))
    checks += delivery_checks(sc, exp, int(time.time()))
    checks += portal_checks(sc, exp, settings, mode)
    return checks


def clerk_checks(args, settings, exp, key) -> list[Check]:
    if not key:
        return [Check("clerk.instance", SKIP, "no Clerk secret key", "pass --clerk-key or set CLERK_SECRET_KEY")]
    if key_mode(key) != args.mode:
        return [Check("clerk.instance", SKIP, f"the Clerk key is not a {args.mode}-mode key: instance not read")]
    reader = ClerkReader(key, args.clerk_api_url)
    try:
        return [instance_check(reader, settings.get(exp.clerk_publishable_env), exp.clerk_publishable_env),
                template_check(reader, exp, settings)]
    finally:
        reader.close()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def app_checks(url: str | None, exp: AppExpectations, mode: str) -> list[Check]:
    """The deployed webhook URL answers, and refuses an unsigned request (nothing else is sent)."""
    if not url:
        return [Check("app.reachable", SKIP, "no --url given", "pass --url https://your-app")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AuditAborted(f"--url {url!r} is not an http(s) URL")
    checks = []
    if mode == "live" and parts.scheme != "https" and not _loopback(parts.hostname):
        checks.append(Check("app.https", FAIL, f"{url} is not HTTPS: Stripe delivers live events only over HTTPS",
                            "deploy behind HTTPS and use that URL for the endpoint"))
    target = url.rstrip("/") + exp.webhook_path
    try:
        response = httpx.post(target, content=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    except httpx.HTTPError as exc:
        return checks + [Check("app.reachable", FAIL, f"{target} did not answer ({type(exc).__name__})",
                               "check the deployed URL (wrangler deploy prints it) and that the app is up")]
    code = response.status_code
    if code in (404, 405):
        checks.append(Check("app.reachable", FAIL, f"{target} answers {code}: no webhook handler at this path",
                            f"point the endpoint at the path the app serves (expected {exp.webhook_path})"))
    elif 200 <= code < 300:
        checks.append(Check("app.reachable", FAIL, f"{target} answered {code} to an unsigned request: it does "
                            "not verify signatures", "verify Stripe-Signature with the endpoint's secret "
                            "(constructEvent) before anything else"))
    elif code >= 500:
        checks.append(Check("app.reachable", WARN, f"{target} answered {code} to an unsigned request (expected "
                            "400)", "check the logs (wrangler tail): a missing STRIPE_WEBHOOK_SECRET answers 500"))
    else:
        checks.append(Check("app.reachable", PASS, f"{target} is up and refuses an unsigned request ({code})"))
    return checks
