"""`tiersync run` and `tiersync list`: the scenario catalog from the command line.
Exit codes: 0 all passed, 1 some failed, 2 could not run (bad scenario files, a target that won't start)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .catalog import catalog_dir
from .profile_load import PROFILE_FILE
from .signer import mask


def add_target_options(parser):
    """Where the app under test is and what it is: the same for `run` and `repro`."""
    parser.add_argument("--target-cmd", help="launch your receiver: e.g. 'uvicorn myapp:app --port {port}'")
    parser.add_argument("--worker", metavar="PATH", help="run a Cloudflare Worker in Miniflare: its wrangler.toml "
                        "folder or entry file (docs/worker.md)")
    parser.add_argument("--stack", help="a running stack: the JSON line of `tiersync serve --json`, saved to a file")
    parser.add_argument("--target", help="with --stack: your receiver's base URL")
    parser.add_argument("--webhook-secret", help="with --stack: the whsec_ your receiver verifies with")
    parser.add_argument("--profile", help=f"your app's profile (default: ./{PROFILE_FILE} when you give a target; "
                        "the reference receiver uses its own)")
    parser.add_argument("--webhook-path", help="the receiver's webhook path (default: the profile's)")
    parser.add_argument("--probe-url", help="GET this ({user_id} filled in) to read a user's tier: JSON {tier} or text")
    parser.add_argument("--probe-cmd", help="or run this shell command ({user_id} filled in); it prints the tier")
    parser.add_argument("--start-timeout", type=float, default=60.0,
                        help="seconds to wait for --target-cmd to listen")


def open_target(args, console: Console, command: str):
    """The app's profile and target as the options say, or None after saying why on the console."""
    from .engine.target import TargetError
    from .profile_load import ProfileError
    try:
        profile = _profile(args, console)
    except ProfileError as exc:
        console.print(f"[red]tiersync {command}: the profile cannot be used:[/] {escape(str(exc))}", highlight=False)
        return None
    try:
        return _target(args, profile)
    except TargetError as exc:
        console.print(f"[red]tiersync {command}: cannot start the target:[/] {mask(str(exc))}", highlight=False)
    except Exception as exc:  # e.g. the stack's simulators are not reachable
        console.print(f"[red]tiersync {command}: cannot reach the target:[/] {mask(repr(exc))}", highlight=False)
    return None


def add_commands(sub):
    lst = sub.add_parser("list", help="check and list scenarios without running them")
    lst.add_argument("paths", nargs="*", help="scenario files or folders (default: the catalog)")
    lst.add_argument("-k", dest="keyword", help="only scenarios whose name, group or tags contain this")
    lst.set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="run scenarios against a receiver on the simulators")
    run.add_argument("paths", nargs="*", help="scenario files or folders (default: the catalog)")
    run.add_argument("-k", dest="keyword", help="only scenarios whose name, group or tags contain this")
    add_target_options(run)
    run.add_argument("--seed", type=int, help="seed for generated users (faker)")
    run.add_argument("--strict", action="store_true",
                     help="hardening advice that did not hold (e.g. no livemode guard) fails the run too")
    run.add_argument("--junit", help="write a JUnit XML report here")
    run.add_argument("--json", dest="json_out", help="write a JSON report here")
    run.add_argument("--html", help="write a self-contained HTML report here")
    run.add_argument("--record", metavar="DIR", help="write each scenario's Stripe events and delivery attempts "
                                                     "here, as incident files `tiersync repro` reads")
    run.set_defaults(func=cmd_run)

    init = sub.add_parser("init", help=f"write a commented {PROFILE_FILE} (your app's profile) to edit")
    init.add_argument("path", nargs="?", default=PROFILE_FILE, help=f"where to write it (default ./{PROFILE_FILE})")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init)


def cmd_init(args) -> int:
    from .profile_init import write_profile
    try:
        path = write_profile(args.path, force=args.force)
    except FileExistsError as exc:
        print(f"tiersync init: {exc}")
        return 2
    except OSError as exc:
        print(f"tiersync init: cannot write {args.path} ({exc.strerror or exc})")
        return 2
    print(f"wrote {path}: the seed's conventions (plug-saas: free 6 / pro 10 / developer unlimited). Edit it to "
          f"describe your app, then: tiersync run --profile {path} --target-cmd '...'")
    return 0


def _load(args, console: Console):
    from .engine.loader import ScenarioError, load_paths
    paths = args.paths or [catalog_dir()]
    try:
        scenarios = load_paths(paths)
    except ScenarioError as exc:
        console.print(f"[red]{len(exc.problems)} problem(s) in the scenario files:[/]")
        for p in exc.problems:
            console.print(f"  {p}", highlight=False, markup=False)
        return None
    if args.keyword:
        k = args.keyword.lower()
        scenarios = [s for s in scenarios if k in s.name.lower() or k in s.group.lower()
                     or any(k in t.lower() for t in s.tags)]
    return scenarios


