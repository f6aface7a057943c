"""`tiersync smoke`: the command line around smoke.py (probes) and journey.py (`--journey`)."""

from __future__ import annotations

import os
import sys

from ..profile_load import ProfileError
from .expectations import AppExpectations, load_expectations
from .keys import key_mode
from .report import Redactor, exit_code, render_json, render_table
from .settings import SettingsError, add_settings_arguments, settings_from
from .smoke import Prober, TargetUnreachable, signature_probes, signed_probes


def add_commands(sub):
    p = sub.add_parser("smoke", help="probe the deployed webhook receiver (signatures, latency, no 5xx)",
                       description="Probe a deployed receiver without touching a real customer; --journey adds "
                       "a full purchase with a 100%%-off code, then cancellation (cleaned up afterwards).")
    p.add_argument("--target", required=True, help="the deployed app's base URL")
    p.add_argument("--webhook-path", help="default: the profile's, else /webhook/stripe")
    p.add_argument("--profile", help="the app profile (default: ./tiersync.toml if any, else the seed's conventions)")
    p.add_argument("--webhook-secret", default=os.environ.get("TIERSYNC_WEBHOOK_SECRET"),
                   help="the endpoint's whsec_ secret (env TIERSYNC_WEBHOOK_SECRET; default: the settings' "
                   "STRIPE_WEBHOOK_SECRET)")
    p.add_argument("--other-mode-secret", default=os.environ.get("TIERSYNC_OTHER_MODE_SECRET"),
                   help="the other mode's endpoint secret, which the deployment must refuse "
                   "(env TIERSYNC_OTHER_MODE_SECRET)")
    add_settings_arguments(p)
    p.add_argument("--mode", choices=("live", "test"), help="the mode of the events sent (default: the mode of "
                   "the settings' STRIPE_SECRET_KEY, else live)")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    from .journey import add_journey_arguments
    add_journey_arguments(p)
    p.set_defaults(func=cmd_smoke)


def cmd_smoke(args) -> int:
    redact = Redactor([args.webhook_secret, args.other_mode_secret, getattr(args, "stripe_key", None),
                       getattr(args, "clerk_key", None)])
    try:
        settings = settings_from(args, AppExpectations().all_env(), required=False)
        exp = load_expectations(args.profile, settings, [args.tier] if args.tier else None)
    except (SettingsError, ProfileError) as exc:
        return _fail(redact, str(exc))
    redact.add_settings(settings.values)
    secret = args.webhook_secret or settings.get(exp.webhook_secret_env)
    if not secret or not secret.startswith("whsec_"):
        return _fail(redact, "no webhook signing secret: pass --webhook-secret whsec_... (or env "
                     "TIERSYNC_WEBHOOK_SECRET, or settings holding STRIPE_WEBHOOK_SECRET)")
    if not args.target.startswith(("http://", "https://")):
        return _fail(redact, f"--target {args.target!r} is not an http(s) URL")
    mode = args.mode or key_mode(settings.get(exp.stripe_secret_env)) or "live"
    url = args.target.rstrip("/") + (args.webhook_path or exp.webhook_path)
    if args.journey:
        from .journey import refuse_unless_confirmed
        refusal = refuse_unless_confirmed(args, settings, mode)
        if refusal:
            return _fail(redact, refusal)
    prober = Prober(url)
    try:
        checks = signature_probes(prober, secret, args.other_mode_secret, mode == "live")
        more, seconds = signed_probes(prober, secret, mode == "live")
        checks += more
    except TargetUnreachable as exc:
        return _fail(redact, str(exc))
    finally:
        prober.close()
    interrupted = False
    if args.journey:
        from .journey import run_journey
        more, interrupted = run_journey(args, settings, exp, mode, redact)
        checks += more
    latency = None if seconds is None else round(seconds * 1000)
    if args.json:
        print(render_json(checks, redact, command="smoke", target=url, mode=mode, latency_ms=latency))
    else:
        print(render_table(checks, redact, f"tiersync smoke {url} ({mode} mode)",
                           [f"signed event answered in {latency} ms"]), end="")
    return 130 if interrupted else exit_code(checks)


def _fail(redact: Redactor, message: str) -> int:
    print(f"tiersync smoke: {redact(message)}", file=sys.stderr)
    return 2
