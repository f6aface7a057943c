"""`tiersync`: the command line.

  tiersync serve [--host H] [--port P] [--json] [--accept-any-key] [--key sk_test_...]
  tiersync demo
  tiersync sign PAYLOAD.json --secret whsec_... [--url URL] [--send] [faults]
  tiersync listen --forward-to URL [--api URL] [--events a,b] [--live]
  tiersync list [PATHS]      tiersync run [PATHS] [--target-cmd CMD | --stack F --target URL] [reports]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .stripe_sim.app import _KEY_SHAPE, DEFAULT_LIVE_KEY, DEFAULT_TEST_KEY

DEFAULT_STRIPE_PORT = 12111


def _parse_keys(values: list[str]) -> dict[str, str]:
    keys = {}
    for key in values:
        m = _KEY_SHAPE.match(key)
        if not m:
            raise SystemExit(f"tiersync: --key {key[:8]}…: not a Stripe secret key (sk_test_/sk_live_/rk_…)")
        keys[key] = m.group(2)
    return keys


def cmd_serve(args) -> int:
    from .tuning import for_serving

    for_serving()
    if args.stripe_only:
        return _serve_stripe_only(args, keys_from(args))
    if args.worker:
        from .worker.serve import serve_worker
        return serve_worker(args, keys_from(args), _print_stack, _wait_for_stop_signal)
    from .stack import Stack
    keys = keys_from(args)
    profile = None
    if args.profile:  # the world seeded for the user's app; the reference receiver has its own profile
        from .profile_load import ProfileError, load_profile
        try:
            profile = load_profile(args.profile)
        except ProfileError as exc:
            print(f"tiersync serve: the profile cannot be used: {exc}", file=sys.stderr)
            return 2
    stack = Stack(host=args.host, stripe_port=args.port, clerk_port=args.clerk_port,
                  receiver_port=None if args.no_receiver or profile else args.receiver_port, stripe_keys=keys,
                  accept_any_key=args.accept_any_key, database=args.database, profile=profile)
    stack.stripe_sim.webhooks.concurrency = args.webhook_concurrency
    set_failed_payments(stack.stripe_sim, args)
    try:
        stack.start()
    except OSError as exc:
        print(f"tiersync serve: cannot listen on {args.host}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    info = stack.info()
    info["stripe"]["accept_any_key"] = args.accept_any_key
    info["stripe"]["webhook_concurrency"] = args.webhook_concurrency
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        _print_stack(info)
    _wait_for_stop_signal()
    stack.stop()
    return 0


def set_failed_payments(sim, args):
    """`--failed-payments`: the account setting for subscriptions whose payment retries all failed."""
    if getattr(args, "failed_payments", None):
        sim.failed_payment_settings.update(test=args.failed_payments, live=args.failed_payments)


def _wait_for_stop_signal():
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _in_flight(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of deliveries in flight (1-64)")
    return int(text)


def keys_from(args) -> dict[str, str] | None:
    keys = _parse_keys(args.key) if args.key else None
    if keys is not None and not any(m == "test" for m in keys.values()):
        keys[DEFAULT_TEST_KEY] = "test"
    if keys is not None and not any(m == "live" for m in keys.values()):
        keys[DEFAULT_LIVE_KEY] = "live"
    return keys


def _serve_stripe_only(args, keys) -> int:
    """Only the Stripe simulator: no Clerk, no seeded world, no receiver (benchmarks, Stripe-only apps)."""
    from .server import ThreadedServer
    from .stripe_sim import StripeSim
    sim = StripeSim(keys, accept_any_key=args.accept_any_key)
    sim.webhooks.concurrency = args.webhook_concurrency
    set_failed_payments(sim, args)
    try:
        server = ThreadedServer(sim, host=args.host, port=args.port).start()
    except OSError as exc:
        print(f"tiersync serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    sim.public_url = server.url
    info = {"stripe": {"url": server.url, "api_base": server.url, "test_key": sim.test_key, "live_key": sim.live_key,
                       "accept_any_key": args.accept_any_key, "webhook_concurrency": args.webhook_concurrency}}
    print(json.dumps(info) if args.json else f"Stripe simulator {server.url}   test key {sim.test_key}   "
          f"live key {sim.live_key}\nCtrl-C to stop.", flush=True)
    _wait_for_stop_signal()
    server.stop()
    return 0


def _print_stack(info: dict):
    s, c = info["stripe"], info["clerk"]
    print(f"Stripe simulator   {s['url']}   test key {s['test_key']}   live key {s['live_key']}")
    print(f"Clerk simulator    {c['base_url']}   secret key {c['secret_key']}")
    world = s["world"]
    print(f"Seeded: prices {world['prices']}, portal {world['portal_config']}, "
          f"promotion code {world['promotion_code']} (100% off, once)")
    if "receiver" in info:
        r = info["receiver"]
        print(f"Reference receiver {r['url']}   (webhook endpoint {world['webhook_endpoint']} -> {r['webhook_url']})")
        print(f"  open {r['url']}/ in a browser to use the app")
    print(f'python: stripe.StripeClient(KEY, base_addresses={{"api": "{s["url"]}"}})')
    print("Ctrl-C to stop.", flush=True)


def cmd_demo(args) -> int:
    """The main job: the whole scenario catalog against the reference receiver on the simulators."""
    if args.story:
        from .demo import run_demo
        return run_demo()
    from .cli_run import cmd_run
    report = Path(args.html)
    report.parent.mkdir(parents=True, exist_ok=True)
    # `tiersync run` as its own parser reads it, so the demo follows every option `run` gains
    run_argv = ["run", "--seed", str(args.seed), "--html", str(report)] + (["-k", args.keyword] if args.keyword else [])
    code = cmd_run(build_parser().parse_args(run_argv))
    if args.no_browser:
        return code
    return max(code, _demo_journeys())


def _demo_journeys() -> int:
    """The browser journeys, in headless chromium, against a fresh stack."""
    import os

    from rich.console import Console
    from rich.table import Table

    from .browser.pages import CHROMIUM
    console = Console()
    if not os.path.exists(CHROMIUM):
        console.print(f"[yellow]browser journeys skipped: {CHROMIUM} is missing (make setup installs it)[/]")
        return 0
    from .browser.journeys import run_journeys
    from .stack import Stack
    with Stack() as stack:
        results = run_journeys(stack)
    table = Table("journey", "result", "seconds", title="Browser journeys (Playwright, headless chromium)")
    for name, ok, text, seconds in results:
        table.add_row(name, ("[green]✔[/] " if ok else "[red]✘[/] ") + text, f"{seconds:.1f}")
    console.print(table)
    failed = sum(not ok for _, ok, _, _ in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiersync", description="Stripe + Clerk subscription billing test harness")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the simulators")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_STRIPE_PORT, help="Stripe simulator port (0: any)")
    serve.add_argument("--clerk-port", type=int, default=12121, help="Clerk simulator port (0: any)")
    serve.add_argument("--receiver-port", type=int, default=8787, help="reference receiver port (0: any)")
    serve.add_argument("--worker", metavar="PATH", help="serve this Cloudflare Worker (wrangler.toml folder or entry "
                       "file) in Miniflare on --receiver-port, in place of the reference receiver")
    serve.add_argument("--no-receiver", action="store_true", help="only the simulators (and the seeded world)")
    serve.add_argument("--profile", help="seed the world for your app's profile (tiersync.toml); no receiver")
    serve.add_argument("--stripe-only", action="store_true", help="only the Stripe simulator, empty")
    serve.add_argument("--database", default=":memory:", help="the receiver's SQLite file (default: in memory)")
    serve.add_argument("--failed-payments", choices=("cancel", "mark_unpaid", "leave_past_due"),
                       help="when all payment retries of a subscription fail: cancel it, mark it unpaid "
                            "(default) or leave it past_due (Stripe's Revenue recovery setting)")
    serve.add_argument("--json", action="store_true", help="print one JSON line describing the stack, then serve")
    serve.add_argument("--accept-any-key", action="store_true", help="accept any well-formed sk_/rk_ key")
    serve.add_argument("--key", action="append", default=[], help="a secret key to accept (repeatable)")
    serve.add_argument("--webhook-concurrency", type=_in_flight, default=1, metavar="N",
                       help="webhook deliveries in flight per endpoint (default 1: each endpoint gets its events in "
                            "order; Stripe itself does not promise order, and more in flight delivers faster)")
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="run the scenario catalog against the reference receiver, print the report")
    demo.add_argument("--story", action="store_true", help="instead: a scripted subscription story through the SDK")
    demo.add_argument("--html", default="reports/tiersync-demo.html", help="where to write the HTML report")
    demo.add_argument("-k", dest="keyword", help="only scenarios whose name, group or tags contain this")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--no-browser", action="store_true", help="skip the browser journeys")
    demo.set_defaults(func=cmd_demo)
    from .cli_webhooks import add_commands
    add_commands(sub)
    from .cli_run import add_commands as add_run_commands
    add_run_commands(sub)
    from .production.commands import add_commands as add_production_commands
    add_production_commands(sub)
    from .repro.cli import add_commands as add_repro_commands
    add_repro_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