def cmd_list(args) -> int:
    console = Console()
    scenarios = _load(args, console)
    if scenarios is None:
        return 2
    table = Table("group", "scenario", "catches", title=f"{len(scenarios)} scenarios")
    for s in sorted(scenarios, key=lambda s: (s.group, s.name)):
        table.add_row(s.group, s.name, s.catches)
    console.print(table)
    return 0


def _profile(args, console: Console):
    """The app's profile: --profile, else ./tiersync.toml when a target of the user's is given; None (the
    reference receiver's own) otherwise."""
    from .profile_load import find_profile, load_profile
    given = getattr(args, "profile", None)
    worker = getattr(args, "worker", None)
    yours = bool(getattr(args, "target_cmd", None) or getattr(args, "stack", None) or getattr(args, "target", None)
                 or worker)
    if given and not yours:
        raise SystemExit("tiersync run: --profile describes your app: give --target-cmd or --stack/--target too "
                         "(without them tiersync runs its reference receiver, which has its own profile)")
    path = given or (find_profile() if yours else None)
    if path is None and worker:  # a Worker's profile may sit beside its wrangler.toml
        from .worker.target import worker_profile_path
        path = worker_profile_path(worker)
        if path is None:
            console.print("[dim]no tiersync.toml here or beside the Worker: the seed guide's conventions "
                          "(free / pro / developer, what `tiersync init` writes)[/]", highlight=False)
    if path is None:
        return None
    profile = load_profile(path)
    console.print(f"[dim]profile {path}: {profile.name}, tiers "
                  f"{' / '.join(f'{t.name} {t.limit}' for t in profile.tiers)}[/]", highlight=False)
    return profile


def _target(args, profile=None):
    from .engine.target import command_target, point_endpoint, reference_target, remote_target
    if sum(map(bool, (args.target_cmd, args.stack or args.target, getattr(args, "worker", None)))) > 1:
        raise SystemExit("tiersync run: give one of --target-cmd, --worker or --stack/--target")
    webhook_path = getattr(args, "webhook_path", None)
    if getattr(args, "worker", None):
        from .worker.target import worker_target
        target = worker_target(args.worker, webhook_path=webhook_path, timeout=min(args.start_timeout, 30),
                               profile=profile)
    elif args.stack or args.target:
        if not (args.stack and args.target):
            raise SystemExit("tiersync run: --stack and --target go together")
        target = remote_target(args.stack, args.target, args.webhook_secret, webhook_path, profile=profile)
        point_endpoint(target)
    elif args.target_cmd:
        target = command_target(args.target_cmd, webhook_path=webhook_path, timeout=args.start_timeout,
                                profile=profile)
    else:
        target = reference_target()
    target.probe_url, target.probe_cmd = args.probe_url, args.probe_cmd
    return target


def cmd_run(args) -> int:
    from .engine.report import TerminalView, to_html, to_json, to_junit
    from .engine.runner import run_scenarios
    console = Console()
    scenarios = _load(args, console)
    if scenarios is None:
        return 2
    if not scenarios:
        console.print("no scenarios to run")
        return 2
    target = open_target(args, console, "run")
    if target is None:
        return 2
    from .profile_probe import check_app
    try:
        mismatches = check_app(target)
    except Exception as exc:  # the app or Clerk unreachable: say so before 50 scenarios fail on it
        mismatches = [f"could not ask the app: {mask(repr(exc))}"]
    if mismatches:
        target.close()
        console.print(f"[red]tiersync run: the app's answers do not match its profile "
                      f"({escape(getattr(args, 'profile', None) or target.profile.name)}):[/]", highlight=False)
        for line in mismatches:
            console.print(f"  {mask(line)}", highlight=False, markup=False)
        return 2
    view = TerminalView(console, total=len(scenarios))
    console.print(f"Running {len(scenarios)} scenarios against the {target.kind} target "
                  f"({target.webhook_url or target.receiver_url})")
    try:
        on_result = view.on_result
        if getattr(args, "record", None):
            from .repro.record import recorder
            on_result = recorder(target, args.record, then=view.on_result)
        run = run_scenarios(scenarios, target, seed=args.seed, strict=args.strict, on_result=on_result)
    finally:
        target.close()
    view.summary(run)
    for note in getattr(target, "notes", list)():  # e.g. hosts a Worker tried to reach
        console.print(f"[yellow]{mask(note)}[/]", highlight=False, markup=False)
    for path, render in ((args.junit, to_junit), (args.json_out, to_json), (args.html, to_html)):
        if path:
            Path(path).write_text(render(run), encoding="utf-8")
            console.print(f"[dim]wrote {path}[/]")
    return 0 if run.ok else 1
