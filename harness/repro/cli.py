"""`tiersync repro EVENTS_FILE`: replay what Stripe recorded of a reported sync bug against the app, and
say for each user where the app's tier left what Stripe says. Exit codes: 0 every user in sync, 1 some
diverged, 2 could not run (an unreadable export, a target that would not start)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..cli_run import add_target_options, open_target
from ..engine.replay import ORDERS


def add_commands(sub):
    p = sub.add_parser("repro", help="replay a reported sync bug from Stripe's events against your app")
    p.add_argument("events", help="Stripe events: a JSON list, a Stripe list object (GET /v1/events, "
                                  "`stripe events list`), or JSON lines of Event objects")
    p.add_argument("--deliveries", help="the endpoint's delivery attempts (JSON list of {event, at}), as "
                                        "`tiersync run --record` writes them: replays duplicates and retries")
    p.add_argument("--order", choices=ORDERS, help="delivered (the default with --deliveries), created (the "
                                                   "default without), shuffled, or duplicated (every event twice)")
    p.add_argument("--seed", type=int, default=0, help="for --order shuffled, and the made-up data")
    p.add_argument("--plan", action="append", default=[], metavar="PRODUCT=TIER",
                   help="the metadata.plan of a product the file does not carry (repeatable)")
    p.add_argument("--objects", help="Stripe objects the events reference but do not carry (a JSON list or "
                                     "list object, e.g. `stripe products list` output)")
    p.add_argument("--account", help="keep only this account's events (a Connect export holds several)")
    p.add_argument("--mode", choices=("test", "live"), help="keep only this mode's events")
    p.add_argument("--settle", type=float, default=2.0, help="seconds the app may take to show a change")
    p.add_argument("--write-scenario", metavar="PATH", help="also write the incident as a catalog scenario "
                                                           "(ids and personal data made up)")
    p.add_argument("--json", dest="json_out", help="write the report as JSON here")
    add_target_options(p)
    p.set_defaults(func=cmd_repro)


def _plans(values: list[str]) -> dict[str, str]:
    plans = {}
    for value in values:
        product, sep, tier = value.partition("=")
        if not sep or not product or not tier:
            raise SystemExit(f"tiersync repro: --plan {value!r}: give PRODUCT_ID=TIER, e.g. prod_123=pro")
        plans[product.strip()] = tier.strip()
    return plans


def cmd_repro(args) -> int:
    from .incident import IncidentError, load_incident
    from .report import print_report, private, to_json
    from .run import run_repro
    from .scenario import incident_scenario, write_scenario
    console = Console()
    try:
        incident = load_incident(args.events, deliveries=args.deliveries, account=args.account, mode=args.mode,
                                 plans=_plans(args.plan), objects=args.objects)
    except IncidentError as exc:
        console.print(f"[red]tiersync repro:[/] {private(str(exc))}", highlight=False)
        return 2
    order = args.order or ("delivered" if incident.deliveries else "created")
    if order == "delivered" and not incident.deliveries:
        console.print("[red]tiersync repro:[/] --order delivered needs --deliveries (the endpoint's attempts)")
        return 2
    target = open_target(args, console, "repro")
    if target is None:
        return 2
    try:
        report = run_repro(incident, target, order=order, seed=args.seed, settle=args.settle)
    finally:
        target.close()
    print_report(report, console)
    if args.json_out:
        Path(args.json_out).write_text(to_json(report), encoding="utf-8")
        console.print(f"[dim]wrote {args.json_out}[/]")
    if args.write_scenario:
        name = "incident-" + Path(args.events).name.split(".")[0].lower().replace("_", "-")
        write_scenario(args.write_scenario, incident_scenario(incident, report, name=name, seed=args.seed))
        console.print(f"[dim]wrote {args.write_scenario} (ids and personal data made up)[/]")
    return 0 if report.ok else 1
